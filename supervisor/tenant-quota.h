/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Tenant quotas: what all agents of one tenant (one owner uid) may use together, from descartesd.conf.
 *
 *   quota.default = cpu=4 memory=8G pids=2048 agents=64
 *   quota.group.NAME = memory=4G          (NAME: a group name or a decimal gid)
 *   quota.user.NAME = cpu=1 agents=4      (NAME: a user name or a decimal uid)
 *
 * A group rule gives each member the quota on its own (members share nothing). Each value is space-separated
 * FIELD=VALUE words (cpu, memory, swap, pids, agents; "max": no limit). Field
 * by field, a tenant's user rule wins over its group rule (the first group rule, in file order, of a group
 * it is a member of), which wins over the default. The default and group rules never apply to root (uid 0),
 * the host's own orchestrator: only a user rule names a quota for it. A memory quota with no swap quota at
 * any level means swap=0, as for an agent's own limits. */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "cgroup-util.h"

typedef enum TenantQuotaField {
        TENANT_QUOTA_CPU,    /* millicpus, cpu.max of the tenant's cgroup */
        TENANT_QUOTA_MEMORY, /* bytes, memory.max */
        TENANT_QUOTA_SWAP,   /* bytes, memory.swap.max */
        TENANT_QUOTA_PIDS,   /* pids.max */
        TENANT_QUOTA_AGENTS, /* agents alive at once (counted by the daemon) */
        _TENANT_QUOTA_MAX,
        _TENANT_QUOTA_INVALID = -1,
} TenantQuotaField;

#define TENANT_QUOTA_UNLIMITED UINT64_MAX /* "max" */

typedef struct TenantQuota {
        bool has[_TENANT_QUOTA_MAX];
        uint64_t value[_TENANT_QUOTA_MAX];   /* TENANT_QUOTA_UNLIMITED: "max" */
        const char *from[_TENANT_QUOTA_MAX]; /* resolved quotas: the key that set it ("quota.default"), owned
                                                 by the rules */
} TenantQuota;

typedef enum TenantQuotaScope {
        TENANT_QUOTA_SCOPE_DEFAULT,
        TENANT_QUOTA_SCOPE_GROUP,
        TENANT_QUOTA_SCOPE_USER,
} TenantQuotaScope;

typedef struct TenantQuotaRule {
        char *key; /* as written: "quota.group.descartes" */
        TenantQuotaScope scope;
        const char *name; /* the group or user, inside key; NULL for the default */
        TenantQuota quota;
} TenantQuotaRule;

typedef struct TenantQuotaRules {
        TenantQuotaRule *rules; /* in file order */
        size_t n_rules;
} TenantQuotaRules;

#define TENANT_QUOTA_RULES_MAX 1024

const char *tenant_quota_field_to_string(TenantQuotaField f);

/* True for "quota.*" keys, which tenant_quota_rules_set() takes. */
bool tenant_quota_key(const char *key);
/* Adds (or replaces, for a key given twice) the rule of key = value. -EINVAL: a bad key or value, with
 * *ret_expect saying what was expected. */
int tenant_quota_rules_set(TenantQuotaRules *r, const char *key, const char *value, const char **ret_expect);
void tenant_quota_rules_done(TenantQuotaRules *r);
bool tenant_quota_rules_equal(const TenantQuotaRules *a, const TenantQuotaRules *b);

/* Whether the tenant is a member of group (a name or a decimal gid), for tenant_quota_pick. */
typedef bool (*TenantQuotaInGroupFn)(const char *group, void *userdata);

/* The quota of uid (whose user name is user, NULL if it has none): the rules' fields by precedence; from[]
 * names the rule of each. */
void tenant_quota_pick(const TenantQuotaRules *r, uid_t uid, const char *user, TenantQuotaInGroupFn in_group,
                       void *userdata, TenantQuota *ret);
/* The same, with the user and its groups from the user database (NSS). */
void tenant_quota_resolve(const TenantQuotaRules *r, uid_t uid, TenantQuota *ret);

/* The kernel limits of a quota for the tenant's cgroup: a field without quota (or "max") is lifted
 * (CGROUP_LIMIT_INFINITY) where the controller is available (a reload may have removed it), else left alone.
 */
CgroupLimits tenant_quota_cgroup_limits(const TenantQuota *q, CgroupMask available);
/* The first kernel field of q (cpu, memory, swap, pids) whose controller is not available, or
 * _TENANT_QUOTA_INVALID. */
TenantQuotaField tenant_quota_unenforceable(const TenantQuota *q, CgroupMask available);
/* The controller a field needs ("cpu", "memory", "pids"), NULL for agents. */
const char *tenant_quota_controller(TenantQuotaField f);
/* "2", "512M", "max": a field's value for messages. */
int tenant_quota_format(TenantQuotaField f, uint64_t v, char *buf, size_t n);
#define TENANT_QUOTA_FORMAT_MAX 32
