/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* How many agents the daemon's limits allow, said once at start: the descriptors (two per running agent:
 * the shim's pidfd and socket), max_agents, and the processes the kernel allows (at least two per agent:
 * its shim and its first process). The smallest of them binds. */

#include <stdint.h>

typedef enum AgentCapacityBound {
        AGENT_CAPACITY_FDS,
        AGENT_CAPACITY_CONFIG,
        AGENT_CAPACITY_PIDS,
} AgentCapacityBound;

typedef struct AgentCapacity {
        uint64_t by_fds;    /* RLIMIT_NOFILE after the daemon's own and the connections' headroom */
        uint64_t by_config; /* max_agents */
        uint64_t by_pids;   /* min(kernel.pid_max, kernel.threads-max) / 2; UINT64_MAX when unknown */
        uint64_t agents;    /* the smallest */
        AgentCapacityBound bound;
} AgentCapacity;

/* pid_max, threads_max: 0 when unknown. */
AgentCapacity agent_capacity(uint64_t nofile, uint64_t max_agents, uint64_t pid_max, uint64_t threads_max);
/* Reads the kernel's limits and logs the figures. */
void agent_capacity_log(uint64_t nofile, uint64_t max_agents);
