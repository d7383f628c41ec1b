/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The daemon's tenants (one per owner uid): their quotas (tenant-quota.h) checked at each spawn and set on
 * their cgroups (agents/uUID/, through the cgroup backend) at spawn, at start and at each reload. */

#include <stddef.h>
#include <sys/types.h>

#include "cgroup-util.h"
#include "failure.h"
#include "proto.h"
#include "tenant-quota.h"

typedef struct Manager Manager;

/* Agents of uid not ended yet: what the quota's `agents` counts. */
size_t tenant_agents_alive(Manager *m, uid_t uid);

/* Whether uid may spawn an agent with these limits: its agents alive under the `agents` quota
 * (limit_exceeded), every quota enforceable on this host (unenforceable), and the agent's own limits
 * within the tenant's (limit_exceeded for what the request asked, `asked`; a host default above the quota
 * is lowered to it in *limits). On success *ret_cgroup holds the tenant cgroup's limits. */
int tenant_spawn_check(Manager *m, uid_t uid, const ProtoLimits *asked, ProtoLimits *limits,
                       CgroupLimits *ret_cgroup, Failure *ret_failure);

/* Sets the current quotas on the cgroup of every tenant that has one (at start, after a reload). */
void tenants_apply_quotas(Manager *m);
/* Logs each quota rule the host cannot enforce (a missing controller), once per call. */
void tenants_log_unenforceable(Manager *m);
