/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What the daemon keeps per tenant (caller uid) about its requests: a token bucket for the request rate
 * limit (request_rate, request_burst) and the tenant's denied attempts, which `stats` shows. The table
 * holds the uids that reached the control socket (members of group descartes and root): at most
 * TENANT_LEDGER_MAX of them, and the uids past it share one more entry. */

#include <stdint.h>
#include <sys/types.h>

#define TENANT_LEDGER_MAX 4096

typedef enum TenantDenied {
        TENANT_DENIED_PERMISSION,   /* answered permission_denied */
        TENANT_DENIED_NOT_FOUND,    /* answered not_found (an unknown agent or another tenant's alike) */
        TENANT_DENIED_HIDDEN_AGENT, /* named an agent that exists, but is another tenant's (admins only see
                                       this: to the tenant it is an unknown agent) */
        TENANT_DENIED_RATE,         /* refused by the rate limit */
        _TENANT_DENIED_MAX,
} TenantDenied;

typedef struct TenantEntry {
        uid_t uid;
        uint64_t tokens;      /* in millionths of a request */
        uint64_t filled_usec; /* CLOCK_MONOTONIC: when tokens were last brought up to date */
        uint64_t refusals;    /* a second bucket, of `busy` refusals (tenant_ledger_take_refusal) */
        uint64_t refusals_filled_usec;
        uint64_t denied[_TENANT_DENIED_MAX];
        struct TenantEntry *next;
} TenantEntry;

typedef struct TenantLedger TenantLedger;

int tenant_ledger_new(TenantLedger **ret);
TenantLedger *tenant_ledger_free(TenantLedger *l);

/* Takes one request from uid's bucket, which holds `burst` requests and refills at `rate` per second (rate
 * 0: no limit). Returns 0, or -EBUSY with *ret_retry_usec set to when one request will be there (and the
 * refusal counted as TENANT_DENIED_RATE); -ENOMEM when the tenant cannot be recorded. */
int tenant_ledger_take(TenantLedger *l, uid_t uid, uint64_t rate, uint64_t burst, uint64_t now_usec,
                       uint64_t *ret_retry_usec);
/* Takes one refusal from uid's second bucket, as large and refilled as fast as the first. A caller that
 * waits retry_after_ms after a refusal stays within it; -EBUSY says it does not (its `busy` replies are then
 * held back: busy-hold.h). 0 when rate is 0, -ENOMEM when the tenant cannot be recorded. */
int tenant_ledger_take_refusal(TenantLedger *l, uid_t uid, uint64_t rate, uint64_t burst, uint64_t now_usec);
void tenant_ledger_count(TenantLedger *l, uid_t uid, TenantDenied what);

/* uid's entry, or NULL when it made no request yet. */
const TenantEntry *tenant_ledger_get(TenantLedger *l, uid_t uid);
/* The entries, in no particular order: call fn on each. */
void tenant_ledger_foreach(TenantLedger *l, void (*fn)(const TenantEntry *e, void *userdata),
                           void *userdata);
/* The denied attempts of an entry: permission_denied, another tenant's agent named, rate limited. */
uint64_t tenant_entry_denied_attempts(const TenantEntry *e);
