/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The request journal (STATE/requests.journal) read back by a restarted daemon's request cache: answered
 * requests come back with their reply, one in progress comes back interrupted (with a spawn's agent), a
 * dropped or expired one does not come back; a truncated or corrupt file keeps what precedes the damage. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "fd-util.h"
#include "request-cache.h"
#include "request-journal.h"
#include "time-util.h"

#define TTL     (600 * UINT64_C(1000000))
#define AGENT_A "0b7c4f2e-4a57-4f0e-9d53-5d1c8e3f2a10"

typedef struct Dir {
        char path[64];
        int fd;
} Dir;

static int dir_setup(void **state)
{
        Dir *d = calloc(1, sizeof *d);

        assert_non_null(d);
        strcpy(d->path, "/tmp/descartes-test-journal-XXXXXX");
        assert_non_null(mkdtemp(d->path));
        d->fd = open(d->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(d->fd >= 0);
        *state = d;
        return 0;
}

static int dir_teardown(void **state)
{
        Dir *d = *state;

        (void)rm_rf_at(AT_FDCWD, d->path);
        close(d->fd);
        free(d);
        return 0;
}

static uint64_t realtime(void)
{
        struct timespec ts;

        (void)clock_gettime(CLOCK_REALTIME, &ts);
        return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* The cache's clock is CLOCK_MONOTONIC (the journal converts it to CLOCK_REALTIME and back). */
static uint64_t mono(void)
{
        return now_usec(CLOCK_MONOTONIC);
}

static RequestCache *cache_open_sized(Dir *d, uint64_t now, size_t entries, size_t bytes)
{
        RequestCache *c = NULL;

        assert_int_equal(request_cache_new(entries, bytes, &c), 0);
        assert_int_equal(request_cache_open_journal(c, d->fd, d->path, now, realtime()), 0);
        return c;
}

static RequestCache *cache_open(Dir *d, uint64_t now)
{
        return cache_open_sized(d, now, 64, 1 << 20);
}

static CacheEntry *begin(RequestCache *c, uid_t uid, const char *id, uint64_t now)
{
        CacheEntry *e = NULL;

        assert_int_equal(request_cache_add(c, uid, id, now, &e), 0);
        request_cache_journal_begin(c, e, TTL);
        return e;
}

static void answer(RequestCache *c, CacheEntry *e, const char *reply, uint64_t now)
{
        char *buf = strdup(reply);

        assert_non_null(buf);
        request_cache_journal_done(c, e, buf, strlen(buf), now + TTL);
        request_cache_complete(c, e, buf, strlen(buf), now + TTL);
}

/* One daemon's life: answered, interrupted (a spawn with its agent, a stdin), dropped (busy), not journaled
 * (a get). */
static void first_life(Dir *d)
{
        uint64_t now = mono();
        RequestCache *c = cache_open(d, now);
        CacheEntry *e;

        answer(c, begin(c, 1000, "answered", now), "reply-1", now);
        e = begin(c, 1000, "spawning", now);
        request_cache_journal_agent(c, e, AGENT_A);
        (void)begin(c, 1001, "writing", now);
        request_cache_remove(c, begin(c, 1000, "busy", now));
        assert_int_equal(request_cache_add(c, 1000, "get", now, &e), 0);
        request_cache_complete(c, e, strdup("not kept"), 8, now + TTL);
        /* the daemon dies here: its pending entries stay BEGIN on disk */
        request_cache_close_journal(c);
        request_cache_free(c);
}

static void check_second_life(RequestCache *c, uint64_t now)
{
        CacheEntry *e = NULL;
        const void *reply;
        size_t size;

        assert_int_equal(request_cache_lookup(c, 1000, "answered", now, &e), 1);
        assert_true(cache_entry_is_done(e));
        assert_false(cache_entry_is_interrupted(e));
        reply = cache_entry_reply(e, &size);
        assert_int_equal(size, 7);
        assert_memory_equal(reply, "reply-1", 7);

        assert_int_equal(request_cache_lookup(c, 1000, "spawning", now, &e), 1);
        assert_true(cache_entry_is_interrupted(e));
        assert_string_equal(cache_entry_agent(e), AGENT_A);
        assert_int_equal(request_cache_lookup(c, 1001, "writing", now, &e), 1);
        assert_true(cache_entry_is_interrupted(e));
        assert_null(cache_entry_agent(e));
        /* the same id of another caller is another request */
        assert_int_equal(request_cache_lookup(c, 1000, "writing", now, &e), 0);
        assert_int_equal(request_cache_lookup(c, 1000, "busy", now, &e), 0);
        assert_int_equal(request_cache_lookup(c, 1000, "get", now, &e), 0);
}

static void test_restart(void **state)
{
        Dir *d = *state;
        RequestCache *c;
        CacheEntry *e = NULL;
        uint64_t now;

        first_life(d);
        now = mono();
        c = cache_open(d, now);
        check_second_life(c, now);
        assert_int_equal(request_cache_uid_pending(c, 1000), 0);

        /* the interrupted spawn is answered (pending again, then done): that answer is journaled too */
        assert_int_equal(request_cache_lookup(c, 1000, "spawning", now, &e), 1);
        request_cache_reopen(c, e);
        assert_false(cache_entry_is_done(e));
        assert_int_equal(request_cache_uid_pending(c, 1000), 1);
        answer(c, e, "found-agent", mono());
        request_cache_close_journal(c);
        request_cache_free(c);

        /* a third life reads the rewritten file and what was appended to it */
        now = mono();
        c = cache_open(d, now);
        assert_int_equal(request_cache_lookup(c, 1000, "spawning", now, &e), 1);
        assert_false(cache_entry_is_interrupted(e));
        assert_int_equal(request_cache_lookup(c, 1000, "answered", now, &e), 1);
        assert_int_equal(request_cache_lookup(c, 1001, "writing", now, &e), 1);
        assert_true(cache_entry_is_interrupted(e));
        /* past the TTL nothing is left */
        assert_int_equal(request_cache_lookup(c, 1000, "answered", now + TTL + 1, &e), 0);
        assert_int_equal(request_cache_lookup(c, 1001, "writing", now + TTL + 1, &e), 0);
        request_cache_free(c);
}

static void append_raw(Dir *d, const void *buf, size_t n)
{
        int fd = openat(d->fd, REQUEST_JOURNAL_FILE, O_WRONLY | O_APPEND | O_CLOEXEC);

        assert_true(fd >= 0);
        assert_int_equal(loop_write(fd, buf, n), 0);
        close(fd);
}

static void test_damaged_files(void **state)
{
        Dir *d = *state;
        RequestJournalRecord rec = {.type = REQUEST_JOURNAL_DONE,
                                    .uid = 1000,
                                    .id = "late",
                                    .expires_realtime_usec = realtime() + TTL,
                                    .data = "x",
                                    .size = 1};
        RequestCache *c;
        CacheEntry *e = NULL;
        void *buf = NULL;
        size_t n;
        struct stat st;
        uint64_t now;

        first_life(d);
        now = mono();
        assert_int_equal(request_journal_record_encode(&rec, &buf, &n), 0);

        /* a record cut short at the end (a crash in the middle of a write): dropped, the rest kept */
        append_raw(d, buf, n - 3);
        c = cache_open(d, now);
        check_second_life(c, now);
        assert_int_equal(request_cache_lookup(c, 1000, "late", now, &e), 0);
        request_cache_free(c);

        /* a garbled record: it and what follows are ignored, what precedes stays */
        ((char *)buf)[n - 1] ^= 0x55;
        append_raw(d, buf, n);
        ((char *)buf)[n - 1] ^= 0x55;
        append_raw(d, buf, n);
        c = cache_open(d, now);
        check_second_life(c, now);
        assert_int_equal(request_cache_lookup(c, 1000, "late", now, &e), 0);
        request_cache_free(c);

        /* a good one appended after the rewrite is read */
        append_raw(d, buf, n);
        c = cache_open(d, now);
        assert_int_equal(request_cache_lookup(c, 1000, "late", now, &e), 1);
        request_cache_free(c);
        free(buf);

        /* not a journal at all: started over, never fatal */
        assert_int_equal(write_file_replace_at(d->fd, REQUEST_JOURNAL_FILE, "garbage!garbage!garbage!", 24,
                                               0600, false),
                         0);
        c = cache_open(d, now);
        assert_int_equal(request_cache_lookup(c, 1000, "answered", now, &e), 0);
        request_cache_free(c);
        assert_int_equal(fstatat(d->fd, REQUEST_JOURNAL_FILE, &st, 0), 0);
        assert_int_equal(st.st_size, sizeof(RequestJournalFileHeader));

        /* an expired answer is not read back */
        rec.expires_realtime_usec = realtime() - 1;
        rec.id = "old";
        assert_int_equal(request_journal_record_encode(&rec, &buf, &n), 0);
        append_raw(d, buf, n);
        free(buf);
        c = cache_open(d, now);
        assert_int_equal(request_cache_lookup(c, 1000, "old", now, &e), 0);
        request_cache_free(c);
}

static void test_bounded(void **state)
{
        Dir *d = *state;
        uint64_t now = mono();
        /* room for every answer: each rewrite keeps the newest half of the journal's bound */
        RequestCache *c = cache_open_sized(d, now, 4096, 64 << 20);
        unsigned n = 2 * REQUEST_JOURNAL_BYTES_MAX / (REQUEST_JOURNAL_REPLY_MAX / 2), found = 0;
        char *big = malloc(REQUEST_JOURNAL_REPLY_MAX);
        struct stat st;
        char id[32];

        assert_non_null(big);
        memset(big, 'r', REQUEST_JOURNAL_REPLY_MAX);
        big[REQUEST_JOURNAL_REPLY_MAX - 1] = 0;
        /* far more than the journal's bound goes through it: rewrites keep the file bounded */
        for (unsigned i = 0; i < n; i++) {
                (void)snprintf(id, sizeof id, "r-%u", i);
                answer(c, begin(c, 1000, id, now), big + REQUEST_JOURNAL_REPLY_MAX / 2, now);
                assert_int_equal(fstatat(d->fd, REQUEST_JOURNAL_FILE, &st, 0), 0);
                assert_true((uint64_t)st.st_size <= REQUEST_JOURNAL_BYTES_MAX + REQUEST_JOURNAL_REPLY_MAX);
        }
        request_cache_close_journal(c);
        request_cache_free(c);
        free(big);

        /* every rewrite kept the answers as answers, the one whose reply passed the bound too (none comes
         * back interrupted), and the newest are all there */
        now = mono();
        c = cache_open_sized(d, now, 4096, 64 << 20);
        for (unsigned i = 0; i < n; i++) {
                CacheEntry *e = NULL;

                (void)snprintf(id, sizeof id, "r-%u", i);
                if (request_cache_lookup(c, 1000, id, now, &e) == 0) {
                        assert_true(i + 200 < n);
                        continue;
                }
                found++;
                assert_true(cache_entry_is_done(e));
                assert_false(cache_entry_is_interrupted(e));
        }
        assert_true(found >= 200);
        request_cache_free(c);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_restart, dir_setup, dir_teardown),
                cmocka_unit_test_setup_teardown(test_damaged_files, dir_setup, dir_teardown),
                cmocka_unit_test_setup_teardown(test_bounded, dir_setup, dir_teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
