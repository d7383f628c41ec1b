/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <inttypes.h>
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "output-log.h"
#include "output-query.h"
#include "string-util.h"
#include "time-util.h"

#define TEXT_BUDGET                                                                                         \
        (8 * 1024 * 1024) /* bytes of line text (or raw data) per reply: it must fit a message              \
                           */
#define DEFAULT_LINES 1000
/* lines between clock reads without grep; with grep the clock is read after every line, as one line may
 * cost up to the match limit */
#define CLOCK_EVERY_LINES 64

typedef struct Pos {
        uint64_t seq;
        uint64_t byte;
} Pos;

static int pos_cmp(Pos a, Pos b)
{
        if (a.seq != b.seq)
                return a.seq < b.seq ? -1 : 1;
        if (a.byte != b.byte)
                return a.byte < b.byte ? -1 : 1;
        return 0;
}

static Pos pos_min(Pos a, Pos b)
{
        return pos_cmp(a, b) <= 0 ? a : b;
}

typedef struct Cursor {
        Pos p; /* where scanning resumes */
        Pos m; /* lines ending at or before this were delivered */
} Cursor;

static int cursor_parse(const char *s, Cursor *ret)
{
        unsigned long long v[4];
        int n = 0;

        if (sscanf(s, "v1:%llu:%llu:%llu:%llu%n", &v[0], &v[1], &v[2], &v[3], &n) != 4 || s[n] != 0)
                return -EINVAL;
        *ret = (Cursor){{v[0], v[1]}, {v[2], v[3]}};
        return 0;
}

static int cursor_format(const Cursor *c, char **ret)
{
        return asprintf_safe(ret, "v1:%" PRIu64 ":%" PRIu64 ":%" PRIu64 ":%" PRIu64, c->p.seq, c->p.byte,
                             c->m.seq, c->m.byte);
}

static unsigned stream_mask(const ProtoOutputArgs *a)
{
        ProtoStream s = a->has_stream ? a->stream : PROTO_STREAM_BOTH;

        switch (s) {
        case PROTO_STREAM_STDOUT:
                return 1u << OUTPUT_STREAM_STDOUT;
        case PROTO_STREAM_STDERR:
                return 1u << OUTPUT_STREAM_STDERR;
        case PROTO_STREAM_BOTH:
        default:
                return (1u << OUTPUT_STREAM_STDOUT) | (1u << OUTPUT_STREAM_STDERR);
        }
}

/* ---- lines ---- */

typedef struct Partial {
        bool active;
        uint64_t seq, ts_ns;
        Pos start;
        char *buf;
        size_t len, alloc;
        bool truncated; /* bytes past PROTO_OUTPUT_LINE_MAX were left out */
} Partial;

typedef struct Collected {
        ProtoOutputLine line;
        Cursor after; /* the cursor that continues right after this line */
} Collected;

typedef struct LineScan {
        const ProtoOutputArgs *args;
        pcre2_code *re;
        pcre2_match_data *md;
        pcre2_match_context *mc;
        pcre2_jit_stack *jit_stack;
        const OutputQueryBudget *budget;
        uint64_t deadline_usec;
        uint64_t scanned;     /* bytes of line text past the mark */
        unsigned clock_lines; /* lines since the last clock read */
        bool cut;             /* the budget ran out */
        Cursor cut_at;        /* where a continuation resumes then */
        Failure *ret_failure;
        bool have_mark;
        Pos mark;
        Partial partial[3]; /* by OutputStream */
        Pos last_end;       /* end of the last completed line */
        uint64_t total;
        uint64_t offset, limit, tail;
        bool use_tail;
        Collected *items; /* window (or tail ring) */
        size_t n_items, cap_items, ring_first;
        size_t text_bytes;
        bool has_more;
        bool full;
        int error;
} LineScan;

static void collected_done(Collected *c)
{
        free(c->line.text);
        c->line.text = NULL;
}

static int partial_append(Partial *p, const uint8_t *data, size_t n)
{
        /* a line longer than a reply may carry is cut at the bound */
        if (p->len + n > PROTO_OUTPUT_LINE_MAX) {
                n = PROTO_OUTPUT_LINE_MAX - p->len;
                p->truncated = true; /* said in the reply: never cut silently */
        }
        if (n == 0)
                return 0;
        if (p->len + n + 1 > p->alloc) {
                size_t na = MAX(p->alloc * 2, p->len + n + 1);
                char *nb = realloc(p->buf, MAX(na, (size_t)256));
                if (!nb)
                        return -ENOMEM;
                p->buf = nb;
                p->alloc = MAX(na, (size_t)256);
        }
        memcpy(p->buf + p->len, data, n);
        p->len += n;
        return 0;
}

static const char *limit_name(int rc)
{
        switch (rc) {
        case PCRE2_ERROR_MATCHLIMIT:
                return "match limit";
        case PCRE2_ERROR_DEPTHLIMIT:
                return "depth limit";
        case PCRE2_ERROR_HEAPLIMIT:
                return "heap limit";
        case PCRE2_ERROR_JIT_STACKLIMIT:
                return "JIT stack limit";
        default:
                return NULL;
        }
}

/* A bad request: the caller's arguments (the pattern, the cursor, the mode) do not work. */
#define BAD_ARGS(f, ...) failure_set((f), -EINVAL, PROTO_ERROR_BAD_REQUEST, __VA_ARGS__)

/* 1 if the line is selected, 0 if not, -EINVAL (with *s->ret_failure) if the pattern hit a limit on it. */
static int line_matches(LineScan *s, const Partial *p)
{
        const char *limit;
        int rc;

        if (s->args->has_since_ns && p->ts_ns < s->args->since_ns)
                return 0;
        if (!s->re)
                return 1;
        rc = pcre2_match(s->re, (PCRE2_SPTR)(p->buf ?: ""), p->len, 0, 0, s->md, s->mc);
        if (rc >= 0)
                return 1;
        if (rc == PCRE2_ERROR_NOMATCH)
                return 0;
        if (rc == PCRE2_ERROR_NOMEMORY)
                return -ENOMEM;
        limit = limit_name(rc);
        if (limit)
                return BAD_ARGS(
                        s->ret_failure,
                        "grep: the pattern needs too much backtracking (%s hit on the line in record "
                        "%" PRIu64 "): simplify it",
                        limit, p->seq);
        PCRE2_UCHAR msg[256];
        (void)pcre2_get_error_message(rc, msg, sizeof msg);
        return BAD_ARGS(s->ret_failure, "grep: %s", (const char *)msg);
}

/* Called after each line past the mark: whether this request has done its share of work. */
static bool budget_spent(LineScan *s, size_t line_len)
{
        s->scanned += line_len + 1;
        if (s->scanned >= s->budget->scan_bytes)
                return true;
        if (s->budget->usec == 0 || (++s->clock_lines < CLOCK_EVERY_LINES && !s->re))
                return false;
        s->clock_lines = 0;
        return now_usec(CLOCK_MONOTONIC) >= s->deadline_usec;
}

static Cursor snapshot(LineScan *s, Pos m, int except_stream)
{
        Cursor c = {.p = m, .m = m};

        for (int i = 1; i <= 2; i++)
                if (i != except_stream && s->partial[i].active)
                        c.p = pos_min(c.p, s->partial[i].start);
        return c;
}

static int make_line(const Partial *p, int stream, ProtoOutputLine *ret)
{
        char *t = malloc(p->len + 1);

        if (!t)
                return -ENOMEM;
        if (p->len > 0)
                memcpy(t, p->buf, p->len);
        t[p->len] = 0;
        *ret = (ProtoOutputLine){
                .seq = p->seq,
                .ts_ns = p->ts_ns,
                .stream = stream == OUTPUT_STREAM_STDERR ? PROTO_STREAM_STDERR : PROTO_STREAM_STDOUT,
                .text = t,
                .text_size = p->len,
                .truncated = p->truncated,
        };
        return 0;
}

/* A line is complete (or final): count it, and keep it if it falls in the window. */
static int consider_line(LineScan *s, const Partial *p, int stream, Cursor after)
{
        Collected c;
        int r;

        r = line_matches(s, p);
        if (r <= 0)
                return r;
        s->total++;
        if (!s->use_tail) {
                if (s->total <= s->offset)
                        return 0;
                if (s->full || s->n_items >= s->limit || s->text_bytes + p->len > TEXT_BUDGET) {
                        s->full = true;
                        s->has_more = true;
                        return 0;
                }
                if (s->n_items == s->cap_items) {
                        size_t nc = MAX(s->cap_items * 2, (size_t)64);
                        Collected *n = realloc(s->items, nc * sizeof *n);
                        if (!n)
                                return -ENOMEM;
                        s->items = n;
                        s->cap_items = nc;
                }
                r = make_line(p, stream, &c.line);
                if (r < 0)
                        return r;
                c.after = after;
                s->items[s->n_items++] = c;
                s->text_bytes += p->len;
                return 0;
        }

        /* tail: a ring of the last `tail` lines, within the text budget */
        r = make_line(p, stream, &c.line);
        if (r < 0)
                return r;
        c.after = after;
        while (s->n_items > 0 && (s->n_items >= s->tail || s->text_bytes + p->len > TEXT_BUDGET)) {
                Collected *old = &s->items[s->ring_first];
                s->text_bytes -= old->line.text_size;
                collected_done(old);
                s->ring_first = (s->ring_first + 1) % s->cap_items;
                s->n_items--;
        }
        s->items[(s->ring_first + s->n_items) % s->cap_items] = c;
        s->n_items++;
        s->text_bytes += p->len;
        return 0;
}

static int scan_record(LineScan *s, const OutputRecordHeader *h, const uint8_t *data, size_t skip)
{
        Partial *p = &s->partial[h->stream];
        size_t off = skip;
        int r;

        while (off < h->len) {
                const uint8_t *nl = memchr(data + off, '\n', h->len - off);
                size_t n = nl ? (size_t)(nl - (data + off)) : h->len - off;

                if (!p->active) {
                        p->active = true;
                        p->seq = h->seq;
                        p->ts_ns = h->ts_ns;
                        p->start = (Pos){h->seq, off};
                        p->len = 0;
                        p->truncated = false;
                }
                r = partial_append(p, data + off, n);
                if (r < 0)
                        return r;
                off += n;
                if (!nl)
                        break;
                off++; /* the newline */
                Pos end = {h->seq, off};
                p->active = false;
                s->last_end = end;
                if (s->have_mark && pos_cmp(end, s->mark) <= 0)
                        continue;
                Cursor after = snapshot(s, end, (int)h->stream);
                r = consider_line(s, p, (int)h->stream, after);
                if (r < 0)
                        return r;
                /* stop only past the mark, so that every request makes progress */
                if (budget_spent(s, p->len)) {
                        s->cut = true;
                        s->cut_at = after;
                        return 0;
                }
        }
        return 0;
}

static int compile_grep(LineScan *s, const char *pattern, Failure *ret_failure)
{
        int errcode;
        PCRE2_SIZE erroff;

        s->re = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, 0, &errcode, &erroff, NULL);
        if (!s->re) {
                PCRE2_UCHAR msg[256];
                (void)pcre2_get_error_message(errcode, msg, sizeof msg);
                return BAD_ARGS(ret_failure, "grep: %s at offset %zu", (const char *)msg, (size_t)erroff);
        }
        s->md = pcre2_match_data_create_from_pattern(s->re, NULL);
        s->mc = pcre2_match_context_create(NULL);
        if (!s->md || !s->mc)
                return -ENOMEM;
        /* A backtracking pattern must not stall the loop: bound each line's match (a line that hits a bound
         * fails the query). The JIT honours the match limit and its stack size; the interpreter the match,
         * depth and heap limits. */
        (void)pcre2_set_match_limit(s->mc, OUTPUT_QUERY_MATCH_LIMIT);
        (void)pcre2_set_depth_limit(s->mc, OUTPUT_QUERY_DEPTH_LIMIT);
        (void)pcre2_set_heap_limit(s->mc, OUTPUT_QUERY_HEAP_LIMIT_KIB);
        /* without JIT support, or when it fails (no executable memory), the interpreter does the work */
        if (pcre2_jit_compile(s->re, PCRE2_JIT_COMPLETE) == 0) {
                s->jit_stack = pcre2_jit_stack_create(32 * 1024, OUTPUT_QUERY_JIT_STACK_MAX, NULL);
                if (!s->jit_stack)
                        return -ENOMEM;
                pcre2_jit_stack_assign(s->mc, NULL, s->jit_stack);
        }
        return 0;
}

static void line_scan_done(LineScan *s)
{
        for (size_t i = 0; i < s->n_items; i++)
                collected_done(&s->items[(s->ring_first + i) % MAX(s->cap_items, (size_t)1)]);
        free(s->items);
        for (size_t i = 0; i < ELEMENTSOF(s->partial); i++)
                free(s->partial[i].buf);
        pcre2_match_data_free(s->md);
        pcre2_match_context_free(s->mc);
        pcre2_jit_stack_free(s->jit_stack);
        pcre2_code_free(s->re);
}

static int query_lines(OutputLogReader *rd, const ProtoOutputArgs *args, const Cursor *cur,
                       const OutputQueryBudget *budget, ProtoOutputResult *res, Failure *ret_failure)
{
        _cleanup_(line_scan_done) LineScan s = {.args = args, .budget = budget, .ret_failure = ret_failure};
        unsigned mask = stream_mask(args);
        OutputRecordHeader h;
        const void *data;
        uint64_t last_seq = 0;
        Cursor final;
        int r;

        if (args->grep) {
                r = compile_grep(&s, args->grep, ret_failure);
                if (r < 0)
                        return r;
        }
        if (budget->usec > 0)
                s.deadline_usec = now_usec(CLOCK_MONOTONIC) + budget->usec;
        s.use_tail = args->has_tail;
        s.offset = args->has_offset && !s.use_tail ? args->offset : 0;
        s.limit = args->has_limit ? args->limit : s.use_tail ? args->tail : DEFAULT_LINES;
        s.limit = MIN(s.limit, (uint64_t)PROTO_OUTPUT_LINES_MAX);
        if (s.use_tail) {
                s.tail = MIN(MAX(args->tail, (uint64_t)1), (uint64_t)PROTO_OUTPUT_LINES_MAX);
                s.cap_items = (size_t)s.tail;
                s.items = calloc(s.cap_items, sizeof *s.items);
                if (!s.items)
                        return -ENOMEM;
        }
        if (cur) {
                s.have_mark = true;
                s.mark = cur->m;
                s.last_end = cur->m;
                (void)output_log_reader_seek_seq(rd, cur->p.seq);
        }

        while ((r = output_log_reader_next(rd, &h, &data)) > 0) {
                size_t skip = 0;
                last_seq = h.seq;
                if (h.stream > OUTPUT_STREAM_STDERR || !(mask & (1u << h.stream)))
                        continue;
                if (cur && h.seq == cur->p.seq)
                        skip = (size_t)MIN(cur->p.byte, (uint64_t)h.len);
                r = scan_record(&s, &h, data, skip);
                if (r < 0)
                        return r;
                if (s.cut)
                        break;
        }
        if (r < 0 && r != -EBADMSG)
                return r;

        /* where a continuation resumes if everything was delivered: after the last record, or at the start
         * of a line still being written */
        final.m = s.last_end;
        final.p = last_seq > 0 ? (Pos){last_seq + 1, 0} : (cur ? cur->p : (Pos){0, 0});
        for (int i = 1; i <= 2; i++)
                if (s.partial[i].active)
                        final.p = pos_min(final.p, s.partial[i].start);

        /* final unterminated lines count as lines; they stay after the cursor's mark */
        for (int i = 1; i <= 2 && !s.cut; i++) {
                Partial *p = &s.partial[i];
                if (!p->active || p->len == 0)
                        continue;
                r = consider_line(&s, p, i, final);
                if (r < 0)
                        return r;
        }

        res->mode = PROTO_OUTPUT_LINES;
        if (s.cut)
                final = s.cut_at;
        res->total = s.total;
        res->has_more = s.has_more || s.cut;
        res->partial = s.cut;
        if (s.n_items > 0) {
                res->lines = calloc(s.n_items, sizeof *res->lines);
                if (!res->lines)
                        return -ENOMEM;
        }
        Cursor out = final;
        for (size_t i = 0; i < s.n_items; i++) {
                Collected *c = &s.items[(s.ring_first + i) % s.cap_items];
                res->lines[i] = c->line;
                c->line.text = NULL;
                /* a full window continues after its last line, even when the count went on and was cut */
                if (s.has_more)
                        out = c->after;
        }
        res->n_lines = s.n_items;
        s.n_items = 0;
        return cursor_format(&out, &res->cursor);
}

/* ---- raw ---- */

static int query_raw(OutputLogReader *rd, const ProtoOutputArgs *args, const Cursor *cur,
                     ProtoOutputResult *res)
{
        unsigned mask = stream_mask(args);
        OutputRecordHeader h;
        const void *data;
        uint64_t total = 0, last_seq = 0, start, limit, pos = 0;
        _cleanup_free_ uint8_t *buf = NULL;
        size_t n = 0;
        Pos after = {0, 0};
        int r;

#define SELECTED(h)                                                                                         \
        ((h).stream <= OUTPUT_STREAM_STDERR && (mask & (1u << (h).stream)) &&                               \
         (!args->has_since_ns || (h).ts_ns >= args->since_ns))
#define SKIP(h) (cur && (h).seq == cur->p.seq ? (size_t)MIN(cur->p.byte, (uint64_t)(h).len) : 0)

        (void)output_log_reader_seek_seq(rd, cur ? cur->p.seq : 0);
        while ((r = output_log_reader_next(rd, &h, &data)) > 0) {
                last_seq = h.seq;
                if (SELECTED(h))
                        total += h.len - SKIP(h);
        }
        if (r < 0 && r != -EBADMSG)
                return r;

        limit = args->has_limit ? MIN(args->limit, (uint64_t)PROTO_OUTPUT_DATA_MAX) : PROTO_OUTPUT_DATA_MAX;
        if (cur)
                start = 0;
        else if (args->has_tail)
                start = total - MIN(args->tail, total);
        else
                start = args->has_offset ? MIN(args->offset, total) : 0;
        limit = MIN(limit, total - start);

        buf = malloc(MAX(limit, (uint64_t)1));
        if (!buf)
                return -ENOMEM;
        (void)output_log_reader_seek_seq(rd, cur ? cur->p.seq : 0);
        while (n < limit && (r = output_log_reader_next(rd, &h, &data)) > 0 && h.seq <= last_seq) {
                size_t skip, len;
                if (!SELECTED(h))
                        continue;
                skip = SKIP(h);
                len = h.len - skip;
                if (pos + len <= start) {
                        pos += len;
                        continue;
                }
                if (pos < start) {
                        skip += (size_t)(start - pos);
                        len -= (size_t)(start - pos);
                        pos = start;
                }
                len = (size_t)MIN((uint64_t)len, limit - n);
                memcpy(buf + n, (const uint8_t *)data + skip, len);
                n += len;
                pos += len;
                after = (Pos){h.seq, skip + len};
        }
        if (r < 0 && r != -EBADMSG)
                return r;
#undef SELECTED
#undef SKIP

        res->mode = PROTO_OUTPUT_RAW;
        res->total = total;
        res->has_more = start + n < total;
        if (!res->has_more)
                after = last_seq > 0 ? (Pos){last_seq + 1, 0} : (cur ? cur->p : (Pos){0, 0});
        res->data.data = TAKE_PTR(buf);
        res->data.size = n;
        Cursor c = {after, after};
        return cursor_format(&c, &res->cursor);
}

int output_query(int dirfd, const ProtoOutputArgs *args, uint64_t dropped_bytes,
                 const OutputQueryBudget *budget, ProtoOutputResult *ret, Failure *ret_failure)
{
        static const OutputQueryBudget default_budget = {
                .scan_bytes = OUTPUT_QUERY_SCAN_BYTES,
                .usec = OUTPUT_QUERY_USEC,
        };
        _cleanup_(output_log_reader_freep) OutputLogReader *rd = NULL;
        ProtoOutputResult res = {};
        Cursor cur;
        int r;

        if (args->cursor) {
                r = cursor_parse(args->cursor, &cur);
                if (r < 0)
                        return BAD_ARGS(ret_failure, "invalid cursor \"%s\"", args->cursor);
        }
        if (args->grep && args->has_mode && args->mode == PROTO_OUTPUT_RAW)
                return BAD_ARGS(ret_failure, "grep works on lines, not in raw mode");
        r = output_log_reader_open(dirfd, &rd);
        if (r < 0)
                return r;
        if (args->has_mode && args->mode == PROTO_OUTPUT_RAW)
                r = query_raw(rd, args, args->cursor ? &cur : NULL, &res);
        else
                r = query_lines(rd, args, args->cursor ? &cur : NULL, budget ?: &default_budget, &res,
                                ret_failure);
        if (r < 0) {
                proto_output_result_done(&res);
                return r;
        }
        res.dropped = dropped_bytes;
        *ret = res;
        return 0;
}
