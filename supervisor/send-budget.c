/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "cleanup.h"
#include "hash-util.h"
#include "send-budget.h"

#define BUCKETS 1024

typedef struct Peer {
        struct Peer *next;
        uint64_t queued;
        size_t key_len;
        unsigned char key[]; /* the routing id */
} Peer;

/* Heads the copy of a charged message's bytes: what its free callback returns. */
typedef struct Charge {
        SendBudget *budget;
        Peer *peer;
        uint64_t bytes;
} Charge;

struct SendBudget {
        pthread_mutex_t lock;
        uint64_t peer_max;
        uint64_t total_max;
        uint64_t total;
        Peer *buckets[BUCKETS];
};

int send_budget_new(uint64_t peer_max, uint64_t total_max, SendBudget **ret)
{
        SendBudget *b = calloc(1, sizeof *b);

        if (!b)
                return -ENOMEM;
        pthread_mutex_init(&b->lock, NULL);
        b->peer_max = peer_max;
        b->total_max = total_max;
        *ret = b;
        return 0;
}

SendBudget *send_budget_free(SendBudget *b)
{
        if (!b)
                return NULL;
        for (size_t i = 0; i < BUCKETS; i++)
                while (b->buckets[i]) {
                        Peer *p = b->buckets[i];
                        b->buckets[i] = p->next;
                        free(p);
                }
        pthread_mutex_destroy(&b->lock);
        free(b);
        return NULL;
}

static Peer **peer_slot(SendBudget *b, const void *key, size_t len)
{
        Peer **pp = &b->buckets[fnv1a64(key, len) % BUCKETS];

        for (; *pp; pp = &(*pp)->next)
                if ((*pp)->key_len == len && memcmp((*pp)->key, key, len) == 0)
                        break;
        return pp;
}

/* Under the lock. A peer exists only while it has bytes queued, so the table never outgrows the queue. */
static void uncharge_locked(SendBudget *b, Peer *p, uint64_t bytes)
{
        p->queued -= bytes;
        b->total -= bytes;
        if (p->queued == 0) {
                Peer **pp = peer_slot(b, p->key, p->key_len);
                *pp = p->next;
                free(p);
        }
}

/* libzmq's free callback: runs on whichever thread drops the last reference, usually its I/O thread. */
static void release(void *data, void *hint)
{
        Charge *c = hint;
        SendBudget *b = c->budget;

        pthread_mutex_lock(&b->lock);
        uncharge_locked(b, c->peer, c->bytes);
        pthread_mutex_unlock(&b->lock);
        free(c);
}

static int charge(SendBudget *b, const void *key, size_t len, uint64_t bytes, Peer **ret)
{
        Peer **pp, *p;
        int r = 0;

        pthread_mutex_lock(&b->lock);
        pp = peer_slot(b, key, len);
        p = *pp;
        if (b->total + bytes > b->total_max || (p && p->queued + bytes > b->peer_max)) {
                r = -ENOBUFS;
        } else if (!p) {
                p = calloc(1, sizeof *p + len);
                if (!p)
                        r = -ENOMEM;
                else {
                        memcpy(p->key, key, len);
                        p->key_len = len;
                        *pp = p;
                }
        }
        if (r >= 0) {
                p->queued += bytes;
                b->total += bytes;
                *ret = p;
        }
        pthread_mutex_unlock(&b->lock);
        return r;
}

int send_budget_send(SendBudget *b, void *zsock, const void *const *data, const size_t *sizes, size_t n)
{
        size_t body = n - 1;
        uint64_t bytes;
        zmq_msg_t msg;
        Charge *c;
        Peer *p;
        int r;

        if (n < 2)
                return -EINVAL;
        bytes = (uint64_t)sizes[body] + SEND_BUDGET_MSG_OVERHEAD;
        c = malloc(sizeof *c + sizes[body]);
        if (!c)
                return -ENOMEM;
        r = charge(b, data[0], sizes[0], bytes, &p);
        if (r < 0) {
                free(c);
                return r;
        }
        *c = (Charge){.budget = b, .peer = p, .bytes = bytes};
        memcpy(c + 1, data[body], sizes[body]);
        /* from here the callback owns c: zmq_msg_close() of an unsent message returns the charge */
        if (zmq_msg_init_data(&msg, c + 1, sizes[body], release, c) < 0) {
                r = -errno;
                release(c + 1, c);
                return r;
        }
        for (size_t i = 0; i < body; i++)
                if (zmq_send(zsock, data[i], sizes[i], ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0) {
                        r = -errno;
                        zmq_msg_close(&msg);
                        return r;
                }
        if (zmq_msg_send(&msg, zsock, ZMQ_DONTWAIT) < 0) {
                r = -errno;
                zmq_msg_close(&msg);
                return r;
        }
        return 0;
}
