/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The sandbox steps of the shim, in the order of DESIGN.md §5: shim_prepare_namespace() in the shim itself
 * (its mount view, /proc, hostname), shim_prepare_agent() in the agent child between clone3 and execve. */

#include "shim-protocol.h"

typedef struct ShimAgentConfig {
        const char *cwd;   /* absolute */
        char *const *argv; /* argv[0] is looked up in PATH of the shim's (= the agent's) environment */
        int stdio[3];      /* fds that become the agent's 0, 1, 2 */
} ShimAgentConfig;

/* Returns -errno and the failing stage in *ret_stage. */
int shim_prepare_namespace(const char *hostname, ShimStage *ret_stage);

/* In the agent child (the shim is single-threaded, so libc is safe here). Returns -errno and the failing
 * stage in *ret_stage. On success every fd but 0, 1, 2 is CLOEXEC. */
int shim_prepare_agent(const ShimAgentConfig *c, ShimStage *ret_stage);
