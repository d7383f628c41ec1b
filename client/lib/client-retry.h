/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* When libdescartes sends a request again, and how it reconnects. The figures are the ones
 * docs/protocol.md ("Idempotent ids") and descartes.h promise; the daemon's request_ttl (default 10 min)
 * must stay longer than CLIENT_RESEND_WINDOW_USEC so that every resend still finds the first reply.
 *
 * Reconnecting is libzmq's: after a lost connection (or none yet) it tries again after
 * CLIENT_RECONNECT_IVL_MS, doubling up to CLIENT_RECONNECT_IVL_MAX_MS; a request made meanwhile waits in the
 * socket's queue and goes out when the connection is up. */

#include <stdbool.h>
#include <stdint.h>

#include "descartes/descartes.h"

#define CLIENT_RECONNECT_IVL_MS     100
#define CLIENT_RECONNECT_IVL_MAX_MS 2000
/* A request over ipc unanswered this long asks whether the socket file has a listener we may connect to (a
 * permission refused fails the request then, as a socket file we may not write does at once); a reply
 * sooner spares the daemon that connection. */
#define CLIENT_PROBE_AFTER_MS 20
/* A request is sent at most this many times (the first send and two resends), each time waiting the op's
 * timeout for the reply, and no resend starts later than the window after the first send, whatever the
 * timeouts (public, in descartes.h). */
#define CLIENT_SEND_ATTEMPTS      DESCARTES_SEND_ATTEMPTS
#define CLIENT_RESEND_WINDOW_USEC DESCARTES_RESEND_WINDOW_USEC

/* Whether a request sent `attempts` times, first at first_usec, whose last send went unanswered, is sent
 * again now (CLOCK_MONOTONIC usec). */
bool client_retry_may_resend(bool retry, unsigned attempts, uint64_t first_usec, uint64_t now_usec);
