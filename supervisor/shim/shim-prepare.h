/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The sandbox steps of the shim, from its options (shim-contract.h): shim_prepare_namespace() in the shim
 * itself (loopback, its mount view, hostname, the seccomp filter mapped), shim_prepare_agent() in the agent
 * child between clone3 and execve (the privilege drop, HOME, the working directory, seccomp last). */

#include "seccomp-bpf.h"
#include "shim-contract.h"

typedef struct ShimAgentConfig {
        const ShimOptions *options; /* without options->sandbox the agent keeps the shim's identity */
        const char *cwd;            /* absolute */
        char *const *env;           /* the agent's environment (SHIM_FD_ENV), for its execve only */
        int stdio[3];               /* fds that become the agent's 0, 1, 2 */
        int action_fd; /* becomes the agent's SHIM_ACTION_FD; 0: none (the shim's fd 0 is /dev/null) */
        const SeccompBpf *filter; /* mapped by shim_prepare_namespace(), NULL: none */
} ShimAgentConfig;

/* Loopback, the mount view, the hostname, and the seccomp filter mapped into *ret_filter (NULL without one).
 * Returns -errno and the failing stage in *ret_stage (and, for the mount view, its step in *ret_step). */
int shim_prepare_namespace(const ShimOptions *o, const char *hostname, SeccompBpf **ret_filter,
                           ShimStage *ret_stage, const char **ret_step);

/* In the agent child (the shim is single-threaded, so libc is safe here), once child-exec.h has reset its
 * signals and put its stdio in place: oom_score_adj, the privilege drop, HOME, the working directory,
 * seccomp last. Returns -errno and the failing stage in *ret_stage; on success the only call left is execve.
 */
int shim_prepare_agent(const ShimAgentConfig *c, ShimStage *ret_stage);
