/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Publishing events: a monotonic seq per daemon, kept in the replay ring, sent on the PUB socket as
 * [topic, body]. A full PUB queue drops (that is PUB's contract); the ring keeps the event for replay. */

#include "manager.h"
#include "proto.h"

/* data (may be NULL) is taken. Failures are counted, never fatal. */
void events_publish(Manager *m, ProtoEventKind kind, const char *agent_id, const ProtoState *state,
                    const ProtoReason *reason, ProtoValue *data);
