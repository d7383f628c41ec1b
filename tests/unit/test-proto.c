/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Round trips of every message type, with every optional field set and with every one unset. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <cmocka.h>

#include "proto-samples.h"
#include "proto.h"
#include "string-util.h"

static void eq_str(const char *a, const char *b)
{
        if (!a || !b)
                assert_ptr_equal(a, b);
        else
                assert_string_equal(a, b);
}

static void eq_mem(const void *a, size_t an, const void *b, size_t bn)
{
        assert_int_equal(an, bn);
        assert_true(!a == !b);
        if (an > 0)
                assert_memory_equal(a, b, an);
}

static void eq_strv(char **a, size_t an, char **b, size_t bn)
{
        assert_int_equal(an, bn);
        for (size_t i = 0; i < an; i++)
                eq_str(a[i], b[i]);
        if (an > 0) {
                assert_null(a[an]);
                assert_null(b[bn]);
        }
}

static void eq_map(const ProtoStrMap *a, const ProtoStrMap *b)
{
        assert_int_equal(a->n_pairs, b->n_pairs);
        for (size_t i = 0; i < a->n_pairs; i++) {
                eq_str(a->pairs[i].key, b->pairs[i].key);
                eq_str(a->pairs[i].value, b->pairs[i].value);
        }
}

static void eq_limits(const ProtoLimits *a, const ProtoLimits *b)
{
        assert_int_equal(a->has_cpu, b->has_cpu);
        assert_int_equal(a->has_memory, b->has_memory);
        assert_int_equal(a->has_swap, b->has_swap);
        assert_int_equal(a->has_pids, b->has_pids);
        if (a->has_cpu)
                assert_int_equal(a->cpu_millicores, b->cpu_millicores);
        if (a->has_memory)
                assert_int_equal(a->memory, b->memory);
        if (a->has_swap)
                assert_int_equal(a->swap, b->swap);
        if (a->has_pids)
                assert_int_equal(a->pids, b->pids);
}

#define EQ_OPT(a, b, f)                                                                                     \
        do {                                                                                                \
                assert_int_equal((a)->has_##f, (b)->has_##f);                                               \
                if ((a)->has_##f)                                                                           \
                        assert_true((a)->f == (b)->f);                                                      \
        } while (0)

static void eq_info(const ProtoAgentInfo *a, const ProtoAgentInfo *b)
{
        eq_str(a->id, b->id);
        eq_str(a->name, b->name);
        assert_int_equal(a->state, b->state);
        EQ_OPT(a, b, reason);
        EQ_OPT(a, b, exit_code);
        EQ_OPT(a, b, signal);
        assert_int_equal(a->owner_uid, b->owner_uid);
        eq_map(&a->labels, &b->labels);
        eq_strv(a->argv, a->n_argv, b->argv, b->n_argv);
        assert_int_equal(a->created_ns, b->created_ns);
        EQ_OPT(a, b, started_ns);
        EQ_OPT(a, b, ended_ns);
        EQ_OPT(a, b, spawn_us);
        EQ_OPT(a, b, pid);
        eq_str(a->cgroup, b->cgroup);
        eq_limits(&a->limits, &b->limits);
        assert_int_equal(a->has_usage, b->has_usage);
        if (a->has_usage)
                assert_memory_equal(&a->usage, &b->usage, sizeof(a->usage));
        assert_int_equal(a->has_uid, b->has_uid);
        assert_int_equal(a->uid, b->uid);
        assert_int_equal(a->has_gid, b->has_gid);
        assert_int_equal(a->tty, b->tty);
        assert_int_equal(a->gid, b->gid);
        assert_int_equal(a->has_health_check, b->has_health_check);
        eq_strv(a->health_check.cmd, a->health_check.n_cmd, b->health_check.cmd, b->health_check.n_cmd);
        EQ_OPT(&a->health_check, &b->health_check, interval_ms);
        EQ_OPT(&a->health_check, &b->health_check, timeout_ms);
        EQ_OPT(&a->health_check, &b->health_check, retries);
        EQ_OPT(&a->health_check, &b->health_check, idle_timeout_ms);
        EQ_OPT(&a->health_check, &b->health_check, on_unhealthy);
        EQ_OPT(a, b, health);
        assert_int_equal(a->has_health_last, b->has_health_last);
        assert_int_equal(a->health_last.ts_ns, b->health_last.ts_ns);
        EQ_OPT(&a->health_last, &b->health_last, exit_code);
        assert_int_equal(a->health_last.timed_out, b->health_last.timed_out);
        eq_mem(a->health_last.output.data, a->health_last.output.size, b->health_last.output.data,
               b->health_last.output.size);
        assert_int_equal(a->health_last.failures, b->health_last.failures);
        eq_str(a->health_last.reason, b->health_last.reason);
}

static void eq_event(const ProtoEvent *a, const ProtoEvent *b)
{
        assert_int_equal(a->seq, b->seq);
        assert_int_equal(a->ts_ns, b->ts_ns);
        assert_int_equal(a->kind, b->kind);
        eq_str(a->agent, b->agent);
        EQ_OPT(a, b, state);
        EQ_OPT(a, b, reason);
        eq_mem(a->data.data, a->data.size, b->data.data, b->data.size);
}

static void eq_stop(const ProtoStopArgs *a, const ProtoStopArgs *b)
{
        eq_str(a->agent, b->agent);
        EQ_OPT(a, b, grace_ms);
}

static void eq_action(const ProtoActionArgs *a, const ProtoActionArgs *b)
{
        eq_str(a->agent, b->agent);
        eq_str(a->name, b->name);
        eq_mem(a->params.data, a->params.size, b->params.data, b->params.size);
        EQ_OPT(a, b, timeout_ms);
}

static void eq_request(const ProtoRequest *a, const ProtoRequest *b)
{
        assert_int_equal(b->v, PROTO_VERSION);
        eq_str(a->id, b->id);
        assert_int_equal(a->op, b->op);
        switch (a->op) {
        case PROTO_OP_HEALTH:
        case PROTO_OP_STATS:
        case PROTO_OP_TENANTS:
        case PROTO_OP_UNSUBSCRIBE:
        case PROTO_OP_DETACH:
        case PROTO_OP_METRICS:
                break;
        case PROTO_OP_ATTACH:
                eq_str(a->args.attach.agent, b->args.attach.agent);
                assert_int_equal(a->args.attach.read_only, b->args.attach.read_only);
                EQ_OPT(&a->args.attach, &b->args.attach, replay);
                EQ_OPT(&a->args.attach, &b->args.attach, since_seq);
                EQ_OPT(&a->args.attach, &b->args.attach, rows);
                EQ_OPT(&a->args.attach, &b->args.attach, cols);
                break;
        case PROTO_OP_ATTACH_INPUT:
                assert_int_equal(a->args.attach_input.data.size, b->args.attach_input.data.size);
                assert_memory_equal(a->args.attach_input.data.data, b->args.attach_input.data.data,
                                    a->args.attach_input.data.size);
                break;
        case PROTO_OP_ATTACH_RESIZE:
                assert_int_equal(a->args.attach_resize.rows, b->args.attach_resize.rows);
                assert_int_equal(a->args.attach_resize.cols, b->args.attach_resize.cols);
                break;
        case PROTO_OP_SUBSCRIBE:
                EQ_OPT(&a->args.subscribe, &b->args.subscribe, since_seq);
                eq_str(a->args.subscribe.agent, b->args.subscribe.agent);
                break;
        case PROTO_OP_LIST:
                EQ_OPT(&a->args.list, &b->args.list, state);
                eq_map(&a->args.list.labels, &b->args.list.labels);
                EQ_OPT(&a->args.list, &b->args.list, limit);
                assert_int_equal(a->args.list.all, b->args.list.all);
                break;
        case PROTO_OP_GET:
        case PROTO_OP_PAUSE:
        case PROTO_OP_RESUME:
        case PROTO_OP_KILL:
        case PROTO_OP_REMOVE:
                eq_str(a->args.agent.agent, b->args.agent.agent);
                break;
        case PROTO_OP_SPAWN: {
                const ProtoSpawnArgs *x = &a->args.spawn, *y = &b->args.spawn;
                eq_strv(x->argv, x->n_argv, y->argv, y->n_argv);
                eq_map(&x->env, &y->env);
                eq_str(x->cwd, y->cwd);
                eq_str(x->workspace, y->workspace);
                eq_str(x->name, y->name);
                eq_map(&x->labels, &y->labels);
                eq_limits(&x->limits, &y->limits);
                EQ_OPT(x, y, timeout_ms);
                EQ_OPT(x, y, net);
                eq_str(x->policy, y->policy);
                eq_str(x->user, y->user);
                assert_int_equal(x->open_stdin, y->open_stdin);
                break;
        }
        case PROTO_OP_STOP:
                eq_stop(&a->args.stop, &b->args.stop);
                break;
        case PROTO_OP_SIGNAL:
                eq_str(a->args.signal.agent, b->args.signal.agent);
                assert_int_equal(a->args.signal.signal, b->args.signal.signal);
                break;
        case PROTO_OP_STDIN:
                eq_str(a->args.input.agent, b->args.input.agent);
                eq_mem(a->args.input.data.data, a->args.input.data.size, b->args.input.data.data,
                       b->args.input.data.size);
                assert_int_equal(a->args.input.close, b->args.input.close);
                break;
        case PROTO_OP_OUTPUT: {
                const ProtoOutputArgs *x = &a->args.output, *y = &b->args.output;
                eq_str(x->agent, y->agent);
                EQ_OPT(x, y, stream);
                EQ_OPT(x, y, mode);
                EQ_OPT(x, y, offset);
                EQ_OPT(x, y, limit);
                EQ_OPT(x, y, tail);
                eq_str(x->grep, y->grep);
                EQ_OPT(x, y, since_ns);
                eq_str(x->cursor, y->cursor);
                break;
        }
        case PROTO_OP_ACTION:
                eq_action(&a->args.action, &b->args.action);
                break;
        case PROTO_OP_BATCH: {
                const ProtoBatchArgs *x = &a->args.batch, *y = &b->args.batch;
                assert_int_equal(x->op, y->op);
                eq_strv(x->agents, x->n_agents, y->agents, y->n_agents);
                assert_int_equal(x->has_selector, y->has_selector);
                EQ_OPT(&x->selector, &y->selector, state);
                eq_map(&x->selector.labels, &y->selector.labels);
                eq_str(x->selector.name_glob, y->selector.name_glob);
                assert_int_equal(x->fail_fast, y->fail_fast);
                if (x->op == PROTO_OP_STOP)
                        eq_stop(&x->args.stop, &y->args.stop);
                else if (x->op == PROTO_OP_SIGNAL)
                        assert_int_equal(x->args.signal.signal, y->args.signal.signal);
                else if (x->op == PROTO_OP_ACTION)
                        eq_action(&x->args.action, &y->args.action);
                break;
        }
        case PROTO_OP_EVENTS:
                assert_int_equal(a->args.events.since_seq, b->args.events.since_seq);
                EQ_OPT(&a->args.events, &b->args.events, limit);
                break;
        case PROTO_OP_SHUTDOWN:
                assert_int_equal(a->args.shutdown.stop_agents, b->args.shutdown.stop_agents);
                break;
        case PROTO_OP_WAIT:
                eq_str(a->args.wait.agent, b->args.wait.agent);
                EQ_OPT(&a->args.wait, &b->args.wait, timeout_ms);
                break;
        case PROTO_OP_EXEC:
                eq_str(a->args.exec.agent, b->args.exec.agent);
                eq_strv(a->args.exec.argv, a->args.exec.n_argv, b->args.exec.argv, b->args.exec.n_argv);
                eq_mem(a->args.exec.input.data, a->args.exec.input.size, b->args.exec.input.data,
                       b->args.exec.input.size);
                EQ_OPT(&a->args.exec, &b->args.exec, timeout_ms);
                break;
        default:
                fail();
        }
}

static void eq_reply(const ProtoReply *a, const ProtoReply *b)
{
        eq_str(a->id, b->id);
        assert_int_equal(a->op, b->op);
        assert_int_equal(a->ok, b->ok);
        if (!a->ok) {
                assert_int_equal(a->error_code, b->error_code);
                eq_str(a->error_msg, b->error_msg);
                return;
        }
        switch (a->op) {
        case PROTO_OP_HEALTH: {
                const ProtoHealthResult *x = &a->result.health, *y = &b->result.health;
                eq_str(x->version, y->version);
                assert_int_equal(x->protocol, y->protocol);
                assert_int_equal(x->uptime_s, y->uptime_s);
                assert_memory_equal(x->agents, y->agents, sizeof(x->agents));
                assert_int_equal(x->host.cpus, y->host.cpus);
                assert_int_equal(x->host.mem_total, y->host.mem_total);
                assert_int_equal(x->host.mem_available, y->host.mem_available);
                assert_true(x->host.load1 == y->host.load1);
                assert_true(x->host.load5 == y->host.load5);
                assert_true(x->host.load15 == y->host.load15);
                eq_str(x->cgroup_root, y->cgroup_root);
                eq_strv(x->cgroup_controllers, x->n_cgroup_controllers, y->cgroup_controllers,
                        y->n_cgroup_controllers);
                break;
        }
        case PROTO_OP_LIST:
                assert_int_equal(a->result.list.n_agents, b->result.list.n_agents);
                for (size_t i = 0; i < a->result.list.n_agents; i++)
                        eq_info(&a->result.list.agents[i], &b->result.list.agents[i]);
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
                eq_info(&a->result.agent.agent, &b->result.agent.agent);
                break;
        case PROTO_OP_STDIN:
                assert_int_equal(a->result.input.written, b->result.input.written);
                break;
        case PROTO_OP_OUTPUT: {
                const ProtoOutputResult *x = &a->result.output, *y = &b->result.output;
                assert_int_equal(x->mode, y->mode);
                assert_int_equal(x->n_lines, y->n_lines);
                for (size_t i = 0; i < x->n_lines; i++) {
                        assert_int_equal(x->lines[i].seq, y->lines[i].seq);
                        assert_int_equal(x->lines[i].ts_ns, y->lines[i].ts_ns);
                        assert_int_equal(x->lines[i].stream, y->lines[i].stream);
                        assert_int_equal(x->lines[i].truncated, y->lines[i].truncated);
                        eq_mem(x->lines[i].text, x->lines[i].text_size, y->lines[i].text,
                               y->lines[i].text_size);
                        assert_int_equal(y->lines[i].text[y->lines[i].text_size], 0);
                }
                eq_mem(x->data.data, x->data.size, y->data.data, y->data.size);
                assert_int_equal(x->total, y->total);
                assert_int_equal(x->has_more, y->has_more);
                assert_int_equal(x->partial, y->partial);
                eq_str(x->cursor, y->cursor);
                assert_int_equal(x->dropped, y->dropped);
                break;
        }
        case PROTO_OP_ACTION:
                eq_mem(a->result.action.result.data, a->result.action.result.size,
                       b->result.action.result.data, b->result.action.result.size);
                break;
        case PROTO_OP_BATCH: {
                const ProtoBatchResult *x = &a->result.batch, *y = &b->result.batch;
                assert_int_equal(x->n_results, y->n_results);
                for (size_t i = 0; i < x->n_results; i++) {
                        eq_str(x->results[i].agent, y->results[i].agent);
                        assert_int_equal(x->results[i].ok, y->results[i].ok);
                        if (!x->results[i].ok) {
                                assert_int_equal(x->results[i].error_code, y->results[i].error_code);
                                eq_str(x->results[i].error_msg, y->results[i].error_msg);
                        }
                }
                assert_int_equal(x->ok_count, y->ok_count);
                assert_int_equal(x->failed_count, y->failed_count);
                break;
        }
        case PROTO_OP_EVENTS:
                assert_int_equal(a->result.events.n_events, b->result.events.n_events);
                for (size_t i = 0; i < a->result.events.n_events; i++)
                        eq_event(&a->result.events.events[i], &b->result.events.events[i]);
                assert_int_equal(a->result.events.next_seq, b->result.events.next_seq);
                assert_int_equal(a->result.events.oldest_seq, b->result.events.oldest_seq);
                assert_int_equal(a->result.events.has_last_seq, b->result.events.has_last_seq);
                assert_int_equal(a->result.events.last_seq, b->result.events.last_seq);
                assert_int_equal(a->result.events.filtered, b->result.events.filtered);
                break;
        case PROTO_OP_SUBSCRIBE:
                assert_int_equal(a->result.subscribe.last_seq, b->result.subscribe.last_seq);
                assert_int_equal(a->result.subscribe.oldest_seq, b->result.subscribe.oldest_seq);
                assert_int_equal(a->result.subscribe.filtered, b->result.subscribe.filtered);
                assert_int_equal(a->result.subscribe.heartbeat_ms, b->result.subscribe.heartbeat_ms);
                break;
        case PROTO_OP_STATS:
                assert_int_equal(a->result.stats.n_stats, b->result.stats.n_stats);
                for (size_t i = 0; i < a->result.stats.n_stats; i++) {
                        eq_str(a->result.stats.stats[i].name, b->result.stats.stats[i].name);
                        assert_int_equal(a->result.stats.stats[i].value, b->result.stats.stats[i].value);
                }
                break;
        case PROTO_OP_TENANTS:
                assert_int_equal(a->result.tenants.n_tenants, b->result.tenants.n_tenants);
                for (size_t i = 0; i < a->result.tenants.n_tenants; i++) {
                        const ProtoTenant *x = &a->result.tenants.tenants[i],
                                          *y = &b->result.tenants.tenants[i];

                        assert_int_equal(x->uid, y->uid);
                        eq_str(x->user, y->user);
                        assert_int_equal(x->agents, y->agents);
                        assert_int_equal(x->has_usage, y->has_usage);
                        assert_memory_equal(&x->usage, &y->usage, sizeof x->usage);
                        assert_int_equal(x->quota.has_cpu, y->quota.has_cpu);
                        assert_true(x->quota.cpu_millicores == y->quota.cpu_millicores);
                        EQ_OPT(&x->quota, &y->quota, memory);
                        EQ_OPT(&x->quota, &y->quota, swap);
                        EQ_OPT(&x->quota, &y->quota, pids);
                        EQ_OPT(&x->quota, &y->quota, agents);
                }
                break;
        case PROTO_OP_EXEC: {
                const ProtoExecResult *x = &a->result.exec, *y = &b->result.exec;

                EQ_OPT(x, y, exit_code);
                EQ_OPT(x, y, signal);
                assert_int_equal(x->timed_out, y->timed_out);
                eq_mem(x->out.data, x->out.size, y->out.data, y->out.size);
                eq_mem(x->err.data, x->err.size, y->err.data, y->err.size);
                assert_int_equal(x->stdout_bytes, y->stdout_bytes);
                assert_int_equal(x->stderr_bytes, y->stderr_bytes);
                assert_int_equal(x->duration_us, y->duration_us);
                break;
        }
        case PROTO_OP_ATTACH:
                assert_int_equal(a->result.attach.seq, b->result.attach.seq);
                assert_int_equal(a->result.attach.heartbeat_ms, b->result.attach.heartbeat_ms);
                break;
        case PROTO_OP_SHUTDOWN:
        case PROTO_OP_UNSUBSCRIBE:
        case PROTO_OP_ATTACH_INPUT:
        case PROTO_OP_ATTACH_RESIZE:
        case PROTO_OP_DETACH:
                break;
        case PROTO_OP_METRICS:
                eq_str(a->result.metrics.text, b->result.metrics.text);
                break;
        default:
                fail();
        }
}

static void test_request_round_trip(void **state)
{
        unsigned total = 0;

        for (ProtoOp op = 0; op < _PROTO_OP_MAX; op++)
                for (unsigned v = 0;; v++) {
                        _cleanup_(proto_request_done) ProtoRequest a = {}, b = {};
                        _cleanup_free_ void *buf = NULL, *buf2 = NULL;
                        size_t len, len2;
                        ProtoError err;

                        if (sample_request(op, v, &a) == -ENOENT)
                                break;
                        assert_int_equal(proto_request_encode(&a, &buf, &len), 0);
                        assert_int_equal(proto_request_decode(buf, len, &b, &err), 0);
                        eq_request(&a, &b);
                        /* Nothing the encoder wrote was lost: the re-encoding is identical. */
                        assert_int_equal(proto_request_encode(&b, &buf2, &len2), 0);
                        eq_mem(buf, len, buf2, len2);
                        total++;
                }
        assert_true(total >= 2 * _PROTO_OP_MAX);
}

static void test_reply_round_trip(void **state)
{
        unsigned total = 0;

        for (ProtoOp op = 0; op < _PROTO_OP_MAX; op++)
                for (unsigned v = 0;; v++) {
                        _cleanup_(proto_reply_done) ProtoReply a = {}, b = {};
                        _cleanup_free_ void *buf = NULL, *buf2 = NULL;
                        size_t len, len2;
                        ProtoError err;

                        if (sample_reply(op, v, &a) == -ENOENT)
                                break;
                        assert_int_equal(proto_reply_encode(&a, &buf, &len), 0);
                        assert_int_equal(proto_reply_decode(buf, len, op, &b, &err), 0);
                        eq_reply(&a, &b);
                        assert_int_equal(proto_reply_encode(&b, &buf2, &len2), 0);
                        eq_mem(buf, len, buf2, len2);
                        total++;
                }
        assert_true(total >= 3 * _PROTO_OP_MAX);
}

static void test_event_round_trip(void **state)
{
        for (ProtoEventKind k = 0; k < _PROTO_EVENT_KIND_MAX; k++)
                for (unsigned v = 0; v < 2; v++) {
                        _cleanup_(proto_event_done) ProtoEvent a = {}, b = {};
                        _cleanup_free_ void *buf = NULL, *buf2 = NULL;
                        size_t len, len2;

                        assert_int_equal(sample_event(k, v, &a), 0);
                        assert_int_equal(proto_event_encode(&a, &buf, &len), 0);
                        assert_int_equal(proto_event_decode(buf, len, &b, NULL), 0);
                        eq_event(&a, &b);
                        assert_int_equal(proto_event_encode(&b, &buf2, &len2), 0);
                        eq_mem(buf, len, buf2, len2);
                }
}

static void test_unset_is_unset(void **state)
{
        _cleanup_(proto_request_done) ProtoRequest a = {}, b = {};
        _cleanup_free_ void *buf = NULL;
        size_t len;

        assert_int_equal(sample_request(PROTO_OP_SPAWN, 0, &a), 0);
        assert_int_equal(proto_request_encode(&a, &buf, &len), 0);
        assert_int_equal(proto_request_decode(buf, len, &b, NULL), 0);
        assert_false(b.args.spawn.has_timeout_ms);
        assert_false(b.args.spawn.has_net);
        assert_false(b.args.spawn.limits.has_cpu || b.args.spawn.limits.has_memory ||
                     b.args.spawn.limits.has_swap || b.args.spawn.limits.has_pids);
        assert_null(b.args.spawn.cwd);
        assert_null(b.args.spawn.name);
        assert_int_equal(b.args.spawn.env.n_pairs, 0);
        assert_false(b.args.spawn.open_stdin);
}

/* An attachment's pushes: output (bytes, empty for a heartbeat) and closed round-trip; a push with two kinds
 * or none is refused both ways. */
static void test_attach_pushes(void **state)
{
        static const uint8_t bytes[] = {0x1b, '[', '2', 'J', 0x00, 0xff};
        ProtoPush out = {.sub = (char *)"a1",
                         .prev_seq = 41,
                         .has_output = true,
                         .output = {.seq = 43, .data = {.data = (uint8_t *)bytes, .size = sizeof bytes}}};
        ProtoPush beat = {.sub = (char *)"a1",
                          .prev_seq = 43,
                          .has_output = true,
                          .output = {.seq = 43, .data = {.data = (uint8_t *)bytes, .size = 0}}};
        ProtoPush closed = {.sub = (char *)"a1",
                            .prev_seq = 43,
                            .has_closed = true,
                            .closed = {.reason = (char *)"ended"}};
        ProtoPush both = out;
        const ProtoPush *const pushes[] = {&out, &beat, &closed};

        for (size_t i = 0; i < ELEMENTSOF(pushes); i++) {
                const ProtoPush *p = pushes[i];
                _cleanup_(proto_push_done) ProtoPush d = {};
                _cleanup_free_ void *buf = NULL;
                size_t len;

                assert_int_equal(proto_push_encode(p, &buf, &len), 0);
                assert_true(proto_message_is_push(buf, len));
                assert_int_equal(proto_push_decode(buf, len, &d, NULL), 0);
                assert_string_equal(d.sub, "a1");
                assert_int_equal(d.prev_seq, p->prev_seq);
                assert_int_equal(d.has_output, p->has_output);
                assert_int_equal(d.has_closed, p->has_closed);
                assert_false(d.has_event || d.has_lost);
                if (p->has_output) {
                        assert_int_equal(d.output.seq, p->output.seq);
                        assert_int_equal(d.output.data.size, p->output.data.size);
                        assert_non_null(d.output.data.data);
                        assert_memory_equal(d.output.data.data, bytes, d.output.data.size);
                } else
                        assert_string_equal(d.closed.reason, "ended");
        }
        both.has_closed = true;
        both.closed.reason = (char *)"ended";
        {
                void *buf = NULL;
                size_t len;
                assert_int_equal(proto_push_encode(&both, &buf, &len), -EINVAL);
                assert_null(buf);
        }
}

static void test_tables(void **state)
{
        assert_int_equal(_PROTO_OP_MAX, 27);
        for (ProtoOp op = 0; op < _PROTO_OP_MAX; op++)
                assert_int_equal(proto_op_from_string(proto_op_to_string(op)), op);
        for (ProtoState s = 0; s < _PROTO_STATE_MAX; s++)
                assert_int_equal(proto_state_from_string(proto_state_to_string(s)), s);
        for (ProtoReason r = 0; r < _PROTO_REASON_MAX; r++)
                assert_int_equal(proto_reason_from_string(proto_reason_to_string(r)), r);
        for (ProtoEventKind k = 0; k < _PROTO_EVENT_KIND_MAX; k++)
                assert_int_equal(proto_event_kind_from_string(proto_event_kind_to_string(k)), k);
        for (ProtoErrorCode c = 0; c < _PROTO_ERROR_MAX; c++)
                assert_int_equal(proto_error_code_from_string(proto_error_code_to_string(c)), c);
        assert_string_equal(proto_error_code_to_string(PROTO_ERROR_UNENFORCEABLE), "unenforceable");
        assert_string_equal(proto_state_to_string(PROTO_STATE_RESUMING), "resuming");
        assert_string_equal(proto_reason_to_string(PROTO_REASON_PIDS_LIMIT), "pids_limit");
        assert_int_equal(proto_op_from_string("launch"), _PROTO_OP_INVALID);
        assert_null(proto_op_to_string(_PROTO_OP_MAX));
        assert_null(proto_state_to_string(-1));
        assert_int_equal(proto_signal_from_string("TERM"), SIGTERM);
        assert_int_equal(proto_signal_from_string("SIGKILL"), SIGKILL);
        assert_int_equal(proto_signal_from_string("sigusr2"), SIGUSR2);
        assert_int_equal(proto_signal_from_string("SIG"), -EINVAL);
        assert_int_equal(proto_signal_from_string("BOGUS"), -EINVAL);
        assert_true(proto_op_batchable(PROTO_OP_STOP));
        assert_false(proto_op_batchable(PROTO_OP_BATCH));
        assert_false(proto_op_batchable(PROTO_OP_SPAWN));
}

static void test_topics(void **state)
{
        _cleanup_free_ char *a = NULL, *b = NULL, *c = NULL;
        char *x = NULL;

        assert_int_equal(proto_event_topic("6f1c", PROTO_EVENT_STATUS_CHANGED, &a), 0);
        assert_string_equal(a, "agent.6f1c.status_changed");
        assert_int_equal(proto_event_topic(NULL, PROTO_EVENT_HEARTBEAT, &b), 0);
        assert_string_equal(b, "host.heartbeat");
        assert_int_equal(proto_event_topic_agent_prefix("6f1c", &c), 0);
        assert_string_equal(c, "agent.6f1c.");
        assert_int_equal(proto_event_topic("a.b", PROTO_EVENT_OUTPUT, &x), -EINVAL);
        assert_int_equal(proto_event_topic("", PROTO_EVENT_OUTPUT, &x), -EINVAL);
        assert_int_equal(proto_event_topic("a", _PROTO_EVENT_KIND_MAX, &x), -EINVAL);
        assert_null(x);
}

static void test_reply_builders(void **state)
{
        _cleanup_(proto_reply_done) ProtoReply r = {}, d = {};
        _cleanup_free_ void *buf = NULL, *buf2 = NULL;
        _cleanup_free_ char *longmsg = NULL;
        size_t len, len2;
        ProtoError err;

        longmsg = malloc(3000);
        assert_non_null(longmsg);
        memset(longmsg, 'x', 2999);
        longmsg[2999] = 0;
        assert_int_equal(
                proto_reply_init_error(&r, "req-7", PROTO_OP_GET, PROTO_ERROR_NOT_FOUND, "%s", longmsg), 0);
        assert_int_equal(strlen(r.error_msg), PROTO_ERROR_MSG_MAX);
        assert_int_equal(proto_reply_encode(&r, &buf, &len), 0);
        assert_int_equal(proto_reply_decode(buf, len, PROTO_OP_GET, &d, &err), 0);
        assert_false(d.ok);
        assert_int_equal(d.error_code, PROTO_ERROR_NOT_FOUND);
        assert_string_equal(d.id, "req-7");

        /* An error from the decoder becomes a reply carrying the request's id. */
        proto_error_init(&err);
        err.code = PROTO_ERROR_UNKNOWN_OP;
        err.has_id = true;
        strcpy(err.id, "abc");
        strcpy(err.msg, "unknown op \"launch\"");
        assert_int_equal(proto_error_reply_encode(&err, &buf2, &len2), 0);
        proto_reply_done(&d);
        assert_int_equal(proto_reply_decode(buf2, len2, PROTO_OP_HEALTH, &d, NULL), 0);
        assert_string_equal(d.id, "abc");
        assert_int_equal(d.error_code, PROTO_ERROR_UNKNOWN_OP);
        assert_string_equal(d.error_msg, "unknown op \"launch\"");
        assert_int_equal(d.error_retry_after_ms, 0);
}

/* err.retry_after_ms: the rate limit's hint rides on `busy` and is read back; out of bounds it is refused.
 */
static void test_reply_retry_after(void **state)
{
        _cleanup_(proto_reply_done) ProtoReply r = {}, d = {};
        _cleanup_free_ void *buf = NULL;
        size_t len;
        ProtoError err;
        char id[PROTO_ID_MAX + 1];

        assert_int_equal(proto_reply_init_error(&r, "rq-1", PROTO_OP_GET, PROTO_ERROR_BUSY, "slow down"), 0);
        r.error_retry_after_ms = 37;
        assert_int_equal(proto_reply_encode(&r, &buf, &len), 0);
        assert_int_equal(proto_reply_decode(buf, len, PROTO_OP_GET, &d, &err), 0);
        assert_int_equal(d.error_code, PROTO_ERROR_BUSY);
        assert_int_equal(d.error_retry_after_ms, 37);
        proto_reply_done(&d);
        free(buf);
        buf = NULL;

        r.error_retry_after_ms = PROTO_RETRY_AFTER_MS_MAX + 1;
        assert_int_equal(proto_reply_encode(&r, &buf, &len), 0);
        assert_true(proto_reply_decode(buf, len, PROTO_OP_GET, &d, &err) < 0);
        assert_non_null(strstr(err.msg, "err.retry_after_ms"));

        /* the id of a request read without decoding it (for the rate limit's answer) */
        free(buf);
        buf = NULL;
        {
                ProtoRequest q = {.id = (char *)"peek-9", .op = PROTO_OP_GET};
                q.args.agent.agent = (char *)"x";
                assert_int_equal(proto_request_encode(&q, &buf, &len), 0);
        }
        proto_request_peek_id(buf, len, id);
        assert_string_equal(id, "peek-9");
        proto_request_peek_id("\x81\xa1x\x01", 4, id);
        assert_string_equal(id, "");
        proto_request_peek_id("\xc1", 1, id);
        assert_string_equal(id, "");
}

/* Typed event data: the bytes the daemon packed by hand before (a u64 map, a str map), and back. */
static void test_event_data(void **state)
{
        _cleanup_(proto_value_done) ProtoValue v = {}, old = {}, s = {}, olds = {}, x = {};
        static const char *const keys[] = {"seq_first",    "seq_last",     "bytes",
                                           "stdout_bytes", "stderr_bytes", "dropped_bytes"};
        static const uint64_t values[] = {3, 9, 512, 1000, 24, 0};
        ProtoEventData d = {.output = {3, 9, 512, 1000, 24, 0}}, back = {};
        ProtoError err;

        (void)state;
        assert_int_equal(proto_event_data_encode(PROTO_EVENT_OUTPUT, &d, &v), 0);
        assert_int_equal(proto_value_new_u64_map(keys, values, ELEMENTSOF(keys), &old), 0);
        eq_mem(v.data, v.size, old.data, old.size);
        assert_int_equal(proto_event_data_decode(PROTO_EVENT_OUTPUT, &v, &back, &err), 0);
        assert_memory_equal(&back.output, &d.output, sizeof d.output);

        d = (ProtoEventData){.error.msg = (char *)"disk full"};
        assert_int_equal(proto_event_data_encode(PROTO_EVENT_ERROR, &d, &s), 0);
        assert_int_equal(proto_value_new_str_map("msg", "disk full", &olds), 0);
        eq_mem(s.data, s.size, olds.data, olds.size);
        assert_int_equal(proto_event_data_decode(PROTO_EVENT_ERROR, &s, &back, &err), 0);
        assert_string_equal(back.error.msg, "disk full");
        proto_event_data_done(PROTO_EVENT_ERROR, &back);
        assert_null(back.error.msg);

        d = (ProtoEventData){
                .exited = {.has_signal = true, .signal = 9, .has_cpu_usec = true, .cpu_usec = 7}};
        assert_int_equal(proto_event_data_encode(PROTO_EVENT_EXITED, &d, &x), 0);
        assert_int_equal(proto_event_data_decode(PROTO_EVENT_EXITED, &x, &back, &err), 0);
        assert_memory_equal(&back.exited, &d.exited, sizeof d.exited);

        /* a kind without data, and data of the wrong shape */
        assert_int_equal(proto_event_data_encode(PROTO_EVENT_STATUS_CHANGED, &d, &x), -EINVAL);
        assert_int_equal(proto_event_data_decode(PROTO_EVENT_LIMIT_HIT, &v, &back, &err), -EBADMSG);
}

static void test_values(void **state)
{
        _cleanup_(proto_value_done) ProtoValue v = {}, c = {}, s = {};
        _cleanup_(proto_event_done) ProtoEvent e = {}, d = {};
        _cleanup_free_ void *buf = NULL;
        static const char *const keys[] = {"bytes", "seq_first"};
        static const uint64_t values[] = {512, 3};
        size_t len;

        assert_int_equal(proto_value_new_u64_map(keys, values, 2, &v), 0);
        assert_int_equal(v.size, 21);
        assert_int_equal(v.data[0], 0x82);
        assert_int_equal(proto_value_copy(&v, &c), 0);
        eq_mem(v.data, v.size, c.data, c.size);
        assert_int_equal(proto_value_new_str_map("msg", "disk full", &s), 0);

        /* reading back what the builders wrote */
        uint64_t x = 0;
        assert_int_equal(proto_value_get_u64(&v, "seq_first", &x), 0);
        assert_int_equal(x, 3);
        assert_int_equal(proto_value_get_u64(&v, "bytes", &x), 0);
        assert_int_equal(x, 512);
        assert_int_equal(proto_value_get_u64(&v, "absent", &x), -ENOENT);
        assert_int_equal(proto_value_get_u64(&s, "msg", &x), -EBADMSG); /* a string, not an integer */
        ProtoValue not_map = {.data = (uint8_t *)"\x05", .size = 1};
        assert_int_equal(proto_value_get_u64(&not_map, "x", &x), -EBADMSG);
        assert_int_equal(x, 512); /* untouched on failure */

        /* a truncated value and trailing bytes are refused */
        assert_int_equal(proto_value_from_msgpack("\x82\xa1x", 3, &e.data), -EBADMSG);
        assert_int_equal(proto_value_from_msgpack("\x01\x02", 2, &e.data), -EBADMSG);

        e.kind = PROTO_EVENT_ERROR;
        e.seq = 5;
        e.data = s;
        s = (ProtoValue){};
        assert_int_equal(proto_event_encode(&e, &buf, &len), 0);
        assert_int_equal(proto_event_decode(buf, len, &d, NULL), 0);
        eq_mem(e.data.data, e.data.size, d.data.data, d.data.size);
}

static void test_agent_info_copy(void **state)
{
        _cleanup_(proto_agent_info_done) ProtoAgentInfo a = {}, b = {};

        assert_int_equal(sample_agent_info(true, &a), 0);
        assert_int_equal(proto_agent_info_copy(&a, &b), 0);
        eq_info(&a, &b);
        assert_ptr_not_equal(a.id, b.id);
        assert_string_equal(proto_str_map_get(&b.labels, "team"), "infra");
        assert_null(proto_str_map_get(&b.labels, "nope"));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_request_round_trip),
                cmocka_unit_test(test_reply_round_trip),
                cmocka_unit_test(test_event_round_trip),
                cmocka_unit_test(test_unset_is_unset),
                cmocka_unit_test(test_attach_pushes),
                cmocka_unit_test(test_tables),
                cmocka_unit_test(test_topics),
                cmocka_unit_test(test_reply_builders),
                cmocka_unit_test(test_reply_retry_after),
                cmocka_unit_test(test_values),
                cmocka_unit_test(test_event_data),
                cmocka_unit_test(test_agent_info_copy),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
