/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <pwd.h>
#include <stdlib.h>
#include <string.h>

#include "agent-cgroup.h"
#include "agent.h"
#include "ops.h"
#include "tenants.h"

static int uid_compare(const void *a, const void *b)
{
        uid_t x = *(const uid_t *)a, y = *(const uid_t *)b;

        return x < y ? -1 : x > y;
}

/* The tenants the caller may see, sorted and unique: the owners of the agents known (an admin) and the
 * caller itself (always, even without agents). */
int ops_tenants_visible(Manager *m, uid_t uid, bool admin, uid_t **ret, size_t *ret_n)
{
        _cleanup_free_ uid_t *uids = calloc(m->n_agents + 1, sizeof(uid_t));
        size_t n = 0, k = 0;

        if (!uids)
                return -ENOMEM;
        uids[n++] = uid;
        if (admin)
                for (Agent *a = m->agents; a && n < m->n_agents + 1; a = a->next)
                        uids[n++] = a->info.owner_uid;
        qsort(uids, n, sizeof *uids, uid_compare);
        for (size_t i = 0; i < n; i++)
                if (k == 0 || uids[k - 1] != uids[i])
                        uids[k++] = uids[i];
        *ret = TAKE_PTR(uids);
        *ret_n = k;
        return 0;
}

static void quota_to_proto(const TenantQuota *q, ProtoTenantQuota *ret)
{
        struct {
                bool *has;
                uint64_t *value;
        } dst[_TENANT_QUOTA_MAX] = {
                [TENANT_QUOTA_CPU] = {&ret->has_cpu, &ret->cpu_millicores},
                [TENANT_QUOTA_MEMORY] = {&ret->has_memory, &ret->memory},
                [TENANT_QUOTA_SWAP] = {&ret->has_swap, &ret->swap},
                [TENANT_QUOTA_PIDS] = {&ret->has_pids, &ret->pids},
                [TENANT_QUOTA_AGENTS] = {&ret->has_agents, &ret->agents},
        };

        *ret = (ProtoTenantQuota){};
        /* "max" is no quota on the wire */
        for (TenantQuotaField f = 0; f < _TENANT_QUOTA_MAX; f++)
                if (q->has[f] && q->value[f] != TENANT_QUOTA_UNLIMITED) {
                        *dst[f].has = true;
                        *dst[f].value = q->value[f];
                }
}

int ops_tenant_fill(Manager *m, uid_t uid, ProtoTenant *ret)
{
        char buf[4096];
        struct passwd pw, *pwp = NULL;
        CgroupUsage u;
        TenantQuota q;

        ret->uid = uid;
        if (getpwuid_r(uid, &pw, buf, sizeof buf, &pwp) == 0 && pwp && pwp->pw_name[0] &&
            strlen(pwp->pw_name) <= PROTO_SHORT_STRING_MAX) {
                ret->user = strdup(pwp->pw_name);
                if (!ret->user)
                        return -ENOMEM;
        }
        ret->agents = tenant_agents_alive(m, uid);
        if (cgroup_backend_tenant_read_usage(m->cgroup->backend, uid, &u) >= 0) {
                ret->has_usage = true;
                ret->usage = (ProtoUsage){
                        .cpu_usec = u.has_cpu ? u.cpu_usec : 0,
                        .memory_current = u.has_memory_current ? u.memory_current : 0,
                        .memory_peak = u.has_memory_peak ? u.memory_peak : 0,
                        .pids_current = u.has_pids ? u.pids_current : 0,
                };
        }
        tenant_quota_resolve(&m->config.quotas, uid, &q);
        quota_to_proto(&q, &ret->quota);
        return 0;
}

static int op_tenants(Call *c)
{
        _cleanup_free_ uid_t *uids = NULL;
        ProtoReply reply = {};
        size_t n = 0;

        if (ops_tenants_visible(c->manager, c->uid, c->admin, &uids, &n) < 0 ||
            proto_reply_init_ok(&reply, c->request.id, c->request.op) < 0)
                return call_reply_error(c, PROTO_ERROR_INTERNAL, "out of memory");
        n = MIN(n, (size_t)PROTO_TENANTS_MAX);
        reply.result.tenants.tenants = calloc(n, sizeof(ProtoTenant));
        if (!reply.result.tenants.tenants) {
                proto_reply_done(&reply);
                return call_reply_error(c, PROTO_ERROR_INTERNAL, "out of memory");
        }
        for (size_t i = 0; i < n; i++) {
                reply.result.tenants.n_tenants = i + 1;
                if (ops_tenant_fill(c->manager, uids[i], &reply.result.tenants.tenants[i]) < 0) {
                        proto_reply_done(&reply);
                        return call_reply_error(c, PROTO_ERROR_INTERNAL, "out of memory");
                }
        }
        call_reply(c, &reply);
        return 0;
}

const OpHandler ops_tenants_handlers[] = {
        {PROTO_OP_TENANTS, .call = op_tenants},
        {_PROTO_OP_INVALID},
};
