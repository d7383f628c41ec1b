/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The uids of a root caller's agents (supervisor/uid-pool.c) on a scratch state dir: handed out in turn,
 * held while the agent's state dir or its files in the trash exist, free again once they are gone, and the
 * same after a restart (a new pool on the same dir). Claims made ahead: handed out once on disk, taken back
 * when the pool ends, held when another boot made them. */
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
#include <unistd.h>

#include <cmocka.h>

#include "cleanup.h"
#include "fd-util.h"
#include "record-sync.h"
#include "uid-pool.h"

/* far from any user database entry */
#define UID_LO 3900000000u
#define UID_HI 3900000002u

typedef struct Dir {
        char path[64];
        int fd;
} Dir;

static int setup(void **state)
{
        Dir *d = calloc(1, sizeof *d);

        assert_non_null(d);
        (void)snprintf(d->path, sizeof d->path, "/tmp/descartes-test-uid-pool-XXXXXX");
        assert_non_null(mkdtemp(d->path));
        d->fd = open(d->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(d->fd >= 0);
        assert_int_equal(mkdirat(d->fd, "agents", 0700), 0);
        assert_int_equal(mkdirat(d->fd, "trash", 0700), 0);
        *state = d;
        return 0;
}

static int teardown(void **state)
{
        Dir *d = *state;

        close(d->fd);
        assert_int_equal(rm_rf_at(AT_FDCWD, d->path), 0);
        free(d);
        return 0;
}

/* STATE/agents/ID, as agent_spawn makes it before the claim */
static void make_agent(Dir *d, const char *id)
{
        char p[128];

        (void)snprintf(p, sizeof p, "agents/%s", id);
        assert_int_equal(mkdirat(d->fd, p, 0700), 0);
}

/* `remove`: the state dir goes to the trash, deleted later */
static void remove_to_trash(Dir *d, const char *id)
{
        char from[128], to[128];

        (void)snprintf(from, sizeof from, "agents/%s", id);
        (void)snprintf(to, sizeof to, "trash/%s.1.1", id);
        assert_int_equal(renameat(d->fd, from, d->fd, to), 0);
}

static void empty_trash(Dir *d, const char *id)
{
        char p[128];

        (void)snprintf(p, sizeof p, "trash/%s.1.1", id);
        assert_int_equal(rm_rf_at(d->fd, p), 0);
}

static void test_claim_release(void **state)
{
        Dir *d = *state;
        UidPool *p = NULL;
        uid_t a, b, c, x;

        assert_int_equal(uid_pool_new(d->fd, 0, 5, NULL, &p), -EINVAL);
        assert_int_equal(uid_pool_new(d->fd, 7, 5, NULL, &p), -EINVAL);
        assert_int_equal(uid_pool_new(d->fd, UID_LO, UID_HI, NULL, &p), 0);

        make_agent(d, "a");
        make_agent(d, "b");
        make_agent(d, "c");
        assert_int_equal(uid_pool_claim(p, "a", &a), 0);
        assert_int_equal(uid_pool_claim(p, "b", &b), 0);
        assert_int_equal(uid_pool_claim(p, "c", &c), 0);
        /* three agents, three uids of the range */
        assert_int_equal(a, UID_LO);
        assert_int_equal(b, UID_LO + 1);
        assert_int_equal(c, UID_LO + 2);
        assert_int_equal(uid_pool_is_held(p, a), 1);

        /* full */
        make_agent(d, "d");
        assert_int_equal(uid_pool_claim(p, "d", &x), -EUSERS);

        /* b removed: its files are in the trash, its uid stays held */
        remove_to_trash(d, "b");
        assert_int_equal(uid_pool_is_held(p, b), 1);
        assert_int_equal(uid_pool_claim(p, "d", &x), -EUSERS);

        /* a restart: a new pool on the same state dir knows every claim */
        p = uid_pool_free(p);
        assert_int_equal(uid_pool_new(d->fd, UID_LO, UID_HI, NULL, &p), 0);
        assert_int_equal(uid_pool_claim(p, "d", &x), -EUSERS);

        /* b's files deleted: its uid goes to the next agent, and only it */
        empty_trash(d, "b");
        assert_int_equal(uid_pool_claim(p, "d", &x), 0);
        assert_int_equal(x, b);
        assert_int_equal(uid_pool_is_held(p, b), 1);
        make_agent(d, "e");
        assert_int_equal(uid_pool_claim(p, "e", &x), -EUSERS);

        /* a removed and deleted at once (the trash could not take it): free */
        assert_int_equal(rm_rf_at(d->fd, "agents/a"), 0);
        assert_int_equal(uid_pool_is_held(p, a), 0);
        assert_int_equal(uid_pool_claim(p, "e", &x), 0);
        assert_int_equal(x, a);
        uid_pool_free(p);
}

/* A claim file whose content names no agent directory we could check is held, not reused. */
static void test_claim_unreadable(void **state)
{
        Dir *d = *state;
        UidPool *p = NULL;
        char name[32];
        uid_t x;

        assert_int_equal(uid_pool_new(d->fd, UID_LO, UID_LO, NULL, &p), 0);
        (void)snprintf(name, sizeof name, "uids/%u", UID_LO);
        assert_int_equal(write_file_replace_at(d->fd, name, "../x", 4, 0600, false), 0);
        make_agent(d, "z");
        assert_int_equal(uid_pool_claim(p, "z", &x), -EUSERS);
        uid_pool_free(p);
}

/* The content of uids/UID, or NULL when there is no such claim. */
static char *claim_of(Dir *d, uid_t uid)
{
        char name[32];
        char *text = NULL;

        (void)snprintf(name, sizeof name, "uids/%u", (unsigned)uid);
        if (read_file_at(d->fd, name, 256, &text, NULL) < 0)
                return NULL;
        text[strcspn(text, "\n")] = 0;
        return text;
}

static void boot_id(char *buf, size_t n)
{
        _cleanup_free_ char *text = NULL;

        assert_int_equal(read_file_at(AT_FDCWD, "/proc/sys/kernel/random/boot_id", 64, &text, NULL), 0);
        text[strcspn(text, "\n")] = 0;
        (void)snprintf(buf, n, "%s", text);
}

/* The first claim is the spawn's own; the next uids are claimed ahead ("@reserved BOOT_ID") and the next
 * spawn gets one with its id written over it; the pool's end takes back the ones nobody got. */
static void test_claim_ahead(void **state)
{
        Dir *d = *state;
        UidPool *p = NULL;
        char want[64], boot[40];
        uid_t a, b;

        boot_id(boot, sizeof boot);
        (void)snprintf(want, sizeof want, "@reserved %s", boot);
        assert_int_equal(uid_pool_new(d->fd, UID_LO, UID_LO + 9, NULL, &p), 0);
        make_agent(d, "a");
        make_agent(d, "b");
        assert_int_equal(uid_pool_claim(p, "a", &a), 0);
        assert_int_equal(a, UID_LO);
        for (unsigned i = 1; i <= UID_RESERVE; i++) {
                _cleanup_free_ char *c = claim_of(d, UID_LO + i);

                assert_non_null(c);
                assert_string_equal(c, want);
                assert_int_equal(uid_pool_is_held(p, UID_LO + i), 1);
        }
        assert_null(claim_of(d, UID_LO + UID_RESERVE + 1));

        assert_int_equal(uid_pool_claim(p, "b", &b), 0);
        assert_int_equal(b, UID_LO + 1);
        {
                _cleanup_free_ char *c = claim_of(d, b), *next = claim_of(d, UID_LO + UID_RESERVE + 1);

                assert_string_equal(c, "b");
                /* topped up again */
                assert_non_null(next);
                assert_string_equal(next, want);
        }
        uid_pool_free(p);
        /* the agents' claims stay; the ones made ahead are gone */
        for (unsigned i = 2; i <= UID_RESERVE + 1; i++)
                assert_null(claim_of(d, UID_LO + i));
        assert_int_equal(uid_pool_new(d->fd, UID_LO, UID_LO + 9, NULL, &p), 0);
        assert_int_equal(uid_pool_is_held(p, a), 1);
        assert_int_equal(uid_pool_is_held(p, b), 1);
        uid_pool_free(p);
}

/* A claim made ahead that no pool holds: taken back when this boot's daemon made it (it ended before handing
 * it out), held when another boot did (a host crash may have lost the id written over it). */
static void test_claim_ahead_left_behind(void **state)
{
        Dir *d = *state;
        UidPool *p = NULL;
        char name[32], content[64], boot[40];
        uid_t x;

        boot_id(boot, sizeof boot);
        assert_int_equal(uid_pool_new(d->fd, UID_LO, UID_LO + 1, NULL, &p), 0);
        (void)snprintf(name, sizeof name, "uids/%u", UID_LO);
        (void)snprintf(content, sizeof content, "@reserved %s\n", boot);
        assert_int_equal(write_file_replace_at(d->fd, name, content, strlen(content), 0600, false), 0);
        (void)snprintf(name, sizeof name, "uids/%u", UID_LO + 1);
        (void)snprintf(content, sizeof content, "@reserved 00000000-0000-4000-8000-000000000000\n");
        assert_int_equal(write_file_replace_at(d->fd, name, content, strlen(content), 0600, false), 0);

        assert_int_equal(uid_pool_is_held(p, UID_LO + 1), 1);
        make_agent(d, "z");
        assert_int_equal(uid_pool_claim(p, "z", &x), 0);
        assert_int_equal(x, UID_LO);
        make_agent(d, "y");
        assert_int_equal(uid_pool_claim(p, "y", &x), -EUSERS);
        uid_pool_free(p);
        {
                _cleanup_free_ char *c = claim_of(d, UID_LO + 1);

                assert_non_null(c);
                assert_string_equal(c, "@reserved 00000000-0000-4000-8000-000000000000");
        }
}

/* With the flush thread: each uid to one agent, whether the spawn finds a claim made ahead on disk already
 * or claims its own (then not in turn); the last uids of the range, in the reserve, are handed out too. */
static void test_claim_ahead_thread(void **state)
{
        Dir *d = *state;
        RecordSync *sync = NULL;
        UidPool *p = NULL;
        uid_t got[6];

        assert_int_equal(record_sync_new(d->fd, &sync), 0);
        assert_int_equal(uid_pool_new(d->fd, UID_LO, UID_LO + 5, sync, &p), 0);
        for (unsigned i = 0; i < 6; i++) {
                char id[8];
                _cleanup_free_ char *c = NULL;

                (void)snprintf(id, sizeof id, "t%u", i);
                make_agent(d, id);
                assert_int_equal(uid_pool_claim(p, id, &got[i]), 0);
                assert_true(got[i] >= UID_LO && got[i] <= UID_LO + 5);
                for (unsigned j = 0; j < i; j++)
                        assert_int_not_equal(got[i], got[j]);
                c = claim_of(d, got[i]);
                assert_non_null(c);
                assert_string_equal(c, id);
        }
        make_agent(d, "t6");
        assert_int_equal(uid_pool_claim(p, "t6", &got[0]), -EUSERS);
        sync = record_sync_free(sync);
        uid_pool_free(p);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_claim_release, setup, teardown),
                cmocka_unit_test_setup_teardown(test_claim_unreadable, setup, teardown),
                cmocka_unit_test_setup_teardown(test_claim_ahead, setup, teardown),
                cmocka_unit_test_setup_teardown(test_claim_ahead_left_behind, setup, teardown),
                cmocka_unit_test_setup_teardown(test_claim_ahead_thread, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
