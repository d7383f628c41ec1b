/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A subscriber's place in the event ring: what it is sent next. Nothing is lost silently: the cursor moves
 * past an event only once it was sent (event_cursor_consume) or is not for this subscriber; seqs the ring no
 * longer holds (retention passed them, or they could not be stored) become one `lost` step. */

#include <stdint.h>

#include "event-ring.h"
#include "event-visible.h"

typedef struct EventCursor {
        uint64_t next_seq; /* the next seq to look at */
        uint64_t prev_seq; /* the seq accounted for last: the last event sent or the end of the last loss */
} EventCursor;

typedef enum EventStepKind {
        EVENT_STEP_NONE,  /* nothing to send until the next event */
        EVENT_STEP_EVENT, /* send event */
        EVENT_STEP_LOST,  /* send lost {from, to} */
} EventStepKind;

typedef struct EventStep {
        EventStepKind kind;
        const ProtoEvent *event; /* in the ring: valid until the next push */
        uint64_t from, to;
} EventStep;

/* Starts at since_seq (0: the oldest event held; no loss is reported before it), or after last_seq when
 * live_only. A since_seq past last_seq + 1 starts live. */
void event_cursor_init(EventCursor *c, const EventRing *r, bool live_only, uint64_t since_seq,
                       uint64_t last_seq);
/* What to send next; moves the cursor past the events v does not want (that is not a loss). */
void event_cursor_peek(EventCursor *c, const EventRing *r, const EventViewer *v, EventStep *ret);
/* The step was sent. */
void event_cursor_consume(EventCursor *c, const EventStep *s);
