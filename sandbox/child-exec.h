/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The one way descartes starts a program in a new process: the daemon starts each shim with it, each shim
 * its agent. clone3 (into a cgroup, with namespaces), then in the child: every signal disposition back to
 * default and an empty mask, a new session, the given fds in place at 0..n-1 and every other fd
 * close-on-exec, the caller's own steps (prepare), and execve. The parent learns through a CLOEXEC pipe
 * whether the child reached execve, and where it failed if not.
 *
 * Up to prepare the child only makes raw, async-signal-safe calls (no malloc, no stdio, no NSS), so that a
 * multithreaded parent (the daemon: libzmq) may use it. prepare and a NULL path (a PATH lookup) are for
 * single-threaded parents only (the shim). */

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

#include "pidref.h"

#define CHILD_EXEC_FDS_MAX 16

typedef enum ChildExecStep {
        CHILD_EXEC_SETUP,   /* in the parent, before clone3 (bad parameters, no pipe) */
        CHILD_EXEC_CLONE,   /* clone3 itself (cgroup, namespaces, limits) */
        CHILD_EXEC_SIGNALS, /* resetting the signal dispositions and mask */
        CHILD_EXEC_SESSION, /* setsid */
        CHILD_EXEC_FDS,     /* putting the fds in place */
        CHILD_EXEC_PREPARE, /* the caller's prepare(); its own stage is in ChildExecFailure.stage */
        CHILD_EXEC_EXEC,    /* execve */
        _CHILD_EXEC_STEP_MAX,
} ChildExecStep;

typedef struct ChildExec {
        uint64_t clone_flags; /* besides CLONE_PIDFD, and CLONE_INTO_CGROUP with cgroup_fd */
        int cgroup_fd;        /* the cgroup to start in, -EBADF: the parent's */
        const char *path;     /* the program; NULL: argv[0] looked up in envp's PATH (execvpe) */
        char *const *argv;
        char *const *envp;
        const int *fds; /* fds[i] becomes fd i (a source may sit on another's target) */
        size_t n_fds;   /* at most CHILD_EXEC_FDS_MAX */
        /* In the child after the fds are in place, before execve: 0, or -errno with a stage of the
         * caller's in *ret_stage. */
        int (*prepare)(void *userdata, int *ret_stage);
        void *userdata;
} ChildExec;

typedef struct ChildExecFailure {
        ChildExecStep step;
        int stage;  /* prepare()'s, with CHILD_EXEC_PREPARE */
        int error;  /* positive errno */
        int status; /* the failed child's wait status, -1 when there was no child */
} ChildExecFailure;

/* The RLIMIT_NOFILE every child started from now on gets (by child_exec_spawn(), or after a fork() by
 * child_exec_apply_nofile()): a daemon that raised its own soft limit gives its children the one it was
 * started with, since programs using select() break on descriptors above 1024. Unset: children inherit. */
void child_exec_set_nofile(const struct rlimit *rl);
/* In a child after fork(): async-signal-safe. */
void child_exec_apply_nofile(void);

/* Starts the child and returns once it has exec'd, as a PidRef (pid + pidfd; a child of the caller, exit
 * signal SIGCHLD, which the caller reaps; with CLONE_PARENT a child of the caller's parent, which reaps
 * it). On failure returns -errno with *ret_failure filled in (if not
 * NULL); a child that failed is reaped already. */
int child_exec_spawn(const ChildExec *c, PidRef *ret, ChildExecFailure *ret_failure);

/* child_exec_spawn in two halves, for a caller that must not wait for the child's execve (the daemon's
 * loop): the first returns once clone3 is done, with the child and the read end of its report pipe
 * (O_CLOEXEC; the caller may make it non-blocking) in *ret_report_fd; on failure there is no child.
 * child_exec_report() then reads that pipe: 0 once the child has exec'd (EOF), -EAGAIN when a
 * non-blocking pipe has nothing yet, else the child's failure as -errno with *ret_failure filled in. A
 * failed child exits (127) by itself: the caller reaps it. */
int child_exec_start(const ChildExec *c, PidRef *ret, int *ret_report_fd, ChildExecFailure *ret_failure);
int child_exec_report(int fd, ChildExecFailure *ret_failure);
