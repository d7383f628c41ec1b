/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The daemon's cgroup subtree (DESIGN §4): ROOT/supervisor holds the daemon itself (the
 * no-internal-processes rule), ROOT/agents/TENANT/AGENT/{shim,payload} hold the agents. Limits go on AGENT/,
 * pause freezes payload/, kill writes AGENT/cgroup.kill. Everything works on directory fds opened once. */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "proto.h"

typedef struct AgentCgroupRoot {
        char *mount;        /* the cgroup2 mount point */
        char *path;         /* ROOT, absolute */
        int fd;             /* ROOT */
        int agents_fd;      /* ROOT/agents */
        char **controllers; /* what ROOT's cgroup.controllers offers (NULL-terminated) */
        char **enabled;     /* what we enabled for the agents */
} AgentCgroupRoot;

/* Finds the root (override: a directory of the cgroup2 mount, made if missing; else our own cgroup), moves
 * the daemon into ROOT/supervisor, enables cpu/memory/pids/io where available and creates ROOT/agents. */
int agent_cgroup_root_setup(const char *override, AgentCgroupRoot **ret);
AgentCgroupRoot *agent_cgroup_root_free(AgentCgroupRoot *r);
static inline void agent_cgroup_root_freep(AgentCgroupRoot **r)
{
        if (*r)
                agent_cgroup_root_free(*r);
}
bool agent_cgroup_root_has(const AgentCgroupRoot *r, const char *controller);

/* The controller the limits need that the root lacks (a static string), or NULL when all are there. */
const char *agent_cgroup_missing_controller(const AgentCgroupRoot *r, const ProtoLimits *l);

/* Makes agents/TENANT/ID/{shim,payload}, writes the limits on ID/, and returns the path of ID/ relative to
 * the mount ("/x/agents/u0/ID") and its three dir fds. */
int agent_cgroup_create(AgentCgroupRoot *r, uid_t owner, const char *id, const ProtoLimits *l,
                        char **ret_path, int *ret_agent_fd, int *ret_shim_fd, int *ret_payload_fd);
/* rmdir payload/, shim/ and ID/ (ENOENT is fine); -EBUSY while processes remain. */
int agent_cgroup_remove(AgentCgroupRoot *r, uid_t owner, const char *id);

/* Attribute files, relative to a cgroup dirfd. */
int cg_write(int dirfd, const char *file, const char *value);
/* The value of key in a flat-keyed file (cgroup.events, memory.events, cpu.stat); -ENOENT if absent. */
int cg_read_keyed(int dirfd, const char *file, const char *key, uint64_t *ret);
/* A single-value file (memory.current); "max" is UINT64_MAX. */
int cg_read_value(int dirfd, const char *file, uint64_t *ret);
/* The first pid in cgroup.procs, 0 if none. */
int cg_read_first_pid(int dirfd, pid_t *ret);

/* Parsers, on text. */
int cg_parse_keyed(const char *text, const char *key, uint64_t *ret);
int cg_parse_value(const char *text, uint64_t *ret);
