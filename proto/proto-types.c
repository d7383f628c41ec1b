/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The enums' names and the field tables of the building blocks every op shares: limits, usage, INFO, the
 * event, the selector. The tables of each op's args and result are with its registry row (proto-ops.c). */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "proto-type.h"
#include "string-table.h"

static const char *const proto_state_table[_PROTO_STATE_MAX] = {
        [PROTO_STATE_STARTING] = "starting", [PROTO_STATE_RUNNING] = "running",
        [PROTO_STATE_PAUSING] = "pausing",   [PROTO_STATE_PAUSED] = "paused",
        [PROTO_STATE_RESUMING] = "resuming", [PROTO_STATE_STOPPING] = "stopping",
        [PROTO_STATE_EXITED] = "exited",     [PROTO_STATE_FAILED] = "failed",
};
DEFINE_STRING_TABLE(proto_state, ProtoState, _PROTO_STATE_MAX, _PROTO_STATE_INVALID)
const ProtoEnumNames proto_state_names = {proto_state_table, _PROTO_STATE_MAX};

static const char *const proto_reason_table[_PROTO_REASON_MAX] = {
        [PROTO_REASON_COMPLETED] = "completed",
        [PROTO_REASON_SIGNALED] = "signaled",
        [PROTO_REASON_OOM_KILLED] = "oom_killed",
        [PROTO_REASON_PIDS_LIMIT] = "pids_limit",
        [PROTO_REASON_TIMED_OUT] = "timed_out",
        [PROTO_REASON_STOPPED] = "stopped",
        [PROTO_REASON_KILLED] = "killed",
        [PROTO_REASON_LOST] = "lost",
        [PROTO_REASON_SPAWN_FAILED] = "spawn_failed",
};
DEFINE_STRING_TABLE(proto_reason, ProtoReason, _PROTO_REASON_MAX, _PROTO_REASON_INVALID)
const ProtoEnumNames proto_reason_names = {proto_reason_table, _PROTO_REASON_MAX};

static const char *const proto_event_kind_table[_PROTO_EVENT_KIND_MAX] = {
        [PROTO_EVENT_STATUS_CHANGED] = "status_changed",
        [PROTO_EVENT_OUTPUT] = "output",
        [PROTO_EVENT_ERROR] = "error",
        [PROTO_EVENT_EXITED] = "exited",
        [PROTO_EVENT_HEARTBEAT] = "heartbeat",
        [PROTO_EVENT_LIMIT_HIT] = "limit_hit",
        [PROTO_EVENT_HEALTH_CHANGED] = "health_changed",
};
DEFINE_STRING_TABLE(proto_event_kind, ProtoEventKind, _PROTO_EVENT_KIND_MAX, _PROTO_EVENT_KIND_INVALID)
const ProtoEnumNames proto_event_kind_names = {proto_event_kind_table, _PROTO_EVENT_KIND_MAX};

static const char *const proto_stream_table[_PROTO_STREAM_MAX] = {
        [PROTO_STREAM_STDOUT] = "stdout",
        [PROTO_STREAM_STDERR] = "stderr",
        [PROTO_STREAM_BOTH] = "both",
};
DEFINE_STRING_TABLE(proto_stream, ProtoStream, _PROTO_STREAM_MAX, _PROTO_STREAM_INVALID)
const ProtoEnumNames proto_stream_names = {proto_stream_table, _PROTO_STREAM_MAX};

static const char *const proto_output_mode_table[_PROTO_OUTPUT_MODE_MAX] = {
        [PROTO_OUTPUT_LINES] = "lines",
        [PROTO_OUTPUT_RAW] = "raw",
};
DEFINE_STRING_TABLE(proto_output_mode, ProtoOutputMode, _PROTO_OUTPUT_MODE_MAX, _PROTO_OUTPUT_MODE_INVALID)
const ProtoEnumNames proto_output_mode_names = {proto_output_mode_table, _PROTO_OUTPUT_MODE_MAX};

static const char *const proto_net_table[_PROTO_NET_MAX] = {
        [PROTO_NET_NONE] = "none",
        [PROTO_NET_HOST] = "host",
};
DEFINE_STRING_TABLE(proto_net, ProtoNet, _PROTO_NET_MAX, _PROTO_NET_INVALID)
const ProtoEnumNames proto_net_names = {proto_net_table, _PROTO_NET_MAX};

static const char *const proto_health_table[_PROTO_HEALTH_MAX] = {
        [PROTO_HEALTH_STARTING] = "starting",
        [PROTO_HEALTH_HEALTHY] = "healthy",
        [PROTO_HEALTH_UNHEALTHY] = "unhealthy",
};
DEFINE_STRING_TABLE(proto_health, ProtoHealth, _PROTO_HEALTH_MAX, _PROTO_HEALTH_INVALID)
const ProtoEnumNames proto_health_names = {proto_health_table, _PROTO_HEALTH_MAX};

static const char *const proto_on_unhealthy_table[_PROTO_ON_UNHEALTHY_MAX] = {
        [PROTO_ON_UNHEALTHY_NONE] = "none",
        [PROTO_ON_UNHEALTHY_STOP] = "stop",
        [PROTO_ON_UNHEALTHY_KILL] = "kill",
};
DEFINE_STRING_TABLE(proto_on_unhealthy, ProtoOnUnhealthy, _PROTO_ON_UNHEALTHY_MAX,
                    _PROTO_ON_UNHEALTHY_INVALID)
const ProtoEnumNames proto_on_unhealthy_names = {proto_on_unhealthy_table, _PROTO_ON_UNHEALTHY_MAX};

/* ---- building blocks ---- */

const ProtoType proto_empty_type = {.name = "empty"};

static const ProtoField limits_fields[] = {
        PROTO_OPT(ProtoLimits, cpu_millicores, has_cpu, "cpu_millicores", U64, .min = 1, .max = UINT32_MAX,
                  .flags = PROTO_F_JSON_OMIT),
        PROTO_OPT(ProtoLimits, memory, has_memory, "memory", U64, .max = UINT64_MAX,
                  .flags = PROTO_F_JSON_OMIT),
        PROTO_OPT(ProtoLimits, swap, has_swap, "swap", U64, .max = UINT64_MAX, .flags = PROTO_F_JSON_OMIT),
        PROTO_OPT(ProtoLimits, pids, has_pids, "pids", U64, .min = 1, .max = UINT64_MAX,
                  .flags = PROTO_F_JSON_OMIT),
};
const ProtoType proto_limits_type = PROTO_TYPE("limits", ProtoLimits, limits_fields);

static const ProtoField usage_fields[] = {
        PROTO_ROW(ProtoUsage, cpu_usec, "cpu_usec", U64, .flags = PROTO_F_REQUIRED, .max = UINT64_MAX),
        PROTO_ROW(ProtoUsage, memory_current, "memory_current", U64, .flags = PROTO_F_REQUIRED,
                  .max = UINT64_MAX),
        PROTO_ROW(ProtoUsage, memory_peak, "memory_peak", U64, .flags = PROTO_F_REQUIRED, .max = UINT64_MAX),
        PROTO_ROW(ProtoUsage, pids_current, "pids_current", U64, .flags = PROTO_F_REQUIRED,
                  .max = UINT64_MAX),
};
const ProtoType proto_usage_type = PROTO_TYPE("usage", ProtoUsage, usage_fields);

#define LABELS_BOUNDS                                                                                       \
        .max = PROTO_LABELS_MAX, .max_len = PROTO_LABEL_KEY_MAX, .max_value = PROTO_LABEL_VALUE_MAX,        \
        .max_total = SIZE_MAX

static int check_health_check(const void *obj, const char *mapname, ProtoError *e)
{
        const ProtoHealthCheck *h = obj;
        size_t total = 0;

        if (h->n_cmd == 0 && !h->has_idle_timeout_ms)
                return proto_error_set(e, PROTO_ERROR_BAD_REQUEST,
                                       "%s: a cmd or an idle_timeout_ms is needed", mapname);
        if (h->n_cmd > 0 && h->cmd[0][0] == 0)
                return proto_error_set(e, PROTO_ERROR_BAD_REQUEST, "%s.cmd: cmd[0] is empty", mapname);
        for (size_t i = 0; i < h->n_cmd; i++)
                total += strlen(h->cmd[i]) + 1;
        if (total > PROTO_EXEC_ARGV_BYTES_MAX)
                return proto_error_set(e, PROTO_ERROR_BAD_REQUEST,
                                       "%s.cmd: %zu bytes with their NULs exceed %d", mapname, total,
                                       PROTO_EXEC_ARGV_BYTES_MAX);
        return 0;
}

static const ProtoField health_check_fields[] = {
        PROTO_ROW(ProtoHealthCheck, cmd, "cmd", STRV, .flags = PROTO_F_OMIT_EMPTY,
                  .aux = offsetof(ProtoHealthCheck, n_cmd), .max = PROTO_EXEC_ARGV_MAX,
                  .max_len = PROTO_EXEC_ARGV_BYTES_MAX, .max_total = PROTO_EXEC_ARGV_BYTES_MAX),
        PROTO_OPT(ProtoHealthCheck, interval_ms, has_interval_ms, "interval_ms", U64,
                  .min = PROTO_HEALTH_INTERVAL_MIN_MS, .max = PROTO_DURATION_MS_MAX),
        PROTO_OPT(ProtoHealthCheck, timeout_ms, has_timeout_ms, "timeout_ms", U64, .min = 1,
                  .max = PROTO_EXEC_TIMEOUT_MAX_MS),
        PROTO_OPT(ProtoHealthCheck, retries, has_retries, "retries", U64, .min = 1,
                  .max = PROTO_HEALTH_RETRIES_MAX),
        PROTO_OPT(ProtoHealthCheck, idle_timeout_ms, has_idle_timeout_ms, "idle_timeout_ms", U64,
                  .min = PROTO_HEALTH_IDLE_MIN_MS, .max = PROTO_DURATION_MS_MAX),
        PROTO_OPT(ProtoHealthCheck, on_unhealthy, has_on_unhealthy, "on_unhealthy", ENUM,
                  .enum_names = &proto_on_unhealthy_names, .check = check_health_check),
};
const ProtoType proto_health_check_type = PROTO_TYPE("health_check", ProtoHealthCheck, health_check_fields);

static const ProtoField health_last_fields[] = {
        PROTO_ROW(ProtoHealthLast, ts_ns, "ts_ns", U64, .flags = PROTO_F_REQUIRED, .max = UINT64_MAX),
        PROTO_OPT(ProtoHealthLast, exit_code, has_exit_code, "exit_code", INT, .smin = 0, .smax = 255),
        PROTO_ROW(ProtoHealthLast, timed_out, "timed_out", BOOL,
                  .flags = PROTO_F_OMIT_EMPTY | PROTO_F_JSON_OMIT),
        PROTO_ROW(ProtoHealthLast, output, "output", BIN, .max = PROTO_HEALTH_OUTPUT_MAX),
        PROTO_ROW(ProtoHealthLast, failures, "failures", U64, .flags = PROTO_F_REQUIRED, .max = UINT64_MAX),
        PROTO_ROW(ProtoHealthLast, reason, "reason", STR, .min = 1, .max = PROTO_HEALTH_REASON_MAX),
};
static const ProtoType health_last_type = PROTO_TYPE("health_last", ProtoHealthLast, health_last_fields);

/* INFO */
static const ProtoField agent_info_fields[] = {
        PROTO_ROW(ProtoAgentInfo, id, "id", STR, .flags = PROTO_F_REQUIRED, .min = 1,
                  .max = PROTO_AGENT_ID_MAX),
        PROTO_ROW(ProtoAgentInfo, name, "name", STR, .min = 1, .max = PROTO_NAME_MAX),
        PROTO_ROW(ProtoAgentInfo, state, "state", ENUM, .flags = PROTO_F_REQUIRED,
                  .enum_names = &proto_state_names),
        PROTO_OPT(ProtoAgentInfo, reason, has_reason, "reason", ENUM, .enum_names = &proto_reason_names),
        PROTO_OPT(ProtoAgentInfo, exit_code, has_exit_code, "exit_code", INT, .smin = INT_MIN,
                  .smax = INT_MAX),
        PROTO_OPT(ProtoAgentInfo, signal, has_signal, "signal", INT, .smin = 1, .smax = 255),
        PROTO_ROW(ProtoAgentInfo, owner_uid, "owner_uid", U32, .flags = PROTO_F_REQUIRED, .max = UINT32_MAX),
        PROTO_ROW(ProtoAgentInfo, labels, "labels", STR_MAP, .flags = PROTO_F_REQUIRED, LABELS_BOUNDS),
        PROTO_ROW(ProtoAgentInfo, argv, "argv", STRV, .flags = PROTO_F_REQUIRED | PROTO_F_NONEMPTY,
                  .aux = offsetof(ProtoAgentInfo, n_argv), .max = PROTO_ARGV_MAX,
                  .max_len = PROTO_ARGV_BYTES_MAX, .max_total = PROTO_ARGV_BYTES_MAX),
        PROTO_ROW(ProtoAgentInfo, created_ns, "created_ns", U64, .flags = PROTO_F_REQUIRED,
                  .max = UINT64_MAX),
        PROTO_OPT(ProtoAgentInfo, started_ns, has_started_ns, "started_ns", U64, .max = UINT64_MAX),
        PROTO_OPT(ProtoAgentInfo, ended_ns, has_ended_ns, "ended_ns", U64, .max = UINT64_MAX),
        PROTO_OPT(ProtoAgentInfo, spawn_us, has_spawn_us, "spawn_us", U64, .max = UINT64_MAX),
        PROTO_OPT(ProtoAgentInfo, pid, has_pid, "pid", INT, .smin = 1, .smax = INT_MAX),
        PROTO_ROW(ProtoAgentInfo, cgroup, "cgroup", STR, .max = PROTO_PATH_MAX),
        PROTO_ROW(ProtoAgentInfo, limits, "limits", OBJECT, .flags = PROTO_F_REQUIRED,
                  .type = &proto_limits_type),
        PROTO_OPT(ProtoAgentInfo, usage, has_usage, "usage", OBJECT, .type = &proto_usage_type),
        PROTO_OPT(ProtoAgentInfo, uid, has_uid, "uid", U32, .max = UINT32_MAX),
        PROTO_OPT(ProtoAgentInfo, gid, has_gid, "gid", U32, .max = UINT32_MAX),
        PROTO_ROW(ProtoAgentInfo, tty, "tty", BOOL, .flags = PROTO_F_OMIT_EMPTY | PROTO_F_JSON_OMIT),
        PROTO_OPT(ProtoAgentInfo, health_check, has_health_check, "health_check", OBJECT,
                  .type = &proto_health_check_type, .flags = PROTO_F_JSON_OMIT),
        PROTO_OPT(ProtoAgentInfo, health, has_health, "health", ENUM, .enum_names = &proto_health_names,
                  .flags = PROTO_F_JSON_OMIT),
        PROTO_OPT(ProtoAgentInfo, health_last, has_health_last, "health_last", OBJECT,
                  .type = &health_last_type, .flags = PROTO_F_JSON_OMIT),
};
const ProtoType proto_agent_info_type = PROTO_TYPE("agent_info", ProtoAgentInfo, agent_info_fields);

static const ProtoField event_fields[] = {
        PROTO_ROW(ProtoEvent, seq, "seq", U64, .flags = PROTO_F_REQUIRED, .max = UINT64_MAX),
        PROTO_ROW(ProtoEvent, ts_ns, "ts_ns", U64, .flags = PROTO_F_REQUIRED, .max = UINT64_MAX),
        PROTO_ROW(ProtoEvent, kind, "kind", ENUM, .flags = PROTO_F_REQUIRED,
                  .enum_names = &proto_event_kind_names),
        PROTO_ROW(ProtoEvent, agent, "agent", STR, .min = 1, .max = PROTO_AGENT_ID_MAX),
        PROTO_OPT(ProtoEvent, state, has_state, "state", ENUM, .enum_names = &proto_state_names),
        PROTO_OPT(ProtoEvent, reason, has_reason, "reason", ENUM, .enum_names = &proto_reason_names),
        PROTO_ROW(ProtoEvent, data, "data", VALUE, .flags = PROTO_F_MAP),
};
const ProtoType proto_event_type = PROTO_TYPE("event", ProtoEvent, event_fields);

static const ProtoField selector_fields[] = {
        PROTO_OPT(ProtoSelector, state, has_state, "state", ENUM, .enum_names = &proto_state_names),
        PROTO_ROW(ProtoSelector, labels, "labels", STR_MAP, .flags = PROTO_F_OMIT_EMPTY, LABELS_BOUNDS),
        PROTO_ROW(ProtoSelector, name_glob, "name_glob", STR, .min = 1, .max = PROTO_SHORT_STRING_MAX),
};
const ProtoType proto_selector_type = PROTO_TYPE("selector", ProtoSelector, selector_fields);

/* ---- INFO and events on their own ---- */

int proto_agent_info_encode(const ProtoAgentInfo *i, void **ret_buf, size_t *ret_len)
{
        if (!i || !i->id || !i->argv || i->n_argv == 0)
                return -EINVAL;
        return proto_type_encode(&proto_agent_info_type, i, ret_buf, ret_len);
}

int proto_agent_info_decode(const void *buf, size_t len, ProtoAgentInfo *ret, ProtoError *ret_err)
{
        return proto_type_decode(buf, len, &proto_agent_info_type, ret, ret_err);
}

int proto_event_encode(const ProtoEvent *e, void **ret_buf, size_t *ret_len)
{
        return proto_type_encode(&proto_event_type, e, ret_buf, ret_len);
}

int proto_event_decode(const void *buf, size_t len, ProtoEvent *ret, ProtoError *ret_err)
{
        return proto_type_decode(buf, len, &proto_event_type, ret, ret_err);
}

/* ---- frees ---- */

void proto_value_done(ProtoValue *v)
{
        if (!v)
                return;
        free(v->data);
        *v = (ProtoValue){};
}

void proto_bytes_done(ProtoBytes *b)
{
        if (!b)
                return;
        free(b->data);
        *b = (ProtoBytes){};
}

void proto_str_map_done(ProtoStrMap *m)
{
        if (!m)
                return;
        for (size_t i = 0; i < m->n_pairs; i++) {
                free(m->pairs[i].key);
                free(m->pairs[i].value);
        }
        free(m->pairs);
        *m = (ProtoStrMap){};
}

void proto_agent_info_done(ProtoAgentInfo *i)
{
        proto_type_free(&proto_agent_info_type, i);
}

void proto_event_done(ProtoEvent *e)
{
        proto_type_free(&proto_event_type, e);
}

void proto_selector_done(ProtoSelector *s)
{
        proto_type_free(&proto_selector_type, s);
}
