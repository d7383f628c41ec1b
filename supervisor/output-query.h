/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* `output` queries over an agent's output store (supervisor/output-log.h).
 *
 * Lines mode: records of the chosen streams are cut into lines per stream (a line may span records; a final
 * unterminated line counts as a line), in the order they complete. `grep` (PCRE2) and `since_ns` (the time
 * of a line's first record) select the matching lines; `total` counts them; `offset`/`limit` pick a window,
 * `tail` the last N. Raw mode: the bytes of the chosen streams in record order, offset/limit/tail in bytes.
 *
 * The cursor is opaque to clients: "v1:PSEQ:PBYTE:MSEQ:MBYTE". A continued query scans from P (the start of
 * any line still being assembled) and returns only lines that end after M (the end of the last line
 * delivered). An unterminated final line is delivered but stays after M, so it comes again once complete.
 *
 * `tail` with a cursor gives the last N matching lines after the cursor: a tail query cut short by the
 * budget is completed by a client that keeps the last N lines over the continuations. */

#include "failure.h"
#include "proto.h"

/* The daemon answers on its only thread, so one lines-mode query does bounded work: after `scan_bytes` of
 * line text past the cursor, or `usec` of CLOCK_MONOTONIC time, it stops after the line it is at and replies
 * with `partial` set, `has_more` set and a cursor that continues there. Raw mode (no regex, a copy) is not
 * budgeted. */
typedef struct OutputQueryBudget {
        uint64_t scan_bytes; /* UINT64_MAX: unbounded */
        uint64_t usec;       /* 0: unbounded */
} OutputQueryBudget;

#define OUTPUT_QUERY_SCAN_BYTES (8ULL * 1024 * 1024)
#define OUTPUT_QUERY_USEC       (20ULL * 1000)

/* The grep pattern's bounds per line (see compile_grep()). A line that hits one fails the whole query with
 * -EINVAL: counting it as "no match" would silently give wrong results. */
#define OUTPUT_QUERY_MATCH_LIMIT    1000000u
#define OUTPUT_QUERY_DEPTH_LIMIT    10000u
#define OUTPUT_QUERY_HEAP_LIMIT_KIB (16u * 1024)
#define OUTPUT_QUERY_JIT_STACK_MAX  (512u * 1024)

/* Fills *ret; -EINVAL with *ret_failure set (PROTO_ERROR_BAD_REQUEST and a message) for bad arguments (a bad
 * regex, a regex that hits its match limits, a bad cursor), other -errno for failures reading the log.
 * dropped_bytes is copied into the result. budget NULL: the defaults above. */
int output_query(int dirfd, const ProtoOutputArgs *args, uint64_t dropped_bytes,
                 const OutputQueryBudget *budget, ProtoOutputResult *ret, Failure *ret_failure);
