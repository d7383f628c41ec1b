/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Runs kernel-touching checks in forked children (new namespaces, dropped privileges) and brings their
 * verdict back to cmocka in the parent: a child cannot use cmocka's assertions, so it returns NULL for
 * success or a message naming the failed check, which travels over a pipe. */

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "fd-util.h"

typedef const char *(*ChildFn)(void *userdata);

static char child_msg[1024];

_printf_(2, 3) static inline const char *child_fail(int line, const char *fmt, ...)
{
        int saved = errno, k;
        va_list ap;

        k = snprintf(child_msg, sizeof child_msg, "line %d: ", line);
        va_start(ap, fmt);
        if (k > 0 && (size_t)k < sizeof child_msg)
                (void)vsnprintf(child_msg + k, sizeof child_msg - (size_t)k, fmt, ap);
        va_end(ap);
        errno = saved;
        return child_msg;
}

/* In a child function: fail with the expression and errno when it does not hold. */
#define CHECK(expr)                                                                                         \
        do {                                                                                                \
                errno = 0;                                                                                  \
                if (!(expr))                                                                                \
                        return child_fail(__LINE__, "%s (errno %d: %s)", #expr, errno, strerror(errno));    \
        } while (0)

#define CHECK_ERRNO(expr, e)                                                                                \
        do {                                                                                                \
                errno = 0;                                                                                  \
                long _v_ = (long)(expr);                                                                    \
                if (_v_ >= 0 || errno != (e))                                                               \
                        return child_fail(__LINE__, "%s: want errno %s, got %ld (errno %d: %s)", #expr, #e, \
                                          _v_, errno, strerror(errno));                                     \
        } while (0)

static inline int wait_exit_code(pid_t pid)
{
        int status;

        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return -1;
        if (WIFEXITED(status))
                return WEXITSTATUS(status);
        return 128 + WTERMSIG(status);
}

/* Forks; the child unshares flags and, with CLONE_NEWPID, forks again so that fn runs as pid 1 of the new
 * namespace (the shim's situation). Returns NULL if fn succeeded, else a malloc'ed message. */
static inline char *run_in_child(int unshare_flags, ChildFn fn, void *userdata)
{
        _cleanup_close_pair_ int pipefd[2] = {-EBADF, -EBADF};
        char buf[sizeof child_msg];
        size_t n = 0;
        pid_t pid;
        int code;

        if (pipe2(pipefd, O_CLOEXEC) < 0)
                return strdup("pipe2 failed");
        fflush(NULL);
        pid = fork();
        if (pid < 0)
                return strdup("fork failed");
        if (pid == 0) {
                const char *msg;

                pipefd[0] = safe_close(pipefd[0]);
                (void)prctl(PR_SET_PDEATHSIG, SIGKILL);
                if (unshare_flags && unshare(unshare_flags) < 0) {
                        msg = child_fail(__LINE__, "unshare: %s", strerror(errno));
                        (void)loop_write(pipefd[1], msg, strlen(msg));
                        _exit(1);
                }
                if (unshare_flags & CLONE_NEWPID) {
                        pid_t inner = fork();
                        if (inner < 0)
                                _exit(1);
                        if (inner > 0) {
                                pipefd[1] = safe_close(pipefd[1]);
                                _exit(wait_exit_code(inner));
                        }
                        (void)prctl(PR_SET_PDEATHSIG, SIGKILL);
                }
                msg = fn(userdata);
                if (msg)
                        (void)loop_write(pipefd[1], msg, strlen(msg));
                _exit(msg ? 1 : 0);
        }

        pipefd[1] = safe_close(pipefd[1]);
        for (;;) {
                ssize_t k = read(pipefd[0], buf + n, sizeof buf - 1 - n);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0)
                        break;
                n += (size_t)k;
                if (n == sizeof buf - 1)
                        break;
        }
        buf[n] = '\0';
        code = wait_exit_code(pid);
        if (n > 0)
                return strdup(buf);
        if (code != 0) {
                char *m = NULL;
                if (asprintf(&m, "child exited with status %d and no message", code) < 0)
                        return strdup("child failed");
                return m;
        }
        return NULL;
}

#define assert_child_ok(msg)                                                                                \
        do {                                                                                                \
                char *_m_ = (msg);                                                                          \
                if (_m_) {                                                                                  \
                        print_error("%s\n", _m_);                                                           \
                        free(_m_);                                                                          \
                        fail();                                                                             \
                }                                                                                           \
        } while (0)

/* Reads one "Key:\tvalue" line of /proc/self/status into buf (value without leading whitespace). */
static inline int proc_status_field(const char *key, char *buf, size_t n)
{
        _cleanup_free_ char *text = NULL;
        size_t kl = strlen(key);
        int r;

        r = read_file_at(AT_FDCWD, "/proc/self/status", 1024 * 1024, &text, NULL);
        if (r < 0)
                return r;
        for (char *line = text; line && *line;) {
                char *nl = strchr(line, '\n');
                if (nl)
                        *nl = '\0';
                if (strncmp(line, key, kl) == 0 && line[kl] == ':') {
                        const char *v = line + kl + 1;
                        v += strspn(v, " \t");
                        if (strlen(v) >= n)
                                return -ENOBUFS;
                        strcpy(buf, v);
                        return 0;
                }
                line = nl ? nl + 1 : NULL;
        }
        return -ENOENT;
}
