/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "failure.h"

int failure_setv(Failure *f, int error, ProtoErrorCode code, const char *fmt, va_list ap)
{
        int saved = errno;

        f->error = error < 0 ? error : -EPROTO;
        f->code = code;
        errno = -f->error; /* for %m */
        (void)vsnprintf(f->msg, sizeof f->msg, fmt, ap);
        errno = saved;
        return f->error;
}

int failure_set(Failure *f, int error, ProtoErrorCode code, const char *fmt, ...)
{
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = failure_setv(f, error, code, fmt, ap);
        va_end(ap);
        return r;
}
