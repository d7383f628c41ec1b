/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The escape suite: inside a default sandbox (no sandbox option in the request), escape-probe tries each way
 * out and prints what happened; each line is asserted. The agents run as descartes-agent (root caller). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "fd-util.h"
#include "itest-util.h"
#include "string-util.h"

static char staged_probe[PATH_MAX];

static const char *probe_path(void)
{
        return staged_probe;
}

/* The agent sees the host root read-only but a private /tmp and masks over /home, /root and the daemon's
 * dirs: a build tree in any of those (a checkout under /tmp, say) is invisible inside the sandbox. So the
 * probe is copied to a fresh directory under /var/tmp, which the sandbox shows as it is. */
static int stage_probe(char *dir, size_t dir_size)
{
        const char *src = getenv("ESCAPE_PROBE");
        _cleanup_close_ int in = -EBADF, out = -EBADF;
        char buf[65536];
        ssize_t k;

        if (!src || !*src)
                return -ENOENT;
        (void)snprintf(dir, dir_size, "/var/tmp/descartes-escape-XXXXXX");
        if (!mkdtemp(dir))
                return -errno;
        if (chmod(dir, 0755) < 0)
                return -errno;
        (void)snprintf(staged_probe, sizeof staged_probe, "%s/escape-probe", dir);
        in = open(src, O_RDONLY | O_CLOEXEC);
        if (in < 0)
                return -errno;
        out = open(staged_probe, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0755);
        if (out < 0)
                return -errno;
        while ((k = read(in, buf, sizeof buf)) > 0)
                if (loop_write(out, buf, (size_t)k) < 0)
                        return -EIO;
        return k < 0 ? -errno : 0;
}

typedef struct Run {
        char *id;
        ProtoAgentInfo info;
        char *out; /* stdout, lines joined with \n */
} Run;

static void run_done(Run *r)
{
        free(r->id);
        proto_agent_info_done(&r->info);
        free(r->out);
}

/* Spawns argv with the default sandbox (workspace: NULL for the agent's own), waits for its end, collects
 * its stdout. */
static void run_agent(ITest *t, const char *workspace, const char *const *argv, Run *ret)
{
        ProtoSpawnArgs a = {};
        /* In a sanitizer build the probe is instrumented, and LeakSanitizer needs ptrace, which the sandbox
         * denies: it would fail the probe at exit. */
        ProtoStrPair env[] = {{(char *)"PATH", (char *)"/usr/local/bin:/usr/bin:/bin"},
                              {(char *)"ASAN_OPTIONS", (char *)"detect_leaks=0"}};
        ProtoAgentInfo info = {};
        DescartesError err = {};
        _cleanup_strv_free_ char **lines = NULL;
        size_t n = 0, len = 1;

        a.argv = (char **)argv;
        a.n_argv = strv_length((char *const *)argv);
        a.env.pairs = env;
        a.env.n_pairs = ELEMENTSOF(env);
        a.workspace = (char *)workspace;
        if (wire_spawn(t->c, &a, &info, &err) < 0)
                fail_msg("spawn %s %s failed: %s", argv[0], argv[1] ?: "", err.message);
        ret->id = strdup(info.id);
        assert_non_null(ret->id);
        proto_agent_info_done(&info);
        itest_wait_final(t, ret->id, 20000, &ret->info);
        lines = itest_output_lines(t, ret->id, PROTO_STREAM_STDOUT, &n);
        for (size_t i = 0; i < n; i++)
                len += strlen(lines[i]) + 1;
        ret->out = calloc(1, len);
        assert_non_null(ret->out);
        for (size_t i = 0; i < n; i++) {
                strcat(ret->out, lines[i]);
                if (ret->out[strlen(ret->out) - 1] != '\n')
                        strcat(ret->out, "\n");
        }
}

/* Runs the probe and asserts a clean exit 0 and that each expected line is in its output. */
static void probe_expect(ITest *t, const char *workspace, const char *cmd, const char *arg,
                         const char *const *expect)
{
        const char *argv[] = {probe_path(), cmd, arg, NULL};
        Run r = {};

        run_agent(t, workspace, argv, &r);
        fprintf(stderr, "probe %s:\n%s", cmd, r.out);
        assert_int_equal(r.info.state, PROTO_STATE_EXITED);
        assert_int_equal(r.info.reason, PROTO_REASON_COMPLETED);
        assert_int_equal(r.info.exit_code, 0);
        for (const char *const *e = expect; *e; e++)
                if (!strstr(r.out, *e))
                        fail_msg("probe %s: expected \"%s\" in:\n%s", cmd, *e, r.out);
        run_done(&r);
}

static uid_t agent_uid(void)
{
        struct passwd *pw = getpwnam("descartes-agent");

        assert_non_null(pw);
        return pw->pw_uid;
}

static void test_syscalls(void **state)
{
        ITest *t = *state;

        probe_expect(t, NULL, "mount", NULL, (const char *[]){"mount: EPERM\n", "umount: EPERM\n", NULL});
        probe_expect(t, NULL, "unshare", NULL,
                     (const char *[]){"unshare-user: EPERM\n", "unshare-mnt: EPERM\n",
                                      "unshare-net: EPERM\n", NULL});
        probe_expect(t, NULL, "setns", NULL, (const char *[]){"setns: EPERM\n", NULL});
        probe_expect(t, NULL, "ptrace", NULL,
                     (const char *[]){"ptrace-child: EPERM\n", "ptrace-init: EPERM\n", NULL});
        probe_expect(t, NULL, "modules", NULL,
                     (const char *[]){"init_module: EPERM\n", "finit_module: EPERM\n", NULL});
        probe_expect(t, NULL, "reboot", NULL, (const char *[]){"reboot: EPERM\n", NULL});
        probe_expect(t, NULL, "bpf", NULL, (const char *[]){"bpf: EPERM\n", NULL});
        probe_expect(t, NULL, "keyctl", NULL, (const char *[]){"keyctl: EPERM\n", "add_key: EPERM\n", NULL});
}

static void test_system_files(void **state)
{
        probe_expect(*state, NULL, "write-system", NULL,
                     (const char *[]){"write-usr: EROFS\n", "write-etc: EROFS\n",
                                      "write-etc-passwd: EACCES\n", NULL});
}

static void test_other_workspace(void **state)
{
        ITest *t = *state;
        const char *argv[] = {probe_path(), "write-file", "secret", NULL};
        _cleanup_free_ char *path = NULL;
        struct stat st;
        Run a = {};

        /* agent A writes a file in its own default workspace (its cwd): a tmpfs in A's view only
         * (workspace_size), so nothing of it is on the host once A has ended */
        run_agent(t, NULL, argv, &a);
        assert_non_null(strstr(a.out, "write-file: ok\n"));
        assert_true(asprintf_safe(&path, "%s/agents/%s/work/secret", t->h->state_dir, a.id) >= 0);
        assert_true(stat(path, &st) < 0 && errno == ENOENT);
        /* what an on-disk workspace (workspace_size = max) would hold there: agent B cannot reach it either,
         * the state dir is masked */
        {
                int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
                assert_true(fd >= 0);
                assert_int_equal(write(fd, "secret\n", 7), 7);
                assert_int_equal(fchown(fd, agent_uid(), (gid_t)-1), 0);
                close(fd);
        }
        probe_expect(t, NULL, "read", path, (const char *[]){"read-other: ENOENT\n", NULL});
        run_done(&a);
}

static void test_proc(void **state)
{
        ITest *t = *state;
        const char *argv[] = {probe_path(), "proc", NULL};
        int n = -1;
        char comm[64] = "";
        Run r = {};

        run_agent(t, NULL, argv, &r);
        assert_int_equal(sscanf(r.out, "proc: %d pids, 1=%63s", &n, comm), 2);
        /* the shim (pid 1) and the probe: no host process */
        assert_int_equal(n, 2);
        assert_string_equal(comm, "descartes-shim");
        run_done(&r);
}

static void test_control_socket(void **state)
{
        ITest *t = *state;
        _cleanup_free_ char *sock = NULL;
        struct stat st;

        assert_true(asprintf_safe(&sock, "%s/control", t->h->runtime_dir) >= 0);
        assert_int_equal(stat(sock, &st), 0);
        assert_true(S_ISSOCK(st.st_mode));
        probe_expect(t, NULL, "connect-unix", sock, (const char *[]){"connect-control: ENOENT\n", NULL});
}

static void test_net_none(void **state)
{
        probe_expect(*state, NULL, "net", NULL,
                     (const char *[]){"connect-remote: ENETUNREACH\n", "loopback: ok\n", NULL});
}

static void test_setuid(void **state)
{
        ITest *t = *state;
        char dir[] = "/tmp/descartes-escape-XXXXXX";
        _cleanup_free_ char *suid = NULL, *expect = NULL, *data = NULL;
        size_t size = 0;
        struct stat st;

        assert_non_null(mkdtemp(dir));
        assert_int_equal(chmod(dir, 0755), 0);
        assert_true(asprintf_safe(&suid, "%s/probe-suid", dir) >= 0);
        assert_int_equal(read_file_at(AT_FDCWD, probe_path(), 64 * 1024 * 1024, &data, &size), 0);
        assert_int_equal(write_file_replace_at(AT_FDCWD, suid, data, size, 0755, true), 0);
        assert_int_equal(chown(suid, 0, 0), 0);
        assert_int_equal(chmod(suid, 04755), 0);
        assert_int_equal(stat(suid, &st), 0);
        assert_true(st.st_mode & S_ISUID);
        assert_int_equal(st.st_uid, 0);

        /* the directory is the workspace (a root caller may name any): nosuid and no_new_privs keep euid */
        assert_true(asprintf_safe(&expect, "euid: %u uid: %u\n", (unsigned)agent_uid(),
                                  (unsigned)agent_uid()) >= 0);
        probe_expect(t, dir, "setuid", suid, (const char *[]){expect, NULL});
        (void)rm_rf_at(AT_FDCWD, dir);
}

static void test_cgroup(void **state)
{
        ITest *t = *state;
        const char *argv[] = {probe_path(), "cgroup", NULL};
        const char *files[] = {"pids.max", "memory.max", "procs", "freeze"};
        const char *err;
        char line[128];
        Run r = {};

        run_agent(t, NULL, argv, &r);
        fprintf(stderr, "probe cgroup:\n%s", r.out);
        assert_int_equal(r.info.exit_code, 0);
        assert_non_null(strstr(r.out, "cgroup-mount: EPERM\n"));
        /* With net=none the view has a fresh sysfs with nothing mounted at /sys/fs/cgroup: the files are
         * not there. Where the host's /sys is kept instead, it is read-only. */
        if (strstr(r.out, "cgroup: no cgroup2 mount\n"))
                err = "ENOENT";
        else {
                assert_non_null(strstr(r.out, "cgroup: visible\n"));
                err = "EROFS";
        }
        for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                (void)snprintf(line, sizeof line, "cgroup-%s: %s\n", files[i], err);
                if (!strstr(r.out, line))
                        fail_msg("expected \"%s\" in:\n%s", line, r.out);
        }
        run_done(&r);
}

static void test_kill(void **state)
{
        ITest *t = *state;
        char pid[32];

        (void)snprintf(pid, sizeof pid, "%d", (int)t->h->daemon_pid);
        /* the shim is root and PID 1: the agent may not signal it; the daemon is not in its namespace */
        probe_expect(t, NULL, "kill", pid,
                     (const char *[]){"kill-shim: EPERM\n", "kill-shim-term: EPERM\n",
                                      "kill-daemon: ESRCH\n", "shim-after-kill: descartes-shim\n", NULL});
        /* and the daemon still answers */
        assert_int_equal(harness_ctl(t->h, NULL, 0, NULL, "health", NULL), 0);
}

static void test_identity(void **state)
{
        _cleanup_free_ char *expect = NULL;

        assert_true(asprintf_safe(&expect, "euid: %u uid: %u\n", (unsigned)agent_uid(),
                                  (unsigned)agent_uid()) >= 0);
        probe_expect(*state, NULL, "euid", NULL, (const char *[]){expect, NULL});
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_identity),     cmocka_unit_test(test_syscalls),
                cmocka_unit_test(test_system_files), cmocka_unit_test(test_other_workspace),
                cmocka_unit_test(test_proc),         cmocka_unit_test(test_control_socket),
                cmocka_unit_test(test_net_none),     cmocka_unit_test(test_setuid),
                cmocka_unit_test(test_cgroup),       cmocka_unit_test(test_kill),
        };

        char dir[PATH_MAX];
        int r;

        if (!getpwnam("descartes-agent")) {
                fprintf(stderr,
                        "SKIP: the system user descartes-agent does not exist (scripts/setup makes it)\n");
                return 77;
        }
        if (geteuid() != 0) {
                fprintf(stderr, "SKIP: the escape suite needs root (it starts descartesd)\n");
                return 77;
        }
        r = stage_probe(dir, sizeof dir);
        if (r < 0) {
                fprintf(stderr, "cannot stage escape-probe from $ESCAPE_PROBE into /var/tmp: %s\n",
                        strerror(-r));
                (void)rm_rf_at(AT_FDCWD, dir);
                return 1;
        }
        r = cmocka_run_group_tests(tests, itest_setup, itest_teardown);
        (void)rm_rf_at(AT_FDCWD, dir);
        return r;
}
