/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The commands of EXEC (shim-contract.h): each a child of the shim started exactly as the agent was
 * (child-exec.h into the payload cgroup, then the agent's cgroup namespace and shim_prepare_agent()), its
 * output captured, its timeout kept, its end told in EXEC_DONE. The shim's poll loop drives them. */

#include <poll.h>
#include <stdbool.h>
#include <sys/types.h>

#include "pidref.h"
#include "shim-prepare.h"

typedef struct ShimExec ShimExec;

typedef struct ShimExecTable {
        ShimExec *slot[SHIM_EXEC_MAX];
} ShimExecTable;

/* Sends one EXEC_DONE packet (n bytes); the shim's own send. */
typedef void (*ShimExecSend)(void *userdata, const void *msg, size_t n);

/* The argv block of EXEC or EXEC_TTY (n bytes, NUL-terminated strings, the first non-empty) as a
 * NULL-terminated vector pointing into block: 0, -EINVAL or -E2BIG (past SHIM_EXEC_ARGC_MAX). */
int shim_exec_parse_argv(char *block, size_t n, char ***ret);

typedef struct ShimExecFailure {
        ShimStage stage;
        int error;  /* positive errno */
        int status; /* the failed child's wait status, -1 when there was none */
} ShimExecFailure;

/* Forks a command as the agent's sibling, exactly confined as the agent (config: the agent's start
 * configuration with the command's stdio; tty: its fd 0 becomes its controlling terminal): 0 and *ret
 * once it has exec'd, else -errno with *ret_failure. */
int shim_exec_spawn(const ShimAgentConfig *config, bool tty, int agent_pidfd, char **argv, PidRef *ret,
                    ShimExecFailure *ret_failure);

/* Starts the command of EXEC m as the agent's sibling: agent is the agent's own start configuration
 * (options, cwd, environment, filter), agent_pidfd the agent (its cgroup namespace). 0 once it runs; a
 * command that cannot start is answered at once through send, and its error returned. */
int shim_exec_start(ShimExecTable *t, const ShimAgentConfig *agent, int agent_pidfd, const ShimMsg *m,
                    ShimExecSend send, void *userdata);

/* Appends the output pipes to poll to p (room for 2 * SHIM_EXEC_MAX); returns how many. */
size_t shim_exec_poll_fill(ShimExecTable *t, struct pollfd *p);
/* Reads what poll found readable among the n entries shim_exec_poll_fill() added. */
void shim_exec_poll_handle(ShimExecTable *t, const struct pollfd *p, size_t n);

/* Kills the commands past their timeout; returns the poll timeout (ms) until the next one (-1: none). */
int shim_exec_timeout(ShimExecTable *t);

/* A reaped child: true when it was a command of EXEC. */
bool shim_exec_reaped(ShimExecTable *t, pid_t pid, int status);

/* Sends EXEC_DONE for every command that has ended (with what its pipes hold now) and frees it. */
void shim_exec_flush_done(ShimExecTable *t, ShimExecSend send, void *userdata);
