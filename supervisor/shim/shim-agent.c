/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "shim-agent.h"

typedef struct AgentError {
        int32_t stage;
        int32_t error;
} AgentError;

static _noreturn_ void agent_fail(int error_fd, ShimStage stage, int error)
{
        AgentError e = {.stage = stage, .error = error > 0 ? error : EIO};

        (void)!write(error_fd, &e, sizeof e);
        _exit(127);
}

static _noreturn_ void agent_child(const ShimAgentConfig *c, int error_fd)
{
        ShimStage stage = SHIM_STAGE_SHIM;
        int r;

        r = shim_prepare_agent(c, &stage);
        if (r < 0)
                agent_fail(error_fd, stage, -r);
        /* Privileges are gone: only now does the agent's environment come into play. execvpe() looks
         * argv[0] up in the PATH of environ, so that must be the agent's too, not the shim's fixed one. */
        environ = (char **)c->env;
        execvpe(c->argv[0], c->argv, c->env);
        agent_fail(error_fd, SHIM_STAGE_EXEC, errno);
}

int shim_agent_start(const ShimAgentConfig *c, ShimAgentStart *ret)
{
        _cleanup_close_pair_ int error_pipe[2] = {-EBADF, -EBADF};
        AgentError e;
        ssize_t n;
        pid_t pid;

        *ret = (ShimAgentStart){.stage = SHIM_STAGE_SHIM, .status = -1};
        if (pipe2(error_pipe, O_CLOEXEC) < 0) {
                ret->error = errno;
                return -ret->error;
        }

        /* The agent gets its own cgroup namespace (rooted at payload/), the shim does not: with nsdelegate a
         * shim inside a cgroup namespace could not clone into its sibling payload/. */
        struct clone_args ca = {
                .flags = CLONE_INTO_CGROUP | CLONE_NEWCGROUP,
                .exit_signal = SIGCHLD,
                .cgroup = SHIM_FD_PAYLOAD_CG,
        };
        pid = (pid_t)syscall(SYS_clone3, &ca, sizeof ca);
        if (pid < 0) {
                ret->stage = SHIM_STAGE_CLONE;
                ret->error = errno;
                return -ret->error;
        }
        if (pid == 0)
                agent_child(c, error_pipe[1]);

        error_pipe[1] = safe_close(error_pipe[1]);
        do
                n = read(error_pipe[0], &e, sizeof e);
        while (n < 0 && errno == EINTR);
        if (n == 0) {
                ret->pid = pid;
                return 0;
        }

        if (n < 0) {
                ret->error = errno;
                (void)kill(pid, SIGKILL); /* it may still be on its way to execve */
        } else if ((size_t)n != sizeof e || e.stage < 0 || e.stage >= _SHIM_STAGE_MAX || e.error <= 0)
                ret->error = EIO;
        else {
                ret->stage = (ShimStage)e.stage;
                ret->error = e.error;
        }
        while (waitpid(pid, &ret->status, 0) < 0 && errno == EINTR)
                ;
        return -ret->error;
}
