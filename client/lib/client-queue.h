/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The requests of one DescartesClient, in the order they were made. A client has one connection and one
 * request on it at a time (its replies are matched by id, and a resend needs a fresh socket); callers in
 * other threads wait their turn here, first come first served, so that requests go out in order. The queue
 * is bounded: the request past the bound fails at once (-ENOBUFS) instead of waiting behind the others,
 * which is what a caller needs when descartesd is away for long. Its length counts the request on the wire
 * too. No daemon involved: the unit tests drive it with threads. */

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#define CLIENT_QUEUE_MAX_DEFAULT 1000

typedef struct ClientQueue {
        pthread_mutex_t lock;
        pthread_cond_t turn;
        uint64_t next_ticket; /* handed to the next request */
        uint64_t serving;     /* the ticket whose request may use the connection */
        size_t length;        /* requests holding a ticket, the one on the wire included */
        size_t max;
} ClientQueue;

void client_queue_init(ClientQueue *q);
void client_queue_destroy(ClientQueue *q);
/* max > 0; -EINVAL otherwise. A smaller bound leaves the requests already queued where they are. */
int client_queue_set_max(ClientQueue *q, size_t max);
size_t client_queue_get_max(ClientQueue *q);
size_t client_queue_length(ClientQueue *q);
/* Takes a ticket and waits for its turn: 0, or -ENOBUFS at once when max requests hold one already (then
 * *ret_length is that length). */
int client_queue_enter(ClientQueue *q, size_t *ret_length);
/* Ends the turn and hands the connection to the next ticket. */
void client_queue_leave(ClientQueue *q);
