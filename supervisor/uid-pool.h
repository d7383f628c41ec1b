/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The uids of a root caller's agents (config agent_uids), one per agent, as systemd's DynamicUser= hands
 * them out. The agent runs as uid:gid with gid = uid and no passwd entry.
 *
 * A claim is a file STATE/uids/UID holding the agent's id, made with O_EXCL, so it outlives the daemon. It
 * holds as long as files of that uid may remain: while STATE/agents/ID exists (the agent, alive or ended,
 * with its default workspace) or the trash still has the agent's files (STATE/trash/ID.*: `remove` moves
 * the state dir there and deletes it in the background; what cannot be deleted stays). A claim that no
 * longer holds is taken back when its uid comes round again, so a removed agent's uid is reused only once
 * its files are gone, across restarts too. Uids with a passwd or group entry are never handed out. */

#include <stdint.h>
#include <sys/types.h>

#define UID_POOL_DIR "uids"

typedef struct UidPool UidPool;

/* state_fd: the state dir (its agents/ and trash/ are read, uids/ made), borrowed for the pool's life. */
int uid_pool_new(int state_fd, uint32_t min, uint32_t max, UidPool **ret);
UidPool *uid_pool_free(UidPool *p);

/* A uid for the agent `id` (whose STATE/agents/ID exists already): 0, or -EUSERS when every uid of the
 * range is held or has an entry in the user database. */
int uid_pool_claim(UidPool *p, const char *id, uid_t *ret);

/* Whether uid is held by a claim (a test's and the log's view). */
int uid_pool_is_held(UidPool *p, uid_t uid);
