/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The daemon's one error carrier: what went wrong (errno), what the caller is told (a protocol error
 * code) and why, in words. A fallible step fills one and returns its error. */

#include <stdarg.h>
#include <stdbool.h>

#include "proto.h"

typedef struct Failure {
        int error;           /* negative errno; 0 while nothing failed */
        ProtoErrorCode code; /* the answer's err.code */
        char msg[PROTO_ERROR_MSG_MAX + 1];
} Failure;

/* Fills f (the message may use %m for error) and returns error, or -EPROTO when error is 0: a refusal
 * that no system call reported. */
int failure_set(Failure *f, int error, ProtoErrorCode code, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
int failure_setv(Failure *f, int error, ProtoErrorCode code, const char *fmt, va_list ap)
        __attribute__((format(printf, 4, 0)));

static inline bool failure_is_set(const Failure *f)
{
        return f->error < 0;
}
