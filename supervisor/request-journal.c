/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "fd-util.h"
#include "hash-util.h"
#include "log.h"
#include "proto-limits.h"
#include "request-journal.h"

struct RequestJournal {
        int dirfd;
        char *state_dir;
        int fd;
        uint64_t size;
        bool failed; /* the last write failed (logged) */
};

struct RequestJournalBuffer {
        char *data;
        size_t size, allocated;
};

static uint64_t record_checksum(const RequestJournalRecordHeader *h, const void *id, const void *data)
{
        RequestJournalRecordHeader c = *h;
        uint64_t x;

        c.checksum = 0;
        /* FNV-1a over the three parts in a row: fold each into the next by hashing its hash */
        x = fnv1a64(&c, sizeof c);
        x ^= fnv1a64(id, h->id_size);
        x = x * UINT64_C(0x100000001b3) ^ fnv1a64(data ?: "", h->data_size);
        return x;
}

int request_journal_record_encode(const RequestJournalRecord *rec, void **ret, size_t *ret_size)
{
        RequestJournalRecordHeader h = {
                .magic = REQUEST_JOURNAL_RECORD_MAGIC,
                .type = (uint16_t)rec->type,
                .uid = (uint32_t)rec->uid,
                .expires_realtime_usec = rec->expires_realtime_usec,
        };
        size_t id_size = strlen(rec->id);
        char *buf;

        if (id_size == 0 || id_size > PROTO_ID_MAX || rec->size > REQUEST_JOURNAL_REPLY_MAX)
                return -E2BIG;
        h.id_size = (uint16_t)id_size;
        h.data_size = (uint32_t)rec->size;
        h.checksum = record_checksum(&h, rec->id, rec->data);
        buf = malloc(sizeof h + id_size + rec->size);
        if (!buf)
                return -ENOMEM;
        memcpy(buf, &h, sizeof h);
        memcpy(buf + sizeof h, rec->id, id_size);
        if (rec->size > 0)
                memcpy(buf + sizeof h + id_size, rec->data, rec->size);
        *ret = buf;
        *ret_size = sizeof h + id_size + rec->size;
        return 0;
}

/* Calls fn for each good record of buf; the offset past the last one. */
static size_t parse(RequestJournal *j, const char *buf, size_t size,
                    void (*fn)(const RequestJournalRecord *rec, void *userdata), void *userdata)
{
        size_t off = sizeof(RequestJournalFileHeader);

        while (off < size) {
                char id[PROTO_ID_MAX + 1], agent[PROTO_ID_MAX + 1];
                RequestJournalRecordHeader h;
                RequestJournalRecord rec;
                const char *p;

                if (size - off < sizeof h) {
                        log_warning(
                                "Request journal %s/%s ends in a truncated record at offset %zu, dropping "
                                "it.",
                                j->state_dir, REQUEST_JOURNAL_FILE, off);
                        break;
                }
                memcpy(&h, buf + off, sizeof h);
                if (h.magic != REQUEST_JOURNAL_RECORD_MAGIC || h.type < REQUEST_JOURNAL_BEGIN ||
                    h.type > REQUEST_JOURNAL_DROP || h.id_size == 0 || h.id_size > PROTO_ID_MAX ||
                    h.data_size > REQUEST_JOURNAL_REPLY_MAX ||
                    (h.type == REQUEST_JOURNAL_AGENT && (h.data_size == 0 || h.data_size > PROTO_ID_MAX))) {
                        log_error("Request journal %s/%s has a corrupt record at offset %zu, ignoring the "
                                  "rest "
                                  "of it: requests resent from before this start may be performed again.",
                                  j->state_dir, REQUEST_JOURNAL_FILE, off);
                        break;
                }
                if (size - off - sizeof h < (size_t)h.id_size + h.data_size) {
                        log_warning(
                                "Request journal %s/%s ends in a truncated record at offset %zu, dropping "
                                "it.",
                                j->state_dir, REQUEST_JOURNAL_FILE, off);
                        break;
                }
                p = buf + off + sizeof h;
                if (record_checksum(&h, p, p + h.id_size) != h.checksum) {
                        log_error("Request journal %s/%s: the record at offset %zu fails its checksum, "
                                  "ignoring the rest of it.",
                                  j->state_dir, REQUEST_JOURNAL_FILE, off);
                        break;
                }
                memcpy(id, p, h.id_size);
                id[h.id_size] = 0;
                rec = (RequestJournalRecord){
                        .type = h.type,
                        .uid = h.uid,
                        .id = id,
                        .expires_realtime_usec = h.expires_realtime_usec,
                        .data = p + h.id_size,
                        .size = h.data_size,
                };
                if (h.type == REQUEST_JOURNAL_AGENT) {
                        memcpy(agent, p + h.id_size, h.data_size);
                        agent[h.data_size] = 0;
                        rec.data = agent;
                }
                if (strlen(id) == h.id_size)
                        fn(&rec, userdata);
                off += sizeof h + h.id_size + h.data_size;
        }
        return off;
}

static int open_append(RequestJournal *j)
{
        struct stat st;

        j->fd = openat(j->dirfd, REQUEST_JOURNAL_FILE,
                       O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (j->fd < 0)
                return -errno;
        if (fstat(j->fd, &st) < 0)
                return -errno;
        j->size = (uint64_t)st.st_size;
        return 0;
}

int request_journal_open(int state_fd, const char *state_dir,
                         void (*fn)(const RequestJournalRecord *rec, void *userdata), void *userdata,
                         RequestJournal **ret)
{
        _cleanup_free_ RequestJournal *j = NULL;
        _cleanup_free_ char *buf = NULL;
        RequestJournalFileHeader fh;
        size_t size = 0;
        int r;

        j = calloc(1, sizeof *j);
        if (!j)
                return -ENOMEM;
        j->dirfd = state_fd;
        j->fd = -EBADF;
        j->state_dir = strdup(state_dir);
        if (!j->state_dir)
                return -ENOMEM;

        r = read_file_at(state_fd, REQUEST_JOURNAL_FILE, 2 * (size_t)REQUEST_JOURNAL_BYTES_MAX, &buf, &size);
        if (r < 0 && r != -ENOENT)
                log_error_errno(
                        r,
                        "Request journal %s/%s cannot be read, requests resent from before this start "
                        "may be performed again: %m",
                        state_dir, REQUEST_JOURNAL_FILE);
        else if (r >= 0 && size > 0) {
                if (size < sizeof fh)
                        log_error("Request journal %s/%s is truncated (%zu bytes, no header), starting it "
                                  "over.",
                                  state_dir, REQUEST_JOURNAL_FILE, size);
                else {
                        memcpy(&fh, buf, sizeof fh);
                        if (memcmp(fh.magic, REQUEST_JOURNAL_MAGIC, sizeof fh.magic) != 0 ||
                            fh.version != REQUEST_JOURNAL_VERSION)
                                log_error("Request journal %s/%s is not a request journal of version %u, "
                                          "starting it over.",
                                          state_dir, REQUEST_JOURNAL_FILE, REQUEST_JOURNAL_VERSION);
                        else
                                (void)parse(j, buf, size, fn, userdata);
                }
        }
        /* the caller rewrites the file from what it kept; until then appends go to the old one */
        r = open_append(j);
        if (r < 0) {
                log_error_errno(
                        r,
                        "Cannot open the request journal %s/%s: requests resent after a restart may be "
                        "performed again: %m",
                        state_dir, REQUEST_JOURNAL_FILE);
                j->failed = true;
        }
        *ret = TAKE_PTR(j);
        return 0;
}

RequestJournal *request_journal_free(RequestJournal *j)
{
        if (!j)
                return NULL;
        if (j->fd >= 0)
                (void)close(j->fd);
        free(j->state_dir);
        free(j);
        return NULL;
}

int request_journal_append(RequestJournal *j, const RequestJournalRecord *rec)
{
        _cleanup_free_ void *buf = NULL;
        size_t size;
        int r;

        if (j->fd < 0)
                return -EBADF;
        r = request_journal_record_encode(rec, &buf, &size);
        if (r < 0)
                return r;
        r = loop_write(j->fd, buf, size);
        if (r < 0) {
                if (!j->failed)
                        log_error_errno(r,
                                        "Cannot write to the request journal %s/%s: requests resent after a "
                                        "restart may be performed again: %m",
                                        j->state_dir, REQUEST_JOURNAL_FILE);
                j->failed = true;
                return r;
        }
        if (j->failed)
                log_info("The request journal %s/%s is written again.", j->state_dir, REQUEST_JOURNAL_FILE);
        j->failed = false;
        j->size += size;
        return j->size > REQUEST_JOURNAL_BYTES_MAX;
}

int request_journal_buffer_add(RequestJournalBuffer *b, const RequestJournalRecord *rec)
{
        _cleanup_free_ void *buf = NULL;
        size_t size;
        int r;

        r = request_journal_record_encode(rec, &buf, &size);
        if (r < 0)
                return r == -E2BIG ? 0 : r; /* one that cannot be kept is skipped, not the rest */
        if (b->size + size > REQUEST_JOURNAL_BYTES_MAX / 2)
                return -E2BIG;
        if (b->size + size > b->allocated) {
                size_t n = MAX(b->allocated * 2, b->size + size);
                char *p = realloc(b->data, n);
                if (!p)
                        return -ENOMEM;
                b->data = p;
                b->allocated = n;
        }
        memcpy(b->data + b->size, buf, size);
        b->size += size;
        return 0;
}

int request_journal_rewrite(RequestJournal *j, void (*fill)(RequestJournalBuffer *b, void *userdata),
                            void *userdata)
{
        RequestJournalFileHeader fh = {.version = REQUEST_JOURNAL_VERSION};
        RequestJournalBuffer b = {};
        int r;

        memcpy(fh.magic, REQUEST_JOURNAL_MAGIC, sizeof fh.magic);
        b.data = malloc(sizeof fh);
        if (!b.data)
                return log_oom();
        b.allocated = sizeof fh;
        memcpy(b.data, &fh, sizeof fh);
        b.size = sizeof fh;
        fill(&b, userdata);
        /* atomic: a crash in the middle leaves the old file whole */
        r = write_file_replace_at(j->dirfd, REQUEST_JOURNAL_FILE, b.data, b.size, 0600, false);
        free(b.data);
        if (r < 0) {
                log_error_errno(r, "Cannot rewrite the request journal %s/%s: %m", j->state_dir,
                                REQUEST_JOURNAL_FILE);
                return r;
        }
        if (j->fd >= 0)
                (void)close(j->fd);
        r = open_append(j);
        if (r < 0) {
                log_error_errno(r, "Cannot open the request journal %s/%s: %m", j->state_dir,
                                REQUEST_JOURNAL_FILE);
                j->failed = true;
                return r;
        }
        j->failed = false;
        return 0;
}

bool request_journal_op_changes_state(ProtoOp op)
{
        switch (op) {
        case PROTO_OP_SPAWN:
        case PROTO_OP_PAUSE:
        case PROTO_OP_RESUME:
        case PROTO_OP_STOP:
        case PROTO_OP_KILL:
        case PROTO_OP_SIGNAL:
        case PROTO_OP_STDIN:
        case PROTO_OP_ACTION:
        case PROTO_OP_BATCH:
        case PROTO_OP_REMOVE:
        case PROTO_OP_SHUTDOWN:
                return true;
        default:
                return false;
        }
}
