/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Log lines about one agent. On stderr they read "Agent ID: message"; under journald they are entries of
 * their own with the field AGENT_ID=ID (journalctl AGENT_ID=...), and the request's fields (log-journal.h).
 * Failures are worded "Failed to X: %m", as everywhere in the daemon (basic/log.h). */

#include "log.h"

typedef struct Agent Agent;

int log_agent_internal(const Agent *a, int level, int error, const char *file, int line, const char *func,
                       const char *fmt, ...) __attribute__((format(printf, 7, 8)));

#define log_agent_full_errno(a, level, error, ...)                                                          \
        log_agent_internal((a), (level), (error), __FILE__, __LINE__, __func__, __VA_ARGS__)
#define log_agent_full(a, level, ...) (void)log_agent_full_errno((a), (level), 0, __VA_ARGS__)

#define log_agent_debug(a, ...)   log_agent_full((a), LOG_DEBUG, __VA_ARGS__)
#define log_agent_info(a, ...)    log_agent_full((a), LOG_INFO, __VA_ARGS__)
#define log_agent_notice(a, ...)  log_agent_full((a), LOG_NOTICE, __VA_ARGS__)
#define log_agent_warning(a, ...) log_agent_full((a), LOG_WARNING, __VA_ARGS__)
#define log_agent_error(a, ...)   log_agent_full((a), LOG_ERR, __VA_ARGS__)

#define log_agent_debug_errno(a, error, ...)   log_agent_full_errno((a), LOG_DEBUG, (error), __VA_ARGS__)
#define log_agent_info_errno(a, error, ...)    log_agent_full_errno((a), LOG_INFO, (error), __VA_ARGS__)
#define log_agent_warning_errno(a, error, ...) log_agent_full_errno((a), LOG_WARNING, (error), __VA_ARGS__)
#define log_agent_error_errno(a, error, ...)   log_agent_full_errno((a), LOG_ERR, (error), __VA_ARGS__)
