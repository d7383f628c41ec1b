/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "event-log.h"
#include "event-ring.h"
#include "events.h"
#include "log.h"
#include "time-util.h"
#include "zmq-source.h"

void events_publish(Manager *m, ProtoEventKind kind, const char *agent_id, const ProtoState *state,
                    const ProtoReason *reason, ProtoValue *data)
{
        _cleanup_free_ char *topic = NULL;
        _cleanup_free_ void *body = NULL;
        size_t body_len = 0;
        ProtoEvent e = {
                .seq = ++m->next_event_seq,
                .ts_ns = now_ns(CLOCK_REALTIME),
                .kind = kind,
                .agent = (char *)agent_id,
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

        r = event_ring_push(m->event_ring, &e);
        if (r < 0)
                log_debug_errno(r, "Failed to keep event %llu for replay: %m", (unsigned long long)e.seq);

        r = proto_event_topic(agent_id, kind, &topic);
        if (r >= 0)
                r = proto_event_encode(&e, &body, &body_len);
        /* on disk before anyone can see it: a subscriber never sees a seq that a restart could reuse */
        if (r >= 0 && m->event_log)
                (void)event_log_append(m->event_log, e.seq, body, body_len);
        if (r >= 0 && m->publisher) {
                const void *parts[2] = {topic, body};
                size_t sizes[2] = {strlen(topic), body_len};
                r = zmq_send_parts(m->publisher, parts, sizes, 2);
        }
        if (r < 0) {
                m->stats.event_send_failures++;
                log_debug_errno(r, "Failed to publish event %llu: %m", (unsigned long long)e.seq);
        } else
                m->stats.events_published++;
        proto_value_done(&e.data);
}
