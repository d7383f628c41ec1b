/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "cleanup.h"
#include "event-log.h"
#include "fd-util.h"
#include "log.h"
#include "string-util.h"

/* A single event is bounded by the protocol's message size; a record claiming more is corrupt. */
#define EVENT_LOG_RECORD_MAX PROTO_MESSAGE_MAX

struct EventLog {
        int dirfd;
        int fd;
        char *state_dir;
        size_t max_events;
        uint64_t max_bytes;
        uint64_t n_events; /* in events.log */
        uint64_t size;     /* of events.log */
        bool write_failed;
};

EventLog *event_log_free(EventLog *l)
{
        if (!l)
                return NULL;
        safe_close(l->fd);
        safe_close(l->dirfd);
        free(l->state_dir);
        free(l);
        return NULL;
}

typedef struct LoadResult {
        uint64_t good_size; /* bytes up to the end of the last good record */
        uint64_t n_events;
        uint64_t last_seq;
        bool bad; /* something after good_size could not be read */
} LoadResult;

/* Reads one file into the ring. The whole file is read at once: it is bounded by max_bytes plus one record.
 */
static int load_file(EventLog *l, const char *name, EventRing *ring, LoadResult *res)
{
        _cleanup_free_ char *buf = NULL;
        size_t size = 0, off;
        EventLogFileHeader fh;
        int r;

        *res = (LoadResult){};
        r = read_file_at(l->dirfd, name, l->max_bytes + 2 * (uint64_t)EVENT_LOG_RECORD_MAX, &buf, &size);
        if (r == -ENOENT)
                return 0;
        if (r < 0) {
                log_error_errno(r, "Event log %s/%s cannot be read, events before this start are lost: %m",
                                l->state_dir, name);
                res->bad = true;
                return 0;
        }
        if (size < sizeof fh) {
                res->bad = size > 0;
                if (res->bad)
                        log_error("Event log %s/%s is truncated (%zu bytes, no header), starting it over.",
                                  l->state_dir, name, size);
                return 0;
        }
        memcpy(&fh, buf, sizeof fh);
        if (memcmp(fh.magic, EVENT_LOG_MAGIC, sizeof fh.magic) != 0 || fh.version < 1 ||
            fh.version > EVENT_LOG_VERSION) {
                log_error("Event log %s/%s is not an event log of version 1 to %u (%s), starting it over.",
                          l->state_dir, name, EVENT_LOG_VERSION,
                          memcmp(fh.magic, EVENT_LOG_MAGIC, sizeof fh.magic) != 0 ? "bad magic"
                                                                                  : "unknown version");
                res->bad = true;
                res->last_seq = 0;
                return 0;
        }
        off = sizeof fh;
        res->good_size = off;
        while (off < size) {
                _cleanup_(proto_event_done) ProtoEvent e = {};
                EventLogRecordHeader2 rh = {};
                size_t hsize;
                ProtoError err;

                if (size - off < sizeof(EventLogRecordHeader)) {
                        log_warning("Event log %s/%s ends in a truncated record at offset %zu, dropping it.",
                                    l->state_dir, name, off);
                        res->bad = true;
                        break;
                }
                memcpy(&rh, buf + off, sizeof(EventLogRecordHeader));
                hsize = rh.magic == EVENT_LOG_RECORD2_MAGIC ? sizeof(EventLogRecordHeader2)
                                                            : sizeof(EventLogRecordHeader);
                if ((rh.magic != EVENT_LOG_RECORD_MAGIC && rh.magic != EVENT_LOG_RECORD2_MAGIC) ||
                    rh.len == 0 || rh.len > EVENT_LOG_RECORD_MAX) {
                        log_error("Event log %s/%s has a corrupt record at offset %zu, ignoring the rest of "
                                  "it.",
                                  l->state_dir, name, off);
                        res->bad = true;
                        break;
                }
                if (size - off < hsize || size - off - hsize < rh.len) {
                        log_warning("Event log %s/%s ends in a truncated record at offset %zu, dropping it.",
                                    l->state_dir, name, off);
                        res->bad = true;
                        break;
                }
                if (hsize == sizeof rh)
                        memcpy(&rh, buf + off, sizeof rh);
                if (rh.seq > res->last_seq)
                        res->last_seq = rh.seq;
                if (proto_event_decode(buf + off + hsize, rh.len, &e, &err) < 0 || e.seq != rh.seq)
                        log_warning("Event log %s/%s: event %llu at offset %zu does not decode (%s), "
                                    "skipping it.",
                                    l->state_dir, name, (unsigned long long)rh.seq, off,
                                    e.seq != rh.seq && !err.msg[0] ? "seq mismatch" : err.msg);
                else {
                        /* format 1 has no owner: the event stays for admins (event_visible) */
                        e.has_owner = hsize == sizeof rh && (rh.flags & EVENT_LOG_HAS_OWNER);
                        e.owner_uid = e.has_owner ? rh.owner_uid : 0;
                        r = event_ring_push(ring, &e);
                        if (r < 0 && r != -EINVAL)
                                log_debug_errno(r, "Cannot keep event %llu for replay: %m",
                                                (unsigned long long)e.seq);
                }
                off += hsize + rh.len;
                res->good_size = off;
                res->n_events++;
        }
        return 0;
}

static int open_current(EventLog *l, uint64_t truncate_to)
{
        EventLogFileHeader fh = {.version = EVENT_LOG_VERSION};
        int fd;

        fd = openat(l->dirfd, EVENT_LOG_FILE, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return -errno;
        if (ftruncate(fd, (off_t)truncate_to) < 0) {
                int r = -errno;
                safe_close(fd);
                return r;
        }
        if (truncate_to < sizeof fh) {
                if (ftruncate(fd, 0) < 0) {
                        int r = -errno;
                        safe_close(fd);
                        return r;
                }
                truncate_to = sizeof fh;
                l->n_events = 0;
        }
        /* also over a format 1 header: what follows may hold records of both formats */
        memcpy(fh.magic, EVENT_LOG_MAGIC, sizeof fh.magic);
        if (pwrite(fd, &fh, sizeof fh, 0) != (ssize_t)sizeof fh) {
                int r = errno > 0 ? -errno : -EIO;
                safe_close(fd);
                return r;
        }
        if (lseek(fd, 0, SEEK_END) < 0) {
                int r = -errno;
                safe_close(fd);
                return r;
        }
        safe_close(l->fd);
        l->fd = fd;
        l->size = truncate_to;
        return 0;
}

static uint64_t seq_margin(const LoadResult *res, uint64_t file_size)
{
        /* what the unreadable rest could have held: at most one event per record header */
        if (!res->bad || file_size <= res->good_size)
                return res->bad ? 1 : 0;
        return (file_size - res->good_size) / sizeof(EventLogRecordHeader) + 1;
}

int event_log_open(int state_fd, const char *state_dir, size_t max_events, uint64_t max_bytes,
                   EventRing *ring, uint64_t *ret_last_seq, EventLog **ret)
{
        _cleanup_(event_log_freep) EventLog *l = NULL;
        LoadResult old, cur;
        struct stat st;
        uint64_t last, cur_file_size = 0, old_file_size = 0;
        int r;

        l = calloc(1, sizeof *l);
        if (!l)
                return -ENOMEM;
        l->fd = -EBADF;
        l->max_events = max_events;
        l->max_bytes = max_bytes;
        l->state_dir = strdup(state_dir);
        if (!l->state_dir)
                return -ENOMEM;
        l->dirfd = fcntl(state_fd, F_DUPFD_CLOEXEC, 3);
        if (l->dirfd < 0)
                return -errno;

        if (fstatat(l->dirfd, EVENT_LOG_FILE_OLD, &st, 0) >= 0)
                old_file_size = (uint64_t)st.st_size;
        if (fstatat(l->dirfd, EVENT_LOG_FILE, &st, 0) >= 0)
                cur_file_size = (uint64_t)st.st_size;
        r = load_file(l, EVENT_LOG_FILE_OLD, ring, &old);
        if (r < 0)
                return r;
        r = load_file(l, EVENT_LOG_FILE, ring, &cur);
        if (r < 0)
                return r;
        last = MAX(old.last_seq + seq_margin(&old, old_file_size),
                   cur.last_seq + seq_margin(&cur, cur_file_size));

        l->n_events = cur.n_events;
        r = open_current(l, cur.good_size);
        if (r < 0)
                return r;
        if (last > 0)
                log_info("Event log: %zu events held for replay, the seq continues after %llu.",
                         event_ring_size(ring), (unsigned long long)last);
        *ret_last_seq = last;
        *ret = TAKE_PTR(l);
        return 0;
}

static int rotate(EventLog *l)
{
        if (renameat(l->dirfd, EVENT_LOG_FILE, l->dirfd, EVENT_LOG_FILE_OLD) < 0 && errno != ENOENT)
                return -errno;
        return open_current(l, 0);
}

int event_log_append(EventLog *l, const ProtoEvent *e, const void *body, size_t len)
{
        EventLogRecordHeader2 rh = {.magic = EVENT_LOG_RECORD2_MAGIC,
                                    .len = (uint32_t)len,
                                    .seq = e->seq,
                                    .owner_uid = e->has_owner ? e->owner_uid : 0,
                                    .flags = e->has_owner ? EVENT_LOG_HAS_OWNER : 0};
        uint64_t seq = e->seq;
        _cleanup_free_ uint8_t *buf = NULL;
        ssize_t k;
        int r;

        if (len == 0 || len > EVENT_LOG_RECORD_MAX)
                return -EINVAL;
        if (l->fd < 0 || l->n_events >= l->max_events || l->size >= l->max_bytes) {
                r = rotate(l);
                if (r < 0) {
                        log_full_errno(l->write_failed ? LOG_DEBUG : LOG_WARNING, r,
                                       "Cannot rotate the event log in %s: %m", l->state_dir);
                        l->write_failed = true;
                        if (l->fd < 0)
                                return r;
                }
        }
        /* one write(), so that a crash leaves at most one truncated record at the end */
        buf = malloc(sizeof rh + len);
        if (!buf)
                return -ENOMEM;
        memcpy(buf, &rh, sizeof rh);
        memcpy(buf + sizeof rh, body, len);
        k = write(l->fd, buf, sizeof rh + len);
        if (k != (ssize_t)(sizeof rh + len)) {
                r = k < 0 ? -errno : -EIO;
                log_full_errno(l->write_failed ? LOG_DEBUG : LOG_WARNING, r,
                               "Cannot append event %llu to %s/%s: %m", (unsigned long long)seq,
                               l->state_dir, EVENT_LOG_FILE);
                l->write_failed = true;
                if (k > 0 && ftruncate(l->fd, (off_t)l->size) >= 0)
                        (void)lseek(l->fd, 0, SEEK_END);
                return r;
        }
        l->write_failed = false;
        l->size += sizeof rh + len;
        l->n_events++;
        return 0;
}
