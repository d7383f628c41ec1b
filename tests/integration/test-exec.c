/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* exec: a command run inside a running agent's sandbox gets exactly the agent's confinement (the same
 * network, mount, pid and cgroup namespaces, cgroup, uid and gid, no capabilities, no_new_privs, the same
 * seccomp filter, no descriptor of the shim), its exit code, output and stdin; its timeout; and the
 * refusals: a paused or ended agent (conflict), another tenant's agent (not_found, like an unknown one), bad
 * input. */
#include <errno.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "itest-util.h"
#include "string-util.h"

#define TENANT_UID 1 /* daemon: in the socket's group for the test */

/* What a process of the sandbox says about itself; run by the agent and by exec alike. */
#define FACTS                                                                                               \
        "echo net $(readlink /proc/self/ns/net); echo mnt $(readlink /proc/self/ns/mnt); "                  \
        "echo pidns $(readlink /proc/self/ns/pid); echo cgns $(readlink /proc/self/ns/cgroup); "            \
        "echo uts $(readlink /proc/self/ns/uts); echo ipc $(readlink /proc/self/ns/ipc); "                  \
        "echo cgroup $(cat /proc/self/cgroup); echo ids $(id -u) $(id -g) $(id -G); echo cwd $(pwd); "      \
        "grep -E '^(Seccomp|Seccomp_filters|NoNewPrivs|CapInh|CapPrm|CapEff|CapBnd|CapAmb):' "              \
        "/proc/self/status | tr -s '\\t ' ' '; echo fds $(ls /proc/self/fd | wc -l)"

static char **facts_of_agent(ITest *t, const char *id, size_t *ret_n)
{
        for (unsigned i = 0; i < 500; i++) {
                char **lines = itest_output_lines(t, id, PROTO_STREAM_STDOUT, ret_n);
                if (*ret_n > 0 && streq(lines[*ret_n - 1], "done"))
                        return lines;
                strv_free(lines);
                itest_sleep_ms(20);
        }
        fail_msg("agent %s never said done", id);
        return NULL;
}

static int do_exec(ITest *t, const char *id, const char *const *argv, const char *input, uint64_t timeout_ms,
                   ProtoExecResult *ret, DescartesError *err)
{
        ProtoExecArgs a = {.agent = (char *)id, .argv = (char **)argv};

        a.n_argv = strv_length((char *const *)argv);
        if (input) {
                a.input.data = (uint8_t *)input;
                a.input.size = strlen(input);
        }
        a.has_timeout_ms = timeout_ms > 0;
        a.timeout_ms = timeout_ms;
        return wire_exec(t->c, &a, ret, err);
}

/* text's lines (without an empty last one) */
static char **lines_of(const char *text)
{
        char **l = NULL;
        const char *p = text;

        while (*p) {
                const char *nl = strchr(p, '\n');
                size_t n = nl ? (size_t)(nl - p) : strlen(p);
                _cleanup_free_ char *line = strndup(p, n);

                assert_non_null(line);
                assert_int_equal(strv_extend(&l, line), 0);
                p += n + (nl ? 1 : 0);
        }
        if (!l)
                l = calloc(1, sizeof *l);
        assert_non_null(l);
        return l;
}

static char *out_text(const ProtoBytes *b)
{
        char *s = strndup(b->data ? (const char *)b->data : "", b->data ? b->size : 0);
        assert_non_null(s);
        return s;
}

/* The agent's facts and exec's are the same, line by line, but the fds line: the agent also has its action
 * channel (fd 3, docs/agent-protocol.md), which a command of exec does not get. */
static void test_same_sandbox(void **state)
{
        ITest *t = *state;
        const char *const agent_argv[] = {"sh", "-c", FACTS "; echo done; exec sleep 1000", NULL};
        const char *const exec_argv[] = {"sh", "-c", FACTS "; echo done", NULL};
        _cleanup_(proto_exec_result_done) ProtoExecResult x = {};
        _cleanup_strv_free_ char **mine = NULL, **theirs = NULL;
        _cleanup_free_ char *id = NULL, *text = NULL;
        DescartesError err;
        size_t n_mine, n_theirs = 0;

        id = itest_spawn(t, false, agent_argv);
        theirs = facts_of_agent(t, id, &n_theirs);
        if (do_exec(t, id, exec_argv, NULL, 0, &x, &err) < 0)
                fail_msg("exec: %s", err.message);
        assert_true(x.has_exit_code);
        assert_int_equal(x.exit_code, 0);
        assert_false(x.timed_out);
        text = out_text(&x.out);
        mine = lines_of(text);
        n_mine = strv_length(mine);
        assert_int_equal(n_mine, n_theirs);
        for (size_t i = 0; i < n_theirs; i++) {
                fprintf(stderr, "agent: %s\nexec:  %s\n", theirs[i], mine[i]);
                if (startswith(theirs[i], "fds "))
                        assert_string_equal(theirs[i], "fds 5");
                else
                        assert_string_equal(mine[i], theirs[i]);
        }
        /* and what they are: a filter loaded once, no_new_privs, no capability, not root, 0 1 2 and the
         * one ls reads (no fd of the shim leaked) */
        assert_true(strv_contains(mine, "Seccomp: 2"));
        assert_true(strv_contains(mine, "Seccomp_filters: 1"));
        assert_true(strv_contains(mine, "NoNewPrivs: 1"));
        assert_true(strv_contains(mine, "CapEff: 0000000000000000"));
        assert_true(strv_contains(mine, "CapBnd: 0000000000000000"));
        assert_true(strv_contains(mine, "fds 4"));
        assert_false(strv_contains(mine, "ids 0 0 0"));
}

/* It sees the agent's processes only: the shim as PID 1, the agent, itself; never the host's. */
static void test_pid_namespace(void **state)
{
        ITest *t = *state;
        const char *const agent_argv[] = {"sleep", "1000", NULL};
        const char *const exec_argv[] = {
                "sh", "-c", "for p in /proc/[0-9]*; do echo \"$(cat $p/comm)\"; done | sort", NULL};
        _cleanup_(proto_exec_result_done) ProtoExecResult x = {};
        _cleanup_free_ char *id = NULL, *text = NULL;
        _cleanup_strv_free_ char **l = NULL;
        DescartesError err;
        size_t n;

        id = itest_spawn(t, false, agent_argv);
        if (do_exec(t, id, exec_argv, NULL, 0, &x, &err) < 0)
                fail_msg("exec: %s", err.message);
        text = out_text(&x.out);
        fprintf(stderr, "processes seen by exec:\n%s", text);
        l = lines_of(text);
        n = strv_length(l);
        /* the shim, the agent's sleep, sh, and what sh forks for the loop */
        assert_true(n >= 3 && n <= 6);
        assert_true(strv_contains(l, "descartes-shim"));
        assert_true(strv_contains(l, "sleep"));
        assert_false(strv_contains(l, "descartesd"));
        assert_false(strv_contains(l, "systemd"));
}

static void test_exit_output_stdin(void **state)
{
        ITest *t = *state;
        const char *const agent_argv[] = {"sleep", "1000", NULL};
        const char *const exec_argv[] = {"sh", "-c", "cat; echo oops >&2; exit 7", NULL};
        const char *const big_argv[] = {"sh", "-c", "head -c 100000 /dev/zero", NULL};
        const char *const sig_argv[] = {"sh", "-c", "kill -TERM $$", NULL};
        _cleanup_(proto_exec_result_done) ProtoExecResult x = {}, big = {}, sig = {};
        _cleanup_free_ char *id = NULL, *o = NULL, *e = NULL, *cli = NULL;
        DescartesError err;
        int r;

        id = itest_spawn(t, false, agent_argv);
        if (do_exec(t, id, exec_argv, "hello\n", 0, &x, &err) < 0)
                fail_msg("exec: %s", err.message);
        assert_true(x.has_exit_code);
        assert_int_equal(x.exit_code, 7);
        assert_false(x.has_signal);
        o = out_text(&x.out);
        e = out_text(&x.err);
        assert_string_equal(o, "hello\n");
        assert_string_equal(e, "oops\n");
        assert_int_equal(x.stdout_bytes, 6);
        assert_int_equal(x.stderr_bytes, 5);

        /* output past the bound is counted, its start kept */
        if (do_exec(t, id, big_argv, NULL, 0, &big, &err) < 0)
                fail_msg("exec: %s", err.message);
        assert_int_equal(big.exit_code, 0);
        assert_int_equal(big.out.size, PROTO_EXEC_OUTPUT_MAX);
        assert_int_equal(big.stdout_bytes, 100000);

        if (do_exec(t, id, sig_argv, NULL, 0, &sig, &err) < 0)
                fail_msg("exec: %s", err.message);
        assert_false(sig.has_exit_code);
        assert_true(sig.has_signal);
        assert_int_equal(sig.signal, SIGTERM);

        /* descartesctl: the command's output on ours, its code as ours */
        r = harness_ctl(t->h, NULL, 0, &cli, "exec", id, "--", "sh", "-c", "echo via-ctl; exit 3", NULL);
        assert_int_equal(r, 3);
        assert_string_equal(cli, "via-ctl\n");
        free(cli);
        cli = NULL;
        r = harness_ctl(t->h, "piped\n", 6, &cli, "exec", "-i", id, "--", "cat", NULL);
        assert_int_equal(r, 0);
        assert_string_equal(cli, "piped\n");
}

static void test_timeout(void **state)
{
        ITest *t = *state;
        const char *const agent_argv[] = {"sleep", "1000", NULL};
        const char *const exec_argv[] = {"sh", "-c", "echo started; sleep 100 & sleep 100", NULL};
        _cleanup_(proto_exec_result_done) ProtoExecResult x = {};
        _cleanup_free_ char *id = NULL, *o = NULL, *cg = NULL;
        ProtoAgentInfo info = {};
        DescartesError err;
        int before;

        id = itest_spawn(t, false, agent_argv);
        cg = itest_agent_cgroup(t, id);
        before = harness_cgroup_nprocs(cg); /* the shim and the agent */
        assert_true(before > 0);
        if (do_exec(t, id, exec_argv, NULL, 300, &x, &err) < 0)
                fail_msg("exec: %s", err.message);
        assert_true(x.timed_out);
        assert_true(x.has_signal);
        assert_int_equal(x.signal, SIGKILL);
        o = out_text(&x.out);
        assert_string_equal(o, "started\n");
        /* its whole process group went with it: the agent's cgroup holds what it held before */
        for (unsigned i = 0; i < 100 && harness_cgroup_nprocs(cg) != before; i++)
                itest_sleep_ms(20);
        assert_int_equal(harness_cgroup_nprocs(cg), before);
        assert_int_equal(wire_get(t->c, id, &info, &err), 0);
        assert_int_equal(info.state, PROTO_STATE_RUNNING);
        proto_agent_info_done(&info);
}

static void test_refusals(void **state)
{
        ITest *t = *state;
        const char *const agent_argv[] = {"sleep", "1000", NULL};
        const char *const short_argv[] = {"true", NULL};
        const char *const true_argv[] = {"true", NULL};
        const char *const missing_argv[] = {"no-such-command-here", NULL};
        _cleanup_(proto_exec_result_done) ProtoExecResult x = {};
        _cleanup_free_ char *id = NULL, *ended = NULL;
        ProtoAgentInfo info = {};
        DescartesError err;

        id = itest_spawn(t, false, agent_argv);
        assert_int_equal(wire_pause(t->c, id, NULL, &err), 0);
        assert_int_equal(do_exec(t, id, true_argv, NULL, 0, NULL, &err), -EBUSY);
        assert_int_equal(err.code, DESCARTES_ERROR_CODE_CONFLICT);
        assert_non_null(strstr(err.message, "paused"));
        assert_int_equal(wire_resume(t->c, id, NULL, &err), 0);
        if (do_exec(t, id, true_argv, NULL, 0, &x, &err) < 0)
                fail_msg("exec after resume: %s", err.message);
        assert_int_equal(x.exit_code, 0);

        /* a command that is not there did not start: spawn_failed, saying where */
        assert_int_equal(do_exec(t, id, missing_argv, NULL, 0, NULL, &err), -ENOEXEC);
        assert_int_equal(err.code, DESCARTES_ERROR_CODE_SPAWN_FAILED);
        assert_non_null(strstr(err.message, "stage exec"));

        ended = itest_spawn(t, false, short_argv);
        itest_wait_final(t, ended, 10000, &info);
        proto_agent_info_done(&info);
        assert_int_equal(do_exec(t, ended, true_argv, NULL, 0, NULL, &err), -EBUSY);
        assert_int_equal(err.code, DESCARTES_ERROR_CODE_CONFLICT);

        assert_int_equal(do_exec(t, "no-such-agent", true_argv, NULL, 0, NULL, &err), -ESRCH);
        assert_int_equal(err.code, DESCARTES_ERROR_CODE_NOT_FOUND);
}

/* Tenant 1 names root's agent by its id: not_found, exactly as an unknown agent. */
static void test_other_tenant(void **state)
{
        ITest *t = *state;
        const char *const agent_argv[] = {"sleep", "1000", NULL};
        const char *path = t->h->control + strlen("ipc://");
        struct group *g = getgrnam("descartes");
        _cleanup_free_ char *id = NULL;
        int status = 0;
        pid_t pid;

        if (!g)
                skip();
        id = itest_spawn(t, false, agent_argv);
        assert_int_equal(chmod(t->h->tmpdir, 0711), 0);
        assert_int_equal(chmod(t->h->runtime_dir, 0751), 0);
        assert_int_equal(chmod(path, 0660), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                const char *const argv[] = {"id", NULL};
                ProtoExecArgs a = {.agent = id, .argv = (char **)argv, .n_argv = 1};
                DescartesClient *c = NULL;
                DescartesError e = {}, e2 = {};
                gid_t gid = g->gr_gid;

                if (setgroups(1, &gid) < 0 || setgid(TENANT_UID) < 0 || setuid(TENANT_UID) < 0)
                        _exit(90);
                if (descartes_client_new(t->h->control, &c) < 0)
                        _exit(91);
                if (wire_exec(c, &a, NULL, &e) != -ESRCH || e.code != DESCARTES_ERROR_CODE_NOT_FOUND)
                        _exit(92);
                a.agent = (char *)"00000000-0000-4000-8000-000000000000";
                if (wire_exec(c, &a, NULL, &e2) != -ESRCH || e2.code != DESCARTES_ERROR_CODE_NOT_FOUND)
                        _exit(93);
                /* the same answer, but for the reference it names */
                if (!strstr(e.message, id) || strstr(e.message, "paused") || strstr(e.message, "running"))
                        _exit(94);
                descartes_client_free(c);
                _exit(0);
        }
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_same_sandbox),      cmocka_unit_test(test_pid_namespace),
                cmocka_unit_test(test_exit_output_stdin), cmocka_unit_test(test_timeout),
                cmocka_unit_test(test_refusals),          cmocka_unit_test(test_other_tenant),
        };

        return cmocka_run_group_tests(tests, itest_setup, itest_teardown);
}
