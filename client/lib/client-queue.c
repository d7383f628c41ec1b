/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>

#include "client-queue.h"

void client_queue_init(ClientQueue *q)
{
        *q = (ClientQueue){.max = CLIENT_QUEUE_MAX_DEFAULT};
        (void)pthread_mutex_init(&q->lock, NULL);
        (void)pthread_cond_init(&q->turn, NULL);
}

void client_queue_destroy(ClientQueue *q)
{
        (void)pthread_cond_destroy(&q->turn);
        (void)pthread_mutex_destroy(&q->lock);
}

int client_queue_set_max(ClientQueue *q, size_t max)
{
        if (max == 0)
                return -EINVAL;
        pthread_mutex_lock(&q->lock);
        q->max = max;
        pthread_mutex_unlock(&q->lock);
        return 0;
}

size_t client_queue_get_max(ClientQueue *q)
{
        size_t n;

        pthread_mutex_lock(&q->lock);
        n = q->max;
        pthread_mutex_unlock(&q->lock);
        return n;
}

size_t client_queue_length(ClientQueue *q)
{
        size_t n;

        pthread_mutex_lock(&q->lock);
        n = q->length;
        pthread_mutex_unlock(&q->lock);
        return n;
}

int client_queue_enter(ClientQueue *q, size_t *ret_length)
{
        uint64_t ticket;

        pthread_mutex_lock(&q->lock);
        if (q->length >= q->max) {
                if (ret_length)
                        *ret_length = q->length;
                pthread_mutex_unlock(&q->lock);
                return -ENOBUFS;
        }
        ticket = q->next_ticket++;
        q->length++;
        while (q->serving != ticket)
                (void)pthread_cond_wait(&q->turn, &q->lock);
        pthread_mutex_unlock(&q->lock);
        return 0;
}

void client_queue_leave(ClientQueue *q)
{
        pthread_mutex_lock(&q->lock);
        q->length--;
        q->serving++;
        /* every waiter checks whether the turn is its own */
        (void)pthread_cond_broadcast(&q->turn);
        pthread_mutex_unlock(&q->lock);
}
