/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "agent-log.h"
#include "agent.h"

int log_agent_internal(const Agent *a, int level, int error, const char *file, int line, const char *func,
                       const char *fmt, ...)
{
        const char *id = a && a->info.id ? a->info.id : "?";
        int saved = errno;
        char buf[2048], line_buf[2304];
        va_list ap;

        if ((level & LOG_PRIMASK) > log_get_max_level())
                return error < 0 ? error : -EIO;
        if (error < 0)
                errno = -error; /* for %m */
        va_start(ap, fmt);
        (void)vsnprintf(buf, sizeof buf, fmt, ap);
        va_end(ap);
        errno = saved;
        /* under journald its own entry, AGENT_ID= beside the request's fields (log-journal.c) */
        (void)snprintf(line_buf, sizeof line_buf, "Agent %s: %s", id, buf);
        (void)log_message(level, error, file, line, func, id, line_buf);
        return error < 0 ? error : -EIO;
}
