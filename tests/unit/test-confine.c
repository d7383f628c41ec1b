/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <linux/securebits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <cmocka.h>

#include "capability.h"
#include "confine-test-util.h"
#include "confine.h"
#include "string-util.h"

/* Every capability line of /proc/self/status must read all zeros, NoNewPrivs 1. */
static const char *check_status(uid_t uid, gid_t gid)
{
        static const char *const caps[] = {"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"};
        char v[256], want[64];

        for (size_t i = 0; i < ELEMENTSOF(caps); i++) {
                CHECK(proc_status_field(caps[i], v, sizeof v) == 0);
                if (!streq(v, "0000000000000000"))
                        return child_fail(__LINE__, "%s is %s", caps[i], v);
        }
        CHECK(proc_status_field("NoNewPrivs", v, sizeof v) == 0 && streq(v, "1"));
        (void)snprintf(want, sizeof want, "%u\t%u\t%u\t%u", (unsigned)uid, (unsigned)uid, (unsigned)uid,
                       (unsigned)uid);
        CHECK(proc_status_field("Uid", v, sizeof v) == 0 && streq(v, want));
        (void)snprintf(want, sizeof want, "%u\t%u\t%u\t%u", (unsigned)gid, (unsigned)gid, (unsigned)gid,
                       (unsigned)gid);
        CHECK(proc_status_field("Gid", v, sizeof v) == 0 && streq(v, want));
        CHECK(proc_status_field("Groups", v, sizeof v) == 0 && streq(v, ""));
        return NULL;
}

static const char *check_drop_to_nobody(void *userdata)
{
        Identity id = {.uid = 65534, .gid = 65534};
        ConfineStage stage = _CONFINE_STAGE_INVALID;
        const char *m;
        unsigned last;
        int r;

        r = confine_drop_privileges(&id, &stage);
        if (r < 0)
                return child_fail(__LINE__, "drop failed at %s: %s", confine_stage_to_string(stage),
                                  strerror(-r));
        m = check_status(65534, 65534);
        if (m)
                return m;
        CHECK(capability_last_cap(&last) == 0 && capability_all_empty(last) == 1);
        CHECK_ERRNO(setresuid(0, 0, 0), EPERM);
        CHECK_ERRNO(prctl(PR_CAPBSET_DROP, 0, 0, 0, 0), EPERM);
        CHECK((prctl(PR_GET_SECUREBITS) & (SECBIT_NOROOT | SECBIT_NOROOT_LOCKED)) ==
              (SECBIT_NOROOT | SECBIT_NOROOT_LOCKED));
        return NULL;
}

/* An agent allowed to run as root keeps uid 0 but nothing else. */
static const char *check_drop_as_root(void *userdata)
{
        Identity id = {.uid = 0, .gid = 0};
        ConfineStage stage = _CONFINE_STAGE_INVALID;
        int r;

        r = confine_drop_privileges(&id, &stage);
        if (r < 0)
                return child_fail(__LINE__, "drop failed at %s: %s", confine_stage_to_string(stage),
                                  strerror(-r));
        const char *m = check_status(0, 0);
        if (m)
                return m;
        /* uid 0 without CAP_SYS_ADMIN sets no hostname; without CAP_SYS_PTRACE it cannot read the
         * environment of a process holding capabilities it lacks (the host's pid 1). */
        CHECK_ERRNO(sethostname("x", 1), EPERM);
        CHECK_ERRNO(open("/proc/1/environ", O_RDONLY | O_CLOEXEC), EACCES);
        return NULL;
}

/* Without privileges the first step already fails, and says it is the capabilities stage. */
static const char *check_stage_capabilities(void *userdata)
{
        Identity id = {.uid = 65534, .gid = 65534};
        ConfineStage stage = _CONFINE_STAGE_INVALID;

        CHECK(setresuid(65534, 65534, 65534) == 0);
        CHECK(confine_drop_privileges(&id, &stage) == -EPERM);
        CHECK(stage == CONFINE_STAGE_CAPABILITIES);
        return NULL;
}

static const char *check_stage_identity(void *userdata)
{
        Identity id = {.uid = (uid_t)-1, .gid = 65534};
        ConfineStage stage = _CONFINE_STAGE_INVALID;

        CHECK(confine_drop_privileges(&id, &stage) == -EINVAL);
        CHECK(stage == CONFINE_STAGE_IDENTITY);
        return NULL;
}

static void test_drop(void **state)
{
        if (geteuid() != 0) {
                print_message("SKIP: dropping privileges needs root\n");
                skip();
        }
        assert_child_ok(run_in_child(0, check_drop_to_nobody, NULL));
        assert_child_ok(run_in_child(0, check_drop_as_root, NULL));
        assert_child_ok(run_in_child(0, check_stage_capabilities, NULL));
        assert_child_ok(run_in_child(0, check_stage_identity, NULL));
}

static void test_last_cap(void **state)
{
        unsigned last = 0;

        assert_int_equal(capability_last_cap(&last), 0);
        /* CAP_AUDIT_READ (37) exists since Linux 3.16; nothing defines caps past 63. */
        assert_true(last >= 37 && last < 64);
}

static void test_stage_strings(void **state)
{
        assert_string_equal(confine_stage_to_string(CONFINE_STAGE_IDENTITY), "identity");
        assert_string_equal(confine_stage_to_string(CONFINE_STAGE_CAPABILITIES), "capabilities");
        assert_null(confine_stage_to_string(_CONFINE_STAGE_MAX));
        assert_null(confine_stage_to_string(_CONFINE_STAGE_INVALID));
        assert_int_equal(confine_stage_from_string("identity"), CONFINE_STAGE_IDENTITY);
        assert_int_equal(confine_stage_from_string("capabilities"), CONFINE_STAGE_CAPABILITIES);
        assert_int_equal(confine_stage_from_string("caps"), _CONFINE_STAGE_INVALID);
        assert_int_equal(confine_stage_from_string(NULL), _CONFINE_STAGE_INVALID);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_stage_strings),
                cmocka_unit_test(test_last_cap),
                cmocka_unit_test(test_drop),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
