/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The reply cache that makes requests idempotent: keyed by (caller uid, request id). A repeated id within
 * the TTL gets the first reply again; a repeat that arrives while the first is still being worked on waits
 * for the same reply. Entries are bounded: expired ones go first, then the oldest answered ones; pending
 * entries are never evicted (every pending request ends, at the latest on its timeout). The replies kept are
 * bounded in bytes too. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define ENVELOPE_FRAMES_MAX 8
/* A ROUTER's routing id is at most 255 bytes; the frames a DEALER may add in front of its body are the
 * client's, so their total is bounded too (a REQ adds one empty frame). */
#define ENVELOPE_BYTES_MAX 1024
/* Clients that resend an id still being worked on each wait for the reply; past this they get `busy`. */
#define CACHE_ENTRY_WAITERS_MAX 16

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

/* max_bytes bounds the replies kept: past it the oldest answered entries go (a single reply over it is sent
 * but not kept). */
int request_cache_new(size_t max_entries, size_t max_bytes, RequestCache **ret);
RequestCache *request_cache_free(RequestCache *c);
static inline void request_cache_freep(RequestCache **c)
{
        if (*c)
                request_cache_free(*c);
}
size_t request_cache_size(const RequestCache *c);
/* Bounds each caller's entries and reply bytes (past them, its own oldest answers go first) and its pending
 * entries (past it, -EBUSY). Root may also pass the cache's total, never its own bounds. 0 means the total.
 */
void request_cache_set_uid_limits(RequestCache *c, size_t max_per_uid, size_t max_pending_per_uid,
                                  size_t max_bytes_per_uid);

/* Finds a live entry (answered entries past their expiry are dropped first). 1 and *ret, or 0. */
int request_cache_lookup(RequestCache *c, uid_t uid, const char *id, uint64_t now_usec, CacheEntry **ret);
/* Adds a pending entry; -EBUSY when the caller has its most pending entries, or (not for root) when the
 * cache is full of pending entries. */
int request_cache_add(RequestCache *c, uid_t uid, const char *id, uint64_t now_usec, CacheEntry **ret);
/* Drops an entry (pending or not) with its waiters. */
void request_cache_remove(RequestCache *c, CacheEntry *e);

bool cache_entry_is_done(const CacheEntry *e);
/* The caller's entries still being worked on. */
size_t request_cache_uid_pending(RequestCache *c, uid_t uid);

size_t cache_entry_n_waiters(const CacheEntry *e);
/* Queues an envelope (taken) to receive the reply. */
void cache_entry_add_waiter(CacheEntry *e, Envelope *env);
/* Takes the next waiting envelope, or NULL. */
Envelope *cache_entry_pop_waiter(CacheEntry *e);
/* Stores the reply (taken) and the time it expires, then trims the cache to its byte bound, which may drop e
 * itself: pop its waiters first. */
void request_cache_complete(RequestCache *c, CacheEntry *e, void *reply, size_t size, uint64_t expires_usec);
const void *cache_entry_reply(const CacheEntry *e, size_t *ret_size);

/* ---- across restarts (request-journal.h) ----
 * State-changing requests are journaled: a BEGIN before they are performed, the agent a spawn creates, the
 * reply before it is sent. A daemon that starts reads the journal back: answered requests are answered
 * again from it, and a request that was being performed when the daemon stopped is "interrupted": its
 * entry keeps the agent its spawn created, if any, and is never performed again (control.c). */

/* Reads STATE/requests.journal into the cache and journals from now on. Problems are logged, never fatal.
 * now_usec is CLOCK_MONOTONIC (the cache's clock), realtime_usec CLOCK_REALTIME (the file's). */
int request_cache_open_journal(RequestCache *c, int state_fd, const char *state_dir, uint64_t now_usec,
                               uint64_t realtime_usec);
/* Stops journaling (first thing at shutdown: requests in progress stay BEGIN on disk, interrupted for the
 * next daemon, rather than dropped). */
void request_cache_close_journal(RequestCache *c);
/* Journals a pending entry's BEGIN; its interrupted form expires after ttl_usec. */
void request_cache_journal_begin(RequestCache *c, CacheEntry *e, uint64_t ttl_usec);
/* Journals the agent a journaled spawn created. */
void request_cache_journal_agent(RequestCache *c, CacheEntry *e, const char *agent_id);
/* Journals the reply of a journaled entry, before it is sent (request_cache_complete() follows). */
void request_cache_journal_done(RequestCache *c, CacheEntry *e, const void *reply, size_t size,
                                uint64_t expires_usec);
bool cache_entry_is_interrupted(const CacheEntry *e);
/* The agent an interrupted spawn created, or NULL. */
const char *cache_entry_agent(const CacheEntry *e);
/* Makes an interrupted entry pending again, to answer its resend. */
void request_cache_reopen(RequestCache *c, CacheEntry *e);
