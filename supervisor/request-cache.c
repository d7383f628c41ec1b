/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "request-cache.h"

#define CACHE_BUCKETS 1024

struct CacheEntry {
        uid_t uid;
        char *id;
        bool done;
        void *reply;
        size_t reply_size;
        uint64_t expires_usec;
        Envelope *waiters, *waiters_tail;
        CacheEntry *bucket_next;
        CacheEntry *older, *newer; /* insertion order */
};

struct RequestCache {
        size_t max_entries;
        size_t n_entries;
        CacheEntry *buckets[CACHE_BUCKETS];
        CacheEntry *oldest, *newest;
};

int envelope_new(const void *const *frames, const size_t *sizes, size_t n, Envelope **ret)
{
        _cleanup_(envelope_freep) Envelope *e = NULL;

        if (n > ENVELOPE_FRAMES_MAX)
                return -E2BIG;
        e = calloc(1, sizeof *e);
        if (!e)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                e->frames[i] = malloc(sizes[i] ?: 1);
                if (!e->frames[i])
                        return -ENOMEM;
                if (sizes[i] > 0)
                        memcpy(e->frames[i], frames[i], sizes[i]);
                e->sizes[i] = sizes[i];
                e->n_frames = i + 1;
        }
        *ret = TAKE_PTR(e);
        return 0;
}

Envelope *envelope_free(Envelope *e)
{
        if (!e)
                return NULL;
        for (size_t i = 0; i < e->n_frames; i++)
                free(e->frames[i]);
        free(e);
        return NULL;
}

static unsigned hash_key(uid_t uid, const char *id)
{
        uint32_t h = 2166136261u ^ (uint32_t)uid;

        for (const unsigned char *p = (const unsigned char *)id; *p; p++)
                h = (h ^ *p) * 16777619u;
        return h % CACHE_BUCKETS;
}

int request_cache_new(size_t max_entries, RequestCache **ret)
{
        RequestCache *c;

        if (max_entries == 0)
                return -EINVAL;
        c = calloc(1, sizeof *c);
        if (!c)
                return -ENOMEM;
        c->max_entries = max_entries;
        *ret = c;
        return 0;
}

static void entry_free(CacheEntry *e)
{
        while (e->waiters) {
                Envelope *n = e->waiters->next;
                envelope_free(e->waiters);
                e->waiters = n;
        }
        free(e->reply);
        free(e->id);
        free(e);
}

void request_cache_remove(RequestCache *c, CacheEntry *e)
{
        CacheEntry **p = &c->buckets[hash_key(e->uid, e->id)];

        while (*p && *p != e)
                p = &(*p)->bucket_next;
        if (*p)
                *p = e->bucket_next;
        if (e->older)
                e->older->newer = e->newer;
        else
                c->oldest = e->newer;
        if (e->newer)
                e->newer->older = e->older;
        else
                c->newest = e->older;
        c->n_entries--;
        entry_free(e);
}

RequestCache *request_cache_free(RequestCache *c)
{
        if (!c)
                return NULL;
        while (c->oldest)
                request_cache_remove(c, c->oldest);
        free(c);
        return NULL;
}

size_t request_cache_size(const RequestCache *c)
{
        return c->n_entries;
}

static void purge_expired(RequestCache *c, uint64_t now_usec)
{
        for (CacheEntry *e = c->oldest, *n; e; e = n) {
                n = e->newer;
                if (e->done && e->expires_usec <= now_usec)
                        request_cache_remove(c, e);
        }
}

int request_cache_lookup(RequestCache *c, uid_t uid, const char *id, uint64_t now_usec, CacheEntry **ret)
{
        for (CacheEntry *e = c->buckets[hash_key(uid, id)]; e; e = e->bucket_next) {
                if (e->uid != uid || strcmp(e->id, id) != 0)
                        continue;
                if (e->done && e->expires_usec <= now_usec) {
                        request_cache_remove(c, e);
                        return 0;
                }
                *ret = e;
                return 1;
        }
        return 0;
}

int request_cache_add(RequestCache *c, uid_t uid, const char *id, uint64_t now_usec, CacheEntry **ret)
{
        CacheEntry *e;
        unsigned h;

        if (c->n_entries >= c->max_entries)
                purge_expired(c, now_usec);
        if (c->n_entries >= c->max_entries) {
                CacheEntry *victim = c->oldest;
                while (victim && !victim->done)
                        victim = victim->newer;
                if (!victim)
                        return -EBUSY;
                request_cache_remove(c, victim);
        }
        e = calloc(1, sizeof *e);
        if (!e)
                return -ENOMEM;
        e->id = strdup(id);
        if (!e->id) {
                free(e);
                return -ENOMEM;
        }
        e->uid = uid;
        h = hash_key(uid, id);
        e->bucket_next = c->buckets[h];
        c->buckets[h] = e;
        e->older = c->newest;
        if (c->newest)
                c->newest->newer = e;
        else
                c->oldest = e;
        c->newest = e;
        c->n_entries++;
        *ret = e;
        return 0;
}

bool cache_entry_is_done(const CacheEntry *e)
{
        return e->done;
}

void cache_entry_add_waiter(CacheEntry *e, Envelope *env)
{
        env->next = NULL;
        if (e->waiters_tail)
                e->waiters_tail->next = env;
        else
                e->waiters = env;
        e->waiters_tail = env;
}

Envelope *cache_entry_pop_waiter(CacheEntry *e)
{
        Envelope *env = e->waiters;

        if (!env)
                return NULL;
        e->waiters = env->next;
        if (!e->waiters)
                e->waiters_tail = NULL;
        env->next = NULL;
        return env;
}

void cache_entry_complete(CacheEntry *e, void *reply, size_t size, uint64_t expires_usec)
{
        free(e->reply);
        e->reply = reply;
        e->reply_size = size;
        e->expires_usec = expires_usec;
        e->done = true;
}

const void *cache_entry_reply(const CacheEntry *e, size_t *ret_size)
{
        *ret_size = e->reply_size;
        return e->reply;
}
