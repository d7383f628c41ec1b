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
/* Watches the report pipe of a shim started without waiting for its execve (shim_launch with
 * ret_report_fd), taking report_fd: the spawn goes on in the loop while the shim starts. A shim that
 * failed before its execve ends the spawn as spawn_failed with its stage ("stage exec: ..."), through its
 * exit like any shim that ends before STARTED. */
int agent_watch_shim_exec(Agent *a, int report_fd);
/* timeout_ms: at deadline_usec (CLOCK_MONOTONIC; in the past: at once) the agent is stopped as timed_out. */
int agent_arm_runtime_deadline(Agent *a, uint64_t deadline_usec);
/* A stop in progress found at re-adoption: the cgroup killed at a->timers.stop_deadline_usec (at once when
 * passed or 0).
 */
int agent_arm_stop_deadline(Agent *a);
