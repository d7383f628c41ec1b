/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "confine.h"
#include "mount-view.h"
#include "netns.h"
#include "shim-prepare.h"
#include "shim-tty.h"

static int fail(ShimStage stage, int r, ShimStage *ret_stage)
{
        *ret_stage = stage;
        return r;
}

int shim_prepare_namespace(const ShimOptions *o, const char *hostname, SeccompBpf **ret_filter,
                           ShimStage *ret_stage, const char **ret_step)
{
        int r;

        *ret_filter = NULL;
        if (o->loopback) {
                r = netns_loopback_up();
                if (r < 0)
                        return fail(SHIM_STAGE_NETWORK, r, ret_stage);
        }
        if (!o->sandbox) {
                /* Nothing we mount may propagate back to the host's mount namespace. */
                if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
                        return fail(SHIM_STAGE_MOUNTS, -errno, ret_stage);
                /* A /proc of the new pid namespace: the agent sees its own processes only. */
                if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
                        return fail(SHIM_STAGE_MOUNTS, -errno, ret_stage);
        } else {
                MountViewSpec view = MOUNT_VIEW_SPEC_INIT;

                view.workspace = o->workspace;
                view.tmp_size = o->tmp_size;
                view.workspace_tmpfs_size = o->workspace_tmpfs_size;
                view.mask_paths = o->mask_paths;
                view.keep_paths = o->keep_paths;
                view.workspace_idmap = o->workspace_idmap;
                view.workspace_owner = o->workspace_owner;
                view.workspace_uid = o->uid;
                view.workspace_gid = o->gid;
                r = mount_view_setup(&view, ret_step);
                if (r < 0)
                        return fail(SHIM_STAGE_MOUNTS, r, ret_stage);
        }
        if (sethostname(hostname, strlen(hostname)) < 0)
                return fail(SHIM_STAGE_SHIM, -errno, ret_stage);
        if (o->seccomp) {
                /* Mapped here, before the fork, so that the agent child only has to load it. */
                r = seccomp_bpf_from_fd(SHIM_FD_SECCOMP, ret_filter);
                if (r < 0)
                        return fail(SHIM_STAGE_SECCOMP, r, ret_stage);
                (void)close(SHIM_FD_SECCOMP);
        }
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

static int confine(const ShimOptions *o, ShimStage *ret_stage)
{
        Identity id = {.uid = o->uid, .gid = o->gid};
        ConfineStage cs = CONFINE_STAGE_IDENTITY;
        int r;

        r = confine_drop_privileges(&id, &cs);
        if (r < 0)
                return fail(cs == CONFINE_STAGE_IDENTITY ? SHIM_STAGE_IDENTITY : SHIM_STAGE_CAPS, r,
                            ret_stage);
        /* As the agent, so that HOME is its own. A workspace it may not write (a root caller's directory)
         * leaves it without one, which programs cope with; anything else is a real failure. */
        if (o->home && mkdir(o->home, 0700) < 0 && errno != EEXIST && errno != EACCES && errno != EROFS)
                return fail(SHIM_STAGE_CWD, -errno, ret_stage);
        return 0;
}

int shim_prepare_agent(const ShimAgentConfig *c, ShimStage *ret_stage)
{
        int r;

        /* the daemon sets the shim's oom_score_adj to -1000 so that the OOM killer takes the agent and the
         * shim lives to report it: the agent must not inherit that */
        r = write_oom_score_adj_zero();
        if (r < 0)
                return fail(SHIM_STAGE_SHIM, r, ret_stage);
        /* child-exec.h made us a session leader: the terminal at fd 0 becomes its controlling one */
        if (c->options->tty) {
                r = shim_tty_make_controlling();
                if (r < 0)
                        return fail(SHIM_STAGE_STDIO, r, ret_stage);
        }
        if (c->options->sandbox) {
                r = confine(c->options, ret_stage);
                if (r < 0)
                        return r;
        }
        /* After the drop: the agent must be allowed to enter its working directory itself. */
        if (chdir(c->cwd) < 0)
                return fail(SHIM_STAGE_CWD, -errno, ret_stage);
        if (c->filter) {
                r = seccomp_bpf_load(c->filter);
                if (r < 0)
                        return fail(SHIM_STAGE_SECCOMP, r, ret_stage);
        }
        return 0;
}
