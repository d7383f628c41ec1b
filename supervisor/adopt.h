/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Re-adoption at start (after the lock, before the sockets): every STATE/agents/ID/record becomes an agent
 * again. Ended ones stay as records (logs kept, remove works). Live ones are checked to be the same shim
 * (pidfd_open on its pid, the start time in /proc/PID/stat, membership of its shim/ cgroup), reconnected
 * through RUNTIME/agents/ID/shim.sock and resumed from its HELLO: output events and totals, stdin, the
 * freezer state, the timers. The shim may be of an earlier release (an upgrade): shim-link.c speaks the
 * highest shim protocol version both know (shim-contract.h). A shim that died while we were away ends its
 * agent by its exit record, or as `lost`. A record that cannot be read is reported in one log line and
 * skipped. */

#include "agent.h"
#include "manager.h"
#include "shim-contract.h"

/* Logs a summary; failures of single agents are logged and skipped. */
int adopt_all(Manager *m);
/* The first HELLO of a re-adopted shim (a no-op for others). */
void adopt_hello(Agent *a, const ShimMsgHello *h);
