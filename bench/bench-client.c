/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* descartes' side of the benchmarks, through libdescartes on one warm connection (no CLI process start).
 *
 *   bench-client -H CONTROL get [-n N] AGENT
 *   bench-client ... spawn [-n N] [-j JOBS] [-t SECS] [-T] -- CMD [ARGS...]
 *   bench-client ... pause [-n N] [-g GAP_MS] [-p PROCS] AGENT
 *   bench-client ... hold -n N -- CMD [ARGS...]
 *   bench-client ... purge
 *   bench-client ... exec [-n N] AGENT -- CMD [ARGS...]
 *
 * get:   N timed get round trips after 1,000 untimed ones; also the encoded size of the request and reply,
 *        for the bare ZeroMQ peer (bench-zmq-rtt) to send messages of the same size.
 * spawn: start CMD and wait for its exit event, N times (or for SECS seconds), JOBS agents in flight; the
 *        time from the spawn call to the exit event, the spawn call alone, and the daemon's spawn_us.
 *        -T: also one line per agent on stderr, "spawn-client ID send=NS reply=NS end=NS" (CLOCK_MONOTONIC:
 *        the call made, its reply back, the end event read), which bench/trace-spawn.sh joins with the
 *        daemon's spawn-trace debug lines.
 * pause: waits until the agent's cgroup tree holds PROCS processes, then N times pause (its reply means
 *        frozen) and resume, GAP_MS apart.
 * hold:  spawns N agents that keep running and reports how long that took.
 * purge: removes every ended agent (keeps the daemon's table small between runs).
 * exec:  N timed exec round trips of CMD in AGENT after 20 untimed ones (the command's whole life: the
 *        shim forks it into the agent's sandbox, it runs and ends, its output comes back).
 *
 * Output: one line of key=value pairs, times in microseconds. */

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench-util.h"
#include "cleanup.h"
#include "descartes-wire.h"

#define WARMUP_ROUNDS    1000
#define N_MAX            10000000L
#define JOBS_MAX         64
#define SPAWN_ERRORS_MAX 100

typedef struct Ctx {
        DescartesClient *client;
        DescartesError err;
} Ctx;

static int fail(Ctx *x, const char *what, int r)
{
        fprintf(stderr, "bench-client: %s: %s\n", what, x->err.message[0] ? x->err.message : strerror(-r));
        return r;
}

static int encoded_sizes(const ProtoAgentInfo *info, size_t *ret_req, size_t *ret_rep)
{
        char id[64];
        ProtoRequest req = {.op = PROTO_OP_GET};
        ProtoReply rep = {.op = PROTO_OP_GET, .ok = true};
        _cleanup_free_ void *a = NULL, *b = NULL;
        size_t la, lb;
        int r;

        /* the same shape as the library's ids: PID-NONCE-COUNTER */
        (void)snprintf(id, sizeof id, "%d-%08x-%d", (int)getpid(), 0x12345678u, WARMUP_ROUNDS + 1);
        req.id = id;
        req.args.agent.agent = info->id;
        rep.id = id;
        rep.result.agent.agent = *info;
        r = proto_request_encode(&req, &a, &la);
        if (r < 0)
                return r;
        r = proto_reply_encode(&rep, &b, &lb);
        if (r < 0)
                return r;
        *ret_req = la;
        *ret_rep = lb;
        return 0;
}

static int cmd_get(Ctx *x, long n, const char *agent)
{
        _cleanup_free_ double *t = calloc((size_t)n, sizeof(double));
        ProtoAgentInfo info = {};
        size_t req_bytes = 0, rep_bytes = 0;
        int r;

        if (!t)
                return -ENOMEM;
        for (long i = 0; i < WARMUP_ROUNDS; i++) {
                r = wire_get(x->client, agent, NULL, &x->err);
                if (r < 0)
                        return fail(x, "get", r);
        }
        for (long i = 0; i < n; i++) {
                double t0 = bench_now_us();

                r = wire_get(x->client, agent, NULL, &x->err);
                if (r < 0)
                        return fail(x, "get", r);
                t[i] = bench_now_us() - t0;
        }
        r = wire_get(x->client, agent, &info, &x->err);
        if (r < 0)
                return fail(x, "get", r);
        r = encoded_sizes(&info, &req_bytes, &rep_bytes);
        proto_agent_info_done(&info);
        if (r < 0)
                return r;
        printf("op=get req_bytes=%zu rep_bytes=%zu", req_bytes, rep_bytes);
        bench_print_stats("get_us", t, (size_t)n);
        printf("\n");
        return 0;
}

typedef struct Flight {
        char *id;
        double t0, t_reply;
} Flight;

static bool event_is_end(const ProtoEvent *ev)
{
        return ev->kind == PROTO_EVENT_EXITED ||
               (ev->has_state && descartes_state_is_final((DescartesState)ev->state));
}

static int cmd_spawn(Ctx *x, long n, long jobs, long secs, bool trace, char **argv, size_t n_argv)
{
        ProtoSpawnArgs args = {.argv = argv, .n_argv = n_argv};
        DescartesSubscription *sub = NULL;
        Flight flight[JOBS_MAX] = {};
        size_t cap = (size_t)(n > 0 ? n : 1 << 16), n_done = 0, n_started = 0;
        _cleanup_free_ double *lat = calloc(cap, sizeof(double)), *call = calloc(cap, sizeof(double)),
                              *daemon_us = calloc(cap, sizeof(double));
        size_t n_daemon = 0, n_call = 0;
        long inflight = 0, failed = 0, spawn_errors = 0;
        double start, deadline;
        int r;

        if (!lat || !call || !daemon_us)
                return -ENOMEM;
        r = descartes_subscribe(x->client, NULL, &sub, &x->err);
        if (r < 0)
                return fail(x, "subscribe", r);
        /* a SUB misses what is published before its subscription reaches the daemon (slow joiner) */
        bench_sleep_ms(200);
        start = bench_now_us();
        deadline = secs > 0 ? start + (double)secs * 1e6 : 0;

        for (;;) {
                bool more = secs > 0 ? bench_now_us() < deadline : (long)n_started < n;

                while (more && inflight < jobs && n_started < cap) {
                        ProtoAgentInfo info = {};
                        double t0 = bench_now_us();
                        size_t slot;

                        r = wire_spawn(x->client, &args, &info, &x->err);
                        if (r == -ENOEXEC && spawn_errors < SPAWN_ERRORS_MAX) {
                                /* the daemon's spawn_failed: counted and reported, the run goes on */
                                if (spawn_errors++ == 0)
                                        (void)fail(x, "spawn (counted, continuing)", r);
                                n_started++;
                                more = secs > 0 ? bench_now_us() < deadline : (long)n_started < n;
                                continue;
                        }
                        if (r < 0) {
                                descartes_subscription_free(sub);
                                return fail(x, "spawn", r);
                        }
                        double t_reply = bench_now_us();
                        call[n_call++] = t_reply - t0;
                        if (info.has_spawn_us)
                                daemon_us[n_daemon++] = (double)info.spawn_us;
                        for (slot = 0; flight[slot].id; slot++)
                                ;
                        flight[slot].id = TAKE_PTR(info.id);
                        flight[slot].t0 = t0;
                        flight[slot].t_reply = t_reply;
                        proto_agent_info_done(&info);
                        inflight++;
                        n_started++;
                        more = secs > 0 ? bench_now_us() < deadline : (long)n_started < n;
                }
                if (inflight == 0)
                        break;

                ProtoEvent ev = {};
                r = wire_subscription_next(sub, 30 * UINT64_C(1000000), &ev, &x->err);
                if (r <= 0) {
                        descartes_subscription_free(sub);
                        return r < 0 ? fail(x, "events", r)
                                     : fail(x, "no exit event within 30 s", -ETIMEDOUT);
                }
                if (ev.agent && event_is_end(&ev))
                        for (size_t s = 0; s < (size_t)jobs; s++) {
                                if (!flight[s].id || strcmp(flight[s].id, ev.agent) != 0)
                                        continue;
                                double t_end = bench_now_us();
                                lat[n_done++] = t_end - flight[s].t0;
                                if (trace)
                                        fprintf(stderr, "spawn-client %s send=%.0f reply=%.0f end=%.0f\n",
                                                flight[s].id, flight[s].t0 * 1e3, flight[s].t_reply * 1e3,
                                                t_end * 1e3);
                                if (ev.has_state && ev.state == PROTO_STATE_FAILED)
                                        failed++;
                                free(flight[s].id);
                                flight[s].id = NULL;
                                inflight--;
                                break;
                        }
                proto_event_done(&ev);
        }
        double elapsed_s = (bench_now_us() - start) / 1e6;
        descartes_subscription_free(sub);

        printf("op=spawn jobs=%ld done=%zu failed=%ld spawn_errors=%ld secs=%.2f per_s=%.1f", jobs, n_done,
               failed, spawn_errors, elapsed_s, (double)n_done / elapsed_s);
        bench_print_stats("spawn_exit_us", lat, n_done);
        bench_print_stats("spawn_call_us", call, n_call);
        bench_print_stats("daemon_spawn_us", daemon_us, n_daemon);
        printf("\n");
        return 0;
}

static int cmd_pause(Ctx *x, long n, long gap_ms, long procs, const char *agent)
{
        _cleanup_free_ double *tp = calloc((size_t)n, sizeof(double)),
                              *tr = calloc((size_t)n, sizeof(double));
        ProtoAgentInfo info = {};
        long have = 0;
        int r;

        if (!tp || !tr)
                return -ENOMEM;
        r = wire_get(x->client, agent, &info, &x->err);
        if (r < 0)
                return fail(x, "get", r);
        for (int i = 0; info.cgroup && i < 6000; i++) {
                have = bench_cgroup_count_procs(info.cgroup);
                if (have >= procs)
                        break;
                bench_sleep_ms(10);
        }
        proto_agent_info_done(&info);
        if (have < procs) {
                fprintf(stderr, "bench-client: the agent holds %ld processes, not %ld, after 60 s\n", have,
                        procs);
                return -ETIMEDOUT;
        }
        for (long i = 0; i < n; i++) {
                double t0 = bench_now_us();

                r = wire_pause(x->client, agent, NULL, &x->err);
                if (r < 0)
                        return fail(x, "pause", r);
                tp[i] = bench_now_us() - t0;
                bench_sleep_ms(gap_ms);
                t0 = bench_now_us();
                r = wire_resume(x->client, agent, NULL, &x->err);
                if (r < 0)
                        return fail(x, "resume", r);
                tr[i] = bench_now_us() - t0;
                bench_sleep_ms(gap_ms);
        }
        printf("op=pause procs=%ld gap_ms=%ld", have, gap_ms);
        bench_print_stats("pause_us", tp, (size_t)n);
        bench_print_stats("resume_us", tr, (size_t)n);
        printf("\n");
        return 0;
}

static int cmd_hold(Ctx *x, long n, char **argv, size_t n_argv)
{
        ProtoSpawnArgs args = {.argv = argv, .n_argv = n_argv};
        _cleanup_free_ double *call = calloc((size_t)n, sizeof(double));
        double start = bench_now_us();
        int r;

        if (!call)
                return -ENOMEM;
        for (long i = 0; i < n; i++) {
                double t0 = bench_now_us();

                r = wire_spawn(x->client, &args, NULL, &x->err);
                if (r < 0)
                        return fail(x, "spawn", r);
                call[i] = bench_now_us() - t0;
        }
        printf("op=hold agents=%ld secs=%.2f", n, (bench_now_us() - start) / 1e6);
        bench_print_stats("spawn_call_us", call, (size_t)n);
        printf("\n");
        return 0;
}

static int cmd_purge(Ctx *x)
{
        ProtoListArgs args = {.all = true};
        ProtoListResult l = {};
        long removed = 0;
        int r;

        /* a list reply is bounded, so go round until nothing ended is left */
        for (;;) {
                long round = 0;

                r = wire_list(x->client, &args, &l, &x->err);
                if (r < 0)
                        return fail(x, "list", r);
                for (size_t i = 0; i < l.n_agents; i++) {
                        if (!descartes_state_is_final((DescartesState)l.agents[i].state))
                                continue;
                        r = wire_remove(x->client, l.agents[i].id, NULL, &x->err);
                        if (r < 0 && r != -ESRCH) {
                                proto_list_result_done(&l);
                                return fail(x, "remove", r);
                        }
                        round++;
                }
                proto_list_result_done(&l);
                removed += round;
                if (round == 0)
                        break;
        }
        printf("op=purge removed=%ld\n", removed);
        return 0;
}

static int cmd_exec(Ctx *x, long n, const char *agent, char **argv, size_t n_argv)
{
        _cleanup_free_ double *t = calloc((size_t)n, sizeof(double));
        ProtoExecArgs a = {.agent = (char *)agent, .argv = argv, .n_argv = n_argv};
        int r;

        if (!t)
                return -ENOMEM;
        for (long i = -20; i < n; i++) {
                ProtoExecResult res = {};
                double t0 = bench_now_us();

                r = wire_exec(x->client, &a, &res, &x->err);
                if (r < 0)
                        return fail(x, "exec", r);
                if (i >= 0)
                        t[i] = bench_now_us() - t0;
                if (!res.has_exit_code || res.exit_code != 0) {
                        proto_exec_result_done(&res);
                        fprintf(stderr, "bench-client: exec: %s did not exit 0\n", argv[0]);
                        return -EIO;
                }
                proto_exec_result_done(&res);
        }
        printf("op=exec");
        bench_print_stats("exec_us", t, (size_t)n);
        printf("\n");
        return 0;
}

static int usage(void)
{
        fprintf(stderr, "usage: bench-client -H CONTROL get [-n N] AGENT\n"
                        "       bench-client ... spawn [-n N] [-j JOBS] [-t SECS] [-T] -- CMD [ARGS...]\n"
                        "       bench-client ... pause [-n N] [-g GAP_MS] [-p PROCS] AGENT\n"
                        "       bench-client ... hold -n N -- CMD [ARGS...]\n"
                        "       bench-client ... purge\n"
                        "       bench-client ... exec [-n N] AGENT -- CMD [ARGS...]\n");
        return 2;
}

int main(int argc, char **argv)
{
        static const struct option global[] = {
                {"host", required_argument, NULL, 'H'},
                {},
        };
        const char *host = NULL, *verb;
        long n = 0, jobs = 1, secs = 0, gap_ms = 20, procs = 1;
        bool trace = false;
        Ctx x = {};
        int opt, r;

        while ((opt = getopt_long(argc, argv, "+H:", global, NULL)) != -1)
                switch (opt) {
                case 'H':
                        host = optarg;
                        break;
                default:
                        return usage();
                }
        if (optind >= argc)
                return usage();
        verb = argv[optind];
        optind++;
        while ((opt = getopt(argc, argv, "+n:j:t:g:p:T")) != -1) {
                long *target;
                long max = N_MAX;

                switch (opt) {
                case 'T':
                        trace = true;
                        continue;
                case 'n':
                        target = &n;
                        break;
                case 'j':
                        target = &jobs;
                        max = JOBS_MAX;
                        break;
                case 't':
                        target = &secs;
                        max = 3600;
                        break;
                case 'g':
                        target = &gap_ms;
                        max = 10000;
                        break;
                case 'p':
                        target = &procs;
                        break;
                default:
                        return usage();
                }
                if (bench_parse_long(optarg, opt == 'g' ? 0 : 1, max, target) < 0) {
                        fprintf(stderr, "bench-client: -%c: not a number in range: %s\n", opt, optarg);
                        return 2;
                }
        }

        r = descartes_client_new(host, &x.client);
        if (r < 0) {
                fprintf(stderr, "bench-client: %s\n", strerror(-r));
                descartes_client_free(x.client);
                return 1;
        }

        if (strcmp(verb, "get") == 0 && optind == argc - 1)
                r = cmd_get(&x, n ?: 10000, argv[optind]);
        else if (strcmp(verb, "spawn") == 0 && optind < argc)
                r = cmd_spawn(&x, n ?: (secs ? 0 : 100), jobs, secs, trace, argv + optind,
                              (size_t)(argc - optind));
        else if (strcmp(verb, "pause") == 0 && optind == argc - 1)
                r = cmd_pause(&x, n ?: 50, gap_ms, procs, argv[optind]);
        else if (strcmp(verb, "hold") == 0 && n > 0 && optind < argc)
                r = cmd_hold(&x, n, argv + optind, (size_t)(argc - optind));
        else if (strcmp(verb, "exec") == 0 && optind < argc - 1)
                r = cmd_exec(&x, n ?: 500, argv[optind], argv + optind + 1, (size_t)(argc - optind - 1));
        else if (strcmp(verb, "purge") == 0 && optind == argc)
                r = cmd_purge(&x);
        else
                r = usage();
        descartes_client_free(x.client);
        return r == 2 ? 2 : r < 0 ? 1 : 0;
}
