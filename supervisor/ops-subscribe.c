/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* subscribe and unsubscribe: events pushed on the caller's own connection (subscription.h). */
#include <string.h>

#include "agent.h"
#include "event-ring.h"
#include "ops.h"
#include "subscription.h"
#include "time-util.h"

static int op_subscribe(Call *c)
{
        Manager *m = c->manager;
        const ProtoSubscribeArgs *args = &c->request.args.subscribe;
        ProtoReply reply = {};
        Agent *a = NULL;
        int r;

        if (!c->envelope || c->envelope->n_frames == 0)
                return call_reply_error(c, PROTO_ERROR_INTERNAL, "the request came with no routing id");
        if (c->envelope->sizes[0] < PROTO_SUBSCRIBE_ROUTING_ID_MIN)
                return call_reply_error(
                        c, PROTO_ERROR_BAD_REQUEST,
                        "subscribe needs a connection with a random routing id of at least %d "
                        "bytes (ZMQ_ROUTING_ID, set before connecting): pushes follow the "
                        "routing id, and one the daemon assigns could be claimed by another "
                        "client once this one is gone",
                        PROTO_SUBSCRIBE_ROUTING_ID_MIN);
        if (args->agent) {
                a = op_agent_lookup(c, args->agent);
                if (!a)
                        return call_reply_error(c, PROTO_ERROR_NOT_FOUND, "no agent \"%s\"", args->agent);
        }
        r = subscription_add(m,
                             &(SubscriptionRequest){
                                     .envelope = c->envelope,
                                     .id = c->request.id,
                                     .uid = c->uid,
                                     .admin = c->admin,
                                     .agent = a ? a->info.id : NULL,
                                     .live_only = !args->has_since_seq,
                                     .since_seq = args->since_seq,
                                     .curve_key = c->curve_key[0] ? c->curve_key : NULL,
                             },
                             NULL);
        if (r == -EUSERS)
                return call_reply_error(
                        c, PROTO_ERROR_LIMIT_EXCEEDED,
                        "you have %d subscriptions already: end one (unsubscribe, or close its "
                        "connection) first",
                        PROTO_SUBSCRIPTIONS_PER_USER_MAX);
        if (r == -ENFILE)
                return call_reply_error(c, PROTO_ERROR_LIMIT_EXCEEDED,
                                        "the daemon has %d subscriptions already: try again later",
                                        PROTO_SUBSCRIPTIONS_MAX);
        if (r < 0)
                return call_reply_error(c, PROTO_ERROR_INTERNAL, "cannot subscribe: %s", strerror(-r));

        if (proto_reply_init_ok(&reply, c->request.id, c->request.op) < 0) {
                (void)subscription_remove_by_route(m, c->envelope->frames[0], c->envelope->sizes[0]);
                return call_reply_error(c, PROTO_ERROR_INTERNAL, "out of memory");
        }
        reply.result.subscribe = (ProtoSubscribeResult){
                .last_seq = m->next_event_seq,
                .oldest_seq = event_ring_oldest_seq(m->event_ring),
                .filtered = !c->admin || a,
                .heartbeat_ms = m->config.heartbeat_usec / USEC_PER_MSEC,
        };
        call_reply(c, &reply);
        /* the reply first, then the replay and what follows */
        subscriptions_pump(m);
        return 0;
}

static int op_unsubscribe(Call *c)
{
        ProtoReply reply = {};

        if (!c->envelope || c->envelope->n_frames == 0 ||
            subscription_remove_by_route(c->manager, c->envelope->frames[0], c->envelope->sizes[0]) < 0)
                return call_reply_error(c, PROTO_ERROR_NOT_FOUND, "this connection has no subscription");
        if (proto_reply_init_ok(&reply, c->request.id, c->request.op) < 0)
                return call_reply_error(c, PROTO_ERROR_INTERNAL, "out of memory");
        return call_reply(c, &reply);
}

const OpHandler ops_subscribe_handlers[] = {
        {PROTO_OP_SUBSCRIBE, .call = op_subscribe},
        {PROTO_OP_UNSUBSCRIBE, .call = op_unsubscribe},
        {_PROTO_OP_INVALID},
};
