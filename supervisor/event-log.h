/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Published events on disk, so that a restarted daemon replays what came before it (`events {since_seq}`)
 * and continues the seq where the last one stopped: STATE/events.log, rotated to STATE/events.log.1 like the
 * output log once it holds max_events events or max_bytes bytes, so that at least the ring's capacity stays.
 *
 * File: EventLogFileHeader (magic "DSCEVLOG", format version), then records: a header and the event as the
 * protocol encodes it (proto_event_encode). Format 2 writes EventLogRecordHeader2 (magic "EVT2", length,
 * seq, owner uid, flags): the owner decides who may see the event (event-visible.h) and is not on the wire.
 * Format 1 records (EventLogRecordHeader, magic "EVT1") have no owner; they are still read, and their agent
 * events are shown to admins only. A format 1 file is continued as format 2 (its header is rewritten: both
 * kinds of records may follow). Appended with one
 * write() per record and not fsync'ed: a daemon crash keeps the page cache; a host crash ends the agents
 * too. A reader stops at a truncated or corrupt record and says so; the seq then continues past anything the
 * unreadable rest could have held. */

#include <stddef.h>
#include <stdint.h>

#include "event-ring.h"

#define EVENT_LOG_FILE          "events.log"
#define EVENT_LOG_FILE_OLD      "events.log.1"
#define EVENT_LOG_MAGIC         "DSCEVLOG"
#define EVENT_LOG_VERSION       2u
#define EVENT_LOG_RECORD_MAGIC  0x31545645u /* "EVT1": format 1, no owner */
#define EVENT_LOG_RECORD2_MAGIC 0x32545645u /* "EVT2" */
#define EVENT_LOG_HAS_OWNER     1u          /* EventLogRecordHeader2.flags: owner_uid is set */

typedef struct EventLogFileHeader {
        char magic[8];
        uint32_t version;
        uint32_t reserved;
} EventLogFileHeader;

typedef struct EventLogRecordHeader {
        uint32_t magic;
        uint32_t len; /* bytes of the encoded event that follow */
        uint64_t seq;
} EventLogRecordHeader;

typedef struct EventLogRecordHeader2 {
        uint32_t magic;
        uint32_t len; /* bytes of the encoded event that follow */
        uint64_t seq;
        uint32_t owner_uid;
        uint32_t flags; /* EVENT_LOG_HAS_OWNER */
} EventLogRecordHeader2;

typedef struct EventLog EventLog;

/* Loads both files (older first) into ring, returns the highest seq ever used (0: none) in *ret_last_seq,
 * and opens events.log for appending. Problems with the files are logged, never fatal: the log starts over
 * where it cannot be read. */
int event_log_open(int state_fd, const char *state_dir, size_t max_events, uint64_t max_bytes,
                   EventRing *ring, uint64_t *ret_last_seq, EventLog **ret);
EventLog *event_log_free(EventLog *l);
static inline void event_log_freep(EventLog **l)
{
        if (*l)
                event_log_free(*l);
}
/* Appends one event: e gives its seq and owner, body its encoding. */
int event_log_append(EventLog *l, const ProtoEvent *e, const void *body, size_t len);
