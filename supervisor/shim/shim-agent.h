/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <sys/types.h>

#include "shim-prepare.h"

typedef struct ShimAgentStart {
        pid_t pid;       /* the agent, once it has exec'd */
        int pidfd;       /* its pidfd (CLOEXEC), the caller's to close */
        ShimStage stage; /* where it failed */
        int error;       /* positive errno of the failure */
        int status;      /* the failed child's wait status, -1 when there was no child */
} ShimAgentStart;

/* Starts the agent (sandbox/child-exec.h) in the payload cgroup (SHIM_FD_PAYLOAD_CG) with its own cgroup
 * namespace and waits until it has exec'd. 0 on success, else -errno with the stage, error and status filled
 * in (the child is reaped).
 */
int shim_agent_start(const ShimAgentConfig *c, ShimAgentStart *ret);
