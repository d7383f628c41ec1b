/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The daemon's half of the shim handshake: the range a HELLO says, the version picked from two ranges. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "shim-version.h"

static void test_range_from_hello(void **state)
{
        ShimMsgHello h = {.version = 1, .min_version = 7}; /* min_version: garbage past a version 1 HELLO */
        uint32_t min, max;

        shim_version_range(&h, SHIM_MSG_HELLO_V1_SIZE, &min, &max);
        assert_int_equal(min, 1);
        assert_int_equal(max, 1);

        h = (ShimMsgHello){.version = 3, .min_version = 1};
        shim_version_range(&h, sizeof h, &min, &max);
        assert_int_equal(min, 1);
        assert_int_equal(max, 3);

        /* absent or nonsense: only `version` */
        h = (ShimMsgHello){.version = 2, .min_version = 0};
        shim_version_range(&h, sizeof h, &min, &max);
        assert_int_equal(min, 2);
        h = (ShimMsgHello){.version = 2, .min_version = 5};
        shim_version_range(&h, sizeof h, &min, &max);
        assert_int_equal(min, 2);
        assert_int_equal(max, 2);
}

static void test_negotiate(void **state)
{
        uint32_t v = 0;

        /* this daemon speaks SHIM_PROTOCOL_VERSION_MIN..SHIM_PROTOCOL_VERSION */
        assert_int_equal(shim_version_negotiate(1, 1, &v), 0);
        assert_int_equal(v, 1);
        assert_int_equal(shim_version_negotiate(1, SHIM_PROTOCOL_VERSION, &v), 0);
        assert_int_equal(v, SHIM_PROTOCOL_VERSION);
        /* a newer shim that still speaks ours: ours */
        assert_int_equal(shim_version_negotiate(1, SHIM_PROTOCOL_VERSION + 5, &v), 0);
        assert_int_equal(v, SHIM_PROTOCOL_VERSION);
        assert_int_equal(shim_version_negotiate(SHIM_PROTOCOL_VERSION, SHIM_PROTOCOL_VERSION + 1, &v), 0);
        assert_int_equal(v, SHIM_PROTOCOL_VERSION);

        v = 0;
        /* a shim that dropped ours, one older than we speak, and nonsense */
        assert_int_equal(shim_version_negotiate(SHIM_PROTOCOL_VERSION + 1, SHIM_PROTOCOL_VERSION + 2, &v),
                         -EPROTONOSUPPORT);
        assert_int_equal(shim_version_negotiate(0, 0, &v), -EPROTONOSUPPORT);
        assert_int_equal(shim_version_negotiate(3, 2, &v), -EPROTONOSUPPORT);
        assert_int_equal(v, 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_range_from_hello),
                cmocka_unit_test(test_negotiate),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
