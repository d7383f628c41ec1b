/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* output queries over a synthetic output log: line assembly across records and streams, unterminated final
 * lines, grep, offset/limit/tail, since_ns, cursors (also following a growing log), raw mode, and 100000
 * lines per stream. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "fd-util.h"
#include "output-log.h"
#include "output-query.h"

typedef struct Fixture {
        char dir[64];
        int dirfd;
        OutputLogWriter *w;
        uint64_t ts;
} Fixture;

static int setup(void **state)
{
        Fixture *f = calloc(1, sizeof *f);

        snprintf(f->dir, sizeof f->dir, "/tmp/test-output-query-XXXXXX");
        assert_non_null(mkdtemp(f->dir));
        f->dirfd = open(f->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(f->dirfd >= 0);
        assert_int_equal(output_log_writer_open(f->dirfd, 256ULL << 20, &f->w), 0);
        f->ts = 1000;
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        Fixture *f = *state;

        output_log_writer_free(f->w);
        close(f->dirfd);
        assert_int_equal(rm_rf_at(AT_FDCWD, f->dir), 0);
        free(f);
        return 0;
}

static void put(Fixture *f, OutputStream s, const char *text)
{
        assert_int_equal(output_log_append(f->w, s, text, strlen(text), f->ts), 0);
        f->ts += 1000;
}

static void query(Fixture *f, const ProtoOutputArgs *a, ProtoOutputResult *res)
{
        char *err = NULL;
        int r = output_query(f->dirfd, a, 0, res, &err);

        if (r < 0)
                fail_msg("output_query: %d %s", r, err ?: "");
        free(err);
}

static void expect_lines(const ProtoOutputResult *res, const char *const *texts, size_t n)
{
        if (res->n_lines != n)
                fail_msg("%zu lines, expected %zu", res->n_lines, n);
        for (size_t i = 0; i < n; i++)
                assert_string_equal(res->lines[i].text, texts[i]);
}

/* 1 out "hel", 2 err "e1\n", 3 out "lo\nwor", 4 err "e2\n", 5 out "ld\ntail" */
static void fill_basic(Fixture *f)
{
        put(f, OUTPUT_STREAM_STDOUT, "hel");
        put(f, OUTPUT_STREAM_STDERR, "e1\n");
        put(f, OUTPUT_STREAM_STDOUT, "lo\nwor");
        put(f, OUTPUT_STREAM_STDERR, "e2\n");
        put(f, OUTPUT_STREAM_STDOUT, "ld\ntail");
}

static void test_lines_both(void **state)
{
        Fixture *f = *state;
        ProtoOutputArgs a = {.agent = (char *)"x"};
        ProtoOutputResult res = {};
        static const char *const want[] = {"e1", "hello", "e2", "world", "tail"};

        fill_basic(f);
        query(f, &a, &res);
        expect_lines(&res, want, 5);
        assert_int_equal(res.total, 5);
        assert_false(res.has_more);
        assert_int_equal(res.lines[1].seq, 1); /* a line carries the seq and time of its first record */
        assert_int_equal(res.lines[1].ts_ns, 1000);
        assert_int_equal(res.lines[1].stream, PROTO_STREAM_STDOUT);
        assert_int_equal(res.lines[0].stream, PROTO_STREAM_STDERR);
        assert_int_equal(res.lines[4].text_size, 4);
        assert_non_null(res.cursor);
        proto_output_result_done(&res);

        a.has_stream = true;
        a.stream = PROTO_STREAM_STDOUT;
        query(f, &a, &res);
        static const char *const out[] = {"hello", "world", "tail"};
        expect_lines(&res, out, 3);
        proto_output_result_done(&res);
}

static void test_grep(void **state)
{
        Fixture *f = *state;
        ProtoOutputArgs a = {.agent = (char *)"x", .grep = (char *)"^w|2$"};
        ProtoOutputResult res = {};
        static const char *const want[] = {"e2", "world"};
        char *err = NULL;

        fill_basic(f);
        query(f, &a, &res);
        expect_lines(&res, want, 2);
        assert_int_equal(res.total, 2);
        proto_output_result_done(&res);

        a.grep = (char *)"(unclosed";
        assert_int_equal(output_query(f->dirfd, &a, 0, &res, &err), -EINVAL);
        assert_non_null(strstr(err, "grep"));
        free(err);
}

static void test_offset_limit_cursor(void **state)
{
        Fixture *f = *state;
        ProtoOutputArgs a = {
                .agent = (char *)"x", .has_offset = true, .offset = 1, .has_limit = true, .limit = 2};
        ProtoOutputResult res = {}, res2 = {};
        static const char *const first[] = {"hello", "e2"};
        static const char *const rest[] = {"world", "tail"};

        fill_basic(f);
        query(f, &a, &res);
        expect_lines(&res, first, 2);
        assert_true(res.has_more);
        assert_int_equal(res.total, 5);

        ProtoOutputArgs b = {.agent = (char *)"x", .cursor = res.cursor};
        query(f, &b, &res2);
        expect_lines(&res2, rest, 2);
        assert_false(res2.has_more);
        proto_output_result_done(&res);
        proto_output_result_done(&res2);

        ProtoOutputArgs t = {.agent = (char *)"x", .has_tail = true, .tail = 2};
        query(f, &t, &res);
        expect_lines(&res, rest, 2);
        assert_int_equal(res.total, 5);
        proto_output_result_done(&res);

        ProtoOutputArgs bad = {.agent = (char *)"x", .cursor = (char *)"v1:1:2"};
        char *err = NULL;
        assert_int_equal(output_query(f->dirfd, &bad, 0, &res, &err), -EINVAL);
        free(err);
}

static void test_follow(void **state)
{
        Fixture *f = *state;
        ProtoOutputArgs a = {.agent = (char *)"x", .has_stream = true, .stream = PROTO_STREAM_STDOUT};
        ProtoOutputResult res = {}, res2 = {}, res3 = {};
        static const char *const more[] = {"tailer", "new"};

        fill_basic(f);
        query(f, &a, &res);
        assert_int_equal(res.n_lines, 3);
        put(f, OUTPUT_STREAM_STDERR, "e3\n");
        put(f, OUTPUT_STREAM_STDOUT, "er\nnew\n");
        a.cursor = res.cursor;
        query(f, &a, &res2);
        /* the unterminated line comes again, complete; nothing delivered before repeats */
        expect_lines(&res2, more, 2);
        assert_int_equal(res2.total, 2);
        a.cursor = res2.cursor;
        query(f, &a, &res3);
        assert_int_equal(res3.n_lines, 0);
        assert_int_equal(res3.total, 0);
        assert_string_equal(res3.cursor, res2.cursor);
        proto_output_result_done(&res);
        proto_output_result_done(&res2);
        proto_output_result_done(&res3);
}

static void test_since(void **state)
{
        Fixture *f = *state;
        ProtoOutputArgs a = {.agent = (char *)"x", .has_since_ns = true, .since_ns = 4000};
        ProtoOutputResult res = {};
        static const char *const want[] = {"e2", "tail"};

        fill_basic(f);
        query(f, &a, &res);
        expect_lines(&res, want, 2);
        proto_output_result_done(&res);
}

static void test_raw(void **state)
{
        Fixture *f = *state;
        ProtoOutputArgs a = {.agent = (char *)"x",
                             .has_mode = true,
                             .mode = PROTO_OUTPUT_RAW,
                             .has_stream = true,
                             .stream = PROTO_STREAM_STDOUT,
                             .has_offset = true,
                             .offset = 3,
                             .has_limit = true,
                             .limit = 4};
        ProtoOutputResult res = {}, res2 = {};

        fill_basic(f);
        query(f, &a, &res);
        assert_int_equal(res.mode, PROTO_OUTPUT_RAW);
        assert_int_equal(res.data.size, 4);
        assert_memory_equal(res.data.data, "lo\nw", 4);
        assert_int_equal(res.total, 16);
        assert_true(res.has_more);

        ProtoOutputArgs b = {.agent = (char *)"x",
                             .has_mode = true,
                             .mode = PROTO_OUTPUT_RAW,
                             .has_stream = true,
                             .stream = PROTO_STREAM_STDOUT,
                             .cursor = res.cursor};
        query(f, &b, &res2);
        assert_int_equal(res2.data.size, 9);
        assert_memory_equal(res2.data.data, "orld\ntail", 9);
        assert_false(res2.has_more);
        proto_output_result_done(&res);
        proto_output_result_done(&res2);

        ProtoOutputArgs t = {.agent = (char *)"x",
                             .has_mode = true,
                             .mode = PROTO_OUTPUT_RAW,
                             .has_tail = true,
                             .tail = 6};
        query(f, &t, &res);
        assert_int_equal(res.data.size, 6);
        assert_memory_equal(res.data.data, "d\ntail", 6);
        assert_int_equal(res.total, 22);
        proto_output_result_done(&res);
}

#define N_LINES 100000

/* Writes "out N\n" and "err N\n" for N < N_LINES, each stream cut into records at arbitrary byte offsets so
 * that lines span records, the two streams interleaved. */
static void fill_big(Fixture *f)
{
        static char buf[2][64 * 1024];
        size_t len[2] = {0, 0};
        unsigned chunk = 1000;

        for (unsigned i = 0; i < N_LINES; i++)
                for (int s = 0; s < 2; s++) {
                        len[s] += (size_t)snprintf(buf[s] + len[s], sizeof buf[s] - len[s], "%s %u\n",
                                                   s ? "err" : "out", i);
                        if (len[s] > chunk) {
                                size_t cut = chunk - 7; /* mid-line */
                                assert_int_equal(
                                        output_log_append(f->w,
                                                          s ? OUTPUT_STREAM_STDERR : OUTPUT_STREAM_STDOUT,
                                                          buf[s], cut, f->ts++),
                                        0);
                                memmove(buf[s], buf[s] + cut, len[s] - cut);
                                len[s] -= cut;
                                chunk = chunk % 3000 + 777;
                        }
                }
        for (int s = 0; s < 2; s++)
                assert_int_equal(output_log_append(f->w, s ? OUTPUT_STREAM_STDERR : OUTPUT_STREAM_STDOUT,
                                                   buf[s], len[s], f->ts++),
                                 0);
}

static void test_big(void **state)
{
        Fixture *f = *state;
        ProtoOutputResult res = {};
        char expect[32];
        unsigned next = 0;

        fill_big(f);

        ProtoOutputArgs all = {.agent = (char *)"x", .has_limit = true, .limit = 10};
        query(f, &all, &res);
        assert_int_equal(res.total, 2 * N_LINES);
        assert_true(res.has_more);
        proto_output_result_done(&res);

        ProtoOutputArgs t = {.agent = (char *)"x",
                             .has_stream = true,
                             .stream = PROTO_STREAM_STDOUT,
                             .has_tail = true,
                             .tail = 3};
        query(f, &t, &res);
        static const char *const last[] = {"out 99997", "out 99998", "out 99999"};
        expect_lines(&res, last, 3);
        assert_int_equal(res.total, N_LINES);
        proto_output_result_done(&res);

        ProtoOutputArgs g = {
                .agent = (char *)"x", .grep = (char *)"^err 5\\d{4}$", .has_limit = true, .limit = 1};
        query(f, &g, &res);
        assert_int_equal(res.total, 10000);
        assert_string_equal(res.lines[0].text, "err 50000");
        proto_output_result_done(&res);

        /* page through stderr with cursors: every line exactly once, in order */
        ProtoOutputArgs p = {.agent = (char *)"x",
                             .has_stream = true,
                             .stream = PROTO_STREAM_STDERR,
                             .has_limit = true,
                             .limit = 65536};
        char *cursor = NULL;
        for (int pages = 0; pages < 10; pages++) {
                p.cursor = cursor;
                query(f, &p, &res);
                for (size_t i = 0; i < res.n_lines; i++, next++) {
                        snprintf(expect, sizeof expect, "err %u", next);
                        if (strcmp(res.lines[i].text, expect) != 0)
                                fail_msg("page %d line %zu: \"%s\", expected \"%s\"", pages, i,
                                         res.lines[i].text, expect);
                }
                free(cursor);
                cursor = res.cursor;
                res.cursor = NULL;
                bool more = res.has_more;
                proto_output_result_done(&res);
                if (!more)
                        break;
        }
        free(cursor);
        assert_int_equal(next, N_LINES);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_lines_both, setup, teardown),
                cmocka_unit_test_setup_teardown(test_grep, setup, teardown),
                cmocka_unit_test_setup_teardown(test_offset_limit_cursor, setup, teardown),
                cmocka_unit_test_setup_teardown(test_follow, setup, teardown),
                cmocka_unit_test_setup_teardown(test_since, setup, teardown),
                cmocka_unit_test_setup_teardown(test_raw, setup, teardown),
                cmocka_unit_test_setup_teardown(test_big, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
