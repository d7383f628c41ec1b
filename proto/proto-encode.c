/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "proto-internal.h"
#include "string-util.h"

/* Encoders trust the caller for semantics but never emit what the other side's decoder must refuse for
 * structure: a NULL required string, an unknown enum value or a count over its bound fails with -EINVAL or
 * -E2BIG, a message over PROTO_MESSAGE_MAX with -EMSGSIZE. */

static bool in_set3(int v, int a, int b, int c)
{
        return v == a || v == b || v == c;
}
#define IN_SET(v, a, b, c) in_set3((int)(v), (int)(a), (int)(b), (int)(c))

static void check_count(ProtoWriter *w, size_t n, size_t max)
{
        if (n > max)
                proto_writer_fail(w, -E2BIG);
}

static void write_enum(ProtoWriter *w, const char *s)
{
        if (!s)
                proto_writer_fail(w, -EINVAL);
        else
                proto_write_str(w, s);
}

static void write_list(ProtoWriter *w, const ProtoListArgs *a)
{
        proto_write_map(w, a->has_state + (a->labels.n_pairs > 0) + a->has_limit + a->all);
        if (a->has_state) {
                proto_write_key(w, "state");
                write_enum(w, proto_state_to_string(a->state));
        }
        if (a->labels.n_pairs > 0) {
                check_count(w, a->labels.n_pairs, PROTO_LABELS_MAX);
                proto_write_key(w, "labels");
                proto_write_str_map(w, &a->labels);
        }
        if (a->has_limit) {
                proto_write_key(w, "limit");
                proto_write_u64(w, a->limit);
        }
        if (a->all) {
                proto_write_key(w, "all");
                proto_write_bool(w, true);
        }
}

static void write_agent(ProtoWriter *w, const char *agent)
{
        proto_write_key(w, "agent");
        proto_write_str(w, agent);
}

static void write_spawn(ProtoWriter *w, const ProtoSpawnArgs *a)
{
        bool has_limits =
                a->limits.has_cpu || a->limits.has_memory || a->limits.has_swap || a->limits.has_pids;

        if (a->n_argv == 0)
                proto_writer_fail(w, -EINVAL);
        check_count(w, a->n_argv, PROTO_ARGV_MAX);
        check_count(w, a->env.n_pairs, PROTO_ENV_MAX);
        check_count(w, a->labels.n_pairs, PROTO_LABELS_MAX);

        proto_write_map(w, 1 + (a->env.n_pairs > 0) + !!a->cwd + !!a->workspace + !!a->name +
                                   (a->labels.n_pairs > 0) + has_limits + a->has_timeout_ms + a->has_net +
                                   !!a->policy + !!a->user + a->open_stdin);
        proto_write_key(w, "argv");
        proto_write_strv(w, a->argv, a->n_argv);
        if (a->env.n_pairs > 0) {
                proto_write_key(w, "env");
                proto_write_str_map(w, &a->env);
        }
        if (a->cwd) {
                proto_write_key(w, "cwd");
                proto_write_str(w, a->cwd);
        }
        if (a->workspace) {
                proto_write_key(w, "workspace");
                proto_write_str(w, a->workspace);
        }
        if (a->name) {
                proto_write_key(w, "name");
                proto_write_str(w, a->name);
        }
        if (a->labels.n_pairs > 0) {
                proto_write_key(w, "labels");
                proto_write_str_map(w, &a->labels);
        }
        if (has_limits) {
                proto_write_key(w, "limits");
                proto_write_limits(w, &a->limits);
        }
        if (a->has_timeout_ms) {
                proto_write_key(w, "timeout_ms");
                proto_write_u64(w, a->timeout_ms);
        }
        if (a->has_net) {
                proto_write_key(w, "net");
                write_enum(w, proto_net_to_string(a->net));
        }
        if (a->policy) {
                proto_write_key(w, "policy");
                proto_write_str(w, a->policy);
        }
        if (a->user) {
                proto_write_key(w, "user");
                proto_write_str(w, a->user);
        }
        if (a->open_stdin) {
                proto_write_key(w, "stdin");
                proto_write_bool(w, true);
        }
}

static void write_stop(ProtoWriter *w, const ProtoStopArgs *a, bool batch)
{
        proto_write_map(w, !batch + a->has_grace_ms);
        if (!batch)
                write_agent(w, a->agent);
        if (a->has_grace_ms) {
                proto_write_key(w, "grace_ms");
                proto_write_u64(w, a->grace_ms);
        }
}

static void write_signal(ProtoWriter *w, const ProtoSignalArgs *a, bool batch)
{
        proto_write_map(w, !batch + 1);
        if (!batch)
                write_agent(w, a->agent);
        proto_write_key(w, "signal");
        proto_write_i64(w, a->signal);
}

static void write_stdin(ProtoWriter *w, const ProtoStdinArgs *a)
{
        proto_write_map(w, 1 + !!a->data.data + a->close);
        write_agent(w, a->agent);
        if (a->data.data) {
                check_count(w, a->data.size, PROTO_STDIN_DATA_MAX);
                proto_write_key(w, "data");
                proto_write_bin(w, a->data.data, a->data.size);
        }
        if (a->close) {
                proto_write_key(w, "close");
                proto_write_bool(w, true);
        }
}

static void write_output_args(ProtoWriter *w, const ProtoOutputArgs *a)
{
        proto_write_map(w, 1 + a->has_stream + a->has_mode + a->has_offset + a->has_limit + a->has_tail +
                                   !!a->grep + a->has_since_ns + !!a->cursor);
        write_agent(w, a->agent);
        if (a->has_stream) {
                proto_write_key(w, "stream");
                write_enum(w, proto_stream_to_string(a->stream));
        }
        if (a->has_mode) {
                proto_write_key(w, "mode");
                write_enum(w, proto_output_mode_to_string(a->mode));
        }
        if (a->has_offset) {
                proto_write_key(w, "offset");
                proto_write_u64(w, a->offset);
        }
        if (a->has_limit) {
                proto_write_key(w, "limit");
                proto_write_u64(w, a->limit);
        }
        if (a->has_tail) {
                proto_write_key(w, "tail");
                proto_write_u64(w, a->tail);
        }
        if (a->grep) {
                proto_write_key(w, "grep");
                proto_write_str(w, a->grep);
        }
        if (a->has_since_ns) {
                proto_write_key(w, "since_ns");
                proto_write_u64(w, a->since_ns);
        }
        if (a->cursor) {
                proto_write_key(w, "cursor");
                proto_write_str(w, a->cursor);
        }
}

static void write_action_args(ProtoWriter *w, const ProtoActionArgs *a, bool batch)
{
        proto_write_map(w, !batch + 1 + !!a->params.data + a->has_timeout_ms);
        if (!batch)
                write_agent(w, a->agent);
        proto_write_key(w, "name");
        proto_write_str(w, a->name);
        if (a->params.data) {
                proto_write_key(w, "params");
                proto_write_value(w, &a->params);
        }
        if (a->has_timeout_ms) {
                proto_write_key(w, "timeout_ms");
                proto_write_u64(w, a->timeout_ms);
        }
}

static void write_batch(ProtoWriter *w, const ProtoBatchArgs *a)
{
        bool has_args = IN_SET(a->op, PROTO_OP_STOP, PROTO_OP_SIGNAL, PROTO_OP_ACTION);
        const ProtoSelector *s = &a->selector;

        if (!proto_op_batchable(a->op) || (a->n_agents > 0) == a->has_selector)
                proto_writer_fail(w, -EINVAL);
        check_count(w, a->n_agents, PROTO_BATCH_AGENTS_MAX);

        proto_write_map(w, 2 + has_args + a->fail_fast);
        proto_write_key(w, "op");
        write_enum(w, proto_op_to_string(a->op));
        if (a->has_selector) {
                proto_write_key(w, "selector");
                proto_write_map(w, s->has_state + (s->labels.n_pairs > 0) + !!s->name_glob);
                if (s->has_state) {
                        proto_write_key(w, "state");
                        write_enum(w, proto_state_to_string(s->state));
                }
                if (s->labels.n_pairs > 0) {
                        check_count(w, s->labels.n_pairs, PROTO_LABELS_MAX);
                        proto_write_key(w, "labels");
                        proto_write_str_map(w, &s->labels);
                }
                if (s->name_glob) {
                        proto_write_key(w, "name_glob");
                        proto_write_str(w, s->name_glob);
                }
        } else {
                proto_write_key(w, "agents");
                proto_write_strv(w, a->agents, a->n_agents);
        }
        if (a->fail_fast) {
                proto_write_key(w, "fail_fast");
                proto_write_bool(w, true);
        }
        if (has_args) {
                proto_write_key(w, "args");
                switch (a->op) {
                case PROTO_OP_STOP:
                        write_stop(w, &a->args.stop, true);
                        break;
                case PROTO_OP_SIGNAL:
                        write_signal(w, &a->args.signal, true);
                        break;
                case PROTO_OP_ACTION:
                        write_action_args(w, &a->args.action, true);
                        break;
                default:
                        proto_writer_fail(w, -EINVAL);
                }
        }
}

static void write_events_args(ProtoWriter *w, const ProtoEventsArgs *a)
{
        proto_write_map(w, 1 + a->has_limit);
        proto_write_key(w, "since_seq");
        proto_write_u64(w, a->since_seq);
        if (a->has_limit) {
                proto_write_key(w, "limit");
                proto_write_u64(w, a->limit);
        }
}

static void write_args(ProtoWriter *w, const ProtoRequest *r)
{
        switch (r->op) {
        case PROTO_OP_HEALTH:
        case PROTO_OP_STATS:
                proto_write_map(w, 0);
                break;
        case PROTO_OP_LIST:
                write_list(w, &r->args.list);
                break;
        case PROTO_OP_GET:
        case PROTO_OP_PAUSE:
        case PROTO_OP_RESUME:
        case PROTO_OP_KILL:
        case PROTO_OP_REMOVE:
                proto_write_map(w, 1);
                write_agent(w, r->args.agent.agent);
                break;
        case PROTO_OP_SPAWN:
                write_spawn(w, &r->args.spawn);
                break;
        case PROTO_OP_STOP:
                write_stop(w, &r->args.stop, false);
                break;
        case PROTO_OP_SIGNAL:
                write_signal(w, &r->args.signal, false);
                break;
        case PROTO_OP_STDIN:
                write_stdin(w, &r->args.input);
                break;
        case PROTO_OP_OUTPUT:
                write_output_args(w, &r->args.output);
                break;
        case PROTO_OP_ACTION:
                write_action_args(w, &r->args.action, false);
                break;
        case PROTO_OP_BATCH:
                write_batch(w, &r->args.batch);
                break;
        case PROTO_OP_EVENTS:
                write_events_args(w, &r->args.events);
                break;
        case PROTO_OP_SHUTDOWN:
                proto_write_map(w, r->args.shutdown.stop_agents);
                if (r->args.shutdown.stop_agents) {
                        proto_write_key(w, "stop_agents");
                        proto_write_bool(w, true);
                }
                break;
        default:
                proto_writer_fail(w, -EINVAL);
        }
}

int proto_request_encode(const ProtoRequest *r, void **ret_buf, size_t *ret_len)
{
        ProtoWriter w;

        if (!r || !ret_buf || !ret_len || !r->id || !proto_op_to_string(r->op))
                return -EINVAL;
        if (r->id[0] == 0 || strlen(r->id) > PROTO_ID_MAX)
                return -EINVAL;
        proto_writer_init(&w);
        proto_write_map(&w, 4);
        proto_write_key(&w, "v");
        proto_write_u64(&w, r->v == 0 ? PROTO_VERSION : r->v);
        proto_write_key(&w, "id");
        proto_write_str(&w, r->id);
        proto_write_key(&w, "op");
        proto_write_str(&w, proto_op_to_string(r->op));
        proto_write_key(&w, "args");
        write_args(&w, r);
        return proto_writer_finish(&w, ret_buf, ret_len);
}

/* ---- replies ---- */

static void write_health(ProtoWriter *w, const ProtoHealthResult *h)
{
        check_count(w, h->n_cgroup_controllers, PROTO_CONTROLLERS_MAX);
        proto_write_map(w, 6);
        proto_write_key(w, "version");
        proto_write_str(w, h->version);
        proto_write_key(w, "protocol");
        proto_write_u64(w, h->protocol);
        proto_write_key(w, "uptime_s");
        proto_write_u64(w, h->uptime_s);
        proto_write_key(w, "agents");
        proto_write_map(w, _PROTO_STATE_MAX);
        for (ProtoState s = 0; s < _PROTO_STATE_MAX; s++) {
                proto_write_key(w, proto_state_to_string(s));
                proto_write_u64(w, h->agents[s]);
        }
        proto_write_key(w, "host");
        proto_write_map(w, 6);
        proto_write_key(w, "cpus");
        proto_write_u64(w, h->host.cpus);
        proto_write_key(w, "mem_total");
        proto_write_u64(w, h->host.mem_total);
        proto_write_key(w, "mem_available");
        proto_write_u64(w, h->host.mem_available);
        proto_write_key(w, "load1");
        proto_write_double(w, h->host.load1);
        proto_write_key(w, "load5");
        proto_write_double(w, h->host.load5);
        proto_write_key(w, "load15");
        proto_write_double(w, h->host.load15);
        proto_write_key(w, "cgroup");
        proto_write_map(w, 2);
        proto_write_key(w, "root");
        proto_write_str(w, h->cgroup_root);
        proto_write_key(w, "controllers");
        proto_write_strv(w, h->cgroup_controllers, h->n_cgroup_controllers);
}

static void write_output_result(ProtoWriter *w, const ProtoOutputResult *o)
{
        proto_write_map(w, 5 + !!o->cursor);
        if (o->mode == PROTO_OUTPUT_RAW) {
                check_count(w, o->data.size, PROTO_OUTPUT_DATA_MAX);
                proto_write_key(w, "data");
                proto_write_bin(w, o->data.data ?: (const uint8_t *)"", o->data.size);
        } else if (o->mode == PROTO_OUTPUT_LINES) {
                check_count(w, o->n_lines, PROTO_OUTPUT_LINES_MAX);
                proto_write_key(w, "lines");
                proto_write_array(w, o->n_lines);
                for (size_t i = 0; i < o->n_lines; i++) {
                        const ProtoOutputLine *l = &o->lines[i];

                        if (l->stream == PROTO_STREAM_BOTH)
                                proto_writer_fail(w, -EINVAL);
                        check_count(w, l->text_size, PROTO_OUTPUT_LINE_MAX);
                        proto_write_map(w, 4 + l->truncated);
                        proto_write_key(w, "seq");
                        proto_write_u64(w, l->seq);
                        proto_write_key(w, "ts_ns");
                        proto_write_u64(w, l->ts_ns);
                        proto_write_key(w, "stream");
                        write_enum(w, proto_stream_to_string(l->stream));
                        proto_write_key(w, "text");
                        proto_write_text(w, l->text, l->text_size);
                        if (l->truncated) {
                                proto_write_key(w, "truncated");
                                proto_write_bool(w, true);
                        }
                }
        } else
                proto_writer_fail(w, -EINVAL);
        proto_write_key(w, "total");
        proto_write_u64(w, o->total);
        proto_write_key(w, "has_more");
        proto_write_bool(w, o->has_more);
        proto_write_key(w, "partial");
        proto_write_bool(w, o->partial);
        if (o->cursor) {
                proto_write_key(w, "cursor");
                proto_write_str(w, o->cursor);
        }
        proto_write_key(w, "dropped");
        proto_write_u64(w, o->dropped);
}

static void write_error_map(ProtoWriter *w, ProtoErrorCode code, const char *msg, const char *agent)
{
        proto_write_map(w, 2 + !!agent);
        proto_write_key(w, "code");
        write_enum(w, proto_error_code_to_string(code));
        proto_write_key(w, "msg");
        proto_write_str(w, msg ?: "");
        if (agent) {
                proto_write_key(w, "agent");
                proto_write_str(w, agent);
        }
}

static void write_batch_result(ProtoWriter *w, const ProtoBatchResult *b)
{
        check_count(w, b->n_results, PROTO_BATCH_AGENTS_MAX);
        proto_write_map(w, 3);
        proto_write_key(w, "results");
        proto_write_array(w, b->n_results);
        for (size_t i = 0; i < b->n_results; i++) {
                const ProtoBatchItem *it = &b->results[i];

                proto_write_map(w, 2 + !it->ok);
                proto_write_key(w, "agent");
                proto_write_str(w, it->agent);
                proto_write_key(w, "ok");
                proto_write_bool(w, it->ok);
                if (!it->ok) {
                        proto_write_key(w, "err");
                        write_error_map(w, it->error_code, it->error_msg, NULL);
                }
        }
        proto_write_key(w, "ok_count");
        proto_write_u64(w, b->ok_count);
        proto_write_key(w, "failed_count");
        proto_write_u64(w, b->failed_count);
}

static void write_result(ProtoWriter *w, const ProtoReply *r)
{
        switch (r->op) {
        case PROTO_OP_HEALTH:
                write_health(w, &r->result.health);
                break;
        case PROTO_OP_LIST:
                check_count(w, r->result.list.n_agents, PROTO_AGENTS_MAX);
                proto_write_map(w, 1);
                proto_write_key(w, "agents");
                proto_write_array(w, r->result.list.n_agents);
                for (size_t i = 0; i < r->result.list.n_agents; i++)
                        proto_write_agent_info(w, &r->result.list.agents[i]);
                break;
        case PROTO_OP_GET:
        case PROTO_OP_SPAWN:
        case PROTO_OP_PAUSE:
        case PROTO_OP_RESUME:
        case PROTO_OP_STOP:
        case PROTO_OP_KILL:
        case PROTO_OP_SIGNAL:
        case PROTO_OP_REMOVE:
                proto_write_map(w, 1);
                proto_write_key(w, "agent");
                proto_write_agent_info(w, &r->result.agent.agent);
                break;
        case PROTO_OP_STDIN:
                proto_write_map(w, 1);
                proto_write_key(w, "written");
                proto_write_u64(w, r->result.input.written);
                break;
        case PROTO_OP_OUTPUT:
                write_output_result(w, &r->result.output);
                break;
        case PROTO_OP_ACTION:
                proto_write_map(w, 1);
                proto_write_key(w, "result");
                if (r->result.action.result.data)
                        proto_write_value(w, &r->result.action.result);
                else
                        proto_write_nil(w);
                break;
        case PROTO_OP_BATCH:
                write_batch_result(w, &r->result.batch);
                break;
        case PROTO_OP_EVENTS:
                check_count(w, r->result.events.n_events, PROTO_EVENTS_MAX);
                proto_write_map(w, 3 + r->result.events.has_last_seq);
                proto_write_key(w, "events");
                proto_write_array(w, r->result.events.n_events);
                for (size_t i = 0; i < r->result.events.n_events; i++)
                        proto_write_event(w, &r->result.events.events[i]);
                proto_write_key(w, "next_seq");
                proto_write_u64(w, r->result.events.next_seq);
                proto_write_key(w, "oldest_seq");
                proto_write_u64(w, r->result.events.oldest_seq);
                if (r->result.events.has_last_seq) {
                        proto_write_key(w, "last_seq");
                        proto_write_u64(w, r->result.events.last_seq);
                }
                break;
        case PROTO_OP_STATS:
                check_count(w, r->result.stats.n_stats, PROTO_STATS_MAX);
                proto_write_map(w, r->result.stats.n_stats);
                for (size_t i = 0; i < r->result.stats.n_stats; i++) {
                        proto_write_key(w, r->result.stats.stats[i].name);
                        proto_write_i64(w, r->result.stats.stats[i].value);
                }
                break;
        case PROTO_OP_SHUTDOWN:
                proto_write_map(w, 0);
                break;
        default:
                proto_writer_fail(w, -EINVAL);
        }
}

static int encode_reply(const char *id, bool ok, ProtoErrorCode code, const char *msg, const ProtoReply *r,
                        void **ret_buf, size_t *ret_len)
{
        ProtoWriter w;

        if (!ret_buf || !ret_len || strlen(id) > PROTO_ID_MAX)
                return -EINVAL;
        proto_writer_init(&w);
        proto_write_map(&w, 4);
        proto_write_key(&w, "v");
        proto_write_u64(&w, PROTO_VERSION);
        proto_write_key(&w, "id");
        proto_write_str(&w, id);
        proto_write_key(&w, "ok");
        proto_write_bool(&w, ok);
        if (ok) {
                proto_write_key(&w, "data");
                write_result(&w, r);
        } else {
                proto_write_key(&w, "err");
                write_error_map(&w, code, msg, r ? r->error_agent : NULL);
        }
        return proto_writer_finish(&w, ret_buf, ret_len);
}

int proto_reply_encode(const ProtoReply *r, void **ret_buf, size_t *ret_len)
{
        if (!r)
                return -EINVAL;
        if (!r->ok && r->error_msg && strlen(r->error_msg) > PROTO_ERROR_MSG_MAX)
                return -E2BIG;
        if (!r->ok && r->error_agent && strlen(r->error_agent) > PROTO_AGENT_ID_MAX)
                return -E2BIG;
        return encode_reply(r->id ?: "", r->ok, r->error_code, r->error_msg, r, ret_buf, ret_len);
}

int proto_error_reply_encode(const ProtoError *err, void **ret_buf, size_t *ret_len)
{
        if (!err)
                return -EINVAL;
        return encode_reply(err->has_id ? err->id : "", false, err->code, err->msg, NULL, ret_buf, ret_len);
}

int proto_event_encode(const ProtoEvent *e, void **ret_buf, size_t *ret_len)
{
        ProtoWriter w;

        if (!e || !ret_buf || !ret_len)
                return -EINVAL;
        proto_writer_init(&w);
        proto_write_event(&w, e);
        return proto_writer_finish(&w, ret_buf, ret_len);
}
