/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

static int max_level = LOG_INFO;
static int journal_prefix;
static const char *ident;

void log_set_max_level(int level)
{
        max_level = level;
}

int log_get_max_level(void)
{
        return max_level;
}

void log_set_journal_prefix(int on)
{
        journal_prefix = on;
}

int log_get_journal_prefix(void)
{
        return journal_prefix;
}

void log_set_ident(const char *i)
{
        ident = i;
}

int log_internal(int level, int error, const char *file, int line, const char *func, const char *fmt, ...)
{
        int saved = errno;
        int r = error < 0 ? error : -EIO;

        if (error < 0)
                errno = -error;
        if ((level & LOG_PRIMASK) <= max_level) {
                char buf[2048];
                va_list ap;

                va_start(ap, fmt);
                (void)vsnprintf(buf, sizeof buf, fmt, ap);
                va_end(ap);
                if (journal_prefix)
                        (void)fprintf(stderr, "<%d>%s\n", level & LOG_PRIMASK, buf);
                else if (max_level >= LOG_DEBUG)
                        (void)fprintf(stderr, "%s%s%s:%d %s: %s\n", ident ?: "", ident ? ": " : "", file,
                                      line, func, buf);
                else
                        (void)fprintf(stderr, "%s%s%s\n", ident ?: "", ident ? ": " : "", buf);
        }
        errno = saved;
        return r;
}
