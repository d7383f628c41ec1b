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
 * delivered). An unterminated final line is delivered but stays after M, so it comes again once complete. */

#include "proto.h"

/* Fills *ret; -EINVAL with a message in *ret_error (to be freed) for bad arguments (a bad regex, a bad
 * cursor), other -errno for failures reading the log. dropped_bytes is copied into the result. */
int output_query(int dirfd, const ProtoOutputArgs *args, uint64_t dropped_bytes, ProtoOutputResult *ret,
                 char **ret_error);
