/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* A request flood from one tenant while another measures its `get` round trips (run as root; the tenants
 * are uids of the socket's group):
 *
 *   bench-flood -H CONTROL -g GID -a UID_A -b UID_B [-c CLIENTS] [-n N] [-w WINDOW] [-s SETTLE_MS]
 *               [-p PACE_US]
 *
 * Tenant B spawns an agent (as B), then measures N `get` round trips of it through libdescartes on a warm
 * connection after 200 untimed ones, one every PACE_US (default 2000: 500 requests per second, within the
 * default request_rate, as a tenant that is not flooding): first alone (the peer: B's own figure without the
 * flood), then while CLIENTS processes of tenant A (default 10) each keep WINDOW requests (`get` of an agent
 * A does not have) in flight on a DEALER of their own, as fast as the daemon answers them; B starts
 * SETTLE_MS after them. B's agent is killed at the end.
 *
 * Output: one line of key=value pairs, times in microseconds: alone_us_*, flood_us_*, and the flood's
 * replies per second (flood_rps), the share of them answered busy by the rate limit (flood_busy_pct). */

#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zmq.h>

#include "bench-util.h"
#include "cleanup.h"
#include "descartes-wire.h"

#define WARMUP_ROUNDS 200
#define B_AGENT       "bench-flood-b"

typedef struct FloodCount {
        unsigned long long replies, busy;
        double secs;
} FloodCount;

static volatile sig_atomic_t stop_flood;

static void on_term(int sig)
{
        stop_flood = 1;
}

static int become(uid_t uid, gid_t gid)
{
        if (setgroups(1, &gid) < 0 || setgid(gid) < 0 || setuid(uid) < 0)
                return -errno;
        return 0;
}

static int encode_get(const char *id, void **ret, size_t *ret_len)
{
        ProtoRequest req = {.op = PROTO_OP_GET};

        req.id = (char *)id;
        req.args.agent.agent = (char *)"no-such-agent";
        return proto_request_encode(&req, ret, ret_len);
}

/* A flooding client of tenant A: WINDOW requests in flight until SIGTERM; reports its counts on fd. */
static _noreturn_ void flooder(const char *endpoint, long window, int fd)
{
        void *ctx = zmq_ctx_new(), *s = ctx ? zmq_socket(ctx, ZMQ_DEALER) : NULL;
        FloodCount fc = {};
        unsigned long long sent = 0;
        double t0;
        int linger = 0;

        if (!s || zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger) < 0 || zmq_connect(s, endpoint) < 0)
                _exit(3);
        t0 = bench_now_us();
        while (!stop_flood) {
                zmq_msg_t m;

                while ((long)(sent - fc.replies) < window) {
                        _cleanup_free_ void *buf = NULL;
                        char id[64];
                        size_t len;

                        (void)snprintf(id, sizeof id, "flood-%d-%llu", (int)getpid(), sent);
                        if (encode_get(id, &buf, &len) < 0 || zmq_send(s, buf, len, 0) < 0)
                                _exit(4);
                        sent++;
                }
                zmq_msg_init(&m);
                if (zmq_msg_recv(&m, s, 0) >= 0) {
                        ProtoReply rep = {};
                        fc.replies++;
                        if (proto_reply_decode(zmq_msg_data(&m), zmq_msg_size(&m), PROTO_OP_GET, &rep,
                                               NULL) >= 0 &&
                            !rep.ok && rep.error_code == PROTO_ERROR_BUSY)
                                fc.busy++;
                        proto_reply_done(&rep);
                }
                zmq_msg_close(&m);
        }
        fc.secs = (bench_now_us() - t0) / 1e6;
        if (write(fd, &fc, sizeof fc) != (ssize_t)sizeof fc)
                _exit(5);
        zmq_close(s);
        zmq_ctx_term(ctx);
        _exit(0);
}

/* Tenant B: spawns its agent if asked, then n timed get round trips; writes the times on fd. */
static _noreturn_ void measurer(const char *endpoint, long n, long pace_us, bool spawn, int fd)
{
        DescartesClient *c = NULL;
        DescartesError e = {};
        double *t = calloc((size_t)n, sizeof(double));
        int r;

        if (!t || descartes_client_new(endpoint, &c) < 0)
                _exit(3);
        if (spawn) {
                char *argv[] = {(char *)"/bin/sleep", (char *)"infinity", NULL};
                ProtoSpawnArgs a = {.argv = argv, .n_argv = 2, .name = (char *)B_AGENT};
                r = wire_spawn(c, &a, NULL, &e);
                if (r < 0) {
                        fprintf(stderr, "bench-flood: spawn as tenant B: %s\n", e.message);
                        _exit(4);
                }
        }
        for (long i = 0; i < WARMUP_ROUNDS + n; i++) {
                double t0 = bench_now_us();

                r = wire_get(c, B_AGENT, NULL, &e);
                if (r < 0) {
                        fprintf(stderr, "bench-flood: get as tenant B: %s\n", e.message);
                        _exit(5);
                }
                if (i >= WARMUP_ROUNDS)
                        t[i - WARMUP_ROUNDS] = bench_now_us() - t0;
                while (bench_now_us() - t0 < (double)pace_us)
                        bench_sleep_ms(1);
        }
        if (!spawn && wire_kill(c, B_AGENT, NULL, &e) >= 0) /* the next round spawns it again */
                (void)wire_remove(c, B_AGENT, NULL, &e);
        if (write(fd, t, (size_t)n * sizeof(double)) != (ssize_t)((size_t)n * sizeof(double)))
                _exit(6);
        descartes_client_free(c);
        _exit(0);
}

static int read_full(int fd, void *buf, size_t n)
{
        for (size_t off = 0; off < n;) {
                ssize_t k = read(fd, (char *)buf + off, n - off);
                if (k <= 0)
                        return k < 0 ? -errno : -EPIPE;
                off += (size_t)k;
        }
        return 0;
}

/* Runs the measurer as B and collects its n times into t. */
static int measure(const char *endpoint, uid_t uid, gid_t gid, long n, long pace_us, bool spawn, double *t)
{
        int p[2], st, r;
        pid_t pid;

        if (pipe(p) < 0)
                return -errno;
        pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0) {
                close(p[0]);
                if (become(uid, gid) < 0)
                        _exit(2);
                measurer(endpoint, n, pace_us, spawn, p[1]);
        }
        close(p[1]);
        r = read_full(p[0], t, (size_t)n * sizeof(double));
        close(p[0]);
        if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
                return -ECHILD;
        return r;
}

static int usage(void)
{
        fprintf(stderr,
                "usage: bench-flood -H CONTROL -g GID -a UID_A -b UID_B [-c CLIENTS] [-n N] [-w WINDOW] "
                "[-s SETTLE_MS] [-p PACE_US]\n");
        return 2;
}

int main(int argc, char **argv)
{
        long gid = -1, ua = -1, ub = -1, clients = 10, n = 5000, window = 16, settle = 500, pace = 2000;
        const char *host = NULL;
        _cleanup_free_ double *alone = NULL, *flood = NULL;
        pid_t pids[64];
        int fds[64];
        FloodCount total = {};
        double rps = 0;
        int opt, r;

        while ((opt = getopt(argc, argv, "H:g:a:b:c:n:w:s:p:")) != -1) {
                long *target = NULL, min = 0, max = 1L << 31;

                switch (opt) {
                case 'H':
                        host = optarg;
                        continue;
                case 'g':
                        target = &gid;
                        break;
                case 'a':
                        target = &ua;
                        min = 1;
                        break;
                case 'b':
                        target = &ub;
                        min = 1;
                        break;
                case 'c':
                        target = &clients, min = 1, max = 64;
                        break;
                case 'n':
                        target = &n, min = 1, max = 10000000;
                        break;
                case 'w':
                        target = &window, min = 1, max = 1000;
                        break;
                case 's':
                        target = &settle, max = 60000;
                        break;
                case 'p':
                        target = &pace, max = 1000000;
                        break;
                default:
                        return usage();
                }
                if (bench_parse_long(optarg, min, max, target) < 0) {
                        fprintf(stderr, "bench-flood: -%c: not a number in range: %s\n", opt, optarg);
                        return 2;
                }
        }
        if (!host || gid < 0 || ua < 0 || ub < 0 || optind != argc)
                return usage();
        alone = calloc((size_t)n, sizeof(double));
        flood = calloc((size_t)n, sizeof(double));
        if (!alone || !flood)
                return 1;

        /* B alone: the peer figure */
        r = measure(host, (uid_t)ub, (gid_t)gid, n, pace, true, alone);
        if (r < 0) {
                fprintf(stderr, "bench-flood: tenant B alone: %s\n", strerror(-r));
                return 1;
        }

        (void)signal(SIGTERM, on_term);
        for (long i = 0; i < clients; i++) {
                int p[2];

                if (pipe(p) < 0)
                        return 1;
                pids[i] = fork();
                if (pids[i] < 0)
                        return 1;
                if (pids[i] == 0) {
                        close(p[0]);
                        if (become((uid_t)ua, (gid_t)gid) < 0)
                                _exit(2);
                        flooder(host, window, p[1]);
                }
                close(p[1]);
                fds[i] = p[0];
        }
        bench_sleep_ms(settle);
        r = measure(host, (uid_t)ub, (gid_t)gid, n, pace, false, flood);
        for (long i = 0; i < clients; i++)
                (void)kill(pids[i], SIGTERM);
        for (long i = 0; i < clients; i++) {
                FloodCount fc = {};
                int st;

                if (read_full(fds[i], &fc, sizeof fc) == 0) {
                        total.replies += fc.replies;
                        total.busy += fc.busy;
                        if (fc.secs > 0)
                                rps += (double)fc.replies / fc.secs;
                }
                close(fds[i]);
                (void)waitpid(pids[i], &st, 0);
        }
        if (r < 0) {
                fprintf(stderr, "bench-flood: tenant B under the flood: %s\n", strerror(-r));
                return 1;
        }
        printf("clients=%ld window=%ld", clients, window);
        bench_print_stats("alone_us", alone, (size_t)n);
        bench_print_stats("flood_us", flood, (size_t)n);
        printf(" flood_rps=%.0f flood_busy_pct=%.1f\n", rps,
               total.replies ? 100.0 * (double)total.busy / (double)total.replies : 0.0);
        return 0;
}
