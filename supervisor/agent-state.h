/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The agent lifecycle as a table (s6 style): next[state][event]. A cell holding _PROTO_STATE_INVALID means
 * the event is refused in that state (requests get `conflict`; kernel and shim events that do not fit are
 * ignored).
 *
 *   starting -> running <-> paused (via pausing/resuming) -> stopping -> exited, or starting -> failed */

#include "proto.h"

typedef enum AgentEvent {
        AGENT_EVENT_STARTED,      /* the shim says the agent exec'd */
        AGENT_EVENT_SPAWN_FAILED, /* it never will: ends an agent that never ran */
        AGENT_EVENT_PAUSE,        /* pause request: cgroup.freeze written */
        AGENT_EVENT_FROZEN,       /* cgroup.events frozen 1 */
        AGENT_EVENT_RESUME,       /* resume request: cgroup.freeze cleared */
        AGENT_EVENT_THAWED,       /* cgroup.events frozen 0 */
        AGENT_EVENT_STOP,         /* stop or kill request */
        AGENT_EVENT_EXITED,       /* the agent (and its shim) ended */
        /* adoption: what the payload cgroup says (cgroup.freeze asked, cgroup.events frozen) */
        AGENT_EVENT_SEEN_THAWED,   /* 0, 0 */
        AGENT_EVENT_SEEN_THAWING,  /* 0, 1 */
        AGENT_EVENT_SEEN_FREEZING, /* 1, 0 */
        AGENT_EVENT_SEEN_FROZEN,   /* 1, 1 */
        _AGENT_EVENT_MAX,
        _AGENT_EVENT_INVALID = -EINVAL,
} AgentEvent;

const char *agent_event_to_string(AgentEvent e);
/* The state after event in state s, or _PROTO_STATE_INVALID when the event is not allowed there. */
ProtoState agent_state_next(ProtoState s, AgentEvent e);
/* exited and failed: nothing happens to the agent any more. */
bool agent_state_is_ended(ProtoState s);
