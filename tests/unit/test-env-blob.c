/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The agent's environment as a sealed memfd (sandbox/env-blob.h): export, read back, and every malformed or
 * unsealed blob refused. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "cleanup.h"
#include "env-blob-test-util.h"
#include "env-blob.h"
#include "fd-util.h"
#include "string-util.h"

static void test_round_trip(void **state)
{
        char *env[] = {(char *)"PATH=/usr/bin:/bin", (char *)"EMPTY=", (char *)"EQ=a=b=c",
                       (char *)"LD_PRELOAD=/x.so", NULL};
        _cleanup_strv_free_ char **back = NULL;
        _cleanup_close_ int fd = -EBADF;

        assert_int_equal(env_blob_export(env, &fd), 0);
        /* sealed for good: the shim may trust the size and bytes it reads */
        assert_int_equal(fcntl(fd, F_GET_SEALS), F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL);
        assert_int_equal(write(fd, "X", 1), -1);
        assert_int_equal(fcntl(fd, F_GETFD), FD_CLOEXEC);
        assert_int_equal(env_blob_read_fd(fd, &back), 0);
        assert_int_equal(strv_length(back), 4);
        for (size_t i = 0; i < 4; i++)
                assert_string_equal(back[i], env[i]);
}

static void test_empty(void **state)
{
        _cleanup_strv_free_ char **back = NULL, **back2 = NULL;
        _cleanup_close_ int fd = -EBADF, fd2 = -EBADF;

        assert_int_equal(env_blob_export(NULL, &fd), 0);
        assert_int_equal(env_blob_read_fd(fd, &back), 0);
        assert_non_null(back);
        assert_null(back[0]);
        assert_int_equal(env_blob_export((char *[]){NULL}, &fd2), 0);
        assert_int_equal(env_blob_read_fd(fd2, &back2), 0);
        assert_null(back2[0]);
}

static void test_export_refuses(void **state)
{
        int fd = -EBADF;

        assert_int_equal(env_blob_export((char *[]){(char *)"NOEQUALS", NULL}, &fd), -EINVAL);
        assert_int_equal(env_blob_export((char *[]){(char *)"=value", NULL}, &fd), -EINVAL);
        assert_int_equal(env_blob_export((char *[]){(char *)"A=1", (char *)"", NULL}, &fd), -EINVAL);
        assert_int_equal(fd, -EBADF);
}

static void test_export_bounds(void **state)
{
        _cleanup_strv_free_ char **many = calloc(ENV_BLOB_ENTRIES_MAX + 2, sizeof(char *));
        _cleanup_free_ char *big = malloc(ENV_BLOB_SIZE_MAX + 1);
        _cleanup_strv_free_ char **back = NULL;
        int fd = -EBADF;

        assert_non_null(many);
        for (size_t i = 0; i < ENV_BLOB_ENTRIES_MAX; i++)
                assert_true(asprintf_safe(&many[i], "V%zu=%zu", i, i) >= 0);
        /* exactly the maximum passes, one more does not */
        assert_int_equal(env_blob_export(many, &fd), 0);
        assert_int_equal(env_blob_read_fd(fd, &back), 0);
        assert_int_equal(strv_length(back), ENV_BLOB_ENTRIES_MAX);
        fd = safe_close(fd);
        assert_non_null(many[ENV_BLOB_ENTRIES_MAX] = strdup("ONE=more"));
        assert_int_equal(env_blob_export(many, &fd), -E2BIG);

        /* "B=" + value + NUL: the largest value that fits, and one byte more */
        assert_non_null(big);
        memset(big, 'x', ENV_BLOB_SIZE_MAX);
        memcpy(big, "B=", 2);
        big[ENV_BLOB_SIZE_MAX - 1] = 0;
        assert_int_equal(env_blob_export((char *[]){big, NULL}, &fd), 0);
        fd = safe_close(fd);
        big[ENV_BLOB_SIZE_MAX - 1] = 'x';
        big[ENV_BLOB_SIZE_MAX] = 0;
        assert_int_equal(env_blob_export((char *[]){big, NULL}, &fd), -E2BIG);
}

static void test_parse_malformed(void **state)
{
        static const struct {
                const char *data;
                size_t n;
        } bad[] = {
                {"A=1", 3},        /* not terminated */
                {"A=1\0B", 5},     /* trailing garbage */
                {"=x\0", 3},       /* empty key */
                {"NOEQUALS\0", 9}, /* no '=' */
                {"A=1\0\0", 5},    /* an empty entry */
                {"\0", 1},         /* only an empty entry */
                {"A=1\0=\0", 6},   /* an empty key after a good entry */
                {"A\0=1\0", 5},    /* the '=' of the next entry does not count */
        };

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                char **l = NULL;
                _cleanup_close_ int fd = env_blob_test_memfd(bad[i].data, bad[i].n, true);

                assert_int_equal(env_blob_parse(bad[i].data, bad[i].n, &l), -EBADMSG);
                assert_null(l);
                assert_int_equal(env_blob_read_fd(fd, &l), -EBADMSG);
                assert_null(l);
        }
}

static void test_parse_too_many(void **state)
{
        size_t n = (ENV_BLOB_ENTRIES_MAX + 1) * 4;
        _cleanup_free_ char *data = malloc(n);
        char **l = NULL;

        assert_non_null(data);
        for (size_t i = 0; i < n; i += 4)
                memcpy(data + i, "A=1", 4);
        assert_int_equal(env_blob_parse(data, n, &l), -E2BIG);
        assert_int_equal(env_blob_parse(data, ENV_BLOB_SIZE_MAX + 1, &l), -E2BIG);
        assert_null(l);
}

static void test_read_refuses(void **state)
{
        _cleanup_close_ int unsealed = env_blob_test_memfd("A=1", 4, false);
        _cleanup_close_pair_ int p[2] = {-EBADF, -EBADF};
        char **l = NULL;

        /* an fd that someone could still change, or no memfd at all */
        assert_int_equal(env_blob_read_fd(unsealed, &l), -EPERM);
        assert_int_equal(pipe2(p, O_CLOEXEC), 0);
        assert_int_equal(env_blob_read_fd(p[0], &l), -EPERM);
        assert_int_equal(env_blob_read_fd(-EBADF, &l), -EBADF);
        assert_null(l);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_round_trip),      cmocka_unit_test(test_empty),
                cmocka_unit_test(test_export_refuses),  cmocka_unit_test(test_export_bounds),
                cmocka_unit_test(test_parse_malformed), cmocka_unit_test(test_parse_too_many),
                cmocka_unit_test(test_read_refuses),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
