/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyzer.h"
#include "cleanup.h"
#include "parse-util.h"
#include "string-util.h"
#include "string-table.h"
#include "tenant-quota.h"

static const char *const tenant_quota_field_table[_TENANT_QUOTA_MAX] = {
        [TENANT_QUOTA_CPU] = "cpu",   [TENANT_QUOTA_MEMORY] = "memory", [TENANT_QUOTA_SWAP] = "swap",
        [TENANT_QUOTA_PIDS] = "pids", [TENANT_QUOTA_AGENTS] = "agents",
};

DEFINE_TO_STRING(tenant_quota_field, TenantQuotaField, _TENANT_QUOTA_MAX)

static TenantQuotaField tenant_quota_field_from(const char *s, size_t n)
{
        for (TenantQuotaField f = 0; f < _TENANT_QUOTA_MAX; f++)
                if (strlen(tenant_quota_field_table[f]) == n &&
                    strncmp(s, tenant_quota_field_table[f], n) == 0)
                        return f;
        return _TENANT_QUOTA_INVALID;
}

static const char *const controller_table[_TENANT_QUOTA_MAX] = {
        [TENANT_QUOTA_CPU] = "cpu",
        [TENANT_QUOTA_MEMORY] = "memory",
        [TENANT_QUOTA_SWAP] = "memory",
        [TENANT_QUOTA_PIDS] = "pids",
};

const char *tenant_quota_controller(TenantQuotaField f)
{
        return f >= 0 && f < _TENANT_QUOTA_MAX ? controller_table[f] : NULL;
}

#define QUOTA_PREFIX "quota."
#define QUOTA_EXPECT                                                                                        \
        "space-separated FIELD=VALUE words (cpu=0.5, memory=512M, swap=0, pids=256, agents=8; max for "     \
        "none)"
#define QUOTA_KEY_EXPECT "quota.default, quota.group.GROUP or quota.user.USER"

bool tenant_quota_key(const char *key)
{
        return strncmp(key, QUOTA_PREFIX, strlen(QUOTA_PREFIX)) == 0;
}

static int parse_count_value(const char *v, uint64_t *ret)
{
        char *end;
        unsigned long long n;

        if (v[0] < '0' || v[0] > '9')
                return -EINVAL;
        errno = 0;
        n = strtoull(v, &end, 10);
        if (errno || *end)
                return -EINVAL;
        *ret = n;
        return 0;
}

static int parse_field(TenantQuotaField f, const char *v, uint64_t *ret)
{
        uint64_t x;
        int r;

        if (streq(v, "max")) {
                *ret = TENANT_QUOTA_UNLIMITED;
                return 0;
        }
        switch (f) {
        case TENANT_QUOTA_CPU:
                r = parse_cpu(v, &x);
                break;
        case TENANT_QUOTA_MEMORY:
        case TENANT_QUOTA_SWAP:
                r = parse_size(v, &x);
                break;
        default:
                r = parse_count_value(v, &x);
                break;
        }
        if (r < 0)
                return -EINVAL;
        /* no CPU, memory or process at all is no quota (swap=0 and agents=0 are) */
        if (x == 0 && f != TENANT_QUOTA_SWAP && f != TENANT_QUOTA_AGENTS)
                return -EINVAL;
        if (f == TENANT_QUOTA_CPU && x < 10)
                return -EINVAL; /* the kernel's 1 ms per 100 ms minimum */
        if (x == TENANT_QUOTA_UNLIMITED)
                return -EINVAL;
        *ret = x;
        return 0;
}

static int parse_quota(const char *value, TenantQuota *ret)
{
        TenantQuota q = {};

        for (const char *p = value; *p;) {
                char buf[64];
                const char *eq;
                size_t len;
                TenantQuotaField f;

                p += strspn(p, " \t");
                if (!*p)
                        break;
                len = strcspn(p, " \t");
                eq = memchr(p, '=', len);
                if (!eq || len >= sizeof buf)
                        return -EINVAL;
                f = tenant_quota_field_from(p, (size_t)(eq - p));
                if (f < 0 || q.has[f])
                        return -EINVAL;
                memcpy(buf, eq + 1, len - (size_t)(eq + 1 - p));
                buf[len - (size_t)(eq + 1 - p)] = 0;
                if (parse_field(f, buf, &q.value[f]) < 0)
                        return -EINVAL;
                q.has[f] = true;
                p += len;
        }
        *ret = q;
        return 0;
}

static bool name_is_valid(const char *s)
{
        /* user and group names as NSS has them, or decimal ids; no blanks, nothing a message could mangle */
        if (!*s || strlen(s) > 256)
                return false;
        for (const char *p = s; *p; p++)
                if (*p <= ' ' || *p == 0x7f || *p == '/' || *p == ':')
                        return false;
        return true;
}

static int parse_key(const char *key, TenantQuotaScope *ret_scope, size_t *ret_name_offset)
{
        const char *rest = key + strlen(QUOTA_PREFIX);

        if (streq(rest, "default")) {
                *ret_scope = TENANT_QUOTA_SCOPE_DEFAULT;
                *ret_name_offset = 0;
                return 0;
        }
        if (strncmp(rest, "group.", 6) == 0) {
                *ret_scope = TENANT_QUOTA_SCOPE_GROUP;
                rest += 6;
        } else if (strncmp(rest, "user.", 5) == 0) {
                *ret_scope = TENANT_QUOTA_SCOPE_USER;
                rest += 5;
        } else
                return -EINVAL;
        if (!name_is_valid(rest))
                return -EINVAL;
        *ret_name_offset = (size_t)(rest - key);
        return 0;
}

int tenant_quota_rules_set(TenantQuotaRules *r, const char *key, const char *value, const char **ret_expect)
{
        _cleanup_free_ char *k = NULL;
        TenantQuotaScope scope;
        TenantQuota q;
        size_t off;
        TenantQuotaRule *n;

        *ret_expect = QUOTA_KEY_EXPECT;
        if (!tenant_quota_key(key) || parse_key(key, &scope, &off) < 0)
                return -EINVAL;
        *ret_expect = QUOTA_EXPECT;
        if (parse_quota(value, &q) < 0)
                return -EINVAL;
        for (size_t i = 0; i < r->n_rules; i++)
                if (streq(r->rules[i].key, key)) {
                        r->rules[i].quota = q;
                        return 0;
                }
        if (r->n_rules >= TENANT_QUOTA_RULES_MAX) {
                *ret_expect = "one of at most 1024 quota rules";
                return -EINVAL;
        }
        k = strdup(key);
        if (!k)
                return -ENOMEM;
        n = realloc(r->rules, (r->n_rules + 1) * sizeof *n);
        if (!n)
                return -ENOMEM;
        r->rules = n;
        n[r->n_rules] = (TenantQuotaRule){.key = k, .scope = scope, .quota = q};
        n[r->n_rules].name = scope == TENANT_QUOTA_SCOPE_DEFAULT ? NULL : k + off;
        r->n_rules++;
        TAKE_PTR(k);
        /* analyzer false positive: the rule owns the key, stored through a parameter */
        ANALYZER_IGNORE_LEAK_BEGIN
        return 0;
        ANALYZER_IGNORE_END
}

void tenant_quota_rules_done(TenantQuotaRules *r)
{
        for (size_t i = 0; i < r->n_rules; i++)
                free(r->rules[i].key);
        free(r->rules);
        *r = (TenantQuotaRules){};
}

bool tenant_quota_rules_equal(const TenantQuotaRules *a, const TenantQuotaRules *b)
{
        if (a->n_rules != b->n_rules)
                return false;
        for (size_t i = 0; i < a->n_rules; i++) {
                const TenantQuota *x = &a->rules[i].quota, *y = &b->rules[i].quota;

                if (!streq(a->rules[i].key, b->rules[i].key))
                        return false;
                for (TenantQuotaField f = 0; f < _TENANT_QUOTA_MAX; f++)
                        if (x->has[f] != y->has[f] || (x->has[f] && x->value[f] != y->value[f]))
                                return false;
        }
        return true;
}

static void fill_from(TenantQuota *q, const TenantQuotaRule *rule)
{
        for (TenantQuotaField f = 0; f < _TENANT_QUOTA_MAX; f++)
                if (!q->has[f] && rule->quota.has[f]) {
                        q->has[f] = true;
                        q->value[f] = rule->quota.value[f];
                        q->from[f] = rule->key;
                }
}

static bool user_matches(const TenantQuotaRule *rule, uid_t uid, const char *user)
{
        char id[16];

        (void)snprintf(id, sizeof id, "%u", (unsigned)uid);
        return streq(rule->name, id) || (user && streq(rule->name, user));
}

void tenant_quota_pick(const TenantQuotaRules *r, uid_t uid, const char *user, TenantQuotaInGroupFn in_group,
                       void *userdata, TenantQuota *ret)
{
        TenantQuota q = {};

        for (size_t i = 0; i < r->n_rules; i++)
                if (r->rules[i].scope == TENANT_QUOTA_SCOPE_USER && user_matches(&r->rules[i], uid, user)) {
                        fill_from(&q, &r->rules[i]);
                        break;
                }
        if (uid != 0) {
                for (size_t i = 0; i < r->n_rules; i++)
                        if (r->rules[i].scope == TENANT_QUOTA_SCOPE_GROUP && in_group &&
                            in_group(r->rules[i].name, userdata)) {
                                fill_from(&q, &r->rules[i]);
                                break;
                        }
                for (size_t i = 0; i < r->n_rules; i++)
                        if (r->rules[i].scope == TENANT_QUOTA_SCOPE_DEFAULT) {
                                fill_from(&q, &r->rules[i]);
                                break;
                        }
        }
        if (q.has[TENANT_QUOTA_MEMORY] && q.value[TENANT_QUOTA_MEMORY] != TENANT_QUOTA_UNLIMITED &&
            !q.has[TENANT_QUOTA_SWAP]) {
                q.has[TENANT_QUOTA_SWAP] = true;
                q.value[TENANT_QUOTA_SWAP] = 0;
                q.from[TENANT_QUOTA_SWAP] = q.from[TENANT_QUOTA_MEMORY];
        }
        *ret = q;
}

typedef struct Membership {
        gid_t *gids;
        int n;
} Membership;

static bool in_group_nss(const char *group, void *userdata)
{
        const Membership *m = userdata;
        char buf[16384];
        struct group gr, *grp = NULL;
        uint64_t id;
        gid_t gid;

        if (parse_count_value(group, &id) >= 0 && id < UINT32_MAX)
                gid = (gid_t)id;
        else if (getgrnam_r(group, &gr, buf, sizeof buf, &grp) == 0 && grp)
                gid = grp->gr_gid;
        else
                return false;
        for (int i = 0; i < m->n; i++)
                if (m->gids[i] == gid)
                        return true;
        return false;
}

void tenant_quota_resolve(const TenantQuotaRules *r, uid_t uid, TenantQuota *ret)
{
        char buf[16384];
        struct passwd pw, *pwp = NULL;
        gid_t gids[256];
        Membership m = {.gids = gids, .n = 0};

        if (getpwuid_r(uid, &pw, buf, sizeof buf, &pwp) != 0)
                pwp = NULL;
        if (pwp) {
                m.n = (int)ELEMENTSOF(gids);
                /* more groups than fit: the first ones count */
                if (getgrouplist(pwp->pw_name, pwp->pw_gid, gids, &m.n) < 0)
                        m.n = (int)ELEMENTSOF(gids);
        }
        tenant_quota_pick(r, uid, pwp ? pwp->pw_name : NULL, in_group_nss, &m, ret);
}

static bool limited(const TenantQuota *q, TenantQuotaField f)
{
        return q->has[f] && q->value[f] != TENANT_QUOTA_UNLIMITED;
}

static bool controller_available(TenantQuotaField f, CgroupMask available)
{
        CgroupController c = cgroup_controller_from_string(controller_table[f]);

        return c >= 0 && (available & CGROUP_MASK(c));
}

CgroupLimits tenant_quota_cgroup_limits(const TenantQuota *q, CgroupMask available)
{
        CgroupLimits l = CGROUP_LIMITS_UNSET;
        uint64_t *dst[_TENANT_QUOTA_MAX] = {
                [TENANT_QUOTA_CPU] = &l.cpu_millicpus,
                [TENANT_QUOTA_MEMORY] = &l.memory_max,
                [TENANT_QUOTA_SWAP] = &l.memory_swap_max,
                [TENANT_QUOTA_PIDS] = &l.pids_max,
        };

        for (TenantQuotaField f = 0; f < _TENANT_QUOTA_MAX; f++) {
                if (!dst[f])
                        continue;
                if (limited(q, f))
                        *dst[f] = q->value[f];
                else if (controller_available(f, available))
                        *dst[f] = CGROUP_LIMIT_INFINITY;
        }
        return l;
}

TenantQuotaField tenant_quota_unenforceable(const TenantQuota *q, CgroupMask available)
{
        for (TenantQuotaField f = 0; f < _TENANT_QUOTA_MAX; f++)
                if (controller_table[f] && limited(q, f) && !controller_available(f, available))
                        return f;
        return _TENANT_QUOTA_INVALID;
}

int tenant_quota_format(TenantQuotaField f, uint64_t v, char *buf, size_t n)
{
        if (v == TENANT_QUOTA_UNLIMITED)
                return snprintf(buf, n, "max") < (int)n ? 0 : -ENOBUFS;
        switch (f) {
        case TENANT_QUOTA_CPU:
                return format_cpu(v, buf, n);
        case TENANT_QUOTA_MEMORY:
        case TENANT_QUOTA_SWAP:
                return format_size(v, buf, n);
        default:
                return snprintf(buf, n, "%llu", (unsigned long long)v) < (int)n ? 0 : -ENOBUFS;
        }
}
