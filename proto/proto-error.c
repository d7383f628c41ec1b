/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "proto-error.h"
#include "string-util.h"

static const char *const error_code_table[_PROTO_ERROR_MAX] = {
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
};

const char *proto_error_code_to_string(ProtoErrorCode c)
{
        if (c < 0 || c >= _PROTO_ERROR_MAX)
                return NULL;
        return error_code_table[c];
}

ProtoErrorCode proto_error_code_from_string(const char *s)
{
        if (!s)
                return _PROTO_ERROR_INVALID;
        for (int i = 0; i < _PROTO_ERROR_MAX; i++)
                if (streq(error_code_table[i], s))
                        return (ProtoErrorCode)i;
        return _PROTO_ERROR_INVALID;
}

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
