/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "analyzer.h"
#include "cleanup.h"
#include "output-log.h"

#define HDR_SIZE sizeof(OutputRecordHeader)
/* Room for the largest record, so that a refill from a record's start always holds all of it. */
#define READ_BUF_SIZE (2 * (HDR_SIZE + OUTPUT_RECORD_DATA_MAX))
#define OPEN_RETRIES  5

struct OutputLogWriter {
        int dirfd;
        int fd; /* output.log, O_APPEND */
        uint64_t cap;
        uint64_t size;           /* bytes in output.log */
        uint64_t data_bytes;     /* data bytes in output.log */
        uint64_t old_data_bytes; /* data bytes in output.log.1 */
        uint64_t next_seq;
        uint64_t dropped;
};

enum {
        FILE_OLD = 0,
        FILE_CUR = 1,
        _FILE_MAX,
};

struct OutputLogReader {
        int dirfd;          /* -EBADF when scanning a single file for the writer */
        int fds[_FILE_MAX]; /* output.log.1, output.log; -EBADF when absent */
        unsigned cur;       /* index into fds */
        uint64_t off;       /* offset of the next record in fds[cur] */
        uint8_t *buf;
        uint64_t buf_off;
        size_t buf_len;
        uint64_t last_seq; /* of the last record seen, 0 before the first */
        uint64_t min_seq;  /* records below are skipped */
        bool broken;
};

static bool record_header_valid(const OutputRecordHeader *h)
{
        return h->magic == OUTPUT_RECORD_MAGIC && h->len <= OUTPUT_RECORD_DATA_MAX &&
               (h->stream == OUTPUT_STREAM_STDOUT || h->stream == OUTPUT_STREAM_STDERR) && h->seq > 0;
}

static int reader_new(OutputLogReader **ret)
{
        _cleanup_free_ OutputLogReader *r = NULL;

        r = calloc(1, sizeof *r);
        if (!r)
                return -ENOMEM;
        r->buf = malloc(READ_BUF_SIZE);
        if (!r->buf)
                return -ENOMEM;
        r->dirfd = r->fds[FILE_OLD] = r->fds[FILE_CUR] = -EBADF;
        *ret = TAKE_PTR(r);
        return 0;
}

OutputLogReader *output_log_reader_free(OutputLogReader *r)
{
        if (!r)
                return NULL;
        safe_close(r->dirfd);
        for (unsigned i = 0; i < _FILE_MAX; i++)
                safe_close(r->fds[i]);
        free(r->buf);
        free(r);
        return NULL;
}

static void reader_rewind(OutputLogReader *r)
{
        r->cur = 0;
        r->off = 0;
        r->buf_len = 0;
        r->last_seq = 0;
        r->broken = false;
}

/* 1 when [off, off + need) of the current file is in the buffer, 0 when the file ends before that. */
static int reader_fill(OutputLogReader *r, size_t need)
{
        size_t n = 0;

        if (r->off >= r->buf_off && r->off + need <= r->buf_off + r->buf_len)
                return 1;
        while (n < READ_BUF_SIZE) {
                ssize_t k = pread(r->fds[r->cur], r->buf + n, READ_BUF_SIZE - n, (off_t)(r->off + n));
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        r->buf_len = 0;
                        return -errno;
                }
                if (k == 0)
                        break;
                n += (size_t)k;
        }
        r->buf_off = r->off;
        r->buf_len = n;
        return n >= need;
}

static int open_old_or_absent(int dirfd, const char *name, int flags)
{
        int fd = openat(dirfd, name, flags | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
        if (fd < 0)
                return errno == ENOENT ? -EBADF : -errno;
        return fd;
}

static int same_inode(int fd, int dirfd, const char *name)
{
        struct stat a, b;

        if (fstat(fd, &a) < 0)
                return -errno;
        if (fstatat(dirfd, name, &b, AT_SYMLINK_NOFOLLOW) < 0)
                return errno == ENOENT ? 0 : -errno;
        return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/* At the end of output.log (or where there was none): when the writer has rotated (or created it), continue
 * in the new output.log. 1 if switched. */
static int reader_follow_rotation(OutputLogReader *r)
{
        int fd, q;

        if (r->dirfd < 0)
                return 0;
        if (r->fds[FILE_CUR] >= 0) {
                q = same_inode(r->fds[FILE_CUR], r->dirfd, OUTPUT_LOG_FILE);
                if (q != 0)
                        return q < 0 ? q : 0;
        }
        fd = open_old_or_absent(r->dirfd, OUTPUT_LOG_FILE, O_RDONLY);
        if (fd < 0)
                return fd == -EBADF ? 0 : fd;
        safe_close(r->fds[FILE_CUR]);
        r->fds[FILE_CUR] = fd;
        r->off = 0;
        r->buf_len = 0;
        return 1;
}

static void reader_next_file(OutputLogReader *r)
{
        r->cur++;
        r->off = 0;
        r->buf_len = 0;
}

int output_log_reader_next(OutputLogReader *r, OutputRecordHeader *ret_hdr, const void **ret_data)
{
        OutputRecordHeader h;
        int q;

        if (r->broken)
                return -EBADMSG;
        for (;;) {
                if (r->cur >= _FILE_MAX)
                        return 0;
                if (r->fds[r->cur] < 0) {
                        if (r->cur == FILE_CUR) {
                                q = reader_follow_rotation(r);
                                if (q <= 0)
                                        return q;
                                continue;
                        }
                        reader_next_file(r);
                        continue;
                }
                q = reader_fill(r, HDR_SIZE);
                if (q < 0)
                        return q;
                if (q > 0) {
                        memcpy(&h, r->buf + (r->off - r->buf_off), HDR_SIZE);
                        if (!record_header_valid(&h) || h.seq <= r->last_seq) {
                                r->broken = true;
                                return -EBADMSG;
                        }
                        q = reader_fill(r, HDR_SIZE + h.len);
                        if (q < 0)
                                return q;
                }
                if (q == 0) {
                        /* End of a file, or a record still being written. Only the current file grows. */
                        if (r->cur == FILE_CUR) {
                                q = reader_follow_rotation(r);
                                if (q <= 0)
                                        return q;
                                continue;
                        }
                        reader_next_file(r);
                        continue;
                }
                const uint8_t *data = r->buf + (r->off - r->buf_off) + HDR_SIZE;
                r->off += HDR_SIZE + h.len;
                r->last_seq = h.seq;
                if (h.seq < r->min_seq)
                        continue;
                /* analyzer false positive: h is a copy of bytes read() put into r->buf, and gcc 12's
                 * analyzer does not know that read() writes its buffer */
                ANALYZER_IGNORE_UNINIT_BEGIN
                if (ret_hdr)
                        *ret_hdr = h;
                ANALYZER_IGNORE_END
                if (ret_data)
                        *ret_data = data;
                return 1;
        }
}

int output_log_reader_open(int dirfd, OutputLogReader **ret)
{
        _cleanup_(output_log_reader_freep) OutputLogReader *r = NULL;
        int q;

        q = reader_new(&r);
        if (q < 0)
                return q;
        r->dirfd = fcntl(dirfd, F_DUPFD_CLOEXEC, 3);
        if (r->dirfd < 0)
                return -errno;

        /* Open output.log before output.log.1 and check that output.log did not change meanwhile: then the
         * two are a consistent pair even when the writer rotates concurrently. */
        for (unsigned i = 0;; i++) {
                if (i >= OPEN_RETRIES)
                        return -EBUSY;
                r->fds[FILE_CUR] = safe_close(r->fds[FILE_CUR]);
                r->fds[FILE_OLD] = safe_close(r->fds[FILE_OLD]);
                r->fds[FILE_CUR] = open_old_or_absent(r->dirfd, OUTPUT_LOG_FILE, O_RDONLY);
                if (r->fds[FILE_CUR] < 0 && r->fds[FILE_CUR] != -EBADF)
                        return r->fds[FILE_CUR];
                r->fds[FILE_OLD] = open_old_or_absent(r->dirfd, OUTPUT_LOG_FILE_OLD, O_RDONLY);
                if (r->fds[FILE_OLD] < 0 && r->fds[FILE_OLD] != -EBADF)
                        return r->fds[FILE_OLD];
                if (r->fds[FILE_CUR] < 0)
                        break;
                q = same_inode(r->fds[FILE_CUR], r->dirfd, OUTPUT_LOG_FILE);
                if (q < 0)
                        return q;
                if (q > 0)
                        break;
        }
        *ret = TAKE_PTR(r);
        return 0;
}

int output_log_reader_seek_seq(OutputLogReader *r, uint64_t seq)
{
        reader_rewind(r);
        r->min_seq = seq;
        return 0;
}

/* Scans one file of a previous writer: the end of its last whole record, its data bytes, its seqs. Cuts off
 * whatever follows the last whole record (a crash mid-write, or damage), so appends continue on a valid log.
 */
static int writer_scan(int fd, uint64_t *ret_end, uint64_t *ret_data, uint64_t *ret_first_seq,
                       uint64_t *ret_last_seq)
{
        _cleanup_(output_log_reader_freep) OutputLogReader *r = NULL;
        OutputRecordHeader h;
        uint64_t data = 0, first = 0;
        struct stat st;
        int q;

        q = reader_new(&r);
        if (q < 0)
                return q;
        r->fds[FILE_CUR] = fd;
        r->cur = FILE_CUR;
        while ((q = output_log_reader_next(r, &h, NULL)) > 0) {
                data += h.len;
                if (first == 0)
                        first = h.seq;
        }
        r->fds[FILE_CUR] = -EBADF;
        if (q < 0 && q != -EBADMSG)
                return q;
        if (fstat(fd, &st) < 0)
                return -errno;
        if ((uint64_t)st.st_size > r->off && ftruncate(fd, (off_t)r->off) < 0)
                return -errno;
        *ret_end = r->off;
        *ret_data = data;
        *ret_first_seq = first;
        *ret_last_seq = r->last_seq;
        return 0;
}

static int writer_open_current(OutputLogWriter *w)
{
        int fd = openat(w->dirfd, OUTPUT_LOG_FILE,
                        O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0640);
        if (fd < 0)
                return -errno;
        w->fd = fd;
        return 0;
}

int output_log_writer_open(int dirfd, uint64_t cap, OutputLogWriter **ret)
{
        _cleanup_free_ OutputLogWriter *w = NULL;
        _cleanup_close_ int old = -EBADF, dfd = -EBADF;
        uint64_t old_end = 0, old_first = 0, old_last = 0, cur_first = 0, cur_last = 0;
        int q;

        if (cap < OUTPUT_LOG_CAP_MIN)
                return -EINVAL;
        w = calloc(1, sizeof *w);
        if (!w)
                return -ENOMEM;
        w->fd = -EBADF;
        w->cap = cap;
        dfd = fcntl(dirfd, F_DUPFD_CLOEXEC, 3);
        if (dfd < 0)
                return -errno;
        w->dirfd = dfd;

        old = open_old_or_absent(dfd, OUTPUT_LOG_FILE_OLD, O_RDWR);
        if (old < 0 && old != -EBADF)
                return old;
        if (old >= 0) {
                q = writer_scan(old, &old_end, &w->old_data_bytes, &old_first, &old_last);
                if (q < 0)
                        return q;
        }
        q = writer_open_current(w);
        if (q < 0)
                return q;
        q = writer_scan(w->fd, &w->size, &w->data_bytes, &cur_first, &cur_last);
        if (q < 0) {
                w->fd = safe_close(w->fd);
                return q;
        }
        if (old >= 0 && cur_first > 0 && cur_first <= old_last) {
                /* Not a pair of this writer's files: a reader would reject it, so drop the older one. */
                if (unlinkat(dfd, OUTPUT_LOG_FILE_OLD, 0) < 0) {
                        w->fd = safe_close(w->fd);
                        return -errno;
                }
                w->old_data_bytes = 0;
                old_last = 0;
        }
        w->next_seq = MAX(old_last, cur_last) + 1;
        TAKE_FD(dfd);
        *ret = TAKE_PTR(w);
        return 0;
}

OutputLogWriter *output_log_writer_free(OutputLogWriter *w)
{
        if (!w)
                return NULL;
        safe_close(w->fd);
        safe_close(w->dirfd);
        free(w);
        return NULL;
}

static int writer_rotate(OutputLogWriter *w)
{
        if (renameat(w->dirfd, OUTPUT_LOG_FILE, w->dirfd, OUTPUT_LOG_FILE_OLD) < 0)
                return -errno;
        w->fd = safe_close(w->fd);
        w->dropped += w->old_data_bytes;
        w->old_data_bytes = w->data_bytes;
        w->data_bytes = 0;
        w->size = 0;
        return writer_open_current(w);
}

static int writer_append_one(OutputLogWriter *w, OutputStream stream, const void *data, size_t len,
                             uint64_t ts_ns)
{
        OutputRecordHeader h = {
                .magic = OUTPUT_RECORD_MAGIC,
                .len = (uint32_t)len,
                .seq = w->next_seq,
                .ts_ns = ts_ns,
                .stream = stream,
        };
        struct iovec iov[2] = {
                {.iov_base = &h, .iov_len = HDR_SIZE},
                {.iov_base = (void *)data, .iov_len = len},
        };
        uint64_t rec = HDR_SIZE + len;
        ssize_t k;
        int q;

        if (w->fd < 0) {
                /* A rotation renamed the file but could not create the new one: try again. */
                q = writer_open_current(w);
                if (q < 0)
                        return q;
        }
        if (w->size > 0 && w->size + rec > w->cap / 2) {
                q = writer_rotate(w);
                if (q < 0)
                        return q;
        }
        do
                k = writev(w->fd, iov, 2);
        while (k < 0 && errno == EINTR);
        if (k < 0 || (uint64_t)k != rec) {
                q = k < 0 ? -errno : -ENOSPC;
                /* Never leave a partial record in front of the next one. */
                if (k > 0)
                        (void)ftruncate(w->fd, (off_t)w->size);
                return q;
        }
        w->size += rec;
        w->data_bytes += len;
        w->next_seq++;
        return 0;
}

int output_log_append(OutputLogWriter *w, OutputStream stream, const void *data, size_t len, uint64_t ts_ns)
{
        size_t max = MIN((size_t)OUTPUT_RECORD_DATA_MAX, (size_t)(w->cap / 2 - HDR_SIZE));
        const uint8_t *p = data;
        int q;

        if (stream != OUTPUT_STREAM_STDOUT && stream != OUTPUT_STREAM_STDERR)
                return -EINVAL;
        while (len > 0) {
                size_t n = MIN(len, max);
                q = writer_append_one(w, stream, p, n, ts_ns);
                if (q < 0)
                        return q;
                p += n;
                len -= n;
        }
        return 0;
}

uint64_t output_log_writer_next_seq(const OutputLogWriter *w)
{
        return w->next_seq;
}

uint64_t output_log_writer_dropped_bytes(const OutputLogWriter *w)
{
        return w->dropped;
}
