/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Event subscriptions over the control ROUTER (the `subscribe` op).
 *
 * A subscription belongs to one connection (its routing id) and to the uid that made it, so that each
 * subscriber gets only what event_visible() lets it see. Each has a cursor into the event ring: publishing
 * (subscriptions_pump) sends every subscriber what follows its cursor. A send refused because the
 * connection's queue is full (-EAGAIN at ZMQ_SNDHWM, -ENOBUFS from the reply budget) leaves the cursor
 * where it is and retries on a timer; events the ring dropped meanwhile become an explicit `lost` message. A
 * send to a connection that has gone (-EHOSTUNREACH under ZMQ_ROUTER_MANDATORY) ends the subscription. */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "event-cursor.h"
#include "manager.h"
#include "proto.h"
#include "request-cache.h"
#include "time-util.h"

/* How often a subscriber whose queue was full is tried again. */
#define SUBSCRIPTION_RETRY_USEC (50 * USEC_PER_MSEC)

typedef struct Subscription Subscription;

typedef struct SubscriptionRequest {
        const Envelope *envelope; /* the subscribe request's frames: routing id first */
        const char *id;           /* the subscribe request's id */
        uid_t uid;
        bool admin;
        const char *agent; /* an agent id, or NULL */
        bool live_only;    /* no since_seq */
        uint64_t since_seq;
        const char *curve_key; /* the client's CURVE public key (Z85) on a tcp connection, else NULL */
} SubscriptionRequest;

/* Adds a subscription, replacing the connection's own if it has one. -EUSERS past the per-uid cap, -ENFILE
 * past the total cap (the connection's previous subscription then stays as it was). Events are sent only by
 * the next subscriptions_pump(), so that the subscribe reply goes first. */
int subscription_add(Manager *m, const SubscriptionRequest *req, Subscription **ret);
/* Ends the subscription of the connection with this routing id: 0, or -ENOENT when it has none. */
int subscription_remove_by_route(Manager *m, const void *route, size_t route_size);
/* Sends every subscriber what follows its cursor, as far as its queue takes. */
void subscriptions_pump(Manager *m);
void subscriptions_free_all(Manager *m);
/* Ends the subscriptions of tcp clients whose key the allow list no longer holds, or now maps to another
 * tenant (after SIGHUP reloaded it): they would otherwise go on receiving pushes without sending a request
 * that could be refused. Their clients subscribe again and are refused or filtered anew. */
void subscriptions_recheck_keys(Manager *m);
size_t subscriptions_count_uid(Manager *m, uid_t uid);
