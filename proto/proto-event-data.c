/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The data of each event kind: one field table per kind, encoded into and decoded from ProtoValue. */
#include <limits.h>
#include <stdlib.h>

#include "proto-type.h"

static const ProtoField output_data_fields[] = {
        PROTO_ROW(ProtoOutputData, seq_first, "seq_first", U64, .max = UINT64_MAX),
        PROTO_ROW(ProtoOutputData, seq_last, "seq_last", U64, .max = UINT64_MAX),
        PROTO_ROW(ProtoOutputData, bytes, "bytes", U64, .max = UINT64_MAX),
        PROTO_ROW(ProtoOutputData, stdout_bytes, "stdout_bytes", U64, .max = UINT64_MAX),
        PROTO_ROW(ProtoOutputData, stderr_bytes, "stderr_bytes", U64, .max = UINT64_MAX),
        PROTO_ROW(ProtoOutputData, dropped_bytes, "dropped_bytes", U64, .max = UINT64_MAX),
};
static const ProtoType output_data_type = PROTO_TYPE("output_data", ProtoOutputData, output_data_fields);

static const ProtoField error_data_fields[] = {
        PROTO_ROW(ProtoErrorData, msg, "msg", STR, .flags = PROTO_F_REQUIRED, .max = PROTO_VALUE_MAX),
};
static const ProtoType error_data_type = PROTO_TYPE("error_data", ProtoErrorData, error_data_fields);

static const ProtoField exited_data_fields[] = {
        PROTO_OPT(ProtoExitedData, exit_code, has_exit_code, "exit_code", INT, .smin = INT_MIN,
                  .smax = INT_MAX),
        PROTO_OPT(ProtoExitedData, signal, has_signal, "signal", INT, .smin = 1, .smax = 255),
        PROTO_OPT(ProtoExitedData, cpu_usec, has_cpu_usec, "cpu_usec", U64, .max = UINT64_MAX),
        PROTO_OPT(ProtoExitedData, memory_peak, has_memory_peak, "memory_peak", U64, .max = UINT64_MAX),
};
static const ProtoType exited_data_type = PROTO_TYPE("exited_data", ProtoExitedData, exited_data_fields);

static const ProtoField heartbeat_data_fields[] = {
        PROTO_ROW(ProtoHeartbeatData, uptime_s, "uptime_s", U64, .max = UINT64_MAX),
        PROTO_ROW(ProtoHeartbeatData, cpus, "cpus", U32, .max = UINT32_MAX),
        PROTO_ROW(ProtoHeartbeatData, mem_total, "mem_total", U64, .max = UINT64_MAX),
        PROTO_ROW(ProtoHeartbeatData, mem_available, "mem_available", U64, .max = UINT64_MAX),
        PROTO_ROW(ProtoHeartbeatData, load1, "load1", DOUBLE),
};
static const ProtoType heartbeat_data_type =
        PROTO_TYPE("heartbeat_data", ProtoHeartbeatData, heartbeat_data_fields);

static const ProtoField limit_hit_data_fields[] = {
        PROTO_ROW(ProtoLimitHitData, limit, "limit", STR, .flags = PROTO_F_REQUIRED, .min = 1,
                  .max = PROTO_SHORT_STRING_MAX),
        PROTO_ROW(ProtoLimitHitData, count, "count", U64, .max = UINT64_MAX),
};
static const ProtoType limit_hit_data_type =
        PROTO_TYPE("limit_hit_data", ProtoLimitHitData, limit_hit_data_fields);

static const ProtoField health_changed_data_fields[] = {
        PROTO_ROW(ProtoHealthChangedData, health, "health", ENUM, .flags = PROTO_F_REQUIRED,
                  .enum_names = &proto_health_names),
        PROTO_OPT(ProtoHealthChangedData, previous, has_previous, "previous", ENUM,
                  .enum_names = &proto_health_names),
        PROTO_ROW(ProtoHealthChangedData, reason, "reason", STR, .min = 1, .max = PROTO_HEALTH_REASON_MAX),
};
static const ProtoType health_changed_data_type =
        PROTO_TYPE("health_changed_data", ProtoHealthChangedData, health_changed_data_fields);

static const ProtoType *const event_data_types[_PROTO_EVENT_KIND_MAX] = {
        [PROTO_EVENT_OUTPUT] = &output_data_type,
        [PROTO_EVENT_ERROR] = &error_data_type,
        [PROTO_EVENT_EXITED] = &exited_data_type,
        [PROTO_EVENT_HEARTBEAT] = &heartbeat_data_type,
        [PROTO_EVENT_LIMIT_HIT] = &limit_hit_data_type,
        [PROTO_EVENT_HEALTH_CHANGED] = &health_changed_data_type,
};

static const ProtoType *data_type(ProtoEventKind kind)
{
        return kind >= 0 && kind < _PROTO_EVENT_KIND_MAX ? event_data_types[kind] : NULL;
}

int proto_event_data_encode(ProtoEventKind kind, const ProtoEventData *d, ProtoValue *ret)
{
        const ProtoType *t = data_type(kind);
        void *buf = NULL;
        size_t len;
        int r;

        if (!t || !d || !ret)
                return -EINVAL;
        r = proto_type_encode(t, d, &buf, &len);
        if (r < 0)
                return r;
        if (len > PROTO_VALUE_MAX) {
                free(buf);
                return -E2BIG;
        }
        *ret = (ProtoValue){.data = buf, .size = len};
        return 0;
}

int proto_event_data_decode(ProtoEventKind kind, const ProtoValue *v, ProtoEventData *ret,
                            ProtoError *ret_err)
{
        const ProtoType *t = data_type(kind);

        if (!t || !v || !v->data || !ret)
                return -EINVAL;
        return proto_type_decode(v->data, v->size, t, ret, ret_err);
}

void proto_event_data_done(ProtoEventKind kind, ProtoEventData *d)
{
        const ProtoType *t = data_type(kind);

        if (t && d)
                proto_type_free(t, d);
}
