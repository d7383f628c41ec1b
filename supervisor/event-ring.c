/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "event-ring.h"

struct EventRing {
        ProtoEvent *slots;
        size_t capacity;
        size_t first; /* index of the oldest */
        size_t n;
        size_t data_bytes, max_data_bytes;
};

int event_ring_new(size_t capacity, size_t data_bytes, EventRing **ret)
{
        EventRing *r;

        if (capacity == 0 || data_bytes == 0)
                return -EINVAL;
        r = calloc(1, sizeof *r);
        if (!r)
                return -ENOMEM;
        r->slots = calloc(capacity, sizeof *r->slots);
        if (!r->slots) {
                free(r);
                return -ENOMEM;
        }
        r->capacity = capacity;
        r->max_data_bytes = data_bytes;
        *ret = r;
        return 0;
}

EventRing *event_ring_free(EventRing *r)
{
        if (!r)
                return NULL;
        for (size_t i = 0; i < r->n; i++)
                proto_event_done(&r->slots[(r->first + i) % r->capacity]);
        free(r->slots);
        free(r);
        return NULL;
}

static int event_copy(const ProtoEvent *e, ProtoEvent *ret)
{
        ProtoEvent c = *e;
        int r;

        c.agent = NULL;
        c.data = (ProtoValue){};
        if (e->agent && !(c.agent = strdup(e->agent)))
                return -ENOMEM;
        if (e->data.data) {
                r = proto_value_copy(&e->data, &c.data);
                if (r < 0) {
                        free(c.agent);
                        return r;
                }
        }
        *ret = c;
        return 0;
}

int event_ring_push(EventRing *r, const ProtoEvent *e)
{
        ProtoEvent c;
        int k;

        if (r->n > 0 && e->seq <= r->slots[(r->first + r->n - 1) % r->capacity].seq)
                return -EINVAL;
        if (e->data.data && e->data.size > r->max_data_bytes)
                return -E2BIG;
        k = event_copy(e, &c);
        if (k < 0)
                return k;
        while (r->n > 0 && (r->n == r->capacity || r->data_bytes + c.data.size > r->max_data_bytes)) {
                r->data_bytes -= r->slots[r->first].data.size;
                proto_event_done(&r->slots[r->first]);
                r->first = (r->first + 1) % r->capacity;
                r->n--;
        }
        r->data_bytes += c.data.size;
        r->slots[(r->first + r->n) % r->capacity] = c;
        r->n++;
        return 0;
}

size_t event_ring_size(const EventRing *r)
{
        return r->n;
}

static const ProtoEvent *slot(const EventRing *r, size_t i)
{
        return &r->slots[(r->first + i) % r->capacity];
}

/* The index of the oldest held event with seq >= seq (r->n when none). Seqs are increasing but may have
 * gaps (events that failed to be stored): binary search. */
static size_t lower_bound(const EventRing *r, uint64_t seq)
{
        size_t lo = 0, hi = r->n;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (slot(r, mid)->seq < seq)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return lo;
}

uint64_t event_ring_oldest_seq(const EventRing *r)
{
        return r->n > 0 ? slot(r, 0)->seq : 0;
}

const ProtoEvent *event_ring_find(const EventRing *r, uint64_t seq)
{
        size_t i = lower_bound(r, seq);
        return i < r->n ? slot(r, i) : NULL;
}

int event_ring_query(const EventRing *r, uint64_t since_seq, uint64_t limit, const EventViewer *viewer,
                     ProtoEventsResult *ret)
{
        ProtoEventsResult res = {};
        size_t start, stop, count = 0, i;
        uint64_t last_seq = 0;

        if (limit == 0 || limit > PROTO_EVENTS_MAX)
                limit = PROTO_EVENTS_MAX;
        if (r->n > 0) {
                res.oldest_seq = slot(r, 0)->seq;
                last_seq = slot(r, r->n - 1)->seq;
        }
        start = lower_bound(r, since_seq);
        for (i = start; i < r->n && count < limit; i++)
                if (!viewer || event_viewer_wants(viewer, slot(r, i)))
                        count++;
        stop = i; /* looked at: [start, stop) */
        if (count > 0) {
                res.events = calloc(count, sizeof *res.events);
                if (!res.events)
                        return -ENOMEM;
        }
        for (i = start; i < stop && res.n_events < count; i++) {
                int k;

                if (viewer && !event_viewer_wants(viewer, slot(r, i)))
                        continue;
                k = event_copy(slot(r, i), &res.events[res.n_events]);
                if (k < 0) {
                        proto_events_result_done(&res);
                        return k;
                }
                res.n_events++;
        }
        /* past every event looked at: a filtered reply goes on after what it skipped */
        if (stop > start)
                res.next_seq = slot(r, stop - 1)->seq + 1;
        else
                res.next_seq = MAX(since_seq, last_seq + 1);
        res.filtered = viewer && (!viewer->admin || viewer->agent);
        *ret = res;
        return 0;
}
