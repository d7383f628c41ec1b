/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The peer of the control round trip: a bare libzmq REQ/REP round trip between two processes.
 *
 *   bench-zmq-rtt [-n N] [-q REQ_BYTES] [-p REP_BYTES] [-g GAP_MS] ENDPOINT
 *
 * A forked child binds a REP socket on ENDPOINT (ipc://PATH) and answers every request with REP_BYTES; the
 * parent connects a REQ socket and times N round trips of REQ_BYTES after 1,000 untimed ones, GAP_MS apart
 * (default 0: back to back; pause.sh's gap lets both processes' threads fall asleep between round trips, as
 * they do between its pauses). The child dies with the parent (PR_SET_PDEATHSIG) and is reaped by it.
 * Output: one line of key=value pairs, times in microseconds. */

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zmq.h>

#include "bench-util.h"
#include "cleanup.h"

#define WARMUP_ROUNDS 1000
#define BYTES_MAX     (1L << 20)

static _noreturn_ void serve(const char *endpoint, long rep_bytes, int ready_fd)
{
        void *ctx = zmq_ctx_new();
        void *rep = ctx ? zmq_socket(ctx, ZMQ_REP) : NULL;
        char *in = malloc((size_t)BYTES_MAX), *out = calloc(1, (size_t)rep_bytes);

        if (!rep || !in || !out || zmq_bind(rep, endpoint) < 0) {
                fprintf(stderr, "bench-zmq-rtt: bind %s: %s\n", endpoint, zmq_strerror(zmq_errno()));
                _exit(1);
        }
        memset(out, 'r', (size_t)rep_bytes);
        (void)!write(ready_fd, "1", 1);
        (void)close(ready_fd);
        for (;;) {
                int n = zmq_recv(rep, in, (size_t)BYTES_MAX, 0);

                if (n < 0 && zmq_errno() == EINTR)
                        continue;
                if (n == 0)
                        break; /* an empty request ends the server */
                if (n < 0 || zmq_send(rep, out, (size_t)rep_bytes, 0) < 0) {
                        fprintf(stderr, "bench-zmq-rtt: server: %s\n", zmq_strerror(zmq_errno()));
                        _exit(1);
                }
        }
        (void)zmq_send(rep, "", 0, 0);
        _exit(0);
}

static int usage(void)
{
        fprintf(stderr, "usage: bench-zmq-rtt [-n N] [-q REQ_BYTES] [-p REP_BYTES] [-g GAP_MS] ENDPOINT\n");
        return 2;
}

static int round_trip(void *req, const char *msg, long req_bytes, char *in)
{
        if (zmq_send(req, msg, (size_t)req_bytes, 0) < 0 || zmq_recv(req, in, (size_t)BYTES_MAX, 0) < 0)
                return -zmq_errno();
        return 0;
}

int main(int argc, char **argv)
{
        long n = 10000, req_bytes = 64, rep_bytes = 64, gap_ms = 0;
        _cleanup_free_ double *t = NULL;
        _cleanup_free_ char *msg = NULL, *in = NULL;
        void *ctx, *req;
        int ready[2], opt, r = 0, status = 0;
        char c;
        pid_t child;

        while ((opt = getopt(argc, argv, "n:q:p:g:")) != -1) {
                long *target = opt == 'n'   ? &n
                               : opt == 'q' ? &req_bytes
                               : opt == 'p' ? &rep_bytes
                               : opt == 'g' ? &gap_ms
                                            : NULL;

                if (!target || bench_parse_long(optarg, opt == 'g' ? 0 : 1,
                                                opt == 'n'   ? 10000000L
                                                : opt == 'g' ? 10000
                                                             : BYTES_MAX,
                                                target) < 0)
                        return usage();
        }
        if (optind != argc - 1)
                return usage();
        t = calloc((size_t)n, sizeof(double));
        msg = calloc(1, (size_t)req_bytes);
        in = malloc((size_t)BYTES_MAX);
        if (!t || !msg || !in || pipe2(ready, O_CLOEXEC) < 0) {
                perror("bench-zmq-rtt");
                return 1;
        }
        memset(msg, 'q', (size_t)req_bytes);

        child = fork();
        if (child < 0) {
                perror("bench-zmq-rtt: fork");
                return 1;
        }
        if (child == 0) {
                (void)prctl(PR_SET_PDEATHSIG, SIGKILL);
                (void)close(ready[0]);
                serve(argv[optind], rep_bytes, ready[1]);
        }
        (void)close(ready[1]);
        if (read(ready[0], &c, 1) != 1) {
                (void)waitpid(child, NULL, 0);
                return 1;
        }
        (void)close(ready[0]);

        ctx = zmq_ctx_new();
        req = zmq_socket(ctx, ZMQ_REQ);
        /* a server that died must not hang us */
        (void)zmq_setsockopt(req, ZMQ_RCVTIMEO, &(int){10000}, sizeof(int));
        if (zmq_connect(req, argv[optind]) < 0)
                r = -zmq_errno();
        for (long i = 0; r >= 0 && i < WARMUP_ROUNDS; i++)
                r = round_trip(req, msg, req_bytes, in);
        for (long i = 0; r >= 0 && i < n; i++) {
                double t0 = bench_now_us();

                r = round_trip(req, msg, req_bytes, in);
                t[i] = bench_now_us() - t0;
                if (gap_ms > 0)
                        bench_sleep_ms(gap_ms);
        }
        if (r >= 0) {
                printf("op=zmq_rtt req_bytes=%ld rep_bytes=%ld gap_ms=%ld zmq_version=%d.%d.%d", req_bytes,
                       rep_bytes, gap_ms, ZMQ_VERSION_MAJOR, ZMQ_VERSION_MINOR, ZMQ_VERSION_PATCH);
                bench_print_stats("rtt_us", t, (size_t)n);
                printf("\n");
        } else
                fprintf(stderr, "bench-zmq-rtt: %s\n", zmq_strerror(-r));

        if (r >= 0) {
                (void)zmq_send(req, "", 0, 0);
                (void)zmq_recv(req, in, (size_t)BYTES_MAX, 0);
        } else
                (void)kill(child, SIGKILL);
        (void)zmq_setsockopt(req, ZMQ_LINGER, &(int){0}, sizeof(int));
        (void)zmq_close(req);
        (void)zmq_ctx_term(ctx);
        if (waitpid(child, &status, 0) == child && r < 0)
                fprintf(stderr, "bench-zmq-rtt: the server %s %d\n",
                        WIFSIGNALED(status) ? "died of signal" : "exited with",
                        WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
        return r < 0 ? 1 : 0;
}
