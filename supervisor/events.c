/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent.h"
#include "event-log.h"
#include "event-ring.h"
#include "events.h"
#include "log.h"
#include "subscription.h"
#include "time-util.h"

void events_publish(Manager *m, ProtoEventKind kind, const Agent *a, const ProtoState *state,
                    const ProtoReason *reason, ProtoValue *data)
{
        _cleanup_free_ void *body = NULL;
        size_t body_len = 0;
        ProtoEvent e = {
                .seq = ++m->next_event_seq,
                .ts_ns = now_ns(CLOCK_REALTIME),
                .kind = kind,
                .agent = a ? a->info.id : NULL,
                .has_owner = a,
                .owner_uid = a ? a->info.owner_uid : 0,
        };
        int r;

        if (state) {
                e.has_state = true;
                e.state = *state;
        }
        if (reason) {
                e.has_reason = true;
                e.reason = *reason;
        }
        if (data) {
                e.data = *data;
                *data = (ProtoValue){};
        }

        /* on disk before anyone can see it: a subscriber never sees a seq that a restart could reuse */
        r = proto_event_encode(&e, &body, &body_len);
        if (r >= 0 && m->event_log)
                (void)event_log_append(m->event_log, &e, body, body_len);
        if (r >= 0)
                r = event_ring_push(m->event_ring, &e);
        if (r < 0) {
                /* subscribers are told of the hole as `lost` when they reach it */
                m->stats.event_send_failures++;
                log_debug_errno(r, "Failed to keep event %llu for subscribers: %m",
                                (unsigned long long)e.seq);
        } else
                m->stats.events_published++;
        proto_value_done(&e.data);
        subscriptions_pump(m);
}
