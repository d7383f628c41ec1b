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
};

int event_ring_new(size_t capacity, EventRing **ret)
{
        EventRing *r;

        if (capacity == 0)
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
        k = event_copy(e, &c);
        if (k < 0)
                return k;
        if (r->n == r->capacity) {
                proto_event_done(&r->slots[r->first]);
                r->first = (r->first + 1) % r->capacity;
                r->n--;
        }
        r->slots[(r->first + r->n) % r->capacity] = c;
        r->n++;
        return 0;
}

size_t event_ring_size(const EventRing *r)
{
        return r->n;
}

int event_ring_query(const EventRing *r, uint64_t since_seq, uint64_t limit, ProtoEventsResult *ret)
{
        ProtoEventsResult res = {};
        size_t start = 0, count;
        uint64_t last_seq = 0;

        if (limit == 0 || limit > PROTO_EVENTS_MAX)
                limit = PROTO_EVENTS_MAX;
        if (r->n > 0) {
                res.oldest_seq = r->slots[r->first].seq;
                last_seq = r->slots[(r->first + r->n - 1) % r->capacity].seq;
        }
        /* seqs are increasing but may have gaps (events that failed to be stored): binary search */
        {
                size_t lo = 0, hi = r->n;
                while (lo < hi) {
                        size_t mid = lo + (hi - lo) / 2;
                        if (r->slots[(r->first + mid) % r->capacity].seq < since_seq)
                                lo = mid + 1;
                        else
                                hi = mid;
                }
                start = lo;
        }
        count = MIN(r->n - start, (size_t)limit);
        if (count > 0) {
                res.events = calloc(count, sizeof *res.events);
                if (!res.events)
                        return -ENOMEM;
        }
        for (size_t i = 0; i < count; i++) {
                int k = event_copy(&r->slots[(r->first + start + i) % r->capacity], &res.events[i]);
                if (k < 0) {
                        proto_events_result_done(&res);
                        return k;
                }
                res.n_events = i + 1;
        }
        if (count > 0)
                res.next_seq = res.events[count - 1].seq + 1;
        else
                res.next_seq = MAX(since_seq, last_seq + 1);
        *ret = res;
        return 0;
}
