/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The public enums are the protocol's, numbered the same: their names come from proto's tables. */
#include <assert.h>

#include "client-internal.h"

static_assert((int)_DESCARTES_OP_MAX == (int)_PROTO_OP_MAX, "DescartesOp mirrors ProtoOp");
static_assert((int)DESCARTES_OP_SHUTDOWN == (int)PROTO_OP_SHUTDOWN, "DescartesOp mirrors ProtoOp");
static_assert((int)_DESCARTES_STATE_MAX == (int)_PROTO_STATE_MAX, "DescartesState mirrors ProtoState");
static_assert((int)DESCARTES_STATE_FAILED == (int)PROTO_STATE_FAILED, "DescartesState mirrors ProtoState");
static_assert((int)_DESCARTES_REASON_MAX == (int)_PROTO_REASON_MAX, "DescartesReason mirrors ProtoReason");
static_assert((int)DESCARTES_REASON_SPAWN_FAILED == (int)PROTO_REASON_SPAWN_FAILED, "same numbers");
static_assert((int)_DESCARTES_EVENT_KIND_MAX == (int)_PROTO_EVENT_KIND_MAX, "same kinds");
static_assert((int)DESCARTES_EVENT_HEALTH_CHANGED == (int)PROTO_EVENT_HEALTH_CHANGED, "same numbers");
static_assert((int)_DESCARTES_AGENT_HEALTH_MAX == (int)_PROTO_HEALTH_MAX, "same health");
static_assert((int)DESCARTES_AGENT_HEALTH_UNHEALTHY == (int)PROTO_HEALTH_UNHEALTHY, "same numbers");
static_assert((int)_DESCARTES_ON_UNHEALTHY_MAX == (int)_PROTO_ON_UNHEALTHY_MAX, "same actions");
static_assert((int)DESCARTES_ON_UNHEALTHY_KILL == (int)PROTO_ON_UNHEALTHY_KILL, "same numbers");
static_assert((int)_DESCARTES_STREAM_MAX == (int)_PROTO_STREAM_MAX, "same streams");
static_assert((int)DESCARTES_STREAM_BOTH == (int)PROTO_STREAM_BOTH, "same numbers");
static_assert((int)_DESCARTES_OUTPUT_MODE_MAX == (int)_PROTO_OUTPUT_MODE_MAX, "same modes");
static_assert((int)DESCARTES_OUTPUT_RAW == (int)PROTO_OUTPUT_RAW, "same numbers");
static_assert((int)_DESCARTES_NET_MAX == (int)_PROTO_NET_MAX, "same modes");
static_assert((int)DESCARTES_NET_HOST == (int)PROTO_NET_HOST, "same numbers");
static_assert((int)_DESCARTES_ERROR_CODE_MAX == (int)_PROTO_ERROR_MAX, "same codes");
static_assert((int)DESCARTES_ERROR_CODE_INTERNAL == (int)PROTO_ERROR_INTERNAL, "same numbers");
static_assert(DESCARTES_ACTION_NAME_MAX == PROTO_ACTION_NAME_MAX &&
                      DESCARTES_ACTION_TIMEOUT_MAX_MS == PROTO_ACTION_TIMEOUT_MAX_MS,
              "same action bounds");
static_assert(DESCARTES_PROTOCOL_VERSION == PROTO_VERSION, "one protocol version");
static_assert(DESCARTES_AGENT_REF_MAX == PROTO_AGENT_REF_MAX && DESCARTES_NAME_MAX == PROTO_NAME_MAX &&
                      DESCARTES_PATH_MAX == PROTO_PATH_MAX &&
                      DESCARTES_SHORT_STRING_MAX == PROTO_SHORT_STRING_MAX &&
                      DESCARTES_ERROR_MSG_MAX == PROTO_ERROR_MSG_MAX &&
                      DESCARTES_ARGV_MAX == PROTO_ARGV_MAX && DESCARTES_ENV_MAX == PROTO_ENV_MAX &&
                      DESCARTES_ENV_KEY_MAX == PROTO_ENV_KEY_MAX &&
                      DESCARTES_ENV_BYTES_MAX == PROTO_ENV_BYTES_MAX &&
                      DESCARTES_LABELS_MAX == PROTO_LABELS_MAX &&
                      DESCARTES_BACKEND_NAME_MAX == PROTO_BACKEND_NAME_MAX &&
                      DESCARTES_BACKEND_TEXT_MAX == PROTO_BACKEND_TEXT_MAX &&
                      DESCARTES_LABEL_KEY_MAX == PROTO_LABEL_KEY_MAX &&
                      DESCARTES_LABEL_VALUE_MAX == PROTO_LABEL_VALUE_MAX &&
                      DESCARTES_STDIN_DATA_MAX == PROTO_STDIN_DATA_MAX &&
                      DESCARTES_GREP_MAX == PROTO_GREP_MAX &&
                      DESCARTES_OUTPUT_LINES_MAX == PROTO_OUTPUT_LINES_MAX &&
                      DESCARTES_EVENTS_MAX == PROTO_EVENTS_MAX &&
                      DESCARTES_DURATION_MS_MAX == PROTO_DURATION_MS_MAX,
              "the public bounds are protocol v1's");

/* descartes_NAME_to_string() and _from_string() over proto_PNAME_*() */
#define DEFINE_ENUM_STRINGS(type, name, ptype, pname)                                                       \
        const char *descartes_##name##_to_string(type v)                                                    \
        {                                                                                                   \
                return proto_##pname##_to_string((ptype)v);                                                 \
        }                                                                                                   \
        type descartes_##name##_from_string(const char *s)                                                  \
        {                                                                                                   \
                return (type)proto_##pname##_from_string(s);                                                \
        }

DEFINE_ENUM_STRINGS(DescartesOp, op, ProtoOp, op)
DEFINE_ENUM_STRINGS(DescartesState, state, ProtoState, state)
DEFINE_ENUM_STRINGS(DescartesReason, reason, ProtoReason, reason)
DEFINE_ENUM_STRINGS(DescartesEventKind, event_kind, ProtoEventKind, event_kind)
DEFINE_ENUM_STRINGS(DescartesStream, stream, ProtoStream, stream)
DEFINE_ENUM_STRINGS(DescartesOutputMode, output_mode, ProtoOutputMode, output_mode)
DEFINE_ENUM_STRINGS(DescartesNet, net, ProtoNet, net)
DEFINE_ENUM_STRINGS(DescartesAgentHealth, agent_health, ProtoHealth, health)
DEFINE_ENUM_STRINGS(DescartesOnUnhealthy, on_unhealthy, ProtoOnUnhealthy, on_unhealthy)
DEFINE_ENUM_STRINGS(DescartesErrorCode, error_code, ProtoErrorCode, error_code)

int descartes_signal_from_string(const char *s)
{
        return proto_signal_from_string(s);
}

bool descartes_state_is_final(DescartesState s)
{
        return s == DESCARTES_STATE_EXITED || s == DESCARTES_STATE_FAILED;
}

bool descartes_op_batchable(DescartesOp op)
{
        return proto_op_batchable((ProtoOp)op);
}
