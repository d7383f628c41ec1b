/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "ctl-exit.h"
#include "ctl.h"
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
        DescartesAgent *final;
} Watch;

static void watch_done(Watch *w)
{
        w->sub = descartes_subscription_free(w->sub);
        w->final = descartes_agent_unref(w->final);
}

static int watch_check(Ctl *c, const char *id, Watch *w)
{
        DescartesAgent *a = NULL;
        DescartesError e;
        int r;

        r = descartes_get(c->client, id, &a, &e);
        if (r < 0)
                return ctl_report(&e, "cannot follow agent %s", id);
        if (descartes_state_is_final(descartes_agent_get_state(a))) {
                descartes_agent_unref(w->final);
                w->final = a;
                w->ended = true;
        } else
                descartes_agent_unref(a);
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
static bool event_ends(const DescartesEvent *ev, const char *id)
{
        const char *agent = descartes_event_get_agent(ev);
        DescartesState state;

        if (agent && strcmp(agent, id) != 0)
                return false;
        return descartes_event_get_kind(ev) == DESCARTES_EVENT_EXITED ||
               (descartes_event_get_state(ev, &state) && descartes_state_is_final(state));
}

/* Waits for anything about the agent (or the re-check period); then re-reads its state if it may have
 * ended. */
static int watch_wait(Ctl *c, const char *id, Watch *w)
{
        DescartesEvent *ev = NULL;
        DescartesError e;
        bool recheck = true;
        int r;

        if (w->sub) {
                r = descartes_subscription_next(w->sub, w->recheck_usec, &ev, &e);
                w->recheck_usec = MIN(w->recheck_usec * 2, WATCH_RECHECK_MAX_USEC);
                if (r > 0) {
                        recheck = event_ends(ev, id);
                        ev = descartes_event_unref(ev);
                        /* Take every queued event now, so that a burst costs one round of output calls. */
                        while (descartes_subscription_next(w->sub, 0, &ev, NULL) > 0) {
                                recheck = recheck || event_ends(ev, id);
                                ev = descartes_event_unref(ev);
                        }
                } else if (r < 0 && r != -EINTR)
                        w->sub = descartes_subscription_free(w->sub);
        } else {
                struct timespec ts = {.tv_sec = 0, .tv_nsec = 200 * NSEC_PER_MSEC};
                (void)nanosleep(&ts, NULL);
        }
        return recheck ? watch_check(c, id, w) : 0;
}

/* The `wait` op: one long poll, answered when the agent has ended, or `timeout` (-ETIME) after the op's
 * timeout, and then asked again. No subscription: nothing can be missed between a spawn and the wait, and
 * a spawn --wait is two round trips. */
int ctl_wait_agent(Ctl *c, const char *id, DescartesAgent **ret)
{
        for (;;) {
                DescartesAgent *a = NULL;
                DescartesError e;
                int r;

                r = descartes_wait(c->client, id, &a, &e);
                if (r >= 0) {
                        *ret = a;
                        return 0;
                }
                if (r != -ETIME)
                        return ctl_report(&e, "cannot follow agent %s", id);
        }
}

typedef struct Cursor {
        DescartesStream stream;
        char *cursor;
        uint64_t offset; /* used when the daemon gives no cursor */
        bool first;
} Cursor;

static void emit_bytes(DescartesStream s, const void *data, size_t n)
{
        if (n > 0)
                (void)fwrite(data, 1, n, s == DESCARTES_STREAM_STDERR ? stderr : stdout);
}

static void emit_json_raw(DescartesStream s, const void *data, size_t size)
{
        JsonWriter w;

        if (size == 0)
                return;
        json_writer_init(&w, stdout);
        json_writer_object_begin(&w);
        json_writer_kv_string(&w, "stream", descartes_stream_to_string(s));
        json_writer_key(&w, "data");
        json_writer_string_n(&w, data, size);
        json_writer_object_end(&w);
        fputc('\n', stdout);
}

/* A line to print: the reply it came in (referenced) and its index there. */
typedef struct LineRef {
        DescartesOutput *output;
        size_t i;
} LineRef;

static int emit_line(const CtlStreamOptions *o, const DescartesOutputLine *l)
{
        DescartesStream s = descartes_output_line_get_stream(l);
        const char *text;
        size_t size;

        if (o->json)
                return CTL_PRINT_JSON(descartes_output_line_to_json, l);
        text = descartes_output_line_get_text(l, &size);
        emit_bytes(s, text, size);
        emit_bytes(s, "\n", 1);
        return 0;
}

static int emit_lines(const CtlStreamOptions *o, const DescartesOutput *out)
{
        for (size_t i = 0; i < descartes_output_get_n_lines(out); i++) {
                int r = emit_line(o, descartes_output_get_line(out, i));
                if (r != 0)
                        return r;
        }
        return 0;
}

/* A tail the daemon cut short (`partial`) comes in parts, each with the last lines of its stretch of the
 * log: the last `tail` lines over all parts are the answer. */
typedef struct TailLines {
        LineRef *lines;
        size_t n;
} TailLines;

static void tail_lines_done(TailLines *t)
{
        for (size_t i = 0; i < t->n; i++)
                descartes_output_unref(t->lines[i].output);
        free(t->lines);
        *t = (TailLines){};
}

static int tail_lines_emit(const CtlStreamOptions *o, const TailLines *t)
{
        for (size_t i = 0; i < t->n; i++) {
                int r = emit_line(o, descartes_output_get_line(t->lines[i].output, t->lines[i].i));
                if (r != 0)
                        return r;
        }
        return 0;
}

/* Adds the reply's lines and keeps the last `tail`. */
static int tail_lines_add(TailLines *t, DescartesOutput *out, uint64_t tail)
{
        size_t n_new = descartes_output_get_n_lines(out), n = t->n + n_new, drop;
        LineRef *v;

        if (n_new == 0)
                return 0;
        v = realloc(t->lines, n * sizeof *v);
        if (!v)
                return -ENOMEM;
        for (size_t i = 0; i < n_new; i++)
                v[t->n + i] = (LineRef){descartes_output_ref(out), i};
        drop = n > tail ? (size_t)(n - tail) : 0;
        for (size_t i = 0; i < drop; i++)
                descartes_output_unref(v[i].output);
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
                DescartesOutputArgs args = DESCARTES_OUTPUT_ARGS_INIT;
                _cleanup_(descartes_output_unrefp) DescartesOutput *res = NULL;
                DescartesError e;
                const char *next;
                size_t got;
                int r;

                args.agent = id;
                args.has_stream = true;
                args.stream = cur->stream;
                args.has_mode = true;
                args.mode = o->raw ? DESCARTES_OUTPUT_RAW : DESCARTES_OUTPUT_LINES;
                args.grep = o->grep;
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
                        const void *data = descartes_output_get_data(res, &got);

                        if (o->json)
                                emit_json_raw(cur->stream, data, got);
                        else
                                emit_bytes(cur->stream, data, got);
                } else if (args.has_tail && (tailing || descartes_output_get_partial(res))) {
                        got = descartes_output_get_n_lines(res);
                        if (tail_lines_add(&tail, res, args.tail) < 0)
                                return log_oom(), CTL_EXIT_FAILURE;
                        tailing = descartes_output_get_partial(res);
                        if (!tailing) {
                                r = tail_lines_emit(o, &tail);
                                tail_lines_done(&tail);
                                if (r != 0)
                                        return r;
                        }
                } else {
                        got = descartes_output_get_n_lines(res);
                        r = emit_lines(o, res);
                        if (r != 0)
                                return r;
                }

                /* Without a cursor, a tail page leaves us at the end of what matched. */
                if (cur->first && args.has_tail)
                        cur->offset = descartes_output_get_total(res);
                else
                        cur->offset += got;
                cur->first = false;
                /* a cut-short page must move the cursor on; if it did not, stop rather than spin */
                next = descartes_output_get_cursor(res);
                bool moved = next && (!cur->cursor || strcmp(next, cur->cursor) != 0);
                if (next) {
                        char *copy = strdup(next);
                        if (!copy)
                                return log_oom(), CTL_EXIT_FAILURE;
                        free(cur->cursor);
                        cur->cursor = copy;
                }
                if (!descartes_output_get_has_more(res) ||
                    (descartes_output_get_partial(res) ? !moved : got == 0)) {
                        if (tailing) /* only if the daemon broke off: print what we have */
                                return tail_lines_emit(o, &tail);
                        return 0;
                }
        }
}

int ctl_stream_output(Ctl *c, const char *id, const CtlStreamOptions *o, DescartesAgent **ret_final)
{
        _cleanup_(watch_done) Watch w = {};
        Cursor cursors[2] = {};
        size_t n_cursors = 0;
        int r = 0;

        /* Raw bytes carry no stream tag: read each stream on its own. Lines keep their order across both. */
        if (o->raw && o->stream == DESCARTES_STREAM_BOTH) {
                cursors[n_cursors++] = (Cursor){.stream = DESCARTES_STREAM_STDOUT, .first = true};
                cursors[n_cursors++] = (Cursor){.stream = DESCARTES_STREAM_STDERR, .first = true};
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
        if (r == 0 && ret_final && o->follow)
                *ret_final = TAKE_PTR(w.final);
finish:
        for (size_t i = 0; i < n_cursors; i++)
                free(cursors[i].cursor);
        return r;
}
