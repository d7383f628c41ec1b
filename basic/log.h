/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Logging for the programs that decide (supervisor/, descartesctl). Library code (basic/, proto/, sandbox/,
 * client/libdescartes) logs at debug at most and returns -errno instead.
 * log_*_errno(r, ...) logs with errno set to -r (so %m prints it) and returns r (always negative). */

#include <stdarg.h>
#include <syslog.h>

#include "cleanup.h"

void log_set_max_level(int level);
int log_get_max_level(void);
/* Prefix each line with "<N>" so journald keeps the priority (set when stderr is the journal). */
void log_set_journal_prefix(int on);
/* Set when stderr goes to journald (JOURNAL_STREAM). */
int log_get_journal_prefix(void);
void log_set_ident(const char *ident);

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
