/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* output queries over a synthetic output log: line assembly across records and streams, unterminated final
 * lines, grep, offset/limit/tail, since_ns, cursors (also following a growing log), raw mode, 100000 lines
 * per stream, and the per-request work budget (continuations give what one unbounded scan gives) and grep
 * match limits. */
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

#include "cleanup.h"
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

/* The reference: one scan of everything, whatever it costs. */
static const OutputQueryBudget unbounded = {.scan_bytes = UINT64_MAX, .usec = 0};

static void query_budget(Fixture *f, const ProtoOutputArgs *a, const OutputQueryBudget *b,
                         ProtoOutputResult *res)
{
        Failure err = {};
        int r = output_query(f->dirfd, a, 0, b, res, &err);

        if (r < 0)
                fail_msg("output_query: %d %s", r, err.msg);
}

static void query(Fixture *f, const ProtoOutputArgs *a, ProtoOutputResult *res)
{
        Failure err = {};
        int r = output_query(f->dirfd, a, 0, &unbounded, res, &err);

        if (r < 0)
                fail_msg("output_query: %d %s", r, err.msg);
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
        Failure err = {};

        fill_basic(f);
        query(f, &a, &res);
        expect_lines(&res, want, 2);
        assert_int_equal(res.total, 2);
        proto_output_result_done(&res);

        a.grep = (char *)"(unclosed";
        assert_int_equal(output_query(f->dirfd, &a, 0, &unbounded, &res, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "grep"));
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
        Failure err = {};
        assert_int_equal(output_query(f->dirfd, &bad, 0, &unbounded, &res, &err), -EINVAL);
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

/* A line longer than a reply may carry comes cut at PROTO_OUTPUT_LINE_MAX, and says so. */
static void test_long_line_truncated(void **state)
{
        Fixture *f = *state;
        size_t n = PROTO_OUTPUT_LINE_MAX + PROTO_OUTPUT_LINE_MAX / 2;
        char *big = malloc(n + 1);
        ProtoOutputArgs a = {.agent = (char *)"x"};
        ProtoOutputResult res = {};

        assert_non_null(big);
        memset(big, 'x', n);
        big[n] = 0;
        /* in records of 64 KiB, as the shim writes them */
        for (size_t off = 0; off < n; off += 65536) {
                size_t k = n - off < 65536 ? n - off : 65536;
                assert_int_equal(output_log_append(f->w, OUTPUT_STREAM_STDOUT, big + off, k, f->ts), 0);
        }
        free(big);
        put(f, OUTPUT_STREAM_STDOUT, "\nshort\n");
        query(f, &a, &res);
        assert_int_equal(res.n_lines, 2);
        assert_int_equal(res.lines[0].text_size, PROTO_OUTPUT_LINE_MAX);
        assert_true(res.lines[0].truncated);
        assert_string_equal(res.lines[1].text, "short");
        assert_false(res.lines[1].truncated);
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

/* Lines as "stream:text", appended by follow(). */
typedef struct Seen {
        char **v;
        size_t n, cap;
        uint64_t total;    /* sum of the replies' totals */
        unsigned requests; /* replies read */
        unsigned partial;  /* of them cut short by the budget */
        unsigned empty;    /* of them with no lines */
} Seen;

static void seen_add(Seen *s, const ProtoOutputLine *l)
{
        if (s->n == s->cap) {
                s->cap = s->cap ? s->cap * 2 : 1024;
                s->v = realloc(s->v, s->cap * sizeof *s->v);
                assert_non_null(s->v);
        }
        assert_true(asprintf(&s->v[s->n++], "%s:%s", proto_stream_to_string(l->stream), l->text) > 0);
}

/* Drops all but the last n (a client completing a tail query over continuations). */
static void seen_keep_last(Seen *s, size_t n)
{
        if (s->n <= n)
                return;
        for (size_t i = 0; i < s->n - n; i++)
                free(s->v[i]);
        memmove(s->v, s->v + (s->n - n), n * sizeof *s->v);
        s->n = n;
}

static void seen_done(Seen *s)
{
        for (size_t i = 0; i < s->n; i++)
                free(s->v[i]);
        free(s->v);
        *s = (Seen){};
}

/* Follows cursors from the start as a client does: on while has_more; a cut-short reply may carry no lines.
 * With a->has_tail it keeps the last a->tail lines over the continuations. */
static void follow(Fixture *f, const ProtoOutputArgs *a, const OutputQueryBudget *b, Seen *seen)
{
        ProtoOutputArgs p = *a;
        char *cursor = NULL;

        for (;;) {
                ProtoOutputResult res = {};
                bool more;

                p.cursor = cursor;
                query_budget(f, &p, b, &res);
                seen->requests++;
                seen->partial += res.partial;
                seen->empty += res.n_lines == 0;
                seen->total += res.total;
                if (res.partial)
                        assert_true(res.has_more);
                for (size_t i = 0; i < res.n_lines; i++)
                        seen_add(seen, &res.lines[i]);
                if (a->has_tail)
                        seen_keep_last(seen, a->tail);
                assert_non_null(res.cursor);
                /* every reply, also a cut-short one, moves the cursor on */
                if (cursor && res.has_more)
                        assert_string_not_equal(cursor, res.cursor);
                free(cursor);
                cursor = TAKE_PTR(res.cursor);
                more = res.has_more;
                proto_output_result_done(&res);
                if (!more || seen->requests > 1000000)
                        break;
        }
        free(cursor);
}

static void expect_same(const Seen *a, const Seen *b)
{
        if (a->n != b->n)
                fail_msg("%zu lines, expected %zu", a->n, b->n);
        for (size_t i = 0; i < a->n; i++)
                if (strcmp(a->v[i], b->v[i]) != 0)
                        fail_msg("line %zu: \"%s\", expected \"%s\"", i, a->v[i], b->v[i]);
}

static bool has_7(unsigned i)
{
        for (; i > 0; i /= 10)
                if (i % 10 == 7)
                        return true;
        return false;
}

/* A small scan budget cuts the query into many replies; following the cursors gives exactly the lines, in
 * the order, of one unbounded scan: with and without grep, with window limits that land inside and outside
 * the cut points, and for a tail completed over continuations. */
static void test_budget_continuation(void **state)
{
        Fixture *f = *state;
        static const OutputQueryBudget small = {.scan_bytes = 64 * 1024, .usec = 0};
        static const struct {
                const char *grep;
                uint64_t limit;
        } cases[] = {
                {"7", 65536}, {"7", 500}, {"^err 9", 50}, {NULL, 65536}, {NULL, 777},
        };
        uint64_t expect_7 = 0;

        fill_big(f);
        for (unsigned i = 0; i < N_LINES; i++)
                expect_7 += has_7(i);

        for (size_t c = 0; c < ELEMENTSOF(cases); c++) {
                ProtoOutputArgs a = {.agent = (char *)"x",
                                     .grep = (char *)cases[c].grep,
                                     .has_limit = true,
                                     .limit = cases[c].limit};
                ProtoOutputArgs ref = {.agent = (char *)"x",
                                       .grep = (char *)cases[c].grep,
                                       .has_limit = true,
                                       .limit = 65536};
                Seen got = {}, want = {};

                follow(f, &ref, &unbounded, &want);
                follow(f, &a, &small, &got);
                expect_same(&got, &want);
                assert_true(got.partial > 0);
                if (cases[c].grep && strcmp(cases[c].grep, "7") == 0)
                        assert_int_equal(want.n, 2 * expect_7);
                else if (!cases[c].grep)
                        assert_int_equal(want.n, 2 * N_LINES);
                seen_done(&got);
                seen_done(&want);
        }

        /* the budget counts lines scanned, matching or not: a rare match means replies with no lines */
        ProtoOutputArgs rare = {.agent = (char *)"x", .grep = (char *)"^out 99999$"};
        Seen got = {};
        follow(f, &rare, &small, &got);
        assert_int_equal(got.n, 1);
        assert_string_equal(got.v[0], "stdout:out 99999");
        assert_int_equal(got.total, 1);
        assert_true(got.empty > 0);
        seen_done(&got);

        /* tail: each cut-short reply holds the last lines of its part; the client keeps the last N */
        ProtoOutputArgs t = {.agent = (char *)"x",
                             .has_stream = true,
                             .stream = PROTO_STREAM_STDOUT,
                             .grep = (char *)"7",
                             .has_tail = true,
                             .tail = 5};
        Seen want = {};
        follow(f, &t, &unbounded, &want);
        follow(f, &t, &small, &got);
        assert_int_equal(want.requests, 1);
        assert_true(got.requests > 1);
        assert_int_equal(got.n, 5);
        expect_same(&got, &want);
        assert_string_equal(got.v[4], "stdout:out 99997");
        assert_int_equal(got.total, expect_7);
        assert_int_equal(want.total, expect_7);
        seen_done(&got);
        seen_done(&want);
}

/* A time budget too short for anything still lets every reply deliver a line. */
static void test_budget_time(void **state)
{
        Fixture *f = *state;
        static const OutputQueryBudget tiny = {.scan_bytes = UINT64_MAX, .usec = 1};
        ProtoOutputArgs a = {.agent = (char *)"x", .grep = (char *)"."};
        Seen got = {}, want = {};

        fill_basic(f);
        follow(f, &a, &unbounded, &want);
        follow(f, &a, &tiny, &got);
        expect_same(&got, &want);
        assert_int_equal(want.n, 5);
        assert_true(got.requests <= 6);
        seen_done(&got);
        seen_done(&want);
}

/* A catastrophically backtracking pattern hits the match limit on the first line: the query fails with a
 * message (nothing is counted as "no match"), whatever the budget. */
static void test_grep_backtracking(void **state)
{
        Fixture *f = *state;
        static const char line[] = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaab\n";
        static const OutputQueryBudget *budgets[] = {NULL, &unbounded};
        char buf[64 * 32];

        for (size_t i = 0; i + sizeof line - 1 <= sizeof buf; i += sizeof line - 1)
                memcpy(buf + i, line, sizeof line - 1);
        for (int i = 0; i < 100; i++)
                assert_int_equal(output_log_append(f->w, OUTPUT_STREAM_STDOUT, buf,
                                                   (sizeof buf / (sizeof line - 1)) * (sizeof line - 1),
                                                   f->ts++),
                                 0);

        for (size_t i = 0; i < ELEMENTSOF(budgets); i++) {
                ProtoOutputArgs a = {.agent = (char *)"x", .grep = (char *)"^(a+)+$"};
                ProtoOutputResult res = {};
                Failure err = {};

                assert_int_equal(output_query(f->dirfd, &a, 0, budgets[i], &res, &err), -EINVAL);
                assert_true(failure_is_set(&err));
                assert_non_null(strstr(err.msg, "too much backtracking"));
                assert_non_null(strstr(err.msg, "limit"));
                assert_null(res.lines);
        }

        /* a sane pattern over the same lines is fine */
        ProtoOutputArgs ok = {.agent = (char *)"x", .grep = (char *)"^a+b$"};
        ProtoOutputResult res = {};
        query(f, &ok, &res);
        assert_int_equal(res.total, 100 * (sizeof buf / (sizeof line - 1)));
        proto_output_result_done(&res);
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
                cmocka_unit_test_setup_teardown(test_long_line_truncated, setup, teardown),
                cmocka_unit_test_setup_teardown(test_big, setup, teardown),
                cmocka_unit_test_setup_teardown(test_budget_continuation, setup, teardown),
                cmocka_unit_test_setup_teardown(test_budget_time, setup, teardown),
                cmocka_unit_test_setup_teardown(test_grep_backtracking, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
