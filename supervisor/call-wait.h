/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Calls waiting on an agent: a handler parks its call (call_defer) and the control layer answers it when
 * the agent notifies what the call waits for, or when its timeout fires. */

#include "agent-notice.h"
#include "control.h"

/* Parks the call on the agent until a notice answers it, or the timeout (then `timeout` is answered and
 * the operation goes on). */
int call_defer(Call *c, Agent *a, CallWait wait, uint64_t timeout_usec);

/* The manager's agent observer: answers the calls parked on a that n concerns. */
void call_wait_observe(Agent *a, const AgentNotice *n);
