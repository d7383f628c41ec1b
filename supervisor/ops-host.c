/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "analyzer.h"
#include "agent-cgroup.h"
#include "agent.h"
#include "busy-hold.h"
#include "event-ring.h"
#include "host-info.h"
#include "ops.h"
#include "request-cache.h"
#include "string-util.h"
#include "tenant-ledger.h"
#include "time-util.h"

static int op_health(Call *c)
{
        Manager *m = c->manager;
        ProtoReply reply = {};
        ProtoHealthResult *h;
        int r;

        r = proto_reply_init_ok(&reply, c->request.id, c->request.op);
        if (r < 0)
                return call_reply_error(c, PROTO_ERROR_INTERNAL, "out of memory");
        h = &reply.result.health;
        h->version = strdup(DESCARTES_VERSION);
        h->cgroup_root = strdup(m->cgroup->path);
        r = strv_copy(m->cgroup->enabled, &h->cgroup_controllers);
        if (!h->version || !h->cgroup_root || r < 0) {
                proto_reply_done(&reply);
                return call_reply_error(c, PROTO_ERROR_INTERNAL, "out of memory");
        }
        h->n_cgroup_controllers = strv_length(h->cgroup_controllers);
        h->protocol = PROTO_VERSION;
        h->uptime_s = (now_usec(CLOCK_MONOTONIC) - m->started_usec) / USEC_PER_SEC;
        for (Agent *a = m->agents; a; a = a->next)
                if ((c->admin || a->info.owner_uid == c->uid) && a->info.state >= 0 &&
                    a->info.state < _PROTO_STATE_MAX)
                        h->agents[a->info.state]++;
        (void)host_info_read(&h->host);
        call_reply(c, &reply);
        return 0;
}

static int stat_add(ProtoStatsResult *s, size_t cap, const char *name, uint64_t value)
{
        if (s->n_stats >= cap)
                return -E2BIG;
        /* analyzer false positive: the reply's item owns the copy (stored through a parameter, lost by the
         * analyzer) */
        ANALYZER_IGNORE_LEAK_BEGIN
        s->stats[s->n_stats].name = strdup(name);
        if (!s->stats[s->n_stats].name)
                return -ENOMEM;
        ANALYZER_IGNORE_END
        s->stats[s->n_stats++].value = value > INT64_MAX ? INT64_MAX : (int64_t)value;
        return 0;
}

/* denied.KIND: what a tenant sees of its own denied attempts. denied.not_found counts every not_found it was
 * answered (as the tenant, it cannot tell another's agent from none); the attempts at another tenant's
 * agents are told apart for admins only (denied.other_tenants_agents). */
static const char *const denied_names[_TENANT_DENIED_MAX] = {
        [TENANT_DENIED_PERMISSION] = "denied.permission_denied",
        [TENANT_DENIED_NOT_FOUND] = "denied.not_found",
        [TENANT_DENIED_HIDDEN_AGENT] = "denied.other_tenants_agents",
        [TENANT_DENIED_RATE] = "denied.rate_limited",
};

typedef struct DeniedSum {
        uint64_t total[_TENANT_DENIED_MAX];
        const TenantEntry **by_tenant; /* the tenants with denied attempts */
        size_t n, cap;
} DeniedSum;

static void denied_add(const TenantEntry *e, void *userdata)
{
        DeniedSum *d = userdata;

        for (int i = 0; i < _TENANT_DENIED_MAX; i++)
                d->total[i] += e->denied[i];
        if (tenant_entry_denied_attempts(e) > 0 && d->n < d->cap)
                d->by_tenant[d->n++] = e;
}

static int by_attempts_desc(const void *a, const void *b)
{
        uint64_t x = tenant_entry_denied_attempts(*(const TenantEntry *const *)a);
        uint64_t y = tenant_entry_denied_attempts(*(const TenantEntry *const *)b);

        return x < y ? 1 : x > y ? -1 : 0;
}

/* A tenant: its own counts (other_tenants_agents left out). An admin: the totals, and denied.uid.UID (the
 * attempts: permission_denied, other tenants' agents, rate limited) of each tenant that has some, the most
 * first, as many as the reply has room for. */
static int stats_add_denied(Call *c, ProtoStatsResult *s, size_t cap)
{
        _cleanup_free_ const TenantEntry **by_tenant = NULL;
        DeniedSum d = {};
        char name[PROTO_SHORT_STRING_MAX];
        int r = 0;

        if (!c->admin) {
                const TenantEntry *e = tenant_ledger_get(c->manager->tenant_ledger, c->uid);
                for (int i = 0; i < _TENANT_DENIED_MAX && r >= 0; i++)
                        if (i != TENANT_DENIED_HIDDEN_AGENT)
                                r = stat_add(s, cap, denied_names[i], e ? e->denied[i] : 0);
                return r;
        }
        d.cap = cap > s->n_stats + _TENANT_DENIED_MAX ? cap - s->n_stats - _TENANT_DENIED_MAX : 0;
        by_tenant = d.by_tenant = d.cap ? calloc(d.cap, sizeof *d.by_tenant) : NULL;
        if (d.cap && !by_tenant)
                return -ENOMEM;
        tenant_ledger_foreach(c->manager->tenant_ledger, denied_add, &d);
        for (int i = 0; i < _TENANT_DENIED_MAX && r >= 0; i++)
                r = stat_add(s, cap, denied_names[i], d.total[i]);
        if (d.n > 1)
                qsort(by_tenant, d.n, sizeof *by_tenant, by_attempts_desc);
        for (size_t i = 0; i < d.n && r >= 0; i++) {
                (void)snprintf(name, sizeof name, "denied.uid.%u", (unsigned)by_tenant[i]->uid);
                r = stat_add(s, cap, name, tenant_entry_denied_attempts(by_tenant[i]));
        }
        return r;
}

static int op_stats(Call *c)
{
        Manager *m = c->manager;
        const ManagerStats *st = &m->stats;
        uint64_t by_state[_PROTO_STATE_MAX] = {};
        ProtoReply reply = {};
        ProtoStatsResult *s;
        const size_t cap = PROTO_STATS_MAX;
        char name[PROTO_SHORT_STRING_MAX];
        int r = 0;

        if (proto_reply_init_ok(&reply, c->request.id, c->request.op) < 0)
                return call_reply_error(c, PROTO_ERROR_INTERNAL, "out of memory");
        s = &reply.result.stats;
        s->stats = calloc(cap, sizeof *s->stats);
        if (!s->stats) {
                proto_reply_done(&reply);
                return call_reply_error(c, PROTO_ERROR_INTERNAL, "out of memory");
        }
        size_t mine = 0;
        uint64_t actions_late = 0, actions_dropped = 0;
        for (Agent *a = m->agents; a; a = a->next)
                if ((c->admin || a->info.owner_uid == c->uid) && a->info.state >= 0 &&
                    a->info.state < _PROTO_STATE_MAX) {
                        by_state[a->info.state]++;
                        mine++;
                        actions_late += a->action.late;
                        actions_dropped += a->action.shim_dropped;
                }
        /* a tenant learns nothing of others: its own agents, and facts about the daemon itself */
        if (!c->admin) {
                for (int i = 0; i < _PROTO_STATE_MAX && r >= 0; i++) {
                        (void)snprintf(name, sizeof name, "agents.%s", proto_state_to_string(i));
                        r = stat_add(s, cap, name, by_state[i]);
                }
                if (r >= 0)
                        r = stat_add(s, cap, "agents_total", mine);
                if (r >= 0)
                        r = stat_add(s, cap, "actions.late", actions_late);
                if (r >= 0)
                        r = stat_add(s, cap, "actions.dropped", actions_dropped);
                if (r >= 0)
                        r = stat_add(s, cap, "event_seq", m->next_event_seq);
                if (r >= 0)
                        r = stat_add(s, cap, "uptime_s",
                                     (now_usec(CLOCK_MONOTONIC) - m->started_usec) / USEC_PER_SEC);
                if (r >= 0)
                        r = stats_add_denied(c, s, cap);
                if (r < 0) {
                        proto_reply_done(&reply);
                        return call_reply_error(c, PROTO_ERROR_INTERNAL, "cannot build stats: %s",
                                                strerror(-r));
                }
                return call_reply(c, &reply);
        }

        for (int i = 0; i < _PROTO_OP_MAX && r >= 0; i++) {
                (void)snprintf(name, sizeof name, "requests.%s", proto_op_to_string(i));
                r = stat_add(s, cap, name, st->requests[i]);
        }
        for (int i = 0; i < _PROTO_ERROR_MAX && r >= 0; i++) {
                (void)snprintf(name, sizeof name, "errors.%s", proto_error_code_to_string(i));
                r = stat_add(s, cap, name, st->errors[i]);
        }
        for (int i = 0; i < _PROTO_STATE_MAX && r >= 0; i++) {
                (void)snprintf(name, sizeof name, "agents.%s", proto_state_to_string(i));
                r = stat_add(s, cap, name, by_state[i]);
        }
        const struct {
                const char *name;
                uint64_t value;
        } scalars[] = {
                {"messages", st->messages},
                {"malformed", st->malformed},
                {"unroutable", st->unroutable},
                {"refused_busy", st->refused_busy},
                {"replies_cached", st->replies_cached},
                {"busy_replies_held", busy_hold_total(m->busy_hold)},
                {"reply_send_failures", st->send_failures},
                {"events_published", st->events_published},
                {"event_send_failures", st->event_send_failures},
                {"events_pushed", st->events_pushed},
                {"subscriptions", m->n_subscriptions},
                {"subscription_losses", st->subscription_losses},
                {"subscription_blocked", st->subscription_blocked},
                {"subscriptions_dropped", st->subscriptions_dropped},
                {"attachments", m->n_attachments},
                {"attach_pushed", st->attach_pushed},
                {"attach_blocked", st->attach_blocked},
                {"attachments_dropped", st->attachments_dropped},
                {"events_held", event_ring_size(m->event_ring)},
                {"event_seq", m->next_event_seq},
                {"agents_total", m->n_agents},
                {"actions.late", actions_late},
                {"actions.dropped", actions_dropped},
                {"agents_spawned", st->agents_spawned},
                {"agents_spawn_failed", st->agents_spawn_failed},
                {"shim_protocol_errors", st->shim_protocol_errors},
                {"record_write_failures", st->record_write_failures},
                {"zmq_dropped", zmq_source_dropped(m->control_source) + zmq_source_dropped(m->zap_source)},
                {"request_cache_entries", request_cache_size(m->request_cache)},
                {"uptime_s", (now_usec(CLOCK_MONOTONIC) - m->started_usec) / USEC_PER_SEC},
        };
        for (size_t i = 0; i < ELEMENTSOF(scalars) && r >= 0; i++)
                r = stat_add(s, cap, scalars[i].name, scalars[i].value);
        /* last: the per-tenant entries take the room that is left */
        if (r >= 0)
                r = stats_add_denied(c, s, cap);
        if (r < 0) {
                proto_reply_done(&reply);
                return call_reply_error(c, PROTO_ERROR_INTERNAL, "cannot build stats: %s", strerror(-r));
        }
        call_reply(c, &reply);
        return 0;
}

static int op_events(Call *c)
{
        ProtoEventsArgs *args = &c->request.args.events;
        EventViewer viewer = {.uid = c->uid, .admin = c->admin};
        ProtoReply reply = {};
        int r;

        if (proto_reply_init_ok(&reply, c->request.id, c->request.op) < 0)
                return call_reply_error(c, PROTO_ERROR_INTERNAL, "out of memory");
        /* the events the caller may see (event_visible), also those of its agents removed since */
        r = event_ring_query(c->manager->event_ring, args->since_seq, args->has_limit ? args->limit : 0,
                             &viewer, &reply.result.events);
        if (r < 0) {
                proto_reply_done(&reply);
                return call_reply_error(c, PROTO_ERROR_INTERNAL, "out of memory");
        }
        reply.result.events.has_last_seq = true;
        reply.result.events.last_seq = c->manager->next_event_seq;
        call_reply(c, &reply);
        return 0;
}

const OpHandler ops_host_handlers[] = {
        {PROTO_OP_HEALTH, .call = op_health},
        {PROTO_OP_STATS, .call = op_stats},
        {PROTO_OP_EVENTS, .call = op_events},
        {_PROTO_OP_INVALID},
};
