/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <unistd.h>

#include "child-exec.h"
#include "cleanup.h"
#include "fd-util.h"
#include "spawn.h"
#include "string-table.h"
#include "string-util.h"

/* The shim's whole environment. It runs as root: nothing of the request (LD_PRELOAD, GLIBC_TUNABLES, ...)
 * and nothing of the daemon's own environment may reach it. The agent's goes as data (env-blob.h). */
static char *const shim_envp[] = {
        (char *)"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        NULL,
};

static const char *const spawn_stage_table[_SPAWN_STAGE_MAX] = {
        [SPAWN_STAGE_PREPARE] = "prepare", [SPAWN_STAGE_CLONE] = "clone", [SPAWN_STAGE_SIGNALS] = "signals",
        [SPAWN_STAGE_SESSION] = "session", [SPAWN_STAGE_FDS] = "fds",     [SPAWN_STAGE_EXEC] = "exec",
};

DEFINE_STRING_TABLE(spawn_stage, SpawnStage, _SPAWN_STAGE_MAX, _SPAWN_STAGE_INVALID)

static SpawnStage stage_of(ChildExecStep step)
{
        switch (step) {
        case CHILD_EXEC_SETUP:
                return SPAWN_STAGE_PREPARE;
        case CHILD_EXEC_CLONE:
                return SPAWN_STAGE_CLONE;
        case CHILD_EXEC_SIGNALS:
                return SPAWN_STAGE_SIGNALS;
        case CHILD_EXEC_SESSION:
                return SPAWN_STAGE_SESSION;
        case CHILD_EXEC_FDS:
        case CHILD_EXEC_PREPARE: /* none is given */
                return SPAWN_STAGE_FDS;
        case CHILD_EXEC_EXEC:
        default:
                return SPAWN_STAGE_EXEC;
        }
}

static int fill_child(const SpawnShimParams *p, int devnull, int fds[static CHILD_EXEC_FDS_MAX],
                      ChildExec *c)
{
        if (!p || !p->shim_path || p->shim_path[0] != '/' || !p->argv || !p->argv[0] ||
            p->n_fds > CHILD_EXEC_FDS_MAX || (p->n_fds > 0 && !p->fds) || p->shim_cgroup_fd < 0)
                return -EINVAL;
        for (size_t i = 0; i < p->n_fds; i++)
                fds[i] = p->fds[i] >= 0 ? p->fds[i] : devnull;
        *c = (ChildExec){
                .clone_flags = CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC |
                               (p->new_net ? CLONE_NEWNET : 0),
                .cgroup_fd = p->shim_cgroup_fd,
                .path = p->shim_path,
                .argv = p->argv,
                .envp = shim_envp,
                .fds = fds,
                .n_fds = p->n_fds,
        };
        return 0;
}

int spawn_shim_start(const SpawnShimParams *p, PidRef *ret, int *ret_report_fd, SpawnStage *ret_failed_stage)
{
        _cleanup_close_ int devnull = -EBADF;
        int fds[CHILD_EXEC_FDS_MAX];
        ChildExecFailure f = {.step = CHILD_EXEC_SETUP};
        ChildExec c;
        int r;

        if (!ret || !ret_report_fd) {
                r = -EINVAL;
                goto fail;
        }
        devnull = open("/dev/null", O_RDWR | O_CLOEXEC | O_NOCTTY);
        if (devnull < 0) {
                r = -errno;
                goto fail;
        }
        r = fill_child(p, devnull, fds, &c);
        if (r < 0)
                goto fail;
        r = child_exec_start(&c, ret, ret_report_fd, &f);
        if (r >= 0)
                return 0;
fail:
        if (ret_failed_stage)
                *ret_failed_stage = stage_of(f.step);
        return r;
}

int spawn_shim_report(int fd, SpawnStage *ret_failed_stage)
{
        ChildExecFailure f = {};
        int r = child_exec_report(fd, &f);

        if (r < 0 && r != -EAGAIN && ret_failed_stage)
                *ret_failed_stage = stage_of(f.step);
        return r;
}

int spawn_shim(const SpawnShimParams *p, PidRef *ret, SpawnStage *ret_failed_stage)
{
        _cleanup_close_ int devnull = -EBADF;
        int fds[CHILD_EXEC_FDS_MAX];
        ChildExecFailure f = {.step = CHILD_EXEC_SETUP};
        ChildExec c;
        int r;

        if (!ret) {
                r = -EINVAL;
                goto fail;
        }
        devnull = open("/dev/null", O_RDWR | O_CLOEXEC | O_NOCTTY);
        if (devnull < 0) {
                r = -errno;
                goto fail;
        }
        r = fill_child(p, devnull, fds, &c);
        if (r < 0)
                goto fail;
        r = child_exec_spawn(&c, ret, &f);
        if (r >= 0)
                return 0;
fail:
        if (ret_failed_stage)
                *ret_failed_stage = stage_of(f.step);
        return r;
}
