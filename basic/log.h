/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Logging for the programs that decide (supervisor/, descartesctl). Library code (basic/, proto/, sandbox/,
 * client/libdescartes) logs at debug at most and returns -errno instead.
 * log_*_errno(r, ...) logs with errno set to -r (so %m prints it) and returns r (always negative). */

#include <stdarg.h>
#include <stddef.h>
#include <syslog.h>

#include "cleanup.h"

void log_set_max_level(int level);
int log_get_max_level(void);
/* Prefix each line with "<N>" so journald keeps the priority (set when stderr is the journal). */
void log_set_journal_prefix(int on);
/* Set when stderr goes to journald (JOURNAL_STREAM). */
int log_get_journal_prefix(void);
void log_set_ident(const char *ident);
/* Whether stderr is the journal: JOURNAL_STREAM names stderr's device and inode (systemd.exec(5)). */
int log_stderr_is_journal(void);
/* "debug", "info", ... "emerg" (and "error", "warn") to a LOG_ level, or -EINVAL. */
int log_level_from_string(const char *s);

/* What the line being logged is about, where known: the daemon sets the request's fields around its handler
 * (TENANT=, OP=, REQUEST_ID=); an agent's lines add AGENT_ID= (supervisor/agent-log.h). */
typedef struct LogFields {
        const char *agent_id;
        const char *tenant;
        const char *op;
        const char *request_id;
} LogFields;
/* Sets the current fields (NULL: none); returns the previous ones to put back. */
const LogFields *log_set_fields(const LogFields *f);
const LogFields *log_get_fields(void);

/* Where lines go instead of stderr when set (the daemon's journal writer, supervisor/log-journal.c): it gets
 * the formatted message; a negative return sends the line to stderr after all. */
typedef int (*LogSink)(int level, int error, const char *file, int line, const char *func,
                       const char *agent_id, const char *message);
void log_set_sink(LogSink sink);

/* The line written to stderr for message: "<N>message" with journal_prefix, else "IDENT: message" (with
 * FILE:LINE FUNC at debug level). Pure: for the tests. */
void log_format_stderr(char *buf, size_t n, int level, int journal_prefix, int max_level, const char *ident,
                       const char *file, int line, const char *func, const char *message);

int log_message(int level, int error, const char *file, int line, const char *func, const char *agent_id,
                const char *message);

int log_internal(int level, int error, const char *file, int line, const char *func, const char *fmt, ...)
        _printf_(6, 7);

#define log_full_errno(level, error, ...)                                                                   \
        log_internal((level), (error), __FILE__, __LINE__, __func__, __VA_ARGS__)
#define log_full(level, ...) (void)log_full_errno((level), 0, __VA_ARGS__)

#define log_debug(...)   log_full(LOG_DEBUG, __VA_ARGS__)
#define log_info(...)    log_full(LOG_INFO, __VA_ARGS__)
#define log_notice(...)  log_full(LOG_NOTICE, __VA_ARGS__)
#define log_warning(...) log_full(LOG_WARNING, __VA_ARGS__)
#define log_error(...)   log_full(LOG_ERR, __VA_ARGS__)

#define log_debug_errno(error, ...)   log_full_errno(LOG_DEBUG, (error), __VA_ARGS__)
#define log_info_errno(error, ...)    log_full_errno(LOG_INFO, (error), __VA_ARGS__)
#define log_notice_errno(error, ...)  log_full_errno(LOG_NOTICE, (error), __VA_ARGS__)
#define log_warning_errno(error, ...) log_full_errno(LOG_WARNING, (error), __VA_ARGS__)
#define log_error_errno(error, ...)   log_full_errno(LOG_ERR, (error), __VA_ARGS__)
#define log_oom()                     log_error_errno(-ENOMEM, "Out of memory.")
