/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* An agent's health check (INFO.health_check): its command run inside the agent's sandbox (EXEC, as the
 * exec op) every interval on the daemon's sd-event timers, never waited for, and the idle rule (no output
 * for idle_timeout_ms); the verdict in INFO.health and health_last, health_changed events, on_unhealthy. */

#include <stdbool.h>

#include "agent.h"

/* The spawn's settings into INFO with the defaults filled in, health `starting`: 0 or -ENOMEM. */
int agent_health_init(Agent *a, const ProtoHealthCheck *spawn);
/* Arms its timers (the agent runs, or was re-adopted); a no-op without a health check or when armed. */
void agent_health_start(Agent *a);
/* The agent wrote output: the idle rule starts again. */
void agent_health_output(Agent *a);
/* An EXEC_DONE: true when it answered the agent's health check (then it is handled). */
bool agent_health_exec_done(Agent *a, const ShimMsg *m);
/* The agent ended or goes: no more checks. */
void agent_health_stop(Agent *a);
