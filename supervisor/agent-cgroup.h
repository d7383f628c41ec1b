/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The daemon's side of sandbox/cgroup.h: setup with logging, the translation of protocol limits, and small
 * attribute readers for stats. ROOT/supervisor holds the daemon, ROOT/agents/TENANT/a-ID/{shim,payload} the
 * agents (TENANT = "u" + owner uid). */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "cgroup.h"
#include "proto.h"

typedef struct AgentCgroupRoot {
        CgroupRoot *root;
        char *path;     /* ROOT, absolute */
        char **enabled; /* the controllers agents get (what ROOT offers among cpu, memory, pids, io) */
} AgentCgroupRoot;

/* Opens ROOT (override, or our own cgroup), moves the daemon into ROOT/supervisor, enables the controllers
 * and creates ROOT/agents. Logs what fails. */
int agent_cgroup_root_setup(const char *override, AgentCgroupRoot **ret);
AgentCgroupRoot *agent_cgroup_root_free(AgentCgroupRoot *r);
static inline void agent_cgroup_root_freep(AgentCgroupRoot **r)
{
        if (*r)
                agent_cgroup_root_free(*r);
}
bool agent_cgroup_root_has(const AgentCgroupRoot *r, const char *controller);

CgroupLimits agent_cgroup_limits(const ProtoLimits *l);
/* The controller the limits need that ROOT lacks (a static string), or NULL when all are there. */
const char *agent_cgroup_missing_controller(const AgentCgroupRoot *r, const ProtoLimits *l);

/* agents/u<owner>/a-ID/{shim,payload} with the limits written on the agent's cgroup. On -EOPNOTSUPP
 * *ret_missing names the controller or file the kernel lacks. */
int agent_cgroup_create(AgentCgroupRoot *r, uid_t owner, const char *id, const ProtoLimits *l,
                        CgroupAgent **ret, const char **ret_missing);

/* Attribute readers on a cgroup dirfd. */
