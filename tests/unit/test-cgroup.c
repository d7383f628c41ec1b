/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "cgroup-fs.h"
#include "fd-util.h"
#include "string-util.h"

static char *mfree(char *p)
{
        free(p);
        return NULL;
}

/* ---- parsers on literal samples ---- */

static const char mountinfo_pure[] =
        "22 1 259:2 / / rw,relatime shared:1 - ext4 /dev/nvme0n1p2 rw\n"
        "23 22 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw\n"
        "24 22 0:22 / /sys rw,nosuid,nodev,noexec,relatime shared:2 - sysfs sysfs rw\n"
        "26 24 0:24 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 "
        "rw,nsdelegate,memory_recursiveprot\n"
        "27 24 0:25 / /sys/fs/pstore rw,nosuid,nodev,noexec,relatime shared:5 - pstore pstore rw\n";

static const char mountinfo_hybrid[] =
        "27 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard\n"
        "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
        "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
        "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
        "39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n"
        "40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd\n"
        "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";

static void test_parse_mountinfo(void **state)
{
        char *m = NULL;

        assert_int_equal(cgroup_parse_mountinfo(mountinfo_pure, &m, NULL), 0);
        assert_string_equal(m, "/sys/fs/cgroup");
        free(m);
        m = NULL;

        assert_int_equal(cgroup_parse_mountinfo(mountinfo_hybrid, &m, NULL), 0);
        assert_string_equal(m, "/sys/fs/cgroup/unified");
        free(m);
        m = NULL;

        /* Escaped space and tab in the mount point, no optional fields, no trailing newline. */
        assert_int_equal(cgroup_parse_mountinfo("50 22 0:40 / /mnt/my\\040cgroup\\011x rw - cgroup2 none rw",
                                                &m, NULL),
                         0);
        assert_string_equal(m, "/mnt/my cgroup\tx");
        free(m);
        m = NULL;
        assert_int_equal(
                cgroup_parse_mountinfo("50 22 0:40 / /mnt/back\\134slash rw shared:1 master:2 - cgroup2 "
                                       "cgroup2 rw\n",
                                       &m, NULL),
                0);
        assert_string_equal(m, "/mnt/back\\slash");
        free(m);
        m = NULL;

        /* Preference: /sys/fs/cgroup over another cgroup2 mount listed first. */
        assert_int_equal(cgroup_parse_mountinfo("60 22 0:40 / /run/other rw - cgroup2 cgroup2 rw\n"
                                                "61 22 0:40 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n",
                                                &m, NULL),
                         0);
        assert_string_equal(m, "/sys/fs/cgroup");
        free(m);
        m = NULL;
        assert_int_equal(cgroup_parse_mountinfo("60 22 0:40 / /run/a rw - cgroup2 cgroup2 rw\n"
                                                "61 22 0:40 / /run/b rw - cgroup2 cgroup2 rw\n",
                                                &m, NULL),
                         0);
        assert_string_equal(m, "/run/a");
        free(m);
        m = NULL;

        /* A file system named like a separator in the optional fields does not confuse the fstype. */
        assert_int_equal(cgroup_parse_mountinfo("62 22 0:40 / /x rw - tmpfs cgroup2 rw\n", &m, NULL),
                         -ENOENT);

        assert_int_equal(cgroup_parse_mountinfo("", &m, NULL), -ENOENT);
        assert_int_equal(cgroup_parse_mountinfo("\n\n", &m, NULL), -ENOENT);
        assert_int_equal(cgroup_parse_mountinfo("27 1 254:0 / / rw - ext4 /dev/vda rw\n", &m, NULL),
                         -ENOENT);
        assert_int_equal(cgroup_parse_mountinfo("garbage\n", &m, NULL), -EBADMSG);
        assert_int_equal(cgroup_parse_mountinfo("1 2 3:4 / /x rw shared:1 cgroup2 cgroup2 rw\n", &m, NULL),
                         -EBADMSG);
        assert_int_equal(cgroup_parse_mountinfo("1 2 3:4 / /x rw -\n", &m, NULL), -EBADMSG);
        assert_int_equal(cgroup_parse_mountinfo("1 2 3:4 / /a\\04 rw - cgroup2 c rw\n", &m, NULL), -EBADMSG);
        assert_int_equal(cgroup_parse_mountinfo("1 2 3:4 / /a\\09x rw - cgroup2 c rw\n", &m, NULL),
                         -EBADMSG);
        assert_int_equal(cgroup_parse_mountinfo("1 2 3:4 / /a\\000 rw - cgroup2 c rw\n", &m, NULL),
                         -EBADMSG);
        assert_int_equal(cgroup_parse_mountinfo("1 2 3:4 / rel rw - cgroup2 c rw\n", &m, NULL), -EBADMSG);
        assert_int_equal(cgroup_parse_mountinfo(NULL, &m, NULL), -EINVAL);
        assert_null(m);
}

static void test_mount_root_and_path(void **state)
{
        char *m = NULL, *root = NULL, *p = NULL;

        assert_int_equal(cgroup_parse_mountinfo(mountinfo_pure, &m, &root), 0);
        assert_string_equal(m, "/sys/fs/cgroup");
        assert_string_equal(root, "/");
        free(m);
        free(root);
        /* A container without its own cgroup namespace sees its subtree bind-mounted. */
        assert_int_equal(
                cgroup_parse_mountinfo("1270 1262 0:26 /docker/ab\\040c /sys/fs/cgroup ro,nosuid - cgroup2 "
                                       "cgroup rw,nsdelegate\n",
                                       &m, &root),
                0);
        assert_string_equal(m, "/sys/fs/cgroup");
        assert_string_equal(root, "/docker/ab c");
        free(m);
        free(root);

        assert_int_equal(cgroup_path_in_mount("/sys/fs/cgroup", "/", "/system.slice/d.service", &p), 0);
        assert_string_equal(p, "/sys/fs/cgroup/system.slice/d.service");
        free(p);
        assert_int_equal(cgroup_path_in_mount("/sys/fs/cgroup/unified", "/", "/", &p), 0);
        assert_string_equal(p, "/sys/fs/cgroup/unified");
        free(p);
        assert_int_equal(cgroup_path_in_mount("/sys/fs/cgroup", "/docker/abc", "/docker/abc", &p), 0);
        assert_string_equal(p, "/sys/fs/cgroup");
        free(p);
        assert_int_equal(cgroup_path_in_mount("/sys/fs/cgroup", "/docker/abc", "/docker/abc/sub", &p), 0);
        assert_string_equal(p, "/sys/fs/cgroup/sub");
        free(p);
        p = NULL;
        assert_int_equal(cgroup_path_in_mount("/sys/fs/cgroup", "/docker/abc", "/docker/abcd", &p), -ENOENT);
        assert_int_equal(cgroup_path_in_mount("/sys/fs/cgroup", "/docker/abc", "/other", &p), -ENOENT);
        assert_int_equal(cgroup_path_in_mount("/sys/fs/cgroup", "/", "relative", &p), -EINVAL);
        assert_int_equal(cgroup_path_in_mount("cgroup", "/", "/a", &p), -EINVAL);
        assert_null(p);
}

static void test_parse_proc_self_cgroup(void **state)
{
        static const char hybrid[] = "9:name=systemd:/\n8:pids:/\n4:memory:/process_api/06d1\n1:cpu:/\n"
                                     "0::/user.slice/session-2.scope\n";
        char *p = NULL;

        assert_int_equal(cgroup_parse_proc_self_cgroup(hybrid, &p), 0);
        assert_string_equal(p, "/user.slice/session-2.scope");
        free(p);
        p = NULL;
        assert_int_equal(cgroup_parse_proc_self_cgroup("0::/system.slice/descartesd.service\n", &p), 0);
        assert_string_equal(p, "/system.slice/descartesd.service");
        free(p);
        p = NULL;
        assert_int_equal(cgroup_parse_proc_self_cgroup("0::/\n", &p), 0);
        assert_string_equal(p, "/");
        free(p);
        p = NULL;
        assert_int_equal(cgroup_parse_proc_self_cgroup("0::/with space/x..y", &p), 0);
        assert_string_equal(p, "/with space/x..y");
        free(p);
        p = NULL;

        assert_int_equal(cgroup_parse_proc_self_cgroup("", &p), -ENOENT);
        assert_int_equal(cgroup_parse_proc_self_cgroup("4:memory:/a\n1:cpu:/\n", &p), -ENOENT);
        assert_int_equal(cgroup_parse_proc_self_cgroup("10::/a\n", &p), -ENOENT);
        assert_int_equal(cgroup_parse_proc_self_cgroup("0::\n", &p), -EBADMSG);
        assert_int_equal(cgroup_parse_proc_self_cgroup("0::relative\n", &p), -EBADMSG);
        assert_int_equal(cgroup_parse_proc_self_cgroup("0::/../..\n", &p), -EBADMSG);
        assert_int_equal(cgroup_parse_proc_self_cgroup("0::/a/..\n", &p), -EBADMSG);
        assert_int_equal(cgroup_parse_proc_self_cgroup("0::/a (deleted)\n", &p), -EBADMSG);
        assert_int_equal(cgroup_parse_proc_self_cgroup(NULL, &p), -EINVAL);
        assert_null(p);
}

static void test_parse_keyed(void **state)
{
        static const char events[] = "populated 1\nfrozen 0\n";
        static const char memory_events[] = "low 0\nhigh 12\nmax 3\noom 2\noom_kill 1\noom_group_kill 0\n";
        static const char cpu_stat[] = "usage_usec 123456\nuser_usec 100000\nsystem_usec 23456\n"
                                       "core_sched.force_idle_usec 0";
        uint64_t v = 7;

        assert_int_equal(cgroup_parse_keyed(events, "populated", &v), 0);
        assert_int_equal(v, 1);
        assert_int_equal(cgroup_parse_keyed(events, "frozen", &v), 0);
        assert_int_equal(v, 0);
        assert_int_equal(cgroup_parse_keyed(memory_events, "oom", &v), 0);
        assert_int_equal(v, 2);
        assert_int_equal(cgroup_parse_keyed(memory_events, "oom_kill", &v), 0);
        assert_int_equal(v, 1);
        assert_int_equal(cgroup_parse_keyed(memory_events, "max", &v), 0);
        assert_int_equal(v, 3);
        assert_int_equal(cgroup_parse_keyed(memory_events, "high", &v), 0);
        assert_int_equal(v, 12);
        assert_int_equal(cgroup_parse_keyed(cpu_stat, "usage_usec", &v), 0);
        assert_int_equal(v, 123456);
        assert_int_equal(cgroup_parse_keyed(cpu_stat, "system_usec", &v), 0);
        assert_int_equal(v, 23456);
        assert_int_equal(cgroup_parse_keyed(cpu_stat, "core_sched.force_idle_usec", &v), 0);
        assert_int_equal(v, 0);
        assert_int_equal(cgroup_parse_keyed("max 18446744073709551615\n", "max", &v), 0);
        assert_int_equal(v, UINT64_MAX);
        assert_int_equal(cgroup_parse_keyed("limit max\n", "limit", &v), 0);
        assert_int_equal(v, UINT64_MAX);

        v = 7;
        assert_int_equal(cgroup_parse_keyed(events, "popul", &v), -ENOENT);
        assert_int_equal(cgroup_parse_keyed(events, "populated 1", &v), -EINVAL);
        assert_int_equal(cgroup_parse_keyed(memory_events, "oom_group", &v), -ENOENT);
        assert_int_equal(cgroup_parse_keyed("", "populated", &v), -ENOENT);
        assert_int_equal(cgroup_parse_keyed(events, "", &v), -EINVAL);
        assert_int_equal(cgroup_parse_keyed("populated\n", "populated", &v), -ENOENT);
        assert_int_equal(cgroup_parse_keyed("populated \n", "populated", &v), -EBADMSG);
        assert_int_equal(cgroup_parse_keyed("populated x\n", "populated", &v), -EBADMSG);
        assert_int_equal(cgroup_parse_keyed("populated -1\n", "populated", &v), -EBADMSG);
        assert_int_equal(cgroup_parse_keyed("populated 1 2\n", "populated", &v), -EBADMSG);
        assert_int_equal(cgroup_parse_keyed("populated 0x1\n", "populated", &v), -EBADMSG);
        assert_int_equal(cgroup_parse_keyed("max 18446744073709551616\n", "max", &v), -ERANGE);
        assert_int_equal(cgroup_parse_keyed(NULL, "max", &v), -EINVAL);
        assert_int_equal(v, 7);
}

static void test_parse_value_and_controllers(void **state)
{
        CgroupMask m = 0;
        uint64_t v = 7;

        assert_int_equal(cgroup_parse_value("4096\n", &v), 0);
        assert_int_equal(v, 4096);
        assert_int_equal(cgroup_parse_value("0", &v), 0);
        assert_int_equal(v, 0);
        assert_int_equal(cgroup_parse_value("max\n", &v), 0);
        assert_int_equal(v, UINT64_MAX);
        v = 7;
        assert_int_equal(cgroup_parse_value("", &v), -EBADMSG);
        assert_int_equal(cgroup_parse_value("\n", &v), -EBADMSG);
        assert_int_equal(cgroup_parse_value("12 \n", &v), -EBADMSG);
        assert_int_equal(cgroup_parse_value("12\n\n", &v), -EBADMSG);
        assert_int_equal(cgroup_parse_value("maximum", &v), -EBADMSG);
        assert_int_equal(cgroup_parse_value("-1", &v), -EBADMSG);
        assert_int_equal(v, 7);

        assert_int_equal(cgroup_parse_controllers("cpuset cpu io memory hugetlb pids rdma misc\n", &m), 0);
        assert_int_equal(m, CGROUP_MASK_ALL);
        assert_int_equal(cgroup_parse_controllers("hugetlb\n", &m), 0);
        assert_int_equal(m, 0);
        assert_int_equal(cgroup_parse_controllers("", &m), 0);
        assert_int_equal(m, 0);
        assert_int_equal(cgroup_parse_controllers("memory pids", &m), 0);
        assert_int_equal(m, CGROUP_MASK(CGROUP_CONTROLLER_MEMORY) | CGROUP_MASK(CGROUP_CONTROLLER_PIDS));
        assert_int_equal(cgroup_parse_controllers("cpuset cpuacct memoryx", &m), 0);
        assert_int_equal(m, 0);
}

static void test_controller_names(void **state)
{
        char buf[CGROUP_SUBTREE_CONTROL_MAX];

        for (CgroupController c = 0; c < _CGROUP_CONTROLLER_MAX; c++)
                assert_int_equal(cgroup_controller_from_string(cgroup_controller_to_string(c)), c);
        assert_int_equal(cgroup_controller_from_string("cpuset"), _CGROUP_CONTROLLER_INVALID);
        assert_int_equal(cgroup_controller_from_string(NULL), _CGROUP_CONTROLLER_INVALID);
        assert_null(cgroup_controller_to_string(_CGROUP_CONTROLLER_MAX));
        for (CgroupPart p = 0; p < _CGROUP_PART_MAX; p++)
                assert_int_equal(cgroup_part_from_string(cgroup_part_to_string(p)), p);
        assert_int_equal(cgroup_part_from_string("tenant"), _CGROUP_PART_INVALID);

        assert_int_equal(cgroup_mask_to_subtree_control(CGROUP_MASK_ALL, buf, sizeof buf), 0);
        assert_string_equal(buf, "+cpu +memory +pids +io");
        assert_int_equal(
                cgroup_mask_to_subtree_control(CGROUP_MASK(CGROUP_CONTROLLER_PIDS), buf, sizeof buf), 0);
        assert_string_equal(buf, "+pids");
        assert_int_equal(cgroup_mask_to_subtree_control(0, buf, sizeof buf), 0);
        assert_string_equal(buf, "");
        assert_int_equal(cgroup_mask_to_subtree_control(CGROUP_MASK_ALL, buf, 10), -ENOBUFS);

        assert_true(cgroup_name_is_valid("u1000"));
        assert_true(cgroup_name_is_valid("3f2a9c1e-5b6d-4e7f-8a9b-0c1d2e3f4a5b"));
        assert_true(cgroup_name_is_valid("A_b-9"));
        assert_false(cgroup_name_is_valid(""));
        assert_false(cgroup_name_is_valid(NULL));
        assert_false(cgroup_name_is_valid("cgroup.procs"));
        assert_false(cgroup_name_is_valid(".."));
        assert_false(cgroup_name_is_valid("a/b"));
        assert_false(cgroup_name_is_valid("a b"));
        assert_false(cgroup_name_is_valid("a\n"));
        assert_true(
                cgroup_name_is_valid("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
        assert_false(
                cgroup_name_is_valid("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
}

static void test_limits_format_and_check(void **state)
{
        char buf[CGROUP_FORMAT_MAX];
        CgroupLimits l = CGROUP_LIMITS_UNSET;
        const char *missing = NULL;

        assert_int_equal(cgroup_format_cpu_max(500, buf, sizeof buf), 0);
        assert_string_equal(buf, "50000 100000");
        assert_int_equal(cgroup_format_cpu_max(1500, buf, sizeof buf), 0);
        assert_string_equal(buf, "150000 100000");
        assert_int_equal(cgroup_format_cpu_max(2000, buf, sizeof buf), 0);
        assert_string_equal(buf, "200000 100000");
        assert_int_equal(cgroup_format_cpu_max(10, buf, sizeof buf), 0);
        assert_string_equal(buf, "1000 100000");
        assert_int_equal(cgroup_format_cpu_max(CGROUP_LIMIT_INFINITY, buf, sizeof buf), 0);
        assert_string_equal(buf, "max 100000");
        assert_int_equal(cgroup_format_cpu_max(9, buf, sizeof buf), -ERANGE);
        assert_int_equal(cgroup_format_cpu_max(0, buf, sizeof buf), -EINVAL);
        assert_int_equal(cgroup_format_cpu_max(CGROUP_LIMIT_UNSET, buf, sizeof buf), -EINVAL);
        assert_int_equal(cgroup_format_cpu_max(UINT64_MAX / 50, buf, sizeof buf), -ERANGE);
        assert_int_equal(cgroup_format_cpu_max(500, buf, 12), -ENOBUFS);

        assert_int_equal(cgroup_format_limit(536870912, buf, sizeof buf), 0);
        assert_string_equal(buf, "536870912");
        assert_int_equal(cgroup_format_limit(0, buf, sizeof buf), 0);
        assert_string_equal(buf, "0");
        assert_int_equal(cgroup_format_limit(CGROUP_LIMIT_INFINITY, buf, sizeof buf), 0);
        assert_string_equal(buf, "max");
        assert_int_equal(cgroup_format_limit(CGROUP_LIMIT_UNSET, buf, sizeof buf), -EINVAL);

        assert_int_equal(cgroup_limits_required(&l), 0);
        assert_int_equal(cgroup_limits_check(&l, 0, &missing), 0);
        assert_null(missing);

        l.memory_swap_max = 0;
        assert_int_equal(cgroup_limits_required(&l), CGROUP_MASK(CGROUP_CONTROLLER_MEMORY));
        assert_int_equal(cgroup_limits_check(&l, CGROUP_MASK(CGROUP_CONTROLLER_CPU), &missing), -EOPNOTSUPP);
        assert_string_equal(missing, "memory");

        l = CGROUP_LIMITS_UNSET;
        l.cpu_millicpus = 500;
        l.pids_max = 64;
        missing = NULL;
        assert_int_equal(cgroup_limits_check(&l, CGROUP_MASK(CGROUP_CONTROLLER_CPU), &missing), -EOPNOTSUPP);
        assert_string_equal(missing, "pids");
        assert_int_equal(cgroup_limits_check(&l, 0, &missing), -EOPNOTSUPP);
        assert_string_equal(missing, "cpu");
        assert_int_equal(cgroup_limits_check(&l, 0, NULL), -EOPNOTSUPP);
        missing = NULL;
        assert_int_equal(
                cgroup_limits_check(&l, CGROUP_MASK_ALL & ~CGROUP_MASK(CGROUP_CONTROLLER_MEMORY), &missing),
                0);
        assert_null(missing);

        l.memory_max = CGROUP_LIMIT_INFINITY; /* writing "max" needs the file, hence the controller */
        assert_int_equal(
                cgroup_limits_check(&l,
                                    CGROUP_MASK(CGROUP_CONTROLLER_CPU) | CGROUP_MASK(CGROUP_CONTROLLER_PIDS),
                                    &missing),
                -EOPNOTSUPP);
        assert_string_equal(missing, "memory");
}

static void test_parse_procs_and_names(void **state)
{
        pid_t *pids = NULL;
        size_t n = 7;

        assert_int_equal(cgroup_parse_procs("", &pids, &n), 0);
        assert_null(pids);
        assert_int_equal(n, 0);
        assert_int_equal(cgroup_parse_procs("12\n4242\n1\n", &pids, &n), 0);
        assert_int_equal(n, 3);
        assert_int_equal(pids[0], 12);
        assert_int_equal(pids[1], 4242);
        assert_int_equal(pids[2], 1);
        free(pids);
        pids = NULL;
        assert_int_equal(cgroup_parse_procs("7", &pids, &n), 0); /* no newline at the end */
        assert_int_equal(n, 1);
        assert_int_equal(pids[0], 7);
        free(pids);
        pids = NULL;
        assert_int_equal(cgroup_parse_procs("12\nx\n", &pids, &n), -EBADMSG);
        assert_int_equal(cgroup_parse_procs("0\n", &pids, &n), -EBADMSG);
        assert_int_equal(cgroup_parse_procs("max\n", &pids, &n), -EBADMSG);
        assert_int_equal(cgroup_parse_procs("99999999999\n", &pids, &n), -EBADMSG);
        assert_int_equal(cgroup_parse_procs("1\n\n2\n", &pids, &n), -EBADMSG);
        assert_null(pids);

        /* the names limit_hit events carry */
        assert_string_equal(cgroup_counter_limit_to_string(CGROUP_COUNTER_MEMORY_HIGH), "memory.high");
        assert_string_equal(cgroup_counter_limit_to_string(CGROUP_COUNTER_MEMORY_MAX), "memory.max");
        assert_string_equal(cgroup_counter_limit_to_string(CGROUP_COUNTER_PIDS_MAX), "pids.max");
        assert_null(cgroup_counter_limit_to_string(CGROUP_COUNTER_OOM_KILL));
        assert_null(cgroup_counter_limit_to_string(_CGROUP_COUNTER_MAX));
}

/* ---- on the host: a private subtree of the cgroup2 mount, through the backend ---- */

typedef struct HostState {
        char *mount;
        char *tmp;         /* our temporary ROOT, absolute */
        pid_t children[4]; /* forked by the test, unreaped: their pids cannot be reused */
        size_t n_children;
} HostState;

static void host_track_child(HostState *h, pid_t pid)
{
        assert_true(h->n_children < ELEMENTSOF(h->children));
        h->children[h->n_children++] = pid;
}

/* Reaps a tracked child and forgets it; returns its wait status. */
static int host_reap_child(HostState *h, pid_t pid)
{
        int status = 0;

        assert_int_equal(waitpid(pid, &status, 0), pid);
        for (size_t i = 0; i < h->n_children; i++)
                if (h->children[i] == pid)
                        h->children[i] = h->children[--h->n_children];
        return status;
}

static int host_setup(void **state)
{
        _cleanup_free_ HostState *h = NULL;
        int r;

        if (geteuid() != 0) {
                print_message("SKIP: needs root to create cgroups\n");
                return 0;
        }
        h = calloc(1, sizeof *h);
        assert_non_null(h);
        r = cgroup_find_mount(&h->mount, NULL);
        if (r < 0) {
                print_message("SKIP: no cgroup2 mount in /proc/self/mountinfo (%s)\n", strerror(-r));
                return 0;
        }
        assert_int_equal(asprintf_safe(&h->tmp, "%s/descartes-test-cgroup-XXXXXX", h->mount), 0);
        if (!mkdtemp(h->tmp)) {
                print_message("SKIP: cannot create a cgroup under %s: %m\n", h->mount);
                free(h->mount);
                free(h->tmp);
                return 0;
        }
        *state = TAKE_PTR(h);
        return 0;
}

static void rmdir_tree(const char *path)
{
        _cleanup_closedir_ DIR *d = opendir(path);

        if (!d)
                return;
        for (struct dirent *de; (de = readdir(d));) {
                _cleanup_free_ char *sub = NULL;

                if (de->d_type != DT_DIR || streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                if (asprintf_safe(&sub, "%s/%s", path, de->d_name) >= 0)
                        rmdir_tree(sub);
        }
        /* A killed process leaves its cgroup asynchronously: give rmdir a bounded number of tries. */
        for (int i = 0; i < 500 && rmdir(path) < 0 && errno == EBUSY; i++)
                (void)usleep(10000);
}

/* Also runs after a failed assertion: kills and reaps what the test started, then removes its cgroups. */
static int host_teardown(void **state)
{
        HostState *h = *state;
        _cleanup_free_ char *kill_attr = NULL;

        if (!h)
                return 0;
        if (asprintf_safe(&kill_attr, "%s/cgroup.kill", h->tmp) >= 0)
                (void)write_string_file_at(AT_FDCWD, kill_attr, "1");
        for (size_t i = 0; i < h->n_children; i++) {
                (void)kill(h->children[i], SIGKILL);
                (void)waitpid(h->children[i], NULL, 0);
        }
        rmdir_tree(h->tmp);
        if (access(h->tmp, F_OK) == 0)
                print_message("WARNING: could not remove %s\n", h->tmp);
        free(h->tmp);
        free(h->mount);
        free(h);
        *state = NULL;
        return 0;
}

#define HOST_OR_SKIP(h)                                                                                     \
        do {                                                                                                \
                if (!(h))                                                                                   \
                        skip();                                                                             \
        } while (0)

/* A path below ROOT, for checks behind the backend's back. */
static char *at_root(const CgroupBackend *b, const char *rel)
{
        char *p = NULL;

        assert_int_equal(asprintf_safe(&p, "%s/%s", cgroup_backend_path(b), rel), 0);
        return p;
}

static bool exists_at_root(const CgroupBackend *b, const char *rel)
{
        _cleanup_free_ char *p = at_root(b, rel);
        return access(p, F_OK) == 0;
}

static char *read_at_root(const CgroupBackend *b, const char *rel)
{
        _cleanup_free_ char *p = at_root(b, rel);
        char *text = NULL;

        assert_int_equal(read_file_at(AT_FDCWD, p, 65536, &text, NULL), 0);
        return text;
}

/* Runs the backend's setup in a child placed in ROOT, as systemd places a Delegate=yes unit's main process
 * (it moves the calling process), and checks where the child ended up. Then a child outside ROOT, as
 * descartesd is when the agents live in another unit's cgroup: it must stay where it is. */
static void host_run_setup(HostState *h, CgroupBackend *b)
{
        pid_t pid = fork();
        int status;

        assert_true(pid >= 0);
        if (pid == 0) {
                _cleanup_free_ char *own = NULL, *want = NULL, *procs = NULL;

                if (asprintf_safe(&procs, "%s/cgroup.procs", cgroup_backend_path(b)) < 0 ||
                    write_string_file_at(AT_FDCWD, procs, "0") < 0)
                        _exit(9);
                if (cgroup_fs_contains_self(b) != 1)
                        _exit(8);
                if (cgroup_backend_setup(b) < 0)
                        _exit(10);
                if (cgroup_get_own_path(&own) < 0)
                        _exit(11);
                if (asprintf_safe(&want, "%s/supervisor", cgroup_backend_path(b) + strlen(h->mount)) < 0)
                        _exit(12);
                if (!streq(own, want))
                        _exit(13);
                /* Found from /proc/self/cgroup and mountinfo, ROOT is still the parent of supervisor/. */
                {
                        _cleanup_(cgroup_backend_freep) CgroupBackend *found = NULL;
                        if (cgroup_fs_open(NULL, &found) < 0)
                                _exit(14);
                        _exit(streq(cgroup_backend_path(found), cgroup_backend_path(b)) ? 0 : 15);
                }
        }
        host_track_child(h, pid);
        status = host_reap_child(h, pid);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);

        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                _cleanup_free_ char *before = NULL, *after = NULL;

                if (cgroup_get_own_path(&before) < 0)
                        _exit(11);
                if (cgroup_fs_contains_self(b) != 0)
                        _exit(8);
                if (cgroup_backend_setup(b) < 0)
                        _exit(10);
                if (cgroup_get_own_path(&after) < 0)
                        _exit(11);
                if (!streq(before, after))
                        _exit(13);
                _exit(exists_at_root(b, "agents/cgroup.subtree_control") ? 0 : 16);
        }
        host_track_child(h, pid);
        status = host_reap_child(h, pid);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
}

/* A child that echoes every byte it reads from cmd to reply: it answers only while it is not frozen. */
static pid_t host_fork_echo(HostState *h, int *ret_cmd, int *ret_reply)
{
        int cmd[2], reply[2];
        pid_t pid;

        assert_int_equal(pipe2(cmd, O_CLOEXEC), 0);
        assert_int_equal(pipe2(reply, O_CLOEXEC), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                char c;
                (void)prctl(PR_SET_PDEATHSIG, SIGKILL);
                (void)close(cmd[1]);
                (void)close(reply[0]);
                while (read(cmd[0], &c, 1) == 1)
                        if (write(reply[1], &c, 1) != 1)
                                _exit(1);
                _exit(0);
        }
        host_track_child(h, pid);
        (void)close(cmd[0]);
        (void)close(reply[1]);
        *ret_cmd = cmd[1];
        *ret_reply = reply[0];
        return pid;
}

/* 1 if a byte arrived within timeout_ms, 0 if not. */
static int wait_readable(int fd, int timeout_ms)
{
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int r = poll(&p, 1, timeout_ms);
        assert_true(r >= 0);
        return r;
}

/* The kernel finishes freezing and emptying asynchronously; the daemon waits for the watch, the test polls
 * with a bound. */
static void wait_state(CgroupHandle *a, int populated, int frozen)
{
        for (int i = 0; i < 1000; i++) {
                CgroupState st;
                assert_int_equal(cgroup_handle_read_state(a, &st), 0);
                if ((populated < 0 || st.populated == populated) && (frozen < 0 || st.frozen == frozen))
                        return;
                (void)usleep(10000);
        }
        fail_msg("the agent's cgroup never reached populated=%d frozen=%d", populated, frozen);
}

typedef struct WatchLog {
        CgroupHandle *handle;
        unsigned changes; /* or'ed over the calls */
        unsigned calls;
} WatchLog;

static void on_watch(CgroupHandle *hd, unsigned changes, void *userdata)
{
        WatchLog *w = userdata;

        assert_ptr_equal(hd, w->handle);
        w->changes |= changes;
        w->calls++;
}

/* Dispatches the backend's notifications until one with change arrived (bounded). */
static void wait_change(CgroupBackend *b, WatchLog *w, CgroupChange change)
{
        int fd = cgroup_backend_watch_fd(b);

        assert_true(fd >= 0);
        for (int i = 0; i < 50 && !(w->changes & change); i++) {
                (void)wait_readable(fd, 100);
                assert_int_equal(cgroup_backend_dispatch(b), 0);
        }
        assert_true(w->changes & change);
        w->changes = 0;
}

static void test_host_open(void **state)
{
        HostState *h = *state;
        CgroupBackend *b = NULL;
        _cleanup_free_ char *real_root_type = NULL;

        HOST_OR_SKIP(h);
        assert_int_equal(cgroup_fs_open("relative/path", &b), -EINVAL);
        assert_int_equal(cgroup_fs_open("/proc", &b), -EMEDIUMTYPE);
        assert_int_equal(cgroup_fs_open("/nonexistent-descartes", &b), -ENOENT);
        assert_int_equal(asprintf_safe(&real_root_type, "%s/cgroup.type", h->mount), 0);
        if (access(real_root_type, F_OK) < 0)
                assert_int_equal(cgroup_fs_open(h->mount, &b), -EPERM);
        assert_null(b);
}

static void test_host_lifecycle(void **state)
{
        HostState *h = *state;
        _cleanup_(cgroup_backend_freep) CgroupBackend *b = NULL;
        _cleanup_(cgroup_handle_freep) CgroupHandle *a = NULL, *other = NULL;
        _cleanup_close_ int cmd = -EBADF, reply = -EBADF;
        _cleanup_free_ char *own = NULL, *want = NULL, *procs = NULL, *text = NULL, *path = NULL;
        _cleanup_free_ pid_t *pids = NULL;
        CgroupMask mask, controllers;
        CgroupUsage u;
        CgroupCounters cnt;
        CgroupState st;
        WatchLog w = {};
        size_t n;
        char c;
        pid_t pid;
        int status;

        HOST_OR_SKIP(h);
        assert_int_equal(cgroup_fs_open(h->tmp, &b), 0);
        assert_string_equal(cgroup_backend_path(b), h->tmp);
        host_run_setup(h, b);

        /* Setup is idempotent, and enabled exactly the available controllers. */
        host_run_setup(h, b);
        text = read_at_root(b, "agents/cgroup.controllers");
        assert_int_equal(cgroup_parse_controllers(text, &mask), 0);
        assert_int_equal(mask, cgroup_backend_controllers(b));
        controllers = mask;
        text = mfree(text);

        assert_int_equal(cgroup_backend_create(b, 4242, "not/valid", NULL, NULL, &a), -EINVAL);
        assert_int_equal(cgroup_backend_create(b, 4242, "cgroup.procs", NULL, NULL, &a), -EINVAL);
        assert_int_equal(cgroup_backend_open(b, 4242, "absent", &a), -ENOENT);
        assert_null(a);
        assert_false(exists_at_root(b, "agents/u4242")); /* a failed open leaves nothing */
        assert_int_equal(cgroup_backend_create(b, 4242, "test1", NULL, NULL, &a), 0);
        path = at_root(b, "agents/u4242/a-test1");
        assert_string_equal(cgroup_handle_path(a), path);
        assert_int_equal(cgroup_backend_create(b, 4242, "test1", NULL, NULL, &other), -EEXIST);
        assert_null(other);
        assert_int_equal(cgroup_backend_open(b, 4242, "test1", &other), 0);
        assert_string_equal(cgroup_handle_path(other), path);
        other = cgroup_handle_free(other);
        assert_true(exists_at_root(b, "agents/u4242/a-test1/shim"));
        assert_true(exists_at_root(b, "agents/u4242/a-test1/payload"));
        assert_int_equal(cgroup_handle_spawn_fd(a, CGROUP_PART_AGENT), -EINVAL);
        assert_true(cgroup_handle_spawn_fd(a, CGROUP_PART_SHIM) >= 0);
        assert_true(cgroup_handle_spawn_fd(a, CGROUP_PART_PAYLOAD) >= 0);

        /* Usage: cpu.stat exists without the cpu controller; the others follow the controllers. */
        assert_int_equal(cgroup_handle_read_usage(a, &u), 0);
        assert_true(u.has_cpu);
        assert_int_equal(u.has_memory_current, !!(controllers & CGROUP_MASK(CGROUP_CONTROLLER_MEMORY)));
        assert_int_equal(u.has_pids, !!(controllers & CGROUP_MASK(CGROUP_CONTROLLER_PIDS)));
        if (!(controllers & CGROUP_MASK(CGROUP_CONTROLLER_MEMORY)))
                assert_false(u.has_memory_peak);
        /* Counters: a fresh agent has had no limit hit, wherever the kernel would count one. */
        assert_int_equal(cgroup_handle_read_counters(a, &cnt), 0);
        assert_int_equal(cnt.present[CGROUP_COUNTER_MEMORY_MAX],
                         !!(controllers & CGROUP_MASK(CGROUP_CONTROLLER_MEMORY)));
        assert_int_equal(cnt.present[CGROUP_COUNTER_OOM_KILL],
                         !!(controllers & CGROUP_MASK(CGROUP_CONTROLLER_MEMORY)));
        assert_int_equal(cnt.present[CGROUP_COUNTER_PIDS_MAX],
                         !!(controllers & CGROUP_MASK(CGROUP_CONTROLLER_PIDS)));
        for (CgroupCounter k = 0; k < _CGROUP_COUNTER_MAX; k++)
                assert_int_equal(cnt.value[k], 0);

        assert_int_equal(cgroup_handle_read_state(a, &st), 0);
        assert_false(st.populated);
        assert_false(st.frozen);
        assert_false(st.freeze_requested);
        assert_int_equal(cgroup_handle_list_pids(a, CGROUP_PART_PAYLOAD, &pids, &n), 0);
        assert_int_equal(n, 0);
        free(pids);
        pids = NULL;

        /* Watched as the daemon does: one fd for the backend, callbacks per handle. */
        w.handle = a;
        assert_int_equal(cgroup_handle_watch(a, on_watch, &w), 0);

        /* A process in payload/. */
        pid = host_fork_echo(h, &cmd, &reply);
        assert_int_equal(cgroup_handle_attach_pid(a, CGROUP_PART_PAYLOAD, pid), 0);
        assert_int_equal(asprintf_safe(&procs, "/proc/%d/cgroup", (int)pid), 0);
        assert_int_equal(read_file_at(AT_FDCWD, procs, 65536, &text, NULL), 0);
        assert_int_equal(cgroup_parse_proc_self_cgroup(text, &own), 0);
        assert_int_equal(asprintf_safe(&want, "%s/agents/u4242/a-test1/payload", h->tmp + strlen(h->mount)),
                         0);
        assert_string_equal(own, want);
        wait_change(b, &w, CGROUP_CHANGE_POPULATED);
        wait_state(a, 1, 0);
        assert_int_equal(cgroup_handle_has_pid(a, CGROUP_PART_PAYLOAD, pid), 1);
        assert_int_equal(cgroup_handle_has_pid(a, CGROUP_PART_SHIM, pid), 0);
        assert_int_equal(cgroup_handle_list_pids(a, CGROUP_PART_AGENT, &pids, &n), 0);
        assert_int_equal(n, 0); /* AGENT holds no process itself */
        free(pids);
        pids = NULL;
        assert_int_equal(write(cmd, "a", 1), 1);
        assert_int_equal(wait_readable(reply, 5000), 1);
        assert_int_equal(read(reply, &c, 1), 1);
        assert_int_equal(c, 'a');

        /* Removal while processes remain is refused, and leaves the agent whole. */
        assert_int_equal(cgroup_handle_remove(a), -EBUSY);
        assert_true(exists_at_root(b, "agents/u4242/a-test1/shim/cgroup.procs"));

        /* Freeze: the watch reports it. */
        assert_int_equal(cgroup_handle_freeze(a), 0);
        wait_change(b, &w, CGROUP_CHANGE_FROZEN);
        wait_state(a, 1, 1);
        assert_int_equal(cgroup_handle_read_state(a, &st), 0);
        assert_true(st.freeze_requested);
        text = mfree(text);
        text = read_at_root(b, "agents/u4242/a-test1/cgroup.events");
        assert_non_null(strstr(text, "frozen 0")); /* the shim's side stays thawed */

        /* Frozen, the child cannot answer; thawed, it does. */
        assert_int_equal(write(cmd, "b", 1), 1);
        assert_int_equal(wait_readable(reply, 300), 0);
        assert_int_equal(cgroup_handle_thaw(a), 0);
        wait_state(a, 1, 0);
        assert_int_equal(cgroup_handle_read_state(a, &st), 0);
        assert_false(st.freeze_requested);
        assert_int_equal(wait_readable(reply, 5000), 1);
        assert_int_equal(read(reply, &c, 1), 1);
        assert_int_equal(c, 'b');

        /* Kill works on a frozen cgroup; the watch reports the emptying. */
        assert_int_equal(cgroup_handle_freeze(a), 0);
        wait_state(a, 1, 1);
        w.changes = 0;
        assert_int_equal(cgroup_handle_kill(a), 0);
        wait_change(b, &w, CGROUP_CHANGE_POPULATED);
        wait_state(a, 0, -1);
        status = host_reap_child(h, pid);
        assert_true(WIFSIGNALED(status));
        assert_int_equal(WTERMSIG(status), SIGKILL);

        /* Removal: the agent, then the empty tenant; its watch ends with it. */
        assert_int_equal(cgroup_handle_remove(a), 0);
        assert_false(exists_at_root(b, "agents/u4242/a-test1"));
        assert_false(exists_at_root(b, "agents/u4242"));
        assert_int_equal(cgroup_handle_remove(a), 0); /* already gone */
        assert_int_equal(cgroup_handle_read_state(a, &st), -ENOENT);
        w.calls = 0;
        assert_int_equal(cgroup_backend_dispatch(b), 0);
        assert_int_equal(w.calls, 0);
}

/* Two watched agents on the one fd: each callback hears of its own agent only, and a handle freed while
 * watched is forgotten. */
static void test_host_watch_two(void **state)
{
        HostState *h = *state;
        _cleanup_(cgroup_backend_freep) CgroupBackend *b = NULL;
        _cleanup_(cgroup_handle_freep) CgroupHandle *x = NULL, *y = NULL;
        _cleanup_close_ int cmd = -EBADF, reply = -EBADF;
        WatchLog wx = {}, wy = {};
        pid_t pid;

        HOST_OR_SKIP(h);
        assert_int_equal(cgroup_fs_open(h->tmp, &b), 0);
        host_run_setup(h, b);
        assert_int_equal(cgroup_backend_create(b, 7, "x", NULL, NULL, &x), 0);
        assert_int_equal(cgroup_backend_create(b, 7, "y", NULL, NULL, &y), 0);
        wx.handle = x;
        wy.handle = y;
        assert_int_equal(cgroup_handle_watch(x, on_watch, &wx), 0);
        assert_int_equal(cgroup_handle_watch(y, on_watch, &wy), 0);

        pid = host_fork_echo(h, &cmd, &reply);
        assert_int_equal(cgroup_handle_attach_pid(y, CGROUP_PART_PAYLOAD, pid), 0);
        wait_change(b, &wy, CGROUP_CHANGE_POPULATED);
        assert_int_equal(wx.calls, 0);

        /* x goes while watched: events of y still arrive, none for x */
        assert_int_equal(cgroup_handle_remove(x), 0);
        x = cgroup_handle_free(x);
        assert_int_equal(cgroup_handle_kill(y), 0);
        wait_change(b, &wy, CGROUP_CHANGE_POPULATED);
        assert_int_equal(wx.calls, 0);
        (void)host_reap_child(h, pid);
        wait_state(y, 0, -1);
        assert_int_equal(cgroup_handle_remove(y), 0);
}

static void test_host_tenant_shared(void **state)
{
        HostState *h = *state;
        _cleanup_(cgroup_backend_freep) CgroupBackend *b = NULL;
        _cleanup_(cgroup_handle_freep) CgroupHandle *a = NULL, *c = NULL;

        HOST_OR_SKIP(h);
        assert_int_equal(cgroup_fs_open(h->tmp, &b), 0);
        host_run_setup(h, b);
        assert_int_equal(cgroup_backend_create(b, 7, "one", NULL, NULL, &a), 0);
        assert_int_equal(cgroup_backend_create(b, 7, "two", NULL, NULL, &c), 0);
        /* The tenant stays while another agent lives in it. */
        assert_int_equal(cgroup_handle_remove(a), 0);
        assert_true(exists_at_root(b, "agents/u7"));
        assert_true(exists_at_root(b, "agents/u7/a-two/payload"));
        assert_int_equal(cgroup_handle_remove(c), 0);
        assert_false(exists_at_root(b, "agents/u7"));
}

static void test_host_limits(void **state)
{
        HostState *h = *state;
        _cleanup_(cgroup_backend_freep) CgroupBackend *b = NULL;
        _cleanup_(cgroup_handle_freep) CgroupHandle *a = NULL, *refused = NULL;
        _cleanup_free_ char *text = NULL;
        CgroupLimits l = CGROUP_LIMITS_UNSET;
        CgroupMask available;
        const char *missing = NULL;

        HOST_OR_SKIP(h);
        assert_int_equal(cgroup_fs_open(h->tmp, &b), 0);
        host_run_setup(h, b);
        available = cgroup_backend_controllers(b);
        assert_int_equal(cgroup_backend_create(b, 4242, "limits", &l, &missing, &a), 0);

        /* No limit needs no controller. */
        assert_int_equal(cgroup_handle_set_limits(a, &l, &missing), 0);
        assert_null(missing);

        l.memory_max = 512ULL << 20;
        l.memory_swap_max = 0;
        if (!(available & CGROUP_MASK(CGROUP_CONTROLLER_MEMORY))) {
                print_message("no memory controller here: checking the refusal\n");
                assert_int_equal(cgroup_backend_check_limits(b, &l, &missing), -EOPNOTSUPP);
                assert_string_equal(missing, "memory");
                missing = NULL;
                assert_int_equal(cgroup_handle_set_limits(a, &l, &missing), -EOPNOTSUPP);
                assert_string_equal(missing, "memory");
                assert_false(exists_at_root(b, "agents/u4242/a-limits/memory.max"));
                /* refused at creation: nothing is left behind */
                missing = NULL;
                assert_int_equal(cgroup_backend_create(b, 4242, "refused", &l, &missing, &refused),
                                 -EOPNOTSUPP);
                assert_string_equal(missing, "memory");
                assert_null(refused);
                assert_false(exists_at_root(b, "agents/u4242/a-refused"));
        } else {
                assert_int_equal(cgroup_backend_check_limits(b, &l, &missing), 0);
                assert_int_equal(cgroup_handle_set_limits(a, &l, &missing), 0);
                text = read_at_root(b, "agents/u4242/a-limits/memory.max");
                assert_string_equal(text, "536870912\n");
                text = mfree(text);
                text = read_at_root(b, "agents/u4242/a-limits/memory.swap.max");
                assert_string_equal(text, "0\n");
                text = mfree(text);
        }

        l = CGROUP_LIMITS_UNSET;
        l.cpu_millicpus = 500;
        l.pids_max = 64;
        if ((available & (CGROUP_MASK(CGROUP_CONTROLLER_CPU) | CGROUP_MASK(CGROUP_CONTROLLER_PIDS))) !=
            (CGROUP_MASK(CGROUP_CONTROLLER_CPU) | CGROUP_MASK(CGROUP_CONTROLLER_PIDS))) {
                assert_int_equal(cgroup_handle_set_limits(a, &l, &missing), -EOPNOTSUPP);
                assert_true(streq(missing, "cpu") || streq(missing, "pids"));
        } else {
                assert_int_equal(cgroup_handle_set_limits(a, &l, &missing), 0);
                text = read_at_root(b, "agents/u4242/a-limits/cpu.max");
                assert_string_equal(text, "50000 100000\n");
                text = mfree(text);
                text = read_at_root(b, "agents/u4242/a-limits/pids.max");
                assert_string_equal(text, "64\n");
        }
        assert_int_equal(cgroup_handle_remove(a), 0);
}

/* The layout of units (the systemd driver's): systemd makes the tenant's slice and the agent's scope with a
 * first process; create moves that process into holder/, makes AGENT below the scope with SHIM and PAYLOAD
 * and writes no limit (they are the unit's properties); remove takes AGENT only. Here the test plays
 * systemd. */
static void test_host_units_layout(void **state)
{
        static const CgroupFsLayout units = {
                .tenant_prefix = "descartes-u",
                .tenant_suffix = ".slice",
                .agent_prefix = "descartes-",
                .agent_suffix = ".scope/agent",
                .units = true,
        };
        HostState *h = *state;
        _cleanup_(cgroup_backend_freep) CgroupBackend *b = NULL;
        _cleanup_(cgroup_handle_freep) CgroupHandle *a = NULL, *other = NULL;
        _cleanup_close_ int cmd = -EBADF, reply = -EBADF;
        _cleanup_free_ char *text = NULL, *path = NULL, *procs = NULL;
        char value[CGROUP_SUBTREE_CONTROL_MAX], pid_text[32];
        CgroupLimits l = CGROUP_LIMITS_UNSET;
        CgroupCounters cnt;
        CgroupMask mask;
        CgroupState st;
        const char *missing = NULL;
        pid_t pid;

        HOST_OR_SKIP(h);
        assert_int_equal(cgroup_fs_open_layout(h->tmp, &units, &b), 0);
        mask = cgroup_backend_controllers(b);
        assert_int_equal(cgroup_mask_to_subtree_control(mask, value, sizeof value), 0);
        /* systemd's part: the slice and the scope with its process, controllers down to the scope */
        if (mask) {
                path = at_root(b, "cgroup.subtree_control");
                assert_int_equal(write_string_file_at(AT_FDCWD, path, value), 0);
                path = mfree(path);
        }
        path = at_root(b, "descartes-u4242.slice");
        assert_int_equal(mkdir(path, 0755), 0);
        path = mfree(path);
        if (mask) {
                path = at_root(b, "descartes-u4242.slice/cgroup.subtree_control");
                assert_int_equal(write_string_file_at(AT_FDCWD, path, value), 0);
                path = mfree(path);
        }
        path = at_root(b, "descartes-u4242.slice/descartes-t1.scope");
        assert_int_equal(mkdir(path, 0755), 0);
        path = mfree(path);
        pid = host_fork_echo(h, &cmd, &reply);
        (void)snprintf(pid_text, sizeof pid_text, "%d", (int)pid);
        procs = at_root(b, "descartes-u4242.slice/descartes-t1.scope/cgroup.procs");
        assert_int_equal(write_string_file_at(AT_FDCWD, procs, pid_text), 0);

        if (mask & CGROUP_MASK(CGROUP_CONTROLLER_MEMORY))
                l.memory_max = 64ULL << 20;
        assert_int_equal(cgroup_backend_create(b, 4242, "t1", &l, &missing, &a), 0);
        path = at_root(b, "descartes-u4242.slice/descartes-t1.scope/agent");
        assert_string_equal(cgroup_handle_path(a), path);
        /* the scope's process went to holder/, and the scope holds no process of its own */
        text = read_at_root(b, "descartes-u4242.slice/descartes-t1.scope/holder/cgroup.procs");
        assert_int_equal(atoi(text), pid);
        text = mfree(text);
        text = read_at_root(b, "descartes-u4242.slice/descartes-t1.scope/cgroup.procs");
        assert_string_equal(text, "");
        text = mfree(text);
        assert_true(exists_at_root(b, "descartes-u4242.slice/descartes-t1.scope/agent/shim"));
        assert_true(exists_at_root(b, "descartes-u4242.slice/descartes-t1.scope/agent/payload"));
        if (mask & CGROUP_MASK(CGROUP_CONTROLLER_MEMORY)) {
                /* no limit written: the unit's owner sets them */
                text = read_at_root(b, "descartes-u4242.slice/descartes-t1.scope/agent/memory.max");
                assert_string_equal(text, "max\n");
                text = mfree(text);
        }
        /* AGENT holds none of the holder: it is not populated, and its counters are read */
        assert_int_equal(cgroup_handle_read_state(a, &st), 0);
        assert_false(st.populated);
        assert_int_equal(cgroup_handle_read_counters(a, &cnt), 0);
        for (CgroupCounter k = 0; k < _CGROUP_COUNTER_MAX; k++)
                assert_int_equal(cnt.value[k], 0);
        assert_int_equal(cgroup_handle_has_pid(a, CGROUP_PART_SHIM, pid), 0);

        assert_int_equal(cgroup_backend_open(b, 4242, "t1", &other), 0);
        assert_string_equal(cgroup_handle_path(other), path);
        other = cgroup_handle_free(other);

        /* remove takes AGENT; the scope and its holder are systemd's */
        assert_int_equal(cgroup_handle_remove(a), 0);
        assert_false(exists_at_root(b, "descartes-u4242.slice/descartes-t1.scope/agent"));
        assert_true(exists_at_root(b, "descartes-u4242.slice/descartes-t1.scope/holder"));
        assert_int_equal(cgroup_backend_open(b, 4242, "t1", &other), -ENOENT);
}

static void test_host_tenant_limits(void **state)
{
        HostState *h = *state;
        _cleanup_(cgroup_backend_freep) CgroupBackend *b = NULL;
        _cleanup_(cgroup_handle_freep) CgroupHandle *a = NULL;
        CgroupLimits l = CGROUP_LIMITS_UNSET;
        CgroupUsage u;
        const char *missing = NULL;
        bool memory;

        HOST_OR_SKIP(h);
        assert_int_equal(cgroup_fs_open(h->tmp, &b), 0);
        host_run_setup(h, b);
        memory = cgroup_backend_controllers(b) & CGROUP_MASK(CGROUP_CONTROLLER_MEMORY);

        /* no tenant subtree before its first agent: only prepare makes one */
        assert_int_equal(cgroup_backend_tenant_set_limits(b, 51, &l, &missing), -ENOENT);
        assert_int_equal(cgroup_backend_tenant_read_usage(b, 51, &u), -ENOENT);
        assert_false(exists_at_root(b, "agents/u51"));

        l.memory_max = 256ULL << 20;
        if (!memory) {
                /* refused: nothing is left behind */
                assert_int_equal(cgroup_backend_tenant_prepare(b, 51, &l, &missing), -EOPNOTSUPP);
                assert_string_equal(missing, "memory");
                assert_false(exists_at_root(b, "agents/u51"));
                l = CGROUP_LIMITS_UNSET;
        }
        assert_int_equal(cgroup_backend_tenant_prepare(b, 51, &l, &missing), 0);
        assert_true(exists_at_root(b, "agents/u51"));
        assert_int_equal(cgroup_backend_create(b, 51, "quota", NULL, NULL, &a), 0);
        assert_int_equal(cgroup_backend_tenant_read_usage(b, 51, &u), 0);
        assert_int_equal(u.has_memory_current, memory);
        if (memory) {
                _cleanup_free_ char *text = read_at_root(b, "agents/u51/memory.max");
                assert_string_equal(text, "268435456\n");
                /* lifted live; "max" where swap accounting is off is no error */
                l.memory_max = CGROUP_LIMIT_INFINITY;
                l.memory_swap_max = CGROUP_LIMIT_INFINITY;
                assert_int_equal(cgroup_backend_tenant_set_limits(b, 51, &l, &missing), 0);
                text = mfree(text);
                text = read_at_root(b, "agents/u51/memory.max");
                assert_string_equal(text, "max\n");
        }
        /* the tenant goes with its last agent, as before */
        assert_int_equal(cgroup_handle_remove(a), 0);
        assert_false(exists_at_root(b, "agents/u51"));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse_mountinfo),
                cmocka_unit_test(test_mount_root_and_path),
                cmocka_unit_test(test_parse_proc_self_cgroup),
                cmocka_unit_test(test_parse_keyed),
                cmocka_unit_test(test_parse_value_and_controllers),
                cmocka_unit_test(test_controller_names),
                cmocka_unit_test(test_limits_format_and_check),
                cmocka_unit_test(test_parse_procs_and_names),
                cmocka_unit_test_setup_teardown(test_host_open, host_setup, host_teardown),
                cmocka_unit_test_setup_teardown(test_host_lifecycle, host_setup, host_teardown),
                cmocka_unit_test_setup_teardown(test_host_watch_two, host_setup, host_teardown),
                cmocka_unit_test_setup_teardown(test_host_tenant_shared, host_setup, host_teardown),
                cmocka_unit_test_setup_teardown(test_host_limits, host_setup, host_teardown),
                cmocka_unit_test_setup_teardown(test_host_tenant_limits, host_setup, host_teardown),
                cmocka_unit_test_setup_teardown(test_host_units_layout, host_setup, host_teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
