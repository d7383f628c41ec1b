/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The agent's terminal (ShimOptions.tty): a pseudo-terminal of the devpts the agent sees (the sandbox mounts
 * a new instance at /dev/pts, /dev/ptmx links into it; without a sandbox the host's), opened by the shim
 * after the mount view is built. The shim keeps the master; the slave becomes the agent's stdio and, in the
 * agent child, its controlling terminal. */

#include <stdint.h>
#include <sys/types.h>

/* Opens a pty: *ret_master non-blocking, *ret_slave (both close-on-exec) owned by uid:gid (mode 0620;
 * (uid_t)-1: left as it is), its window 24x80 until a client sets one. */
int shim_tty_open(uid_t uid, gid_t gid, int *ret_master, int *ret_slave);
/* TIOCSWINSZ on the master (1..SHIM_TTY_SIZE_MAX each, else -EINVAL): the kernel sends SIGWINCH to the
 * terminal's foreground process group. */
int shim_tty_resize(int master, uint32_t rows, uint32_t cols);
/* In the agent child, with the slave at fd 0 and a new session: makes it the controlling terminal. */
int shim_tty_make_controlling(void);
