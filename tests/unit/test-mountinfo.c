/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <cmocka.h>

#include "mount-util.h"
#include "mountinfo.h"

static void test_parse_line(void **state)
{
        static const char line[] =
                "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue";
        MountInfo m = {};

        assert_int_equal(mountinfo_parse_line(line, strlen(line), &m), 0);
        assert_int_equal(m.id, 36);
        assert_int_equal(m.parent_id, 35);
        assert_int_equal(m.major, 98);
        assert_int_equal(m.minor, 0);
        assert_string_equal(m.root, "/mnt1");
        assert_string_equal(m.mount_point, "/mnt2");
        assert_string_equal(m.options, "rw,noatime");
        assert_string_equal(m.fstype, "ext3");
        assert_string_equal(m.source, "/dev/root");
        assert_string_equal(m.super_options, "rw,errors=continue");
        mount_info_done(&m);
        assert_null(m.root);
}

static void test_parse_escapes_and_optional_fields(void **state)
{
        static const char line[] =
                "501 27 0:52 /sub\\134dir /var/my\\040mount\\011x ro,nosuid shared:7 master:3 "
                "propagate_from:2 unbindable - fuse.my\\040fs server\\072/x\\134 rw\n";
        MountInfo m = {};

        assert_int_equal(mountinfo_parse_line(line, strlen(line), &m), 0);
        assert_string_equal(m.root, "/sub\\dir");
        assert_string_equal(m.mount_point, "/var/my mount\tx");
        assert_string_equal(m.fstype, "fuse.my fs");
        /* \072 is ':' (not one the kernel escapes, but decoded all the same); \134 is a backslash. */
        assert_string_equal(m.source, "server:/x\\");
        assert_string_equal(m.options, "ro,nosuid");
        mount_info_done(&m);

        /* The kernel escapes every backslash, so one that does not start a three-digit octal escape, a
         * truncated escape, and an escape of NUL are malformed. */
        static const char *const odd[] = {
                "1 0 0:1 / /a\\9b rw - tmpfs t rw",
                "1 0 0:1 / /a\\04 rw - tmpfs t rw",
                "1 0 0:1 / /a\\000b rw - tmpfs t rw",
                "1 0 0:1 / /a rw - tmpfs t\\ rw",
        };
        for (size_t i = 0; i < ELEMENTSOF(odd); i++)
                assert_int_equal(mountinfo_parse_line(odd[i], strlen(odd[i]), &m), -EBADMSG);

        /* a namespace file bind-mounted by ip netns add: its root is "net:[INODE]", only for nsfs */
        static const char nsfs[] = "86 45 0:4 net:[4026532314] /run/netns/t1 rw shared:2 - nsfs nsfs rw\n";
        assert_int_equal(mountinfo_parse_line(nsfs, strlen(nsfs), &m), 0);
        assert_string_equal(m.root, "net:[4026532314]");
        assert_string_equal(m.mount_point, "/run/netns/t1");
        mount_info_done(&m);
        static const char *const not_nsfs[] = {
                "86 45 0:4 net:[4026532314] /run/netns/t1 rw - tmpfs nsfs rw",
                "86 45 0:4 net:[] /run/netns/t1 rw - nsfs nsfs rw",
                "86 45 0:4 net:[40x] /run/netns/t1 rw - nsfs nsfs rw",
                "86 45 0:4 :[4] /run/netns/t1 rw - nsfs nsfs rw",
        };
        for (size_t i = 0; i < ELEMENTSOF(not_nsfs); i++)
                assert_int_equal(mountinfo_parse_line(not_nsfs[i], strlen(not_nsfs[i]), &m), -EBADMSG);
}

static void test_parse_malformed(void **state)
{
        static const char *const bad[] = {
                "",
                "36",
                "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 ext3 /dev/root rw", /* no separator */
                "36 35 98:0 /mnt1 /mnt2 rw,noatime - ext3 /dev/root",           /* no super options */
                "36 35 98:0 /mnt1 /mnt2 rw,noatime - ext3 /dev/root rw extra",  /* one field too many */
                "x 35 98:0 /mnt1 /mnt2 rw - ext3 /dev/root rw",                 /* id not a number */
                "36 35 98-0 /mnt1 /mnt2 rw - ext3 /dev/root rw",                /* bad device */
                "36 35 98:0 mnt1 /mnt2 rw - ext3 /dev/root rw",                 /* relative root */
                "36 35 98:0 /mnt1 mnt2 rw - ext3 /dev/root rw",                 /* relative mount point */
                "36  35 98:0 /mnt1 /mnt2 rw - ext3 /dev/root rw",               /* empty field */
                "99999999999 35 98:0 /mnt1 /mnt2 rw - ext3 /dev/root rw",       /* id overflows */
                "36 35 98:0 /mnt1 /mnt2 rw - ext3 /dev/root rw ",               /* trailing space */
        };
        MountInfo m = {};

        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
                print_message("malformed: \"%s\"\n", bad[i]);
                assert_int_equal(mountinfo_parse_line(bad[i], strlen(bad[i]), &m), -EBADMSG);
                assert_null(m.mount_point);
        }

        /* An embedded NUL inside the given length is refused too. */
        static const char withnul[] = "36 35 98:0 /mnt1 /mn\0t2 rw - ext3 /dev/root rw";
        assert_int_equal(mountinfo_parse_line(withnul, sizeof withnul - 1, &m), -EBADMSG);
}

static void test_parse_table(void **state)
{
        static const char text[] =
                "22 1 259:2 / / rw,relatime shared:1 - ext4 /dev/nvme0n1p2 rw\n"
                "\n"
                "23 22 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw\n"
                "24 22 0:22 / /sys ro,nosuid,nodev,noexec - sysfs sysfs rw";
        MountInfoTable t = {};

        assert_int_equal(mountinfo_parse(text, &t), 0);
        assert_int_equal(t.n, 3);
        assert_string_equal(t.entries[0].mount_point, "/");
        assert_string_equal(t.entries[1].mount_point, "/proc");
        assert_string_equal(t.entries[2].mount_point, "/sys");
        assert_int_equal(t.entries[2].parent_id, 22);
        mountinfo_table_done(&t);
        assert_int_equal(t.n, 0);

        assert_int_equal(mountinfo_parse("", &t), 0);
        assert_int_equal(t.n, 0);
        mountinfo_table_done(&t);

        assert_int_equal(mountinfo_parse("22 1 259:2 / / rw - ext4 /dev/x rw\ngarbage\n", &t), -EBADMSG);
        assert_int_equal(t.n, 0);
}

static void test_parse_table_bound(void **state)
{
        static const char line[] = "1 0 0:1 / /x rw - tmpfs t rw\n";
        size_t n = MOUNTINFO_ENTRIES_MAX + 1, l = strlen(line);
        char *text = malloc(n * l + 1);
        MountInfoTable t = {};

        assert_non_null(text);
        for (size_t i = 0; i < n; i++)
                memcpy(text + i * l, line, l);
        text[n * l] = '\0';
        assert_int_equal(mountinfo_parse(text, &t), -E2BIG);
        assert_int_equal(t.n, 0);
        free(text);
}

static void test_read_self(void **state)
{
        MountInfoTable t = {};
        bool root = false;

        /* The live file must parse completely, whatever this host mounts. */
        assert_int_equal(mountinfo_read(&t), 0);
        assert_true(t.n > 0);
        for (size_t i = 0; i < t.n; i++)
                if (strcmp(t.entries[i].mount_point, "/") == 0)
                        root = true;
        assert_true(root);
        mountinfo_table_done(&t);
}

static void test_options_to_flags(void **state)
{
        assert_int_equal(mountinfo_options_to_flags("rw,relatime"), MS_RELATIME);
        assert_int_equal(mountinfo_options_to_flags("ro,nosuid,nodev,noexec,noatime"),
                         MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME);
        assert_int_equal(mountinfo_options_to_flags("rw,nosuidx,xnodev,strictatime,nodiratime"),
                         MS_STRICTATIME | MS_NODIRATIME);
        assert_int_equal(mountinfo_options_to_flags(""), 0);
        assert_int_equal(mountinfo_options_to_flags(NULL), 0);
}

static void test_path_helpers(void **state)
{
        assert_true(path_is_at_or_below("/a/b", "/a/b"));
        assert_true(path_is_at_or_below("/a/b/c", "/a/b"));
        assert_false(path_is_at_or_below("/a/bc", "/a/b"));
        assert_false(path_is_at_or_below("/a", "/a/b"));
        assert_true(path_is_at_or_below("/x", "/"));
        assert_true(path_is_at_or_below("/", "/"));

        assert_true(path_is_normalized_absolute("/"));
        assert_true(path_is_normalized_absolute("/var/lib/x.y/..z"));
        assert_false(path_is_normalized_absolute(""));
        assert_false(path_is_normalized_absolute("var"));
        assert_false(path_is_normalized_absolute("/var/"));
        assert_false(path_is_normalized_absolute("/var//lib"));
        assert_false(path_is_normalized_absolute("/var/./lib"));
        assert_false(path_is_normalized_absolute("/var/.."));
        assert_false(path_is_normalized_absolute(NULL));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse_line),
                cmocka_unit_test(test_parse_escapes_and_optional_fields),
                cmocka_unit_test(test_parse_malformed),
                cmocka_unit_test(test_parse_table),
                cmocka_unit_test(test_parse_table_bound),
                cmocka_unit_test(test_read_self),
                cmocka_unit_test(test_options_to_flags),
                cmocka_unit_test(test_path_helpers),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
