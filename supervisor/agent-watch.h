/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* How the daemon learns that an agent ended, the same for the agents it spawned and those it re-adopted
 * after a restart (it is not their parent then): the shim's EXITED message or exit record, and its pidfd
 * turning readable. Also the deadlines that outlive a restart: timeout_ms and a stop's grace, kept as
 * CLOCK_MONOTONIC instants in the agent's record. */

#include <stdint.h>

#include "agent.h"

/* Watches a->shim.pid's pidfd (a->shim.child_source): when it fires, our own child is reaped (waitid
 * P_PIDFD), what the shim still said is read, and the agent finalized. */
int agent_watch_shim(Agent *a);
/* timeout_ms: at deadline_usec (CLOCK_MONOTONIC; in the past: at once) the agent is stopped as timed_out. */
int agent_arm_runtime_deadline(Agent *a, uint64_t deadline_usec);
/* A stop in progress found at re-adoption: the cgroup killed at a->timers.stop_deadline_usec (at once when
 * passed or 0).
 */
int agent_arm_stop_deadline(Agent *a);
