/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The last N published events, for `events` replays: a subscriber that sees a gap in seq asks for what it
 * missed. Events are pushed in increasing seq order. */

#include <stddef.h>
#include <stdint.h>

#include "event-visible.h"
#include "proto.h"

#define EVENT_RING_DEFAULT_CAPACITY   4096
#define EVENT_RING_DEFAULT_DATA_BYTES (32 * 1024 * 1024)

typedef struct EventRing EventRing;

/* At most capacity events whose data adds up to at most data_bytes (the oldest go first). */
int event_ring_new(size_t capacity, size_t data_bytes, EventRing **ret);
EventRing *event_ring_free(EventRing *r);
static inline void event_ring_freep(EventRing **r)
{
        if (*r)
                event_ring_free(*r);
}

/* Stores a copy of e (the oldest event goes when full). e->seq must be above every seq held. */
int event_ring_push(EventRing *r, const ProtoEvent *e);
/* Copies the events with seq >= since_seq that viewer wants (NULL: all), at most limit of them (0:
 * PROTO_EVENTS_MAX), into ret; next_seq is the seq to ask for next (past the events looked at, shown or
 * not), oldest_seq the oldest held (0 when empty). */
int event_ring_query(const EventRing *r, uint64_t since_seq, uint64_t limit, const EventViewer *viewer,
                     ProtoEventsResult *ret);
size_t event_ring_size(const EventRing *r);
/* The oldest held seq (0: none). */
uint64_t event_ring_oldest_seq(const EventRing *r);
/* The oldest held event with seq >= seq, or NULL; valid until the next push. */
const ProtoEvent *event_ring_find(const EventRing *r, uint64_t seq);
