/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>

#include "agent-capacity.h"
#include "cgroup-util.h"
#include "cleanup.h"
#include "connection-limit.h"
#include "fd-util.h"
#include "log.h"

/* an agent is its shim and at least one process of its own */
#define PIDS_PER_AGENT 2

AgentCapacity agent_capacity(uint64_t nofile, uint64_t max_agents, uint64_t pid_max, uint64_t threads_max)
{
        uint64_t reserve = CONNECTION_FDS_DAEMON + CONNECTION_FDS_HEADROOM, pids = pid_max;
        AgentCapacity c = {
                .by_fds = nofile > reserve ? (nofile - reserve) / CONNECTION_FDS_PER_AGENT : 0,
                .by_config = max_agents,
        };

        if (threads_max > 0 && (pids == 0 || threads_max < pids))
                pids = threads_max;
        c.by_pids = pids > 0 ? pids / PIDS_PER_AGENT : UINT64_MAX;
        c.agents = c.by_fds;
        c.bound = AGENT_CAPACITY_FDS;
        if (c.by_config < c.agents) {
                c.agents = c.by_config;
                c.bound = AGENT_CAPACITY_CONFIG;
        }
        if (c.by_pids < c.agents) {
                c.agents = c.by_pids;
                c.bound = AGENT_CAPACITY_PIDS;
        }
        return c;
}

static uint64_t read_sysctl(const char *path)
{
        _cleanup_free_ char *text = NULL;
        uint64_t v;

        if (read_file_at(AT_FDCWD, path, 64, &text, NULL) < 0 || cgroup_parse_value(text, &v) < 0 ||
            v == CGROUP_LIMIT_INFINITY)
                return 0;
        return v;
}

void agent_capacity_log(uint64_t nofile, uint64_t max_agents)
{
        static const char *const bound_name[] = {
                [AGENT_CAPACITY_FDS] = "the descriptor limit (raise LimitNOFILE=)",
                [AGENT_CAPACITY_CONFIG] = "max_agents",
                [AGENT_CAPACITY_PIDS] = "the kernel's process limit (kernel.pid_max, kernel.threads-max)",
        };
        uint64_t pid_max = read_sysctl("/proc/sys/kernel/pid_max");
        uint64_t threads_max = read_sysctl("/proc/sys/kernel/threads-max");
        AgentCapacity c = agent_capacity(nofile, max_agents, pid_max, threads_max);

        log_info("These limits allow %llu running agents, bound by %s: %llu by %llu descriptors (%d each), "
                 "%llu by max_agents, %llu by kernel.pid_max %llu and kernel.threads-max %llu (%d processes "
                 "each at least; TasksMax= and pids.max above the daemon bound them too).",
                 (unsigned long long)c.agents, bound_name[c.bound], (unsigned long long)c.by_fds,
                 (unsigned long long)nofile, CONNECTION_FDS_PER_AGENT, (unsigned long long)c.by_config,
                 (unsigned long long)(c.by_pids == UINT64_MAX ? 0 : c.by_pids), (unsigned long long)pid_max,
                 (unsigned long long)threads_max, PIDS_PER_AGENT);
}
