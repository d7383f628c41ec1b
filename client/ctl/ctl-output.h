/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* How descartesctl shows things to people: tables and text. JSON comes from the library's _to_json(). */

#include <stdint.h>
#include <stdio.h>

#include "descartes/descartes.h"

#define CTL_SHORT_ID_LEN  12
#define CTL_COMMAND_WIDTH 40

/* "just now", "5 seconds ago", "3 minutes ago", "2 hours ago", "4 days ago"; "-" when then_ns is 0. */
void ctl_format_relative(uint64_t then_ns, uint64_t now_ns, char *buf, size_t n);
/* "completed (0)", "signaled (KILL)", "oom_killed", ...; "" while the agent runs. */
void ctl_format_reason(const DescartesAgent *a, char *buf, size_t n);
/* argv joined by spaces, cut to width characters with "..." at the end. */
void ctl_format_command(char *const *argv, size_t width, char *buf, size_t n);
/* Tenant-chosen text for a terminal: control bytes written as \xNN (and \ as \\), or blanked. */
void ctl_write_safe(FILE *f, const char *s);
void ctl_sanitize(char *s);
/* A CLOCK_REALTIME ns timestamp as RFC 3339 UTC with milliseconds; "-" for 0. */
void ctl_format_timestamp(uint64_t ns, char *buf, size_t n);

/* With usage, CPU (seconds) and MEM columns from each agent's usage ("-" where the list has none). */
void ctl_print_ps_table(FILE *f, const DescartesAgentList *l, uint64_t now_ns, bool usage);
void ctl_print_inspect(FILE *f, const DescartesAgent *a);
void ctl_print_health(FILE *f, const DescartesHealth *h);
void ctl_print_event(FILE *f, const DescartesEvent *e);
