/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "cleanup.h"
#include "fd-util.h"
#include "output-log.h"

typedef struct Fixture {
        char path[64];
        int dirfd;
} Fixture;

static int setup(void **state)
{
        Fixture *f = calloc(1, sizeof *f);

        assert_non_null(f);
        strcpy(f->path, "/tmp/test-output-log-XXXXXX");
        assert_non_null(mkdtemp(f->path));
        f->dirfd = open(f->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(f->dirfd >= 0);
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        Fixture *f = *state;

        safe_close(f->dirfd);
        assert_int_equal(rm_rf_at(AT_FDCWD, f->path), 0);
        free(f);
        return 0;
}

static void append_str(OutputLogWriter *w, OutputStream stream, const char *s, uint64_t ts)
{
        assert_int_equal(output_log_append(w, stream, s, strlen(s), ts), 0);
}

static uint64_t file_size(int dirfd, const char *name)
{
        struct stat st;

        if (fstatat(dirfd, name, &st, 0) < 0)
                return UINT64_MAX;
        return (uint64_t)st.st_size;
}

static void test_write_read(void **state)
{
        Fixture *f = *state;
        _cleanup_(output_log_writer_freep) OutputLogWriter *w = NULL;
        _cleanup_(output_log_reader_freep) OutputLogReader *r = NULL;
        OutputRecordHeader h;
        const void *data;

        assert_int_equal(output_log_writer_open(f->dirfd, OUTPUT_LOG_DEFAULT_CAP, &w), 0);
        assert_int_equal(output_log_writer_next_seq(w), 1);
        append_str(w, OUTPUT_STREAM_STDOUT, "hello\n", 100);
        append_str(w, OUTPUT_STREAM_STDERR, "oops\n", 200);
        assert_int_equal(output_log_append(w, OUTPUT_STREAM_STDOUT, "", 0, 300), 0); /* nothing logged */
        assert_int_equal(output_log_append(w, (OutputStream)3, "x", 1, 300), -EINVAL);
        assert_int_equal(output_log_writer_next_seq(w), 3);

        assert_int_equal(output_log_reader_open(f->dirfd, &r), 0);
        assert_int_equal(output_log_reader_next(r, &h, &data), 1);
        assert_int_equal(h.seq, 1);
        assert_int_equal(h.stream, OUTPUT_STREAM_STDOUT);
        assert_int_equal(h.ts_ns, 100);
        assert_int_equal(h.len, 6);
        assert_memory_equal(data, "hello\n", 6);
        assert_int_equal(output_log_reader_next(r, &h, &data), 1);
        assert_int_equal(h.seq, 2);
        assert_int_equal(h.stream, OUTPUT_STREAM_STDERR);
        assert_memory_equal(data, "oops\n", 5);
        assert_int_equal(output_log_reader_next(r, &h, &data), 0);

        /* The reader follows appends made after it reached the end. */
        append_str(w, OUTPUT_STREAM_STDOUT, "more", 400);
        assert_int_equal(output_log_reader_next(r, &h, &data), 1);
        assert_int_equal(h.seq, 3);
        assert_memory_equal(data, "more", 4);
        assert_int_equal(output_log_reader_next(r, &h, &data), 0);

        /* seek_seq rewinds. */
        assert_int_equal(output_log_reader_seek_seq(r, 2), 0);
        assert_int_equal(output_log_reader_next(r, &h, &data), 1);
        assert_int_equal(h.seq, 2);
}

static void test_empty_dir(void **state)
{
        Fixture *f = *state;
        _cleanup_(output_log_reader_freep) OutputLogReader *r = NULL;

        assert_int_equal(output_log_reader_open(f->dirfd, &r), 0);
        assert_int_equal(output_log_reader_next(r, NULL, NULL), 0);
        assert_int_equal(output_log_reader_next(r, NULL, NULL), 0);

        /* A reader opened before the log existed picks it up once it is written. */
        _cleanup_(output_log_writer_freep) OutputLogWriter *w = NULL;
        OutputRecordHeader h;
        const void *data;
        assert_int_equal(output_log_writer_open(f->dirfd, OUTPUT_LOG_DEFAULT_CAP, &w), 0);
        append_str(w, OUTPUT_STREAM_STDERR, "late", 9);
        assert_int_equal(output_log_reader_next(r, &h, &data), 1);
        assert_int_equal(h.seq, 1);
        assert_memory_equal(data, "late", 4);
        assert_int_equal(output_log_reader_next(r, &h, &data), 0);
}

static void test_rotation_and_dropped(void **state)
{
        Fixture *f = *state;
        _cleanup_(output_log_writer_freep) OutputLogWriter *w = NULL;
        _cleanup_(output_log_reader_freep) OutputLogReader *r = NULL;
        OutputRecordHeader h;
        const void *data;
        const uint64_t cap = 4096;
        char rec[100];
        uint64_t written = 0, readable = 0, prev = 0, first = 0;
        int k;

        assert_int_equal(output_log_writer_open(f->dirfd, 100, &w), -EINVAL);
        assert_int_equal(output_log_writer_open(f->dirfd, cap, &w), 0);
        for (unsigned i = 0; i < 200; i++) {
                memset(rec, 'a' + (int)(i % 26), sizeof rec);
                assert_int_equal(output_log_append(w, OUTPUT_STREAM_STDOUT, rec, sizeof rec, i), 0);
                written += sizeof rec;
                assert_true(file_size(f->dirfd, OUTPUT_LOG_FILE) <= cap / 2);
        }
        assert_int_equal(output_log_writer_next_seq(w), 201);
        assert_true(file_size(f->dirfd, OUTPUT_LOG_FILE_OLD) <= cap / 2);
        assert_true(output_log_writer_dropped_bytes(w) > 0);

        assert_int_equal(output_log_reader_open(f->dirfd, &r), 0);
        while ((k = output_log_reader_next(r, &h, &data)) > 0) {
                if (prev)
                        assert_int_equal(h.seq, prev + 1); /* contiguous across the two files */
                else
                        first = h.seq;
                prev = h.seq;
                readable += h.len;
                assert_int_equal(((const char *)data)[0], 'a' + (int)((h.seq - 1) % 26));
        }
        assert_int_equal(k, 0);
        assert_int_equal(prev, 200);
        assert_true(first > 1);
        assert_int_equal(written - readable, output_log_writer_dropped_bytes(w));

        /* A reader at the end continues in the new output.log after a rotation. */
        /* 15 records fill at most one file of cap / 2: exactly one rotation on the way. */
        for (unsigned i = 0; i < 15; i++)
                assert_int_equal(output_log_append(w, OUTPUT_STREAM_STDERR, rec, sizeof rec, 1000 + i), 0);
        prev = 200;
        while ((k = output_log_reader_next(r, &h, &data)) > 0) {
                assert_int_equal(h.seq, prev + 1);
                prev = h.seq;
        }
        assert_int_equal(k, 0);
        assert_int_equal(prev, 215);
}

static void test_split_large(void **state)
{
        Fixture *f = *state;
        _cleanup_(output_log_writer_freep) OutputLogWriter *w = NULL;
        _cleanup_(output_log_reader_freep) OutputLogReader *r = NULL;
        _cleanup_free_ char *big = malloc(3 * OUTPUT_RECORD_DATA_MAX);
        OutputRecordHeader h;
        const void *data;
        size_t total = 0;
        unsigned n = 0;

        assert_non_null(big);
        for (size_t i = 0; i < 3 * OUTPUT_RECORD_DATA_MAX; i++)
                big[i] = (char)(i % 251);
        assert_int_equal(output_log_writer_open(f->dirfd, OUTPUT_LOG_DEFAULT_CAP, &w), 0);
        assert_int_equal(output_log_append(w, OUTPUT_STREAM_STDOUT, big, 3 * OUTPUT_RECORD_DATA_MAX - 5, 1),
                         0);
        assert_int_equal(output_log_reader_open(f->dirfd, &r), 0);
        while (output_log_reader_next(r, &h, &data) > 0) {
                assert_true(h.len <= OUTPUT_RECORD_DATA_MAX);
                assert_memory_equal(data, big + total, h.len);
                total += h.len;
                n++;
        }
        assert_int_equal(total, 3 * OUTPUT_RECORD_DATA_MAX - 5);
        assert_int_equal(n, 3);
}

static void test_truncated_tail(void **state)
{
        Fixture *f = *state;
        _cleanup_(output_log_writer_freep) OutputLogWriter *w = NULL;
        _cleanup_(output_log_reader_freep) OutputLogReader *r = NULL;
        _cleanup_close_ int fd = -EBADF;
        OutputRecordHeader h = {.magic = OUTPUT_RECORD_MAGIC, .len = 4, .seq = 3, .ts_ns = 5, .stream = 1};
        const void *data;

        assert_int_equal(output_log_writer_open(f->dirfd, OUTPUT_LOG_DEFAULT_CAP, &w), 0);
        append_str(w, OUTPUT_STREAM_STDOUT, "one", 1);
        append_str(w, OUTPUT_STREAM_STDOUT, "two", 2);
        w = output_log_writer_free(w);

        /* A record being written: half a header, then the header without its data, then all of it. */
        fd = openat(f->dirfd, OUTPUT_LOG_FILE, O_WRONLY | O_APPEND | O_CLOEXEC);
        assert_true(fd >= 0);
        assert_int_equal(loop_write(fd, &h, 10), 0);

        assert_int_equal(output_log_reader_open(f->dirfd, &r), 0);
        assert_int_equal(output_log_reader_next(r, &h, &data), 1);
        assert_int_equal(output_log_reader_next(r, &h, &data), 1);
        assert_int_equal(h.seq, 2);
        assert_int_equal(output_log_reader_next(r, &h, &data), 0);

        h = (OutputRecordHeader){.magic = OUTPUT_RECORD_MAGIC, .len = 4, .seq = 3, .ts_ns = 5, .stream = 1};
        assert_int_equal(loop_write(fd, (const char *)&h + 10, sizeof h - 10), 0);
        assert_int_equal(output_log_reader_next(r, &h, &data), 0);
        assert_int_equal(loop_write(fd, "thre", 4), 0);
        assert_int_equal(output_log_reader_next(r, &h, &data), 1);
        assert_int_equal(h.seq, 3);
        assert_memory_equal(data, "thre", 4);

        /* A writer reopening a log with a torn record cuts it off and continues the seq. */
        assert_int_equal(loop_write(fd, &h, 7), 0);
        uint64_t before = file_size(f->dirfd, OUTPUT_LOG_FILE);
        assert_int_equal(output_log_writer_open(f->dirfd, OUTPUT_LOG_DEFAULT_CAP, &w), 0);
        assert_int_equal(file_size(f->dirfd, OUTPUT_LOG_FILE), before - 7);
        assert_int_equal(output_log_writer_next_seq(w), 4);
        append_str(w, OUTPUT_STREAM_STDERR, "four", 6);
        assert_int_equal(output_log_reader_next(r, &h, &data), 1);
        assert_int_equal(h.seq, 4);
        assert_int_equal(h.stream, OUTPUT_STREAM_STDERR);
}

static void corrupt_at(int dirfd, off_t off, const void *bytes, size_t n)
{
        _cleanup_close_ int fd = openat(dirfd, OUTPUT_LOG_FILE, O_WRONLY | O_CLOEXEC);

        assert_true(fd >= 0);
        assert_int_equal(pwrite(fd, bytes, n, off), (ssize_t)n);
}

static void test_corrupt(void **state)
{
        Fixture *f = *state;
        _cleanup_(output_log_writer_freep) OutputLogWriter *w = NULL;
        _cleanup_(output_log_reader_freep) OutputLogReader *r = NULL;
        OutputRecordHeader h;
        const void *data;
        const off_t second = (off_t)(sizeof(OutputRecordHeader) + 3);
        const uint32_t bad_magic = 0xdeadbeef, huge_len = OUTPUT_RECORD_DATA_MAX + 1, bad_stream = 7;
        const uint64_t old_seq = 1;

        assert_int_equal(output_log_writer_open(f->dirfd, OUTPUT_LOG_DEFAULT_CAP, &w), 0);
        append_str(w, OUTPUT_STREAM_STDOUT, "one", 1);
        append_str(w, OUTPUT_STREAM_STDOUT, "two", 2);
        append_str(w, OUTPUT_STREAM_STDOUT, "three", 3);
        w = output_log_writer_free(w);

        const struct {
                size_t field;
                const void *value;
                size_t size;
        } cases[] = {
                {offsetof(OutputRecordHeader, magic), &bad_magic, sizeof bad_magic},
                {offsetof(OutputRecordHeader, len), &huge_len, sizeof huge_len},
                {offsetof(OutputRecordHeader, stream), &bad_stream, sizeof bad_stream},
                {offsetof(OutputRecordHeader, seq), &old_seq, sizeof old_seq},
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                OutputRecordHeader good;
                _cleanup_close_ int fd = openat(f->dirfd, OUTPUT_LOG_FILE, O_RDONLY | O_CLOEXEC);
                assert_true(fd >= 0);
                assert_int_equal(pread(fd, &good, sizeof good, second), (ssize_t)sizeof good);

                corrupt_at(f->dirfd, second + (off_t)cases[i].field, cases[i].value, cases[i].size);
                assert_int_equal(output_log_reader_open(f->dirfd, &r), 0);
                assert_int_equal(output_log_reader_next(r, &h, &data), 1);
                assert_int_equal(h.seq, 1);
                assert_int_equal(output_log_reader_next(r, &h, &data), -EBADMSG);
                assert_int_equal(output_log_reader_next(r, &h, &data), -EBADMSG);
                r = output_log_reader_free(r);
                corrupt_at(f->dirfd, second, &good, sizeof good);
        }

        /* A writer opening a damaged log keeps what is before the damage and continues from there. */
        corrupt_at(f->dirfd, second, &bad_magic, sizeof bad_magic);
        assert_int_equal(output_log_writer_open(f->dirfd, OUTPUT_LOG_DEFAULT_CAP, &w), 0);
        assert_int_equal(output_log_writer_next_seq(w), 2);
        append_str(w, OUTPUT_STREAM_STDOUT, "again", 4);
        assert_int_equal(output_log_reader_open(f->dirfd, &r), 0);
        assert_int_equal(output_log_reader_next(r, &h, &data), 1);
        assert_int_equal(output_log_reader_next(r, &h, &data), 1);
        assert_int_equal(h.seq, 2);
        assert_memory_equal(data, "again", 5);
        assert_int_equal(output_log_reader_next(r, &h, &data), 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_write_read, setup, teardown),
                cmocka_unit_test_setup_teardown(test_empty_dir, setup, teardown),
                cmocka_unit_test_setup_teardown(test_rotation_and_dropped, setup, teardown),
                cmocka_unit_test_setup_teardown(test_split_large, setup, teardown),
                cmocka_unit_test_setup_teardown(test_truncated_tail, setup, teardown),
                cmocka_unit_test_setup_teardown(test_corrupt, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
