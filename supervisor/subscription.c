/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "curve-keys.h"
#include "log.h"
#include "subscription.h"
#include "time-util.h"
#include "zmq-source.h"

struct Subscription {
        Manager *manager;
        Subscription *next, *prev;
        Envelope *envelope; /* frames in front of each push: the routing id first */
        char id[PROTO_ID_MAX + 1];
        char agent[PROTO_AGENT_ID_MAX + 1]; /* "" : every agent the subscriber may see */
        EventViewer viewer;
        EventCursor cursor;
        bool blocked;                       /* its queue was full: retried by the timer */
        char curve_key[CURVE_KEY_Z85_SIZE]; /* "" : an ipc connection */
};

static bool same_route(const Subscription *s, const void *route, size_t size)
{
        return s->envelope->n_frames > 0 && s->envelope->sizes[0] == size &&
               memcmp(s->envelope->frames[0], route, size) == 0;
}

static void subscription_free(Subscription *s)
{
        Manager *m;

        if (!s)
                return;
        m = s->manager;
        if (s->prev)
                s->prev->next = s->next;
        else if (m->subscriptions == s)
                m->subscriptions = s->next;
        if (s->next)
                s->next->prev = s->prev;
        m->n_subscriptions--;
        envelope_free(s->envelope);
        free(s);
}

size_t subscriptions_count_uid(Manager *m, uid_t uid)
{
        size_t n = 0;

        for (Subscription *s = m->subscriptions; s; s = s->next)
                if (s->viewer.uid == uid)
                        n++;
        return n;
}

static Subscription *find_route(Manager *m, const void *route, size_t size)
{
        for (Subscription *s = m->subscriptions; s; s = s->next)
                if (same_route(s, route, size))
                        return s;
        return NULL;
}

int subscription_add(Manager *m, const SubscriptionRequest *req, Subscription **ret)
{
        const Envelope *env = req->envelope;
        Subscription *old, *s;
        size_t total, mine;
        int r;

        if (!env || env->n_frames == 0 || !req->id || strlen(req->id) > PROTO_ID_MAX ||
            (req->agent && strlen(req->agent) > PROTO_AGENT_ID_MAX) ||
            (req->curve_key && strlen(req->curve_key) > CURVE_KEY_Z85_LEN))
                return -EINVAL;
        old = find_route(m, env->frames[0], env->sizes[0]);
        /* the subscription it replaces does not count against the caps */
        total = m->n_subscriptions - (old ? 1 : 0);
        mine = subscriptions_count_uid(m, req->uid) - (old && old->viewer.uid == req->uid ? 1 : 0);
        if (req->uid != 0 && mine >= PROTO_SUBSCRIPTIONS_PER_USER_MAX)
                return -EUSERS;
        if (total >= PROTO_SUBSCRIPTIONS_MAX)
                return -ENFILE;

        s = calloc(1, sizeof *s);
        if (!s)
                return -ENOMEM;
        r = envelope_new((const void *const *)env->frames, env->sizes, env->n_frames, &s->envelope);
        if (r < 0) {
                free(s);
                return r;
        }
        s->manager = m;
        strcpy(s->id, req->id);
        if (req->agent)
                strcpy(s->agent, req->agent);
        if (req->curve_key)
                strcpy(s->curve_key, req->curve_key);
        s->viewer =
                (EventViewer){.uid = req->uid, .admin = req->admin, .agent = req->agent ? s->agent : NULL};
        event_cursor_init(&s->cursor, m->event_ring, req->live_only, req->since_seq, m->next_event_seq);

        if (old)
                subscription_free(old);
        s->next = m->subscriptions;
        if (m->subscriptions)
                m->subscriptions->prev = s;
        m->subscriptions = s;
        m->n_subscriptions++;
        if (ret)
                *ret = s;
        return 0;
}

int subscription_remove_by_route(Manager *m, const void *route, size_t route_size)
{
        Subscription *s = find_route(m, route, route_size);

        if (!s)
                return -ENOENT;
        subscription_free(s);
        return 0;
}

void subscriptions_recheck_keys(Manager *m)
{
        Subscription *next;

        for (Subscription *s = m->subscriptions; s; s = next) {
                const CurveClient *c;

                next = s->next;
                if (!s->curve_key[0])
                        continue;
                c = curve_keys_find(m->curve_keys, s->curve_key);
                if (c && c->uid == s->viewer.uid)
                        continue;
                log_info("Ending the subscription of remote client key %s: %s.", s->curve_key,
                         c ? "it now maps to another tenant" : "it is no longer in the allow list");
                subscription_free(s);
        }
}

void subscriptions_free_all(Manager *m)
{
        while (m->subscriptions)
                subscription_free(m->subscriptions);
        m->subscription_retry = sd_event_source_disable_unref(m->subscription_retry);
}

/* Sends one step: 0, -EAGAIN when the connection cannot take it now, -EHOSTUNREACH when it is gone, or
 * another -errno (the step is then skipped: it cannot be sent at all). */
static int send_step(Subscription *s, const EventStep *step)
{
        const void *parts[ENVELOPE_FRAMES_MAX + 1];
        size_t sizes[ENVELOPE_FRAMES_MAX + 1];
        _cleanup_free_ void *body = NULL;
        size_t len = 0;
        ProtoPush p = {.sub = s->id, .prev_seq = s->cursor.prev_seq};
        int r;

        if (step->kind == EVENT_STEP_EVENT) {
                p.has_event = true;
                p.event = *step->event; /* borrowed: not freed here */
        } else {
                p.has_lost = true;
                p.lost = (ProtoLostRange){.from = step->from, .to = step->to};
        }
        r = proto_push_encode(&p, &body, &len);
        if (r < 0)
                return r;
        for (size_t i = 0; i < s->envelope->n_frames; i++) {
                parts[i] = s->envelope->frames[i];
                sizes[i] = s->envelope->sizes[i];
        }
        parts[s->envelope->n_frames] = body;
        sizes[s->envelope->n_frames] = len;
        r = zmq_send_parts(s->manager->control, parts, sizes, s->envelope->n_frames + 1);
        if (r == -ENOBUFS)
                return -EAGAIN;
        return r;
}

/* Sends what follows the cursor: 0 when all went, -EAGAIN when the queue is full, -EHOSTUNREACH when gone.
 */
static int pump_one(Subscription *s)
{
        Manager *m = s->manager;

        for (;;) {
                EventStep step;
                int r;

                event_cursor_peek(&s->cursor, m->event_ring, &s->viewer, &step);
                if (step.kind == EVENT_STEP_NONE)
                        return 0;
                r = send_step(s, &step);
                if (r == -EAGAIN || r == -EHOSTUNREACH)
                        return r;
                if (r < 0 && step.kind == EVENT_STEP_EVENT) {
                        /* an event that cannot be encoded or sent at all is told as lost, never skipped */
                        log_debug_errno(r, "Cannot push event %llu to subscription %s: %m",
                                        (unsigned long long)step.event->seq, s->id);
                        m->stats.event_send_failures++;
                        step = (EventStep){
                                .kind = EVENT_STEP_LOST, .from = step.event->seq, .to = step.event->seq};
                        r = send_step(s, &step);
                        if (r == -EAGAIN || r == -EHOSTUNREACH)
                                return r;
                }
                if (r < 0) {
                        /* not even that fits (out of memory): go on rather than spin */
                        log_debug_errno(r, "Cannot tell subscription %s of lost events: %m", s->id);
                        m->stats.event_send_failures++;
                } else if (step.kind == EVENT_STEP_LOST)
                        m->stats.subscription_losses++;
                else
                        m->stats.events_pushed++;
                event_cursor_consume(&s->cursor, &step);
        }
}

static int on_retry(sd_event_source *source, uint64_t usec, void *userdata)
{
        Manager *m = userdata;

        m->subscription_retry = sd_event_source_disable_unref(m->subscription_retry);
        subscriptions_pump(m);
        return 0;
}

static void arm_retry(Manager *m)
{
        int r;

        if (m->subscription_retry)
                return;
        r = sd_event_add_time_relative(m->event, &m->subscription_retry, CLOCK_MONOTONIC,
                                       SUBSCRIPTION_RETRY_USEC, 10 * USEC_PER_MSEC, on_retry, m);
        if (r < 0) {
                log_warning_errno(r, "Cannot arm the retry of blocked subscribers: %m");
                return;
        }
        (void)sd_event_source_set_description(m->subscription_retry, "subscription-retry");
}

void subscriptions_pump(Manager *m)
{
        bool blocked = false;
        Subscription *next;

        for (Subscription *s = m->subscriptions; s; s = next) {
                int r;

                next = s->next;
                r = pump_one(s);
                if (r == -EHOSTUNREACH) {
                        log_debug("Subscription %s ended: its connection is gone.", s->id);
                        m->stats.subscriptions_dropped++;
                        subscription_free(s);
                        continue;
                }
                if (r == -EAGAIN && !s->blocked)
                        m->stats.subscription_blocked++;
                s->blocked = r == -EAGAIN;
                blocked = blocked || s->blocked;
        }
        if (blocked)
                arm_retry(m);
}
