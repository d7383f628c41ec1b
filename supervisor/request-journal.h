/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The request cache of state-changing requests on disk, STATE/requests.journal, so that a request resent
 * after descartesd restarted (stop and start, or a crash) is answered from the first reply and not performed
 * again (request-cache.c gives the records their meaning).
 *
 * File: RequestJournalFileHeader (magic "DSCRQJNL", format version), then records:
 * RequestJournalRecordHeader (magic "RQJ1", type, sizes, caller uid, expiry in CLOCK_REALTIME usec, an
 * FNV-1a 64 checksum of the header and what follows), the request id, and the record's data: BEGIN  a
 * state-changing request is about to be performed (written before anything is done) AGENT  the spawn of that
 * request created this agent (its id; written before the agent's record) DONE   its reply (the encoded
 * message), written before the reply is sent DROP   it ended without a reply to keep (`busy`): a resend is
 * performed Appended with one write() per record and not fsync'ed: a daemon crash keeps the page cache; a
 * host crash ends the agents too. A reader stops at a truncated or corrupt record and says so, keeping what
 * came before. The file is rewritten with only the live entries when the daemon starts and whenever it grows
 * past REQUEST_JOURNAL_BYTES_MAX (the rewrite keeps the newest entries up to half of that). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "proto.h"

#define REQUEST_JOURNAL_FILE         "requests.journal"
#define REQUEST_JOURNAL_MAGIC        "DSCRQJNL"
#define REQUEST_JOURNAL_VERSION      1u
#define REQUEST_JOURNAL_RECORD_MAGIC 0x314a5152u /* "RQJ1" */
#define REQUEST_JOURNAL_BYTES_MAX    (16u * 1024 * 1024)
/* A bigger reply is not kept on disk: a resend after a restart is then treated as interrupted. */
#define REQUEST_JOURNAL_REPLY_MAX (64u * 1024)

typedef enum RequestJournalType {
        REQUEST_JOURNAL_BEGIN = 1,
        REQUEST_JOURNAL_AGENT = 2,
        REQUEST_JOURNAL_DONE = 3,
        REQUEST_JOURNAL_DROP = 4,
} RequestJournalType;

typedef struct RequestJournalFileHeader {
        char magic[8];
        uint32_t version;
        uint32_t reserved;
} RequestJournalFileHeader;

typedef struct RequestJournalRecordHeader {
        uint32_t magic;
        uint16_t type;
        uint16_t id_size;
        uint32_t uid;
        uint32_t data_size;
        uint64_t expires_realtime_usec; /* BEGIN, DONE */
        uint64_t checksum;              /* FNV-1a 64 of this header (checksum 0), the id and the data */
} RequestJournalRecordHeader;

typedef struct RequestJournalRecord {
        RequestJournalType type;
        uid_t uid;
        const char *id;
        uint64_t expires_realtime_usec;
        const void *data; /* AGENT: the agent id (NUL-terminated); DONE: the reply */
        size_t size;
} RequestJournalRecord;

typedef struct RequestJournal RequestJournal;
typedef struct RequestJournalBuffer RequestJournalBuffer;

/* Reads STATE/requests.journal, calling fn for every good record in file order, then opens it for
 * appending. Problems with the file are logged, never fatal: the journal starts over where it cannot be
 * read. -ENOMEM only. */
int request_journal_open(int state_fd, const char *state_dir,
                         void (*fn)(const RequestJournalRecord *rec, void *userdata), void *userdata,
                         RequestJournal **ret);
RequestJournal *request_journal_free(RequestJournal *j);
/* Appends one record; 1 when the file has grown past REQUEST_JOURNAL_BYTES_MAX (rewrite it), 0, or
 * negative (logged once until a write works again). */
int request_journal_append(RequestJournal *j, const RequestJournalRecord *rec);
/* Replaces the file by the records fill() adds (request_journal_buffer_add(), up to half of
 * REQUEST_JOURNAL_BYTES_MAX: then -E2BIG, and fill should stop). */
int request_journal_rewrite(RequestJournal *j, void (*fill)(RequestJournalBuffer *b, void *userdata),
                            void *userdata);
int request_journal_buffer_add(RequestJournalBuffer *b, const RequestJournalRecord *rec);

/* Whether requests of op change something (they are journaled): spawn, pause, resume, stop, kill, signal,
 * stdin, action, batch, remove, shutdown. */
bool request_journal_op_changes_state(ProtoOp op);

/* Encodes one record into a new buffer (also for tests). */
int request_journal_record_encode(const RequestJournalRecord *rec, void **ret, size_t *ret_size);
