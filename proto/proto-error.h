/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <errno.h>
#include <stdbool.h>

#include "proto-limits.h"

/* Stable error codes of wire protocol v1; the strings are what travels in err.code. Never renumber or
 * rename: new codes are appended before _PROTO_ERROR_MAX. */
typedef enum ProtoErrorCode {
        PROTO_ERROR_BAD_REQUEST,         /* malformed message, wrong type, missing key, bound exceeded */
        PROTO_ERROR_UNSUPPORTED_VERSION, /* `v` is not 1 */
        PROTO_ERROR_UNKNOWN_OP,          /* `op` names no operation */
        PROTO_ERROR_NOT_FOUND,           /* no such agent (or not visible to the caller) */
        PROTO_ERROR_CONFLICT,            /* the agent's state does not allow it; a name already taken */
        PROTO_ERROR_LIMIT_EXCEEDED,      /* a quota, rate limit or host limit would be exceeded */
        PROTO_ERROR_UNENFORCEABLE,       /* a requested limit or sandbox setting cannot be enforced here */
        PROTO_ERROR_PERMISSION_DENIED,   /* the caller may not do this */
        PROTO_ERROR_SPAWN_FAILED,        /* the agent could not be started; msg names the stage */
        PROTO_ERROR_TIMEOUT,       /* the operation (or the agent's action handler) did not finish in time */
        PROTO_ERROR_BUSY,          /* try again later (another operation on the agent is running) */
        PROTO_ERROR_INTERNAL,      /* a bug or resource failure in the daemon */
        PROTO_ERROR_ACTION_FAILED, /* the agent's action handler answered an error; msg carries it */
        _PROTO_ERROR_MAX,
        _PROTO_ERROR_INVALID = -EINVAL,
} ProtoErrorCode;

const char *proto_error_code_to_string(ProtoErrorCode c);
ProtoErrorCode proto_error_code_from_string(const char *s);
/* The -errno a decoder returns for each code: bad_request -EBADMSG, unsupported_version -EPROTONOSUPPORT,
 * unknown_op -EOPNOTSUPP, internal -ENOMEM; others -EIO. */
int proto_error_code_to_errno(ProtoErrorCode c);

/* What a decoder reports when it refuses a message. No allocation: fixed buffers, so it can be filled when
 * memory is short. `id` is set (has_id) whenever the request id could be read, so that the daemon can answer
 * with the same id; `op` likewise (else _PROTO_OP_INVALID, as an int to avoid a header cycle). */
typedef struct ProtoError {
        ProtoErrorCode code;
        bool has_id;
        char id[PROTO_ID_MAX + 1];
        int op;
        char msg[PROTO_ERROR_MSG_MAX + 1];
} ProtoError;

/* Resets to {internal, no id, no op, ""}. */
void proto_error_init(ProtoError *e);
/* Sets code and a printf-formatted message (truncated to PROTO_ERROR_MSG_MAX); returns
 * proto_error_code_to_errno(code) so that `return proto_error_set(e, ...)` reads well. e may be NULL. */
int proto_error_set(ProtoError *e, ProtoErrorCode code, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
