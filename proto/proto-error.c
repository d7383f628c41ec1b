/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "proto-internal.h"
#include "string-table.h"
#include "string-util.h"

static const char *const proto_error_code_table[_PROTO_ERROR_MAX] = {
        [PROTO_ERROR_BAD_REQUEST] = "bad_request",
        [PROTO_ERROR_UNSUPPORTED_VERSION] = "unsupported_version",
        [PROTO_ERROR_UNKNOWN_OP] = "unknown_op",
        [PROTO_ERROR_NOT_FOUND] = "not_found",
        [PROTO_ERROR_CONFLICT] = "conflict",
        [PROTO_ERROR_LIMIT_EXCEEDED] = "limit_exceeded",
        [PROTO_ERROR_UNENFORCEABLE] = "unenforceable",
        [PROTO_ERROR_PERMISSION_DENIED] = "permission_denied",
        [PROTO_ERROR_SPAWN_FAILED] = "spawn_failed",
        [PROTO_ERROR_TIMEOUT] = "timeout",
        [PROTO_ERROR_BUSY] = "busy",
        [PROTO_ERROR_INTERNAL] = "internal",
        [PROTO_ERROR_ACTION_FAILED] = "action_failed",
};

DEFINE_STRING_TABLE(proto_error_code, ProtoErrorCode, _PROTO_ERROR_MAX, _PROTO_ERROR_INVALID)
const ProtoEnumNames proto_error_code_names = {proto_error_code_table, _PROTO_ERROR_MAX};

int proto_error_code_to_errno(ProtoErrorCode c)
{
        switch (c) {
        case PROTO_ERROR_BAD_REQUEST:
                return -EBADMSG;
        case PROTO_ERROR_UNSUPPORTED_VERSION:
                return -EPROTONOSUPPORT;
        case PROTO_ERROR_UNKNOWN_OP:
                return -EOPNOTSUPP;
        case PROTO_ERROR_INTERNAL:
                return -ENOMEM;
        default:
                return -EIO;
        }
}

void proto_error_init(ProtoError *e)
{
        if (!e)
                return;
        *e = (ProtoError){
                .code = PROTO_ERROR_INTERNAL,
                .op = -EINVAL,
        };
}

int proto_error_set(ProtoError *e, ProtoErrorCode code, const char *fmt, ...)
{
        va_list ap;

        if (e) {
                e->code = code;
                va_start(ap, fmt);
                (void)vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
                va_end(ap);
        }
        return proto_error_code_to_errno(code);
}
