/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The sandbox steps of the shim, in the order of DESIGN.md §5: shim_prepare_namespace() in the shim itself
 * (loopback, its mount view, hostname, the seccomp filter mapped), shim_prepare_agent() in the agent child
 * between clone3 and execve (stdio, the privilege drop, HOME, the working directory, seccomp last). */

#include <stdbool.h>
#include <sys/types.h>

#include "mount-view.h"
#include "seccomp-bpf.h"
#include "shim-protocol.h"

typedef struct ShimSandbox {
        bool enabled; /* --workspace given: the mount view and the drop; else namespaces only */
        uid_t uid;
        gid_t gid;
        MountViewSpec view;
        const char *home;   /* made by the agent after the drop; NULL: none */
        bool loopback;      /* net none: bring lo up */
        bool seccomp;       /* --seccomp: SHIM_FD_SECCOMP holds the filter */
        SeccompBpf *filter; /* mapped by shim_prepare_namespace() */
} ShimSandbox;

typedef struct ShimAgentConfig {
        const char *cwd;            /* absolute */
        char *const *argv;          /* argv[0] is looked up in PATH of env */
        char *const *env;           /* the agent's environment (SHIM_FD_ENV), for its execve only */
        int stdio[3];               /* fds that become the agent's 0, 1, 2 */
        const ShimSandbox *sandbox; /* NULL or not enabled: the agent keeps the shim's identity */
} ShimAgentConfig;

/* Returns -errno and the failing stage in *ret_stage (and, for the mount view, its step in *ret_step). */
int shim_prepare_namespace(const char *hostname, ShimSandbox *sb, ShimStage *ret_stage,
                           const char **ret_step);

/* In the agent child (the shim is single-threaded, so libc is safe here). Returns -errno and the failing
 * stage in *ret_stage. On success every fd but 0, 1, 2 is CLOEXEC and, with a sandbox, the filter is loaded:
 * the only call left to make is execve. */
int shim_prepare_agent(const ShimAgentConfig *c, ShimStage *ret_stage);
