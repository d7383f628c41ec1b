/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The one visibility rule (event_visible), the filtered replay of the ring, and a subscriber's cursor: what
 * it is sent next, what it skips (not a loss) and what it is told it lost. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "event-cursor.h"
#include "event-ring.h"
#include "event-visible.h"

#define UID_A 1001
#define UID_B 1002

/* seq: an event of agent "a" (owner A), "b" (owner B), a host event, or an agent event of unknown owner */
static void push(EventRing *r, uint64_t seq, char who)
{
        ProtoEvent e = {.seq = seq, .ts_ns = seq, .kind = PROTO_EVENT_STATUS_CHANGED};

        switch (who) {
        case 'a':
                e = (ProtoEvent){.seq = seq, .agent = (char *)"a", .has_owner = true, .owner_uid = UID_A};
                break;
        case 'b':
                e = (ProtoEvent){.seq = seq, .agent = (char *)"b", .has_owner = true, .owner_uid = UID_B};
                break;
        case 'u':
                e = (ProtoEvent){.seq = seq, .agent = (char *)"u"};
                break;
        default:
                e.kind = PROTO_EVENT_HEARTBEAT;
                break;
        }
        assert_int_equal(event_ring_push(r, &e), 0);
}

static void test_rule(void **state)
{
        ProtoEvent host = {.seq = 1, .kind = PROTO_EVENT_HEARTBEAT};
        ProtoEvent mine = {.seq = 2, .agent = (char *)"a", .has_owner = true, .owner_uid = UID_A};
        ProtoEvent unknown = {.seq = 3, .agent = (char *)"a"};
        EventViewer one = {.uid = UID_A, .agent = "a"}, other = {.uid = UID_A, .agent = "z"};

        assert_true(event_visible(UID_B, false, &host));
        assert_true(event_visible(UID_A, false, &mine));
        assert_false(event_visible(UID_B, false, &mine));
        assert_true(event_visible(UID_B, true, &mine));
        /* an event of a format 1 log: admins only */
        assert_false(event_visible(UID_A, false, &unknown));
        assert_true(event_visible(0, true, &unknown));
        /* an agent filter keeps that agent's events and host events, never widens the rule */
        assert_true(event_viewer_wants(&one, &mine));
        assert_true(event_viewer_wants(&one, &host));
        assert_false(event_viewer_wants(&other, &mine));
        assert_true(event_viewer_wants(&other, &host));
        one.uid = UID_B;
        assert_false(event_viewer_wants(&one, &mine));
}

static void test_filtered_replay(void **state)
{
        EventRing *r = NULL;
        ProtoEventsResult res = {};
        EventViewer a = {.uid = UID_A}, admin = {.uid = 0, .admin = true};
        const char *who = "abhbbauahb"; /* seqs 1..10 */

        assert_int_equal(event_ring_new(64, 1 << 20, &r), 0);
        for (size_t i = 0; who[i]; i++)
                push(r, i + 1, who[i]);

        assert_int_equal(event_ring_query(r, 0, 0, &a, &res), 0);
        assert_int_equal(res.n_events, 5); /* A's 1, 6, 8 and the host's 3, 9; not B's nor the unknown 7 */
        assert_int_equal(res.events[0].seq, 1);
        assert_int_equal(res.events[1].seq, 3);
        assert_int_equal(res.events[2].seq, 6);
        assert_int_equal(res.events[3].seq, 8);
        assert_int_equal(res.events[4].seq, 9);
        for (size_t i = 0; i < res.n_events; i++)
                assert_true(!res.events[i].agent || strcmp(res.events[i].agent, "a") == 0);
        assert_true(res.filtered);
        assert_int_equal(res.next_seq, 11);
        proto_events_result_done(&res);

        /* the limit counts what is shown; next_seq goes on after the last one looked at */
        assert_int_equal(event_ring_query(r, 2, 2, &a, &res), 0);
        assert_int_equal(res.n_events, 2);
        assert_int_equal(res.events[0].seq, 3);
        assert_int_equal(res.events[1].seq, 6);
        assert_int_equal(res.next_seq, 7);
        proto_events_result_done(&res);

        /* from 9 on A sees the heartbeat only, then B's 10 is skipped: next_seq past it */
        assert_int_equal(event_ring_query(r, 9, 0, &(EventViewer){.uid = UID_A, .agent = "a"}, &res), 0);
        assert_int_equal(res.n_events, 1);
        assert_int_equal(res.events[0].seq, 9);
        assert_int_equal(res.next_seq, 11);
        proto_events_result_done(&res);

        assert_int_equal(event_ring_query(r, 0, 0, &admin, &res), 0);
        assert_int_equal(res.n_events, 10);
        assert_false(res.filtered);
        proto_events_result_done(&res);
        event_ring_free(r);
}

static void expect_event(EventCursor *c, EventRing *r, const EventViewer *v, uint64_t seq, uint64_t prev)
{
        EventStep s;

        event_cursor_peek(c, r, v, &s);
        assert_int_equal(s.kind, EVENT_STEP_EVENT);
        assert_int_equal(s.event->seq, seq);
        assert_int_equal(c->prev_seq, prev);
        event_cursor_consume(c, &s);
}

static void expect_none(EventCursor *c, EventRing *r, const EventViewer *v)
{
        EventStep s;

        event_cursor_peek(c, r, v, &s);
        assert_int_equal(s.kind, EVENT_STEP_NONE);
}

static void test_cursor(void **state)
{
        EventRing *r = NULL;
        EventViewer a = {.uid = UID_A}, all = {.admin = true};
        EventCursor c, live, from0, late;
        EventStep s;

        assert_int_equal(event_ring_new(4, 1 << 20, &r), 0);
        event_cursor_init(&from0, r, false, 0, 0);
        assert_int_equal(from0.next_seq, 1);
        push(r, 1, 'a');
        push(r, 2, 'b');
        push(r, 3, 'h');

        /* since_seq 1: replay, skipping B's event without calling it a loss */
        event_cursor_init(&c, r, false, 1, 3);
        assert_int_equal(c.prev_seq, 0);
        expect_event(&c, r, &a, 1, 0);
        expect_event(&c, r, &a, 3, 1);
        expect_none(&c, r, &a);

        /* live only: nothing before the subscription */
        event_cursor_init(&live, r, true, 0, 3);
        expect_none(&live, r, &all);
        assert_int_equal(live.prev_seq, 3);

        /* a since_seq in the future starts live */
        event_cursor_init(&late, r, false, 1000, 3);
        assert_int_equal(late.next_seq, 4);

        /* a cursor that is not consumed (a full queue) stays where it is */
        push(r, 4, 'a');
        event_cursor_peek(&c, r, &a, &s);
        assert_int_equal(s.kind, EVENT_STEP_EVENT);
        event_cursor_peek(&c, r, &a, &s);
        assert_int_equal(s.event->seq, 4);

        /* retention passes the waiting cursor (capacity 4): a loss from it to the oldest held, then on */
        push(r, 5, 'h');
        push(r, 6, 'a');
        push(r, 7, 'b');
        push(r, 8, 'b');
        event_cursor_peek(&c, r, &a, &s);
        assert_int_equal(s.kind, EVENT_STEP_LOST);
        assert_int_equal(s.from, 4);
        assert_int_equal(s.to, 4);
        assert_int_equal(c.prev_seq, 3);
        event_cursor_consume(&c, &s);
        expect_event(&c, r, &a, 5, 4);
        expect_event(&c, r, &a, 6, 5);
        expect_none(&c, r, &a);
        assert_int_equal(c.next_seq, 9); /* past B's 7 and 8: a later A event chains to 6 */
        push(r, 10, 'a');                /* 9 was never stored: a loss, not a silent hole */
        event_cursor_peek(&c, r, &a, &s);
        assert_int_equal(s.kind, EVENT_STEP_LOST);
        assert_int_equal(s.from, 9);
        assert_int_equal(s.to, 9);
        event_cursor_consume(&c, &s);
        expect_event(&c, r, &a, 10, 9);

        /* the live-only admin subscriber sees everything after its start; what retention took is a loss */
        event_cursor_peek(&live, r, &all, &s);
        assert_int_equal(s.kind, EVENT_STEP_LOST);
        assert_int_equal(s.from, 4);
        assert_int_equal(s.to, 6 - 1);
        event_cursor_consume(&live, &s);
        expect_event(&live, r, &all, 6, 5);
        expect_event(&live, r, &all, 7, 6);
        expect_event(&live, r, &all, 8, 7);
        event_ring_free(r);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_rule),
                cmocka_unit_test(test_filtered_replay),
                cmocka_unit_test(test_cursor),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
