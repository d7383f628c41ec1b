/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* descartesctl shutdown [--stop-agents] on literal command lines. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "ctl.h"

static int parse(const char *const *argv, CtlArgs *a, char *err, size_t n)
{
        static char *empty_env[] = {NULL};
        char *copy[16];
        int argc = 0;

        for (; argv[argc]; argc++)
                copy[argc] = (char *)argv[argc];
        copy[argc] = NULL;
        return ctl_args_parse(argc, copy, empty_env, a, err, n);
}

static void test_shutdown_plain(void **state)
{
        const char *const argv[] = {"descartesctl", "shutdown", NULL};
        CtlArgs a;
        char err[256];

        assert_int_equal(parse(argv, &a, err, sizeof err), 0);
        assert_non_null(a.verb);
        assert_string_equal(a.verb->name, "shutdown");
        assert_false(a.stop_agents);
        ctl_args_done(&a);
}

static void test_shutdown_stop_agents(void **state)
{
        const char *const argv[] = {"descartesctl",  "-H", "ipc:///x/control", "shutdown",
                                    "--stop-agents", NULL};
        CtlArgs a;
        char err[256];

        assert_int_equal(parse(argv, &a, err, sizeof err), 0);
        assert_string_equal(a.verb->name, "shutdown");
        assert_true(a.stop_agents);
        assert_string_equal(a.host, "ipc:///x/control");
        ctl_args_done(&a);
}

static void test_shutdown_errors(void **state)
{
        const char *const extra[] = {"descartesctl", "shutdown", "now", NULL};
        const char *const badopt[] = {"descartesctl", "shutdown", "--all", NULL};
        const char *const misplaced[] = {"descartesctl", "ps", "--stop-agents", NULL};
        CtlArgs a;
        char err[256];

        assert_int_equal(parse(extra, &a, err, sizeof err), -EINVAL);
        assert_non_null(strstr(err, "takes no arguments"));
        ctl_args_done(&a);
        assert_int_equal(parse(badopt, &a, err, sizeof err), -EINVAL);
        ctl_args_done(&a);
        assert_int_equal(parse(misplaced, &a, err, sizeof err), -EINVAL);
        ctl_args_done(&a);
        assert_non_null(ctl_verb_from_string("shutdown"));
        assert_string_equal(ctl_verb_from_string("shutdown")->name, "shutdown");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_shutdown_plain),
                cmocka_unit_test(test_shutdown_stop_agents),
                cmocka_unit_test(test_shutdown_errors),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
