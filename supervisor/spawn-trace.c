/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <inttypes.h>

#include "agent-log.h"
#include "agent.h"
#include "spawn-trace.h"

void spawn_trace_log(const Agent *a, const ShimStartTrace *shim)
{
        const SpawnTrace *t = &a->spawn_trace;

        if (log_get_max_level() < LOG_DEBUG)
                return;
        /* the field names are what bench/trace-spawn.sh reads */
        log_agent_debug(a,
                        "spawn-trace arrived=%" PRIu64 " launch=%" PRIu64 " shim_exec=%" PRIu64
                        " shim_main=%" PRIu64 " view=%" PRIu64 " agent_fork=%" PRIu64 " agent_exec=%" PRIu64
                        " shim_sent=%" PRIu64 " spawned=%" PRIu64 " started=%" PRIu64 " replied=%" PRIu64,
                        t->arrived_ns, t->launch_ns, t->shim_exec_ns, shim->main_ns, shim->view_ns,
                        shim->agent_fork_ns, shim->agent_exec_ns, shim->sent_ns, t->spawned_ns,
                        t->started_ns, t->replied_ns);
}
