/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <signal.h>
#include <string.h>

#include "proto-internal.h"
#include "string-util.h"

static const msgpack_object empty_map = {.type = MSGPACK_OBJECT_MAP};

static int get_state(const msgpack_object *map, const char *mapname, bool *ret_has, ProtoState *ret,
                     ProtoError *e)
{
        const msgpack_object *x;
        char name[PROTO_KEYNAME_MAX];
        int r;

        r = proto_map_get(map, mapname, "state", &x, e);
        if (r <= 0)
                return r;
        proto_key_name(name, mapname, "state");
        r = proto_read_state(x, name, ret, e);
        if (r < 0)
                return r;
        *ret_has = true;
        return 0;
}

static int get_labels(const msgpack_object *map, const char *mapname, ProtoStrMap *ret, ProtoError *e)
{
        const msgpack_object *x;
        char name[PROTO_KEYNAME_MAX];
        int r;

        r = proto_map_get(map, mapname, "labels", &x, e);
        if (r <= 0)
                return r;
        proto_key_name(name, mapname, "labels");
        return proto_read_str_map(x, name, PROTO_LABELS_MAX, PROTO_LABEL_KEY_MAX, PROTO_LABEL_VALUE_MAX,
                                  SIZE_MAX, ret, e);
}

static int get_agent(const msgpack_object *a, bool required, char **ret, ProtoError *e)
{
        return proto_get_str(a, "args", "agent", required, 1, PROTO_AGENT_REF_MAX, ret, e);
}

static int decode_list(const msgpack_object *a, ProtoListArgs *ret, ProtoError *e)
{
        int r;

        r = get_state(a, "args", &ret->has_state, &ret->state, e);
        if (r < 0)
                return r;
        r = get_labels(a, "args", &ret->labels, e);
        if (r < 0)
                return r;
        r = proto_get_u64(a, "args", "limit", false, 1, PROTO_AGENTS_MAX, &ret->has_limit, &ret->limit, e);
        if (r < 0)
                return r;
        return proto_get_bool(a, "args", "all", false, NULL, &ret->all, e);
}

static bool name_valid(const char *s)
{
        if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= '0' && s[0] <= '9')))
                return false;
        for (const char *p = s; *p; p++)
                if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-", *p))
                        return false;
        return true;
}

static int decode_spawn(const msgpack_object *a, ProtoSpawnArgs *ret, ProtoError *e)
{
        const msgpack_object *x;
        int r;

        r = proto_map_need(a, "args", "argv", &x, e);
        if (r < 0)
                return r;
        r = proto_read_strv(x, "args.argv", PROTO_ARGV_MAX, PROTO_ARGV_BYTES_MAX, PROTO_ARGV_BYTES_MAX,
                            false, &ret->argv, &ret->n_argv, e);
        if (r < 0)
                return r;
        if (ret->n_argv == 0)
                return proto_error_set(e, PROTO_ERROR_BAD_REQUEST, "args.argv: empty");
        if (ret->argv[0][0] == 0)
                return proto_error_set(e, PROTO_ERROR_BAD_REQUEST, "args.argv: argv[0] is empty");

        r = proto_map_get(a, "args", "env", &x, e);
        if (r < 0)
                return r;
        if (r > 0) {
                r = proto_read_str_map(x, "args.env", PROTO_ENV_MAX, PROTO_ENV_KEY_MAX, PROTO_ENV_BYTES_MAX,
                                       PROTO_ENV_BYTES_MAX, &ret->env, e);
                if (r < 0)
                        return r;
                for (size_t i = 0; i < ret->env.n_pairs; i++)
                        if (strchr(ret->env.pairs[i].key, '='))
                                return proto_error_set(e, PROTO_ERROR_BAD_REQUEST,
                                                       "args.env: variable name contains '='");
        }

        r = proto_get_str(a, "args", "cwd", false, 1, PROTO_PATH_MAX, &ret->cwd, e);
        if (r < 0)
                return r;
        if (ret->cwd && ret->cwd[0] != '/')
                return proto_error_set(e, PROTO_ERROR_BAD_REQUEST, "args.cwd: not an absolute path");
        r = proto_get_str(a, "args", "workspace", false, 1, PROTO_PATH_MAX, &ret->workspace, e);
        if (r < 0)
                return r;
        if (ret->workspace && ret->workspace[0] != '/')
                return proto_error_set(e, PROTO_ERROR_BAD_REQUEST, "args.workspace: not an absolute path");
        r = proto_get_str(a, "args", "name", false, 1, PROTO_NAME_MAX, &ret->name, e);
        if (r < 0)
                return r;
        if (ret->name && !name_valid(ret->name))
                return proto_error_set(e, PROTO_ERROR_BAD_REQUEST,
                                       "args.name: must match [A-Za-z0-9][A-Za-z0-9._-]*");
        r = get_labels(a, "args", &ret->labels, e);
        if (r < 0)
                return r;

        r = proto_map_get(a, "args", "limits", &x, e);
        if (r < 0)
                return r;
        if (r > 0) {
                r = proto_read_limits(x, "args.limits", &ret->limits, e);
                if (r < 0)
                        return r;
        }

        r = proto_get_u64(a, "args", "timeout_ms", false, 1, PROTO_DURATION_MS_MAX, &ret->has_timeout_ms,
                          &ret->timeout_ms, e);
        if (r < 0)
                return r;

        r = proto_map_get(a, "args", "net", &x, e);
        if (r < 0)
                return r;
        if (r > 0) {
                r = proto_read_net(x, "args.net", &ret->net, e);
                if (r < 0)
                        return r;
                ret->has_net = true;
        }

        r = proto_get_str(a, "args", "policy", false, 1, PROTO_SHORT_STRING_MAX, &ret->policy, e);
        if (r < 0)
                return r;
        r = proto_get_str(a, "args", "user", false, 1, PROTO_SHORT_STRING_MAX, &ret->user, e);
        if (r < 0)
                return r;
        return proto_get_bool(a, "args", "stdin", false, NULL, &ret->open_stdin, e);
}

static int decode_stop(const msgpack_object *a, bool batch, ProtoStopArgs *ret, ProtoError *e)
{
        int r;

        if (!batch) {
                r = get_agent(a, true, &ret->agent, e);
                if (r < 0)
                        return r;
        }
        return proto_get_u64(a, "args", "grace_ms", false, 0, PROTO_DURATION_MS_MAX, &ret->has_grace_ms,
                             &ret->grace_ms, e);
}

static int decode_signal(const msgpack_object *a, bool batch, ProtoSignalArgs *ret, ProtoError *e)
{
        const msgpack_object *x;
        int r;

        if (!batch) {
                r = get_agent(a, true, &ret->agent, e);
                if (r < 0)
                        return r;
        }
        r = proto_map_need(a, "args", "signal", &x, e);
        if (r < 0)
                return r;
        if (x->type == MSGPACK_OBJECT_STR) {
                _cleanup_free_ char *s = NULL;

                r = proto_read_str(x, "args.signal", 1, 32, &s, e);
                if (r < 0)
                        return r;
                r = proto_signal_from_string(s);
                if (r < 0)
                        return proto_error_set(e, PROTO_ERROR_BAD_REQUEST,
                                               "args.signal: unknown signal \"%s\"", s);
                ret->signal = r;
                return 0;
        }
        return proto_read_int(x, "args.signal", 1, _NSIG - 1, &ret->signal, e);
}

static int decode_stdin(const msgpack_object *a, ProtoStdinArgs *ret, ProtoError *e)
{
        const msgpack_object *x;
        int r;

        r = get_agent(a, true, &ret->agent, e);
        if (r < 0)
                return r;
        r = proto_map_get(a, "args", "data", &x, e);
        if (r < 0)
                return r;
        if (r > 0) {
                r = proto_read_bin(x, "args.data", PROTO_STDIN_DATA_MAX, &ret->data, e);
                if (r < 0)
                        return r;
        }
        return proto_get_bool(a, "args", "close", false, NULL, &ret->close, e);
}

static int decode_output(const msgpack_object *a, ProtoOutputArgs *ret, ProtoError *e)
{
        const msgpack_object *x;
        uint64_t max;
        int r;

        r = get_agent(a, true, &ret->agent, e);
        if (r < 0)
                return r;
        r = proto_map_get(a, "args", "stream", &x, e);
        if (r < 0)
                return r;
        if (r > 0) {
                r = proto_read_stream(x, "args.stream", &ret->stream, e);
                if (r < 0)
                        return r;
                ret->has_stream = true;
        }
        r = proto_map_get(a, "args", "mode", &x, e);
        if (r < 0)
                return r;
        if (r > 0) {
                r = proto_read_output_mode(x, "args.mode", &ret->mode, e);
                if (r < 0)
                        return r;
                ret->has_mode = true;
        }

        max = ret->has_mode && ret->mode == PROTO_OUTPUT_RAW ? PROTO_OUTPUT_DATA_MAX
                                                             : PROTO_OUTPUT_LINES_MAX;
        r = proto_get_u64(a, "args", "offset", false, 0, UINT64_MAX, &ret->has_offset, &ret->offset, e);
        if (r < 0)
                return r;
        r = proto_get_u64(a, "args", "limit", false, 1, max, &ret->has_limit, &ret->limit, e);
        if (r < 0)
                return r;
        r = proto_get_u64(a, "args", "tail", false, 1, max, &ret->has_tail, &ret->tail, e);
        if (r < 0)
                return r;
        if (ret->has_tail && ret->has_offset)
                return proto_error_set(e, PROTO_ERROR_BAD_REQUEST,
                                       "args: tail and offset exclude each other");
        r = proto_get_str(a, "args", "grep", false, 1, PROTO_GREP_MAX, &ret->grep, e);
        if (r < 0)
                return r;
        if (ret->grep && ret->has_mode && ret->mode == PROTO_OUTPUT_RAW)
                return proto_error_set(e, PROTO_ERROR_BAD_REQUEST, "args.grep: only in lines mode");
        r = proto_get_u64(a, "args", "since_ns", false, 0, UINT64_MAX, &ret->has_since_ns, &ret->since_ns,
                          e);
        if (r < 0)
                return r;
        return proto_get_str(a, "args", "cursor", false, 1, PROTO_CURSOR_MAX, &ret->cursor, e);
}

static int decode_action(const msgpack_object *a, bool batch, ProtoActionArgs *ret, ProtoError *e)
{
        const msgpack_object *x;
        int r;

        if (!batch) {
                r = get_agent(a, true, &ret->agent, e);
                if (r < 0)
                        return r;
        }
        r = proto_get_str(a, "args", "name", true, 1, PROTO_ACTION_NAME_MAX, &ret->name, e);
        if (r < 0)
                return r;
        r = proto_map_get(a, "args", "params", &x, e);
        if (r < 0)
                return r;
        if (r > 0) {
                r = proto_read_value(x, "args.params", true, &ret->params, e);
                if (r < 0)
                        return r;
        }
        return proto_get_u64(a, "args", "timeout_ms", false, 1, PROTO_DURATION_MS_MAX, &ret->has_timeout_ms,
                             &ret->timeout_ms, e);
}

static int decode_batch(const msgpack_object *a, ProtoBatchArgs *ret, ProtoError *e)
{
        const msgpack_object *x, *inner = &empty_map;
        char opname[33] = {};
        int r;

        r = proto_map_need(a, "args", "op", &x, e);
        if (r < 0)
                return r;
        if (x->type != MSGPACK_OBJECT_STR)
                return proto_error_set(e, PROTO_ERROR_BAD_REQUEST, "args.op: expected string");
        ret->op = _PROTO_OP_INVALID;
        if (x->via.str.size < sizeof(opname) && !memchr(x->via.str.ptr, 0, x->via.str.size)) {
                memcpy(opname, x->via.str.ptr, x->via.str.size);
                ret->op = proto_op_from_string(opname);
        }
        if (ret->op < 0 || !proto_op_batchable(ret->op)) {
                ret->op = _PROTO_OP_INVALID;
                return proto_error_set(e, PROTO_ERROR_BAD_REQUEST, "args.op: not an op that can be batched");
        }

        r = proto_map_get(a, "args", "agents", &x, e);
        if (r < 0)
                return r;
        if (r > 0) {
                r = proto_read_strv(x, "args.agents", PROTO_BATCH_AGENTS_MAX, PROTO_AGENT_REF_MAX, SIZE_MAX,
                                    true, &ret->agents, &ret->n_agents, e);
                if (r < 0)
                        return r;
                if (ret->n_agents == 0) /* absent and empty mean the same */
                        ret->agents = strv_free(ret->agents);
        }

        r = proto_map_get(a, "args", "selector", &x, e);
        if (r < 0)
                return r;
        if (r > 0) {
                r = proto_read_map(x, "args.selector", e);
                if (r < 0)
                        return r;
                r = get_state(x, "args.selector", &ret->selector.has_state, &ret->selector.state, e);
                if (r < 0)
                        return r;
                r = get_labels(x, "args.selector", &ret->selector.labels, e);
                if (r < 0)
                        return r;
                r = proto_get_str(x, "args.selector", "name_glob", false, 1, PROTO_SHORT_STRING_MAX,
                                  &ret->selector.name_glob, e);
                if (r < 0)
                        return r;
                ret->has_selector = true;
        }
        if (ret->has_selector == (ret->n_agents > 0))
                return proto_error_set(e, PROTO_ERROR_BAD_REQUEST,
                                       "args: exactly one of agents and selector");

        r = proto_get_bool(a, "args", "fail_fast", false, NULL, &ret->fail_fast, e);
        if (r < 0)
                return r;

        r = proto_map_get(a, "args", "args", &x, e);
        if (r < 0)
                return r;
        if (r > 0) {
                r = proto_read_map(x, "args.args", e);
                if (r < 0)
                        return r;
                inner = x;
        }
        /* The inner arguments are named "args" in errors like the top-level ones: same readers. */
        switch (ret->op) {
        case PROTO_OP_STOP:
                return decode_stop(inner, true, &ret->args.stop, e);
        case PROTO_OP_SIGNAL:
                return decode_signal(inner, true, &ret->args.signal, e);
        case PROTO_OP_ACTION:
                return decode_action(inner, true, &ret->args.action, e);
        default:
                return 0;
        }
}

static int decode_events(const msgpack_object *a, ProtoEventsArgs *ret, ProtoError *e)
{
        int r;

        r = proto_get_u64(a, "args", "since_seq", false, 0, UINT64_MAX, NULL, &ret->since_seq, e);
        if (r < 0)
                return r;
        return proto_get_u64(a, "args", "limit", false, 1, PROTO_EVENTS_MAX, &ret->has_limit, &ret->limit,
                             e);
}

static int decode_args(const msgpack_object *a, ProtoRequest *req, ProtoError *e)
{
        switch (req->op) {
        case PROTO_OP_HEALTH:
        case PROTO_OP_STATS:
                return 0;
        case PROTO_OP_LIST:
                return decode_list(a, &req->args.list, e);
        case PROTO_OP_GET:
        case PROTO_OP_PAUSE:
        case PROTO_OP_RESUME:
        case PROTO_OP_KILL:
        case PROTO_OP_REMOVE:
                return get_agent(a, true, &req->args.agent.agent, e);
        case PROTO_OP_SPAWN:
                return decode_spawn(a, &req->args.spawn, e);
        case PROTO_OP_STOP:
                return decode_stop(a, false, &req->args.stop, e);
        case PROTO_OP_SIGNAL:
                return decode_signal(a, false, &req->args.signal, e);
        case PROTO_OP_STDIN:
                return decode_stdin(a, &req->args.input, e);
        case PROTO_OP_OUTPUT:
                return decode_output(a, &req->args.output, e);
        case PROTO_OP_ACTION:
                return decode_action(a, false, &req->args.action, e);
        case PROTO_OP_BATCH:
                return decode_batch(a, &req->args.batch, e);
        case PROTO_OP_EVENTS:
                return decode_events(a, &req->args.events, e);
        case PROTO_OP_SHUTDOWN:
                return proto_get_bool(a, "args", "stop_agents", false, NULL, &req->args.shutdown.stop_agents,
                                      e);
        default:
                return proto_error_set(e, PROTO_ERROR_INTERNAL, "op %d has no decoder", req->op);
        }
}

/* The id is read before anything else can fail, so that even a refused request gets its answer matched. */
static void peek_id(const msgpack_object *root, ProtoError *e)
{
        e->has_id = false; /* the scan's guess gives way to the real read */
        e->id[0] = 0;
        for (uint32_t i = 0; i < root->via.map.size; i++) {
                const msgpack_object_kv *kv = &root->via.map.ptr[i];

                if (kv->key.type != MSGPACK_OBJECT_STR || kv->key.via.str.size != 2 ||
                    memcmp(kv->key.via.str.ptr, "id", 2) != 0)
                        continue;
                if (e->has_id) { /* a duplicate: which one would the client match? neither */
                        e->has_id = false;
                        e->id[0] = 0;
                        return;
                }
                if (kv->val.type != MSGPACK_OBJECT_STR || kv->val.via.str.size < 1 ||
                    kv->val.via.str.size > PROTO_ID_MAX ||
                    memchr(kv->val.via.str.ptr, 0, kv->val.via.str.size))
                        return;
                memcpy(e->id, kv->val.via.str.ptr, kv->val.via.str.size);
                e->id[kv->val.via.str.size] = 0;
                e->has_id = true;
        }
}

int proto_request_decode(const void *buf, size_t len, ProtoRequest *ret, ProtoError *ret_err)
{
        _cleanup_(proto_unpacked_done) ProtoUnpacked u = {};
        _cleanup_(proto_request_done) ProtoRequest req = {.op = _PROTO_OP_INVALID};
        const msgpack_object *root, *x, *args = &empty_map;
        ProtoError scratch;
        ProtoError *e = ret_err ?: &scratch;
        char opname[33] = {};
        int r;

        proto_error_init(e);
        if (!ret)
                return proto_error_set(e, PROTO_ERROR_INTERNAL, "no result");
        *ret = (ProtoRequest){};

        r = proto_unpack(buf, len, &u, e);
        if (r < 0)
                return r;
        root = &u.u.data;
        if (root->type == MSGPACK_OBJECT_MAP)
                peek_id(root, e); /* before any check of the keys: an integer key is answered with the id */
        r = proto_read_map(root, "", e);
        if (r < 0)
                return r;

        r = proto_get_str(root, "", "id", true, 1, PROTO_ID_MAX, &req.id, e);
        if (r < 0)
                return r;

        r = proto_map_need(root, "", "v", &x, e);
        if (r < 0)
                return r;
        if (x->type != MSGPACK_OBJECT_POSITIVE_INTEGER && x->type != MSGPACK_OBJECT_NEGATIVE_INTEGER)
                return proto_error_set(e, PROTO_ERROR_BAD_REQUEST, "v: expected integer");
        if (x->type == MSGPACK_OBJECT_NEGATIVE_INTEGER || x->via.u64 != PROTO_VERSION)
                return proto_error_set(e, PROTO_ERROR_UNSUPPORTED_VERSION,
                                       "protocol version not supported; this side speaks %d", PROTO_VERSION);
        req.v = PROTO_VERSION;

        r = proto_map_need(root, "", "op", &x, e);
        if (r < 0)
                return r;
        if (x->type != MSGPACK_OBJECT_STR)
                return proto_error_set(e, PROTO_ERROR_BAD_REQUEST, "op: expected string");
        if (x->via.str.size < sizeof(opname) && !memchr(x->via.str.ptr, 0, x->via.str.size)) {
                memcpy(opname, x->via.str.ptr, x->via.str.size);
                req.op = proto_op_from_string(opname);
        }
        if (req.op < 0)
                return opname[0] ? proto_error_set(e, PROTO_ERROR_UNKNOWN_OP, "unknown op \"%s\"", opname)
                                 : proto_error_set(e, PROTO_ERROR_UNKNOWN_OP, "unknown op");
        e->op = req.op;

        r = proto_map_get(root, "", "args", &x, e);
        if (r < 0)
                return r;
        if (r > 0) {
                r = proto_read_map(x, "args", e);
                if (r < 0)
                        return r;
                args = x;
        }
        r = decode_args(args, &req, e);
        if (r < 0)
                return r;

        *ret = req;
        req = (ProtoRequest){};
        return 0;
}
