/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <signal.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cleanup.h"
#include "confine.h"
#include "netns.h"
#include "shim-prepare.h"

static int fail(ShimStage stage, int r, ShimStage *ret_stage)
{
        *ret_stage = stage;
        return r;
}

int shim_prepare_namespace(const char *hostname, ShimSandbox *sb, ShimStage *ret_stage,
                           const char **ret_step)
{
        int r;

        if (!sb || !sb->enabled) {
                /* Nothing we mount may propagate back to the host's mount namespace. */
                if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
                        return fail(SHIM_STAGE_MOUNTS, -errno, ret_stage);
                /* A /proc of the new pid namespace: the agent sees its own processes only. */
                if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
                        return fail(SHIM_STAGE_MOUNTS, -errno, ret_stage);
        } else {
                if (sb->loopback) {
                        r = netns_loopback_up();
                        if (r < 0)
                                return fail(SHIM_STAGE_NETWORK, r, ret_stage);
                }
                r = mount_view_setup(&sb->view, ret_step);
                if (r < 0)
                        return fail(SHIM_STAGE_MOUNTS, r, ret_stage);
        }
        if (sethostname(hostname, strlen(hostname)) < 0)
                return fail(SHIM_STAGE_SHIM, -errno, ret_stage);
        if (sb && sb->enabled && sb->seccomp) {
                /* Mapped here, before the fork, so that the agent child only has to load it. */
                r = seccomp_bpf_from_fd(SHIM_FD_SECCOMP, &sb->filter);
                if (r < 0)
                        return fail(SHIM_STAGE_SECCOMP, r, ret_stage);
                (void)close(SHIM_FD_SECCOMP);
        }
        return 0;
}

static int reset_signals(void)
{
        struct sigaction sa = {.sa_handler = SIG_DFL};
        sigset_t empty;

        for (int sig = 1; sig < _NSIG; sig++)
                if (sig != SIGKILL && sig != SIGSTOP)
                        (void)sigaction(sig, &sa, NULL);
        if (sigemptyset(&empty) < 0 || sigprocmask(SIG_SETMASK, &empty, NULL) < 0)
                return -errno;
        return 0;
}

static int write_oom_score_adj_zero(void)
{
        _cleanup_close_ int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);

        if (fd < 0)
                return -errno;
        if (write(fd, "0", 1) != 1)
                return -errno;
        return 0;
}

static int setup_stdio(const int stdio[3])
{
        int moved[3];

        if (setsid() < 0)
                return -errno;
        /* Sources may sit on 0..2: move them all above first. */
        for (int i = 0; i < 3; i++) {
                moved[i] = fcntl(stdio[i], F_DUPFD_CLOEXEC, 3);
                if (moved[i] < 0)
                        return -errno;
        }
        for (int i = 0; i < 3; i++)
                if (dup2(moved[i], i) < 0)
                        return -errno;
        return 0;
}

static int confine(const ShimSandbox *sb, ShimStage *ret_stage)
{
        Identity id = {.uid = sb->uid, .gid = sb->gid};
        ConfineStage cs = CONFINE_STAGE_IDENTITY;
        int r;

        r = confine_drop_privileges(&id, &cs);
        if (r < 0)
                return fail(cs == CONFINE_STAGE_IDENTITY ? SHIM_STAGE_IDENTITY : SHIM_STAGE_CAPS, r,
                            ret_stage);
        /* As the agent, so that HOME is its own. A workspace it may not write (a root caller's directory)
         * leaves it without one, which programs cope with; anything else is a real failure. */
        if (sb->home && mkdir(sb->home, 0700) < 0 && errno != EEXIST && errno != EACCES && errno != EROFS)
                return fail(SHIM_STAGE_CWD, -errno, ret_stage);
        return 0;
}

int shim_prepare_agent(const ShimAgentConfig *c, ShimStage *ret_stage)
{
        const ShimSandbox *sb = c->sandbox && c->sandbox->enabled ? c->sandbox : NULL;
        int r;

        r = reset_signals();
        if (r < 0)
                return fail(SHIM_STAGE_SHIM, r, ret_stage);
        /* the daemon sets the shim's oom_score_adj to -1000 so that the OOM killer takes the agent and the
         * shim lives to report it: the agent must not inherit that */
        r = write_oom_score_adj_zero();
        if (r < 0)
                return fail(SHIM_STAGE_SHIM, r, ret_stage);
        r = setup_stdio(c->stdio);
        if (r < 0)
                return fail(SHIM_STAGE_STDIO, r, ret_stage);
        /* CLOEXEC rather than close: the error pipe to the shim must live until execve. */
        if (syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
                return fail(SHIM_STAGE_STDIO, -errno, ret_stage);
        if (sb) {
                r = confine(sb, ret_stage);
                if (r < 0)
                        return r;
        }
        /* After the drop: the agent must be allowed to enter its working directory itself. */
        if (chdir(c->cwd) < 0)
                return fail(SHIM_STAGE_CWD, -errno, ret_stage);
        if (sb && sb->filter) {
                r = seccomp_bpf_load(sb->filter);
                if (r < 0)
                        return fail(SHIM_STAGE_SECCOMP, r, ret_stage);
        }
        return 0;
}
