/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The audit trail: one entry per answered request whose op changes state (the `changes_state` flag of its
 * registry row in proto-ops.c; a batch by the op it runs), written by the reply path (call_reply) and by no
 * handler. Under journald an entry of its own with the fields TENANT= (the caller's uid), OP=, BATCH_OP=,
 * AGENT_ID= (the agent acted on, when one was found), AGENT= (the reference as given), REQUEST_ID= and
 * RESULT= (ok or the error code): `journalctl OP=kill TENANT=1000`. Otherwise one line on stderr:
 * "Audit: tenant=UID op=OP agent=ID request=ID result=RESULT". */

#include <stdbool.h>

#include "control.h"

/* True if answering c must be audited. */
bool audit_wants(const Call *c);
void audit_log_reply(const Call *c, const ProtoReply *reply);
