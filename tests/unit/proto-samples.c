/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "proto-samples.h"
#include "string-util.h"

static char *xstrdup(const char *s)
{
        char *d = strdup(s);
        if (!d)
                abort();
        return d;
}

static char **xstrv(size_t n, const char *const *l)
{
        char **v = calloc(n + 1, sizeof(char *));
        if (!v)
                abort();
        for (size_t i = 0; i < n; i++)
                v[i] = xstrdup(l[i]);
        return v;
}

static void xmap_add(ProtoStrMap *m, const char *k, const char *v)
{
        if (proto_str_map_add(m, k, v) < 0)
                abort();
}

static ProtoValue xvalue(const void *p, size_t n)
{
        ProtoValue v = {};
        if (proto_value_from_msgpack(p, n, &v) < 0)
                abort();
        return v;
}

static ProtoBytes xbytes(const void *p, size_t n)
{
        ProtoBytes b = {.data = malloc(n + 1), .size = n};
        if (!b.data)
                abort();
        memcpy(b.data, p, n);
        return b;
}

static const ProtoLimits full_limits = {
        .has_cpu = true,
        .cpu_millicores = 1500,
        .has_memory = true,
        .memory = UINT64_C(2) << 30,
        .has_swap = true,
        .swap = 0,
        .has_pids = true,
        .pids = 256,
};

int sample_agent_info(bool full, ProtoAgentInfo *ret)
{
        static const char *const argv[] = {"claude", "-p", "fix the build", ""};
        ProtoAgentInfo i = {
                .id = xstrdup("6f1c1b7e-2c4a-4f7e-9a51-0d6b2f0e8c11"),
                .state = full ? PROTO_STATE_EXITED : PROTO_STATE_STARTING,
                .owner_uid = full ? 4294967294u : 0,
                .argv = xstrv(full ? 4 : 1, argv),
                .n_argv = full ? 4 : 1,
                .created_ns = UINT64_C(1763900000123456789),
        };

        if (full) {
                i.name = xstrdup("fixer-1");
                i.has_reason = true;
                i.reason = PROTO_REASON_SIGNALED;
                i.has_exit_code = true;
                i.exit_code = -1;
                i.has_signal = true;
                i.signal = SIGKILL;
                xmap_add(&i.labels, "team", "infra");
                xmap_add(&i.labels, "ticket", "");
                i.has_started_ns = true;
                i.started_ns = i.created_ns + 1000;
                i.has_ended_ns = true;
                i.ended_ns = UINT64_MAX;
                i.has_spawn_us = true;
                i.spawn_us = 4321;
                i.has_pid = true;
                i.pid = 424242;
                i.cgroup = xstrdup("/sys/fs/cgroup/descartes.slice/agent-6f1c.scope");
                i.limits = full_limits;
                i.has_usage = true;
                i.usage = (ProtoUsage){.cpu_usec = 12,
                                       .memory_current = 1 << 20,
                                       .memory_peak = 3 << 20,
                                       .pids_current = 7};
                i.has_uid = true;
                i.uid = 65537;
                i.has_gid = true;
                i.gid = 65537;
                i.tty = true;
                i.has_health_check = true;
                i.health_check = (ProtoHealthCheck){.cmd = xstrv(2, (const char *const[]){"test", "-f"}),
                                                    .n_cmd = 2,
                                                    .has_interval_ms = true,
                                                    .interval_ms = 200,
                                                    .has_timeout_ms = true,
                                                    .timeout_ms = 5000,
                                                    .has_retries = true,
                                                    .retries = 3,
                                                    .has_idle_timeout_ms = true,
                                                    .idle_timeout_ms = 60000,
                                                    .has_on_unhealthy = true,
                                                    .on_unhealthy = PROTO_ON_UNHEALTHY_STOP};
                i.has_health = true;
                i.health = PROTO_HEALTH_UNHEALTHY;
                i.has_health_last = true;
                i.health_last = (ProtoHealthLast){.ts_ns = 7,
                                                  .has_exit_code = true,
                                                  .exit_code = 1,
                                                  .output = xbytes("no\n", 3),
                                                  .failures = 3,
                                                  .reason = xstrdup("the check failed 3 times in a row")};
        }
        *ret = i;
        return 0;
}

int sample_event(ProtoEventKind kind, unsigned variant, ProtoEvent *ret)
{
        /* {"bytes": 512, "seq_first": 3} */
        static const uint8_t data[] = {0x82, 0xa5, 'b', 'y', 't', 'e', 's', 0xcd, 0x02, 0x00, 0xa9,
                                       's',  'e',  'q', '_', 'f', 'i', 'r', 's',  't',  0x03};
        ProtoEvent e = {.seq = 1, .ts_ns = 0, .kind = kind};

        if (kind < 0 || kind >= _PROTO_EVENT_KIND_MAX || variant > 1)
                return -ENOENT;
        if (variant == 1) {
                e.seq = UINT64_MAX;
                e.ts_ns = UINT64_C(1763900000123456789);
                e.agent = xstrdup("6f1c1b7e-2c4a-4f7e-9a51-0d6b2f0e8c11");
                e.has_state = true;
                e.state = PROTO_STATE_EXITED;
                e.has_reason = true;
                e.reason = PROTO_REASON_OOM_KILLED;
                e.data = xvalue(data, sizeof(data));
        }
        *ret = e;
        return 0;
}

int sample_request(ProtoOp op, unsigned variant, ProtoRequest *ret)
{
        static const char *const argv[] = {"/usr/bin/python3", "-c", "print('hi')", ""};
        static const char *const agents[] = {"fixer-1", "6f1c1b7e-2c4a-4f7e-9a51-0d6b2f0e8c11"};
        /* {"path": "/tmp/x", "depth": [1, -2, 3.5, null, true]} */
        static const uint8_t params[] = {0x82, 0xa4, 'p',  'a',  't',  'h',  0xa6, '/',  't',  'm',  'p',
                                         '/',  'x',  0xa5, 'd',  'e',  'p',  't',  'h',  0x95, 0x01, 0xfe,
                                         0xcb, 0x40, 0x0c, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xc0, 0xc3};
        ProtoRequest r = {.v = PROTO_VERSION, .op = op};
        bool full = variant == 1;

        if (op < 0 || op >= _PROTO_OP_MAX)
                return -ENOENT;
        if (variant > 1 && op != PROTO_OP_BATCH && op != PROTO_OP_OUTPUT && op != PROTO_OP_SIGNAL)
                return -ENOENT;
        r.id = xstrdup(full ? "0123456789012345678901234567890123456789012345678901234567890123" : "r1");

        switch (op) {
        case PROTO_OP_HEALTH:
        case PROTO_OP_STATS:
        case PROTO_OP_TENANTS:
        case PROTO_OP_UNSUBSCRIBE:
        case PROTO_OP_DETACH:
        case PROTO_OP_METRICS:
                break;
        case PROTO_OP_ATTACH:
                r.args.attach.agent = xstrdup(full ? "alice/fixer-1" : "a");
                if (full) {
                        r.args.attach.read_only = true;
                        r.args.attach.has_since_seq = true;
                        r.args.attach.since_seq = UINT64_MAX;
                        r.args.attach.has_rows = r.args.attach.has_cols = true;
                        r.args.attach.rows = PROTO_TTY_SIZE_MAX;
                        r.args.attach.cols = 1;
                        r.args.attach.has_exec_id = true;
                        r.args.attach.exec_id = UINT64_MAX;
                }
                break;
        case PROTO_OP_ATTACH_INPUT:
                r.args.attach_input.data = full ? xbytes("\x03\x00ls\r", 5) : xbytes("x", 1);
                break;
        case PROTO_OP_ATTACH_RESIZE:
                r.args.attach_resize.rows = full ? PROTO_TTY_SIZE_MAX : 1;
                r.args.attach_resize.cols = full ? 1 : PROTO_TTY_SIZE_MAX;
                break;
        case PROTO_OP_SUBSCRIBE:
                if (full) {
                        r.args.subscribe.has_since_seq = true;
                        r.args.subscribe.since_seq = UINT64_MAX;
                        r.args.subscribe.agent = xstrdup("6f1c1b7e-2c4a-4f7e-9a51-0d6b2f0e8c11");
                }
                break;
        case PROTO_OP_LIST:
                if (full) {
                        r.args.list.has_state = true;
                        r.args.list.state = PROTO_STATE_PAUSED;
                        xmap_add(&r.args.list.labels, "team", "infra");
                        r.args.list.has_limit = true;
                        r.args.list.limit = PROTO_AGENTS_MAX;
                        r.args.list.all = true;
                }
                break;
        case PROTO_OP_GET:
        case PROTO_OP_PAUSE:
        case PROTO_OP_RESUME:
        case PROTO_OP_KILL:
        case PROTO_OP_REMOVE:
                r.args.agent.agent = xstrdup(full ? "6f1c1b7e-2c4a-4f7e-9a51-0d6b2f0e8c11" : "a");
                break;
        case PROTO_OP_SPAWN: {
                ProtoSpawnArgs *s = &r.args.spawn;

                s->argv = xstrv(full ? 4 : 1, argv);
                s->n_argv = full ? 4 : 1;
                if (full) {
                        xmap_add(&s->env, "PATH", "/usr/bin:/bin");
                        xmap_add(&s->env, "EMPTY", "");
                        s->cwd = xstrdup("/work");
                        s->workspace = xstrdup("/srv/ws/fixer-1");
                        s->name = xstrdup("fixer-1");
                        xmap_add(&s->labels, "team", "infra");
                        s->limits = full_limits;
                        s->has_timeout_ms = true;
                        s->timeout_ms = 3600000;
                        s->has_net = true;
                        s->net = PROTO_NET_HOST;
                        s->policy = xstrdup("default");
                        s->user = xstrdup("1000");
                        s->open_stdin = true;
                }
                break;
        }
        case PROTO_OP_STOP:
                r.args.stop.agent = xstrdup("fixer-1");
                if (full) {
                        r.args.stop.has_grace_ms = true;
                        r.args.stop.grace_ms = 0;
                }
                break;
        case PROTO_OP_SIGNAL:
                r.args.signal.agent = xstrdup("fixer-1");
                r.args.signal.signal = variant == 0 ? SIGTERM : variant == 1 ? SIGUSR1 : SIGRTMIN + 1;
                break;
        case PROTO_OP_STDIN:
                r.args.input.agent = xstrdup("fixer-1");
                if (full) {
                        r.args.input.data = xbytes("line\0with nul\n", 14);
                        r.args.input.close = true;
                }
                break;
        case PROTO_OP_OUTPUT: {
                ProtoOutputArgs *o = &r.args.output;

                o->agent = xstrdup("fixer-1");
                if (variant == 1) {
                        o->has_stream = true;
                        o->stream = PROTO_STREAM_STDERR;
                        o->has_mode = true;
                        o->mode = PROTO_OUTPUT_LINES;
                        o->has_offset = true;
                        o->offset = 10;
                        o->has_limit = true;
                        o->limit = 100;
                        o->grep = xstrdup("^error: .*$");
                        o->has_since_ns = true;
                        o->since_ns = 5;
                        o->cursor = xstrdup("c:42:17");
                } else if (variant == 2) {
                        o->has_mode = true;
                        o->mode = PROTO_OUTPUT_RAW;
                        o->has_tail = true;
                        o->tail = PROTO_OUTPUT_DATA_MAX;
                } else if (variant > 2) {
                        proto_request_done(&r);
                        return -ENOENT;
                }
                break;
        }
        case PROTO_OP_ACTION:
                r.args.action.agent = xstrdup("fixer-1");
                r.args.action.name = xstrdup("checkpoint");
                if (full) {
                        r.args.action.params = xvalue(params, sizeof(params));
                        r.args.action.has_timeout_ms = true;
                        r.args.action.timeout_ms = 5000;
                }
                break;
        case PROTO_OP_BATCH: {
                ProtoBatchArgs *b = &r.args.batch;

                switch (variant) {
                case 0:
                        b->op = PROTO_OP_PAUSE;
                        b->agents = xstrv(1, agents);
                        b->n_agents = 1;
                        break;
                case 1:
                        b->op = PROTO_OP_ACTION;
                        b->has_selector = true;
                        b->selector.has_state = true;
                        b->selector.state = PROTO_STATE_RUNNING;
                        xmap_add(&b->selector.labels, "team", "infra");
                        b->selector.name_glob = xstrdup("fixer-*");
                        b->fail_fast = true;
                        b->args.action.name = xstrdup("checkpoint");
                        b->args.action.params = xvalue(params, sizeof(params));
                        b->args.action.has_timeout_ms = true;
                        b->args.action.timeout_ms = 1;
                        break;
                case 2:
                        b->op = PROTO_OP_STOP;
                        b->agents = xstrv(2, agents);
                        b->n_agents = 2;
                        b->args.stop.has_grace_ms = true;
                        b->args.stop.grace_ms = 10000;
                        break;
                case 3:
                        b->op = PROTO_OP_SIGNAL;
                        b->has_selector = true;
                        b->args.signal.signal = SIGHUP;
                        break;
                default:
                        proto_request_done(&r);
                        return -ENOENT;
                }
                break;
        }
        case PROTO_OP_EVENTS:
                if (full) {
                        r.args.events.since_seq = 99;
                        r.args.events.has_limit = true;
                        r.args.events.limit = PROTO_EVENTS_MAX;
                }
                break;
        case PROTO_OP_SHUTDOWN:
                r.args.shutdown.stop_agents = full;
                break;
        case PROTO_OP_WAIT:
                r.args.wait.agent = xstrdup(full ? "6f1c1b7e-2c4a-4f7e-9a51-0d6b2f0e8c11" : "a");
                if (full) {
                        r.args.wait.has_timeout_ms = true;
                        r.args.wait.timeout_ms = PROTO_DURATION_MS_MAX;
                }
                break;
        case PROTO_OP_EXEC:
                r.args.exec.agent = xstrdup(full ? "6f1c1b7e-2c4a-4f7e-9a51-0d6b2f0e8c11" : "a");
                if (full) {
                        r.args.exec.argv = xstrv(3, (const char *const[]){"sh", "-c", "make test"});
                        r.args.exec.n_argv = 3;
                        r.args.exec.input = xbytes("input\0bytes\n", 12);
                        r.args.exec.has_timeout_ms = true;
                        r.args.exec.timeout_ms = PROTO_EXEC_TIMEOUT_MAX_MS;
                } else {
                        r.args.exec.argv = xstrv(1, (const char *const[]){"id"});
                        r.args.exec.n_argv = 1;
                }
                break;
        default:
                abort();
        }
        if (op == PROTO_OP_SIGNAL && variant > 2) {
                proto_request_done(&r);
                return -ENOENT;
        }
        *ret = r;
        return 0;
}

int sample_reply(ProtoOp op, unsigned variant, ProtoReply *ret)
{
        static const char *const controllers[] = {"cpu", "memory", "pids"};
        /* ["ok", {"n": 1}] */
        static const uint8_t result[] = {0x92, 0xa2, 'o', 'k', 0x81, 0xa1, 'n', 0x01};
        bool full = variant == 1;
        ProtoReply r;

        if (op < 0 || op >= _PROTO_OP_MAX || variant > 3 || (variant == 3 && op != PROTO_OP_OUTPUT))
                return -ENOENT;
        if (variant == 2) {
                if (proto_reply_init_error(&r, "r1", op, PROTO_ERROR_NOT_FOUND, "no agent \"%s\"", "x") < 0)
                        abort();
                *ret = r;
                return 0;
        }
        if (proto_reply_init_ok(
                    &r, full ? "0123456789012345678901234567890123456789012345678901234567890123" : "", op) <
            0)
                abort();

        switch (op) {
        case PROTO_OP_HEALTH: {
                ProtoHealthResult *h = &r.result.health;

                h->version = xstrdup(full ? "0.1.0" : "");
                h->protocol = PROTO_VERSION;
                h->cgroup_root = xstrdup(full ? "/sys/fs/cgroup/descartes" : "");
                if (full) {
                        h->uptime_s = 86400;
                        for (ProtoState s = 0; s < _PROTO_STATE_MAX; s++)
                                h->agents[s] = (uint64_t)s * 3;
                        h->host = (ProtoHostInfo){.cpus = 2,
                                                  .mem_total = UINT64_C(8) << 30,
                                                  .mem_available = UINT64_C(5) << 30,
                                                  .load1 = 0.25,
                                                  .load5 = 1.5,
                                                  .load15 = 0};
                        h->cgroup_controllers = xstrv(3, controllers);
                        h->n_cgroup_controllers = 3;
                }
                break;
        }
        case PROTO_OP_LIST:
                if (full) {
                        r.result.list.agents = calloc(2, sizeof(ProtoAgentInfo));
                        if (!r.result.list.agents)
                                abort();
                        (void)sample_agent_info(true, &r.result.list.agents[0]);
                        (void)sample_agent_info(false, &r.result.list.agents[1]);
                        r.result.list.n_agents = 2;
                }
                break;
        case PROTO_OP_GET:
        case PROTO_OP_SPAWN:
        case PROTO_OP_PAUSE:
        case PROTO_OP_RESUME:
        case PROTO_OP_STOP:
        case PROTO_OP_KILL:
        case PROTO_OP_SIGNAL:
        case PROTO_OP_REMOVE:
        case PROTO_OP_WAIT:
                (void)sample_agent_info(full, &r.result.agent.agent);
                break;
        case PROTO_OP_STDIN:
                r.result.input.written = full ? PROTO_STDIN_DATA_MAX : 0;
                break;
        case PROTO_OP_OUTPUT: {
                ProtoOutputResult *o = &r.result.output;

                if (variant == 3) {
                        o->mode = PROTO_OUTPUT_RAW;
                        o->data = xbytes("\x00\x01\xff raw", 7);
                        o->total = 7;
                } else {
                        o->mode = PROTO_OUTPUT_LINES;
                        if (full) {
                                o->lines = calloc(2, sizeof(ProtoOutputLine));
                                if (!o->lines)
                                        abort();
                                o->lines[0] = (ProtoOutputLine){.seq = 1,
                                                                .ts_ns = 2,
                                                                .stream = PROTO_STREAM_STDOUT,
                                                                .text = xstrdup("hello"),
                                                                .text_size = 5};
                                o->lines[1] = (ProtoOutputLine){.seq = 2,
                                                                .ts_ns = 3,
                                                                .stream = PROTO_STREAM_STDERR,
                                                                .text = malloc(4),
                                                                .text_size = 3,
                                                                .truncated = true};
                                if (!o->lines[1].text)
                                        abort();
                                memcpy(o->lines[1].text, "a\0b", 4);
                                o->n_lines = 2;
                                o->total = 1000;
                                o->has_more = true;
                                o->partial = true;
                                o->cursor = xstrdup("c:2:0");
                                o->dropped = 65536;
                        }
                }
                break;
        }
        case PROTO_OP_ACTION:
                if (full)
                        r.result.action.result = xvalue(result, sizeof(result));
                else
                        r.result.action.result = xvalue("\xc0", 1);
                break;
        case PROTO_OP_BATCH:
                if (full) {
                        ProtoBatchResult *b = &r.result.batch;

                        b->results = calloc(2, sizeof(ProtoBatchItem));
                        if (!b->results)
                                abort();
                        b->results[0] = (ProtoBatchItem){.agent = xstrdup("a1"), .ok = true};
                        b->results[1] = (ProtoBatchItem){.agent = xstrdup("a2"),
                                                         .ok = false,
                                                         .error_code = PROTO_ERROR_CONFLICT,
                                                         .error_msg = xstrdup("agent is exited")};
                        b->n_results = 2;
                        b->ok_count = 1;
                        b->failed_count = 1;
                }
                break;
        case PROTO_OP_EVENTS:
                if (full) {
                        ProtoEventsResult *e = &r.result.events;

                        e->events = calloc(2, sizeof(ProtoEvent));
                        if (!e->events)
                                abort();
                        (void)sample_event(PROTO_EVENT_EXITED, 1, &e->events[0]);
                        (void)sample_event(PROTO_EVENT_HEARTBEAT, 0, &e->events[1]);
                        e->n_events = 2;
                        e->next_seq = 100;
                        e->oldest_seq = 1;
                        e->has_last_seq = true;
                        e->last_seq = 99;
                        e->filtered = true;
                }
                break;
        case PROTO_OP_ATTACH:
                if (full)
                        r.result.attach = (ProtoAttachResult){
                                .seq = UINT64_MAX, .heartbeat_ms = 5000, .has_exec_id = true, .exec_id = 7};
                break;
        case PROTO_OP_SUBSCRIBE:
                if (full)
                        r.result.subscribe = (ProtoSubscribeResult){
                                .last_seq = 99, .oldest_seq = 1, .filtered = true, .heartbeat_ms = 5000};
                break;
        case PROTO_OP_STATS:
                if (full) {
                        ProtoStatsResult *s = &r.result.stats;

                        s->stats = calloc(3, sizeof(ProtoStat));
                        if (!s->stats)
                                abort();
                        s->stats[0] = (ProtoStat){.name = xstrdup("requests_total"), .value = 12345};
                        s->stats[1] = (ProtoStat){.name = xstrdup("agents_running"), .value = 3};
                        s->stats[2] = (ProtoStat){.name = xstrdup("clock_skew_ns"), .value = INT64_MIN};
                        s->n_stats = 3;
                }
                break;
        case PROTO_OP_TENANTS: {
                ProtoTenantsResult *t = &r.result.tenants;

                /* a tenant always sees itself: one row at least */
                t->tenants = calloc(2, sizeof(ProtoTenant));
                if (!t->tenants)
                        abort();
                t->tenants[0] = (ProtoTenant){.uid = 1000, .agents = 0};
                t->n_tenants = 1;
                if (full) {
                        t->tenants[0].user = xstrdup("alice");
                        t->tenants[0].agents = 2;
                        t->tenants[0].has_usage = true;
                        t->tenants[0].usage = (ProtoUsage){.cpu_usec = 1500000,
                                                           .memory_current = 64ULL << 20,
                                                           .memory_peak = 90ULL << 20,
                                                           .pids_current = 7};
                        t->tenants[0].quota = (ProtoTenantQuota){.has_cpu = true,
                                                                 .cpu_millicores = 1500,
                                                                 .has_memory = true,
                                                                 .memory = 4ULL << 30,
                                                                 .has_swap = true,
                                                                 .swap = 0,
                                                                 .has_pids = true,
                                                                 .pids = 512,
                                                                 .has_agents = true,
                                                                 .agents = 8};
                        t->tenants[1] = (ProtoTenant){.uid = UINT32_MAX - 1, .agents = UINT64_MAX};
                        t->n_tenants = 2;
                }
                break;
        }
        case PROTO_OP_EXEC:
                /* every field that is always there; the output present even when empty */
                r.result.exec.out = xbytes("", 0);
                r.result.exec.err = xbytes("", 0);
                if (full) {
                        proto_bytes_done(&r.result.exec.out);
                        proto_bytes_done(&r.result.exec.err);
                        r.result.exec.has_exit_code = true;
                        r.result.exec.exit_code = 255;
                        r.result.exec.out = xbytes("ok\n\0bin", 7);
                        r.result.exec.err = xbytes("warning\n", 8);
                        r.result.exec.stdout_bytes = UINT64_MAX;
                        r.result.exec.stderr_bytes = 8;
                        r.result.exec.duration_us = 1234;
                } else {
                        r.result.exec.has_signal = true;
                        r.result.exec.signal = 9;
                        r.result.exec.timed_out = true;
                }
                break;
        case PROTO_OP_SHUTDOWN:
        case PROTO_OP_UNSUBSCRIBE:
        case PROTO_OP_ATTACH_INPUT:
        case PROTO_OP_ATTACH_RESIZE:
        case PROTO_OP_DETACH:
                break;
        case PROTO_OP_METRICS:
                r.result.metrics.text = xstrdup(full ? "# HELP descartes_up Whether the daemon answers.\n"
                                                       "# TYPE descartes_up gauge\ndescartes_up 1\n"
                                                     : "");
                break;
        default:
                abort();
        }
        *ret = r;
        return 0;
}
