/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <inttypes.h>
#include <linux/close_range.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "env-blob.h"
#include "spawn.h"
#include "string-table.h"
#include "string-util.h"

/* Kept in step with supervisor/shim-protocol.h; sandbox/ does not depend on supervisor/. */
enum {
        SPAWN_FD_STDIN,
        SPAWN_FD_STDOUT,
        SPAWN_FD_STDERR,
        SPAWN_FD_CONTROL,
        SPAWN_FD_STATE_DIR,
        SPAWN_FD_PAYLOAD_CG,
        SPAWN_FD_SECCOMP,
        SPAWN_FD_ENV,
        _SPAWN_FD_MAX,
};

/* The shim's whole environment. It runs as root: nothing of the request (LD_PRELOAD, GLIBC_TUNABLES, ...)
 * and nothing of the daemon's own environment may reach it. The agent's goes as data on SPAWN_FD_ENV. */
static char *const shim_envp[] = {
        (char *)"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        NULL,
};

static const char *const spawn_stage_table[_SPAWN_STAGE_MAX] = {
        [SPAWN_STAGE_PREPARE] = "prepare", [SPAWN_STAGE_CLONE] = "clone", [SPAWN_STAGE_SIGNALS] = "signals",
        [SPAWN_STAGE_SESSION] = "session", [SPAWN_STAGE_FDS] = "fds",     [SPAWN_STAGE_EXEC] = "exec",
};

DEFINE_STRING_TABLE(spawn_stage, SpawnStage, _SPAWN_STAGE_MAX, _SPAWN_STAGE_INVALID)

typedef struct SpawnChildPlan {
        const char *path;
        char *const *argv;
        char *const *envp;
        int fds[_SPAWN_FD_MAX]; /* source fd for each target fd */
        int error_fd;
} SpawnChildPlan;

typedef struct SpawnChildError {
        int32_t stage;
        int32_t error;
} SpawnChildError;

static _noreturn_ void spawn_child_fail(int error_fd, SpawnStage stage, int error)
{
        SpawnChildError e = {.stage = stage, .error = error > 0 ? error : EIO};

        (void)!write(error_fd, &e, sizeof e);
        _exit(127);
}

/* Runs between clone3 and execve, in a copy of a multithreaded process: async-signal-safe calls only. */
static _noreturn_ void spawn_child(const SpawnChildPlan *plan)
{
        struct sigaction sa = {.sa_handler = SIG_DFL};
        int moved[_SPAWN_FD_MAX], error_fd = plan->error_fd;
        sigset_t empty;

        /* Dispositions first, then the mask, so that no pending signal reaches a handler of the daemon. */
        for (int sig = 1; sig < _NSIG; sig++)
                if (sig != SIGKILL && sig != SIGSTOP)
                        (void)sigaction(sig, &sa, NULL); /* glibc's internal signals answer EINVAL */
        if (sigemptyset(&empty) < 0 || sigprocmask(SIG_SETMASK, &empty, NULL) < 0)
                spawn_child_fail(error_fd, SPAWN_STAGE_SIGNALS, errno);

        if (setsid() < 0)
                spawn_child_fail(error_fd, SPAWN_STAGE_SESSION, errno);

        /* A source may sit on another source's target: move every source (and the error pipe) above the
         * highest target first, then dup2 down. */
        error_fd = fcntl(error_fd, F_DUPFD_CLOEXEC, _SPAWN_FD_MAX);
        if (error_fd < 0)
                spawn_child_fail(plan->error_fd, SPAWN_STAGE_FDS, errno);
        for (int i = 0; i < _SPAWN_FD_MAX; i++) {
                moved[i] = fcntl(plan->fds[i], F_DUPFD_CLOEXEC, _SPAWN_FD_MAX);
                if (moved[i] < 0)
                        spawn_child_fail(error_fd, SPAWN_STAGE_FDS, errno);
        }
        for (int i = 0; i < _SPAWN_FD_MAX; i++)
                if (dup2(moved[i], i) < 0)
                        spawn_child_fail(error_fd, SPAWN_STAGE_FDS, errno);
        /* Everything above the targets goes at exec; the error pipe must live until then. */
        if (syscall(SYS_close_range, (unsigned)_SPAWN_FD_MAX, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
                spawn_child_fail(error_fd, SPAWN_STAGE_FDS, errno);

        execve(plan->path, plan->argv, plan->envp);
        spawn_child_fail(error_fd, SPAWN_STAGE_EXEC, errno);
}

static int strv_extend_u64(char ***l, const char *option, uint64_t v)
{
        char buf[32];
        int r;

        (void)snprintf(buf, sizeof buf, "%" PRIu64, v);
        r = strv_extend(l, option);
        return r < 0 ? r : strv_extend(l, buf);
}

static int strv_extend_pair(char ***l, const char *option, const char *v)
{
        int r = strv_extend(l, option);

        return r < 0 ? r : strv_extend(l, v);
}

static int sandbox_argv(const SpawnSandbox *sb, bool new_net, char ***l)
{
        size_t n_masks = 0;
        int r;

        if (!sb->workspace || sb->workspace[0] != '/' || sb->tmp_size == 0 || sb->uid == (uid_t)-1 ||
            sb->gid == (gid_t)-1 || (sb->home && sb->home[0] != '/'))
                return -EINVAL;
        r = strv_extend_u64(l, "--uid", sb->uid);
        if (r >= 0)
                r = strv_extend_u64(l, "--gid", sb->gid);
        if (r >= 0)
                r = strv_extend_pair(l, "--workspace", sb->workspace);
        if (r >= 0 && sb->workspace_owner != (uid_t)-1)
                r = strv_extend_u64(l, "--workspace-owner", sb->workspace_owner);
        if (r >= 0)
                r = strv_extend_u64(l, "--tmp-size", sb->tmp_size);
        if (r >= 0 && sb->workspace_tmpfs_size > 0)
                r = strv_extend_u64(l, "--workspace-tmpfs", sb->workspace_tmpfs_size);
        if (r >= 0 && sb->runtime_dir)
                r = strv_extend_pair(l, "--mask", sb->runtime_dir);
        if (r >= 0 && sb->state_dir)
                r = strv_extend_pair(l, "--mask", sb->state_dir);
        for (char *const *m = sb->mask_paths; r >= 0 && m && *m; m++) {
                if ((*m)[0] != '/' || ++n_masks > SPAWN_MASK_PATHS_MAX)
                        return -EINVAL;
                r = strv_extend_pair(l, "--mask", *m);
        }
        if (r >= 0 && sb->home)
                r = strv_extend_pair(l, "--home", sb->home);
        if (r >= 0 && sb->seccomp_fd >= 0)
                r = strv_extend(l, "--seccomp");
        if (r >= 0 && new_net)
                r = strv_extend(l, "--loopback");
        return r;
}

static bool name_valid(const char *s, size_t max)
{
        size_t n = s ? strlen(s) : 0;
        return n > 0 && n <= max;
}

int spawn_shim_argv(const SpawnShimParams *p, char ***ret)
{
        _cleanup_strv_free_ char **l = NULL;
        char cap[32];
        int r;

        if (!p || !name_valid(p->id, 256) || !p->argv || !p->argv[0])
                return -EINVAL;

        r = strv_extend(&l, "descartes-shim");
        if (r >= 0)
                r = strv_extend(&l, "--id");
        if (r >= 0)
                r = strv_extend(&l, p->id);
        if (r >= 0 && p->cwd) {
                r = strv_extend(&l, "--cwd");
                if (r >= 0)
                        r = strv_extend(&l, p->cwd);
        }
        if (r >= 0 && p->hostname) {
                r = strv_extend(&l, "--hostname");
                if (r >= 0)
                        r = strv_extend(&l, p->hostname);
        }
        if (r >= 0 && p->stdin_pipe)
                r = strv_extend(&l, "--stdin");
        if (r >= 0 && p->output_cap > 0) {
                (void)snprintf(cap, sizeof cap, "%" PRIu64, p->output_cap);
                r = strv_extend(&l, "--output-cap");
                if (r >= 0)
                        r = strv_extend(&l, cap);
        }
        if (r >= 0 && p->listen_path) {
                r = strv_extend(&l, "--listen");
                if (r >= 0)
                        r = strv_extend(&l, p->listen_path);
        }
        if (r >= 0 && p->sandbox)
                r = sandbox_argv(p->sandbox, p->new_net, &l);
        if (r >= 0)
                r = strv_extend(&l, "--");
        for (char *const *a = p->argv; r >= 0 && *a; a++)
                r = strv_extend(&l, *a);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(l);
        return 0;
}

int spawn_shim(const SpawnShimParams *p, PidRef *ret, SpawnStage *ret_failed_stage)
{
        _cleanup_strv_free_ char **argv = NULL;
        _cleanup_close_ int devnull = -EBADF, env_fd = -EBADF;
        _cleanup_close_pair_ int error_pipe[2] = {-EBADF, -EBADF};
        SpawnStage stage = SPAWN_STAGE_PREPARE;
        SpawnChildError e;
        int pidfd = -EBADF, r;
        ssize_t n;
        pid_t pid;

        if (!p || !ret || !p->shim_path || p->shim_path[0] != '/' || !p->env || p->control_fd < 0 ||
            p->state_dir_fd < 0 || p->payload_cgroup_fd < 0 || p->shim_cgroup_fd < 0) {
                r = -EINVAL;
                goto fail;
        }
        r = spawn_shim_argv(p, &argv);
        if (r < 0)
                goto fail;
        r = env_blob_export(p->env, &env_fd);
        if (r < 0)
                goto fail;
        devnull = open("/dev/null", O_RDWR | O_CLOEXEC | O_NOCTTY);
        if (devnull < 0) {
                r = -errno;
                goto fail;
        }
        if (pipe2(error_pipe, O_CLOEXEC) < 0) {
                r = -errno;
                goto fail;
        }

        SpawnChildPlan plan = {
                .path = p->shim_path,
                .argv = argv,
                .envp = shim_envp,
                .fds =
                        {
                                [SPAWN_FD_STDIN] = devnull,
                                [SPAWN_FD_STDOUT] = p->log_fd >= 0 ? p->log_fd : devnull,
                                [SPAWN_FD_STDERR] = p->log_fd >= 0 ? p->log_fd : devnull,
                                [SPAWN_FD_CONTROL] = p->control_fd,
                                [SPAWN_FD_STATE_DIR] = p->state_dir_fd,
                                [SPAWN_FD_PAYLOAD_CG] = p->payload_cgroup_fd,
                                [SPAWN_FD_SECCOMP] = p->sandbox && p->sandbox->seccomp_fd >= 0
                                                             ? p->sandbox->seccomp_fd
                                                             : devnull,
                                [SPAWN_FD_ENV] = env_fd,
                        },
                .error_fd = error_pipe[1],
        };
        struct clone_args ca = {
                .flags = CLONE_PIDFD | CLONE_INTO_CGROUP | CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWUTS |
                         CLONE_NEWIPC | (p->new_net ? CLONE_NEWNET : 0),
                .pidfd = (uint64_t)(uintptr_t)&pidfd,
                .exit_signal = SIGCHLD,
                .cgroup = (uint64_t)p->shim_cgroup_fd,
        };

        stage = SPAWN_STAGE_CLONE;
        pid = (pid_t)syscall(SYS_clone3, &ca, sizeof ca);
        if (pid < 0) {
                r = -errno;
                goto fail;
        }
        if (pid == 0)
                spawn_child(&plan);

        error_pipe[1] = safe_close(error_pipe[1]);
        do
                n = read(error_pipe[0], &e, sizeof e);
        while (n < 0 && errno == EINTR);
        int read_errno = n < 0 ? errno : 0;

        if (n == 0) {
                *ret = (PidRef){.pid = pid, .fd = pidfd};
                return 0;
        }

        /* The child failed (or the pipe did): it exits at once, reap it here. */
        siginfo_t si;
        while (waitid(P_PIDFD, (id_t)pidfd, &si, WEXITED) < 0 && errno == EINTR)
                ;
        pidfd = safe_close(pidfd);
        if (n < 0)
                r = -read_errno;
        else if ((size_t)n != sizeof e || e.stage < 0 || e.stage >= _SPAWN_STAGE_MAX || e.error <= 0)
                r = -EIO;
        else {
                stage = (SpawnStage)e.stage;
                r = -e.error;
        }
fail:
        if (ret_failed_stage)
                *ret_failed_stage = stage;
        return r;
}
