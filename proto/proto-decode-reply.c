/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "proto-internal.h"
#include "string-util.h"

static int need_array(const msgpack_object *map, const char *mapname, const char *key, size_t max,
                      const msgpack_object **ret, ProtoError *e)
{
        char name[PROTO_KEYNAME_MAX];
        int r;

        r = proto_map_need(map, mapname, key, ret, e);
        if (r < 0)
                return r;
        proto_key_name(name, mapname, key);
        if ((*ret)->type != MSGPACK_OBJECT_ARRAY)
                return proto_error_set(e, PROTO_ERROR_BAD_REQUEST, "%s: expected array", name);
        if ((*ret)->via.array.size > max)
                return proto_error_set(e, PROTO_ERROR_BAD_REQUEST, "%s: %" PRIu32 " entries exceed %zu",
                                       name, (*ret)->via.array.size, max);
        return 0;
}

static int need_map(const msgpack_object *map, const char *mapname, const char *key,
                    const msgpack_object **ret, ProtoError *e)
{
        char name[PROTO_KEYNAME_MAX];
        int r;

        r = proto_map_need(map, mapname, key, ret, e);
        if (r < 0)
                return r;
        proto_key_name(name, mapname, key);
        return proto_read_map(*ret, name, e);
}

static int get_double(const msgpack_object *map, const char *mapname, const char *key, double *ret,
                      ProtoError *e)
{
        const msgpack_object *x;
        char name[PROTO_KEYNAME_MAX];
        int r;

        r = proto_map_need(map, mapname, key, &x, e);
        if (r < 0)
                return r;
        proto_key_name(name, mapname, key);
        return proto_read_double(x, name, ret, e);
}

static int decode_health(const msgpack_object *d, ProtoHealthResult *ret, ProtoError *e)
{
        const msgpack_object *x;
        uint64_t u;
        int r;

        r = proto_get_str(d, "data", "version", true, 0, PROTO_SHORT_STRING_MAX, &ret->version, e);
        if (r < 0)
                return r;
        r = proto_get_u64(d, "data", "protocol", true, 0, UINT32_MAX, NULL, &u, e);
        if (r < 0)
                return r;
        ret->protocol = (uint32_t)u;
        r = proto_get_u64(d, "data", "uptime_s", true, 0, UINT64_MAX, NULL, &ret->uptime_s, e);
        if (r < 0)
                return r;

        /* States this side does not know (a newer daemon) are skipped; missing ones count 0. */
        r = need_map(d, "data", "agents", &x, e);
        if (r < 0)
                return r;
        for (ProtoState s = 0; s < _PROTO_STATE_MAX; s++) {
                r = proto_get_u64(x, "data.agents", proto_state_to_string(s), false, 0, UINT64_MAX, NULL,
                                  &ret->agents[s], e);
                if (r < 0)
                        return r;
        }

        r = need_map(d, "data", "host", &x, e);
        if (r < 0)
                return r;
        r = proto_get_u64(x, "data.host", "cpus", true, 0, UINT32_MAX, NULL, &u, e);
        if (r < 0)
                return r;
        ret->host.cpus = (uint32_t)u;
        r = proto_get_u64(x, "data.host", "mem_total", true, 0, UINT64_MAX, NULL, &ret->host.mem_total, e);
        if (r < 0)
                return r;
        r = proto_get_u64(x, "data.host", "mem_available", true, 0, UINT64_MAX, NULL,
                          &ret->host.mem_available, e);
        if (r < 0)
                return r;
        r = get_double(x, "data.host", "load1", &ret->host.load1, e);
        if (r < 0)
                return r;
        r = get_double(x, "data.host", "load5", &ret->host.load5, e);
        if (r < 0)
                return r;
        r = get_double(x, "data.host", "load15", &ret->host.load15, e);
        if (r < 0)
                return r;

        r = need_map(d, "data", "cgroup", &x, e);
        if (r < 0)
                return r;
        r = proto_get_str(x, "data.cgroup", "root", true, 0, PROTO_PATH_MAX, &ret->cgroup_root, e);
        if (r < 0)
                return r;
        r = proto_map_need(x, "data.cgroup", "controllers", &x, e);
        if (r < 0)
                return r;
        return proto_read_strv(x, "data.cgroup.controllers", PROTO_CONTROLLERS_MAX, PROTO_SHORT_STRING_MAX,
                               SIZE_MAX, true, &ret->cgroup_controllers, &ret->n_cgroup_controllers, e);
}

static int decode_list(const msgpack_object *d, ProtoListResult *ret, ProtoError *e)
{
        const msgpack_object *x;
        int r;

        r = need_array(d, "data", "agents", PROTO_AGENTS_MAX, &x, e);
        if (r < 0)
                return r;
        if (x->via.array.size == 0)
                return 0;
        ret->agents = calloc(x->via.array.size, sizeof(ProtoAgentInfo));
        if (!ret->agents)
                return proto_error_set(e, PROTO_ERROR_INTERNAL, "out of memory");
        for (uint32_t i = 0; i < x->via.array.size; i++) {
                r = proto_read_agent_info(&x->via.array.ptr[i], "data.agents[]", &ret->agents[i], e);
                if (r < 0)
                        return r;
                ret->n_agents++;
        }
        return 0;
}

static int decode_agent(const msgpack_object *d, ProtoAgentResult *ret, ProtoError *e)
{
        const msgpack_object *x;
        int r;

        r = proto_map_need(d, "data", "agent", &x, e);
        if (r < 0)
                return r;
        return proto_read_agent_info(x, "data.agent", &ret->agent, e);
}

static int decode_output(const msgpack_object *d, ProtoOutputResult *ret, ProtoError *e)
{
        const msgpack_object *lines, *data;
        int r;

        r = proto_map_get(d, "data", "lines", &lines, e);
        if (r < 0)
                return r;
        r = proto_map_get(d, "data", "data", &data, e);
        if (r < 0)
                return r;
        if (!lines == !data)
                return proto_error_set(e, PROTO_ERROR_BAD_REQUEST, "data: exactly one of lines and data");

        if (data) {
                ret->mode = PROTO_OUTPUT_RAW;
                r = proto_read_bin(data, "data.data", PROTO_OUTPUT_DATA_MAX, &ret->data, e);
                if (r < 0)
                        return r;
        } else {
                ret->mode = PROTO_OUTPUT_LINES;
                r = need_array(d, "data", "lines", PROTO_OUTPUT_LINES_MAX, &lines, e);
                if (r < 0)
                        return r;
                if (lines->via.array.size > 0) {
                        ret->lines = calloc(lines->via.array.size, sizeof(ProtoOutputLine));
                        if (!ret->lines)
                                return proto_error_set(e, PROTO_ERROR_INTERNAL, "out of memory");
                }
                for (uint32_t i = 0; i < lines->via.array.size; i++) {
                        const msgpack_object *l = &lines->via.array.ptr[i], *x;
                        ProtoOutputLine *out = &ret->lines[i];

                        ret->n_lines++;
                        r = proto_read_map(l, "data.lines[]", e);
                        if (r < 0)
                                return r;
                        r = proto_get_u64(l, "data.lines[]", "seq", true, 0, UINT64_MAX, NULL, &out->seq, e);
                        if (r < 0)
                                return r;
                        r = proto_get_u64(l, "data.lines[]", "ts_ns", true, 0, UINT64_MAX, NULL, &out->ts_ns,
                                          e);
                        if (r < 0)
                                return r;
                        r = proto_map_need(l, "data.lines[]", "stream", &x, e);
                        if (r < 0)
                                return r;
                        r = proto_read_stream(x, "data.lines[].stream", &out->stream, e);
                        if (r < 0)
                                return r;
                        if (out->stream == PROTO_STREAM_BOTH)
                                return proto_error_set(e, PROTO_ERROR_BAD_REQUEST,
                                                       "data.lines[].stream: stdout or stderr");
                        r = proto_map_need(l, "data.lines[]", "text", &x, e);
                        if (r < 0)
                                return r;
                        r = proto_read_text(x, "data.lines[].text", PROTO_OUTPUT_LINE_MAX, &out->text,
                                            &out->text_size, e);
                        if (r < 0)
                                return r;
                        r = proto_get_bool(l, "data.lines[]", "truncated", false, NULL, &out->truncated, e);
                        if (r < 0)
                                return r;
                }
        }

        r = proto_get_u64(d, "data", "total", true, 0, UINT64_MAX, NULL, &ret->total, e);
        if (r < 0)
                return r;
        r = proto_get_bool(d, "data", "has_more", true, NULL, &ret->has_more, e);
        if (r < 0)
                return r;
        /* optional: daemons before the work budget never cut a scan short */
        r = proto_get_bool(d, "data", "partial", false, NULL, &ret->partial, e);
        if (r < 0)
                return r;
        r = proto_get_str(d, "data", "cursor", false, 1, PROTO_CURSOR_MAX, &ret->cursor, e);
        if (r < 0)
                return r;
        return proto_get_u64(d, "data", "dropped", true, 0, UINT64_MAX, NULL, &ret->dropped, e);
}

static int decode_action(const msgpack_object *d, ProtoActionResult *ret, ProtoError *e)
{
        const msgpack_object *x;
        int r;

        r = proto_map_need(d, "data", "result", &x, e);
        if (r < 0)
                return r;
        return proto_read_value(x, "data.result", false, &ret->result, e);
}

static int decode_error_map(const msgpack_object *o, const char *key, ProtoErrorCode *ret_code,
                            char **ret_msg, ProtoError *e)
{
        const msgpack_object *x;
        char name[PROTO_KEYNAME_MAX];
        int r;

        r = proto_read_map(o, key, e);
        if (r < 0)
                return r;
        r = proto_map_need(o, key, "code", &x, e);
        if (r < 0)
                return r;
        proto_key_name(name, key, "code");
        r = proto_read_error_code(x, name, ret_code, e);
        if (r < 0)
                return r;
        return proto_get_str(o, key, "msg", true, 0, PROTO_ERROR_MSG_MAX, ret_msg, e);
}

static int decode_batch(const msgpack_object *d, ProtoBatchResult *ret, ProtoError *e)
{
        const msgpack_object *x;
        int r;

        r = need_array(d, "data", "results", PROTO_BATCH_AGENTS_MAX, &x, e);
        if (r < 0)
                return r;
        if (x->via.array.size > 0) {
                ret->results = calloc(x->via.array.size, sizeof(ProtoBatchItem));
                if (!ret->results)
                        return proto_error_set(e, PROTO_ERROR_INTERNAL, "out of memory");
        }
        for (uint32_t i = 0; i < x->via.array.size; i++) {
                const msgpack_object *it = &x->via.array.ptr[i], *err;
                ProtoBatchItem *b = &ret->results[i];

                ret->n_results++;
                r = proto_read_map(it, "data.results[]", e);
                if (r < 0)
                        return r;
                r = proto_get_str(it, "data.results[]", "agent", true, 1, PROTO_AGENT_REF_MAX, &b->agent, e);
                if (r < 0)
                        return r;
                r = proto_get_bool(it, "data.results[]", "ok", true, NULL, &b->ok, e);
                if (r < 0)
                        return r;
                r = proto_map_get(it, "data.results[]", "err", &err, e);
                if (r < 0)
                        return r;
                if (!b->ok && !err)
                        return proto_error_set(e, PROTO_ERROR_BAD_REQUEST,
                                               "missing required key data.results[].err");
                if (!b->ok) {
                        r = decode_error_map(err, "data.results[].err", &b->error_code, &b->error_msg, e);
                        if (r < 0)
                                return r;
                }
        }
        r = proto_get_u64(d, "data", "ok_count", true, 0, UINT64_MAX, NULL, &ret->ok_count, e);
        if (r < 0)
                return r;
        return proto_get_u64(d, "data", "failed_count", true, 0, UINT64_MAX, NULL, &ret->failed_count, e);
}

static int decode_events(const msgpack_object *d, ProtoEventsResult *ret, ProtoError *e)
{
        const msgpack_object *x;
        int r;

        r = need_array(d, "data", "events", PROTO_EVENTS_MAX, &x, e);
        if (r < 0)
                return r;
        if (x->via.array.size > 0) {
                ret->events = calloc(x->via.array.size, sizeof(ProtoEvent));
                if (!ret->events)
                        return proto_error_set(e, PROTO_ERROR_INTERNAL, "out of memory");
        }
        for (uint32_t i = 0; i < x->via.array.size; i++) {
                r = proto_read_event(&x->via.array.ptr[i], "data.events[]", &ret->events[i], e);
                if (r < 0)
                        return r;
                ret->n_events++;
        }
        r = proto_get_u64(d, "data", "next_seq", true, 0, UINT64_MAX, NULL, &ret->next_seq, e);
        if (r < 0)
                return r;
        r = proto_get_u64(d, "data", "oldest_seq", true, 0, UINT64_MAX, NULL, &ret->oldest_seq, e);
        if (r < 0)
                return r;
        return proto_get_u64(d, "data", "last_seq", false, 0, UINT64_MAX, &ret->has_last_seq, &ret->last_seq,
                             e);
}

static int decode_stats(const msgpack_object *d, ProtoStatsResult *ret, ProtoError *e)
{
        if (d->via.map.size > PROTO_STATS_MAX)
                return proto_error_set(e, PROTO_ERROR_BAD_REQUEST, "data: %" PRIu32 " entries exceed %d",
                                       d->via.map.size, PROTO_STATS_MAX);
        if (d->via.map.size > 0) {
                ret->stats = calloc(d->via.map.size, sizeof(ProtoStat));
                if (!ret->stats)
                        return proto_error_set(e, PROTO_ERROR_INTERNAL, "out of memory");
        }
        for (uint32_t i = 0; i < d->via.map.size; i++) {
                const msgpack_object_kv *kv = &d->via.map.ptr[i];
                ProtoStat *s = &ret->stats[i];
                int r;

                ret->n_stats++;
                r = proto_read_str(&kv->key, "data", 1, PROTO_SHORT_STRING_MAX, &s->name, e);
                if (r < 0)
                        return r;
                for (uint32_t j = 0; j < i; j++)
                        if (streq(ret->stats[j].name, s->name))
                                return proto_error_set(e, PROTO_ERROR_BAD_REQUEST, "data.%s: duplicate key",
                                                       s->name);
                r = proto_read_i64(&kv->val, "data.<stat>", INT64_MIN, INT64_MAX, &s->value, e);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int decode_result(const msgpack_object *d, ProtoReply *rep, ProtoError *e)
{
        switch (rep->op) {
        case PROTO_OP_HEALTH:
                return decode_health(d, &rep->result.health, e);
        case PROTO_OP_LIST:
                return decode_list(d, &rep->result.list, e);
        case PROTO_OP_GET:
        case PROTO_OP_SPAWN:
        case PROTO_OP_PAUSE:
        case PROTO_OP_RESUME:
        case PROTO_OP_STOP:
        case PROTO_OP_KILL:
        case PROTO_OP_SIGNAL:
        case PROTO_OP_REMOVE:
                return decode_agent(d, &rep->result.agent, e);
        case PROTO_OP_STDIN:
                return proto_get_u64(d, "data", "written", true, 0, UINT64_MAX, NULL,
                                     &rep->result.input.written, e);
        case PROTO_OP_OUTPUT:
                return decode_output(d, &rep->result.output, e);
        case PROTO_OP_ACTION:
                return decode_action(d, &rep->result.action, e);
        case PROTO_OP_BATCH:
                return decode_batch(d, &rep->result.batch, e);
        case PROTO_OP_EVENTS:
                return decode_events(d, &rep->result.events, e);
        case PROTO_OP_STATS:
                return decode_stats(d, &rep->result.stats, e);
        case PROTO_OP_SHUTDOWN:
                return proto_read_map(d, "data", e);
        default:
                return proto_error_set(e, PROTO_ERROR_INTERNAL, "op %d has no decoder", rep->op);
        }
}

int proto_reply_decode(const void *buf, size_t len, ProtoOp expected_op, ProtoReply *ret,
                       ProtoError *ret_err)
{
        _cleanup_(proto_unpacked_done) ProtoUnpacked u = {};
        _cleanup_(proto_reply_done) ProtoReply rep = {};
        const msgpack_object *root, *x;
        ProtoError scratch;
        ProtoError *e = ret_err ?: &scratch;
        int r;

        proto_error_init(e);
        if (!ret)
                return proto_error_set(e, PROTO_ERROR_INTERNAL, "no result");
        *ret = (ProtoReply){};
        if (expected_op < 0 || expected_op >= _PROTO_OP_MAX)
                return proto_error_set(e, PROTO_ERROR_INTERNAL, "invalid expected op");
        e->op = expected_op;

        r = proto_unpack(buf, len, &u, e);
        if (r < 0)
                return r;
        root = &u.u.data;
        r = proto_read_map(root, "", e);
        if (r < 0)
                return r;

        r = proto_get_str(root, "", "id", true, 0, PROTO_ID_MAX, &rep.id, e);
        if (r < 0)
                return r;
        if (rep.id[0]) {
                memcpy(e->id, rep.id, strlen(rep.id) + 1);
                e->has_id = true;
        }

        r = proto_map_need(root, "", "v", &x, e);
        if (r < 0)
                return r;
        if (x->type != MSGPACK_OBJECT_POSITIVE_INTEGER && x->type != MSGPACK_OBJECT_NEGATIVE_INTEGER)
                return proto_error_set(e, PROTO_ERROR_BAD_REQUEST, "v: expected integer");
        if (x->type == MSGPACK_OBJECT_NEGATIVE_INTEGER || x->via.u64 != PROTO_VERSION)
                return proto_error_set(e, PROTO_ERROR_UNSUPPORTED_VERSION,
                                       "protocol version not supported; this side speaks %d", PROTO_VERSION);

        r = proto_get_bool(root, "", "ok", true, NULL, &rep.ok, e);
        if (r < 0)
                return r;

        if (!rep.ok) {
                r = proto_map_need(root, "", "err", &x, e);
                if (r < 0)
                        return r;
                r = decode_error_map(x, "err", &rep.error_code, &rep.error_msg, e);
                if (r < 0)
                        return r;
                r = proto_get_str(x, "err", "agent", false, 1, PROTO_AGENT_ID_MAX, &rep.error_agent, e);
                if (r < 0)
                        return r;
                rep.op = expected_op;
        } else {
                r = proto_map_need(root, "", "data", &x, e);
                if (r < 0)
                        return r;
                r = proto_read_map(x, "data", e);
                if (r < 0)
                        return r;
                rep.op = expected_op;
                r = decode_result(x, &rep, e);
                if (r < 0)
                        return r;
        }

        *ret = rep;
        rep = (ProtoReply){};
        return 0;
}
