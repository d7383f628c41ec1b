/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Deleting a removed agent's state dir (its output and its default workspace: a tree a tenant built, of any
 * depth and size) must neither block the event loop nor need one descriptor per level. So the directory is
 * renamed into STATE/trash at once (the agent is gone from every view the moment `remove` answers), and a
 * child process, `rm -rf --one-file-system`, deletes the trash in the background. What it cannot delete
 * stays in the trash with a warning in the log, and is tried again at the next removal and the next start.
 */

#include <systemd/sd-event.h>

typedef struct Trash Trash;

/* Opens (creates) DIR/trash below the state dir fd and starts deleting what an earlier run left there. */
int trash_new(sd_event *event, int state_fd, const char *state_dir, Trash **ret);
/* Stops watching; a running delete goes on by itself. */
Trash *trash_free(Trash *t);

/* Moves dirfd/path into the trash under a unique name derived from `name`, and starts a delete. -EXDEV and
 * others when it cannot be moved: the caller deletes it itself. */
int trash_move(Trash *t, int dirfd, const char *path, const char *name);
