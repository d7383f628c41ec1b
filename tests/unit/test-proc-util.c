/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdbool.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>
#include <cmocka.h>

#include "proc-util.h"

static void test_meminfo(void **state)
{
        uint64_t total = 0, avail = 0;

        assert_int_equal(proc_parse_meminfo("MemTotal:       16316412 kB\nMemFree:  1 kB\n"
                                            "MemAvailable:   8000000 kB\n",
                                            &total, &avail),
                         0);
        assert_int_equal(total, 16316412ULL * 1024);
        assert_int_equal(avail, 8000000ULL * 1024);
        assert_int_equal(proc_parse_meminfo("MemTotal: 1 kB\n", &total, &avail), -ENOENT);
        assert_int_equal(proc_parse_meminfo("MemTotal: kB\nMemAvailable: 1 kB\n", &total, &avail), -EBADMSG);
        /* a key is matched whole, at the start of a line */
        assert_int_equal(proc_parse_meminfo("XMemTotal: 1 kB\nMemAvailable: 1 kB\n", &total, &avail),
                         -ENOENT);
        assert_int_equal(proc_read_meminfo(&total, &avail), 0);
        assert_true(total > 0 && avail <= total);
}

static void test_loadavg(void **state)
{
        double a, b, c;

        assert_int_equal(proc_parse_loadavg("0.52 0.58 0.59 1/467 12345\n", &a, &b, &c), 0);
        assert_true(a > 0.51 && a < 0.53 && b > 0.57 && b < 0.59 && c > 0.58 && c < 0.60);
        assert_int_equal(proc_parse_loadavg("x y z", &a, &b, &c), -EBADMSG);
        assert_int_equal(proc_parse_loadavg("1.0 2.0", &a, &b, &c), -EBADMSG);
        assert_int_equal(proc_read_loadavg(&a, &b, &c), 0);
        assert_true(a >= 0);
}

static void test_stat_start_ticks(void **state)
{
        uint64_t v = 0;

        assert_int_equal(
                proc_stat_parse_start_ticks("77 (a b) c) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 "
                                            "123456 20 21\n",
                                            &v),
                0);
        assert_int_equal(v, 123456);
        assert_int_equal(proc_stat_parse_start_ticks("77 (x) S 1 2 3", &v), -EBADMSG);
        assert_int_equal(proc_stat_parse_start_ticks("no parenthesis", &v), -EBADMSG);
        assert_int_equal(proc_pid_start_ticks(getpid(), &v), 0);
        assert_true(v > 0);
        assert_int_equal(proc_pid_start_ticks(-5, &v) < 0, true);
}

static void test_nspid(void **state)
{
        pid_t p = 0;

        assert_int_equal(
                proc_status_parse_nspid("Name:\tsh\nPid:\t4242\nNSpid:\t4242\t17\t2\nNSsid:\t1\n", &p), 0);
        assert_int_equal(p, 2);
        assert_int_equal(proc_status_parse_nspid("NSpid:\t99\n", &p), 0);
        assert_int_equal(p, 99);
        assert_int_equal(proc_status_parse_nspid("NSpid:\t5", &p), 0); /* no newline at the end */
        assert_int_equal(p, 5);
        assert_int_equal(proc_status_parse_nspid("Name:\tsh\nPid:\t1\n", &p), -ENOENT);
        assert_int_equal(proc_status_parse_nspid("NSpid:\t\nPid:\t1\n", &p), -EBADMSG);
        assert_int_equal(proc_status_parse_nspid("NSpid:\t12x\n", &p), -EBADMSG);
        /* a process not in a nested namespace: its own pid */
        assert_int_equal(proc_pid_nspid(getpid(), &p), 0);
        assert_int_equal(p, getpid());
        assert_int_equal(proc_pid_nspid(0, &p), -EINVAL);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_meminfo),
                cmocka_unit_test(test_loadavg),
                cmocka_unit_test(test_stat_start_ticks),
                cmocka_unit_test(test_nspid),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
