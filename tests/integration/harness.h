/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A private descartesd for integration tests: its own runtime dir, state dir and cgroup root (a fresh
 * directory under the host's cgroup2 mount), started from the build tree and torn down completely — daemon,
 * agents, cgroups, files — also when a test fails. A test binary that dies hard leaves its cgroup behind
 * with its pid in the name; the next harness_start() sweeps such leftovers. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct Harness {
        char *tmpdir;       /* /tmp/descartes-itest-XXXXXX */
        char *runtime_dir;  /* tmpdir/run */
        char *state_dir;    /* tmpdir/state */
        char *cgroup_root;  /* CGROUP2/descartes-itest-PID-N */
        char *control;      /* ipc://tmpdir/run/control */
        char *daemon_log;   /* tmpdir/descartesd.log */
        bool state_mounted; /* state_dir is a tmpfs of the test's (HarnessOptions.state_size) */
        pid_t daemon_pid;
        int daemon_pidfd;
        unsigned long nofile;      /* the daemon's RLIMIT_NOFILE (soft and hard), 0 = inherited */
        unsigned long nofile_soft; /* > 0: its soft limit at start, below nofile */
} Harness;

/* Why the harness cannot run here (not root, no cgroup2, binaries missing), or NULL if it can. */
const char *harness_skip_reason(void);

/* How a daemon is started; zero fields are the defaults. */
typedef struct HarnessOptions {
        const char *extra_config; /* lines for its config file, or NULL */
        uint64_t state_size;  /* > 0: the state dir on a tmpfs of that many bytes, to fill it (unmounted by
                                 harness_stop) */
        unsigned long nofile; /* > 0: the daemon's RLIMIT_NOFILE, soft and hard */
        unsigned long nofile_soft; /* > 0 (with nofile): the soft limit it starts with instead */
} HarnessOptions;

/* Starts a daemon and waits until it answers. */
int harness_start_with(const HarnessOptions *o, Harness **ret);
/* The same with only extra_config (NULL for none). */
int harness_start(const char *extra_config, Harness **ret);
/* Stops the daemon (SIGTERM, then SIGKILL), kills everything left in the cgroup root, removes the cgroups
 * and the temporary directory. Safe on NULL and on a partly started harness. */
void harness_stop(Harness *h);
/* Kills the daemon with SIGKILL (agents stay), for restart tests. */
int harness_kill_daemon(Harness *h, int sig);
/* Waits up to timeout_ms for the daemon to exit by itself and reaps it: its exit status (128+N for signal
 * N). */
int harness_wait_daemon_exit(Harness *h, unsigned timeout_ms, int *ret_status);
/* Starts the daemon again on the same directories and cgroup root. */
int harness_restart_daemon(Harness *h);

/* How many descriptors the daemon holds now (its /proc/PID/fd), all or (match not NULL) those whose target
 * contains match; negative errno. */
int harness_daemon_fd_count(const Harness *h, const char *match);

/* Runs descartesctl -H <control> ARGS... (NULL-terminated), feeding `input` (may be NULL)
 * on its stdin; returns its exit status (or -errno) and its stdout in *ret_out (may be NULL). stderr goes to
 * the test's stderr. */
int harness_ctl(Harness *h, const char *input, size_t input_len, char **ret_out, ...)
        __attribute__((sentinel));

/* Absolute paths of the build's binaries (from the environment meson sets). */
const char *harness_descartesd(void);
const char *harness_descartesctl(void);
const char *harness_shim(void);
/* The daemon's --policy-dir: $DESCARTES_POLICY_DIR (the source tree's policies/ under meson test). */
const char *harness_policy_dir(void);

/* Number of processes in the cgroup subtree (recursive cgroup.procs count), or -errno. */
int harness_cgroup_nprocs(const char *path);
/* Number of directories below path (cgroups left), or -errno. */
int harness_cgroup_count_dirs(const char *path);
/* Waits up to timeout_ms for fn(arg) to return true; returns 0 or -ETIMEDOUT. Tests only. */
int harness_wait_until(bool (*fn)(void *arg), void *arg, unsigned timeout_ms);
