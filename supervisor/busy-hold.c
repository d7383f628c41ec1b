/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>

#include "busy-hold.h"
#include "cleanup.h"
#include "log.h"

#define CALLER_BUCKETS 64

typedef struct Held {
        uid_t uid;
        uint64_t due_usec;
        Envelope *env;
        void *body;
        size_t size;
        struct Held *next;
} Held;

/* How many replies one caller has held now. */
typedef struct CallerCount {
        uid_t uid;
        size_t n;
        struct CallerCount *next;
} CallerCount;

struct BusyHold {
        sd_event_source *timer;
        busy_hold_send_t send;
        void *userdata;
        Held *head, *tail; /* in due order: every hold is as long */
        size_t n;
        uint64_t total;
        CallerCount *callers[CALLER_BUCKETS];
};

static CallerCount **caller_slot(BusyHold *h, uid_t uid)
{
        CallerCount **p = &h->callers[uid % CALLER_BUCKETS];

        while (*p && (*p)->uid != uid)
                p = &(*p)->next;
        return p;
}

static void caller_release(BusyHold *h, uid_t uid)
{
        CallerCount **p = caller_slot(h, uid), *c = *p;

        if (c && --c->n == 0) {
                *p = c->next;
                free(c);
        }
}

static void held_free(Held *x)
{
        envelope_free(x->env);
        free(x->body);
        free(x);
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
        BusyHold *h = userdata;
        int r;

        while (h->head && h->head->due_usec <= usec) {
                Held *x = h->head;

                h->head = x->next;
                if (!h->head)
                        h->tail = NULL;
                h->n--;
                caller_release(h, x->uid);
                h->send(h->userdata, x->env, x->body, x->size);
                held_free(x);
        }
        if (!h->head)
                return sd_event_source_set_enabled(s, SD_EVENT_OFF);
        r = sd_event_source_set_time(s, h->head->due_usec);
        if (r >= 0)
                r = sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
        if (r < 0)
                log_warning_errno(r, "Cannot re-arm the timer of held busy replies: %m");
        return 0;
}

int busy_hold_new(sd_event *e, busy_hold_send_t send, void *userdata, BusyHold **ret)
{
        _cleanup_free_ BusyHold *h = calloc(1, sizeof *h);
        int r;

        if (!h)
                return -ENOMEM;
        h->send = send;
        h->userdata = userdata;
        /* 1 ms of slack: the replies due within it go out together */
        r = sd_event_add_time(e, &h->timer, CLOCK_MONOTONIC, UINT64_MAX, USEC_PER_MSEC, on_timer, h);
        if (r < 0)
                return r;
        (void)sd_event_source_set_enabled(h->timer, SD_EVENT_OFF);
        (void)sd_event_source_set_description(h->timer, "busy-hold");
        *ret = TAKE_PTR(h);
        return 0;
}

BusyHold *busy_hold_free(BusyHold *h)
{
        if (!h)
                return NULL;
        sd_event_source_disable_unref(h->timer);
        for (Held *x = h->head, *next; x; x = next) {
                next = x->next;
                held_free(x);
        }
        for (size_t i = 0; i < CALLER_BUCKETS; i++)
                for (CallerCount *c = h->callers[i], *next; c; c = next) {
                        next = c->next;
                        free(c);
                }
        free(h);
        return NULL;
}

int busy_hold_add(BusyHold *h, uid_t uid, Envelope **env, void **body, size_t size, uint64_t now_usec)
{
        CallerCount **slot, *c;
        Held *x;
        int r;

        if (h->n >= BUSY_HOLD_TOTAL)
                return -ENOSPC;
        slot = caller_slot(h, uid);
        c = *slot;
        if (c && c->n >= BUSY_HOLD_PER_CALLER)
                return -ENOSPC;
        if (!h->head) {
                r = sd_event_source_set_time(h->timer, now_usec + BUSY_HOLD_USEC);
                if (r >= 0)
                        r = sd_event_source_set_enabled(h->timer, SD_EVENT_ONESHOT);
                if (r < 0)
                        return r;
        }
        x = calloc(1, sizeof *x);
        if (!x)
                return -ENOMEM;
        if (!c) {
                c = calloc(1, sizeof *c);
                if (!c) {
                        free(x);
                        return -ENOMEM;
                }
                c->uid = uid;
                *slot = c;
        }
        c->n++;
        x->uid = uid;
        x->due_usec = now_usec + BUSY_HOLD_USEC;
        x->env = TAKE_PTR(*env);
        x->body = TAKE_PTR(*body);
        x->size = size;
        if (h->tail)
                h->tail->next = x;
        else
                h->head = x;
        h->tail = x;
        h->n++;
        h->total++;
        return 0;
}

size_t busy_hold_count(const BusyHold *h)
{
        return h->n;
}

uint64_t busy_hold_total(const BusyHold *h)
{
        return h->total;
}
