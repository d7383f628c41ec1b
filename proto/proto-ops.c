/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The op registry: one row per protocol op, and above it the field tables of each op's args and result.
 * Everything that differs between ops is a column or a table here; nothing else in the tree keeps a list of
 * ops. A new op: its enum value and structs in proto.h, its tables and its row below. */
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "proto-type.h"
#include "string-util.h"

#define REQ  PROTO_F_REQUIRED
#define OMIT PROTO_F_OMIT_EMPTY
#define LABELS_BOUNDS                                                                                       \
        .max = PROTO_LABELS_MAX, .max_len = PROTO_LABEL_KEY_MAX, .max_value = PROTO_LABEL_VALUE_MAX,        \
        .max_total = SIZE_MAX
/* The first row of every per-agent op's args; a batch's inner args are the same table without it. */
#define AGENT_ROW(T) PROTO_ROW(T, agent, "agent", STR, .flags = REQ, .min = 1, .max = PROTO_AGENT_REF_MAX)
#define BATCH_TYPE(n, T, f)                                                                                 \
        {                                                                                                   \
                .name = (n), .size = sizeof(T), .fields = (f) + 1, .n_fields = ELEMENTSOF(f) - 1            \
        }

/* ---- list ---- */

static const ProtoField list_args_fields[] = {
        PROTO_OPT(ProtoListArgs, state, has_state, "state", ENUM, .enum_names = &proto_state_names),
        PROTO_ROW(ProtoListArgs, labels, "labels", STR_MAP, .flags = OMIT, LABELS_BOUNDS),
        PROTO_OPT(ProtoListArgs, limit, has_limit, "limit", U64, .min = 1, .max = PROTO_AGENTS_MAX),
        PROTO_ROW(ProtoListArgs, all, "all", BOOL, .flags = OMIT),
        PROTO_OPT(ProtoListArgs, usage, has_usage, "usage", BOOL),
};
static const ProtoType list_args_type = PROTO_TYPE("list_args", ProtoListArgs, list_args_fields);

static const ProtoField list_result_fields[] = {
        PROTO_ROW(ProtoListResult, agents, "agents", ARRAY, .flags = REQ,
                  .aux = offsetof(ProtoListResult, n_agents), .max = PROTO_AGENTS_MAX,
                  .type = &proto_agent_info_type),
};
static const ProtoType list_result_type = PROTO_TYPE("list_result", ProtoListResult, list_result_fields);

/* ---- get, pause, resume, kill, remove; and INFO results ---- */

static const ProtoField agent_args_fields[] = {
        AGENT_ROW(ProtoAgentArgs),
};
static const ProtoType agent_args_type = PROTO_TYPE("agent_args", ProtoAgentArgs, agent_args_fields);

static const ProtoField agent_result_fields[] = {
        PROTO_ROW(ProtoAgentResult, agent, "agent", OBJECT, .flags = REQ, .type = &proto_agent_info_type),
};
static const ProtoType agent_result_type = PROTO_TYPE("agent_result", ProtoAgentResult, agent_result_fields);

/* ---- spawn ---- */

static int check_argv0(const void *obj, const char *mapname, ProtoError *e)
{
        const ProtoSpawnArgs *a = obj;

        if (a->n_argv > 0 && a->argv[0][0] == 0)
                return proto_error_set(e, PROTO_ERROR_BAD_REQUEST, "%s.argv: argv[0] is empty", mapname);
        return 0;
}

static int check_env(const void *obj, const char *mapname, ProtoError *e)
{
        const ProtoSpawnArgs *a = obj;

        for (size_t i = 0; i < a->env.n_pairs; i++)
                if (strchr(a->env.pairs[i].key, '='))
                        return proto_error_set(e, PROTO_ERROR_BAD_REQUEST,
                                               "%s.env: variable name contains '='", mapname);
        return 0;
}

static int check_cwd(const void *obj, const char *mapname, ProtoError *e)
{
        const ProtoSpawnArgs *a = obj;

        if (a->cwd && a->cwd[0] != '/')
                return proto_error_set(e, PROTO_ERROR_BAD_REQUEST, "%s.cwd: not an absolute path", mapname);
        return 0;
}

static int check_workspace(const void *obj, const char *mapname, ProtoError *e)
{
        const ProtoSpawnArgs *a = obj;

        if (a->workspace && a->workspace[0] != '/')
                return proto_error_set(e, PROTO_ERROR_BAD_REQUEST, "%s.workspace: not an absolute path",
                                       mapname);
        return 0;
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

static int check_name(const void *obj, const char *mapname, ProtoError *e)
{
        const ProtoSpawnArgs *a = obj;

        if (a->name && !name_valid(a->name))
                return proto_error_set(e, PROTO_ERROR_BAD_REQUEST,
                                       "%s.name: must match [A-Za-z0-9][A-Za-z0-9._-]*", mapname);
        return 0;
}

/* Runs after the last field: argv or backend, one of them. */
static int check_argv_or_backend(const void *obj, const char *mapname, ProtoError *e)
{
        const ProtoSpawnArgs *a = obj;

        if (a->argv && a->has_backend)
                return proto_error_set(e, PROTO_ERROR_BAD_REQUEST,
                                       "%s: give argv or backend, not both (a backend makes the argv)",
                                       mapname);
        if (!a->argv && !a->has_backend)
                return proto_error_set(e, PROTO_ERROR_BAD_REQUEST,
                                       "missing required key %s.argv (or %s.backend)", mapname, mapname);
        return 0;
}

static const ProtoField backend_ref_fields[] = {
        PROTO_ROW(ProtoBackendRef, name, "name", STR, .flags = REQ, .min = 1, .max = PROTO_BACKEND_NAME_MAX),
        PROTO_ROW(ProtoBackendRef, task, "task", STR, .max = PROTO_BACKEND_TEXT_MAX),
        PROTO_ROW(ProtoBackendRef, model, "model", STR, .min = 1, .max = PROTO_SHORT_STRING_MAX),
        PROTO_ROW(ProtoBackendRef, system_prompt, "system_prompt", STR, .max = PROTO_BACKEND_TEXT_MAX),
};
static const ProtoType backend_ref_type = PROTO_TYPE("backend", ProtoBackendRef, backend_ref_fields);

static int check_tty(const void *obj, const char *mapname, ProtoError *e)
{
        const ProtoSpawnArgs *a = obj;

        if (a->tty && a->open_stdin)
                return proto_error_set(
                        e, PROTO_ERROR_BAD_REQUEST,
                        "%s: tty and stdin exclude each other (a terminal is the agent's stdin)", mapname);
        return 0;
}

static const ProtoField spawn_args_fields[] = {
        PROTO_ROW(ProtoSpawnArgs, argv, "argv", STRV, .flags = OMIT | PROTO_F_NONEMPTY,
                  .aux = offsetof(ProtoSpawnArgs, n_argv), .max = PROTO_ARGV_MAX,
                  .max_len = PROTO_ARGV_BYTES_MAX, .max_total = PROTO_ARGV_BYTES_MAX, .check = check_argv0),
        PROTO_ROW(ProtoSpawnArgs, env, "env", STR_MAP, .flags = OMIT, .max = PROTO_ENV_MAX,
                  .max_len = PROTO_ENV_KEY_MAX, .max_value = PROTO_ENV_BYTES_MAX,
                  .max_total = PROTO_ENV_BYTES_MAX, .check = check_env),
        PROTO_ROW(ProtoSpawnArgs, cwd, "cwd", STR, .min = 1, .max = PROTO_PATH_MAX, .check = check_cwd),
        PROTO_ROW(ProtoSpawnArgs, workspace, "workspace", STR, .min = 1, .max = PROTO_PATH_MAX,
                  .check = check_workspace),
        PROTO_ROW(ProtoSpawnArgs, name, "name", STR, .min = 1, .max = PROTO_NAME_MAX, .check = check_name),
        PROTO_ROW(ProtoSpawnArgs, labels, "labels", STR_MAP, .flags = OMIT, LABELS_BOUNDS),
        PROTO_ROW(ProtoSpawnArgs, limits, "limits", OBJECT, .flags = OMIT, .type = &proto_limits_type),
        PROTO_OPT(ProtoSpawnArgs, timeout_ms, has_timeout_ms, "timeout_ms", U64, .min = 1,
                  .max = PROTO_DURATION_MS_MAX),
        PROTO_OPT(ProtoSpawnArgs, net, has_net, "net", ENUM, .enum_names = &proto_net_names),
        PROTO_ROW(ProtoSpawnArgs, policy, "policy", STR, .min = 1, .max = PROTO_SHORT_STRING_MAX),
        PROTO_ROW(ProtoSpawnArgs, user, "user", STR, .min = 1, .max = PROTO_SHORT_STRING_MAX),
        PROTO_ROW(ProtoSpawnArgs, open_stdin, "stdin", BOOL, .flags = OMIT),
        PROTO_ROW(ProtoSpawnArgs, tty, "tty", BOOL, .flags = OMIT, .check = check_tty),
        PROTO_OPT(ProtoSpawnArgs, backend, has_backend, "backend", OBJECT, .type = &backend_ref_type,
                  .flags = PROTO_F_CHECK_ENCODE, .check = check_argv_or_backend),
        PROTO_OPT(ProtoSpawnArgs, health_check, has_health_check, "health_check", OBJECT,
                  .type = &proto_health_check_type),
};
static const ProtoType spawn_args_type = PROTO_TYPE("spawn_args", ProtoSpawnArgs, spawn_args_fields);

/* ---- stop ---- */

static const ProtoField stop_args_fields[] = {
        AGENT_ROW(ProtoStopArgs),
        PROTO_OPT(ProtoStopArgs, grace_ms, has_grace_ms, "grace_ms", U64, .max = PROTO_DURATION_MS_MAX),
};
static const ProtoType stop_args_type = PROTO_TYPE("stop_args", ProtoStopArgs, stop_args_fields);
static const ProtoType stop_batch_args_type = BATCH_TYPE("stop_args", ProtoStopArgs, stop_args_fields);

/* ---- wait ---- */

static const ProtoField wait_args_fields[] = {
        AGENT_ROW(ProtoWaitArgs),
        PROTO_OPT(ProtoWaitArgs, timeout_ms, has_timeout_ms, "timeout_ms", U64, .min = 1,
                  .max = PROTO_DURATION_MS_MAX),
};
static const ProtoType wait_args_type = PROTO_TYPE("wait_args", ProtoWaitArgs, wait_args_fields);

/* ---- signal: an int or a name on the wire ---- */

static size_t one_key(const void *obj)
{
        (void)obj;
        return 1;
}

static void signal_encode(ProtoWriter *w, const void *obj)
{
        proto_write_key(w, "signal");
        proto_write_i64(w, ((const ProtoSignalArgs *)obj)->signal);
}

static int signal_decode(const msgpack_object *map, const char *mapname, void *obj, ProtoError *e)
{
        ProtoSignalArgs *a = obj;
        const msgpack_object *x;
        char name[PROTO_KEYNAME_MAX];
        int r;

        r = proto_map_need(map, mapname, "signal", &x, e);
        if (r < 0)
                return r;
        proto_key_name(name, mapname, "signal");
        if (x->type == MSGPACK_OBJECT_STR) {
                _cleanup_free_ char *s = NULL;

                r = proto_read_str(x, name, 1, 32, &s, e);
                if (r < 0)
                        return r;
                r = proto_signal_from_string(s);
                if (r < 0)
                        return proto_error_set(e, PROTO_ERROR_BAD_REQUEST, "%s: unknown signal \"%s\"", name,
                                               s);
                a->signal = r;
                return 0;
        }
        return proto_read_int(x, name, 1, _NSIG - 1, &a->signal, e);
}

static void signal_json(JsonWriter *w, const void *obj)
{
        json_writer_kv_int(w, "signal", ((const ProtoSignalArgs *)obj)->signal);
}

static const ProtoCodec signal_codec = {
        .count = one_key,
        .encode = signal_encode,
        .decode = signal_decode,
        .json = signal_json,
};

static const ProtoField signal_args_fields[] = {
        AGENT_ROW(ProtoSignalArgs),
        PROTO_CUSTOM("signal", signal_codec),
};
static const ProtoType signal_args_type = PROTO_TYPE("signal_args", ProtoSignalArgs, signal_args_fields);
static const ProtoType signal_batch_args_type =
        BATCH_TYPE("signal_args", ProtoSignalArgs, signal_args_fields);

/* ---- stdin ---- */

static const ProtoField stdin_args_fields[] = {
        AGENT_ROW(ProtoStdinArgs),
        PROTO_ROW(ProtoStdinArgs, data, "data", BIN, .max = PROTO_STDIN_DATA_MAX),
        PROTO_ROW(ProtoStdinArgs, close, "close", BOOL, .flags = OMIT),
};
static const ProtoType stdin_args_type = PROTO_TYPE("stdin_args", ProtoStdinArgs, stdin_args_fields);

static const ProtoField stdin_result_fields[] = {
        PROTO_ROW(ProtoStdinResult, written, "written", U64, .flags = REQ, .max = UINT64_MAX),
};
static const ProtoType stdin_result_type = PROTO_TYPE("stdin_result", ProtoStdinResult, stdin_result_fields);

/* ---- output ---- */

static bool output_raw(const ProtoOutputArgs *a)
{
        return a->has_mode && a->mode == PROTO_OUTPUT_RAW;
}

static uint64_t output_count_max(const void *obj)
{
        return output_raw(obj) ? PROTO_OUTPUT_DATA_MAX : PROTO_OUTPUT_LINES_MAX;
}

static int check_tail(const void *obj, const char *mapname, ProtoError *e)
{
        const ProtoOutputArgs *a = obj;

        if (a->has_tail && a->has_offset)
                return proto_error_set(e, PROTO_ERROR_BAD_REQUEST, "%s: tail and offset exclude each other",
                                       mapname);
        return 0;
}

static int check_grep(const void *obj, const char *mapname, ProtoError *e)
{
        const ProtoOutputArgs *a = obj;

        if (a->grep && output_raw(a))
                return proto_error_set(e, PROTO_ERROR_BAD_REQUEST, "%s.grep: only in lines mode", mapname);
        return 0;
}

static const ProtoField output_args_fields[] = {
        AGENT_ROW(ProtoOutputArgs),
        PROTO_OPT(ProtoOutputArgs, stream, has_stream, "stream", ENUM, .enum_names = &proto_stream_names),
        PROTO_OPT(ProtoOutputArgs, mode, has_mode, "mode", ENUM, .enum_names = &proto_output_mode_names),
        PROTO_OPT(ProtoOutputArgs, offset, has_offset, "offset", U64, .max = UINT64_MAX),
        PROTO_OPT(ProtoOutputArgs, limit, has_limit, "limit", U64, .min = 1, .max_of = output_count_max),
        PROTO_OPT(ProtoOutputArgs, tail, has_tail, "tail", U64, .min = 1, .max_of = output_count_max,
                  .check = check_tail),
        PROTO_ROW(ProtoOutputArgs, grep, "grep", STR, .min = 1, .max = PROTO_GREP_MAX, .check = check_grep),
        PROTO_OPT(ProtoOutputArgs, since_ns, has_since_ns, "since_ns", U64, .max = UINT64_MAX),
        PROTO_ROW(ProtoOutputArgs, cursor, "cursor", STR, .min = 1, .max = PROTO_CURSOR_MAX),
};
static const ProtoType output_args_type = PROTO_TYPE("output_args", ProtoOutputArgs, output_args_fields);

static int check_line_stream(const void *obj, const char *mapname, ProtoError *e)
{
        if (((const ProtoOutputLine *)obj)->stream == PROTO_STREAM_BOTH)
                return proto_error_set(e, PROTO_ERROR_BAD_REQUEST, "%s.stream: stdout or stderr", mapname);
        return 0;
}

static const ProtoField output_line_fields[] = {
        PROTO_ROW(ProtoOutputLine, seq, "seq", U64, .flags = REQ, .max = UINT64_MAX),
        PROTO_ROW(ProtoOutputLine, ts_ns, "ts_ns", U64, .flags = REQ, .max = UINT64_MAX),
        /* .max: never sent as "both" */
        PROTO_ROW(ProtoOutputLine, stream, "stream", ENUM, .flags = REQ, .enum_names = &proto_stream_names,
                  .max = PROTO_STREAM_BOTH, .check = check_line_stream),
        PROTO_ROW(ProtoOutputLine, text, "text", TEXT, .flags = REQ,
                  .aux = offsetof(ProtoOutputLine, text_size), .max = PROTO_OUTPUT_LINE_MAX),
        /* JSON: `descartesctl logs -o json` shows truncated only on a truncated line */
        PROTO_ROW(ProtoOutputLine, truncated, "truncated", BOOL, .flags = OMIT | PROTO_F_JSON_OMIT),
};
const ProtoType proto_output_line_type = PROTO_TYPE("output_line", ProtoOutputLine, output_line_fields);

/* Exactly one of lines (lines mode) and data (raw mode), which also says the mode. */
static const ProtoField output_body_fields[] = {
        PROTO_ROW(ProtoOutputResult, lines, "lines", ARRAY, .flags = REQ,
                  .aux = offsetof(ProtoOutputResult, n_lines), .max = PROTO_OUTPUT_LINES_MAX,
                  .type = &proto_output_line_type),
        PROTO_ROW(ProtoOutputResult, data, "data", BIN, .flags = REQ, .max = PROTO_OUTPUT_DATA_MAX),
};
static const ProtoType output_lines_type = {.fields = output_body_fields, .n_fields = 1};
static const ProtoType output_data_type = {.fields = output_body_fields + 1, .n_fields = 1};

static const ProtoType *output_body(const ProtoOutputResult *o)
{
        return o->mode == PROTO_OUTPUT_RAW     ? &output_data_type
               : o->mode == PROTO_OUTPUT_LINES ? &output_lines_type
                                               : NULL;
}

static void output_body_encode(ProtoWriter *w, const void *obj)
{
        const ProtoType *t = output_body(obj);

        if (!t)
                proto_writer_fail(w, -EINVAL);
        else
                proto_type_write_fields(w, t, obj);
}

static int output_body_decode(const msgpack_object *map, const char *mapname, void *obj, ProtoError *e)
{
        ProtoOutputResult *o = obj;
        const msgpack_object *lines, *data;
        int r;

        r = proto_map_get(map, mapname, "lines", &lines, e);
        if (r < 0)
                return r;
        r = proto_map_get(map, mapname, "data", &data, e);
        if (r < 0)
                return r;
        if (!lines == !data)
                return proto_error_set(e, PROTO_ERROR_BAD_REQUEST, "%s: exactly one of lines and data",
                                       mapname);
        o->mode = data ? PROTO_OUTPUT_RAW : PROTO_OUTPUT_LINES;
        return proto_type_read_fields(map, mapname, output_body(o), o, e);
}

static void output_body_free(void *obj)
{
        proto_type_free_fields(&output_lines_type, obj);
        proto_type_free_fields(&output_data_type, obj);
}

static void output_body_json(JsonWriter *w, const void *obj)
{
        const ProtoType *t = output_body(obj);

        if (t)
                proto_json_write_fields(w, t, obj);
}

static const ProtoCodec output_body_codec = {
        .count = one_key,
        .encode = output_body_encode,
        .decode = output_body_decode,
        .free = output_body_free,
        .json = output_body_json,
};

static const ProtoField output_result_fields[] = {
        PROTO_CUSTOM("lines|data", output_body_codec),
        PROTO_ROW(ProtoOutputResult, total, "total", U64, .flags = REQ, .max = UINT64_MAX),
        PROTO_ROW(ProtoOutputResult, has_more, "has_more", BOOL, .flags = REQ),
        /* optional: daemons before the work budget never cut a scan short */
        PROTO_ROW(ProtoOutputResult, partial, "partial", BOOL),
        PROTO_ROW(ProtoOutputResult, cursor, "cursor", STR, .min = 1, .max = PROTO_CURSOR_MAX),
        PROTO_ROW(ProtoOutputResult, dropped, "dropped", U64, .flags = REQ, .max = UINT64_MAX),
};
static const ProtoType output_result_type =
        PROTO_TYPE("output_result", ProtoOutputResult, output_result_fields);

/* ---- action ---- */

static const ProtoField action_args_fields[] = {
        AGENT_ROW(ProtoActionArgs),
        PROTO_ROW(ProtoActionArgs, name, "name", STR, .flags = REQ, .min = 1, .max = PROTO_ACTION_NAME_MAX),
        PROTO_ROW(ProtoActionArgs, params, "params", VALUE, .flags = PROTO_F_MAP),
        PROTO_OPT(ProtoActionArgs, timeout_ms, has_timeout_ms, "timeout_ms", U64, .min = 1,
                  .max = PROTO_ACTION_TIMEOUT_MAX_MS),
};
static const ProtoType action_args_type = PROTO_TYPE("action_args", ProtoActionArgs, action_args_fields);
static const ProtoType action_batch_args_type =
        BATCH_TYPE("action_args", ProtoActionArgs, action_args_fields);

static const ProtoField action_result_fields[] = {
        PROTO_ROW(ProtoActionResult, result, "result", VALUE, .flags = REQ | PROTO_F_NIL),
};
static const ProtoType action_result_type =
        PROTO_TYPE("action_result", ProtoActionResult, action_result_fields);

/* ---- batch ---- */

static const ProtoType *batch_inner(ProtoOp op)
{
        const ProtoOpInfo *i = proto_op_info(op);
        return i ? i->batch_args : NULL;
}

static void batch_op_encode(ProtoWriter *w, const void *obj)
{
        const ProtoBatchArgs *a = obj;

        if (!proto_op_batchable(a->op) || (a->n_agents > 0) == a->has_selector)
                proto_writer_fail(w, -EINVAL);
        proto_write_key(w, "op");
        if (proto_op_to_string(a->op))
                proto_write_str(w, proto_op_to_string(a->op));
        else
                proto_write_nil(w);
}

static int batch_op_decode(const msgpack_object *map, const char *mapname, void *obj, ProtoError *e)
{
        ProtoBatchArgs *a = obj;
        const msgpack_object *x;
        char opname[33] = {};
        int r;

        r = proto_map_need(map, mapname, "op", &x, e);
        if (r < 0)
                return r;
        if (x->type != MSGPACK_OBJECT_STR)
                return proto_error_set(e, PROTO_ERROR_BAD_REQUEST, "%s.op: expected string", mapname);
        a->op = _PROTO_OP_INVALID;
        if (x->via.str.size < sizeof(opname) && !memchr(x->via.str.ptr, 0, x->via.str.size)) {
                memcpy(opname, x->via.str.ptr, x->via.str.size);
                a->op = proto_op_from_string(opname);
        }
        if (a->op < 0 || !proto_op_batchable(a->op)) {
                a->op = _PROTO_OP_INVALID;
                return proto_error_set(e, PROTO_ERROR_BAD_REQUEST, "%s.op: not an op that can be batched",
                                       mapname);
        }
        return 0;
}

static void batch_op_json(JsonWriter *w, const void *obj)
{
        json_writer_kv_string(w, "op", proto_op_to_string(((const ProtoBatchArgs *)obj)->op));
}

static const ProtoCodec batch_op_codec = {
        .count = one_key,
        .encode = batch_op_encode,
        .decode = batch_op_decode,
        .json = batch_op_json,
};

static size_t batch_args_count(const void *obj)
{
        return batch_inner(((const ProtoBatchArgs *)obj)->op) ? 1 : 0;
}

static void batch_args_encode(ProtoWriter *w, const void *obj)
{
        const ProtoBatchArgs *a = obj;
        const ProtoType *t = batch_inner(a->op);

        if (!t)
                return;
        proto_write_key(w, "args");
        proto_type_write(w, t, &a->args);
}

/* The inner arguments are named "args" in errors like the top-level ones: same tables. */
static int batch_args_decode(const msgpack_object *map, const char *mapname, void *obj, ProtoError *e)
{
        static const msgpack_object empty_map = {.type = MSGPACK_OBJECT_MAP};
        ProtoBatchArgs *a = obj;
        const msgpack_object *x, *inner = &empty_map;
        char name[PROTO_KEYNAME_MAX];
        int r;

        r = proto_map_get(map, mapname, "args", &x, e);
        if (r < 0)
                return r;
        if (r > 0) {
                proto_key_name(name, mapname, "args");
                r = proto_read_map(x, name, e);
                if (r < 0)
                        return r;
                inner = x;
        }
        if (!batch_inner(a->op))
                return 0;
        return proto_type_read_fields(inner, mapname, batch_inner(a->op), &a->args, e);
}

static void batch_args_free(void *obj)
{
        ProtoBatchArgs *a = obj;

        if (batch_inner(a->op))
                proto_type_free_fields(batch_inner(a->op), &a->args);
}

static void batch_args_json(JsonWriter *w, const void *obj)
{
        const ProtoBatchArgs *a = obj;

        if (!batch_inner(a->op))
                return;
        json_writer_key(w, "args");
        proto_json_write(w, batch_inner(a->op), &a->args);
}

static const ProtoCodec batch_args_codec = {
        .count = batch_args_count,
        .encode = batch_args_encode,
        .decode = batch_args_decode,
        .free = batch_args_free,
        .json = batch_args_json,
};

static int check_batch_target(const void *obj, const char *mapname, ProtoError *e)
{
        const ProtoBatchArgs *a = obj;

        if (a->has_selector == (a->n_agents > 0))
                return proto_error_set(e, PROTO_ERROR_BAD_REQUEST, "%s: exactly one of agents and selector",
                                       mapname);
        return 0;
}

static const ProtoField batch_args_fields[] = {
        PROTO_CUSTOM("op", batch_op_codec),
        PROTO_ROW(ProtoBatchArgs, agents, "agents", STRV, .flags = OMIT,
                  .aux = offsetof(ProtoBatchArgs, n_agents), .min = 1, .max = PROTO_BATCH_AGENTS_MAX,
                  .max_len = PROTO_AGENT_REF_MAX, .max_total = SIZE_MAX),
        PROTO_OPT(ProtoBatchArgs, selector, has_selector, "selector", OBJECT, .type = &proto_selector_type,
                  .check = check_batch_target),
        PROTO_ROW(ProtoBatchArgs, fail_fast, "fail_fast", BOOL, .flags = OMIT),
        PROTO_CUSTOM("args", batch_args_codec),
};
static const ProtoType batch_args_type = PROTO_TYPE("batch_args", ProtoBatchArgs, batch_args_fields);

/* An item's err is there exactly when it failed. */
static size_t batch_err_count(const void *obj)
{
        return !((const ProtoBatchItem *)obj)->ok;
}

static void batch_err_encode(ProtoWriter *w, const void *obj)
{
        const ProtoBatchItem *b = obj;

        if (b->ok)
                return;
        proto_write_key(w, "err");
        proto_write_error_map(w, b->error_code, b->error_msg, NULL, 0);
}

static int batch_err_decode(const msgpack_object *map, const char *mapname, void *obj, ProtoError *e)
{
        ProtoBatchItem *b = obj;
        const msgpack_object *err;
        char name[PROTO_KEYNAME_MAX];
        int r;

        r = proto_map_get(map, mapname, "err", &err, e);
        if (r < 0)
                return r;
        if (b->ok)
                return 0;
        if (!err)
                return proto_error_set(e, PROTO_ERROR_BAD_REQUEST, "missing required key %s.err", mapname);
        proto_key_name(name, mapname, "err");
        return proto_read_error_map(err, name, &b->error_code, &b->error_msg, e);
}

static void batch_err_free(void *obj)
{
        ProtoBatchItem *b = obj;

        free(b->error_msg);
        b->error_msg = NULL;
}

static void batch_err_json(JsonWriter *w, const void *obj)
{
        const ProtoBatchItem *b = obj;

        json_writer_key(w, "err");
        if (b->ok) {
                json_writer_null(w);
                return;
        }
        json_writer_object_begin(w);
        json_writer_kv_string(w, "code", proto_error_code_to_string(b->error_code));
        json_writer_kv_string(w, "msg", b->error_msg ?: "");
        json_writer_object_end(w);
}

static const ProtoCodec batch_err_codec = {
        .count = batch_err_count,
        .encode = batch_err_encode,
        .decode = batch_err_decode,
        .free = batch_err_free,
        .json = batch_err_json,
};

static const ProtoField batch_item_fields[] = {
        PROTO_ROW(ProtoBatchItem, agent, "agent", STR, .flags = REQ, .min = 1, .max = PROTO_AGENT_REF_MAX),
        PROTO_ROW(ProtoBatchItem, ok, "ok", BOOL, .flags = REQ),
        PROTO_CUSTOM("err", batch_err_codec),
};
static const ProtoType batch_item_type = PROTO_TYPE("batch_item", ProtoBatchItem, batch_item_fields);

static const ProtoField batch_result_fields[] = {
        PROTO_ROW(ProtoBatchResult, results, "results", ARRAY, .flags = REQ,
                  .aux = offsetof(ProtoBatchResult, n_results), .max = PROTO_BATCH_AGENTS_MAX,
                  .type = &batch_item_type),
        PROTO_ROW(ProtoBatchResult, ok_count, "ok_count", U64, .flags = REQ, .max = UINT64_MAX),
        PROTO_ROW(ProtoBatchResult, failed_count, "failed_count", U64, .flags = REQ, .max = UINT64_MAX),
};
static const ProtoType batch_result_type = PROTO_TYPE("batch_result", ProtoBatchResult, batch_result_fields);

/* ---- events ---- */

static const ProtoField events_args_fields[] = {
        PROTO_ROW(ProtoEventsArgs, since_seq, "since_seq", U64, .max = UINT64_MAX),
        PROTO_OPT(ProtoEventsArgs, limit, has_limit, "limit", U64, .min = 1, .max = PROTO_EVENTS_MAX),
};
static const ProtoType events_args_type = PROTO_TYPE("events_args", ProtoEventsArgs, events_args_fields);

static const ProtoField events_result_fields[] = {
        PROTO_ROW(ProtoEventsResult, events, "events", ARRAY, .flags = REQ,
                  .aux = offsetof(ProtoEventsResult, n_events), .max = PROTO_EVENTS_MAX,
                  .type = &proto_event_type),
        PROTO_ROW(ProtoEventsResult, next_seq, "next_seq", U64, .flags = REQ, .max = UINT64_MAX),
        PROTO_ROW(ProtoEventsResult, oldest_seq, "oldest_seq", U64, .flags = REQ, .max = UINT64_MAX),
        PROTO_OPT(ProtoEventsResult, last_seq, has_last_seq, "last_seq", U64, .max = UINT64_MAX),
        PROTO_ROW(ProtoEventsResult, filtered, "filtered", BOOL, .flags = OMIT),
};
static const ProtoType events_result_type =
        PROTO_TYPE("events_result", ProtoEventsResult, events_result_fields);

/* ---- subscribe ---- */

static const ProtoField subscribe_args_fields[] = {
        PROTO_OPT(ProtoSubscribeArgs, since_seq, has_since_seq, "since_seq", U64, .max = UINT64_MAX),
        PROTO_ROW(ProtoSubscribeArgs, agent, "agent", STR, .min = 1, .max = PROTO_AGENT_REF_MAX),
};
static const ProtoType subscribe_args_type =
        PROTO_TYPE("subscribe_args", ProtoSubscribeArgs, subscribe_args_fields);

static const ProtoField subscribe_result_fields[] = {
        PROTO_ROW(ProtoSubscribeResult, last_seq, "last_seq", U64, .flags = REQ, .max = UINT64_MAX),
        PROTO_ROW(ProtoSubscribeResult, oldest_seq, "oldest_seq", U64, .flags = REQ, .max = UINT64_MAX),
        PROTO_ROW(ProtoSubscribeResult, filtered, "filtered", BOOL, .flags = REQ),
        PROTO_ROW(ProtoSubscribeResult, heartbeat_ms, "heartbeat_ms", U64, .flags = REQ, .max = UINT64_MAX),
};
static const ProtoType subscribe_result_type =
        PROTO_TYPE("subscribe_result", ProtoSubscribeResult, subscribe_result_fields);

/* ---- attach, attach_input, attach_resize, detach ---- */

static int check_attach(const void *obj, const char *mapname, ProtoError *e)
{
        const ProtoAttachArgs *a = obj;

        if (a->has_rows != a->has_cols)
                return proto_error_set(e, PROTO_ERROR_BAD_REQUEST, "%s: rows and cols come together",
                                       mapname);
        if (a->has_replay && a->has_since_seq)
                return proto_error_set(e, PROTO_ERROR_BAD_REQUEST,
                                       "%s: replay and since_seq exclude each other", mapname);
        if (a->n_exec_argv > 0 && a->has_exec_id)
                return proto_error_set(e, PROTO_ERROR_BAD_REQUEST,
                                       "%s: exec_argv (a new command) and exec_id (a running one) exclude "
                                       "each other",
                                       mapname);
        if (a->n_exec_argv > 0 && (a->has_since_seq || a->has_replay))
                return proto_error_set(e, PROTO_ERROR_BAD_REQUEST,
                                       "%s: a new command's terminal is shown from its start: no replay or "
                                       "since_seq with exec_argv",
                                       mapname);
        return 0;
}

static int check_attach_exec_argv(const void *obj, const char *mapname, ProtoError *e)
{
        const ProtoAttachArgs *a = obj;
        size_t total = 0;

        if (a->n_exec_argv > 0 && a->exec_argv[0][0] == 0)
                return proto_error_set(e, PROTO_ERROR_BAD_REQUEST, "%s.exec_argv: exec_argv[0] is empty",
                                       mapname);
        for (size_t i = 0; i < a->n_exec_argv; i++)
                total += strlen(a->exec_argv[i]) + 1;
        if (total > PROTO_EXEC_ARGV_BYTES_MAX)
                return proto_error_set(e, PROTO_ERROR_BAD_REQUEST,
                                       "%s.exec_argv: %zu bytes with their NULs exceed %d", mapname, total,
                                       PROTO_EXEC_ARGV_BYTES_MAX);
        return 0;
}

static const ProtoField attach_args_fields[] = {
        AGENT_ROW(ProtoAttachArgs),
        PROTO_ROW(ProtoAttachArgs, read_only, "read_only", BOOL, .flags = OMIT),
        PROTO_OPT(ProtoAttachArgs, replay, has_replay, "replay", U64, .max = PROTO_ATTACH_REPLAY_MAX),
        PROTO_OPT(ProtoAttachArgs, since_seq, has_since_seq, "since_seq", U64, .max = UINT64_MAX),
        PROTO_OPT(ProtoAttachArgs, rows, has_rows, "rows", U32, .min = 1, .max = PROTO_TTY_SIZE_MAX),
        PROTO_OPT(ProtoAttachArgs, cols, has_cols, "cols", U32, .min = 1, .max = PROTO_TTY_SIZE_MAX),
        PROTO_ROW(ProtoAttachArgs, exec_argv, "exec_argv", STRV, .flags = OMIT | PROTO_F_NONEMPTY,
                  .aux = offsetof(ProtoAttachArgs, n_exec_argv), .max = PROTO_EXEC_ARGV_MAX,
                  .max_len = PROTO_EXEC_ARGV_BYTES_MAX, .max_total = PROTO_EXEC_ARGV_BYTES_MAX,
                  .check = check_attach_exec_argv),
        PROTO_OPT(ProtoAttachArgs, exec_id, has_exec_id, "exec_id", U64, .min = 1, .max = UINT64_MAX,
                  .check = check_attach),
};
static const ProtoType attach_args_type = PROTO_TYPE("attach_args", ProtoAttachArgs, attach_args_fields);

static const ProtoField attach_result_fields[] = {
        PROTO_ROW(ProtoAttachResult, seq, "seq", U64, .flags = REQ, .max = UINT64_MAX),
        PROTO_ROW(ProtoAttachResult, heartbeat_ms, "heartbeat_ms", U64, .flags = REQ, .max = UINT64_MAX),
        PROTO_OPT(ProtoAttachResult, exec_id, has_exec_id, "exec_id", U64, .min = 1, .max = UINT64_MAX),
};
static const ProtoType attach_result_type =
        PROTO_TYPE("attach_result", ProtoAttachResult, attach_result_fields);

static int check_input(const void *obj, const char *mapname, ProtoError *e)
{
        const ProtoAttachInputArgs *a = obj;

        if (a->data.size == 0)
                return proto_error_set(e, PROTO_ERROR_BAD_REQUEST, "%s.data: empty (send at least one byte)",
                                       mapname);
        return 0;
}

static const ProtoField attach_input_args_fields[] = {
        PROTO_ROW(ProtoAttachInputArgs, data, "data", BIN, .flags = REQ, .max = PROTO_ATTACH_INPUT_MAX,
                  .check = check_input),
};
static const ProtoType attach_input_args_type =
        PROTO_TYPE("attach_input_args", ProtoAttachInputArgs, attach_input_args_fields);

static const ProtoField attach_resize_args_fields[] = {
        PROTO_ROW(ProtoAttachResizeArgs, rows, "rows", U32, .flags = REQ, .min = 1,
                  .max = PROTO_TTY_SIZE_MAX),
        PROTO_ROW(ProtoAttachResizeArgs, cols, "cols", U32, .flags = REQ, .min = 1,
                  .max = PROTO_TTY_SIZE_MAX),
};
static const ProtoType attach_resize_args_type =
        PROTO_TYPE("attach_resize_args", ProtoAttachResizeArgs, attach_resize_args_fields);

/* ---- health ---- */

/* agents{STATE: n}: every state on the wire; states this side does not know (a newer daemon) are skipped,
 * missing ones count 0. */
#define STATE_ROW(s, k) PROTO_ROW(ProtoHealthResult, agents[s], k, U64, .max = UINT64_MAX)
static const ProtoField health_agents_fields[] = {
        STATE_ROW(PROTO_STATE_STARTING, "starting"), STATE_ROW(PROTO_STATE_RUNNING, "running"),
        STATE_ROW(PROTO_STATE_PAUSING, "pausing"),   STATE_ROW(PROTO_STATE_PAUSED, "paused"),
        STATE_ROW(PROTO_STATE_RESUMING, "resuming"), STATE_ROW(PROTO_STATE_STOPPING, "stopping"),
        STATE_ROW(PROTO_STATE_EXITED, "exited"),     STATE_ROW(PROTO_STATE_FAILED, "failed"),
};
_Static_assert(ELEMENTSOF(health_agents_fields) == _PROTO_STATE_MAX, "a row per state");
static const ProtoType health_agents_type = PROTO_INLINE_TYPE("health_agents", health_agents_fields);

static const ProtoField host_fields[] = {
        PROTO_ROW(ProtoHostInfo, cpus, "cpus", U32, .flags = REQ, .max = UINT32_MAX),
        PROTO_ROW(ProtoHostInfo, mem_total, "mem_total", U64, .flags = REQ, .max = UINT64_MAX),
        PROTO_ROW(ProtoHostInfo, mem_available, "mem_available", U64, .flags = REQ, .max = UINT64_MAX),
        PROTO_ROW(ProtoHostInfo, load1, "load1", DOUBLE, .flags = REQ),
        PROTO_ROW(ProtoHostInfo, load5, "load5", DOUBLE, .flags = REQ),
        PROTO_ROW(ProtoHostInfo, load15, "load15", DOUBLE, .flags = REQ),
};
static const ProtoType host_type = PROTO_TYPE("host", ProtoHostInfo, host_fields);

/* cgroup.{root,controllers} */
static const ProtoField health_cgroup_fields[] = {
        PROTO_ROW(ProtoHealthResult, cgroup_root, "root", STR, .flags = REQ, .max = PROTO_PATH_MAX),
        PROTO_ROW(ProtoHealthResult, cgroup_controllers, "controllers", STRV, .flags = REQ,
                  .aux = offsetof(ProtoHealthResult, n_cgroup_controllers), .min = 1,
                  .max = PROTO_CONTROLLERS_MAX, .max_len = PROTO_SHORT_STRING_MAX, .max_total = SIZE_MAX),
};
static const ProtoType health_cgroup_type = PROTO_INLINE_TYPE("health_cgroup", health_cgroup_fields);

static const ProtoField health_result_fields[] = {
        PROTO_ROW(ProtoHealthResult, version, "version", STR, .flags = REQ, .max = PROTO_SHORT_STRING_MAX),
        PROTO_ROW(ProtoHealthResult, protocol, "protocol", U32, .flags = REQ, .max = UINT32_MAX),
        PROTO_ROW(ProtoHealthResult, uptime_s, "uptime_s", U64, .flags = REQ, .max = UINT64_MAX),
        {.key = "agents", .kind = PROTO_KIND_OBJECT, .flags = REQ, .has = -1, .type = &health_agents_type},
        PROTO_ROW(ProtoHealthResult, host, "host", OBJECT, .flags = REQ, .type = &host_type),
        {.key = "cgroup", .kind = PROTO_KIND_OBJECT, .flags = REQ, .has = -1, .type = &health_cgroup_type},
};
static const ProtoType health_result_type =
        PROTO_TYPE("health_result", ProtoHealthResult, health_result_fields);

/* ---- stats: a map of counter name to value, the one result whose keys are data ---- */

static size_t stats_count(const void *obj)
{
        return ((const ProtoStatsResult *)obj)->n_stats;
}

static void stats_encode(ProtoWriter *w, const void *obj)
{
        const ProtoStatsResult *s = obj;

        if (s->n_stats > PROTO_STATS_MAX)
                proto_writer_fail(w, -E2BIG);
        for (size_t i = 0; i < s->n_stats; i++) {
                proto_write_key(w, s->stats[i].name);
                proto_write_i64(w, s->stats[i].value);
        }
}

static int stats_decode(const msgpack_object *d, const char *mapname, void *obj, ProtoError *e)
{
        ProtoStatsResult *ret = obj;

        if (d->via.map.size > PROTO_STATS_MAX)
                return proto_error_set(e, PROTO_ERROR_BAD_REQUEST, "%s: %" PRIu32 " entries exceed %d",
                                       mapname, d->via.map.size, PROTO_STATS_MAX);
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
                r = proto_read_str(&kv->key, mapname, 1, PROTO_SHORT_STRING_MAX, &s->name, e);
                if (r < 0)
                        return r;
                for (uint32_t j = 0; j < i; j++)
                        if (streq(ret->stats[j].name, s->name))
                                return proto_error_set(e, PROTO_ERROR_BAD_REQUEST, "%s.%s: duplicate key",
                                                       mapname, s->name);
                r = proto_read_i64(&kv->val, "data.<stat>", INT64_MIN, INT64_MAX, &s->value, e);
                if (r < 0)
                        return r;
        }
        return 0;
}

static void stats_free(void *obj)
{
        ProtoStatsResult *s = obj;

        for (size_t i = 0; i < s->n_stats; i++)
                free(s->stats[i].name);
        free(s->stats);
        s->stats = NULL;
        s->n_stats = 0;
}

static void stats_json(JsonWriter *w, const void *obj)
{
        const ProtoStatsResult *s = obj;

        for (size_t i = 0; i < s->n_stats; i++)
                json_writer_kv_int(w, s->stats[i].name, s->stats[i].value);
}

static const ProtoCodec stats_codec = {
        .count = stats_count,
        .encode = stats_encode,
        .decode = stats_decode,
        .free = stats_free,
        .json = stats_json,
};
static const ProtoType stats_result_type = {
        .name = "stats_result", .size = sizeof(ProtoStatsResult), .codec = &stats_codec};

/* ---- metrics ---- */

static const ProtoField metrics_result_fields[] = {
        PROTO_ROW(ProtoMetricsResult, text, "text", STR, .flags = REQ, .max = PROTO_METRICS_TEXT_MAX),
};
static const ProtoType metrics_result_type =
        PROTO_TYPE("metrics_result", ProtoMetricsResult, metrics_result_fields);

/* ---- tenants ---- */

static const ProtoField tenant_quota_fields[] = {
        /* an absent quota is left out of the JSON too, like an agent's limits */
        PROTO_OPT(ProtoTenantQuota, cpu_millicores, has_cpu, "cpu_millicores", U64, .min = 10,
                  .max = UINT32_MAX, .flags = PROTO_F_JSON_OMIT),
        PROTO_OPT(ProtoTenantQuota, memory, has_memory, "memory", U64, .min = 1, .max = UINT64_MAX,
                  .flags = PROTO_F_JSON_OMIT),
        PROTO_OPT(ProtoTenantQuota, swap, has_swap, "swap", U64, .max = UINT64_MAX,
                  .flags = PROTO_F_JSON_OMIT),
        PROTO_OPT(ProtoTenantQuota, pids, has_pids, "pids", U64, .min = 1, .max = UINT64_MAX,
                  .flags = PROTO_F_JSON_OMIT),
        PROTO_OPT(ProtoTenantQuota, agents, has_agents, "agents", U64, .max = UINT64_MAX,
                  .flags = PROTO_F_JSON_OMIT),
};
static const ProtoType tenant_quota_type = PROTO_TYPE("tenant_quota", ProtoTenantQuota, tenant_quota_fields);

static const ProtoField tenant_fields[] = {
        PROTO_ROW(ProtoTenant, uid, "uid", U32, .flags = REQ, .max = UINT32_MAX),
        PROTO_ROW(ProtoTenant, user, "user", STR, .min = 1, .max = PROTO_SHORT_STRING_MAX),
        PROTO_ROW(ProtoTenant, agents, "agents", U64, .flags = REQ, .max = UINT64_MAX),
        PROTO_OPT(ProtoTenant, usage, has_usage, "usage", OBJECT, .type = &proto_usage_type),
        PROTO_ROW(ProtoTenant, quota, "quota", OBJECT, .flags = REQ, .type = &tenant_quota_type),
};
static const ProtoType tenant_type = PROTO_TYPE("tenant", ProtoTenant, tenant_fields);

static const ProtoField tenants_result_fields[] = {
        PROTO_ROW(ProtoTenantsResult, tenants, "tenants", ARRAY, .flags = REQ,
                  .aux = offsetof(ProtoTenantsResult, n_tenants), .max = PROTO_TENANTS_MAX,
                  .type = &tenant_type),
};
static const ProtoType tenants_result_type =
        PROTO_TYPE("tenants_result", ProtoTenantsResult, tenants_result_fields);

/* ---- exec ---- */

static int check_exec_argv(const void *obj, const char *mapname, ProtoError *e)
{
        const ProtoExecArgs *a = obj;
        size_t total = 0;

        if (a->n_argv > 0 && a->argv[0][0] == 0)
                return proto_error_set(e, PROTO_ERROR_BAD_REQUEST, "%s.argv: argv[0] is empty", mapname);
        for (size_t i = 0; i < a->n_argv; i++)
                total += strlen(a->argv[i]) + 1;
        if (total > PROTO_EXEC_ARGV_BYTES_MAX)
                return proto_error_set(e, PROTO_ERROR_BAD_REQUEST,
                                       "%s.argv: %zu bytes with their NULs exceed %d", mapname, total,
                                       PROTO_EXEC_ARGV_BYTES_MAX);
        return 0;
}

static const ProtoField exec_args_fields[] = {
        AGENT_ROW(ProtoExecArgs),
        PROTO_ROW(ProtoExecArgs, argv, "argv", STRV, .flags = REQ | PROTO_F_NONEMPTY,
                  .aux = offsetof(ProtoExecArgs, n_argv), .max = PROTO_EXEC_ARGV_MAX,
                  .max_len = PROTO_EXEC_ARGV_BYTES_MAX, .max_total = PROTO_EXEC_ARGV_BYTES_MAX,
                  .check = check_exec_argv),
        PROTO_ROW(ProtoExecArgs, input, "stdin", BIN, .max = PROTO_EXEC_STDIN_MAX),
        PROTO_OPT(ProtoExecArgs, timeout_ms, has_timeout_ms, "timeout_ms", U64, .min = 1,
                  .max = PROTO_EXEC_TIMEOUT_MAX_MS),
};
static const ProtoType exec_args_type = PROTO_TYPE("exec_args", ProtoExecArgs, exec_args_fields);

static const ProtoField exec_result_fields[] = {
        PROTO_OPT(ProtoExecResult, exit_code, has_exit_code, "exit_code", INT, .smin = 0, .smax = 255),
        PROTO_OPT(ProtoExecResult, signal, has_signal, "signal", INT, .smin = 1, .smax = 64),
        PROTO_ROW(ProtoExecResult, timed_out, "timed_out", BOOL, .flags = REQ),
        PROTO_ROW(ProtoExecResult, out, "stdout", BIN, .flags = REQ, .max = PROTO_EXEC_OUTPUT_MAX),
        PROTO_ROW(ProtoExecResult, err, "stderr", BIN, .flags = REQ, .max = PROTO_EXEC_OUTPUT_MAX),
        PROTO_ROW(ProtoExecResult, stdout_bytes, "stdout_bytes", U64, .flags = REQ, .max = UINT64_MAX),
        PROTO_ROW(ProtoExecResult, stderr_bytes, "stderr_bytes", U64, .flags = REQ, .max = UINT64_MAX),
        PROTO_ROW(ProtoExecResult, duration_us, "duration_us", U64, .flags = REQ, .max = UINT64_MAX),
};
static const ProtoType exec_result_type = PROTO_TYPE("exec_result", ProtoExecResult, exec_result_fields);

/* ---- shutdown ---- */

static const ProtoField shutdown_args_fields[] = {
        PROTO_ROW(ProtoShutdownArgs, stop_agents, "stop_agents", BOOL, .flags = OMIT),
};
static const ProtoType shutdown_args_type =
        PROTO_TYPE("shutdown_args", ProtoShutdownArgs, shutdown_args_fields);

/* ---- the registry ---- */

#define INFO_OP .replies_info = true, .result = &agent_result_type

static const ProtoOpInfo proto_ops[_PROTO_OP_MAX] = {
        [PROTO_OP_HEALTH] = {.name = "health", .args = &proto_empty_type, .result = &health_result_type},
        [PROTO_OP_LIST] = {.name = "list", .args = &list_args_type, .result = &list_result_type},
        [PROTO_OP_GET] =
                {.name = "get", .per_agent = true, .batchable = true, INFO_OP, .args = &agent_args_type},
        [PROTO_OP_SPAWN] = {.name = "spawn",
                            .changes_state = true,
                            INFO_OP,
                            .parks = true,
                            .timeout = PROTO_TIMEOUT_LONG,
                            .args = &spawn_args_type},
        [PROTO_OP_PAUSE] = {.name = "pause",
                            .changes_state = true,
                            .per_agent = true,
                            .batchable = true,
                            INFO_OP,
                            .parks = true,
                            .args = &agent_args_type},
        [PROTO_OP_RESUME] = {.name = "resume",
                             .changes_state = true,
                             .per_agent = true,
                             .batchable = true,
                             INFO_OP,
                             .parks = true,
                             .args = &agent_args_type},
        [PROTO_OP_STOP] = {.name = "stop",
                           .changes_state = true,
                           .per_agent = true,
                           .batchable = true,
                           INFO_OP,
                           .parks = true,
                           .timeout = PROTO_TIMEOUT_LONG,
                           .args = &stop_args_type,
                           .batch_args = &stop_batch_args_type},
        [PROTO_OP_KILL] = {.name = "kill",
                           .changes_state = true,
                           .per_agent = true,
                           .batchable = true,
                           INFO_OP,
                           .parks = true,
                           .timeout = PROTO_TIMEOUT_LONG,
                           .args = &agent_args_type},
        [PROTO_OP_SIGNAL] = {.name = "signal",
                             .changes_state = true,
                             .per_agent = true,
                             .batchable = true,
                             INFO_OP,
                             .args = &signal_args_type,
                             .batch_args = &signal_batch_args_type},
        [PROTO_OP_STDIN] = {.name = "stdin",
                            .changes_state = true,
                            .per_agent = true,
                            .parks = true,
                            .args = &stdin_args_type,
                            .result = &stdin_result_type},
        [PROTO_OP_OUTPUT] = {.name = "output",
                             .per_agent = true,
                             .args = &output_args_type,
                             .result = &output_result_type},
        [PROTO_OP_ACTION] = {.name = "action",
                             .changes_state = true,
                             .per_agent = true,
                             .batchable = true,
                             .timeout = PROTO_TIMEOUT_LONG,
                             .args = &action_args_type,
                             .result = &action_result_type,
                             .batch_args = &action_batch_args_type},
        [PROTO_OP_BATCH] = {.name = "batch",
                            .timeout = PROTO_TIMEOUT_LONG,
                            .args = &batch_args_type,
                            .result = &batch_result_type},
        [PROTO_OP_EVENTS] = {.name = "events", .args = &events_args_type, .result = &events_result_type},
        [PROTO_OP_REMOVE] = {.name = "remove",
                             .changes_state = true,
                             .per_agent = true,
                             .batchable = true,
                             INFO_OP,
                             .parks = true,
                             .timeout = PROTO_TIMEOUT_LONG,
                             .args = &agent_args_type},
        [PROTO_OP_STATS] = {.name = "stats", .args = &proto_empty_type, .result = &stats_result_type},
        [PROTO_OP_SHUTDOWN] = {.name = "shutdown",
                               .changes_state = true,
                               .admin_only = true,
                               .args = &shutdown_args_type,
                               .result = &proto_empty_type},
        [PROTO_OP_WAIT] = {.name = "wait",
                           .per_agent = true,
                           INFO_OP,
                           .parks = true,
                           .timeout = PROTO_TIMEOUT_LONG,
                           .args = &wait_args_type},
        [PROTO_OP_TENANTS] = {.name = "tenants", .args = &proto_empty_type, .result = &tenants_result_type},
        [PROTO_OP_SUBSCRIBE] = {.name = "subscribe",
                                .per_connection = true,
                                .args = &subscribe_args_type,
                                .result = &subscribe_result_type},
        [PROTO_OP_UNSUBSCRIBE] = {.name = "unsubscribe",
                                  .per_connection = true,
                                  .args = &proto_empty_type,
                                  .result = &proto_empty_type},
        [PROTO_OP_EXEC] = {.name = "exec",
                           .changes_state = true,
                           .per_agent = true,
                           .parks = true,
                           .timeout = PROTO_TIMEOUT_LONG,
                           .args = &exec_args_type,
                           .result = &exec_result_type},
        [PROTO_OP_ATTACH] = {.name = "attach",
                             .per_connection = true,
                             .args = &attach_args_type,
                             .result = &attach_result_type},
        [PROTO_OP_ATTACH_INPUT] = {.name = "attach_input",
                                   .per_connection = true,
                                   .args = &attach_input_args_type,
                                   .result = &proto_empty_type},
        [PROTO_OP_ATTACH_RESIZE] = {.name = "attach_resize",
                                    .per_connection = true,
                                    .args = &attach_resize_args_type,
                                    .result = &proto_empty_type},
        [PROTO_OP_DETACH] = {.name = "detach",
                             .per_connection = true,
                             .args = &proto_empty_type,
                             .result = &proto_empty_type},
        [PROTO_OP_METRICS] = {.name = "metrics", .args = &proto_empty_type, .result = &metrics_result_type},
};

const ProtoOpInfo *proto_op_info(ProtoOp op)
{
        if ((int)op < 0 || op >= _PROTO_OP_MAX)
                return NULL;
        return &proto_ops[op];
}

const char *proto_op_to_string(ProtoOp op)
{
        const ProtoOpInfo *i = proto_op_info(op);
        return i ? i->name : NULL;
}

ProtoOp proto_op_from_string(const char *s)
{
        if (!s)
                return _PROTO_OP_INVALID;
        for (ProtoOp op = 0; op < _PROTO_OP_MAX; op++)
                if (streq(proto_ops[op].name, s))
                        return op;
        return _PROTO_OP_INVALID;
}

bool proto_op_batchable(ProtoOp op)
{
        const ProtoOpInfo *i = proto_op_info(op);
        return i && i->batchable;
}

/* ---- the frees of proto.h, one per struct ---- */

#define DEFINE_DONE(func, T, type)                                                                          \
        void func(T *x)                                                                                     \
        {                                                                                                   \
                proto_type_free(&(type), x);                                                                \
        }

DEFINE_DONE(proto_list_args_done, ProtoListArgs, list_args_type)
DEFINE_DONE(proto_agent_args_done, ProtoAgentArgs, agent_args_type)
DEFINE_DONE(proto_spawn_args_done, ProtoSpawnArgs, spawn_args_type)
DEFINE_DONE(proto_stop_args_done, ProtoStopArgs, stop_args_type)
DEFINE_DONE(proto_signal_args_done, ProtoSignalArgs, signal_args_type)
DEFINE_DONE(proto_stdin_args_done, ProtoStdinArgs, stdin_args_type)
DEFINE_DONE(proto_output_args_done, ProtoOutputArgs, output_args_type)
DEFINE_DONE(proto_action_args_done, ProtoActionArgs, action_args_type)
DEFINE_DONE(proto_batch_args_done, ProtoBatchArgs, batch_args_type)
DEFINE_DONE(proto_events_args_done, ProtoEventsArgs, events_args_type)
DEFINE_DONE(proto_subscribe_args_done, ProtoSubscribeArgs, subscribe_args_type)
DEFINE_DONE(proto_exec_args_done, ProtoExecArgs, exec_args_type)
DEFINE_DONE(proto_exec_result_done, ProtoExecResult, exec_result_type)
DEFINE_DONE(proto_attach_args_done, ProtoAttachArgs, attach_args_type)
DEFINE_DONE(proto_attach_input_args_done, ProtoAttachInputArgs, attach_input_args_type)
DEFINE_DONE(proto_health_result_done, ProtoHealthResult, health_result_type)
DEFINE_DONE(proto_list_result_done, ProtoListResult, list_result_type)
DEFINE_DONE(proto_agent_result_done, ProtoAgentResult, agent_result_type)
DEFINE_DONE(proto_output_line_done, ProtoOutputLine, proto_output_line_type)
DEFINE_DONE(proto_output_result_done, ProtoOutputResult, output_result_type)
DEFINE_DONE(proto_action_result_done, ProtoActionResult, action_result_type)
DEFINE_DONE(proto_batch_item_done, ProtoBatchItem, batch_item_type)
DEFINE_DONE(proto_batch_result_done, ProtoBatchResult, batch_result_type)
DEFINE_DONE(proto_events_result_done, ProtoEventsResult, events_result_type)
DEFINE_DONE(proto_stats_result_done, ProtoStatsResult, stats_result_type)
DEFINE_DONE(proto_metrics_result_done, ProtoMetricsResult, metrics_result_type)
DEFINE_DONE(proto_tenants_result_done, ProtoTenantsResult, tenants_result_type)
