/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The daemon's side of sandbox/cgroup-backend.h: the backend's setup with logging and its notifications on
 * the event loop, and the translation between protocol values (limits, usage) and the backend's. */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "cgroup-backend.h"
#include "failure.h"
#include "proto.h"

typedef struct AgentCgroupRoot {
        CgroupBackend *backend;
        sd_event_source *watch_source; /* runs the agents' watch callbacks */
        char *path;                    /* the subtree, absolute */
        char **enabled;                /* the controllers agents get (among cpu, memory, pids, io) */
        const char *driver;            /* "systemd" or "cgroupfs" */
} AgentCgroupRoot;

/* Opens the backend of driver ("systemd", "cgroupfs"; NULL: systemd when systemd runs the host and us, and
 * no override is given, else cgroupfs; systemd where there is none falls back to cgroupfs, saying so), the
 * cgroupfs one on override (or our own cgroup), sets it up (cgroup_backend_setup()) and dispatches its
 * notifications on event. Logs what fails. */
int agent_cgroup_root_setup(const char *driver, const char *override, sd_event *event,
                            AgentCgroupRoot **ret);
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

/* The agent's cgroups in owner's tenant subtree, with the limits; the tenant subtree gets the limits tenant
 * (its quota) first, when tenant is not NULL. 0: made at once (*ret). 1: under way without blocking the loop
 * (the systemd driver's units): fn comes later with the handle or the error (agent_cgroup_failure() words
 * it), unless cgroup_creation_cancel(*ret_pending) comes first. On failure *ret_failure says why: on
 * -EOPNOTSUPP (unenforceable) it names the controller or kernel feature the limits need. */
int agent_cgroup_create(AgentCgroupRoot *r, uid_t owner, const char *id, const CgroupLimits *tenant,
                        const ProtoLimits *l, CgroupCreatedFn fn, void *userdata, CgroupHandle **ret,
                        CgroupCreation **ret_pending, Failure *ret_failure);
/* A creation's error as the reply's. */
int agent_cgroup_failure(uid_t owner, const CgroupCreateError *e, Failure *ret_failure);
/* An existing agent's cgroups, at re-adoption. */
int agent_cgroup_open(AgentCgroupRoot *r, uid_t owner, const char *id, CgroupHandle **ret);

/* What the agent used so far (0 where unknown). */
void agent_cgroup_usage(CgroupHandle *h, ProtoUsage *ret);
/* The OOM kills in the agent's cgroup so far, or fallback when that cannot be read (no memory controller,
 * no cgroup). */
uint64_t agent_cgroup_oom_kills(CgroupHandle *h, uint64_t fallback);
