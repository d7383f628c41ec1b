/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The escape suite: inside a default sandbox (no sandbox option in the request), escape-probe tries each way
 * out and prints what happened; each line is asserted. The agents of this root caller each run as a uid of
 * their own (agent_uids). The test leaves a world-writable unix socket in a directory of the host's /run
 * (and one in its /tmp) for agents not to reach, and a file there that mask_keep shows them. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "fd-util.h"
#include "itest-util.h"
#include "string-util.h"

static char staged_probe[PATH_MAX];
static char run_dir[PATH_MAX];  /* under the host's /run: svc.sock, kept.txt */
static char tmp_sock[PATH_MAX]; /* in the host's /tmp */

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

/* The uid a root caller's agent ran as: its own, from agent_uids (default 65536-99999), never the
 * agent_user's. */
static uid_t run_uid(const Run *r)
{
        struct passwd *pw = getpwnam("descartes-agent");

        assert_true(r->info.has_uid && r->info.has_gid);
        assert_in_range(r->info.uid, 65536, 99999);
        assert_int_equal(r->info.gid, r->info.uid);
        assert_true(!pw || pw->pw_uid != r->info.uid);
        return r->info.uid;
}

static void expect_line(const Run *r, const char *line)
{
        if (!strstr(r->out, line))
                fail_msg("expected \"%s\" in:\n%s", line, r->out);
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
                assert_int_equal(fchown(fd, run_uid(&a), (gid_t)-1), 0);
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

        /* the directory is the workspace (a root caller may name any, idmapped to the agent): nosuid and
         * no_new_privs keep euid */
        {
                const char *argv[] = {probe_path(), "setuid", suid, NULL};
                Run r = {};

                run_agent(t, dir, argv, &r);
                fprintf(stderr, "probe setuid:\n%s", r.out);
                assert_int_equal(r.info.exit_code, 0);
                assert_true(asprintf_safe(&expect, "euid: %u uid: %u\n", (unsigned)run_uid(&r),
                                          (unsigned)run_uid(&r)) >= 0);
                expect_line(&r, expect);
                run_done(&r);
        }
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
        const char *argv[] = {probe_path(), "euid", NULL};
        _cleanup_free_ char *expect = NULL;
        Run r = {};

        run_agent(*state, NULL, argv, &r);
        assert_true(asprintf_safe(&expect, "euid: %u uid: %u\n", (unsigned)run_uid(&r),
                                  (unsigned)run_uid(&r)) >= 0);
        expect_line(&r, expect);
        run_done(&r);
}

static bool file_exists(void *path)
{
        return access(path, F_OK) == 0;
}

/* Two agents of a root caller with workspaces under one parent, as an orchestrator makes them (root's,
 * 0700): each writes its own through the idmapped mount, neither reads the other's nor signals it, and
 * they run as two uids. */
static void test_agents_apart(void **state)
{
        ITest *t = *state;
        char parent[] = "/var/tmp/descartes-shared-XXXXXX";
        const char *sleeper[] = {"/bin/sh", "-c", "echo secret > secret && exec sleep 1000", NULL};
        _cleanup_free_ char *ws_a = NULL, *ws_b = NULL, *secret = NULL, *text = NULL, *pid = NULL;
        ProtoSpawnArgs a = {};
        ProtoAgentInfo info = {}, done = {};
        DescartesError err = {};
        struct stat st;
        Run b = {};

        assert_non_null(mkdtemp(parent));
        assert_int_equal(chmod(parent, 0755), 0);
        assert_true(asprintf_safe(&ws_a, "%s/ws-a", parent) >= 0);
        assert_true(asprintf_safe(&ws_b, "%s/ws-b", parent) >= 0);
        assert_true(asprintf_safe(&secret, "%s/secret", ws_a) >= 0);
        assert_int_equal(mkdir(ws_a, 0700), 0);
        assert_int_equal(mkdir(ws_b, 0700), 0);

        /* A writes its secret in its workspace and stays */
        a.argv = (char **)sleeper;
        a.n_argv = 3;
        a.workspace = ws_a;
        if (wire_spawn(t->c, &a, &info, &err) < 0)
                fail_msg("spawn in %s failed: %s", ws_a, err.message);
        assert_true(info.has_pid && info.has_uid);
        assert_int_equal(harness_wait_until(file_exists, secret, 20000), 0);
        /* written through the idmapped mount: on disk it is the workspace owner's, root's */
        assert_int_equal(stat(secret, &st), 0);
        assert_int_equal(st.st_uid, 0);
        assert_int_equal(st.st_gid, 0);

        /* B, in the other workspace: A's is root's 0700 to it, and A is out of its reach */
        {
                const char *argv[] = {probe_path(), "read", secret, NULL};

                run_agent(t, ws_b, argv, &b);
                fprintf(stderr, "probe read (B):\n%s", b.out);
                expect_line(&b, "read-other: EACCES\n");
                assert_int_not_equal(run_uid(&b), info.uid);
                run_done(&b);
        }
        assert_true(asprintf_safe(&pid, "%d", info.pid) >= 0);
        {
                const char *argv[] = {probe_path(), "signal", pid, NULL};

                run_agent(t, ws_b, argv, &b);
                fprintf(stderr, "probe signal (B):\n%s", b.out);
                expect_line(&b, "signal-other: ESRCH\n");
                run_done(&b);
        }
        /* A is untouched and its secret too */
        assert_int_equal(read_file_at(AT_FDCWD, secret, 64, &text, NULL), 0);
        assert_string_equal(text, "secret\n");
        assert_int_equal(kill(info.pid, 0), 0);

        assert_int_equal(wire_kill(t->c, info.id, NULL, &err), 0);
        itest_wait_final(t, info.id, 20000, &done);
        assert_int_equal(wire_remove(t->c, info.id, NULL, &err), 0);
        proto_agent_info_done(&done);
        proto_agent_info_done(&info);
        (void)rm_rf_at(AT_FDCWD, parent);
}

/* net none means no host service: the unix sockets of the host's /run (and /var/run) and /tmp are out of
 * reach, world-writable as they are; the file mask_keep names in /run is readable. */
static void test_host_sockets(void **state)
{
        ITest *t = *state;
        _cleanup_free_ char *sock = NULL, *var_sock = NULL, *kept = NULL, *tools = NULL;
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        _cleanup_close_ int fd = -EBADF;

        assert_true(asprintf_safe(&sock, "%s/svc.sock", run_dir) >= 0);
        assert_true(asprintf_safe(&var_sock, "/var%s/svc.sock", run_dir) >= 0);
        assert_true(asprintf_safe(&kept, "%s/kept.txt", run_dir) >= 0);
        assert_true(asprintf_safe(&tools, "%s/tools/escape-probe", run_dir) >= 0);
        /* the sockets do answer on the host */
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        assert_true(fd >= 0);
        (void)snprintf(sa.sun_path, sizeof sa.sun_path, "%s", sock);
        assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);

        probe_expect(t, NULL, "connect-unix", sock, (const char *[]){"connect-control: ENOENT\n", NULL});
        if (access(var_sock, F_OK) == 0)
                probe_expect(t, NULL, "connect-unix", var_sock,
                             (const char *[]){"connect-control: ENOENT\n", NULL});
        probe_expect(t, NULL, "connect-unix", tmp_sock, (const char *[]){"connect-control: ENOENT\n", NULL});
        probe_expect(t, NULL, "read", kept, (const char *[]){"read-other: ok\n", NULL});
        /* a kept symbolic link (as NixOS's /run/current-system) is there, and leads where it did */
        probe_expect(t, NULL, "read", tools, (const char *[]){"read-other: ok\n", NULL});
}

/* A named workspace on a file system that cannot be idmapped (procfs): refused, never shared. */
static void test_idmap_refused(void **state)
{
        ITest *t = *state;
        const char *argv[] = {"/bin/true", NULL};
        ProtoSpawnArgs a = {};
        ProtoAgentInfo info = {};
        DescartesError err = {};

        a.argv = (char **)argv;
        a.n_argv = 1;
        a.workspace = (char *)"/proc/sys";
        assert_true(wire_spawn(t->c, &a, &info, &err) < 0);
        assert_int_equal(err.code, DESCARTES_ERROR_CODE_UNENFORCEABLE);
        if (!strstr(err.message, "cannot be idmapped"))
                fail_msg("unexpected message: %s", err.message);
}

static void test_vsock_personality(void **state)
{
        probe_expect(*state, NULL, "vsock", NULL, (const char *[]){"vsock: EAFNOSUPPORT\n", NULL});
        probe_expect(*state, NULL, "personality", NULL,
                     (const char *[]){"personality-bsd: EPERM\n", "personality-norandom: EPERM\n",
                                      "personality-query: ok\n", NULL});
}

/* A listening, world-writable unix socket at path; its fd (kept open by the test). */
static int listen_unix(const char *path)
{
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

        if (fd < 0)
                return -errno;
        (void)snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
        if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, 8) < 0 || chmod(path, 0777) < 0) {
                int r = -errno;
                close(fd);
                return r;
        }
        return fd;
}

static int setup(void **state)
{
        _cleanup_free_ char *conf = NULL;

        if (asprintf_safe(&conf,
                          "output_scan_budget = 64K\nmask_keep = /etc/resolv.conf %s/kept.txt %s/tools\n",
                          run_dir, run_dir) < 0)
                return -1;
        return itest_setup_with(&(HarnessOptions){.extra_config = conf}, state);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_identity),
                cmocka_unit_test(test_syscalls),
                cmocka_unit_test(test_system_files),
                cmocka_unit_test(test_other_workspace),
                cmocka_unit_test(test_proc),
                cmocka_unit_test(test_control_socket),
                cmocka_unit_test(test_net_none),
                cmocka_unit_test(test_setuid),
                cmocka_unit_test(test_cgroup),
                cmocka_unit_test(test_kill),
                cmocka_unit_test(test_agents_apart),
                cmocka_unit_test(test_host_sockets),
                cmocka_unit_test(test_vsock_personality),
                cmocka_unit_test(test_idmap_refused),
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
        {
                _cleanup_close_ int run_fd = -EBADF, tmp_fd = -EBADF;
                _cleanup_free_ char *path = NULL;

                (void)snprintf(run_dir, sizeof run_dir, "/run/descartes-escape-XXXXXX");
                (void)snprintf(tmp_sock, sizeof tmp_sock, "/tmp/descartes-escape-%d.sock", (int)getpid());
                if (!mkdtemp(run_dir) || chmod(run_dir, 0755) < 0 ||
                    asprintf_safe(&path, "%s/svc.sock", run_dir) < 0 || (run_fd = listen_unix(path)) < 0 ||
                    (tmp_fd = listen_unix(tmp_sock)) < 0) {
                        fprintf(stderr, "cannot make the host's sockets in /run and /tmp: %m\n");
                        r = 1;
                } else {
                        free(path);
                        path = NULL;
                        if (asprintf_safe(&path, "%s/kept.txt", run_dir) < 0 ||
                            write_file_replace_at(AT_FDCWD, path, "kept\n", 5, 0644, false) < 0)
                                r = 1;
                        free(path);
                        path = NULL;
                        if (r == 1 || asprintf_safe(&path, "%s/tools", run_dir) < 0 ||
                            symlink(dir, path) < 0)
                                r = 1;
                        else
                                r = cmocka_run_group_tests(tests, setup, itest_teardown);
                }
                (void)unlink(tmp_sock);
                if (run_dir[0] && !strstr(run_dir, "XXXXXX"))
                        (void)rm_rf_at(AT_FDCWD, run_dir);
        }
        (void)rm_rf_at(AT_FDCWD, dir);
        return r;
}
