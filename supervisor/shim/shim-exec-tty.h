/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The terminals of exec (EXEC_TTY, shim-contract.h): each a command started as a command of EXEC is (the
 * agent's confinement, its cgroup and cgroup namespace) with a pseudo-terminal of its own, whose master the
 * shim holds: what the command writes goes to an output log of its own (STATE_DIR/exec/COOKIE), what the
 * daemon types goes into the master. The shim's poll loop drives them; they outlive daemon restarts (their
 * list is sent after each WELCOME), and end with their command. */

#include <poll.h>
#include <stdbool.h>
#include <sys/types.h>

#include "shim-prepare.h"

typedef struct ShimExecTty ShimExecTty;

/* Sends one message (n bytes); the shim's own send: 0, or -errno when it could not be sent. critical: wait
 * (bounded) for room. */
typedef int (*ShimExecTtySend)(void *userdata, const void *msg, size_t n, bool critical);

typedef struct ShimExecTtyTable {
        ShimExecTty *slot[SHIM_EXEC_TTY_MAX];
        ShimExecTtySend send;
        void *userdata;
        bool daemon_ready; /* the daemon agreed on version 5 or later on this connection */
} ShimExecTtyTable;

/* Starts the command of EXEC_TTY m (agent and agent_pidfd as for shim_exec_start()). A command that cannot
 * start is answered at once with an EXEC_DONE carrying the error; returns its error then. */
int shim_exec_tty_start(ShimExecTtyTable *t, const ShimAgentConfig *agent, int agent_pidfd,
                        const ShimMsg *m);
/* EXEC_TTY_INPUT and EXEC_TTY_RESIZE: for a terminal the shim does not hold, nothing happens. */
void shim_exec_tty_input(ShimExecTtyTable *t, const ShimMsg *m);
void shim_exec_tty_resize(ShimExecTtyTable *t, const ShimMsg *m);

/* Appends the masters to poll to p (room for SHIM_EXEC_TTY_MAX); returns how many. */
size_t shim_exec_tty_poll_fill(ShimExecTtyTable *t, struct pollfd *p);
/* Reads and writes what poll found ready among the n entries shim_exec_tty_poll_fill() added. */
void shim_exec_tty_poll_handle(ShimExecTtyTable *t, const struct pollfd *p, size_t n);

/* A reaped child: true when it was a command of a terminal. */
bool shim_exec_tty_reaped(ShimExecTtyTable *t, pid_t pid, int status);
/* Tells the end of every command that has ended (EXEC_DONE, after the last of its output) and forgets it;
 * one whose end could not be told is kept for the next EXEC_TTY_LIST. */
void shim_exec_tty_flush_done(ShimExecTtyTable *t);

/* A new connection (daemon_ready false until its WELCOME), and its WELCOME: with version 5 or later the list
 * of terminals is sent, and the ended ones it told are forgotten. */
void shim_exec_tty_reconnected(ShimExecTtyTable *t);
void shim_exec_tty_welcome(ShimExecTtyTable *t, uint32_t version);

void shim_exec_tty_free_all(ShimExecTtyTable *t);
