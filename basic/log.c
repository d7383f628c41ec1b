/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

static int max_level = LOG_INFO;
static int journal_prefix;
static const char *ident;
static const LogFields *fields;
static LogSink sink;

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

const LogFields *log_set_fields(const LogFields *f)
{
        const LogFields *old = fields;

        fields = f;
        return old;
}

const LogFields *log_get_fields(void)
{
        return fields;
}

void log_set_sink(LogSink s)
{
        sink = s;
}

int log_stderr_is_journal(void)
{
        const char *e = getenv("JOURNAL_STREAM");
        unsigned long long dev, ino;
        struct stat st;

        if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2)
                return 0;
        if (fstat(STDERR_FILENO, &st) < 0)
                return 0;
        return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

int log_level_from_string(const char *s)
{
        static const char *const names[] = {"emerg",   "alert",  "crit", "err",
                                            "warning", "notice", "info", "debug"};

        if (!s)
                return -EINVAL;
        for (int i = 0; i < (int)(sizeof names / sizeof names[0]); i++)
                if (strcmp(s, names[i]) == 0)
                        return i;
        if (strcmp(s, "error") == 0)
                return LOG_ERR;
        if (strcmp(s, "warn") == 0)
                return LOG_WARNING;
        return -EINVAL;
}

void log_format_stderr(char *buf, size_t n, int level, int prefix, int max, const char *id, const char *file,
                       int line, const char *func, const char *message)
{
        if (prefix)
                (void)snprintf(buf, n, "<%d>%s", level & LOG_PRIMASK, message);
        else if (max >= LOG_DEBUG)
                (void)snprintf(buf, n, "%s%s%s:%d %s: %s", id ?: "", id ? ": " : "", file, line, func,
                               message);
        else
                (void)snprintf(buf, n, "%s%s%s", id ?: "", id ? ": " : "", message);
}

int log_message(int level, int error, const char *file, int line, const char *func, const char *agent_id,
                const char *message)
{
        char buf[2304];

        if (sink && sink(level, error, file, line, func, agent_id, message) >= 0)
                return 0;
        log_format_stderr(buf, sizeof buf, level, journal_prefix, max_level, ident, file, line, func,
                          message);
        (void)fprintf(stderr, "%s\n", buf);
        return 0;
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
                (void)log_message(level, error, file, line, func, NULL, buf);
        }
        errno = saved;
        return r;
}
