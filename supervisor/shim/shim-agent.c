/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <linux/sched.h>
#include <sched.h>

#include "child-exec.h"
#include "fd-util.h"
#include "shim-agent.h"

static int agent_prepare(void *userdata, int *ret_stage)
{
        ShimStage stage = SHIM_STAGE_SHIM;
        int r;

        r = shim_prepare_agent(userdata, &stage);
        *ret_stage = (int)stage;
        return r;
}

static ShimStage stage_of(const ChildExecFailure *f)
{
        switch (f->step) {
        case CHILD_EXEC_CLONE:
                return SHIM_STAGE_CLONE;
        case CHILD_EXEC_SESSION:
        case CHILD_EXEC_FDS:
                return SHIM_STAGE_STDIO;
        case CHILD_EXEC_PREPARE:
                return f->stage >= 0 && f->stage < _SHIM_STAGE_MAX ? (ShimStage)f->stage : SHIM_STAGE_SHIM;
        case CHILD_EXEC_EXEC:
                return SHIM_STAGE_EXEC;
        case CHILD_EXEC_SETUP:
        case CHILD_EXEC_SIGNALS:
        default:
                return SHIM_STAGE_SHIM;
        }
}

int shim_agent_start(const ShimAgentConfig *c, ShimAgentStart *ret)
{
        ChildExecFailure f = {};
        PidRef pr = PIDREF_NULL;
        int fds[4] = {c->stdio[0], c->stdio[1], c->stdio[2], c->action_fd};
        int r;

        _Static_assert(SHIM_ACTION_FD == 3, "the action channel follows stdio");
        /* The agent gets its own cgroup namespace (rooted at payload/), the shim does not: with nsdelegate a
         * shim inside a cgroup namespace could not clone into its sibling payload/. */
        ChildExec ce = {
                .clone_flags = CLONE_NEWCGROUP,
                .cgroup_fd = SHIM_FD_PAYLOAD_CG,
                .path = NULL, /* argv[0] in the agent's PATH */
                .argv = c->options->argv,
                .envp = c->env,
                .fds = fds,
                .n_fds = c->action_fd > 0 ? 4 : 3,
                .prepare = agent_prepare,
                .userdata = (void *)c,
        };

        *ret = (ShimAgentStart){.stage = SHIM_STAGE_SHIM, .status = -1, .pidfd = -EBADF};
        r = child_exec_spawn(&ce, &pr, &f);
        if (r < 0) {
                ret->stage = stage_of(&f);
                ret->error = f.error > 0 ? f.error : EIO;
                ret->status = f.status;
                return -ret->error;
        }
        ret->pid = pr.pid;
        /* the shim reaps by pid, from its SIGCHLD signalfd; the pidfd names the agent's cgroup namespace
         * to the commands of EXEC */
        ret->pidfd = pr.fd;
        return 0;
}
