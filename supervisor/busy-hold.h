/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* `busy` replies held back from callers that ignore retry_after_ms.
 *
 * A refused request costs the daemon little, but a caller that resends at once keeps it answering `busy` as
 * fast as it can send: ten such clients on a small host take a core of the daemon and as much again of
 * their own, and every other tenant's round trip waits for the CPU. So once a caller has been refused more
 * than its own rate allows (control.c: a second token bucket, of refusals), its further `busy` replies are
 * sent BUSY_HOLD_USEC late. A client that keeps a window of requests in flight then waits instead of
 * spinning; one that waits retry_after_ms as asked never meets the hold. Nothing is lost: every request
 * still gets its reply. The holds are bounded per caller and in all; past the bounds a reply goes out at
 * once. */

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "request-cache.h"
#include "time-util.h"

#define BUSY_HOLD_USEC       (100 * USEC_PER_MSEC)
#define BUSY_HOLD_PER_CALLER 1024
#define BUSY_HOLD_TOTAL      16384

typedef struct BusyHold BusyHold;

/* Sends one held reply: body after the envelope's frames. */
typedef void (*busy_hold_send_t)(void *userdata, const Envelope *env, const void *body, size_t size);

int busy_hold_new(sd_event *e, busy_hold_send_t send, void *userdata, BusyHold **ret);
/* Frees the held replies unsent: a `busy` reply is not remembered, the client's resend is answered anew. */
BusyHold *busy_hold_free(BusyHold *h);

/* Holds the reply (takes *env and *body on success) until now + BUSY_HOLD_USEC. -ENOSPC when uid or the
 * daemon holds the most it may (send it now), -ENOMEM. */
int busy_hold_add(BusyHold *h, uid_t uid, Envelope **env, void **body, size_t size, uint64_t now_usec);
/* Replies held now, and held since start. */
size_t busy_hold_count(const BusyHold *h);
uint64_t busy_hold_total(const BusyHold *h);
