/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cleanup.h"
#include "log.h"
#include "request-cache.h"
#include "request-journal.h"
#include "time-util.h"

#define CACHE_BUCKETS 16384 /* up to 65,536 entries: chains stay short */
#define UID_BUCKETS   64

/* Each caller's share of the cache: a caller that fills its share waits for its own requests, never for
 * everyone's. */
/* A caller's entries in insertion order, reads apart from journaled (state-changing) ones: finding what to
 * push out of a full share is then the first answered entry of a list, not a walk over everyone's. */
typedef struct EntryList {
        CacheEntry *oldest, *newest;
} EntryList;

typedef struct UidShare {
        uid_t uid;
        size_t n_entries;
        size_t n_pending;
        size_t bytes;
        EntryList reads, journaled;
        struct UidShare *next;
} UidShare;

struct CacheEntry {
        uid_t uid;
        char *id;
        bool done;
        bool journaled;   /* BEGIN is on disk */
        bool interrupted; /* read back from the journal without its reply: done, with no reply */
        char *agent_id;   /* a journaled spawn's agent */
        void *reply;
        size_t reply_size;
        uint64_t expires_usec;
        size_t n_waiters;
        Envelope *waiters, *waiters_tail;
        CacheEntry *bucket_next;
        CacheEntry *older, *newer;             /* insertion order */
        CacheEntry *share_older, *share_newer; /* on its share's reads or journaled list */
};

static void list_append(EntryList *l, CacheEntry *e)
{
        e->share_newer = NULL;
        e->share_older = l->newest;
        if (l->newest)
                l->newest->share_newer = e;
        else
                l->oldest = e;
        l->newest = e;
}

static void list_unlink(EntryList *l, CacheEntry *e)
{
        if (e->share_older)
                e->share_older->share_newer = e->share_newer;
        else if (l->oldest == e)
                l->oldest = e->share_newer;
        if (e->share_newer)
                e->share_newer->share_older = e->share_older;
        else if (l->newest == e)
                l->newest = e->share_older;
        e->share_older = e->share_newer = NULL;
}

struct RequestCache {
        size_t max_entries;
        size_t n_entries;
        size_t max_bytes;
        size_t bytes;
        size_t max_per_uid;
        size_t max_pending_per_uid;
        size_t max_bytes_per_uid;
        CacheEntry *buckets[CACHE_BUCKETS];
        UidShare *shares[UID_BUCKETS];
        CacheEntry *oldest, *newest;
        RequestJournal *journal;
        bool compact_pending; /* the file passed its bound: rewritten before the next record */
        /* while reading the journal back */
        uint64_t load_now_usec, load_realtime_usec;
};

int envelope_new(const void *const *frames, const size_t *sizes, size_t n, Envelope **ret)
{
        _cleanup_(envelope_freep) Envelope *e = NULL;
        size_t total = 0;

        if (n > ENVELOPE_FRAMES_MAX)
                return -E2BIG;
        for (size_t i = 0; i < n; i++) {
                if (sizes[i] > ENVELOPE_BYTES_MAX - total)
                        return -E2BIG;
                total += sizes[i];
        }
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

int request_cache_new(size_t max_entries, size_t max_bytes, RequestCache **ret)
{
        RequestCache *c;

        if (max_entries == 0 || max_bytes == 0)
                return -EINVAL;
        c = calloc(1, sizeof *c);
        if (!c)
                return -ENOMEM;
        c->max_entries = max_entries;
        c->max_bytes = max_bytes;
        c->max_per_uid = max_entries;
        c->max_pending_per_uid = max_entries;
        c->max_bytes_per_uid = max_bytes;
        *ret = c;
        return 0;
}

void request_cache_set_uid_limits(RequestCache *c, size_t max_per_uid, size_t max_pending_per_uid,
                                  size_t max_bytes_per_uid)
{
        c->max_per_uid = max_per_uid ?: c->max_entries;
        c->max_pending_per_uid = MIN(max_pending_per_uid ?: c->max_entries, c->max_per_uid);
        c->max_bytes_per_uid = max_bytes_per_uid ?: c->max_bytes;
}

static UidShare *share_get(RequestCache *c, uid_t uid, bool create)
{
        UidShare **head = &c->shares[uid % UID_BUCKETS], *s;

        for (s = *head; s; s = s->next)
                if (s->uid == uid)
                        return s;
        if (!create)
                return NULL;
        s = calloc(1, sizeof *s);
        if (!s)
                return NULL;
        s->uid = uid;
        s->next = *head;
        *head = s;
        return s;
}

static void share_put(RequestCache *c, UidShare *s)
{
        UidShare **p = &c->shares[s->uid % UID_BUCKETS];

        if (s->n_entries > 0)
                return;
        while (*p && *p != s)
                p = &(*p)->next;
        if (*p)
                *p = s->next;
        free(s);
}

static void entry_free(CacheEntry *e)
{
        while (e->waiters) {
                Envelope *n = e->waiters->next;
                envelope_free(e->waiters);
                e->waiters = n;
        }
        free(e->reply);
        free(e->agent_id);
        free(e->id);
        free(e);
}

static void journal_compact(RequestCache *c);

static void journal_append(RequestCache *c, RequestJournalType type, const CacheEntry *e, uint64_t expires,
                           const void *data, size_t size)
{
        RequestJournalRecord rec = {
                .type = type,
                .uid = e->uid,
                .id = e->id,
                .expires_realtime_usec = expires,
                .data = data,
                .size = size,
        };
        /* rewritten before this record rather than right after the last one: the entry that record was
         * about has settled by now (a DONE's entry is done, a DROP's gone), so the rewrite says it right */
        if (c->compact_pending) {
                c->compact_pending = false;
                journal_compact(c);
        }
        if (request_journal_append(c->journal, &rec) > 0)
                c->compact_pending = true;
}

void request_cache_remove(RequestCache *c, CacheEntry *e)
{
        CacheEntry **p = &c->buckets[hash_key(e->uid, e->id)];
        /* ended with nothing to keep (busy): a resend after a restart is performed */
        bool drop = c->journal && e->journaled && !e->done;

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
        c->bytes -= e->reply_size;
        {
                UidShare *s = share_get(c, e->uid, false);
                if (s) {
                        list_unlink(e->journaled ? &s->journaled : &s->reads, e);
                        s->bytes -= e->reply_size;
                        s->n_entries--;
                        if (!e->done)
                                s->n_pending--;
                        share_put(c, s);
                }
        }
        if (drop) /* unlinked first: a rewrite of the file on the way leaves it out */
                journal_append(c, REQUEST_JOURNAL_DROP, e, 0, NULL, 0);
        entry_free(e);
}

RequestCache *request_cache_free(RequestCache *c)
{
        if (!c)
                return NULL;
        request_cache_close_journal(c);
        while (c->oldest)
                request_cache_remove(c, c->oldest);
        free(c);
        return NULL;
}

size_t request_cache_size(const RequestCache *c)
{
        return c->n_entries;
}

/* Expiry follows the answer by one TTL, so answers expire about in insertion order: the walk stops at the
 * first answered entry still valid (later ones that expired anyway go at their lookup or a later purge), so
 * that a full cache does not cost a walk over all of it per request. */
static void purge_expired(RequestCache *c, uint64_t now_usec)
{
        for (CacheEntry *e = c->oldest, *n; e; e = n) {
                n = e->newer;
                if (e->done && e->expires_usec > now_usec)
                        break;
                if (e->done)
                        request_cache_remove(c, e);
        }
}

static CacheEntry *list_oldest_done(const EntryList *l)
{
        for (CacheEntry *e = l->oldest; e; e = e->share_newer)
                if (e->done)
                        return e;
        return NULL;
}

/* Marks an entry journaled and moves it to its share's journaled list. */
static void entry_set_journaled(RequestCache *c, CacheEntry *e)
{
        UidShare *s;

        if (e->journaled)
                return;
        s = share_get(c, e->uid, false);
        if (s) {
                list_unlink(&s->reads, e);
                list_append(&s->journaled, e);
        }
        e->journaled = true;
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

/* The oldest answered entry of anyone, when the whole cache is full: a read's before a journaled
 * (state-changing) one's, whose resend must never find it gone while a client may still send it. A walk, but
 * only past every caller's full share (each caller is bounded by its own share first). */
static CacheEntry *oldest_done(RequestCache *c)
{
        CacheEntry *journaled = NULL;

        for (CacheEntry *e = c->oldest; e; e = e->newer) {
                if (!e->done)
                        continue;
                if (!e->journaled)
                        return e;
                if (!journaled)
                        journaled = e;
        }
        return journaled;
}

int request_cache_add(RequestCache *c, uid_t uid, const char *id, uint64_t now_usec, CacheEntry **ret)
{
        UidShare *share;
        CacheEntry *e;
        unsigned h;

        share = share_get(c, uid, true);
        if (!share)
                return -ENOMEM;
        if (share->n_pending >= c->max_pending_per_uid) {
                share_put(c, share);
                return -EBUSY;
        }
        if (share->n_entries >= c->max_per_uid) {
                /* past its share a caller's new requests push out its own old answers (reads first),
                 * nobody else's */
                purge_expired(c, now_usec);
                CacheEntry *victim = list_oldest_done(&share->reads) ?: list_oldest_done(&share->journaled);
                if (victim)
                        request_cache_remove(c, victim);
        }
        /* root (the host's orchestrator) is never refused for lack of room: its own share bounds it */
        if (c->n_entries >= c->max_entries)
                purge_expired(c, now_usec);
        if (c->n_entries >= c->max_entries) {
                CacheEntry *victim = oldest_done(c);
                if (victim)
                        request_cache_remove(c, victim);
                else if (uid != 0) {
                        share = share_get(c, uid, false);
                        if (share)
                                share_put(c, share);
                        return -EBUSY;
                }
        }
        /* removals above may have freed the caller's share */
        share = share_get(c, uid, true);
        if (!share)
                return -ENOMEM;
        e = calloc(1, sizeof *e);
        if (!e) {
                share_put(c, share);
                return -ENOMEM;
        }
        e->id = strdup(id);
        if (!e->id) {
                free(e);
                share_put(c, share);
                return -ENOMEM;
        }
        e->uid = uid;
        list_append(&share->reads, e);
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
        share->n_entries++;
        share->n_pending++;
        *ret = e;
        return 0;
}

size_t request_cache_uid_pending(RequestCache *c, uid_t uid)
{
        UidShare *s = share_get(c, uid, false);
        return s ? s->n_pending : 0;
}

bool cache_entry_is_done(const CacheEntry *e)
{
        return e->done;
}

size_t cache_entry_n_waiters(const CacheEntry *e)
{
        return e->n_waiters;
}

void cache_entry_add_waiter(CacheEntry *e, Envelope *env)
{
        e->n_waiters++;
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
        e->n_waiters--;
        if (!e->waiters)
                e->waiters_tail = NULL;
        env->next = NULL;
        return env;
}

void request_cache_complete(RequestCache *c, CacheEntry *e, void *reply, size_t size, uint64_t expires_usec)
{
        UidShare *s = share_get(c, e->uid, false);

        if (s && !e->done)
                s->n_pending--;
        c->bytes -= e->reply_size;
        if (s)
                s->bytes = s->bytes - e->reply_size + size;
        free(e->reply);
        e->reply = reply;
        e->reply_size = size;
        e->expires_usec = expires_usec;
        e->done = true;
        c->bytes += size;
        /* a caller past its byte share makes room from its own answers first */
        for (CacheEntry *v = c->oldest, *n; v && s && s->bytes > c->max_bytes_per_uid; v = n) {
                n = v->newer;
                if (v->done && v != e && v->uid == e->uid)
                        request_cache_remove(c, v);
        }
        for (CacheEntry *v = c->oldest, *n; v && c->bytes > c->max_bytes; v = n) {
                n = v->newer;
                if (v->done && v != e)
                        request_cache_remove(c, v);
        }
        if (c->bytes > c->max_bytes)
                request_cache_remove(c, e);
}

const void *cache_entry_reply(const CacheEntry *e, size_t *ret_size)
{
        *ret_size = e->reply_size;
        return e->reply;
}

/* CLOCK_MONOTONIC of the cache <-> CLOCK_REALTIME of the file */
static uint64_t realtime_now(void)
{
        struct timespec ts;

        (void)clock_gettime(CLOCK_REALTIME, &ts);
        return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static uint64_t to_realtime(uint64_t mono, uint64_t now, uint64_t realtime)
{
        return mono > now ? realtime + (mono - now) : realtime;
}

static void journal_fill(RequestJournalBuffer *b, void *userdata)
{
        RequestCache *c = userdata;
        uint64_t now = c->load_now_usec, realtime = c->load_realtime_usec;

        /* newest first: past the buffer's bound the oldest are the ones not kept */
        for (CacheEntry *e = c->newest; e; e = e->older) {
                RequestJournalRecord rec = {.uid = e->uid, .id = e->id};
                int r;

                if (!e->journaled)
                        continue;
                rec.expires_realtime_usec = to_realtime(e->expires_usec, now, realtime);
                if (e->done && !e->interrupted) {
                        rec.type = REQUEST_JOURNAL_DONE;
                        rec.data = e->reply;
                        rec.size = e->reply_size;
                        if (e->reply_size > REQUEST_JOURNAL_REPLY_MAX) {
                                /* kept as interrupted: a resend finds a spawn's agent, and nothing runs
                                 * twice */
                                rec.type = REQUEST_JOURNAL_BEGIN;
                                rec.data = NULL;
                                rec.size = 0;
                        }
                } else
                        rec.type = REQUEST_JOURNAL_BEGIN;
                r = request_journal_buffer_add(b, &rec);
                if (r >= 0 && rec.type == REQUEST_JOURNAL_BEGIN && e->agent_id)
                        r = request_journal_buffer_add(b,
                                                       &(RequestJournalRecord){.type = REQUEST_JOURNAL_AGENT,
                                                                               .uid = e->uid,
                                                                               .id = e->id,
                                                                               .data = e->agent_id,
                                                                               .size = strlen(e->agent_id)});
                if (r == -E2BIG) {
                        log_warning("The request journal holds the newest entries only (%u bytes): older "
                                    "requests resent after a restart may be performed again.",
                                    REQUEST_JOURNAL_BYTES_MAX / 2);
                        return;
                }
                if (r < 0) {
                        log_oom();
                        return;
                }
        }
}

static void journal_compact(RequestCache *c)
{
        c->load_now_usec = now_usec(CLOCK_MONOTONIC);
        c->load_realtime_usec = realtime_now();
        (void)request_journal_rewrite(c->journal, journal_fill, c);
}

static CacheEntry *load_find(RequestCache *c, uid_t uid, const char *id)
{
        for (CacheEntry *e = c->buckets[hash_key(uid, id)]; e; e = e->bucket_next)
                if (e->uid == uid && strcmp(e->id, id) == 0)
                        return e;
        return NULL;
}

static void load_record(const RequestJournalRecord *rec, void *userdata)
{
        RequestCache *c = userdata;
        uint64_t now = c->load_now_usec, realtime = c->load_realtime_usec, expires;
        CacheEntry *e = load_find(c, rec->uid, rec->id);
        void *reply;

        expires = rec->expires_realtime_usec > realtime ? now + (rec->expires_realtime_usec - realtime) : 0;
        switch (rec->type) {
        case REQUEST_JOURNAL_BEGIN:
                if (e)
                        request_cache_remove(c, e);
                if (expires == 0 || request_cache_add(c, rec->uid, rec->id, now, &e) < 0)
                        return;
                entry_set_journaled(c, e);
                e->expires_usec = expires; /* the interrupted entry's, set when loading ends */
                return;
        case REQUEST_JOURNAL_AGENT:
                if (e && !e->done && !e->agent_id)
                        e->agent_id = strdup(rec->data);
                return;
        case REQUEST_JOURNAL_DONE:
                if (expires <= now) {
                        if (e)
                                request_cache_remove(c, e);
                        return;
                }
                if (!e) {
                        if (request_cache_add(c, rec->uid, rec->id, now, &e) < 0)
                                return;
                        entry_set_journaled(c, e);
                }
                reply = malloc(rec->size ?: 1);
                if (!reply) {
                        request_cache_remove(c, e);
                        return;
                }
                if (rec->size > 0)
                        memcpy(reply, rec->data, rec->size);
                free(e->agent_id);
                e->agent_id = NULL;
                request_cache_complete(c, e, reply, rec->size, expires);
                return;
        case REQUEST_JOURNAL_DROP:
                if (e && !e->done)
                        request_cache_remove(c, e);
                return;
        default:
                return;
        }
}

int request_cache_open_journal(RequestCache *c, int state_fd, const char *state_dir, uint64_t now_usec,
                               uint64_t realtime_usec)
{
        size_t n_done = 0, n_interrupted = 0;
        int r;

        request_cache_close_journal(c);
        c->load_now_usec = now_usec;
        c->load_realtime_usec = realtime_usec;
        r = request_journal_open(state_fd, state_dir, load_record, c, &c->journal);
        if (r < 0)
                return r;
        /* what was still being performed when the last daemon stopped */
        for (CacheEntry *e = c->oldest; e; e = e->newer) {
                UidShare *s;

                if (e->done) {
                        n_done++;
                        continue;
                }
                /* done without a reply (no bytes: nothing to trim); its expiry is BEGIN's */
                s = share_get(c, e->uid, false);
                if (s)
                        s->n_pending--;
                e->done = true;
                e->interrupted = true;
                n_interrupted++;
        }
        if (n_done + n_interrupted > 0)
                log_info("Read back %zu answered and %zu interrupted requests from %s/%s.", n_done,
                         n_interrupted, state_dir, REQUEST_JOURNAL_FILE);
        journal_compact(c);
        return 0;
}

void request_cache_close_journal(RequestCache *c)
{
        c->journal = request_journal_free(c->journal);
        c->compact_pending = false;
}

void request_cache_journal_begin(RequestCache *c, CacheEntry *e, uint64_t ttl_usec)
{
        uint64_t realtime = realtime_now();

        if (!c->journal || e->done)
                return;
        entry_set_journaled(c, e);
        e->expires_usec = now_usec(CLOCK_MONOTONIC) + ttl_usec;
        journal_append(c, REQUEST_JOURNAL_BEGIN, e, realtime + ttl_usec, NULL, 0);
}

void request_cache_journal_agent(RequestCache *c, CacheEntry *e, const char *agent_id)
{
        if (!c->journal || !e->journaled || e->done)
                return;
        free(e->agent_id);
        e->agent_id = strdup(agent_id); /* kept for a rewrite of the file */
        journal_append(c, REQUEST_JOURNAL_AGENT, e, 0, agent_id, strlen(agent_id));
}

void request_cache_journal_done(RequestCache *c, CacheEntry *e, const void *reply, size_t size,
                                uint64_t expires_usec)
{
        uint64_t now = now_usec(CLOCK_MONOTONIC), realtime = realtime_now();

        if (!c->journal || !e->journaled || size > REQUEST_JOURNAL_REPLY_MAX)
                return;
        journal_append(c, REQUEST_JOURNAL_DONE, e, to_realtime(expires_usec, now, realtime), reply, size);
}

bool cache_entry_is_interrupted(const CacheEntry *e)
{
        return e->interrupted;
}

const char *cache_entry_agent(const CacheEntry *e)
{
        return e->agent_id;
}

void request_cache_reopen(RequestCache *c, CacheEntry *e)
{
        UidShare *s = share_get(c, e->uid, false);

        if (!e->interrupted)
                return;
        e->interrupted = false;
        e->done = false;
        if (s)
                s->n_pending++;
}
