/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdarg.h>

#include "client-queue.h"
#include "descartes/descartes.h"
#include "proto.h"

struct DescartesClient {
        char *endpoint;
        char *events_endpoint; /* derived from endpoint or the environment */
        char *events_override; /* set by descartes_client_set_events_endpoint() */
        void *zmq_ctx;
        void *socket;          /* DEALER; NULL until a request needs it, and after a timeout */
        bool probe_due;        /* its ipc socket file's listener not asked yet (client_probe_late) */
        uint64_t timeout_usec; /* 0: per-op timeouts */
        uint64_t op_timeout_usec[_PROTO_OP_MAX]; /* 0: the op's default */
        bool retry;
        uint32_t nonce;
        uint64_t counter;
        ClientQueue queue; /* requests wait their turn on the connection here */

        /* CURVE for a tcp endpoint (curve.c) */
        bool curve_set;
        char curve_server[41]; /* the daemon's public key, Z85 */
        char curve_public[41];
        char curve_secret[41];
        void *curve_monitor;     /* PAIR receiving the DEALER's handshake failures */
        unsigned curve_hangups;  /* handshakes the daemon hung up on in a row (curve.c) */
        uint64_t retry_after_ms; /* the last reply's err.retry_after_ms (0: none) */
};

/* Fills *e (may be NULL) and returns error (< 0). */
int client_error_set(DescartesError *e, DescartesErrorKind kind, int error, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
int client_error_from_reply(DescartesError *e, const ProtoReply *reply);

/* Checks that an ipc endpoint's socket file exists, is a socket we may write, and has a listener. Other
 * transports pass unchecked. -EACCES (kind access: not ours to use), or -ECONNREFUSED (kind unreachable;
 * *ret_lasting set when waiting will not help: the path is not a socket), or 0. */
int client_endpoint_check(const char *endpoint, DescartesError *e);
int client_endpoint_check_full(const char *endpoint, bool *ret_lasting, DescartesError *e);

/* Sends req (its id is replaced by a fresh one) and waits for its reply, after the requests made before it
 * (ClientQueue); while descartesd is away the request waits for it to come back, and a request unanswered
 * within its timeout is sent again with the same id (client-retry.h). extra_usec is added to the op's
 * timeout. On success *ret is an ok reply of req->op; a daemon error reply is returned as its errno with
 * *e filled. */
int client_call(DescartesClient *c, const ProtoRequest *req, uint64_t extra_usec, ProtoReply *ret,
                DescartesError *e);

/* curve.c. Before zmq_connect() of a tcp endpoint: sets the CURVE keys (from the environment if none were
 * set) and a monitor of the handshake; nothing for other transports. */
int client_curve_prepare(DescartesClient *c, void *socket, DescartesError *e);
/* Only the keys (a subscription's own DEALER: a refused handshake shows as its subscribe's timeout). */
int client_curve_set_keys(DescartesClient *c, void *socket, DescartesError *e);
/* Names a socket with a random routing id before it connects: the daemon routes replies and pushes by it,
 * and the ids a ROUTER assigns itself are a counter another client could claim after we are gone. */
int client_set_random_routing_id(void *socket, DescartesError *e);
/* After the socket closed: closes its monitor. */
void client_curve_close(DescartesClient *c);
/* Called when the monitor is readable: -EACCES with *e filled if the handshake failed, else 0. */
int client_curve_check(DescartesClient *c, DescartesError *e);

/* Builds the next request id into buf (at least PROTO_ID_MAX + 1 bytes). */
void client_next_id(DescartesClient *c, char *buf, size_t n);
