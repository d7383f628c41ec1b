/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "ctl-commands.h"
#include "ctl-exit.h"
#include "ctl-output.h"
#include "json-writer.h"
#include "log.h"
#include "time-util.h"

/* Events wake us at once; re-reading the state is only the safety net for events a SUB socket missed. A
 * ZeroMQ subscription reaches the publisher some time after subscribe() returns, so an agent that ends
 * right after its spawn can publish its end before we hear anything: the first re-checks come quickly and
 * back off to once a second. */
#define WATCH_RECHECK_FIRST_USEC (5 * USEC_PER_MSEC)
#define WATCH_RECHECK_MAX_USEC   (1 * USEC_PER_SEC)

typedef struct Watch {
        DescartesSubscription *sub; /* NULL when the events endpoint is unusable: then we only re-check */
        bool ended;
        uint64_t recheck_usec;
        ProtoAgentInfo final;
} Watch;

static void watch_done(Watch *w)
{
        w->sub = descartes_subscription_free(w->sub);
        proto_agent_info_done(&w->final);
}

static int watch_check(Ctl *c, const char *id, Watch *w)
{
        DescartesError e;
        ProtoAgentInfo info = {};
        int r;

        r = descartes_get(c->client, id, &info, &e);
        if (r < 0)
                return ctl_report(&e, "cannot follow agent %s", id);
        if (descartes_state_is_final(info.state)) {
                proto_agent_info_done(&w->final);
                w->final = info;
                w->ended = true;
        } else
                proto_agent_info_done(&info);
        return 0;
}

/* Subscribe first, then read the state: an end between the two is then seen one way or the other. */
static int watch_start(Ctl *c, const char *id, Watch *w)
{
        DescartesError e;

        *w = (Watch){.recheck_usec = WATCH_RECHECK_FIRST_USEC};
        if (c->presubscribed)
                w->sub = TAKE_PTR(c->presubscribed);
        else if (descartes_subscribe(c->client, id, &w->sub, &e) < 0)
                w->sub = NULL;
        return watch_check(c, id, w);
}

/* Whether an event may mean that agent `id` ended (other agents' events reach a subscription to all). */
static bool event_ends(const ProtoEvent *ev, const char *id)
{
        if (ev->agent && strcmp(ev->agent, id) != 0)
                return false;
        return ev->kind == PROTO_EVENT_EXITED || (ev->has_state && descartes_state_is_final(ev->state));
}

/* Waits for anything about the agent (or the re-check period); then re-reads its state if it may have
 * ended. */
static int watch_wait(Ctl *c, const char *id, Watch *w)
{
        ProtoEvent ev = {};
        DescartesError e;
        bool recheck = true;
        int r;

        if (w->sub) {
                r = descartes_subscription_next(w->sub, w->recheck_usec, &ev, &e);
                w->recheck_usec = MIN(w->recheck_usec * 2, WATCH_RECHECK_MAX_USEC);
                if (r > 0) {
                        recheck = event_ends(&ev, id);
                        proto_event_done(&ev);
                        /* Take every queued event now, so that a burst costs one round of output calls. */
                        while (descartes_subscription_next(w->sub, 0, &ev, NULL) > 0) {
                                recheck = recheck || event_ends(&ev, id);
                                proto_event_done(&ev);
                        }
                } else if (r < 0 && r != -EINTR)
                        w->sub = descartes_subscription_free(w->sub);
        } else {
                struct timespec ts = {.tv_sec = 0, .tv_nsec = 200 * NSEC_PER_MSEC};
                (void)nanosleep(&ts, NULL);
        }
        return recheck ? watch_check(c, id, w) : 0;
}

int ctl_wait_agent(Ctl *c, const char *id, ProtoAgentInfo *ret)
{
        _cleanup_(watch_done) Watch w = {};
        int r;

        r = watch_start(c, id, &w);
        while (r == 0 && !w.ended)
                r = watch_wait(c, id, &w);
        if (r != 0)
                return r;
        *ret = w.final;
        w.final = (ProtoAgentInfo){};
        return 0;
}

typedef struct Cursor {
        ProtoStream stream;
        char *cursor;
        uint64_t offset; /* used when the daemon gives no cursor */
        bool first;
} Cursor;

static void emit_bytes(ProtoStream s, const void *data, size_t n)
{
        if (n > 0)
                (void)fwrite(data, 1, n, s == PROTO_STREAM_STDERR ? stderr : stdout);
}

static void emit_json_line(const ProtoOutputLine *l)
{
        JsonWriter w;

        json_writer_init(&w, stdout);
        json_writer_object_begin(&w);
        json_writer_kv_uint(&w, "seq", l->seq);
        json_writer_kv_uint(&w, "ts_ns", l->ts_ns);
        json_writer_kv_string(&w, "stream", proto_stream_to_string(l->stream));
        json_writer_key(&w, "text");
        json_writer_string_n(&w, l->text ?: "", l->text ? l->text_size : 0);
        if (l->truncated)
                json_writer_kv_bool(&w, "truncated", true);
        json_writer_object_end(&w);
        fputc('\n', stdout);
}

static void emit_json_raw(ProtoStream s, const ProtoBytes *b)
{
        JsonWriter w;

        if (b->size == 0)
                return;
        json_writer_init(&w, stdout);
        json_writer_object_begin(&w);
        json_writer_kv_string(&w, "stream", proto_stream_to_string(s));
        json_writer_key(&w, "data");
        json_writer_string_n(&w, (const char *)b->data, b->size);
        json_writer_object_end(&w);
        fputc('\n', stdout);
}

static void emit_lines(const CtlStreamOptions *o, const ProtoOutputLine *lines, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                const ProtoOutputLine *l = &lines[i];
                if (o->json)
                        emit_json_line(l);
                else {
                        emit_bytes(l->stream, l->text, l->text_size);
                        emit_bytes(l->stream, "\n", 1);
                }
        }
}

/* A tail the daemon cut short (`partial`) comes in parts, each with the last lines of its stretch of the
 * log: the last `tail` lines over all parts are the answer. */
typedef struct TailLines {
        ProtoOutputLine *lines;
        size_t n;
} TailLines;

static void tail_lines_done(TailLines *t)
{
        for (size_t i = 0; i < t->n; i++)
                proto_output_line_done(&t->lines[i]);
        free(t->lines);
        *t = (TailLines){};
}

/* Takes the reply's lines and keeps the last `tail`. */
static int tail_lines_add(TailLines *t, ProtoOutputResult *res, uint64_t tail)
{
        size_t n = t->n + res->n_lines, drop;
        ProtoOutputLine *v;

        if (res->n_lines == 0)
                return 0;
        v = realloc(t->lines, n * sizeof *v);
        if (!v)
                return -ENOMEM;
        memcpy(v + t->n, res->lines, res->n_lines * sizeof *v);
        free(res->lines);
        res->lines = NULL;
        res->n_lines = 0;
        drop = n > tail ? (size_t)(n - tail) : 0;
        for (size_t i = 0; i < drop; i++)
                proto_output_line_done(&v[i]);
        memmove(v, v + drop, (n - drop) * sizeof *v);
        t->lines = v;
        t->n = n - drop;
        return 0;
}

/* Reads pages until the store has nothing more for this cursor. A page the daemon cut short at its work
 * budget (`partial`) may hold no lines at all: we go on with its cursor all the same. */
static int drain(Ctl *c, const char *id, const CtlStreamOptions *o, Cursor *cur)
{
        _cleanup_(tail_lines_done) TailLines tail = {};
        bool tailing = false; /* completing a tail the daemon cut short */

        for (;;) {
                ProtoOutputArgs args = {
                        .agent = (char *)id,
                        .has_stream = true,
                        .stream = cur->stream,
                        .has_mode = true,
                        .mode = o->raw ? PROTO_OUTPUT_RAW : PROTO_OUTPUT_LINES,
                        .grep = (char *)o->grep,
                };
                _cleanup_(proto_output_result_done) ProtoOutputResult res = {};
                DescartesError e;
                size_t got;
                int r;

                if (cur->cursor) {
                        args.cursor = cur->cursor;
                        if (tailing) {
                                args.has_tail = true;
                                args.tail = o->tail;
                        }
                } else if (cur->first && o->has_tail) {
                        args.has_tail = true;
                        args.tail = o->tail;
                } else if (cur->offset > 0) {
                        args.has_offset = true;
                        args.offset = cur->offset;
                }

                r = descartes_output(c->client, &args, &res, &e);
                if (r < 0)
                        return ctl_report(&e, "cannot read the output of agent %s", id);

                if (o->raw) {
                        got = res.data.size;
                        if (o->json)
                                emit_json_raw(cur->stream, &res.data);
                        else
                                emit_bytes(cur->stream, res.data.data, res.data.size);
                } else if (args.has_tail && (tailing || res.partial)) {
                        got = res.n_lines;
                        if (tail_lines_add(&tail, &res, args.tail) < 0)
                                return log_oom(), CTL_EXIT_FAILURE;
                        tailing = res.partial;
                        if (!tailing) {
                                emit_lines(o, tail.lines, tail.n);
                                tail_lines_done(&tail);
                        }
                } else {
                        got = res.n_lines;
                        emit_lines(o, res.lines, res.n_lines);
                }

                /* Without a cursor, a tail page leaves us at the end of what matched. */
                if (cur->first && args.has_tail)
                        cur->offset = res.total;
                else
                        cur->offset += got;
                cur->first = false;
                /* a cut-short page must move the cursor on; if it did not, stop rather than spin */
                bool moved = res.cursor && (!cur->cursor || strcmp(res.cursor, cur->cursor) != 0);
                if (res.cursor) {
                        free(cur->cursor);
                        cur->cursor = TAKE_PTR(res.cursor);
                }
                if (!res.has_more || (res.partial ? !moved : got == 0)) {
                        if (tailing) /* only if the daemon broke off: print what we have */
                                emit_lines(o, tail.lines, tail.n);
                        return 0;
                }
        }
}

int ctl_stream_output(Ctl *c, const char *id, const CtlStreamOptions *o, ProtoAgentInfo *ret_final)
{
        _cleanup_(watch_done) Watch w = {};
        Cursor cursors[2] = {};
        size_t n_cursors = 0;
        int r = 0;

        /* Raw bytes carry no stream tag: read each stream on its own. Lines keep their order across both. */
        if (o->raw && o->stream == PROTO_STREAM_BOTH) {
                cursors[n_cursors++] = (Cursor){.stream = PROTO_STREAM_STDOUT, .first = true};
                cursors[n_cursors++] = (Cursor){.stream = PROTO_STREAM_STDERR, .first = true};
        } else
                cursors[n_cursors++] = (Cursor){.stream = o->stream, .first = true};

        if (o->follow) {
                r = watch_start(c, id, &w);
                if (r != 0)
                        goto finish;
        }
        for (;;) {
                bool ended = w.ended; /* read before draining: then all of its output is in the store */

                for (size_t i = 0; i < n_cursors && r == 0; i++)
                        r = drain(c, id, o, &cursors[i]);
                (void)fflush(stdout);
                (void)fflush(stderr);
                if (r != 0 || !o->follow || ended)
                        break;
                r = watch_wait(c, id, &w);
                if (r != 0)
                        break;
        }
        if (r == 0 && ret_final && o->follow) {
                *ret_final = w.final;
                w.final = (ProtoAgentInfo){};
        }
finish:
        for (size_t i = 0; i < n_cursors; i++)
                free(cursors[i].cursor);
        return r;
}
