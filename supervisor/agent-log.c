/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <systemd/sd-journal.h>

#include "agent-log.h"
#include "agent.h"

int log_agent_internal(const Agent *a, int level, int error, const char *file, int line, const char *func,
                       const char *fmt, ...)
{
        const char *id = a && a->info.id ? a->info.id : "?";
        int saved = errno;
        char buf[2048];
        va_list ap;

        if ((level & LOG_PRIMASK) > log_get_max_level())
                return error < 0 ? error : -EIO;
        if (error < 0)
                errno = -error; /* for %m */
        va_start(ap, fmt);
        (void)vsnprintf(buf, sizeof buf, fmt, ap);
        va_end(ap);
        errno = saved;
        if (!log_get_journal_prefix())
                return log_internal(level, error, file, line, func, "Agent %s: %s", id, buf);

        if (error < 0)
                (void)sd_journal_send("MESSAGE=Agent %s: %s", id, buf, "PRIORITY=%d", level & LOG_PRIMASK,
                                      "AGENT_ID=%s", id, "ERRNO=%d", -error, "CODE_FILE=%s", file,
                                      "CODE_LINE=%d", line, "CODE_FUNC=%s", func, NULL);
        else
                (void)sd_journal_send("MESSAGE=Agent %s: %s", id, buf, "PRIORITY=%d", level & LOG_PRIMASK,
                                      "AGENT_ID=%s", id, "CODE_FILE=%s", file, "CODE_LINE=%d", line,
                                      "CODE_FUNC=%s", func, NULL);
        return error < 0 ? error : -EIO;
}
