/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* metrics: a snapshot of what the caller may see (the rules of `list`, `tenants` and `stats`: a tenant its
 * own agents and its own tenant row, the host as in `health`; the daemon's own counters for admins), turned
 * into Prometheus text by metrics.c. */
#include <stdlib.h>
#include <string.h>

#include "agent-cgroup.h"
#include "agent.h"
#include "host-info.h"
#include "limit-watch.h"
#include "metrics.h"
#include "ops.h"
#include "time-util.h"

typedef struct Snapshot {
        ProtoAgentInfo *infos; /* shallow copies of the agents' INFO with usage read now */
        MetricsAgent *agents;
        size_t n_agents;
        ProtoTenant *tenants;
        size_t n_tenants;
} Snapshot;

static void snapshot_done(Snapshot *s)
{
        for (size_t i = 0; i < s->n_tenants; i++)
                free(s->tenants[i].user);
        free(s->tenants);
        free(s->agents);
        free(s->infos);
}

static int snapshot_take(Manager *m, uid_t uid, bool admin, Snapshot *s)
{
        _cleanup_free_ uid_t *uids = NULL;
        size_t n = 0;
        int r;

        s->infos = calloc(m->n_agents + 1, sizeof *s->infos);
        s->agents = calloc(m->n_agents + 1, sizeof *s->agents);
        if (!s->infos || !s->agents)
                return -ENOMEM;
        for (Agent *a = m->agents; a && s->n_agents < m->n_agents; a = a->next) {
                ProtoAgentInfo *info = &s->infos[s->n_agents];
                MetricsAgent *ma = &s->agents[s->n_agents];

                if (!admin && a->info.owner_uid != uid)
                        continue;
                *info = a->info; /* the agent's strings outlive the formatting: nothing runs in between */
                if (a->kernel.cg) {
                        info->has_usage = true;
                        agent_cgroup_usage(a->kernel.cg, &info->usage);
                }
                ma->info = info;
                for (CgroupCounter k = 0; k < _CGROUP_COUNTER_MAX; k++)
                        ma->has_hits[k] = limit_watch_count(a->kernel.limit_watch, k, &ma->hits[k]);
                s->n_agents++;
        }

        r = ops_tenants_visible(m, uid, admin, &uids, &n);
        if (r < 0)
                return r;
        n = MIN(n, (size_t)PROTO_TENANTS_MAX);
        s->tenants = calloc(n + 1, sizeof *s->tenants);
        if (!s->tenants)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                s->n_tenants = i + 1;
                r = ops_tenant_fill(m, uids[i], &s->tenants[i]);
                if (r < 0)
                        return r;
        }
        return 0;
}

int ops_metrics_text(Manager *m, uid_t uid, bool admin, char **ret)
{
        const ManagerStats *st = &m->stats;
        Snapshot s = {};
        MetricsDaemon d = {
                .requests = st->requests,
                .errors = st->errors,
                .latency = st->latency,
                .spawn = &st->spawn,
                .malformed = st->malformed,
                .events_published = st->events_published,
                .agents_spawned = st->agents_spawned,
                .agents_spawn_failed = st->agents_spawn_failed,
                .subscriptions = m->n_subscriptions,
                .attachments = m->n_attachments,
        };
        MetricsInput in = {
                .uptime_s = (now_usec(CLOCK_MONOTONIC) - m->started_usec) / USEC_PER_SEC,
                .daemon = admin ? &d : NULL,
        };
        int r;

        (void)host_info_read(&in.host);
        r = snapshot_take(m, uid, admin, &s);
        if (r >= 0) {
                in.agents = s.agents;
                in.n_agents = s.n_agents;
                in.tenants = s.tenants;
                in.n_tenants = s.n_tenants;
                /* PROTO_METRICS_TEXT_MAX counts the bytes without the NUL */
                r = metrics_format(&in, PROTO_METRICS_TEXT_MAX + 1, ret);
        }
        snapshot_done(&s);
        return r;
}

static int op_metrics(Call *c)
{
        ProtoReply reply = {};
        int r;

        r = proto_reply_init_ok(&reply, c->request.id, c->request.op);
        if (r >= 0)
                r = ops_metrics_text(c->manager, c->uid, c->admin, &reply.result.metrics.text);
        if (r < 0) {
                proto_reply_done(&reply);
                return call_reply_error(c, PROTO_ERROR_INTERNAL, "cannot build the metrics: %s",
                                        strerror(-r));
        }
        call_reply(c, &reply);
        return 0;
}

const OpHandler ops_metrics_handlers[] = {
        {PROTO_OP_METRICS, .call = op_metrics},
        {_PROTO_OP_INVALID},
};
