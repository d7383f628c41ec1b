/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The uids of a root caller's agents (supervisor/uid-pool.c) on a scratch state dir: handed out in turn,
 * held while the agent's state dir or its files in the trash exist, free again once they are gone, and the
 * same after a restart (a new pool on the same dir). */
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

#include "fd-util.h"
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

        assert_int_equal(uid_pool_new(d->fd, 0, 5, &p), -EINVAL);
        assert_int_equal(uid_pool_new(d->fd, 7, 5, &p), -EINVAL);
        assert_int_equal(uid_pool_new(d->fd, UID_LO, UID_HI, &p), 0);

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
        assert_int_equal(uid_pool_new(d->fd, UID_LO, UID_HI, &p), 0);
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

        assert_int_equal(uid_pool_new(d->fd, UID_LO, UID_LO, &p), 0);
        (void)snprintf(name, sizeof name, "uids/%u", UID_LO);
        assert_int_equal(write_file_replace_at(d->fd, name, "../x", 4, 0600, false), 0);
        make_agent(d, "z");
        assert_int_equal(uid_pool_claim(p, "z", &x), -EUSERS);
        uid_pool_free(p);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_claim_release, setup, teardown),
                cmocka_unit_test_setup_teardown(test_claim_unreadable, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
