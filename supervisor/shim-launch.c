/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <unistd.h>

#include "cleanup.h"
#include "env-blob.h"
#include "fd-util.h"
#include "shim-launch.h"

int shim_launch(const ShimLaunch *l, PidRef *ret, int *ret_report_fd, SpawnStage *ret_failed_stage)
{
        _cleanup_close_ int options_fd = -EBADF, env_fd = -EBADF;
        int r;

        if (!l || !l->options || !l->options->id || l->control_fd < 0 || l->state_dir_fd < 0 ||
            l->payload_cgroup_fd < 0 || (l->options->seccomp && l->seccomp_fd < 0)) {
                r = -EINVAL;
                goto fail;
        }
        r = shim_options_export(l->options, &options_fd);
        if (r < 0)
                goto fail;
        r = env_blob_export(l->env, &env_fd);
        if (r < 0)
                goto fail;

        char *argv[] = {(char *)"descartes-shim", (char *)"--id", l->options->id, NULL};
        const int fds[_SHIM_FD_MAX] = {
                [STDIN_FILENO] = -EBADF,
                [STDOUT_FILENO] = l->log_fd,
                [STDERR_FILENO] = l->log_fd,
                [SHIM_FD_CONTROL] = l->control_fd,
                [SHIM_FD_STATE_DIR] = l->state_dir_fd,
                [SHIM_FD_PAYLOAD_CG] = l->payload_cgroup_fd,
                [SHIM_FD_SECCOMP] = l->options->seccomp ? l->seccomp_fd : -EBADF,
                [SHIM_FD_ENV] = env_fd,
                [SHIM_FD_OPTIONS] = options_fd,
        };
        SpawnShimParams p = {
                .shim_path = l->shim_path,
                .argv = argv,
                .fds = fds,
                .n_fds = ELEMENTSOF(fds),
                .new_net = l->options->loopback,
                .shim_cgroup_fd = l->shim_cgroup_fd,
        };
        if (ret_report_fd)
                return spawn_shim_start(&p, ret, ret_report_fd, ret_failed_stage);
        return spawn_shim(&p, ret, ret_failed_stage);
fail:
        if (ret_failed_stage)
                *ret_failed_stage = SPAWN_STAGE_PREPARE;
        return r;
}
