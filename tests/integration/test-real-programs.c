/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Real programs run unmodified in the default sandbox (descartes-agent, read-only host, own workspace as cwd
 * and HOME, net none, default seccomp policy): node, python3, git, cc, sh pipelines, 100 MB of writes. And a
 * memory limit on a host without the memory controller is refused through descartesctl. */
#include <errno.h>
#include <fcntl.h>
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

typedef struct Run {
        char *id;
        ProtoAgentInfo info;
        char *out; /* stdout and stderr, each line ending in \n */
} Run;

static void run_done(Run *r)
{
        free(r->id);
        proto_agent_info_done(&r->info);
        free(r->out);
}

static bool have(const char *prog)
{
        const char *dirs[] = {"/usr/local/bin", "/usr/bin", "/bin"};
        char p[256];

        for (size_t i = 0; i < ELEMENTSOF(dirs); i++) {
                (void)snprintf(p, sizeof p, "%s/%s", dirs[i], prog);
                if (access(p, X_OK) == 0)
                        return true;
        }
        return false;
}

static void append_lines(ITest *t, const char *id, ProtoStream stream, char **buf)
{
        _cleanup_strv_free_ char **lines = NULL;
        size_t n = 0;

        lines = itest_output_lines(t, id, stream, &n);
        for (size_t i = 0; i < n; i++) {
                char *nb = NULL;
                size_t len = strlen(lines[i]);
                bool nl = len > 0 && lines[i][len - 1] == '\n';
                assert_true(asprintf_safe(&nb, "%s%s%s", *buf ?: "", lines[i], nl ? "" : "\n") >= 0);
                free(*buf);
                *buf = nb;
        }
}

/* sh -c SCRIPT with the request's sandbox options; asserts exit 0 and returns the output. */
static void run_sh_opts(ITest *t, const char *script, const char *user, bool net_host, Run *ret)
{
        const char *argv[] = {"/bin/sh", "-c", script, NULL};
        ProtoStrPair env[] = {
                {(char *)"PATH", (char *)"/usr/local/bin:/usr/bin:/bin"},
                {(char *)"LANG", (char *)"C.UTF-8"},
        };
        ProtoSpawnArgs a = {};
        ProtoAgentInfo info = {};
        DescartesError err = {};

        a.argv = (char **)argv;
        a.n_argv = 3;
        a.env.pairs = env;
        a.env.n_pairs = ELEMENTSOF(env);
        a.user = (char *)user;
        a.has_net = net_host;
        a.net = PROTO_NET_HOST;
        if (wire_spawn(t->c, &a, &info, &err) < 0)
                fail_msg("spawn failed: %s", err.message);
        ret->id = strdup(info.id);
        assert_non_null(ret->id);
        proto_agent_info_done(&info);
        itest_wait_final(t, ret->id, 120000, &ret->info);
        append_lines(t, ret->id, PROTO_STREAM_STDOUT, &ret->out);
        append_lines(t, ret->id, PROTO_STREAM_STDERR, &ret->out);
        if (!ret->out)
                ret->out = strdup("");
        fprintf(stderr, "$ %s\n%s", script, ret->out);
        if (ret->info.state != PROTO_STATE_EXITED || ret->info.reason != PROTO_REASON_COMPLETED ||
            ret->info.exit_code != 0)
                fail_msg("the agent did not complete with 0 (state %s, reason %s, code %d)",
                         proto_state_to_string(ret->info.state), proto_reason_to_string(ret->info.reason),
                         ret->info.exit_code);
}

/* sh -c SCRIPT in a default sandbox. */
static void run_sh(ITest *t, const char *script, Run *ret)
{
        run_sh_opts(t, script, NULL, false, ret);
}

static void expect_out(const Run *r, const char *s)
{
        if (!strstr(r->out, s))
                fail_msg("expected \"%s\" in the output:\n%s", s, r->out);
}

static void test_environment(void **state)
{
        ITest *t = *state;
        _cleanup_free_ char *who = NULL;
        Run r = {};

        run_sh(t,
               "id -u; echo cwd=$(pwd); echo home=$HOME; test -d \"$HOME\" && test -w \"$HOME\" && echo "
               "home-writable; touch /tmp/x && echo tmp-writable",
               &r);
        /* a root caller's agent runs as a uid of its own from agent_uids (default 65536-99999), the one
         * its INFO says */
        assert_true(r.info.has_uid && r.info.has_gid);
        assert_in_range(r.info.uid, 65536, 99999);
        assert_int_equal(r.info.gid, r.info.uid);
        assert_true(asprintf_safe(&who, "%u\n", (unsigned)r.info.uid) >= 0);
        assert_true(strncmp(r.out, who, strlen(who)) == 0);
        /* cwd is the agent's workspace and HOME is in it */
        {
                _cleanup_free_ char *cwd = NULL, *home = NULL;
                assert_true(asprintf_safe(&cwd, "cwd=%s/agents/%s/work\n", t->h->state_dir, r.id) >= 0);
                assert_true(asprintf_safe(&home, "home=%s/agents/%s/work/.home\n", t->h->state_dir, r.id) >=
                            0);
                expect_out(&r, cwd);
                expect_out(&r, home);
        }
        expect_out(&r, "home-writable\n");
        expect_out(&r, "tmp-writable\n");
        run_done(&r);
}

static bool has_env_line(void *arg)
{
        void **a = arg;
        _cleanup_strv_free_ char **lines = NULL;
        size_t n = 0;

        lines = itest_output_lines(a[0], a[1], PROTO_STREAM_STDOUT, &n);
        return n > 0 && startswith(lines[0], "env:");
}

/* A spawn request's LD_PRELOAD and GLIBC_TUNABLES reach the agent, never its root shim: the daemon execs the
 * shim with a fixed environment (PATH only) and hands the agent's over as data. */
static void test_environment_not_in_shim(void **state)
{
        ITest *t = *state;
        const char *argv[] = {"/bin/sh", "-c",
                              "echo \"env:$MARKER:$LD_PRELOAD:$GLIBC_TUNABLES:$HOME\"; exec sleep 1000",
                              NULL};
        ProtoStrPair env[] = {
                {(char *)"PATH", (char *)"/usr/local/bin:/usr/bin:/bin"},
                {(char *)"LD_PRELOAD", (char *)"/nonexistent.so"},
                {(char *)"GLIBC_TUNABLES", (char *)"glibc.malloc.check=3"},
                {(char *)"MARKER", (char *)"descartes-marker-42"},
        };
        static const char expect_shim_env[] =
                "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
        _cleanup_free_ char *cg = NULL, *procs_path = NULL, *procs = NULL, *environ_path = NULL,
                            *shim_env = NULL, *expect = NULL, *id = NULL;
        _cleanup_strv_free_ char **lines = NULL;
        ProtoSpawnArgs a = {};
        ProtoAgentInfo info = {};
        DescartesError err = {};
        size_t n = 0, size = 0;
        int shim_pid = 0;

        a.argv = (char **)argv;
        a.n_argv = 3;
        a.env.pairs = env;
        a.env.n_pairs = ELEMENTSOF(env);
        if (wire_spawn(t->c, &a, &info, &err) < 0)
                fail_msg("spawn failed: %s", err.message);
        assert_int_equal(info.state, PROTO_STATE_RUNNING);
        id = strdup(info.id);
        assert_non_null(id);
        proto_agent_info_done(&info);

        /* the agent sees all of its variables, and the HOME the daemon adds */
        assert_int_equal(harness_wait_until(has_env_line, (void *[]){t, id}, 30000), 0);
        lines = itest_output_lines(t, id, PROTO_STREAM_STDOUT, &n);
        assert_true(asprintf_safe(&expect,
                                  "env:descartes-marker-42:/nonexistent.so:glibc.malloc.check=3:%s/agents/"
                                  "%s/work/.home",
                                  t->h->state_dir, id) >= 0);
        if (!startswith(lines[0], expect) || !strchr("\n", lines[0][strlen(expect)]))
                fail_msg("expected \"%s\", got \"%s\"", expect, lines[0]);

        /* the shim, alive while the agent sleeps: exactly the fixed PATH */
        cg = itest_agent_cgroup(t, id);
        assert_true(asprintf_safe(&procs_path, "%s/shim/cgroup.procs", cg) >= 0);
        assert_int_equal(read_file_at(AT_FDCWD, procs_path, 4096, &procs, NULL), 0);
        assert_int_equal(sscanf(procs, "%d", &shim_pid), 1);
        assert_true(asprintf_safe(&environ_path, "/proc/%d/environ", shim_pid) >= 0);
        assert_int_equal(read_file_at(AT_FDCWD, environ_path, 65536, &shim_env, &size), 0);
        assert_int_equal(size, sizeof expect_shim_env);
        assert_memory_equal(shim_env, expect_shim_env, sizeof expect_shim_env);

        assert_int_equal(wire_kill(t->c, id, &info, &err), 0);
        proto_agent_info_done(&info);
        itest_wait_final(t, id, 30000, &info);
        assert_int_equal(info.state, PROTO_STATE_EXITED);
        proto_agent_info_done(&info);
}

static void test_node(void **state)
{
        Run r = {};

        if (!have("node")) {
                fprintf(stderr, "node is not installed: skipping its check\n");
                skip();
        }
        run_sh(*state,
               "node -e 'const fs=require(\"fs\"); fs.writeFileSync(\"n.txt\", String(6*7)); "
               "console.log(\"node\", fs.readFileSync(\"n.txt\",\"utf8\"), require(\"os\").cpus().length > "
               "0)'",
               &r);
        expect_out(&r, "node 42 true\n");
        run_done(&r);
}

static void test_python(void **state)
{
        Run r = {};

        if (!have("python3")) {
                fprintf(stderr, "python3 is not installed: skipping its check\n");
                skip();
        }
        run_sh(*state,
               "python3 -c 'import json, os, subprocess, tempfile; "
               "d = tempfile.mkdtemp(); open(os.path.join(d, \"f\"), \"w\").write(\"x\"); "
               "print(\"py\", json.dumps({\"a\": sum(range(10))}), "
               "subprocess.run([\"echo\", \"sub\"], capture_output=True, text=True).stdout.strip())'",
               &r);
        expect_out(&r, "py {\"a\": 45} sub\n");
        run_done(&r);
}

static void test_git(void **state)
{
        Run r = {};

        if (!have("git")) {
                fprintf(stderr, "git is not installed: skipping its check\n");
                skip();
        }
        run_sh(*state,
               "set -e; git init -q repo; cd repo; git config user.email a@example.org; git config "
               "user.name "
               "agent; echo hello > README; git add README; git commit -q -m first; git log --oneline | wc "
               "-l; "
               "git status --porcelain | wc -l; echo git-done",
               &r);
        expect_out(&r, "1\n0\ngit-done\n");
        run_done(&r);
}

static void test_cc(void **state)
{
        Run r = {};

        if (!have("cc")) {
                fprintf(stderr, "cc is not installed: skipping its check\n");
                skip();
        }
        run_sh(*state,
               "set -e; printf '#include <stdio.h>\\nint main(void){printf(\"compiled %%d\\\\n\", "
               "6*7);return "
               "0;}\\n' > m.c; cc -O1 -o m m.c; ./m",
               &r);
        expect_out(&r, "compiled 42\n");
        /* the record keeps what it used once the cgroup is gone */
        assert_true(r.info.has_usage);
        assert_true(r.info.usage.cpu_usec > 0);
        run_done(&r);
}

static void test_pipeline(void **state)
{
        Run r = {};

        run_sh(*state,
               "seq 1 1000 | grep 7 | sort -rn | head -n 3 | tr '\\n' ' '; echo; echo abc | sed s/b/B/", &r);
        expect_out(&r, "997 987 979 \naBc\n");
        run_done(&r);
}

static void test_write_100mb(void **state)
{
        ITest *t = *state;
        _cleanup_free_ char *path = NULL;
        struct stat st;
        Run r = {};

        run_sh(t, "dd if=/dev/zero of=big bs=1M count=100 status=none && stat -c %s big", &r);
        expect_out(&r, "104857600\n");
        /* in the default workspace, a tmpfs of the agent's own view: nothing reached the host's disk */
        assert_true(asprintf_safe(&path, "%s/agents/%s/work/big", t->h->state_dir, r.id) >= 0);
        assert_true(stat(path, &st) < 0 && errno == ENOENT);
        run_done(&r);
}

static int ctl_capture(ITest *t, const char *args, char **ret_out);

static void test_user_and_net(void **state)
{
        ITest *t = *state;
        _cleanup_free_ char *host_net = NULL, *line = NULL;
        char buf[128];
        ssize_t n;
        Run r = {}, r2 = {};

        n = readlink("/proc/self/ns/net", buf, sizeof buf - 1);
        assert_true(n > 0);
        buf[n] = 0;
        host_net = strdup(buf);
        assert_true(asprintf_safe(&line, "net=%s\n", host_net) >= 0);

        /* a root caller may name the user; net host shares the host's network namespace */
        run_sh_opts(t, "id -u; echo net=$(readlink /proc/self/ns/net)", "nobody", true, &r);
        expect_out(&r, "65534\n");
        expect_out(&r, line);
        /* the default is a network namespace of its own */
        run_sh(t, "echo net=$(readlink /proc/self/ns/net)", &r2);
        assert_null(strstr(r2.out, line));
        run_done(&r);
        run_done(&r2);
}

static int setup_no_agent_uids(void **state)
{
        return itest_setup_with(&(HarnessOptions){.extra_config = "agent_uids = none"}, state);
}

/* agent_uids = none: a root caller's agents run as agent_user again, the one descartes-agent. */
static void test_agent_user_fallback(void **state)
{
        ITest *t = *state;
        struct passwd *pw = getpwnam("descartes-agent");
        _cleanup_free_ char *who = NULL;
        Run r = {};

        assert_non_null(pw);
        run_sh(t, "id -u", &r);
        assert_true(asprintf_safe(&who, "%u\n", (unsigned)pw->pw_uid) >= 0);
        expect_out(&r, who);
        assert_true(r.info.has_uid);
        assert_int_equal(r.info.uid, pw->pw_uid);
        assert_int_equal(r.info.gid, pw->pw_gid);
        run_done(&r);
}

static void test_refusals(void **state)
{
        ITest *t = *state;
        _cleanup_free_ char *out = NULL;

        /* root only with allow_root; an unknown user; a workspace that does not exist; an unknown policy */
        assert_int_equal(ctl_capture(t, "spawn --user root -- /bin/true", &out), 7);
        assert_non_null(strstr(out, "allow_root"));
        free(out);
        assert_int_equal(ctl_capture(t, "spawn --user no-such-user-descartes -- /bin/true", &out), 11);
        free(out);
        assert_int_equal(ctl_capture(t, "spawn --workspace /nonexistent-descartes -- /bin/true", &out), 11);
        free(out);
        assert_int_equal(ctl_capture(t, "spawn --policy no-such-policy -- /bin/true", &out), 11);
        free(out);
        /* a working directory the agent cannot enter fails at that stage, named */
        assert_int_equal(ctl_capture(t, "spawn --cwd /nonexistent-descartes -- /bin/true", &out), 8);
        fprintf(stderr, "descartesctl: %s", out);
        assert_non_null(strstr(out, "cwd"));
}

/* Runs descartesctl with stderr captured; returns its exit status. */
static int ctl_capture(ITest *t, const char *args, char **ret_out)
{
        _cleanup_free_ char *cmd = NULL;
        char buf[4096];
        size_t n = 0;
        FILE *f;
        int status;

        assert_true(asprintf_safe(&cmd, "'%s' -H '%s' %s 2>&1", harness_descartesctl(), t->h->control,
                                  args) >= 0);
        f = popen(cmd, "re");
        assert_non_null(f);
        n = fread(buf, 1, sizeof buf - 1, f);
        buf[n] = 0;
        status = pclose(f);
        *ret_out = strdup(buf);
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

static void test_memory_unenforceable(void **state)
{
        ITest *t = *state;
        _cleanup_free_ char *controllers = NULL, *path = NULL, *out = NULL;

        assert_true(asprintf_safe(&path, "%s/cgroup.controllers", t->h->cgroup_root) >= 0);
        assert_int_equal(read_file_at(AT_FDCWD, path, 4096, &controllers, NULL), 0);
        if (strstr(controllers, "memory")) {
                fprintf(stderr, "this host has the memory controller: a memory limit is enforceable here\n");
                skip();
        }
        assert_int_equal(ctl_capture(t, "spawn --memory 64M -- /bin/true", &out), 9);
        fprintf(stderr, "descartesctl: %s", out);
        assert_non_null(strstr(out, "memory"));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_environment),
                cmocka_unit_test(test_environment_not_in_shim),
                cmocka_unit_test(test_node),
                cmocka_unit_test(test_python),
                cmocka_unit_test(test_git),
                cmocka_unit_test(test_cc),
                cmocka_unit_test(test_pipeline),
                cmocka_unit_test(test_write_100mb),
                cmocka_unit_test(test_memory_unenforceable),
                cmocka_unit_test(test_user_and_net),
                cmocka_unit_test(test_refusals),
                cmocka_unit_test_setup_teardown(test_agent_user_fallback, setup_no_agent_uids,
                                                itest_teardown),
        };

        if (!getpwnam("descartes-agent")) {
                fprintf(stderr,
                        "SKIP: the system user descartes-agent does not exist (scripts/setup makes it)\n");
                return 77;
        }
        return cmocka_run_group_tests(tests, itest_setup, itest_teardown);
}
