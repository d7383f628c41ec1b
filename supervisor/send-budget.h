/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A byte bound on the replies the ROUTER holds for its peers.
 *
 * libzmq bounds a peer's queue by a count of messages (ZMQ_SNDHWM), and a reply may be 10 MiB: a client that
 * never reads would make the daemon hold SNDHWM x 10 MiB per connection. So every reply is charged, by its
 * size plus SEND_BUDGET_MSG_OVERHEAD, to its peer (the routing id) and to the total until libzmq lets go of
 * it (written to the peer's socket, or dropped with the connection): the message is built with
 * zmq_msg_init_data() and the charge returned in its free callback. A reply that does not fit is not
 * queued; the caller counts it as a send failure and the client, after its timeout, repeats the request id
 * and gets the cached reply.
 *
 * A peer with nothing queued may always take one reply (any reply fits PROTO_MESSAGE_MAX), as long as the
 * total has room, so a slow but reading client still gets large replies. libzmq calls the free callback from
 * its I/O thread: the accounting is under a mutex. */

#include <stddef.h>
#include <stdint.h>

/* zmq_msg_t, the pipe's slot and malloc's header: a lower bound on what a queued message costs us. */
#define SEND_BUDGET_MSG_OVERHEAD 256
/* What one connection may have queued (or a single reply of any size), and all connections together. */
#define SEND_BUDGET_PEER_MAX  (16ULL * 1024 * 1024)
#define SEND_BUDGET_TOTAL_MAX (256ULL * 1024 * 1024)

typedef struct SendBudget SendBudget;

int send_budget_new(uint64_t peer_max, uint64_t total_max, SendBudget **ret);
/* Only after zmq_ctx_term(): until then libzmq may still free charged messages. */
SendBudget *send_budget_free(SendBudget *b);

/* Sends data[0..n) on a ROUTER without blocking; data[0] is the routing id, the last part is charged.
 * -ENOBUFS when it does not fit the budget, -EAGAIN or -EHOSTUNREACH from libzmq; nothing is sent then. */
int send_budget_send(SendBudget *b, void *zsock, const void *const *data, const size_t *sizes, size_t n);
