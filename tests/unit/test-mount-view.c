/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "capability.h"
#include "confine-test-util.h"
#include "confine.h"
#include "fd-util.h"
#include "mount-util.h"
#include "mount-view.h"
#include "mountinfo.h"
#include "string-util.h"

#define TMP_SIZE (1024U * 1024U)

/* The host side of one view: a temporary tree under /var/tmp (not /tmp, which the view replaces):
 *   BASE/state/secret                    masked (state dir)
 *   BASE/state/agents/other/work/file    masked (another agent's)
 *   BASE/state/agents/me/work/           the workspace, inside the masked state dir
 *   BASE/state/agents/me/work/.ssh/key   an extra mask inside the workspace
 *   BASE/state/agents/me/work/id-suid    a setuid-root copy of id(1)
 *   BASE/run/control                     masked (runtime dir)
 *   BASE/extra-file                      an extra mask that is a file */
typedef struct Fixture {
        char base[64];
        char state[PATH_MAX];
        char workspace[PATH_MAX];
        char runtime[PATH_MAX];
        char extra_file[PATH_MAX];
        char ssh[PATH_MAX];
        char other[PATH_MAX];
        char suid[PATH_MAX];
        char resolv[PATH_MAX]; /* where /etc/resolv.conf leads on the host, "" without one */
        bool net_none;
        bool tmp_target; /* the workspace at /tmp/ws instead of its host path */
        bool no_setattr; /* as on a kernel without mount_setattr: the remount fallback */
} Fixture;

/* snprintf for paths that are known to fit: a truncation is a bug in the test, not a result. */
_printf_(3, 4) static char *pathf(char *buf, size_t n, const char *fmt, ...)
{
        va_list ap;
        int k;

        va_start(ap, fmt);
        k = vsnprintf(buf, n, fmt, ap);
        va_end(ap);
        if (k < 0 || (size_t)k >= n)
                abort();
        return buf;
}

static int write_file(const char *path, const char *s)
{
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0)
                return -errno;
        return loop_write(fd, s, strlen(s));
}

static int copy_file(const char *from, const char *to, mode_t mode)
{
        _cleanup_close_ int in = open(from, O_RDONLY | O_CLOEXEC);
        _cleanup_close_ int out = -EBADF;
        char buf[65536];
        ssize_t k;

        if (in < 0)
                return -errno;
        out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0700);
        if (out < 0)
                return -errno;
        while ((k = read(in, buf, sizeof buf)) > 0)
                if (loop_write(out, buf, (size_t)k) < 0)
                        return -EIO;
        if (k < 0)
                return -errno;
        /* chmod after the writes: writing clears the setuid bit. */
        if (fchown(out, 0, 0) < 0 || fchmod(out, mode) < 0)
                return -errno;
        return 0;
}

static int setup(void **state)
{
        Fixture *f;
        char p[PATH_MAX];

        if (geteuid() != 0) {
                print_message("SKIP: building a mount view needs root\n");
                *state = NULL;
                return 0;
        }
        f = calloc(1, sizeof *f);
        assert_non_null(f);
        strcpy(f->base, "/var/tmp/descartes-test-mount-view-XXXXXX");
        assert_non_null(mkdtemp(f->base));
        assert_int_equal(chmod(f->base, 0755), 0); /* the agent (nobody) must reach the workspace */
        pathf(f->state, sizeof f->state, "%s/state", f->base);
        pathf(f->workspace, sizeof f->workspace, "%s/agents/me/work", f->state);
        pathf(f->runtime, sizeof f->runtime, "%s/run", f->base);
        pathf(f->extra_file, sizeof f->extra_file, "%s/extra-file", f->base);
        pathf(f->ssh, sizeof f->ssh, "%s/.ssh", f->workspace);
        pathf(f->other, sizeof f->other, "%s/agents/other/work", f->state);
        pathf(f->suid, sizeof f->suid, "%s/id-suid", f->workspace);
        if (!realpath("/etc/resolv.conf", f->resolv))
                f->resolv[0] = 0;

        assert_int_equal(mkdir_p(f->workspace, 0755), 0);
        assert_int_equal(mkdir_p(f->ssh, 0700), 0);
        assert_int_equal(mkdir_p(f->other, 0755), 0);
        assert_int_equal(mkdir_p(f->runtime, 0755), 0);
        pathf(p, sizeof p, "%s/secret", f->state);
        assert_int_equal(write_file(p, "state secret"), 0);
        pathf(p, sizeof p, "%s/file", f->other);
        assert_int_equal(write_file(p, "other agent"), 0);
        pathf(p, sizeof p, "%s/key", f->ssh);
        assert_int_equal(write_file(p, "private key"), 0);
        pathf(p, sizeof p, "%s/control", f->runtime);
        assert_int_equal(write_file(p, "socket"), 0);
        assert_int_equal(write_file(f->extra_file, "extra secret"), 0);
        assert_int_equal(copy_file("/usr/bin/id", f->suid, 04755), 0);
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        Fixture *f = *state;

        if (f) {
                /* The mounts lived in the children's namespaces, gone with them: this is a plain tree. */
                assert_int_equal(rm_rf_at(AT_FDCWD, f->base), 0);
                free(f);
        }
        return 0;
}

/* Runs path argv[1] as a child with stdout captured; returns its output (first line) in buf. */
static int run_capture(char *const argv[], char *buf, size_t n, void (*pre)(void))
{
        int p[2];
        pid_t pid;
        ssize_t k;
        size_t got = 0;

        if (pipe2(p, O_CLOEXEC) < 0)
                return -errno;
        pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0) {
                if (pre)
                        pre();
                if (dup2(p[1], 1) < 0)
                        _exit(126);
                execv(argv[0], argv);
                _exit(127);
        }
        close(p[1]);
        while (got < n - 1 && (k = read(p[0], buf + got, n - 1 - got)) > 0)
                got += (size_t)k;
        buf[got] = '\0';
        close(p[0]);
        buf[strcspn(buf, "\n")] = '\0';
        return wait_exit_code(pid);
}

static void drop_to_nobody_without_nnp(void)
{
        Identity id = {.uid = 65534, .gid = 65534};

        if (identity_apply(&id) < 0 || capability_clear_all() < 0)
                _exit(125);
}

static void drop_to_nobody_confined(void)
{
        Identity id = {.uid = 65534, .gid = 65534};

        if (confine_drop_privileges(&id, NULL) < 0)
                _exit(125);
}

static const char *dir_entries(const char *path, char *buf, size_t n)
{
        _cleanup_closedir_ DIR *d = opendir(path);
        struct dirent *de;
        size_t used = 0;

        buf[0] = '\0';
        if (!d)
                return NULL;
        while ((de = readdir(d))) {
                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                int k = snprintf(buf + used, n - used, "%s%s", used ? " " : "", de->d_name);
                if (k < 0 || (size_t)k >= n - used)
                        return NULL;
                used += (size_t)k;
        }
        return buf;
}

static bool set_has_exactly(const char *listing, const char *const *names, size_t n_names)
{
        size_t count = 0;

        for (const char *p = listing; *p;) {
                size_t l = strcspn(p, " ");
                bool found = false;
                for (size_t i = 0; i < n_names; i++)
                        if (strlen(names[i]) == l && strncmp(p, names[i], l) == 0)
                                found = true;
                if (!found)
                        return false;
                count++;
                p += l;
                if (*p == ' ')
                        p++;
        }
        return count == n_names;
}

static const char *check_view(void *userdata)
{
        const Fixture *f = userdata;
        char *const masks[] = {(char *)f->extra_file, (char *)f->ssh, NULL};
        char *const keeps[] = {(char *)"/etc/resolv.conf", NULL};
        MountViewSpec spec = MOUNT_VIEW_SPEC_INIT;
        const char *step = NULL, *ws = f->tmp_target ? "/tmp/ws" : f->workspace;
        char buf[4096], p[PATH_MAX], cwd[PATH_MAX];
        struct statvfs sv;
        struct stat st;
        int r, fd;

        spec.workspace = f->workspace;
        spec.workspace_target = f->tmp_target ? "/tmp/ws" : NULL;
        spec.tmp_size = TMP_SIZE;
        spec.runtime_dir = f->runtime;
        spec.state_dir = f->state;
        spec.mask_paths = masks;
        spec.keep_paths = keeps;
        spec.workspace_owner = 0;

        CHECK(getpid() == 1);
        mount_util_disable_setattr(f->no_setattr);
        r = mount_view_setup(&spec, &step);
        if (r < 0)
                return child_fail(__LINE__, "mount_view_setup failed at %s: %s", step, strerror(-r));

        /* Working directory and the workspace, read-write and nosuid/nodev. */
        CHECK(getcwd(cwd, sizeof cwd) && streq(cwd, ws));
        CHECK(write_file("written-inside", "hello") >= 0);
        CHECK(statvfs(".", &sv) == 0 && !(sv.f_flag & ST_RDONLY) && (sv.f_flag & ST_NOSUID) &&
              (sv.f_flag & ST_NODEV));

        /* The host root: read-only, nosuid, nodev, everywhere. */
        CHECK_ERRNO(open("/usr/descartes-test", O_WRONLY | O_CREAT | O_CLOEXEC, 0644), EROFS);
        CHECK_ERRNO(open("/etc/descartes-test", O_WRONLY | O_CREAT | O_CLOEXEC, 0644), EROFS);
        CHECK_ERRNO(mkdir("/descartes-test", 0755), EROFS);
        CHECK_ERRNO(open("/etc/hostname", O_WRONLY | O_CLOEXEC), EROFS);
        CHECK(statvfs("/usr", &sv) == 0 && (sv.f_flag & ST_RDONLY) && (sv.f_flag & ST_NOSUID) &&
              (sv.f_flag & ST_NODEV));
        CHECK(access("/usr/bin/id", X_OK) == 0);

        /* Private /tmp with its cap. */
        CHECK(statvfs("/tmp", &sv) == 0 && !(sv.f_flag & ST_RDONLY) && (sv.f_flag & ST_NOSUID));
        CHECK((uint64_t)sv.f_blocks * sv.f_frsize == TMP_SIZE);
        CHECK(stat("/tmp", &st) == 0 && (st.st_mode & 07777) == 01777);
        CHECK((fd = open("/tmp/fill", O_WRONLY | O_CREAT | O_CLOEXEC, 0600)) >= 0);
        {
                char chunk[65536] = {};
                ssize_t k = 0;
                size_t total = 0;
                while (total <= 2 * TMP_SIZE && (k = write(fd, chunk, sizeof chunk)) > 0)
                        total += (size_t)k;
                int e = errno;
                close(fd);
                CHECK(k < 0 && e == ENOSPC && total <= TMP_SIZE);
        }
        CHECK(unlink("/tmp/fill") == 0);

        /* Masks: empty, read-only; the workspace shows through the state dir's. */
        CHECK(access("/root", F_OK) < 0 || (dir_entries("/root", buf, sizeof buf) && streq(buf, "")));
        CHECK(access("/home", F_OK) < 0 || (dir_entries("/home", buf, sizeof buf) && streq(buf, "")));
        CHECK_ERRNO(mkdir("/root/x", 0700), EROFS);
        /* /run (the host's service sockets) is an empty mask but for what resolv.conf leads to, kept
         * read-only */
        if (startswith(f->resolv, "/run/")) {
                const char *first = f->resolv + strlen("/run/");
                CHECK(dir_entries("/run", buf, sizeof buf) &&
                      strncmp(buf, first, strcspn(first, "/")) == 0 && strlen(buf) == strcspn(first, "/"));
                CHECK((fd = open(f->resolv, O_RDONLY | O_CLOEXEC)) >= 0);
                close(fd);
                CHECK_ERRNO(open(f->resolv, O_WRONLY | O_CLOEXEC), EROFS);
        } else
                CHECK(access("/run", F_OK) < 0 || (dir_entries("/run", buf, sizeof buf) && streq(buf, "")));
        CHECK_ERRNO(mkdir("/run/x", 0700), EROFS);
        pathf(p, sizeof p, "%s/secret", f->state);
        CHECK_ERRNO(access(p, F_OK), ENOENT);
        CHECK(dir_entries(f->state, buf, sizeof buf) && streq(buf, f->tmp_target ? "" : "agents"));
        pathf(p, sizeof p, "%s/agents", f->state);
        CHECK(f->tmp_target || (dir_entries(p, buf, sizeof buf) && streq(buf, "me")));
        CHECK_ERRNO(access(f->other, F_OK), ENOENT);
        pathf(p, sizeof p, "%s/newfile", f->state);
        CHECK_ERRNO(open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0644), EROFS);
        pathf(p, sizeof p, "%s/control", f->runtime);
        CHECK_ERRNO(access(p, F_OK), ENOENT);
        CHECK(dir_entries(f->runtime, buf, sizeof buf) && streq(buf, ""));
        CHECK(stat(f->extra_file, &st) == 0 && st.st_size == 0 && S_ISCHR(st.st_mode));
        CHECK((fd = open(f->extra_file, O_RDONLY | O_CLOEXEC)) >= 0);
        CHECK(read(fd, buf, sizeof buf) == 0);
        close(fd);
        /* A device node on a read-only mount still opens for writing: what is written goes nowhere. */
        CHECK(write_file(f->extra_file, "overwritten") >= 0);
        CHECK((fd = open(f->extra_file, O_RDONLY | O_CLOEXEC)) >= 0);
        CHECK(read(fd, buf, sizeof buf) == 0);
        close(fd);
        pathf(p, sizeof p, "%s/.ssh", ws);
        CHECK(dir_entries(p, buf, sizeof buf) && streq(buf, ""));
        pathf(p, sizeof p, "%s/.ssh/x", ws);
        CHECK_ERRNO(open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0600), EROFS);

        /* /dev: exactly the minimal set, and working. */
        static const char *const dev_expected[] = {"null",   "zero",   "full", "random", "urandom",
                                                   "tty",    "pts",    "shm",  "fd",     "stdin",
                                                   "stdout", "stderr", "ptmx"};
        CHECK(dir_entries("/dev", buf, sizeof buf));
        if (!set_has_exactly(buf, dev_expected, ELEMENTSOF(dev_expected)))
                return child_fail(__LINE__, "unexpected /dev: %s", buf);
        CHECK((fd = open("/dev/null", O_WRONLY | O_CLOEXEC)) >= 0 && write(fd, "x", 1) == 1);
        close(fd);
        fd = open("/dev/zero", O_RDONLY | O_CLOEXEC);
        {
                unsigned char z[64];
                memset(z, 0xff, sizeof z);
                CHECK(fd >= 0 && read(fd, z, sizeof z) == (ssize_t)sizeof z);
                for (size_t i = 0; i < sizeof z; i++)
                        CHECK(z[i] == 0);
        }
        close(fd);
        fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
        {
                unsigned char a[32] = {}, b[32] = {};
                CHECK(fd >= 0 && read(fd, a, sizeof a) == (ssize_t)sizeof a &&
                      read(fd, b, sizeof b) == (ssize_t)sizeof b && memcmp(a, b, sizeof a) != 0);
        }
        close(fd);
        CHECK_ERRNO(mknod("/dev/sda", S_IFBLK | 0600, makedev(8, 0)), EROFS);
        CHECK(statvfs("/dev/shm", &sv) == 0 && (uint64_t)sv.f_blocks * sv.f_frsize == TMP_SIZE);
        CHECK((fd = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC)) >= 0 && grantpt(fd) == 0 &&
              unlockpt(fd) == 0 && ptsname(fd) && streq(ptsname(fd), "/dev/pts/0"));
        close(fd);
        CHECK(readlink("/dev/stdout", p, sizeof p) > 0);

        /* /proc shows the namespace's processes only: this one, pid 1. */
        CHECK(dir_entries("/proc", buf, sizeof buf));
        for (const char *q = buf; *q;) {
                size_t l = strcspn(q, " ");
                if (q[0] >= '0' && q[0] <= '9' && !(l == 1 && q[0] == '1'))
                        return child_fail(__LINE__, "/proc lists a process besides 1: %.*s", (int)l, q);
                q += l;
                if (*q == ' ')
                        q++;
        }
        CHECK(readlink("/proc/self", p, sizeof p) == 1 && p[0] == '1');
        CHECK_ERRNO(open("/proc/sys/kernel/hostname", O_WRONLY | O_CLOEXEC), EROFS);

        /* /sys read-only; with a network namespace of our own it lists only lo. */
        CHECK(statvfs("/sys", &sv) == 0 && (sv.f_flag & ST_RDONLY));
        if (f->net_none)
                CHECK(dir_entries("/sys/class/net", buf, sizeof buf) && streq(buf, "lo"));

        /* Nothing of the old root or the staging directory remains, nor the host's whole /dev. */
        {
                MountInfoTable t = {};
                CHECK(mountinfo_read(&t) == 0);
                for (size_t i = 0; i < t.n; i++)
                        if (startswith(t.entries[i].mount_point, "/tmp/root") ||
                            (streq(t.entries[i].fstype, "devtmpfs") && streq(t.entries[i].root, "/"))) {
                                char m[256];
                                pathf(m, sizeof m, "%s (%s)", t.entries[i].mount_point, t.entries[i].fstype);
                                mountinfo_table_done(&t);
                                return child_fail(__LINE__, "leftover mount %s", m);
                        }
                mountinfo_table_done(&t);
        }

        /* setuid-root binaries give nothing: nosuid alone (no no_new_privs yet), then the full drop. */
        pathf(p, sizeof p, "%s/id-suid", ws);
        {
                char *const argv[] = {p, (char *)"-u", NULL};
                r = run_capture(argv, buf, sizeof buf, drop_to_nobody_without_nnp);
                if (r != 0)
                        return child_fail(__LINE__, "setuid copy exited with %d", r);
                if (!streq(buf, "65534"))
                        return child_fail(__LINE__, "setuid copy ran with euid %s", buf);
                r = run_capture(argv, buf, sizeof buf, drop_to_nobody_confined);
                if (r != 0)
                        return child_fail(__LINE__, "setuid copy exited with %d after the drop", r);
                if (!streq(buf, "65534"))
                        return child_fail(__LINE__, "setuid copy ran with euid %s after the drop", buf);
        }

        /* HOME inside the workspace. */
        {
                _cleanup_free_ char *home = NULL;
                CHECK(mount_view_home(ws, &home) == 0);
                pathf(p, sizeof p, "%s/.home", ws);
                CHECK(streq(home, p));
        }
        return NULL;
}

static void test_view(void **state)
{
        Fixture *f = *state;
        char p[PATH_MAX];

        if (!f)
                skip();
        assert_child_ok(run_in_child(CLONE_NEWNS | CLONE_NEWPID, check_view, f));

        /* The file written inside landed in the host workspace; the host saw no mount. */
        pathf(p, sizeof p, "%s/written-inside", f->workspace);
        assert_int_equal(access(p, F_OK), 0);
        {
                _cleanup_free_ char *text = NULL;
                assert_int_equal(read_file_at(AT_FDCWD, f->extra_file, 4096, &text, NULL), 0);
                assert_string_equal(text, "extra secret");
        }
        MountInfoTable t = {};
        assert_int_equal(mountinfo_read(&t), 0);
        for (size_t i = 0; i < t.n; i++)
                assert_null(startswith(t.entries[i].mount_point, f->base));
        mountinfo_table_done(&t);
}

static void test_view_net_none(void **state)
{
        Fixture *f = *state;

        if (!f)
                skip();
        f->net_none = true;
        assert_child_ok(run_in_child(CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET, check_view, f));
        f->net_none = false;
}

static void test_view_tmp_target(void **state)
{
        Fixture *f = *state;

        if (!f)
                skip();
        f->tmp_target = true;
        assert_child_ok(run_in_child(CLONE_NEWNS | CLONE_NEWPID, check_view, f));
        f->tmp_target = false;
}

static void test_view_no_setattr(void **state)
{
        Fixture *f = *state;

        if (!f)
                skip();
        f->no_setattr = true;
        assert_child_ok(run_in_child(CLONE_NEWNS | CLONE_NEWPID, check_view, f));
        f->no_setattr = false;
}

/* Refusals that must happen before the view is entered. */
static const char *check_refusals(void *userdata)
{
        const Fixture *f = userdata;
        MountViewSpec spec = MOUNT_VIEW_SPEC_INIT;
        const char *step = NULL;
        char link[PATH_MAX];

        spec.workspace = f->workspace;
        spec.tmp_size = 0;
        CHECK(mount_view_setup(&spec, &step) == -EINVAL && streq(step, "arguments"));
        spec.tmp_size = TMP_SIZE;
        spec.workspace_target = "/x/../etc";
        CHECK(mount_view_setup(&spec, &step) == -EINVAL && streq(step, "arguments"));
        spec.workspace_target = "/";
        CHECK(mount_view_setup(&spec, &step) == -EINVAL);
        spec.workspace_target = NULL;
        spec.workspace_owner = 12345;
        CHECK(mount_view_setup(&spec, &step) == -EPERM && streq(step, "workspace"));
        spec.workspace_owner = (uid_t)-1;
        spec.workspace = f->extra_file;
        CHECK(mount_view_setup(&spec, &step) == -ENOTDIR && streq(step, "workspace"));

        /* A target the read-only root lacks and no mask or /tmp covers. */
        spec.workspace = f->workspace;
        spec.workspace_target = "/descartes-no-such-dir/ws";
        CHECK(mount_view_setup(&spec, &step) == -ENOENT && streq(step, "workspace-bind"));
        (void)link;
        return NULL;
}

static void test_refusals(void **state)
{
        Fixture *f = *state;

        if (!f)
                skip();
        assert_child_ok(run_in_child(CLONE_NEWNS | CLONE_NEWPID, check_refusals, f));
}

/* The fallback for kernels without mount_setattr: a remount walk keeps each mount's own flags. */
static const char *check_remount_walk(void *userdata)
{
        const Fixture *f = userdata;
        char a[PATH_MAX], b[PATH_MAX];
        struct statvfs sv;

        CHECK(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0);
        pathf(a, sizeof a, "%s/walk", f->base);
        pathf(b, sizeof b, "%s/walk/sub", f->base);
        CHECK(mkdir(a, 0755) == 0 || errno == EEXIST);
        CHECK(mount("t", a, "tmpfs", 0, "size=64k") == 0);
        CHECK(mkdir(b, 0755) == 0);
        CHECK(mount("t", b, "tmpfs", MS_NOEXEC, "size=64k") == 0);
        CHECK(mount_remount_subtree(a, MS_RDONLY | MS_NOSUID) == 0);
        CHECK(statvfs(a, &sv) == 0 && (sv.f_flag & ST_RDONLY) && (sv.f_flag & ST_NOSUID) &&
              !(sv.f_flag & ST_NOEXEC));
        CHECK(statvfs(b, &sv) == 0 && (sv.f_flag & ST_RDONLY) && (sv.f_flag & ST_NOSUID) &&
              (sv.f_flag & ST_NOEXEC));
        CHECK(mount_remount_subtree("/descartes-no-such-mount", MS_RDONLY) == -ENOENT);
        return NULL;
}

static void test_remount_walk(void **state)
{
        Fixture *f = *state;
        char a[PATH_MAX];

        if (!f)
                skip();
        assert_child_ok(run_in_child(CLONE_NEWNS, check_remount_walk, f));
        pathf(a, sizeof a, "%s/walk", f->base);
        assert_int_equal(rmdir(a), 0); /* empty: the tmpfs lived in the child's namespace only */
}

/* The control for the nosuid checks: outside the view, on a file system that honours setuid, the same copy
 * does run as root, so the checks inside the view can tell. */
static const char *check_suid_control(void *userdata)
{
        const Fixture *f = userdata;
        char *const argv[] = {(char *)f->suid, (char *)"-u", NULL};
        char buf[64];
        int r;

        r = run_capture(argv, buf, sizeof buf, drop_to_nobody_without_nnp);
        if (r != 0)
                return child_fail(__LINE__, "setuid copy exited with %d", r);
        if (!streq(buf, "0"))
                return child_fail(__LINE__, "setuid copy on the host ran with euid %s, not 0", buf);
        return NULL;
}

static void test_suid_control(void **state)
{
        Fixture *f = *state;
        struct statvfs sv;

        if (!f)
                skip();
        assert_int_equal(statvfs(f->base, &sv), 0);
        if (sv.f_flag & ST_NOSUID) {
                print_message("SKIP: %s is nosuid on this host\n", f->base);
                skip();
        }
        assert_child_ok(run_in_child(0, check_suid_control, f));
}

static void test_home(void **state)
{
        char *h = NULL;

        assert_int_equal(mount_view_home("/work/proj", &h), 0);
        assert_string_equal(h, "/work/proj/.home");
        free(h);
        assert_int_equal(mount_view_home("work", &h), -EINVAL);
        assert_int_equal(mount_view_home("/a/../b", &h), -EINVAL);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_home),
                cmocka_unit_test_setup_teardown(test_suid_control, setup, teardown),
                cmocka_unit_test_setup_teardown(test_view, setup, teardown),
                cmocka_unit_test_setup_teardown(test_view_net_none, setup, teardown),
                cmocka_unit_test_setup_teardown(test_view_tmp_target, setup, teardown),
                cmocka_unit_test_setup_teardown(test_view_no_setattr, setup, teardown),
                cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
                cmocka_unit_test_setup_teardown(test_remount_walk, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
