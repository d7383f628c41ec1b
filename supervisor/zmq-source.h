/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A ZeroMQ socket served from sd-event.
 *
 * ZMQ_FD is libzmq's internal mailbox: it only says "state may have changed", and any zmq_send, zmq_recv or
 * ZMQ_EVENTS read anywhere in the program can consume that edge. So a plain io source strands messages under
 * load. We keep an io source on ZMQ_FD, and a prepare callback that runs before every sleep of the loop (so
 * also after every send made by any handler) reads ZMQ_EVENTS and arms a one-shot defer source while POLLIN
 * is set. Each dispatch receives a bounded batch, for fairness with the other sources. */

#include <stddef.h>
#include <systemd/sd-event.h>
#include <zmq.h>

#define ZMQ_SOURCE_MAX_PARTS 8
#define ZMQ_SOURCE_BATCH     64

typedef struct ZmqSource ZmqSource;

/* Called with one whole multipart message. parts[] are closed by the caller after it returns. A message with
 * more than ZMQ_SOURCE_MAX_PARTS parts is drained and dropped (counted). A negative return is logged at
 * debug and otherwise ignored: one bad message never stops the socket. */
typedef int (*zmq_source_handler_t)(ZmqSource *s, zmq_msg_t *parts, size_t n_parts, void *userdata);

int zmq_source_new(sd_event *e, void *zsock, const char *description, zmq_source_handler_t handler,
                   void *userdata, ZmqSource **ret);
ZmqSource *zmq_source_free(ZmqSource *s);
void *zmq_source_get_socket(ZmqSource *s);
/* The sd-event priority of both its sources (SD_EVENT_PRIORITY_NORMAL unless set). */
int zmq_source_set_priority(ZmqSource *s, int64_t priority);
/* Messages dropped because they had too many parts or failed to receive whole. */
unsigned long zmq_source_dropped(ZmqSource *s);

static inline void zmq_source_freep(ZmqSource **s)
{
        if (*s)
                zmq_source_free(*s);
}

typedef struct SendBudget SendBudget;
/* Makes zmq_send_parts() on zsock go through the budget (send-budget.h): the ROUTER's replies. One socket
 * per process, like the Manager; NULL undoes it. */
void zmq_send_set_budget(void *zsock, SendBudget *b);

/* Sends parts[0..n) as one multipart message without blocking; -EAGAIN when the peer's queue is full,
 * -ENOBUFS when the socket's budget has no room. */
int zmq_send_parts(void *zsock, const void *const *data, const size_t *sizes, size_t n);
