/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <zmq.h>

#include "cleanup.h"
#include "client-internal.h"
#include "client-objects.h"
#include "time-util.h"

struct DescartesSubscription {
        void *socket;
        bool filtered; /* one agent only: seq gaps are expected */
        uint64_t last_seq;
        uint64_t dropped;
        bool gap;
        uint64_t gap_from, gap_to;
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

int descartes_subscribe(DescartesClient *c, const char *agent_id, DescartesSubscription **ret,
                        DescartesError *e)
{
        _cleanup_free_ DescartesSubscription *s = NULL;
        _cleanup_free_ char *prefix = NULL;
        int64_t maxmsg = PROTO_MESSAGE_MAX;
        const char *endpoint;
        int linger = 0, r;

        descartes_error_clear(e);
        if (!c || !ret)
                return client_error_set(e, DESCARTES_ERROR_LOCAL, -EINVAL, "invalid argument");
        if (agent_id) {
                r = proto_event_topic_agent_prefix(agent_id, &prefix);
                if (r < 0)
                        return client_error_set(e, DESCARTES_ERROR_LOCAL, -EINVAL,
                                                "\"%s\" cannot be subscribed to: an agent id is needed",
                                                agent_id);
        }
        endpoint = descartes_client_get_events_endpoint(c);
        r = client_endpoint_check(endpoint, e);
        if (r < 0)
                return r;

        s = calloc(1, sizeof *s);
        if (!s)
                return client_error_set(e, DESCARTES_ERROR_LOCAL, -ENOMEM, "out of memory");
        s->filtered = agent_id;
        s->socket = zmq_socket(c->zmq_ctx, ZMQ_SUB);
        if (!s->socket)
                return client_error_set(e, DESCARTES_ERROR_LOCAL, negative_errno(),
                                        "cannot create a ZeroMQ socket: %s", zmq_strerror(errno));
        (void)zmq_setsockopt(s->socket, ZMQ_LINGER, &linger, sizeof linger);
        (void)zmq_setsockopt(s->socket, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg);
        if (zmq_setsockopt(s->socket, ZMQ_SUBSCRIBE, prefix ?: "", prefix ? strlen(prefix) : 0) < 0 ||
            zmq_connect(s->socket, endpoint) < 0) {
                r = negative_errno();
                (void)zmq_close(s->socket);
                return client_error_set(e, DESCARTES_ERROR_UNREACHABLE, -ECONNREFUSED,
                                        "cannot subscribe to %s: %s", endpoint, zmq_strerror(-r));
        }
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

/* Reads whole [topic, body] messages while there are any: 1 and *ret for the first that decodes, 0 when none
 * is queued, -EINTR or another -errno from libzmq. */
static int subscription_read(DescartesSubscription *s, ProtoEvent *ret)
{
        for (;;) {
                zmq_msg_t frame;
                int more = 0, n_frames = 0;
                size_t more_size = sizeof more;
                ProtoEvent ev = {};
                bool ok = false;

                zmq_msg_init(&frame);
                do {
                        if (zmq_msg_recv(&frame, s->socket, ZMQ_DONTWAIT) < 0) {
                                int r = negative_errno();
                                zmq_msg_close(&frame);
                                if (n_frames == 0 && r == -EAGAIN)
                                        return 0;
                                if (r == -EINTR && n_frames == 0)
                                        return r;
                                s->dropped++;
                                return r == -EAGAIN ? 0 : r;
                        }
                        n_frames++;
                        if (zmq_getsockopt(s->socket, ZMQ_RCVMORE, &more, &more_size) < 0)
                                more = 0;
                        if (!more && n_frames == 2)
                                ok = proto_event_decode(zmq_msg_data(&frame), zmq_msg_size(&frame), &ev,
                                                        NULL) >= 0;
                } while (more);
                zmq_msg_close(&frame);

                if (!ok) {
                        s->dropped++;
                        continue;
                }
                s->gap = !s->filtered && descartes_seq_gap(s->last_seq, ev.seq, &s->gap_from, &s->gap_to);
                if (ev.seq > s->last_seq)
                        s->last_seq = ev.seq;
                *ret = ev;
                return 1;
        }
}

/* Waits for the next event that decodes: 1 and *ret, 0 on timeout, or -errno with *e filled. */
static int next_event(DescartesSubscription *s, uint64_t timeout_usec, ProtoEvent *ret, DescartesError *e)
{
        uint64_t deadline;

        deadline = timeout_usec == UINT64_MAX ? UINT64_MAX : now_usec(CLOCK_MONOTONIC) + timeout_usec;

        for (;;) {
                zmq_pollitem_t item = {.socket = s->socket, .events = ZMQ_POLLIN};
                uint64_t now;
                long ms;
                int r;

                r = subscription_read(s, ret);
                if (r == -EINTR)
                        return client_error_set(e, DESCARTES_ERROR_LOCAL, r, "interrupted");
                if (r < 0)
                        return client_error_set(e, DESCARTES_ERROR_PROTOCOL, -EPROTO,
                                                "receiving events failed: %s", zmq_strerror(-r));
                if (r > 0)
                        return 1;

                now = now_usec(CLOCK_MONOTONIC);
                if (now >= deadline)
                        return 0;
                ms = deadline == UINT64_MAX
                             ? -1
                             : (long)MIN((deadline - now + 999) / USEC_PER_MSEC, (uint64_t)INT_MAX);
                r = zmq_poll(&item, 1, ms);
                if (r < 0 && errno == EINTR)
                        return client_error_set(e, DESCARTES_ERROR_LOCAL, -EINTR, "interrupted");
                if (r < 0)
                        return client_error_set(e, DESCARTES_ERROR_LOCAL, negative_errno(),
                                                "waiting for events failed: %s", zmq_strerror(errno));
        }
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
