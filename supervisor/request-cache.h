/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The reply cache that makes requests idempotent: keyed by (caller uid, request id). A repeated id within
 * the TTL gets the first reply again; a repeat that arrives while the first is still being worked on waits
 * for the same reply. Entries are bounded: expired ones go first, then the oldest answered ones; pending
 * entries are never evicted (every pending request ends, at the latest on its timeout). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define ENVELOPE_FRAMES_MAX 8

/* The frames before a request's body (routing id, empty delimiter), echoed in front of its reply. */
typedef struct Envelope {
        size_t n_frames;
        size_t sizes[ENVELOPE_FRAMES_MAX];
        void *frames[ENVELOPE_FRAMES_MAX];
        struct Envelope *next;
} Envelope;

int envelope_new(const void *const *frames, const size_t *sizes, size_t n, Envelope **ret);
Envelope *envelope_free(Envelope *e);
static inline void envelope_freep(Envelope **e)
{
        if (*e)
                envelope_free(*e);
}

typedef struct RequestCache RequestCache;
typedef struct CacheEntry CacheEntry;

int request_cache_new(size_t max_entries, RequestCache **ret);
RequestCache *request_cache_free(RequestCache *c);
static inline void request_cache_freep(RequestCache **c)
{
        if (*c)
                request_cache_free(*c);
}
size_t request_cache_size(const RequestCache *c);

/* Finds a live entry (answered entries past their expiry are dropped first). 1 and *ret, or 0. */
int request_cache_lookup(RequestCache *c, uid_t uid, const char *id, uint64_t now_usec, CacheEntry **ret);
/* Adds a pending entry; -EBUSY when the cache is full of pending entries. */
int request_cache_add(RequestCache *c, uid_t uid, const char *id, uint64_t now_usec, CacheEntry **ret);
/* Drops an entry (pending or not) with its waiters. */
void request_cache_remove(RequestCache *c, CacheEntry *e);

bool cache_entry_is_done(const CacheEntry *e);
/* Queues an envelope (taken) to receive the reply. */
void cache_entry_add_waiter(CacheEntry *e, Envelope *env);
/* Takes the next waiting envelope, or NULL. */
Envelope *cache_entry_pop_waiter(CacheEntry *e);
/* Stores the reply (taken) and the time it expires; waiters stay queued for the caller to pop. */
void cache_entry_complete(CacheEntry *e, void *reply, size_t size, uint64_t expires_usec);
const void *cache_entry_reply(const CacheEntry *e, size_t *ret_size);
