/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The upgrade promise of descartesd(8): a newer daemon re-adopts shims of the previous release, and messages
 * longer than a side knows are taken for the part it knows. descartesd-vnext and descartes-shim-vnext speak
 * one shim protocol version more than this release and append a field from the future to every message they
 * send but STDIN, and to the options blob a daemon starts its shims with (shim-contract.h). Root only (exits
 * 77 otherwise). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "fd-util.h"
#include "itest-util.h"
#include "shim-contract.h"
#include "string-util.h"

#define USR1_SHELL "trap 'echo got-usr1; exit 5' USR1; echo ready; while :; do sleep 0.05; done"
#define ECHO_SHELL "while read l; do echo \"got $l\"; done"

static const char *release_daemon, *release_shim;

static const char *vnext(const char *name)
{
        const char *v = getenv(name);

        if (!v || access(v, X_OK) < 0) {
                fprintf(stderr, "SKIP: %s is not set or not executable\n", name);
                exit(77);
        }
        return v;
}

static bool daemon_log_has(Harness *h, const char *needle)
{
        _cleanup_free_ char *log = NULL;

        return read_file_at(AT_FDCWD, h->daemon_log, 64 << 20, &log, NULL) >= 0 && strstr(log, needle);
}

static bool has_line(ITest *t, const char *id, const char *want)
{
        _cleanup_strv_free_ char **lines = NULL;
        size_t n;

        lines = itest_output_lines(t, id, PROTO_STREAM_STDOUT, &n);
        for (size_t i = 0; i < n; i++)
                if (streq(lines[i], want))
                        return true;
        return false;
}

/* Whether the agent said "cwd PATH uid UID" with PATH ending in cwd_suffix and UID not 0. */
static bool sandboxed_line(ITest *t, const char *id, const char *cwd_suffix)
{
        _cleanup_strv_free_ char **lines = NULL;
        size_t n;

        lines = itest_output_lines(t, id, PROTO_STREAM_STDOUT, &n);
        for (size_t i = 0; i < n; i++) {
                char cwd[4096];
                unsigned uid;
                size_t k = strlen(cwd_suffix);
                if (sscanf(lines[i], "cwd %4095s uid %u", cwd, &uid) == 2)
                        return uid != 0 && strlen(cwd) >= k && streq(cwd + strlen(cwd) - k, cwd_suffix);
        }
        return false;
}

static void wait_line(ITest *t, const char *id, const char *want)
{
        for (unsigned i = 0; i < 500; i++) {
                if (has_line(t, id, want))
                        return;
                itest_sleep_ms(20);
        }
        fail_msg("agent %s: no line \"%s\" in its output", id, want);
}

static void feed(ITest *t, const char *id, const char *data, bool close_after)
{
        DescartesError err;
        uint64_t written = 0;

        if (wire_stdin(t->c, id, data, strlen(data), close_after, &written, &err) < 0)
                fail_msg("stdin of %s: %s", id, err.message);
        assert_int_equal(written, strlen(data));
}

static void expect_running(ITest *t, const char *id)
{
        ProtoAgentInfo info = {};
        DescartesError err;

        if (wire_get(t->c, id, &info, &err) < 0)
                fail_msg("get %s: %s", id, err.message);
        if (info.state != PROTO_STATE_RUNNING)
                fail_msg("agent %s is %s, expected running", id, proto_state_to_string(info.state));
        proto_agent_info_done(&info);
}

static void expect_no_protocol_errors(ITest *t)
{
        _cleanup_(proto_stats_result_done) ProtoStatsResult st = {};
        DescartesError err;

        assert_int_equal(wire_stats(t->c, &st, &err), 0);
        for (size_t i = 0; i < st.n_stats; i++)
                if (streq(st.stats[i].name, "shim_protocol_errors")) {
                        assert_int_equal(st.stats[i].value, 0);
                        return;
                }
        fail_msg("no shim_protocol_errors in stats");
}

static void restart_as(ITest *t, const char *daemon)
{
        assert_int_equal(harness_kill_daemon(t->h, SIGKILL), 0);
        assert_int_equal(setenv("DESCARTESD", daemon, 1), 0);
        assert_int_equal(harness_restart_daemon(t->h), 0);
}

/* Release shims under a release daemon; `systemctl restart` into the next version (kill -9 here, the harder
 * case); the new daemon re-adopts them at the release's version and controls them with its longer messages.
 */
static void test_upgrade_readopts_release_shims(void **state)
{
        ITest *t = *state;
        const char *const usr1_argv[] = {"sh", "-c", USR1_SHELL, NULL};
        const char *const echo_argv[] = {"sh", "-c", ECHO_SHELL, NULL};
        const char *const sleep_argv[] = {"sleep", "1000", NULL};
        _cleanup_free_ char *usr1 = NULL, *echo = NULL, *sleeper = NULL;
        char want[256];
        ProtoAgentInfo info = {};
        DescartesError err;

        usr1 = itest_spawn(t, false, usr1_argv);
        echo = itest_spawn(t, true, echo_argv);
        sleeper = itest_spawn(t, false, sleep_argv);
        wait_line(t, usr1, "ready");
        feed(t, echo, "one\n", false);
        wait_line(t, echo, "got one");

        restart_as(t, vnext("DESCARTESD_VNEXT"));
        (void)snprintf(
                want, sizeof want,
                "speaking shim protocol version %u with its shim (it speaks %u..%u, descartesd %u..%u)",
                SHIM_PROTOCOL_VERSION_RELEASE, SHIM_PROTOCOL_VERSION_MIN, SHIM_PROTOCOL_VERSION_RELEASE,
                SHIM_PROTOCOL_VERSION_MIN, SHIM_PROTOCOL_VERSION_RELEASE + 1);
        if (!daemon_log_has(t->h, want))
                fail_msg("the new daemon did not log \"%s\"", want);
        expect_running(t, usr1);
        expect_running(t, echo);
        expect_running(t, sleeper);

        /* exec through the new daemon into a re-adopted release shim (it speaks the release's version) */
        {
                const char *const id_argv[] = {"sh", "-c", "echo exec-ok", NULL};
                ProtoExecArgs x = {.agent = sleeper, .argv = (char **)id_argv, .n_argv = 3};
                ProtoExecResult res = {};

                if (wire_exec(t->c, &x, &res, &err) < 0)
                        fail_msg("exec after the upgrade: %s", err.message);
                assert_true(res.has_exit_code);
                assert_int_equal(res.exit_code, 0);
                assert_int_equal(res.out.size, 8);
                assert_memory_equal(res.out.data, "exec-ok\n", 8);
                proto_exec_result_done(&res);
        }
        /* stdin through the new daemon, output back from the old shim */
        feed(t, echo, "two\n", false);
        wait_line(t, echo, "got two");
        /* a SIGNAL longer than the shim knows */
        assert_int_equal(wire_signal(t->c, usr1, SIGUSR1, NULL, &err), 0);
        itest_wait_final(t, usr1, 10000, &info);
        assert_int_equal(info.state, PROTO_STATE_EXITED);
        assert_true(info.has_exit_code);
        assert_int_equal(info.exit_code, 5);
        proto_agent_info_done(&info);
        assert_true(has_line(t, usr1, "got-usr1"));
        /* stop: SIGTERM through the shim, not the cgroup's SIGKILL */
        assert_int_equal(wire_stop(t->c, sleeper, 5000, NULL, &err), 0);
        itest_wait_final(t, sleeper, 10000, &info);
        assert_int_equal(info.reason, PROTO_REASON_STOPPED);
        assert_true(info.has_signal);
        assert_int_equal(info.signal, SIGTERM);
        proto_agent_info_done(&info);
        /* and the end of stdin ends the last one, its EXITED read as before */
        feed(t, echo, "three\n", true);
        itest_wait_final(t, echo, 10000, &info);
        assert_int_equal(info.reason, PROTO_REASON_COMPLETED);
        assert_int_equal(info.exit_code, 0);
        proto_agent_info_done(&info);
        assert_true(has_line(t, echo, "got three"));
        expect_no_protocol_errors(t);
}

/* A shim of the next version under this release's daemon, spawned and re-adopted: every message it sends is
 * longer than the daemon knows, and none is refused. */
static void test_longer_shim_messages(void **state)
{
        ITest *t = *state;
        const char *const echo_argv[] = {"sh", "-c", ECHO_SHELL, NULL};
        _cleanup_free_ char *echo = NULL;
        char want[256];
        ProtoAgentInfo info = {};

        echo = itest_spawn(t, true, echo_argv);
        feed(t, echo, "one\n", false);
        wait_line(t, echo, "got one");

        restart_as(t, release_daemon);
        (void)snprintf(
                want, sizeof want,
                "speaking shim protocol version %u with its shim (it speaks %u..%u, descartesd %u..%u)",
                SHIM_PROTOCOL_VERSION_RELEASE, SHIM_PROTOCOL_VERSION_MIN, SHIM_PROTOCOL_VERSION_RELEASE + 1,
                SHIM_PROTOCOL_VERSION_MIN, SHIM_PROTOCOL_VERSION_RELEASE);
        if (!daemon_log_has(t->h, want))
                fail_msg("the daemon did not log \"%s\"", want);
        expect_running(t, echo);
        feed(t, echo, "two\n", true);
        itest_wait_final(t, echo, 10000, &info);
        assert_int_equal(info.state, PROTO_STATE_EXITED);
        assert_int_equal(info.reason, PROTO_REASON_COMPLETED);
        assert_true(info.has_exit_code);
        assert_int_equal(info.exit_code, 0);
        proto_agent_info_done(&info);
        assert_true(has_line(t, echo, "got two"));
        expect_no_protocol_errors(t);
}

/* A release shim started by the next daemon: its options blob is longer than the shim knows, and it takes
 * the fields it knows (the command, stdin, the sandbox); then the release daemon re-adopts it. */
static void test_longer_options(void **state)
{
        ITest *t = *state;
        const char *const echo_argv[] = {"sh", "-c", "echo \"cwd $(pwd) uid $(id -u)\"; " ECHO_SHELL, NULL};
        _cleanup_free_ char *echo = NULL;
        ProtoAgentInfo info = {};
        char want[256];

        echo = itest_spawn(t, true, echo_argv);
        feed(t, echo, "one\n", false);
        wait_line(t, echo, "got one");
        /* the sandbox the options asked for: its own workspace as the cwd, not root */
        (void)snprintf(want, sizeof want, "/agents/%s/work", echo);
        assert_true(sandboxed_line(t, echo, want));

        restart_as(t, release_daemon);
        expect_running(t, echo);
        feed(t, echo, "two\n", true);
        itest_wait_final(t, echo, 10000, &info);
        assert_int_equal(info.reason, PROTO_REASON_COMPLETED);
        assert_int_equal(info.exit_code, 0);
        proto_agent_info_done(&info);
        assert_true(has_line(t, echo, "got two"));
        expect_no_protocol_errors(t);
}

/* A shim of version 3 (from before exec and actions) under this release's daemon: the
 * agent runs and is controlled as before, and exec and action answer conflict saying why, never a hang. */
static void test_exec_refused_by_older_shim(void **state)
{
        ITest *t = *state;
        const char *const echo_argv[] = {"sh", "-c", ECHO_SHELL, NULL};
        const char *const exec_argv[] = {"true", NULL};
        ProtoExecArgs x = {.argv = (char **)exec_argv, .n_argv = 1};
        ProtoActionArgs a = {.name = (char *)"checkpoint"};
        _cleanup_free_ char *echo = NULL;
        ProtoAgentInfo info = {};
        DescartesError err;

        echo = itest_spawn(t, true, echo_argv);
        feed(t, echo, "one\n", false);
        wait_line(t, echo, "got one");
        x.agent = echo;
        assert_int_equal(wire_exec(t->c, &x, NULL, &err), -EBUSY);
        assert_int_equal(err.code, DESCARTES_ERROR_CODE_CONFLICT);
        if (!strstr(err.message, "too old"))
                fail_msg("exec with an older shim: \"%s\" does not say the shim is too old", err.message);
        a.agent = echo;
        assert_int_equal(wire_action(t->c, &a, NULL, &err), -EBUSY);
        assert_int_equal(err.code, DESCARTES_ERROR_CODE_CONFLICT);
        if (!strstr(err.message, "too old for actions"))
                fail_msg("action with an older shim: \"%s\" does not say the shim is too old", err.message);
        expect_running(t, echo);
        feed(t, echo, "two\n", true);
        itest_wait_final(t, echo, 10000, &info);
        assert_int_equal(info.reason, PROTO_REASON_COMPLETED);
        proto_agent_info_done(&info);
        expect_no_protocol_errors(t);
}

/* The same older shim and a terminal: it knows no tty option (its agent runs without one, and says what its
 * stdin is), and attach answers conflict saying the shim is too old, at once. */
static void test_attach_refused_by_older_shim(void **state)
{
        ITest *t = *state;
        const char *const argv[] = {"sh", "-c", "test -t 0 && echo has-tty || echo no-tty; sleep 1000",
                                    NULL};
        ProtoStrPair env[] = {{(char *)"PATH", (char *)"/usr/bin:/bin"}};
        ProtoSpawnArgs a = {
                .argv = (char **)argv, .n_argv = 3, .env = {.pairs = env, .n_pairs = 1}, .tty = true};
        _cleanup_(descartes_attachment_freep) DescartesAttachment *att = NULL;
        ProtoAgentInfo info = {};
        DescartesError err = {};

        if (wire_spawn(t->c, &a, &info, &err) < 0)
                fail_msg("spawn with tty under an older shim: %s", err.message);
        assert_true(info.tty);
        wait_line(t, info.id, "no-tty");
        assert_true(descartes_attach(t->c, info.id, NULL, &att, &err) < 0);
        assert_null(att);
        assert_int_equal(err.code, DESCARTES_ERROR_CODE_CONFLICT);
        if (!strstr(err.message, "too old"))
                fail_msg("attach with an older shim: \"%s\" does not say the shim is too old", err.message);
        expect_running(t, info.id);
        assert_int_equal(wire_kill(t->c, info.id, NULL, &err), 0);
        proto_agent_info_done(&info);
        expect_no_protocol_errors(t);
}

/* A shim of the previous release (version 4: exec and terminals, but not for commands of exec) under this
 * release's daemon: exec works, a command on a terminal (attach with exec_argv) answers conflict at once,
 * saying the shim is too old, and nothing runs. */
static void test_exec_tty_refused_by_previous_shim(void **state)
{
        ITest *t = *state;
        const char *const argv[] = {"sleep", "1000", NULL};
        const char *const exec_argv[] = {"true", NULL};
        const char *const tty_argv[] = {"sh", NULL};
        ProtoExecArgs x = {.argv = (char **)exec_argv, .n_argv = 1};
        DescartesAttachArgs args = DESCARTES_ATTACH_ARGS_INIT;
        _cleanup_(descartes_attachment_freep) DescartesAttachment *att = NULL;
        _cleanup_free_ char *id = NULL;
        ProtoExecResult res = {};
        DescartesError err = {};

        id = itest_spawn(t, false, argv);
        x.agent = id;
        if (wire_exec(t->c, &x, &res, &err) < 0)
                fail_msg("exec with a shim of the previous release: %s", err.message);
        assert_true(res.has_exit_code);
        assert_int_equal(res.exit_code, 0);
        proto_exec_result_done(&res);
        args.exec_argv = tty_argv;
        assert_true(descartes_attach(t->c, id, &args, &att, &err) < 0);
        assert_null(att);
        assert_int_equal(err.code, DESCARTES_ERROR_CODE_CONFLICT);
        if (!strstr(err.message, "too old"))
                fail_msg("exec -t with an older shim: \"%s\" does not say the shim is too old", err.message);
        expect_running(t, id);
        assert_int_equal(wire_kill(t->c, id, NULL, &err), 0);
        expect_no_protocol_errors(t);
}

static int setup_vprev_shim(void **state)
{
        assert_int_equal(setenv("DESCARTESD", release_daemon, 1), 0);
        assert_int_equal(setenv("DESCARTES_SHIM", vnext("DESCARTES_SHIM_VPREV"), 1), 0);
        return itest_setup(state);
}

static int setup_v3_shim(void **state)
{
        assert_int_equal(setenv("DESCARTESD", release_daemon, 1), 0);
        assert_int_equal(setenv("DESCARTES_SHIM", vnext("DESCARTES_SHIM_V3"), 1), 0);
        return itest_setup(state);
}

static int setup_vnext_daemon(void **state)
{
        assert_int_equal(setenv("DESCARTESD", vnext("DESCARTESD_VNEXT"), 1), 0);
        assert_int_equal(setenv("DESCARTES_SHIM", release_shim, 1), 0);
        return itest_setup(state);
}

static int setup_release(void **state)
{
        assert_int_equal(setenv("DESCARTESD", release_daemon, 1), 0);
        assert_int_equal(setenv("DESCARTES_SHIM", release_shim, 1), 0);
        return itest_setup(state);
}

static int setup_vnext_shim(void **state)
{
        assert_int_equal(setenv("DESCARTESD", release_daemon, 1), 0);
        assert_int_equal(setenv("DESCARTES_SHIM", vnext("DESCARTES_SHIM_VNEXT"), 1), 0);
        return itest_setup(state);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_upgrade_readopts_release_shims, setup_release,
                                                itest_teardown),
                cmocka_unit_test_setup_teardown(test_longer_shim_messages, setup_vnext_shim, itest_teardown),
                cmocka_unit_test_setup_teardown(test_longer_options, setup_vnext_daemon, itest_teardown),
                cmocka_unit_test_setup_teardown(test_exec_refused_by_older_shim, setup_v3_shim,
                                                itest_teardown),
                cmocka_unit_test_setup_teardown(test_attach_refused_by_older_shim, setup_v3_shim,
                                                itest_teardown),
                cmocka_unit_test_setup_teardown(test_exec_tty_refused_by_previous_shim, setup_vprev_shim,
                                                itest_teardown),
        };

        if (harness_skip_reason()) {
                fprintf(stderr, "SKIP: %s\n", harness_skip_reason());
                return 77;
        }
        /* copies: the tests set these variables */
        release_daemon = strdup(harness_descartesd());
        release_shim = strdup(harness_shim());
        assert_non_null(release_daemon);
        assert_non_null(release_shim);
        (void)vnext("DESCARTESD_VNEXT");
        (void)vnext("DESCARTES_SHIM_VNEXT");
        (void)vnext("DESCARTES_SHIM_VPREV");
        (void)vnext("DESCARTES_SHIM_V3");
        return cmocka_run_group_tests(tests, NULL, NULL);
}
