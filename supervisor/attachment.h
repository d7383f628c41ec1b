/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Attached terminals (the `attach` op): a connection of the control ROUTER joined to the terminal of an
 * agent spawned with tty, as a subscription is to events (one per connection, by its random routing id).
 *
 * The agent's terminal output is in its output log (the shim writes it there as it reads it). Each
 * attachment has its place in that log (the last record seq it accounted for) and a reader positioned
 * there: whenever the shim tells of new records (TTY_OUTPUT, at once while anyone is attached; the OUTPUT
 * notice too), every attachment of the agent is sent what follows its place, as `output` pushes. A send
 * refused because the connection's queue is full leaves the place where it is and is retried on a timer;
 * records the log dropped meanwhile (its cap) become a `lost` push. A connection that has gone ends its
 * attachment at the next push (heartbeats included). When the agent ends, its attachments get what is left
 * and a `closed` push, and end. */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "exec-tty.h"
#include "manager.h"
#include "proto.h"
#include "request-cache.h"
#include "time-util.h"

#define ATTACHMENT_RETRY_USEC (20 * USEC_PER_MSEC)

typedef struct Attachment Attachment;

typedef struct AttachmentRequest {
        const Envelope *envelope; /* the attach request's frames: routing id first */
        const char *id;           /* the attach request's id */
        Agent *agent;             /* spawned with tty, running */
        ExecTty *exec;            /* a command's terminal of the agent instead of its own, NULL: none */
        uid_t uid;
        bool read_only;
        bool has_since_seq;
        uint64_t since_seq;    /* the records from here on */
        uint64_t replay;       /* else: about this many bytes of the newest output first */
        const char *curve_key; /* the client's CURVE public key (Z85) on a tcp connection, else NULL */
} AttachmentRequest;

/* Adds an attachment, replacing the connection's own if it has one. -EUSERS past the per-uid cap, -ENFILE
 * past the total cap. *ret_seq is the record its pushes continue after. Nothing is pushed before
 * attachments_pump_agent() (the reply goes first). */
int attachment_add(Manager *m, const AttachmentRequest *req, uint64_t *ret_seq);
/* Whether the connection of env may have an attachment of uid's (its own replaced): 0, -EUSERS or -ENFILE.
 */
int attachment_check_room(Manager *m, const Envelope *env, uid_t uid);
/* The attachment of the connection with this routing id, or NULL. */
Attachment *attachment_find_by_route(Manager *m, const void *route, size_t route_size);
Agent *attachment_agent(const Attachment *a);
/* The command whose terminal it is attached to, NULL: the agent's own. */
ExecTty *attachment_exec(const Attachment *a);
/* Attachments to the agent's own terminal. */
size_t attachment_count_agent(Manager *m, const Agent *a);
bool attachment_read_only(const Attachment *a);
/* Ends the attachment of this connection: 0, or -ENOENT when it has none. */
int attachment_remove_by_route(Manager *m, const void *route, size_t route_size);

/* Sends every attachment to agent a's terminal what the log holds past its place. */
void attachments_pump_agent(Manager *m, Agent *a);
/* The same for the attachments to the terminal of a's command x. */
void attachments_pump_exec(Manager *m, Agent *a, ExecTty *x);
/* The agent ended: what is left, then `closed` ("ended"), then the attachments end (those to its
 * commands' terminals too). */
void attachments_agent_ended(Manager *m, Agent *a);
/* Its command x ended: what is left, then `closed` ("exited", with its code or signal), then they end. */
void attachments_exec_ended(Manager *m, Agent *a, ExecTty *x);
/* An empty output push to every attachment, so that clients hear the daemon and gone ones are found. */
void attachments_heartbeat(Manager *m);
/* Ends the attachments of tcp clients whose key SIGHUP removed or gave to another tenant: those for which
 * key_valid(m, key, uid) is false (curve-keys.c decides). */
void attachments_recheck_keys(Manager *m, bool (*key_valid)(Manager *m, const char *key, uid_t uid));
void attachments_free_all(Manager *m);
