/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Starting an agent's shim: clone3 into the agent's shim/ cgroup with fresh pid, mount, uts and ipc
 * namespaces (and net when asked), then exec descartes-shim with the fds its contract names in place and a
 * fixed environment of the daemon's choosing. What goes on which fd is the contract's business
 * (supervisor/shim/shim-contract.h, filled in by supervisor/shim-launch.c); this is the kernel part.
 *
 * The daemon is multithreaded (libzmq), so everything is built before clone3 and the child only makes raw,
 * async-signal-safe calls (child-exec.h). */

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "pidref.h"

typedef enum SpawnStage {
        SPAWN_STAGE_PREPARE, /* in the daemon, before clone3 (bad parameters, no memory, no /dev/null) */
        SPAWN_STAGE_CLONE,   /* clone3 itself (cgroup, namespaces, limits) */
        SPAWN_STAGE_SIGNALS, /* resetting the signal mask and dispositions */
        SPAWN_STAGE_SESSION, /* setsid */
        SPAWN_STAGE_FDS,     /* putting the shim's fds in place */
        SPAWN_STAGE_EXEC,    /* execve of the shim */
        _SPAWN_STAGE_MAX,
        _SPAWN_STAGE_INVALID = -EINVAL,
} SpawnStage;

const char *spawn_stage_to_string(SpawnStage s);
SpawnStage spawn_stage_from_string(const char *s);

typedef struct SpawnShimParams {
        const char *shim_path; /* absolute path of descartes-shim */
        char *const *argv;     /* its command line: what `ps` shows, nothing it acts upon */
        /* fds[i] becomes the shim's fd i (its contract: supervisor/shim/shim-contract.h); -EBADF there:
         * /dev/null (stdin, and stdout/stderr without a log) */
        const int *fds;
        size_t n_fds;       /* at most CHILD_EXEC_FDS_MAX */
        bool new_net;       /* CLONE_NEWNET: loopback only */
        int shim_cgroup_fd; /* the shim/ leaf: clone3's CLONE_INTO_CGROUP target */
} SpawnShimParams;

/* Starts the shim (child-exec.h) and returns it as a PidRef (pid in the caller's namespace + pidfd) once it
 * has exec'd; the caller owns it and must reap it (it is a child, exit signal SIGCHLD). On failure returns
 * -errno and, when ret_failed_stage is not NULL, stores there where it failed (the child, if any, is reaped
 * already). */
int spawn_shim(const SpawnShimParams *p, PidRef *ret, SpawnStage *ret_failed_stage);
/* spawn_shim without waiting for the shim's execve (child-exec.h: child_exec_start): returns once clone3
 * is done, with the read end of the report pipe in *ret_report_fd; spawn_shim_report() reads it (0: the
 * shim exec'd; -EAGAIN: not yet; else -errno and the stage where it failed). A shim that failed exits by
 * itself: the caller reaps it. */
int spawn_shim_start(const SpawnShimParams *p, PidRef *ret, int *ret_report_fd,
                     SpawnStage *ret_failed_stage);
int spawn_shim_report(int fd, SpawnStage *ret_failed_stage);
