/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Human units for limits and timeouts, parsed strictly: no whitespace, no sign, no hex, no exponent, no
 * locale. Errors: -EINVAL for malformed input (and zero CPU), -ERANGE when the value does not fit.
 *
 * Sizes: "4096", "4096B", "4K", "64k", "512M", "1.5G", "2T", "1GiB", "1Gi", "1GB". K/M/G/T are binary (1G =
 *   1024^3), the letter in either case, optionally followed by "i", "iB" or "B". A fraction needs a unit and
 *   is rounded to the nearest byte.
 * Durations, in microseconds: components "250us", "500ms", "10s", "10m" (or "min"), "1h", "2d", joined
 *   without spaces in strictly decreasing order ("1h30m10s"); each may have a fraction ("1.5h"), rounded to
 * the nearest microsecond. A bare number alone is seconds ("90" = 90 s). CPU amounts, in millicpus (1000 =
 * one whole CPU): "0.5" = 500, "2" = 2000, "150%" = 1500. Rounded to the nearest millicpu; zero (or an
 * amount that rounds to zero) is an error.
 *
 * The format functions write the shortest exact form that the parsers read back to the same value, and
 * return -ENOBUFS when buf is too small (FORMAT_*_MAX always suffices; buf then holds no usable text). */

#include <stddef.h>
#include <stdint.h>

#define FORMAT_SIZE_MAX     32
#define FORMAT_DURATION_MAX 64
#define FORMAT_CPU_MAX      32

int parse_size(const char *s, uint64_t *ret);
int format_size(uint64_t bytes, char *buf, size_t n);

int parse_duration(const char *s, uint64_t *ret_usec);

int parse_cpu(const char *s, uint64_t *ret_millicpus);
int format_cpu(uint64_t millicpus, char *buf, size_t n);
