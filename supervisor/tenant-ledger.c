/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>

#include "cleanup.h"
#include "tenant-ledger.h"
#include "time-util.h"

#define BUCKETS 256
/* the uid the tenants past TENANT_LEDGER_MAX share (no caller has it: it is (uid_t)-1, "no uid") */
#define OVERFLOW_UID ((uid_t)-1)

struct TenantLedger {
        TenantEntry *buckets[BUCKETS];
        size_t n;
};

int tenant_ledger_new(TenantLedger **ret)
{
        TenantLedger *l = calloc(1, sizeof *l);

        if (!l)
                return -ENOMEM;
        *ret = l;
        return 0;
}

TenantLedger *tenant_ledger_free(TenantLedger *l)
{
        if (!l)
                return NULL;
        for (size_t i = 0; i < BUCKETS; i++)
                for (TenantEntry *e = l->buckets[i], *next; e; e = next) {
                        next = e->next;
                        free(e);
                }
        free(l);
        return NULL;
}

static TenantEntry *find(TenantLedger *l, uid_t uid)
{
        for (TenantEntry *e = l->buckets[uid % BUCKETS]; e; e = e->next)
                if (e->uid == uid)
                        return e;
        return NULL;
}

static TenantEntry *get_or_add(TenantLedger *l, uid_t uid)
{
        TenantEntry *e = find(l, uid);

        if (e)
                return e;
        if (l->n >= TENANT_LEDGER_MAX && uid != OVERFLOW_UID)
                return get_or_add(l, OVERFLOW_UID);
        e = calloc(1, sizeof *e);
        if (!e)
                return NULL;
        e->uid = uid;
        e->tokens = UINT64_MAX; /* full: clamped to the burst at the first take */
        e->refusals = UINT64_MAX;
        e->next = l->buckets[uid % BUCKETS];
        l->buckets[uid % BUCKETS] = e;
        l->n++;
        return e;
}

/* Brings a bucket of `burst` units refilled at `rate` per second up to now and takes one unit: true when
 * there was one, else *ret_retry_usec says when there will be. */
static bool bucket_take(uint64_t *tokens, uint64_t *filled_usec, uint64_t rate, uint64_t burst,
                        uint64_t now_usec, uint64_t *ret_retry_usec)
{
        uint64_t cap, elapsed;

        /* one unit is USEC_PER_SEC tokens; `rate` per second adds `rate` tokens per microsecond */
        burst = MAX(burst, (uint64_t)1);
        cap = burst > UINT64_MAX / USEC_PER_SEC ? UINT64_MAX : burst * USEC_PER_SEC;
        elapsed = now_usec > *filled_usec ? now_usec - *filled_usec : 0;
        *filled_usec = now_usec;
        if (elapsed > cap / rate) /* long enough to fill it whatever it held; bounds elapsed * rate */
                *tokens = cap;
        else
                *tokens = *tokens > cap - MIN(cap, elapsed * rate) ? cap : *tokens + elapsed * rate;
        if (*tokens >= USEC_PER_SEC) {
                *tokens -= USEC_PER_SEC;
                return true;
        }
        if (ret_retry_usec)
                *ret_retry_usec = (USEC_PER_SEC - *tokens + rate - 1) / rate;
        return false;
}

int tenant_ledger_take(TenantLedger *l, uid_t uid, uint64_t rate, uint64_t burst, uint64_t now_usec,
                       uint64_t *ret_retry_usec)
{
        TenantEntry *e;

        if (rate == 0)
                return 0;
        e = get_or_add(l, uid);
        if (!e)
                return -ENOMEM;
        if (bucket_take(&e->tokens, &e->filled_usec, rate, burst, now_usec, ret_retry_usec))
                return 0;
        e->denied[TENANT_DENIED_RATE]++;
        return -EBUSY;
}

int tenant_ledger_take_refusal(TenantLedger *l, uid_t uid, uint64_t rate, uint64_t burst, uint64_t now_usec)
{
        TenantEntry *e;

        if (rate == 0)
                return 0;
        e = get_or_add(l, uid);
        if (!e)
                return -ENOMEM;
        return bucket_take(&e->refusals, &e->refusals_filled_usec, rate, burst, now_usec, NULL) ? 0 : -EBUSY;
}

void tenant_ledger_count(TenantLedger *l, uid_t uid, TenantDenied what)
{
        TenantEntry *e = get_or_add(l, uid);

        if (e && what >= 0 && what < _TENANT_DENIED_MAX)
                e->denied[what]++;
}

const TenantEntry *tenant_ledger_get(TenantLedger *l, uid_t uid)
{
        return find(l, uid);
}

void tenant_ledger_foreach(TenantLedger *l, void (*fn)(const TenantEntry *e, void *userdata), void *userdata)
{
        for (size_t i = 0; i < BUCKETS; i++)
                for (const TenantEntry *e = l->buckets[i]; e; e = e->next)
                        fn(e, userdata);
}

uint64_t tenant_entry_denied_attempts(const TenantEntry *e)
{
        return e->denied[TENANT_DENIED_PERMISSION] + e->denied[TENANT_DENIED_HIDDEN_AGENT] +
               e->denied[TENANT_DENIED_RATE];
}
