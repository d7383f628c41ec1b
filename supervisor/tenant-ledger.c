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
        e->next = l->buckets[uid % BUCKETS];
        l->buckets[uid % BUCKETS] = e;
        l->n++;
        return e;
}

int tenant_ledger_take(TenantLedger *l, uid_t uid, uint64_t rate, uint64_t burst, uint64_t now_usec,
                       uint64_t *ret_retry_usec)
{
        TenantEntry *e;
        uint64_t cap, elapsed;

        if (rate == 0)
                return 0;
        e = get_or_add(l, uid);
        if (!e)
                return -ENOMEM;
        /* one request is USEC_PER_SEC units; rate requests per second add `rate` units per microsecond */
        burst = MAX(burst, (uint64_t)1);
        cap = burst > UINT64_MAX / USEC_PER_SEC ? UINT64_MAX : burst * USEC_PER_SEC;
        elapsed = now_usec > e->filled_usec ? now_usec - e->filled_usec : 0;
        e->filled_usec = now_usec;
        if (elapsed > cap / rate) /* long enough to fill it whatever it held; bounds elapsed * rate */
                e->tokens = cap;
        else
                e->tokens = e->tokens > cap - MIN(cap, elapsed * rate) ? cap : e->tokens + elapsed * rate;
        if (e->tokens >= USEC_PER_SEC) {
                e->tokens -= USEC_PER_SEC;
                return 0;
        }
        e->denied[TENANT_DENIED_RATE]++;
        if (ret_retry_usec)
                *ret_retry_usec = (USEC_PER_SEC - e->tokens + rate - 1) / rate;
        return -EBUSY;
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
