/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Start + reap throughput of a command: keeps JOBS copies in flight for SECS seconds.
 *
 *   bench-tput [-j JOBS] [-t SECS] -- CMD [ARGS...]
 *
 * Children get /dev/null for stdin, stdout and stderr; only the children this program started are waited
 * for. Output: one line of key=value pairs: completions per second and the per-run latency in microseconds.
 */

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench-util.h"
#include "cleanup.h"

#define JOBS_MAX 64

extern char **environ;

typedef struct Slot {
        pid_t pid;
        double t0;
} Slot;

int main(int argc, char **argv)
{
        long jobs = 2, secs = 10, inflight = 0, ok = 0, failed = 0;
        Slot slots[JOBS_MAX] = {};
        size_t n = 0, cap = 1 << 20;
        _cleanup_free_ double *lat = calloc(cap, sizeof(double));
        posix_spawn_file_actions_t fa;
        double start, deadline;
        int opt;

        while ((opt = getopt(argc, argv, "+j:t:")) != -1) {
                long *target = opt == 'j' ? &jobs : opt == 't' ? &secs : NULL;

                if (!target || bench_parse_long(optarg, 1, opt == 'j' ? JOBS_MAX : 3600, target) < 0) {
                        fprintf(stderr, "usage: bench-tput [-j JOBS] [-t SECS] -- CMD [ARGS...]\n");
                        return 2;
                }
        }
        if (optind >= argc || !lat) {
                fprintf(stderr, "usage: bench-tput [-j JOBS] [-t SECS] -- CMD [ARGS...]\n");
                return 2;
        }
        if (posix_spawn_file_actions_init(&fa) != 0 ||
            posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0) != 0 ||
            posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0) != 0 ||
            posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0) != 0)
                return 1;

        start = bench_now_us();
        deadline = start + (double)secs * 1e6;
        for (;;) {
                int status, rc;
                pid_t pid;

                while (inflight < jobs && bench_now_us() < deadline) {
                        double t0 = bench_now_us();
                        long s;

                        rc = posix_spawnp(&pid, argv[optind], &fa, NULL, argv + optind, environ);
                        if (rc != 0) {
                                fprintf(stderr, "bench-tput: %s: %s\n", argv[optind], strerror(rc));
                                break;
                        }
                        for (s = 0; slots[s].pid; s++)
                                ;
                        slots[s] = (Slot){.pid = pid, .t0 = t0};
                        inflight++;
                }
                if (inflight == 0)
                        break;
                pid = waitpid(-1, &status, 0);
                if (pid < 0) {
                        if (errno == EINTR)
                                continue;
                        break;
                }
                for (long s = 0; s < jobs; s++) {
                        if (slots[s].pid != pid)
                                continue;
                        if (n < cap)
                                lat[n++] = bench_now_us() - slots[s].t0;
                        slots[s].pid = 0;
                        inflight--;
                        if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
                                ok++;
                        else
                                failed++;
                        break;
                }
        }
        double elapsed_s = (bench_now_us() - start) / 1e6;

        printf("op=tput jobs=%ld secs=%.2f ok=%ld failed=%ld per_s=%.1f", jobs, elapsed_s, ok, failed,
               (double)ok / elapsed_s);
        bench_print_stats("run_us", lat, n);
        printf("\n");
        posix_spawn_file_actions_destroy(&fa);
        return failed > 0 || ok == 0 ? 1 : 0;
}
