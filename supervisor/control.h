/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The control socket: decode, authorise, de-duplicate, dispatch; and the deferred replies of requests that
 * finish later (spawn, pause, resume, stop, kill, stdin), each with a timeout. */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-event.h>
#include <zmq.h>

#include "curve-key.h"
#include "failure.h"
#include "manager.h"
#include "proto.h"
#include "request-cache.h"

/* What a deferred request waits for. */
typedef enum CallWait {
        CALL_WAIT_NONE,
        CALL_WAIT_STARTED, /* spawn: the agent has exec'd */
        CALL_WAIT_FROZEN,  /* pause */
        CALL_WAIT_THAWED,  /* resume */
        CALL_WAIT_ENDED,   /* stop, kill */
        CALL_WAIT_STDIN,   /* stdin: the shim's ack for `cookie` */
        CALL_WAIT_REMOVED, /* remove: the agent's cgroups are empty and gone */
        CALL_WAIT_EXEC,    /* exec: the shim's EXEC_DONE for `cookie` */
        CALL_WAIT_ACTION,  /* action: the answer to the action `cookie` (its token) */
        _CALL_WAIT_MAX,
        _CALL_WAIT_INVALID = -EINVAL,
} CallWait;

struct Call {
        Manager *manager;
        ProtoRequest request;
        uid_t uid;
        bool admin;
        uint64_t arrived_usec; /* CLOCK_MONOTONIC */
        CacheEntry *entry;     /* where the reply goes (waiters, then the cache) */
        Envelope *envelope;    /* when not cached */

        CallWait wait;
        Agent *agent;          /* the agent waited on (call-wait.c) */
        bool resumed;          /* the resend of a request the last daemon was performing (an action) */
        uint64_t cookie_first; /* CALL_WAIT_STDIN: the chunks sent, cookie_first..cookie */
        uint64_t cookie;
        uint64_t written;
        int stdin_error; /* the first error a chunk was acked with (positive errno), or 0 */
        sd_event_source *timeout;
        Call *next, *prev; /* on manager->calls */

        /* Ownership: while its handler runs (`dispatching`) the dispatcher owns the call, and an answer only
         * marks it `answered`; the dispatcher frees it after the handler returns, so a handler may read its
         * request after answering. A parked call (call_defer) is owned by the control layer until answered.
         */
        bool dispatching;
        bool answered;
        /* a tcp client's CURVE public key ("" over ipc): a subscription keeps it, so that SIGHUP can end the
         * subscriptions of keys it revoked */
        char curve_key[CURVE_KEY_Z85_SIZE];
        /* spawn: the agent it created, named in an error reply so that the client can look at it */
        char created_agent[PROTO_AGENT_ID_MAX + 1];
        /* a per-agent op: the id of the agent its reference named, for the audit trail */
        char audit_agent[PROTO_AGENT_ID_MAX + 1];
};

/* Sends a reply held by busy-hold.h (userdata: the Manager). */
void control_send_held(void *userdata, const Envelope *env, const void *body, size_t size);

/* The answer to the resend of a request that was being performed when the last daemon stopped. */
#define CALL_INTERRUPTED_MSG                                                                                \
        "descartesd restarted while it performed this request, so whether it took effect is unknown; it "   \
        "is not performed again: look at the agent (get) and send a new request if needed"

/* The ZmqSource handler of the ROUTER. */
int control_handle_message(ZmqSource *s, zmq_msg_t *parts, size_t n_parts, void *userdata);

/* Runs the call's handler, then frees the call unless it was parked; a handler that neither answers nor
 * parks is answered `internal`. */
void call_dispatch(Call *c);

/* Sends the reply (taken and freed) to everyone waiting for it and caches it. The call is detached from its
 * agent and timer at once and freed now, or by call_dispatch() if its handler is still running. A second
 * answer to the same call is ignored. */
int call_reply(Call *c, ProtoReply *reply);
int call_reply_error(Call *c, ProtoErrorCode code, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
/* Answers with the error f carries: where a daemon failure becomes the wire's err. */
int call_reply_failure(Call *c, const Failure *f);
/* Answers with {agent: INFO} of a. */
int call_reply_agent(Call *c, Agent *a);
/* Drops a call without answering (shutdown): its cache entry and waiting envelopes go too. */
void call_free(Call *c);

bool control_is_admin(Manager *m, uid_t uid);
