/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A progress line for operations that may take a while: an op on each of many agents, a stop waiting out
 * its grace period. On stderr and only when stderr is a terminal (never in a script's output), one line
 * rewritten in place and erased before anything else is printed. */

#include <stddef.h>

/* Which AGENT argument of how many is being worked on (ctl_for_each_agent). */
void ctl_progress_set_position(size_t index, size_t total);
/* Shows "descartesctl: WHAT ID (I/N)..." until ctl_progress_clear(). */
void ctl_progress_show(const char *what, const char *id);
void ctl_progress_clear(void);

/* The line, cut to width columns (at least 20): pure, for the tests. */
void ctl_progress_format(char *buf, size_t n, const char *what, const char *id, size_t index, size_t total,
                         unsigned width);
