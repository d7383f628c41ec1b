/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <grp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "confine-test-util.h"
#include "identity-resolve.h"
#include "string-util.h"

/* A literal user database. */
typedef struct FakeUser {
        const char *name;
        uid_t uid;
        gid_t gid;
        const char *home;
} FakeUser;

typedef struct FakeDb {
        const FakeUser *users;
        size_t n;
        bool lie; /* answer a uid lookup with another entry */
} FakeDb;

static int fake_fill(const FakeUser *u, IdentityPasswd *ret)
{
        *ret = (IdentityPasswd){.uid = u->uid, .gid = u->gid, .name = strdup(u->name)};
        assert_non_null(ret->name);
        if (u->home) {
                ret->home = strdup(u->home);
                assert_non_null(ret->home);
        }
        return 0;
}

static int fake_by_uid(void *userdata, uid_t uid, IdentityPasswd *ret)
{
        const FakeDb *db = userdata;

        for (size_t i = 0; i < db->n; i++)
                if (db->users[i].uid == uid)
                        return fake_fill(db->lie ? &db->users[(i + 1) % db->n] : &db->users[i], ret);
        return -ESRCH;
}

static int fake_by_name(void *userdata, const char *name, IdentityPasswd *ret)
{
        const FakeDb *db = userdata;

        for (size_t i = 0; i < db->n; i++)
                if (streq(db->users[i].name, name))
                        return fake_fill(&db->users[i], ret);
        return -ESRCH;
}

static const FakeUser users[] = {
        {"root", 0, 0, "/root"},
        {"alice", 1000, 1000, "/home/alice"},
        {"bob", 1001, 100, "/home/bob"},
        {"descartes-agent", 990, 989, NULL},
};
static FakeDb fake = {users, ELEMENTSOF(users), false};
static const IdentityUserDb fake_db = {fake_by_uid, fake_by_name, &fake};

static const FakeUser users_without_agent[] = {
        {"root", 0, 0, "/root"},
        {"alice", 1000, 1000, "/home/alice"},
};
static FakeDb fake2 = {users_without_agent, ELEMENTSOF(users_without_agent), false};
static const IdentityUserDb fake_db2 = {fake_by_uid, fake_by_name, &fake2};

static const FakeUser users_agent_is_root[] = {
        {"descartes-agent", 0, 0, NULL},
};
static FakeDb fake3 = {users_agent_is_root, ELEMENTSOF(users_agent_is_root), false};
static const IdentityUserDb fake_db3 = {fake_by_uid, fake_by_name, &fake3};

static void expect(uid_t caller, const char *user, bool allow_root, const IdentityUserDb *db, int want_r,
                   uid_t want_uid, gid_t want_gid, const char *want_name)
{
        Identity id = {.uid = 4242, .gid = 4242};
        int r;

        print_message("caller %u user %s allow_root %d\n", (unsigned)caller, user ?: "(null)", allow_root);
        r = identity_resolve(caller, user, allow_root, db, &id);
        assert_int_equal(r, want_r);
        if (r < 0) {
                assert_int_equal(id.uid, 4242); /* untouched */
                assert_null(id.name);
                return;
        }
        assert_int_equal(id.uid, want_uid);
        assert_int_equal(id.gid, want_gid);
        if (want_name)
                assert_string_equal(id.name, want_name);
        else
                assert_null(id.name);
        identity_done(&id);
}

static void test_resolve_non_root_caller(void **state)
{
        expect(1000, NULL, false, &fake_db, 0, 1000, 1000, "alice");
        expect(1000, "alice", false, &fake_db, 0, 1000, 1000, "alice");
        expect(1000, "1000", false, &fake_db, 0, 1000, 1000, "alice");
        expect(1001, NULL, false, &fake_db, 0, 1001, 100, "bob");
        expect(1000, "bob", false, &fake_db, -EPERM, 0, 0, NULL);
        expect(1000, "1001", false, &fake_db, -EPERM, 0, 0, NULL);
        expect(1000, "root", true, &fake_db, -EPERM, 0, 0, NULL);
        expect(1000, "0", true, &fake_db, -EPERM, 0, 0, NULL);
        expect(1000, "descartes-agent", false, &fake_db, -EPERM, 0, 0, NULL);
        expect(1000, "nosuch", false, &fake_db, -ESRCH, 0, 0, NULL);
        expect(1000, "5000", false, &fake_db, -EPERM, 0, 0, NULL);
        /* A caller without a passwd entry: its own uid, the overflow group. */
        expect(2000, NULL, false, &fake_db, 0, 2000, IDENTITY_NOGROUP, NULL);
        expect(2000, "2000", false, &fake_db, 0, 2000, IDENTITY_NOGROUP, NULL);
}

static void test_resolve_root_caller(void **state)
{
        expect(0, NULL, false, &fake_db, 0, 990, 989, "descartes-agent");
        expect(0, NULL, false, &fake_db2, -ESRCH, 0, 0, NULL);
        expect(0, "bob", false, &fake_db, 0, 1001, 100, "bob");
        expect(0, "1001", false, &fake_db, 0, 1001, 100, "bob");
        expect(0, "5000", false, &fake_db, 0, 5000, IDENTITY_NOGROUP, NULL);
        expect(0, "nosuch", false, &fake_db, -ESRCH, 0, 0, NULL);
        /* Never root unless the config allows it, however it is named. */
        expect(0, "root", false, &fake_db, -EPERM, 0, 0, NULL);
        expect(0, "0", false, &fake_db, -EPERM, 0, 0, NULL);
        expect(0, NULL, false, &fake_db3, -EPERM, 0, 0, NULL);
        expect(0, "root", true, &fake_db, 0, 0, 0, "root");
        expect(0, "0", true, &fake_db, 0, 0, 0, "root");
}

static void test_resolve_bad_input(void **state)
{
        static const char *const bad[] = {"", "a:b", "a/b", "with space", "-rf", "\x7f", "tab\tx"};

        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                expect(0, bad[i], false, &fake_db, -EINVAL, 0, 0, NULL);
        expect(0, "4294967295", false, &fake_db, -ERANGE, 0, 0, NULL);
        expect(0, "99999999999999999999999", false, &fake_db, -ERANGE, 0, 0, NULL);
        expect((uid_t)-1, NULL, false, &fake_db, -EINVAL, 0, 0, NULL);

        char longname[IDENTITY_NAME_MAX + 2];
        memset(longname, 'a', sizeof longname - 1);
        longname[sizeof longname - 1] = '\0';
        expect(0, longname, false, &fake_db, -EINVAL, 0, 0, NULL);

        /* A database answering for another uid is not believed. */
        fake.lie = true;
        expect(1000, NULL, false, &fake_db, -EIO, 0, 0, NULL);
        fake.lie = false;
}

static void test_parse_uid(void **state)
{
        uid_t u = 7;

        assert_int_equal(identity_parse_uid("0", &u), 0);
        assert_int_equal(u, 0);
        assert_int_equal(identity_parse_uid("65534", &u), 0);
        assert_int_equal(u, 65534);
        assert_int_equal(identity_parse_uid("4294967294", &u), 0);
        assert_int_equal(u, 4294967294U);
        u = 7;
        assert_int_equal(identity_parse_uid("4294967295", &u), -ERANGE);
        assert_int_equal(identity_parse_uid("", &u), -EINVAL);
        assert_int_equal(identity_parse_uid("007", &u), -EINVAL);
        assert_int_equal(identity_parse_uid("+5", &u), -EINVAL);
        assert_int_equal(identity_parse_uid("5 ", &u), -EINVAL);
        assert_int_equal(identity_parse_uid("alice", &u), -EINVAL);
        assert_int_equal(u, 7);

        assert_true(identity_name_is_valid("descartes-agent"));
        assert_true(identity_name_is_valid("user.name_1$"));
        assert_false(identity_name_is_valid(NULL));
        assert_false(identity_name_is_valid("a:b"));
}

static void test_resolve_system_db(void **state)
{
        Identity id = {};
        int r;

        /* The real NSS path, with a user every Debian system has. */
        r = identity_resolve(0, "nobody", false, NULL, &id);
        if (r == -ESRCH) {
                print_message("SKIP: no 'nobody' user here\n");
                skip();
        }
        assert_int_equal(r, 0);
        assert_int_equal(id.uid, 65534);
        assert_string_equal(id.name, "nobody");
        identity_done(&id);

        assert_int_equal(identity_resolve(0, "descartes-no-such-user-x", false, NULL, &id), -ESRCH);
        assert_int_equal(identity_resolve(0, "root", false, NULL, &id), -EPERM);
}

static const char *check_apply(void *userdata)
{
        const Identity *id = userdata;
        uid_t r, e, s;
        gid_t rg, eg, sg;
        gid_t one = 27;

        /* Start with a supplementary group, which the drop must remove. */
        CHECK(setgroups(1, &one) == 0);
        CHECK(identity_apply(id) == 0);
        CHECK(getresuid(&r, &e, &s) == 0 && r == id->uid && e == id->uid && s == id->uid);
        CHECK(getresgid(&rg, &eg, &sg) == 0 && rg == id->gid && eg == id->gid && sg == id->gid);
        CHECK(getgroups(0, NULL) == 0);
        /* No way back. */
        CHECK_ERRNO(setresuid(0, 0, 0), EPERM);
        return NULL;
}

static void test_apply(void **state)
{
        Identity id = {.uid = 65534, .gid = 65534};

        if (geteuid() != 0) {
                print_message("SKIP: changing identity needs root\n");
                skip();
        }
        assert_child_ok(run_in_child(0, check_apply, &id));

        Identity bad = {.uid = (uid_t)-1, .gid = 1};
        assert_int_equal(identity_apply(&bad), -EINVAL);
        assert_int_equal(identity_apply(NULL), -EINVAL);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_resolve_non_root_caller), cmocka_unit_test(test_resolve_root_caller),
                cmocka_unit_test(test_resolve_bad_input),       cmocka_unit_test(test_parse_uid),
                cmocka_unit_test(test_resolve_system_db),       cmocka_unit_test(test_apply),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
