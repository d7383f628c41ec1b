/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Starting an agent's shim: clone3 into the agent's shim/ cgroup with fresh pid, mount, uts and ipc
 * namespaces (and net when asked), then exec descartes-shim with the fds of supervisor/shim-protocol.h in
 * place and a fixed environment of the daemon's choosing.
 *
 * The daemon is multithreaded (libzmq), so everything is built before clone3 and the child only makes raw,
 * async-signal-safe calls: no malloc, no stdio, no NSS, no libc setuid-family call. */

#include <errno.h>
#include <stdbool.h>
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

/* The agent's sandbox, passed to the shim as options (and the filter as SHIM_FD_SECCOMP). The shim builds
 * the mount view (mount-view.h) in its namespaces, and the agent child drops to uid:gid (confine.h) and
 * loads the filter last. */
typedef struct SpawnSandbox {
        uid_t uid; /* the agent's identity */
        gid_t gid;
        const char *workspace;         /* host path, read-write at the same path in the view */
        uid_t workspace_owner;         /* the workspace must belong to this uid; (uid_t)-1: no check */
        uint64_t tmp_size;             /* bytes of /tmp and /dev/shm */
        uint64_t workspace_tmpfs_size; /* > 0: the workspace is a tmpfs of this size in the view */
        const char *runtime_dir;       /* masked, NULL: none */
        const char *state_dir;         /* masked, NULL: none */
        char *const *mask_paths;       /* more paths to mask, NULL-terminated, may be NULL */
        const char *home;              /* created by the agent after the drop (mkdir 0700), NULL: none */
        int seccomp_fd;                /* sealed filter memfd, -EBADF: none */
} SpawnSandbox;

#define SPAWN_MASK_PATHS_MAX 64

typedef struct SpawnShimParams {
        const char *shim_path;       /* absolute path of descartes-shim */
        const char *id;              /* the agent's id: --id */
        const char *cwd;             /* the agent's working directory, NULL for "/" */
        const char *hostname;        /* NULL: the shim derives one from the id */
        const char *listen_path;     /* the shim's reconnection socket, NULL for none */
        uint64_t output_cap;         /* bytes of output kept, 0 for the shim's default */
        bool stdin_pipe;             /* give the agent a stdin pipe (else /dev/null) */
        bool new_net;                /* CLONE_NEWNET: loopback only */
        char *const *argv;           /* the agent's command; argv[0] is looked up in env's PATH */
        char *const *env;            /* the agent's environment, for its execve only (a memfd, env-blob.h) */
        const SpawnSandbox *sandbox; /* NULL: namespaces only (the shim keeps the host's view and root) */

        int log_fd;            /* the shim's stdout and stderr, -EBADF for /dev/null */
        int control_fd;        /* becomes SHIM_FD_CONTROL */
        int state_dir_fd;      /* becomes SHIM_FD_STATE_DIR */
        int payload_cgroup_fd; /* becomes SHIM_FD_PAYLOAD_CG */
        int shim_cgroup_fd;    /* the shim/ leaf: clone3's CLONE_INTO_CGROUP target */
} SpawnShimParams;

/* The shim's argv for these parameters (what spawn_shim execs). */
int spawn_shim_argv(const SpawnShimParams *p, char ***ret);

/* Starts the shim and returns it as a PidRef (pid in the caller's namespace + pidfd) once it has exec'd; the
 * caller owns it and must reap it (it is a child, exit signal SIGCHLD). On failure returns -errno and, when
 * ret_failed_stage is not NULL, stores there where it failed (the child, if any, is reaped already). */
int spawn_shim(const SpawnShimParams *p, PidRef *ret, SpawnStage *ret_failed_stage);
