/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "log.h"
#include "send-budget.h"
#include "zmq-source.h"

struct ZmqSource {
        void *zsock;
        sd_event_source *io;
        sd_event_source *defer;
        zmq_source_handler_t handler;
        void *userdata;
        unsigned long dropped;
};

static int zmq_events(void *zsock)
{
        int ev = 0;
        size_t len = sizeof ev;

        if (zmq_getsockopt(zsock, ZMQ_EVENTS, &ev, &len) < 0)
                return -errno;
        return ev;
}

/* Receives one whole multipart message. Returns the number of parts, 0 when nothing is pending. */
static int recv_message(ZmqSource *s, zmq_msg_t *parts, size_t *ret_n)
{
        size_t n = 0;
        int more = 1;
        bool overflow = false;

        while (more) {
                zmq_msg_t m;
                size_t len = sizeof more;

                zmq_msg_init(&m);
                if (zmq_msg_recv(&m, s->zsock, ZMQ_DONTWAIT) < 0) {
                        int r = -errno;
                        zmq_msg_close(&m);
                        for (size_t i = 0; i < n; i++)
                                zmq_msg_close(&parts[i]);
                        if (r == -EAGAIN && n == 0)
                                return 0;
                        s->dropped++;
                        return r;
                }
                if (zmq_getsockopt(s->zsock, ZMQ_RCVMORE, &more, &len) < 0)
                        more = 0;
                if (n < ZMQ_SOURCE_MAX_PARTS)
                        parts[n++] = m;
                else {
                        overflow = true;
                        zmq_msg_close(&m);
                }
        }
        if (overflow) {
                for (size_t i = 0; i < n; i++)
                        zmq_msg_close(&parts[i]);
                s->dropped++;
                return -EMSGSIZE;
        }
        *ret_n = n;
        return 1;
}

/* At most ZMQ_SOURCE_BATCH messages per wake-up, then the loop's other sources run. No peer monopolises a
 * batch: a ROUTER fair-queues its input, taking one message from each connection with input in turn, so a
 * client's request waits behind at most one message of every other connection (and a flooding tenant's
 * are answered `busy` by the rate limit before they are decoded: control.c). */
static void dispatch_batch(ZmqSource *s)
{
        for (unsigned budget = ZMQ_SOURCE_BATCH; budget > 0; budget--) {
                zmq_msg_t parts[ZMQ_SOURCE_MAX_PARTS];
                size_t n = 0;
                int ev, r;

                ev = zmq_events(s->zsock);
                if (ev < 0 || !(ev & ZMQ_POLLIN))
                        return;
                r = recv_message(s, parts, &n);
                if (r == 0)
                        return;
                if (r < 0) {
                        log_debug_errno(r, "Dropped a malformed ZeroMQ message: %m");
                        continue;
                }
                r = s->handler(s, parts, n, s->userdata);
                if (r < 0)
                        log_debug_errno(r, "ZeroMQ message handler failed: %m");
                for (size_t i = 0; i < n; i++)
                        zmq_msg_close(&parts[i]);
        }
}

static int on_io(sd_event_source *es, int fd, uint32_t revents, void *userdata)
{
        dispatch_batch(userdata);
        return 0;
}

static int on_defer(sd_event_source *es, void *userdata)
{
        dispatch_batch(userdata);
        return 0;
}

static int on_prepare(sd_event_source *es, void *userdata)
{
        ZmqSource *s = userdata;
        int ev = zmq_events(s->zsock);

        return sd_event_source_set_enabled(s->defer,
                                           ev > 0 && (ev & ZMQ_POLLIN) ? SD_EVENT_ONESHOT : SD_EVENT_OFF);
}

int zmq_source_new(sd_event *e, void *zsock, const char *description, zmq_source_handler_t handler,
                   void *userdata, ZmqSource **ret)
{
        _cleanup_(zmq_source_freep) ZmqSource *s = NULL;
        int fd;
        size_t len = sizeof fd;
        int r;

        s = calloc(1, sizeof *s);
        if (!s)
                return -ENOMEM;
        s->zsock = zsock;
        s->handler = handler;
        s->userdata = userdata;

        if (zmq_getsockopt(zsock, ZMQ_FD, &fd, &len) < 0)
                return -errno;
        r = sd_event_add_io(e, &s->io, fd, EPOLLIN, on_io, s);
        if (r < 0)
                return r;
        r = sd_event_source_set_prepare(s->io, on_prepare);
        if (r < 0)
                return r;
        r = sd_event_add_defer(e, &s->defer, on_defer, s);
        if (r < 0)
                return r;
        r = sd_event_source_set_enabled(s->defer, SD_EVENT_OFF);
        if (r < 0)
                return r;
        (void)sd_event_source_set_description(s->io, description);
        (void)sd_event_source_set_description(s->defer, description);
        *ret = TAKE_PTR(s);
        return 0;
}

ZmqSource *zmq_source_free(ZmqSource *s)
{
        if (!s)
                return NULL;
        sd_event_source_disable_unref(s->io);
        sd_event_source_disable_unref(s->defer);
        free(s);
        return NULL;
}

void *zmq_source_get_socket(ZmqSource *s)
{
        return s->zsock;
}

int zmq_source_set_priority(ZmqSource *s, int64_t priority)
{
        int r = sd_event_source_set_priority(s->io, priority);

        return r < 0 ? r : sd_event_source_set_priority(s->defer, priority);
}

unsigned long zmq_source_dropped(ZmqSource *s)
{
        return s->dropped;
}

static void *budget_socket;
static SendBudget *budget;

void zmq_send_set_budget(void *zsock, SendBudget *b)
{
        budget_socket = b ? zsock : NULL;
        budget = b;
}

int zmq_send_parts(void *zsock, const void *const *data, const size_t *sizes, size_t n)
{
        if (budget && zsock == budget_socket)
                return send_budget_send(budget, zsock, data, sizes, n);
        for (size_t i = 0; i < n; i++) {
                int flags = ZMQ_DONTWAIT | (i + 1 < n ? ZMQ_SNDMORE : 0);
                if (zmq_send(zsock, data[i], sizes[i], flags) < 0)
                        return -errno;
        }
        return 0;
}
