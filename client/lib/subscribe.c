/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Event subscriptions: a DEALER of its own on the control endpoint, the `subscribe` op, then the events the
 * daemon pushes on that connection. The subscription outlives the daemon: when it hears nothing for two
 * heartbeat periods (a restarted daemon no longer knows it, a dead one says nothing), it sends `subscribe`
 * again with since_seq just past the last seq it accounted for, and drops what it has seen already, so the
 * caller gets every event once and in order. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <zmq.h>

#include "cleanup.h"
#include "client-internal.h"
#include "client-objects.h"
#include "string-util.h"
#include "time-util.h"

/* Without a heartbeat (heartbeat_interval = 0) the silence that makes a subscription ask again. */
#define SUBSCRIPTION_PROBE_USEC (10 * USEC_PER_SEC)
/* Added to two heartbeat periods: the heartbeat timer's slack and a busy daemon. */
#define SUBSCRIPTION_SILENCE_SLACK_USEC (USEC_PER_SEC)

struct DescartesSubscription {
        DescartesClient *client;             /* for request ids; a subscription is freed before its client */
        void *socket;                        /* DEALER on the control endpoint */
        char agent[PROTO_AGENT_REF_MAX + 1]; /* "" : every event the caller may see */
        char sub_id[PROTO_ID_MAX + 1];       /* the id of the last subscribe sent: pushes carry it */
        uint64_t silence_usec;               /* no message for this long: subscribe again */
        uint64_t last_heard;                 /* CLOCK_MONOTONIC usec */
        uint64_t cursor;   /* the last seq accounted for: delivered, lost, or where the subscription began */
        uint64_t last_seq; /* the last seq delivered */
        uint64_t dropped;
        uint64_t resubscribed;
        uint64_t n_sent; /* subscribe requests sent */
        bool gap;        /* the last event delivered followed a loss */
        uint64_t gap_from, gap_to;
        bool pending_gap; /* a loss was announced: reported with the next event */
        uint64_t pending_from, pending_to;
};

int descartes_seq_gap(uint64_t last_seq, uint64_t seq, uint64_t *ret_from, uint64_t *ret_to)
{
        if (last_seq == 0 || seq <= last_seq + 1)
                return 0;
        if (ret_from)
                *ret_from = last_seq + 1;
        if (ret_to)
                *ret_to = seq - 1;
        return 1;
}

static void set_silence(DescartesSubscription *s, uint64_t heartbeat_ms)
{
        s->silence_usec = heartbeat_ms > 0 && heartbeat_ms < UINT64_MAX / (4 * USEC_PER_MSEC)
                                  ? 2 * heartbeat_ms * USEC_PER_MSEC + SUBSCRIPTION_SILENCE_SLACK_USEC
                                  : SUBSCRIPTION_PROBE_USEC;
}

/* Sends a subscribe with a fresh id: live only at first, then from just past the cursor. */
static int send_subscribe(DescartesSubscription *s, bool resume, DescartesError *e)
{
        _cleanup_free_ void *buf = NULL;
        ProtoRequest req = {.v = PROTO_VERSION, .op = PROTO_OP_SUBSCRIBE, .id = s->sub_id};
        size_t len;
        int r;

        /* ids of our own: the client's counter belongs to the threads making requests */
        (void)snprintf(s->sub_id, sizeof s->sub_id, "%d-%08x-sub%p-%llu", (int)getpid(), s->client->nonce,
                       (void *)s, (unsigned long long)++s->n_sent);
        if (s->agent[0])
                req.args.subscribe.agent = s->agent;
        if (resume) {
                req.args.subscribe.has_since_seq = true;
                req.args.subscribe.since_seq = s->cursor + 1;
        }
        r = proto_request_encode(&req, &buf, &len);
        if (r < 0)
                return client_error_set(e, DESCARTES_ERROR_LOCAL, r == -ENOMEM ? r : -EINVAL,
                                        "cannot encode the subscribe request: %s", strerror(-r));
        /* queued by libzmq while the daemon is away, sent once it is back */
        if (zmq_send(s->socket, buf, len, ZMQ_DONTWAIT) < 0 && errno != EAGAIN)
                return client_error_set(e, DESCARTES_ERROR_UNREACHABLE, -ECONNREFUSED,
                                        "cannot send to descartesd: %s", zmq_strerror(errno));
        s->last_heard = now_usec(CLOCK_MONOTONIC);
        return 0;
}

/* Receives one whole message and keeps its last frame. 1, 0 when none is queued, or -errno. */
static int recv_body(void *socket, zmq_msg_t *body)
{
        for (;;) {
                int more = 0;
                size_t more_size = sizeof more;

                zmq_msg_close(body);
                zmq_msg_init(body);
                if (zmq_msg_recv(body, socket, ZMQ_DONTWAIT) < 0)
                        return errno == EAGAIN ? 0 : negative_errno();
                if (zmq_getsockopt(socket, ZMQ_RCVMORE, &more, &more_size) < 0)
                        return negative_errno();
                if (!more)
                        return 1;
        }
}

/* A reply to our subscribe: 0 (ok, or not ours), or the daemon's refusal as -errno with *e filled. */
static int handle_reply(DescartesSubscription *s, const void *buf, size_t len, DescartesError *e)
{
        _cleanup_(proto_reply_done) ProtoReply reply = {.op = PROTO_OP_SUBSCRIBE};
        ProtoError perr;

        if (proto_reply_decode(buf, len, PROTO_OP_SUBSCRIBE, &reply, &perr) < 0) {
                if (perr.has_id && streq(perr.id, s->sub_id))
                        return client_error_set(e, DESCARTES_ERROR_PROTOCOL, -EPROTO,
                                                "descartesd sent a subscribe reply that cannot be read: %s",
                                                perr.msg);
                return 0;
        }
        if (!reply.id || !streq(reply.id, s->sub_id))
                return 0; /* an earlier subscribe's */
        if (!reply.ok)
                return client_error_from_reply(e, &reply);
        set_silence(s, reply.result.subscribe.heartbeat_ms);
        return 0;
}

/* 1 and *ret when the push is an event to deliver, 0 when it is not (a loss, a duplicate, a stale
 * subscription's push, one that does not decode). */
static int handle_push(DescartesSubscription *s, const void *buf, size_t len, ProtoEvent *ret)
{
        _cleanup_(proto_push_done) ProtoPush p = {};

        if (proto_push_decode(buf, len, &p, NULL) < 0) {
                s->dropped++;
                return 0;
        }
        if (!streq(p.sub, s->sub_id))
                return 0; /* sent before our last subscribe replaced it: that one sends it again */
        if (p.has_lost) {
                if (p.lost.to <= s->cursor)
                        return 0;
                if (!s->pending_gap) {
                        s->pending_gap = true;
                        s->pending_from = MAX(p.lost.from, s->cursor + 1);
                }
                s->pending_to = p.lost.to;
                s->cursor = p.lost.to;
                return 0;
        }
        if (p.event.seq <= s->cursor)
                return 0; /* seen already (a resubscribe replays from the cursor on) */
        s->cursor = p.event.seq;
        /* an agent's subscription hears heartbeats only to know the daemon is there */
        if (s->agent[0] && !p.event.agent)
                return 0;
        s->gap = s->pending_gap;
        s->gap_from = s->pending_from;
        s->gap_to = s->pending_to;
        s->pending_gap = false;
        s->last_seq = p.event.seq;
        *ret = p.event;
        p.event = (ProtoEvent){};
        return 1;
}

/* Reads what is queued: 1 and *ret for an event to deliver, 0 when nothing more is queued, -errno. */
static int subscription_read(DescartesSubscription *s, ProtoEvent *ret, DescartesError *e)
{
        for (;;) {
                zmq_msg_t body;
                const void *buf;
                size_t len;
                int r;

                zmq_msg_init(&body);
                r = recv_body(s->socket, &body);
                if (r <= 0) {
                        zmq_msg_close(&body);
                        if (r == -EINTR)
                                return client_error_set(e, DESCARTES_ERROR_LOCAL, r, "interrupted");
                        if (r < 0)
                                return client_error_set(e, DESCARTES_ERROR_PROTOCOL, -EPROTO,
                                                        "receiving events failed: %s", zmq_strerror(-r));
                        return 0;
                }
                s->last_heard = now_usec(CLOCK_MONOTONIC);
                buf = zmq_msg_data(&body);
                len = zmq_msg_size(&body);
                if (proto_message_is_push(buf, len))
                        r = handle_push(s, buf, len, ret);
                else
                        r = handle_reply(s, buf, len, e);
                zmq_msg_close(&body);
                if (r != 0)
                        return r;
        }
}

/* Waits for the next event to deliver: 1 and *ret, 0 on timeout, or -errno with *e filled. */
static int next_event(DescartesSubscription *s, uint64_t timeout_usec, ProtoEvent *ret, DescartesError *e)
{
        uint64_t deadline;

        deadline = timeout_usec == UINT64_MAX ? UINT64_MAX : now_usec(CLOCK_MONOTONIC) + timeout_usec;

        for (;;) {
                zmq_pollitem_t item = {.socket = s->socket, .events = ZMQ_POLLIN};
                uint64_t now, wake;
                long ms;
                int r;

                r = subscription_read(s, ret, e);
                if (r != 0)
                        return r;

                now = now_usec(CLOCK_MONOTONIC);
                if (now - s->last_heard >= s->silence_usec) {
                        /* the daemon went away, or came back without our subscription */
                        s->resubscribed++;
                        r = send_subscribe(s, true, e);
                        if (r < 0)
                                return r;
                        continue;
                }
                if (now >= deadline)
                        return 0;
                wake = MIN(deadline, s->last_heard + s->silence_usec);
                ms = (long)MIN((wake - now + 999) / USEC_PER_MSEC, (uint64_t)INT_MAX);
                r = zmq_poll(&item, 1, ms);
                if (r < 0 && errno == EINTR)
                        return client_error_set(e, DESCARTES_ERROR_LOCAL, -EINTR, "interrupted");
                if (r < 0)
                        return client_error_set(e, DESCARTES_ERROR_LOCAL, negative_errno(),
                                                "waiting for events failed: %s", zmq_strerror(errno));
        }
}

/* Sends the first subscribe and waits for its answer, so that a refusal (unknown agent, caps) is the
 * caller's error at once. Pushes cannot come before the reply. */
static int subscribe_first(DescartesSubscription *s, DescartesError *e)
{
        uint64_t deadline = now_usec(CLOCK_MONOTONIC) +
                            descartes_client_get_op_timeout(s->client, DESCARTES_OP_SUBSCRIBE);
        int r;

        r = send_subscribe(s, false, e);
        if (r < 0)
                return r;
        for (;;) {
                zmq_pollitem_t item = {.socket = s->socket, .events = ZMQ_POLLIN};
                uint64_t now = now_usec(CLOCK_MONOTONIC);
                zmq_msg_t body;

                if (now >= deadline)
                        return client_error_set(e, DESCARTES_ERROR_TIMEOUT, -ETIMEDOUT,
                                                "descartesd did not answer the subscription");
                r = zmq_poll(&item, 1, (long)MIN((deadline - now + 999) / USEC_PER_MSEC, (uint64_t)INT_MAX));
                if (r < 0 && errno == EINTR)
                        return client_error_set(e, DESCARTES_ERROR_LOCAL, -EINTR, "interrupted");
                if (r < 0)
                        return client_error_set(e, DESCARTES_ERROR_LOCAL, negative_errno(),
                                                "waiting for descartesd failed: %s", zmq_strerror(errno));
                zmq_msg_init(&body);
                r = recv_body(s->socket, &body);
                if (r > 0 && !proto_message_is_push(zmq_msg_data(&body), zmq_msg_size(&body))) {
                        _cleanup_(proto_reply_done) ProtoReply reply = {.op = PROTO_OP_SUBSCRIBE};
                        ProtoError perr;

                        r = proto_reply_decode(zmq_msg_data(&body), zmq_msg_size(&body), PROTO_OP_SUBSCRIBE,
                                               &reply, &perr);
                        zmq_msg_close(&body);
                        if (r < 0 && perr.has_id && streq(perr.id, s->sub_id))
                                return client_error_set(e, DESCARTES_ERROR_PROTOCOL, -EPROTO,
                                                        "descartesd sent a reply that cannot be read: %s",
                                                        perr.msg);
                        if (r < 0 || !reply.id || !streq(reply.id, s->sub_id))
                                continue;
                        if (!reply.ok)
                                return client_error_from_reply(e, &reply);
                        set_silence(s, reply.result.subscribe.heartbeat_ms);
                        s->cursor = reply.result.subscribe.last_seq;
                        s->last_heard = now_usec(CLOCK_MONOTONIC);
                        return 0;
                }
                zmq_msg_close(&body);
                if (r < 0 && r != -EINTR)
                        return client_error_set(e, DESCARTES_ERROR_PROTOCOL, -EPROTO,
                                                "receiving from descartesd failed: %s", zmq_strerror(-r));
        }
}

int descartes_subscribe(DescartesClient *c, const char *agent, DescartesSubscription **ret,
                        DescartesError *e)
{
        _cleanup_(descartes_subscription_freep) DescartesSubscription *s = NULL;
        int64_t maxmsg = PROTO_MESSAGE_MAX;
        int linger = 0, r;

        descartes_error_clear(e);
        if (!c || !ret)
                return client_error_set(e, DESCARTES_ERROR_LOCAL, -EINVAL, "invalid argument");
        if (agent && (agent[0] == 0 || strlen(agent) > PROTO_AGENT_REF_MAX))
                return client_error_set(e, DESCARTES_ERROR_LOCAL, -EINVAL,
                                        "\"%s\" cannot be subscribed to: an agent id or name is needed",
                                        agent);
        r = client_endpoint_check(c->endpoint, e);
        if (r < 0)
                return r;

        s = calloc(1, sizeof *s);
        if (!s)
                return client_error_set(e, DESCARTES_ERROR_LOCAL, -ENOMEM, "out of memory");
        s->client = c;
        if (agent)
                strcpy(s->agent, agent);
        set_silence(s, 0);
        s->socket = zmq_socket(c->zmq_ctx, ZMQ_DEALER);
        if (!s->socket)
                return client_error_set(e, DESCARTES_ERROR_LOCAL, negative_errno(),
                                        "cannot create a ZeroMQ socket: %s", zmq_strerror(errno));
        (void)zmq_setsockopt(s->socket, ZMQ_LINGER, &linger, sizeof linger);
        (void)zmq_setsockopt(s->socket, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg);
        r = client_set_random_routing_id(s->socket, e);
        if (r < 0)
                return r;
        r = client_curve_set_keys(c, s->socket, e);
        if (r < 0)
                return r;
        if (zmq_connect(s->socket, c->endpoint) < 0) {
                r = negative_errno();
                return client_error_set(e, DESCARTES_ERROR_UNREACHABLE, -ECONNREFUSED,
                                        "cannot subscribe at %s: %s", c->endpoint, zmq_strerror(-r));
        }
        r = subscribe_first(s, e);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(s);
        return 0;
}

void descartes_subscription_freep(DescartesSubscription **s)
{
        if (s)
                *s = descartes_subscription_free(*s);
}

DescartesSubscription *descartes_subscription_free(DescartesSubscription *s)
{
        if (!s)
                return NULL;
        if (s->socket)
                (void)zmq_close(s->socket);
        free(s);
        return NULL;
}

int descartes_subscription_get_fd(DescartesSubscription *s)
{
        int fd = -EBADF;
        size_t n = sizeof fd;

        if (!s)
                return -EINVAL;
        if (zmq_getsockopt(s->socket, ZMQ_FD, &fd, &n) < 0)
                return negative_errno();
        return fd;
}

uint64_t descartes_subscription_get_last_seq(const DescartesSubscription *s)
{
        return s ? s->last_seq : 0;
}

uint64_t descartes_subscription_get_dropped(const DescartesSubscription *s)
{
        return s ? s->dropped : 0;
}

uint64_t descartes_subscription_get_resubscribed(const DescartesSubscription *s)
{
        return s ? s->resubscribed : 0;
}

int descartes_subscription_get_gap(const DescartesSubscription *s, uint64_t *ret_from, uint64_t *ret_to)
{
        if (!s || !s->gap)
                return 0;
        if (ret_from)
                *ret_from = s->gap_from;
        if (ret_to)
                *ret_to = s->gap_to;
        return 1;
}

int descartes_subscription_next(DescartesSubscription *s, uint64_t timeout_usec, DescartesEvent **ret,
                                DescartesError *e)
{
        _cleanup_(proto_event_done) ProtoEvent ev = {};
        int r;

        descartes_error_clear(e);
        if (!s || !ret)
                return client_error_set(e, DESCARTES_ERROR_LOCAL, -EINVAL, "invalid argument");
        r = next_event(s, timeout_usec, &ev, e);
        if (r <= 0)
                return r;
        r = wire_event_new(&ev, ret);
        if (r < 0)
                return client_error_set(e, DESCARTES_ERROR_LOCAL, r, "out of memory");
        return 1;
}
