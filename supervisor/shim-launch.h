/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The daemon's side of starting a shim by its contract (supervisor/shim/shim-contract.h): the options and
 * the agent's environment as sealed memfds, every fd at the number the contract gives it, a command line for
 * `ps`, then sandbox/spawn.c. */

#include "pidref.h"
#include "shim-contract.h"
#include "spawn.h"

typedef struct ShimLaunch {
        const char *shim_path;      /* absolute path of descartes-shim */
        const ShimOptions *options; /* options->loopback: the shim gets a network namespace of its own */
        char *const *env;           /* the agent's environment, for its execve only */
        int seccomp_fd;             /* with options->seccomp: the sealed filter memfd */
        int log_fd;                 /* the shim's stdout and stderr, -EBADF for /dev/null */
        int control_fd;             /* becomes SHIM_FD_CONTROL */
        int state_dir_fd;           /* becomes SHIM_FD_STATE_DIR */
        int payload_cgroup_fd;      /* becomes SHIM_FD_PAYLOAD_CG */
        int shim_cgroup_fd;         /* the shim/ leaf: where it starts */
} ShimLaunch;

/* spawn_shim()'s return and stages; SPAWN_STAGE_PREPARE also for options the shim would refuse. With
 * ret_report_fd, spawn_shim_start()'s: it returns before the shim's execve, and spawn_shim_report() on
 * *ret_report_fd tells how that went. */
int shim_launch(const ShimLaunch *l, PidRef *ret, int *ret_report_fd, SpawnStage *ret_failed_stage);
