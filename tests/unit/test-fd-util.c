/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* write_file_exchange_at(): the file is replaced whole, the spare is the previous content, and after the
 * second write no new inode is made (the two swap). */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "fd-util.h"

static void assert_content(int dfd, const char *name, const char *want)
{
        char *got = NULL;
        size_t size = 0;

        assert_int_equal(read_file_at(dfd, name, 4096, &got, &size), 0);
        assert_int_equal(size, strlen(want));
        assert_memory_equal(got, want, size);
        free(got);
}

static ino_t inode_of(int dfd, const char *name)
{
        struct stat st;

        assert_int_equal(fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW), 0);
        return st.st_ino;
}

static void test_exchange(void **state)
{
        char dir[] = "/tmp/test-fd-util.XXXXXX";
        struct stat st;
        ino_t first, second;
        int dfd;

        (void)state;
        assert_non_null(mkdtemp(dir));
        dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(dfd >= 0);

        /* no file yet: the spare is renamed into place, none is left */
        assert_int_equal(write_file_exchange_at(dfd, "f", "f.spare", "one", 3, 0600), 0);
        assert_content(dfd, "f", "one");
        assert_int_equal(fstatat(dfd, "f.spare", &st, AT_SYMLINK_NOFOLLOW), -1);
        assert_int_equal(fstatat(dfd, "f", &st, AT_SYMLINK_NOFOLLOW), 0);
        assert_int_equal(st.st_mode & 07777, 0600);
        first = st.st_ino;

        /* the second write makes the spare; the old content is in it */
        assert_int_equal(write_file_exchange_at(dfd, "f", "f.spare", "second", 6, 0600), 0);
        assert_content(dfd, "f", "second");
        assert_content(dfd, "f.spare", "one");
        assert_true(inode_of(dfd, "f.spare") == first);
        second = inode_of(dfd, "f");

        /* from then on the two inodes swap: a shorter content is not followed by the old one's tail */
        assert_int_equal(write_file_exchange_at(dfd, "f", "f.spare", "3", 1, 0600), 0);
        assert_content(dfd, "f", "3");
        assert_content(dfd, "f.spare", "second");
        assert_true(inode_of(dfd, "f") == first);
        assert_true(inode_of(dfd, "f.spare") == second);

        assert_int_equal(unlinkat(dfd, "f", 0), 0);
        assert_int_equal(unlinkat(dfd, "f.spare", 0), 0);
        close(dfd);
        assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_exchange),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
