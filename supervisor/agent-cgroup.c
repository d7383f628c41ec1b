/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "agent-cgroup.h"
#include "cleanup.h"
#include "log.h"
#include "string-util.h"

int agent_cgroup_root_setup(const char *override, AgentCgroupRoot **ret)
{
        _cleanup_(agent_cgroup_root_freep) AgentCgroupRoot *r = NULL;
        int k;

        r = calloc(1, sizeof *r);
        if (!r)
                return log_oom();
        /* a given root is ours to make (tests pass a fresh directory) */
        if (override && override[0] == '/' && mkdir(override, 0755) < 0 && errno != EEXIST)
                return log_error_errno(-errno, "Cannot create the cgroup %s: %m", override);
        k = cgroup_root_open(override, &r->root);
        if (k == -EMEDIUMTYPE)
                return log_error_errno(k, "%s is not in a cgroup v2 hierarchy.",
                                       override ?: "Our own cgroup");
        if (k == -EPERM)
                return log_error_errno(
                        k, "descartesd runs in the root of the cgroup hierarchy, which it never "
                           "manages: start it under systemd (Delegate=yes) or pass --cgroup-root.");
        if (k < 0)
                return log_error_errno(k, "Cannot open the cgroup %s: %m", override ?: "of descartesd");
        k = cgroup_root_setup(r->root);
        if (k < 0)
                return log_error_errno(k, "Cannot set up the cgroup subtree %s (supervisor/, agents/): %m",
                                       r->root->path);
        r->path = strdup(r->root->path);
        if (!r->path)
                return log_oom();
        r->enabled = calloc(1, sizeof(char *));
        if (!r->enabled)
                return log_oom();
        for (CgroupController c = 0; c < _CGROUP_CONTROLLER_MAX; c++)
                if ((r->root->available & CGROUP_MASK(c)) &&
                    strv_extend(&r->enabled, cgroup_controller_to_string(c)) < 0)
                        return log_oom();
        *ret = TAKE_PTR(r);
        return 0;
}

AgentCgroupRoot *agent_cgroup_root_free(AgentCgroupRoot *r)
{
        if (!r)
                return NULL;
        cgroup_root_free(r->root);
        free(r->path);
        strv_free(r->enabled);
        free(r);
        return NULL;
}

bool agent_cgroup_root_has(const AgentCgroupRoot *r, const char *controller)
{
        return strv_contains(r->enabled, controller);
}

CgroupLimits agent_cgroup_limits(const ProtoLimits *l)
{
        CgroupLimits c = CGROUP_LIMITS_UNSET;

        if (l->has_cpu)
                c.cpu_millicpus = MAX(l->cpu_millicores, (uint64_t)10); /* the kernel's 1 ms quota minimum */
        if (l->has_memory)
                c.memory_max = l->memory;
        if (l->has_swap)
                c.memory_swap_max = l->swap;
        if (l->has_pids)
                c.pids_max = l->pids;
        return c;
}

const char *agent_cgroup_missing_controller(const AgentCgroupRoot *r, const ProtoLimits *l)
{
        CgroupLimits c = agent_cgroup_limits(l);
        const char *missing = NULL;

        if (cgroup_root_check_limits(r->root, &c, &missing) < 0)
                return missing ?: "unknown";
        return NULL;
}

int agent_cgroup_create(AgentCgroupRoot *r, uid_t owner, const char *id, const ProtoLimits *l,
                        CgroupAgent **ret, const char **ret_missing)
{
        _cleanup_(cgroup_agent_freep) CgroupAgent *a = NULL;
        CgroupLimits c = agent_cgroup_limits(l);
        char tenant[32];
        int k;

        (void)snprintf(tenant, sizeof tenant, "u%u", (unsigned)owner);
        k = cgroup_agent_create(r->root, tenant, id, &a);
        if (k < 0)
                return k;
        k = cgroup_agent_set_limits(a, &c, ret_missing);
        if (k < 0) {
                (void)cgroup_agent_remove(r->root, a);
                return k;
        }
        *ret = TAKE_PTR(a);
        return 0;
}
