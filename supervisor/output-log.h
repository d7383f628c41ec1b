/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The output store of one agent: records {seq, ts, stream, bytes} appended by the shim to
 * STATE_DIR/output.log, read by the daemon for `output` queries (also after the agent has ended, and across
 * daemon restarts). Per-agent cap: when output.log passes cap/2 it is renamed to output.log.1 (replacing the
 * previous one, whose bytes count as dropped), so at most `cap` bytes are kept and the oldest go first.
 *
 * On-disk record (host endianness, same build): OutputRecordHeader then `len` bytes. A reader stops at a
 * truncated record at the end of the file (the shim may be writing it). */

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define OUTPUT_LOG_FILE "output.log"
#define OUTPUT_LOG_FILE_OLD "output.log.1"
#define OUTPUT_RECORD_MAGIC 0x3154554fu /* "OUT1" */
#define OUTPUT_RECORD_DATA_MAX (64 * 1024)
#define OUTPUT_LOG_DEFAULT_CAP (64ULL * 1024 * 1024)

typedef enum OutputStream {
        OUTPUT_STREAM_STDOUT = 1,
        OUTPUT_STREAM_STDERR = 2,
} OutputStream;

typedef struct OutputRecordHeader {
        uint32_t magic;
        uint32_t len;    /* data bytes that follow */
        uint64_t seq;    /* starts at 1, +1 per record, never reused for one agent */
        uint64_t ts_ns;  /* CLOCK_REALTIME when the shim read the bytes */
        uint32_t stream; /* OutputStream */
        uint32_t reserved;
} OutputRecordHeader;
