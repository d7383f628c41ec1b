/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "event-cursor.h"

void event_cursor_init(EventCursor *c, const EventRing *r, bool live_only, uint64_t since_seq,
                       uint64_t last_seq)
{
        uint64_t start;

        if (live_only || since_seq > last_seq)
                start = last_seq + 1;
        else if (since_seq == 0)
                start = event_ring_oldest_seq(r) ?: last_seq + 1;
        else
                start = since_seq;
        *c = (EventCursor){.next_seq = start, .prev_seq = start - 1};
}

void event_cursor_peek(EventCursor *c, const EventRing *r, const EventViewer *v, EventStep *ret)
{
        for (;;) {
                const ProtoEvent *e = event_ring_find(r, c->next_seq);

                if (!e) {
                        *ret = (EventStep){.kind = EVENT_STEP_NONE};
                        return;
                }
                if (e->seq > c->next_seq) {
                        /* published but no longer (or never) held */
                        *ret = (EventStep){.kind = EVENT_STEP_LOST, .from = c->next_seq, .to = e->seq - 1};
                        return;
                }
                if (event_viewer_wants(v, e)) {
                        *ret = (EventStep){.kind = EVENT_STEP_EVENT, .event = e};
                        return;
                }
                c->next_seq = e->seq + 1;
        }
}

void event_cursor_consume(EventCursor *c, const EventStep *s)
{
        switch (s->kind) {
        case EVENT_STEP_EVENT:
                c->prev_seq = s->event->seq;
                c->next_seq = s->event->seq + 1;
                break;
        case EVENT_STEP_LOST:
                c->prev_seq = s->to;
                c->next_seq = s->to + 1;
                break;
        case EVENT_STEP_NONE:
        default:
                break;
        }
}
