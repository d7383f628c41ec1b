/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Publishing events: a monotonic seq per daemon, written to the event log, kept in the ring with the uid
 * owning its agent, then pushed to every subscriber that may see it (subscription.h). */

#include "manager.h"
#include "proto.h"

/* a: the agent it is about, NULL for a host event. data (may be NULL) is taken. Failures are counted, never
 * fatal. */
void events_publish(Manager *m, ProtoEventKind kind, const Agent *a, const ProtoState *state,
                    const ProtoReason *reason, ProtoValue *data);
