/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "agent-state.h"
#include "cleanup.h"
#include "string-table.h"

#define X        _PROTO_STATE_INVALID
#define STARTING PROTO_STATE_STARTING
#define RUNNING  PROTO_STATE_RUNNING
#define PAUSING  PROTO_STATE_PAUSING
#define PAUSED   PROTO_STATE_PAUSED
#define RESUMING PROTO_STATE_RESUMING
#define STOPPING PROTO_STATE_STOPPING
#define EXITED   PROTO_STATE_EXITED
#define FAILED   PROTO_STATE_FAILED

/* An agent that ends before it ever ran has failed; one stopped while starting ends stopped, not failed.
 * Every live state ends on EXITED. Adoption moves a paused or running agent to what its cgroup says. */
static const ProtoState transitions[_PROTO_STATE_MAX][_AGENT_EVENT_MAX] = {
        /* clang-format off */
        /*            STARTED   SPAWN_FAILED PAUSE    FROZEN  RESUME    THAWED   STOP      EXITED
         *            SEEN_THAWED SEEN_THAWING SEEN_FREEZING SEEN_FROZEN */
        [STARTING] = {RUNNING,  FAILED,      X,       X,      X,        X,       STOPPING, FAILED,
                      X,        X,        X,       X},
        [RUNNING]  = {X,        FAILED,      PAUSING, X,      X,        X,       STOPPING, EXITED,
                      RUNNING,  RESUMING, PAUSING, PAUSED},
        [PAUSING]  = {X,        FAILED,      X,       PAUSED, RESUMING, X,       STOPPING, EXITED,
                      RUNNING,  RESUMING, PAUSING, PAUSED},
        [PAUSED]   = {X,        FAILED,      X,       X,      RESUMING, X,       STOPPING, EXITED,
                      RUNNING,  RESUMING, PAUSING, PAUSED},
        [RESUMING] = {X,        FAILED,      PAUSING, X,      X,        RUNNING, STOPPING, EXITED,
                      RUNNING,  RESUMING, PAUSING, PAUSED},
        [STOPPING] = {STOPPING, STOPPING,    X,       X,      X,        X,       STOPPING, EXITED,
                      X,        X,        X,       X},
        [EXITED]   = {X, X, X, X, X, X, X, X, X, X, X, X},
        [FAILED]   = {X, X, X, X, X, X, X, X, X, X, X, X},
        /* clang-format on */
};

ProtoState agent_state_next(ProtoState s, AgentEvent e)
{
        if (s < 0 || s >= _PROTO_STATE_MAX || e < 0 || e >= _AGENT_EVENT_MAX)
                return _PROTO_STATE_INVALID;
        return transitions[s][e];
}

bool agent_state_is_ended(ProtoState s)
{
        return s == PROTO_STATE_EXITED || s == PROTO_STATE_FAILED;
}

static const char *const agent_event_table[_AGENT_EVENT_MAX] = {
        [AGENT_EVENT_STARTED] = "started",
        [AGENT_EVENT_SPAWN_FAILED] = "spawn-failed",
        [AGENT_EVENT_PAUSE] = "pause",
        [AGENT_EVENT_FROZEN] = "frozen",
        [AGENT_EVENT_RESUME] = "resume",
        [AGENT_EVENT_THAWED] = "thawed",
        [AGENT_EVENT_STOP] = "stop",
        [AGENT_EVENT_EXITED] = "exited",
        [AGENT_EVENT_SEEN_THAWED] = "seen-thawed",
        [AGENT_EVENT_SEEN_THAWING] = "seen-thawing",
        [AGENT_EVENT_SEEN_FREEZING] = "seen-freezing",
        [AGENT_EVENT_SEEN_FROZEN] = "seen-frozen",
};
DEFINE_TO_STRING(agent_event, AgentEvent, _AGENT_EVENT_MAX)
