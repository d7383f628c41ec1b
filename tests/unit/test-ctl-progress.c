/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* descartesctl's progress line (client/ctl/ctl-progress.c): its text, cut to the terminal's width, and
 * nothing at all when stderr is not a terminal (a script's pipe or file). */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "ctl-progress.h"

static void test_format(void **state)
{
        char b[256];

        (void)state;
        ctl_progress_format(b, sizeof b, "stop", "hello", 0, 1, 80);
        assert_string_equal(b, "descartesctl: stop hello...");
        ctl_progress_format(b, sizeof b, "rm", "abc", 2, 10, 80);
        assert_string_equal(b, "descartesctl: rm abc (3/10)...");
        /* a narrow terminal: one column short of its width, never wrapped */
        ctl_progress_format(b, sizeof b, "stop", "0123456789abcdef0123456789", 0, 1, 30);
        assert_int_equal(strlen(b), 29);
        assert_memory_equal(b, "descartesctl: stop 0123456789", 29);
        ctl_progress_format(b, sizeof b, "stop", "0123456789abcdef0123456789", 0, 1, 3);
        assert_int_equal(strlen(b), 19);
}

static void test_not_a_terminal(void **state)
{
        int p[2], saved;
        char buf[64];

        (void)state;
        assert_int_equal(pipe2(p, O_NONBLOCK), 0);
        saved = dup(STDERR_FILENO);
        assert_true(saved >= 0);
        assert_int_equal(dup2(p[1], STDERR_FILENO), STDERR_FILENO);
        ctl_progress_set_position(4, 9);
        ctl_progress_show("stop", "hello");
        ctl_progress_clear();
        (void)fflush(stderr);
        assert_int_equal(dup2(saved, STDERR_FILENO), STDERR_FILENO);
        (void)close(saved);
        (void)close(p[1]);
        assert_int_equal(read(p[0], buf, sizeof buf), 0);
        (void)close(p[0]);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_format),
                cmocka_unit_test(test_not_a_terminal),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
