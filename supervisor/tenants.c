/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent-cgroup.h"
#include "agent-state.h"
#include "agent.h"
#include "log.h"
#include "manager.h"
#include "tenants.h"

size_t tenant_agents_alive(Manager *m, uid_t uid)
{
        size_t n = 0;

        for (Agent *a = m->agents; a; a = a->next)
                if (a->info.owner_uid == uid && !agent_state_is_ended(a->info.state))
                        n++;
        return n;
}

static CgroupMask controllers(Manager *m)
{
        return cgroup_backend_controllers(m->cgroup->backend);
}

/* "memory=512M (quota.default)" */
static void describe(const TenantQuota *q, TenantQuotaField f, char *buf, size_t n)
{
        char v[TENANT_QUOTA_FORMAT_MAX];

        if (tenant_quota_format(f, q->value[f], v, sizeof v) < 0)
                (void)snprintf(v, sizeof v, "%llu", (unsigned long long)q->value[f]);
        (void)snprintf(buf, n, "%s=%s (%s)", tenant_quota_field_to_string(f), v, q->from[f] ?: "?");
}

/* The agent's own limit against the tenant's: refused when asked for, lowered when a host default. */
static int check_limit(const TenantQuota *q, TenantQuotaField f, bool asked, bool *has, uint64_t *value,
                       const char *wire, uid_t uid, Failure *ret_failure)
{
        char what[128];

        if (!q->has[f] || q->value[f] == TENANT_QUOTA_UNLIMITED)
                return 0;
        if (*has && *value <= q->value[f])
                return 0;
        if (*has && !asked) {
                *value = q->value[f];
                return 0;
        }
        if (!*has)
                return 0; /* no own limit: the tenant's cgroup bounds it */
        describe(q, f, what, sizeof what);
        return failure_set(ret_failure, -ERANGE, PROTO_ERROR_LIMIT_EXCEEDED,
                           "limits.%s exceeds the tenant quota of uid %u: %s", wire, (unsigned)uid, what);
}

int tenant_spawn_check(Manager *m, uid_t uid, const ProtoLimits *asked, ProtoLimits *limits,
                       CgroupLimits *ret_cgroup, Failure *ret_failure)
{
        TenantQuota q;
        TenantQuotaField bad;
        char what[128];
        int r;

        tenant_quota_resolve(&m->config.quotas, uid, &q);
        if (q.has[TENANT_QUOTA_AGENTS] && q.value[TENANT_QUOTA_AGENTS] != TENANT_QUOTA_UNLIMITED) {
                size_t alive = tenant_agents_alive(m, uid);

                if (alive >= q.value[TENANT_QUOTA_AGENTS]) {
                        describe(&q, TENANT_QUOTA_AGENTS, what, sizeof what);
                        return failure_set(ret_failure, -EDQUOT, PROTO_ERROR_LIMIT_EXCEEDED,
                                           "uid %u has %zu agents alive: its tenant quota %s allows no more",
                                           (unsigned)uid, alive, what);
                }
        }
        bad = tenant_quota_unenforceable(&q, controllers(m));
        if (bad >= 0) {
                describe(&q, bad, what, sizeof what);
                return failure_set(ret_failure, -EOPNOTSUPP, PROTO_ERROR_UNENFORCEABLE,
                                   "the tenant quota %s of uid %u cannot be enforced on this host: the %s "
                                   "controller is not available in %s",
                                   what, (unsigned)uid, tenant_quota_controller(bad), m->cgroup->path);
        }
        r = check_limit(&q, TENANT_QUOTA_CPU, asked->has_cpu, &limits->has_cpu, &limits->cpu_millicores,
                        "cpu_millicores", uid, ret_failure);
        if (r >= 0)
                r = check_limit(&q, TENANT_QUOTA_MEMORY, asked->has_memory, &limits->has_memory,
                                &limits->memory, "memory", uid, ret_failure);
        if (r >= 0)
                r = check_limit(&q, TENANT_QUOTA_SWAP, asked->has_swap, &limits->has_swap, &limits->swap,
                                "swap", uid, ret_failure);
        if (r >= 0)
                r = check_limit(&q, TENANT_QUOTA_PIDS, asked->has_pids, &limits->has_pids, &limits->pids,
                                "pids", uid, ret_failure);
        if (r < 0)
                return r;
        *ret_cgroup = tenant_quota_cgroup_limits(&q, controllers(m));
        return 0;
}

static bool seen_before(Manager *m, Agent *upto, uid_t uid)
{
        for (Agent *a = m->agents; a && a != upto; a = a->next)
                if (a->info.owner_uid == uid && a->kernel.cg)
                        return true;
        return false;
}

void tenants_apply_quotas(Manager *m)
{
        for (Agent *a = m->agents; a; a = a->next) {
                TenantQuota q;
                CgroupLimits l;
                const char *missing = NULL;
                int r;

                /* once per tenant that has a cgroup: one of its agents holds one */
                if (!a->kernel.cg || seen_before(m, a, a->info.owner_uid))
                        continue;
                tenant_quota_resolve(&m->config.quotas, a->info.owner_uid, &q);
                l = tenant_quota_cgroup_limits(&q, controllers(m));
                r = cgroup_backend_tenant_set_limits(m->cgroup->backend, a->info.owner_uid, &l, &missing);
                if (r == -ENOENT)
                        continue;
                if (r == -EOPNOTSUPP)
                        log_warning("The tenant quota of uid %u cannot be enforced on its agents: %s is "
                                    "missing.",
                                    (unsigned)a->info.owner_uid, missing ?: "a controller");
                else if (r < 0)
                        log_warning_errno(r, "Cannot set the tenant quota of uid %u: %m",
                                          (unsigned)a->info.owner_uid);
        }
}

void tenants_log_unenforceable(Manager *m)
{
        const TenantQuotaRules *rules = &m->config.quotas;

        for (size_t i = 0; i < rules->n_rules; i++) {
                char fields[128] = "";
                size_t len = 0;

                for (TenantQuotaField f = 0; f < _TENANT_QUOTA_MAX; f++) {
                        TenantQuota one = {};

                        one.has[f] = rules->rules[i].quota.has[f];
                        one.value[f] = rules->rules[i].quota.value[f];
                        if (tenant_quota_unenforceable(&one, controllers(m)) < 0)
                                continue;
                        (void)snprintf(fields + len, sizeof fields - len, "%s%s", len ? ", " : "",
                                       tenant_quota_field_to_string(f));
                        len = strlen(fields);
                }
                if (len > 0)
                        log_warning(
                                "Configuration: %s cannot be enforced on this host (%s: controller missing "
                                "in %s); spawns of the tenants it applies to are refused as unenforceable.",
                                rules->rules[i].key, fields, m->cgroup->path);
        }
}
