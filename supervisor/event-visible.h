/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Who may see an event: the one rule for live pushes, `events` replays and heartbeats. */

#include <stdbool.h>
#include <sys/types.h>

#include "proto.h"

/* A host event (no agent) is for everyone: the daemon publishes none that tells of anyone's agents (the
 * heartbeat carries host facts only). An agent's event is for admins and for the uid owning the agent,
 * recorded with the event when it was published, so that it stays visible to its owner after the agent is
 * removed. An agent event of unknown owner (from an event log of format 1) is for admins only. */
bool event_visible(uid_t uid, bool admin, const ProtoEvent *e);

/* A subscriber or a replaying caller: who it is, and the one agent it asked for (NULL: all it may see). */
typedef struct EventViewer {
        uid_t uid;
        bool admin;
        const char *agent; /* an agent id: that agent's events, and host events */
} EventViewer;

/* event_visible() and, with an agent filter, the agent's own events or host events. */
bool event_viewer_wants(const EventViewer *v, const ProtoEvent *e);
