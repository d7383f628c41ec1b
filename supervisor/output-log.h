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

#define OUTPUT_LOG_FILE        "output.log"
#define OUTPUT_LOG_FILE_OLD    "output.log.1"
#define OUTPUT_RECORD_MAGIC    0x3154554fu /* "OUT1" */
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

/* Writer: the shim's side. One writer per agent; it continues the seq of what it finds in dirfd (dropping a
 * truncated trailing record a crashed writer may have left). */
typedef struct OutputLogWriter OutputLogWriter;

/* cap: total bytes kept on disk (both files); at least OUTPUT_LOG_CAP_MIN. */
#define OUTPUT_LOG_CAP_MIN 1024ULL

int output_log_writer_open(int dirfd, uint64_t cap, OutputLogWriter **ret);
OutputLogWriter *output_log_writer_free(OutputLogWriter *w);
/* Appends data as one record (or several, when len exceeds what one record may hold under the cap), each
 * with one write so that no reader ever sees a record interleaved with another write. */
int output_log_append(OutputLogWriter *w, OutputStream stream, const void *data, size_t len, uint64_t ts_ns);
/* The seq the next record will carry. */
uint64_t output_log_writer_next_seq(const OutputLogWriter *w);
/* Data bytes this writer dropped by rotation (not counting what earlier writers dropped). */
uint64_t output_log_writer_dropped_bytes(const OutputLogWriter *w);

/* Reader: the daemon's side. Iterates output.log.1 then output.log, oldest first. A record is never split
 * between files. The data pointer stays valid until the next call on the reader. */
typedef struct OutputLogReader OutputLogReader;

int output_log_reader_open(int dirfd, OutputLogReader **ret);
OutputLogReader *output_log_reader_free(OutputLogReader *r);
/* 1 and a record, 0 at the end (also at a truncated record at the end of output.log: a later call continues
 * there once the writer has finished it), -EBADMSG at a corrupt record (which ends the scan). */
int output_log_reader_next(OutputLogReader *r, OutputRecordHeader *ret_hdr, const void **ret_data);
/* Makes the next record returned the first with a seq >= seq (records before it are skipped). */
int output_log_reader_seek_seq(OutputLogReader *r, uint64_t seq);

static inline void output_log_writer_freep(OutputLogWriter **w)
{
        if (*w)
                output_log_writer_free(*w);
}
static inline void output_log_reader_freep(OutputLogReader **r)
{
        if (*r)
                output_log_reader_free(*r);
}
