/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vmtest-hog: loads for the in-guest cgroup checks of tests/vm.
 *   vmtest-hog [--cgroup DIR] alloc MB        allocate and touch MB MiB; exit 0 only if never killed
 *   vmtest-hog [--cgroup DIR] hold MB SECONDS   allocate and touch MB MiB, then hold it until SECONDS passed
 *   vmtest-hog [--cgroup DIR] spin SECONDS    busy-loop for SECONDS of wall-clock time
 *   vmtest-hog [--cgroup DIR] forkbomb SECONDS  every process forks as fast as it can until SECONDS pass;
 *                                               exit 1 if a fork was refused (as a program that gives up)
 * --cgroup DIR moves the process into DIR (a cgroup v2 directory) before the load starts. */

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"

#define MIB          (1024UL * 1024UL)
#define ALLOC_MAX_MB 65536UL
#define SECONDS_MAX  600.0

static double now(void)
{
        struct timespec ts;

        (void)clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int parse_seconds(const char *s, double *ret)
{
        char *end = NULL;
        double d;

        errno = 0;
        d = strtod(s, &end);
        if (errno != 0 || end == s || *end != '\0' || !(d > 0.0) || d > SECONDS_MAX)
                return -EINVAL;
        *ret = d;
        return 0;
}

static int join_cgroup(const char *dir)
{
        _cleanup_close_ int fd = -EBADF;
        char path[4096], buf[32];
        int n;

        n = snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
        if (n < 0 || (size_t)n >= sizeof(path))
                return -ENAMETOOLONG;
        fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        n = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());
        if (write(fd, buf, (size_t)n) != n)
                return -errno;
        return 0;
}

static int do_alloc(const char *arg, double hold)
{
        double start = now();
        char *end = NULL;
        unsigned long mb, i;

        errno = 0;
        mb = strtoul(arg, &end, 10);
        if (errno != 0 || end == arg || *end != '\0' || mb == 0 || mb > ALLOC_MAX_MB) {
                fprintf(stderr, "vmtest-hog: bad size '%s' (1..%lu MiB)\n", arg, ALLOC_MAX_MB);
                return 2;
        }
        for (i = 0; i < mb; i++) {
                /* Leaked on purpose: the point is to hold the memory until the end (or the OOM kill). */
                char *p = malloc(MIB);

                if (!p) {
                        printf("vmtest-hog: malloc failed after %lu MiB\n", i);
                        return 1;
                }
                memset(p, 0x5a, MIB);
                if ((i + 1) % 16 == 0) {
                        printf("vmtest-hog: touched %lu MiB\n", i + 1);
                        fflush(stdout);
                }
        }
        printf("vmtest-hog: allocated %lu MiB and was not killed\n", mb);
        while (now() < start + hold)
                (void)usleep(100000);
        return 0;
}

static int do_spin(double seconds)
{
        double end = now() + seconds;
        unsigned long n = 0;

        while (now() < end)
                for (volatile unsigned i = 0; i < 10000; i++)
                        n++;
        printf("vmtest-hog: spun %.2f s, %lu iterations\n", seconds, n);
        return 0;
}

static int do_forkbomb(double seconds)
{
        double deadline = now() + seconds;
        unsigned long failures = 0;
        bool refused = false;
        pid_t root;

        /* Orphans of the bomb re-parent to us, so we reap every one and leave no zombie behind. */
        if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0) {
                fprintf(stderr, "vmtest-hog: PR_SET_CHILD_SUBREAPER: %s\n", strerror(errno));
                return 1;
        }
        root = fork();
        if (root < 0) {
                fprintf(stderr, "vmtest-hog: fork: %s\n", strerror(errno));
                return 1;
        }
        if (root == 0) {
                /* Inside the bomb every parent lets the kernel reap its own children. */
                (void)signal(SIGCHLD, SIG_IGN);
                while (now() < deadline) {
                        pid_t pid = fork();

                        if (pid < 0) {
                                failures++;
                                (void)usleep(10000);
                        }
                }
                _exit(failures > 0 ? 0 : 3);
        }

        for (;;) {
                int status;
                pid_t pid = waitpid(-1, &status, 0);

                if (pid < 0) {
                        if (errno == EINTR)
                                continue;
                        break;
                }
                if (pid == root) {
                        refused = WIFEXITED(status) && WEXITSTATUS(status) == 0;
                        printf("vmtest-hog: forkbomb ran %.2f s, first process %s fork failures\n", seconds,
                               refused ? "saw" : "saw no");
                }
        }
        return refused ? 1 : 0;
}

static int usage(void)
{
        fprintf(stderr, "usage: vmtest-hog [--cgroup DIR] alloc MB | hold MB SECONDS | spin SECONDS | "
                        "forkbomb SECONDS\n");
        return 2;
}

int main(int argc, char *argv[])
{
        double seconds;
        int i = 1, r;

        if (argc > 2 && strcmp(argv[1], "--cgroup") == 0) {
                r = join_cgroup(argv[2]);
                if (r < 0) {
                        fprintf(stderr, "vmtest-hog: cannot join cgroup %s: %s\n", argv[2], strerror(-r));
                        return 1;
                }
                i = 3;
        }
        setvbuf(stdout, NULL, _IOLBF, 0);
        if (argc == i + 3 && strcmp(argv[i], "hold") == 0) {
                if (parse_seconds(argv[i + 2], &seconds) < 0)
                        return usage();
                return do_alloc(argv[i + 1], seconds);
        }
        if (argc != i + 2)
                return usage();
        if (strcmp(argv[i], "alloc") == 0)
                return do_alloc(argv[i + 1], 0);
        if (strcmp(argv[i], "spin") == 0 || strcmp(argv[i], "forkbomb") == 0) {
                if (parse_seconds(argv[i + 1], &seconds) < 0) {
                        fprintf(stderr, "vmtest-hog: bad duration '%s' (0..%.0f s)\n", argv[i + 1],
                                SECONDS_MAX);
                        return 2;
                }
                return argv[i][0] == 's' ? do_spin(seconds) : do_forkbomb(seconds);
        }
        return usage();
}
