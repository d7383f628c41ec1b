/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <linux/close_range.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "child-exec.h"
#include "cleanup.h"
#include "fd-util.h"

typedef struct ChildExecReport {
        int32_t step;
        int32_t stage;
        int32_t error;
} ChildExecReport;

static struct rlimit child_nofile;
static bool child_nofile_set;

void child_exec_set_nofile(const struct rlimit *rl)
{
        child_nofile_set = rl != NULL;
        if (rl)
                child_nofile = *rl;
}

void child_exec_apply_nofile(void)
{
        /* lowering the soft limit cannot fail; a child that keeps the higher one still runs */
        if (child_nofile_set)
                (void)setrlimit(RLIMIT_NOFILE, &child_nofile);
}

static _noreturn_ void child_fail(int error_fd, ChildExecStep step, int stage, int error)
{
        ChildExecReport e = {.step = step, .stage = stage, .error = error > 0 ? error : EIO};

        (void)!write(error_fd, &e, sizeof e);
        _exit(127);
}

/* Between clone3 and execve, in a copy of a possibly multithreaded process: async-signal-safe calls only up
 * to prepare(). */
static _noreturn_ void child_run(const ChildExec *c, int error_fd)
{
        struct sigaction sa = {.sa_handler = SIG_DFL};
        int moved[CHILD_EXEC_FDS_MAX], fd, stage = 0, r;
        sigset_t empty;

        /* Dispositions first, then the mask, so that no pending signal reaches a handler of the parent. */
        for (int sig = 1; sig < _NSIG; sig++)
                if (sig != SIGKILL && sig != SIGSTOP)
                        (void)sigaction(sig, &sa, NULL); /* glibc's internal signals answer EINVAL */
        if (sigemptyset(&empty) < 0 || sigprocmask(SIG_SETMASK, &empty, NULL) < 0)
                child_fail(error_fd, CHILD_EXEC_SIGNALS, 0, errno);

        if (setsid() < 0)
                child_fail(error_fd, CHILD_EXEC_SESSION, 0, errno);
        child_exec_apply_nofile();

        /* A source may sit on another source's target: move every source (and the error pipe) above the
         * highest target first, then dup2 down (which clears CLOEXEC on the targets). */
        fd = fcntl(error_fd, F_DUPFD_CLOEXEC, (int)c->n_fds);
        if (fd < 0)
                child_fail(error_fd, CHILD_EXEC_FDS, 0, errno);
        error_fd = fd;
        for (size_t i = 0; i < c->n_fds; i++) {
                moved[i] = fcntl(c->fds[i], F_DUPFD_CLOEXEC, (int)c->n_fds);
                if (moved[i] < 0)
                        child_fail(error_fd, CHILD_EXEC_FDS, 0, errno);
        }
        for (size_t i = 0; i < c->n_fds; i++)
                if (dup2(moved[i], (int)i) < 0)
                        child_fail(error_fd, CHILD_EXEC_FDS, 0, errno);
        /* Everything above the targets goes at exec; the error pipe must live until then. */
        if (syscall(SYS_close_range, (unsigned)c->n_fds, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
                child_fail(error_fd, CHILD_EXEC_FDS, 0, errno);

        if (c->prepare) {
                r = c->prepare(c->userdata, &stage);
                if (r < 0)
                        child_fail(error_fd, CHILD_EXEC_PREPARE, stage, -r);
        }

        if (c->path)
                execve(c->path, c->argv, c->envp);
        else {
                /* execvpe() looks argv[0] up in the PATH of environ: that must be the child's own. */
                environ = (char **)c->envp;
                execvpe(c->argv[0], c->argv, c->envp);
        }
        child_fail(error_fd, CHILD_EXEC_EXEC, 0, errno);
}

int child_exec_start(const ChildExec *c, PidRef *ret, int *ret_report_fd, ChildExecFailure *ret_failure)
{
        _cleanup_close_pair_ int error_pipe[2] = {-EBADF, -EBADF};
        ChildExecFailure f = {.step = CHILD_EXEC_SETUP, .status = -1};
        int pidfd = -EBADF, r;
        pid_t pid;

        if (!c || !ret || !ret_report_fd || !c->argv || !c->argv[0] || c->n_fds > CHILD_EXEC_FDS_MAX ||
            (c->n_fds > 0 && !c->fds)) {
                r = -EINVAL;
                goto fail;
        }
        if (pipe2(error_pipe, O_CLOEXEC) < 0) {
                r = -errno;
                goto fail;
        }

        struct clone_args ca = {
                .flags = c->clone_flags | CLONE_PIDFD | (c->cgroup_fd >= 0 ? CLONE_INTO_CGROUP : 0),
                .pidfd = (uint64_t)(uintptr_t)&pidfd,
                /* with CLONE_PARENT the kernel takes our own exit signal (clone3 refuses one) */
                .exit_signal = c->clone_flags & CLONE_PARENT ? 0 : SIGCHLD,
                .cgroup = c->cgroup_fd >= 0 ? (uint64_t)c->cgroup_fd : 0,
        };
        f.step = CHILD_EXEC_CLONE;
        pid = (pid_t)syscall(SYS_clone3, &ca, sizeof ca);
        if (pid < 0) {
                r = -errno;
                goto fail;
        }
        if (pid == 0)
                child_run(c, error_pipe[1]);

        *ret = (PidRef){.pid = pid, .fd = pidfd};
        *ret_report_fd = TAKE_FD(error_pipe[0]);
        return 0;
fail:
        f.error = -r;
        if (ret_failure)
                *ret_failure = f;
        return r;
}

int child_exec_report(int fd, ChildExecFailure *ret_failure)
{
        ChildExecFailure f = {.step = CHILD_EXEC_EXEC, .status = -1};
        ChildExecReport e;
        ssize_t n;
        int r;

        do
                n = read(fd, &e, sizeof e);
        while (n < 0 && errno == EINTR);
        if (n == 0)
                return 0;
        if (n < 0 && errno == EAGAIN)
                return -EAGAIN;
        if (n < 0)
                r = -errno;
        else if ((size_t)n != sizeof e || e.step <= CHILD_EXEC_CLONE || e.step >= _CHILD_EXEC_STEP_MAX ||
                 e.error <= 0)
                r = -EIO;
        else {
                f.step = (ChildExecStep)e.step;
                f.stage = e.stage;
                r = -e.error;
        }
        f.error = -r;
        if (ret_failure)
                *ret_failure = f;
        return r;
}

int child_exec_spawn(const ChildExec *c, PidRef *ret, ChildExecFailure *ret_failure)
{
        _cleanup_close_ int report = -EBADF;
        ChildExecFailure f = {};
        PidRef child = PIDREF_NULL;
        int r;

        r = child_exec_start(c, &child, &report, ret_failure);
        if (r < 0)
                return r;
        r = child_exec_report(report, &f);
        if (r >= 0) {
                *ret = child;
                return 0;
        }

        /* The child failed (or the pipe did, and it may still be on its way): reap it here. */
        (void)pidref_kill(&child, SIGKILL);
        while (waitpid(child.pid, &f.status, 0) < 0 && errno == EINTR)
                ;
        child.fd = safe_close(child.fd);
        if (ret_failure)
                *ret_failure = f;
        return r;
}
