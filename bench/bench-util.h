/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Small shared pieces of the benchmark programs: a clock, order statistics and the key=value output every
 * program prints on one line for the bench scripts to parse. */

#include <stddef.h>

/* Microseconds on CLOCK_MONOTONIC. */
double bench_now_us(void);

/* Parses a decimal integer in [min, max]; -EINVAL or -ERANGE otherwise. */
int bench_parse_long(const char *s, long min, long max, long *ret);

/* Sorts v in place and prints " NAME_med=.. NAME_p99=.. NAME_min=.. NAME_max=.. NAME_n=N" (no newline).
 * Nothing is printed for n == 0. */
void bench_print_stats(const char *name, double *v, size_t n);

/* The nearest-rank quantile q (0..1) of sorted[0..n). n must be > 0. */
double bench_quantile(const double *sorted, size_t n, double q);

/* Sleeps ms milliseconds (restarting after signals). */
void bench_sleep_ms(long ms);

/* Processes in the cgroup tree at path (its cgroup.procs and every descendant's), or -errno. */
long bench_cgroup_count_procs(const char *path);
