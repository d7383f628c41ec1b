/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The peer of "pause confirmed": a bare cgroup v2 freeze, from the write to cgroup.freeze until
 * cgroup.events says so, with nothing else in the way.
 *
 *   bench-freeze [-n N] [-g GAP_MS] [-p PROCS] PARENT -- CMD [ARGS...]
 *
 * Creates the scratch cgroup PARENT/bench-freeze-PID, starts CMD in it (fork, join cgroup.procs, exec),
 * waits until the cgroup holds PROCS processes, then N times writes 1 to cgroup.freeze and waits for "frozen
 * 1", GAP_MS, writes 0 and waits for "frozen 0", GAP_MS. Waiting re-reads cgroup.events at once and then on
 * each POLLPRI wake-up: the kernel sends at most one notification per file every 10 ms, so a state reached
 * before the write returns is only seen by reading, and transitions closer than 10 ms apart would measure
 * that throttle (hence the gap, which the daemon-side run uses too).
 * At the end, and on SIGINT/SIGTERM/SIGHUP, the cgroup is killed (cgroup.kill), our child reaped, and the
 * cgroup removed. Output: one line of key=value pairs, times in microseconds. */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench-util.h"
#include "cleanup.h"

static char g_cgroup[4096];
static volatile sig_atomic_t g_have_cgroup;
static volatile pid_t g_child;

static void write_at(const char *file, const char *value)
{
        char p[4200];
        int fd;

        (void)snprintf(p, sizeof p, "%s/%s", g_cgroup, file);
        fd = open(p, O_WRONLY | O_CLOEXEC);
        if (fd < 0)
                return;
        (void)!write(fd, value, strlen(value));
        (void)close(fd);
}

/* Async-signal-safe: only open/write/close/waitpid/rmdir/nanosleep. */
static void teardown(void)
{
        if (g_have_cgroup)
                write_at("cgroup.kill", "1");
        if (g_child > 0)
                (void)waitpid(g_child, NULL, 0);
        g_child = 0;
        for (int i = 0; g_have_cgroup && i < 1000; i++) {
                struct timespec ts = {0, 1000000};

                if (rmdir(g_cgroup) == 0 || errno == ENOENT)
                        g_have_cgroup = 0;
                else
                        (void)nanosleep(&ts, NULL);
        }
}

static void on_signal(int sig)
{
        teardown();
        (void)signal(sig, SIG_DFL);
        (void)raise(sig);
}

static int read_frozen(int fd)
{
        char buf[256];
        ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
        const char *p;

        if (n < 0)
                return -errno;
        buf[n] = 0;
        p = strstr(buf, "frozen ");
        return p ? p[7] == '1' : -EIO;
}

/* Microseconds from the write until cgroup.events shows frozen == want, or -1 after 10 s. */
static double transition(int freeze_fd, int events_fd, int want)
{
        double t0 = bench_now_us();

        if (pwrite(freeze_fd, want ? "1" : "0", 1, 0) != 1)
                return -1;
        for (;;) {
                struct pollfd pfd = {.fd = events_fd, .events = POLLPRI};
                int f = read_frozen(events_fd);

                if (f < 0)
                        return -1;
                if (f == want)
                        return bench_now_us() - t0;
                if (bench_now_us() - t0 > 10e6)
                        return -1;
                (void)poll(&pfd, 1, 100);
        }
}

static int usage(void)
{
        fprintf(stderr, "usage: bench-freeze [-n N] [-g GAP_MS] [-p PROCS] PARENT -- CMD [ARGS...]\n");
        return 2;
}

int main(int argc, char **argv)
{
        long n = 50, gap_ms = 20, procs = 1, have = 0;
        _cleanup_free_ double *tf = NULL, *tt = NULL;
        _cleanup_close_ int freeze_fd = -EBADF, events_fd = -EBADF;
        char p[4200];
        int opt, r = 1;

        while ((opt = getopt(argc, argv, "+n:g:p:")) != -1) {
                long *target = opt == 'n' ? &n : opt == 'g' ? &gap_ms : opt == 'p' ? &procs : NULL;

                if (!target || bench_parse_long(optarg, opt == 'g' ? 0 : 1, 1000000, target) < 0)
                        return usage();
        }
        if (argc - optind >= 2 && strcmp(argv[optind + 1], "--") == 0) {
                argv[optind + 1] = argv[optind];
                optind++;
        }
        if (argc - optind < 2)
                return usage();
        tf = calloc((size_t)n, sizeof(double));
        tt = calloc((size_t)n, sizeof(double));
        if (!tf || !tt)
                return 1;

        (void)snprintf(g_cgroup, sizeof g_cgroup, "%s/bench-freeze-%d", argv[optind], (int)getpid());
        (void)signal(SIGINT, on_signal);
        (void)signal(SIGTERM, on_signal);
        (void)signal(SIGHUP, on_signal);
        if (mkdir(g_cgroup, 0755) < 0) {
                fprintf(stderr, "bench-freeze: mkdir %s: %m\n", g_cgroup);
                return 1;
        }
        g_have_cgroup = 1;

        (void)snprintf(p, sizeof p, "%s/cgroup.procs", g_cgroup);
        pid_t child = fork();
        if (child < 0) {
                fprintf(stderr, "bench-freeze: fork: %m\n");
                goto out;
        }
        if (child == 0) {
                int fd = open(p, O_WRONLY | O_CLOEXEC);

                if (fd < 0 || write(fd, "0", 1) != 1)
                        _exit(126);
                (void)close(fd);
                /* its own session, as under a supervisor: with autogroup scheduling, spinning children in
                 * our session would otherwise starve this program of CPU */
                (void)setsid();
                execvp(argv[optind + 1], argv + optind + 1);
                fprintf(stderr, "bench-freeze: exec %s: %m\n", argv[optind + 1]);
                _exit(127);
        }
        g_child = child;

        for (int i = 0; i < 6000; i++) {
                have = bench_cgroup_count_procs(g_cgroup);
                if (have >= procs)
                        break;
                bench_sleep_ms(10);
        }
        if (have < procs) {
                fprintf(stderr, "bench-freeze: the cgroup holds %ld processes, not %ld, after 60 s\n", have,
                        procs);
                goto out;
        }

        (void)snprintf(p, sizeof p, "%s/cgroup.freeze", g_cgroup);
        freeze_fd = open(p, O_WRONLY | O_CLOEXEC);
        (void)snprintf(p, sizeof p, "%s/cgroup.events", g_cgroup);
        events_fd = open(p, O_RDONLY | O_CLOEXEC);
        if (freeze_fd < 0 || events_fd < 0) {
                fprintf(stderr, "bench-freeze: open %s: %m\n", p);
                goto out;
        }
        for (long i = 0; i < n; i++) {
                tf[i] = transition(freeze_fd, events_fd, 1);
                bench_sleep_ms(gap_ms);
                tt[i] = transition(freeze_fd, events_fd, 0);
                bench_sleep_ms(gap_ms);
                if (tf[i] < 0 || tt[i] < 0) {
                        fprintf(stderr, "bench-freeze: a transition failed or took over 10 s\n");
                        goto out;
                }
        }
        printf("op=freeze procs=%ld gap_ms=%ld", have, gap_ms);
        bench_print_stats("freeze_us", tf, (size_t)n);
        bench_print_stats("thaw_us", tt, (size_t)n);
        printf("\n");
        r = 0;
out:
        teardown();
        return r;
}
