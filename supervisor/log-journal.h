/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The daemon's log lines under journald: each line an entry of its own, with the fields of what it is about
 * (AGENT_ID=, TENANT=, OP=, REQUEST_ID=, where known: basic/log.h's LogFields) beside MESSAGE=, PRIORITY=,
 * ERRNO= and CODE_*=, so that `journalctl -u descartesd AGENT_ID=ID` finds an agent's lines. */

#include "log.h"

/* The entry's "KEY=VALUE" fields, in *ret (a strv). agent_id (when not NULL) wins over fields->agent_id. */
int log_journal_fields(int level, int error, const char *file, int line, const char *func,
                       const char *agent_id, const LogFields *fields, const char *message, char ***ret);

/* A LogSink (log_set_sink) that sends the entry with sd_journal_sendv(). */
int log_journal_sink(int level, int error, const char *file, int line, const char *func,
                     const char *agent_id, const char *message);
