/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* descartesd end to end on this host, through descartesctl and libdescartes: lifecycle, output, stdin,
 * pause/resume, stop escalation, descendants, remove. A private daemon per run (harness.c). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "itest-util.h"
#include "string-util.h"
#include "time-util.h"

static void test_exit_code(void **state)
{
        ITest *t = *state;
        const char *argv[] = {"sh", "-c", "echo started; exit 7", NULL};
        _cleanup_free_ char *id = itest_spawn(t, false, argv);
        _cleanup_free_ char *out = NULL;
        ProtoAgentInfo info = {};

        itest_wait_final(t, id, 10000, &info);
        assert_int_equal(info.state, PROTO_STATE_EXITED);
        assert_true(info.has_reason);
        assert_int_equal(info.reason, PROTO_REASON_COMPLETED);
        assert_true(info.has_exit_code);
        assert_int_equal(info.exit_code, 7);
        assert_true(info.has_spawn_us);
        assert_true(info.has_started_ns && info.has_ended_ns && info.ended_ns >= info.started_ns);
        proto_agent_info_done(&info);

        /* the CLI: --wait exits with the agent's own code */
        assert_int_equal(harness_ctl(t->h, NULL, 0, &out, "spawn", "--wait", "--env", "PATH=/usr/bin:/bin",
                                     "--", "sh", "-c", "exit 42", NULL),
                         42);
}

static void test_spawn_failed(void **state)
{
        ITest *t = *state;
        const char *argv[] = {"/nonexistent/descartes-no-such-command", NULL};
        ProtoSpawnArgs a = {.argv = (char **)argv, .n_argv = 1};
        ProtoAgentInfo info = {};
        DescartesError err = {};
        _cleanup_free_ char *out = NULL;
        int r;

        r = wire_spawn(t->c, &a, &info, &err);
        assert_true(r < 0);
        assert_int_equal(err.kind, DESCARTES_ERROR_DAEMON);
        assert_int_equal(err.code, PROTO_ERROR_SPAWN_FAILED);
        assert_non_null(strstr(err.message, "exec"));

        /* the CLI maps spawn_failed to its own exit code (8) */
        r = harness_ctl(t->h, NULL, 0, &out, "spawn", "--", "/nonexistent/descartes-no-such-command", NULL);
        assert_int_equal(r, 8);
}

static void test_output_complete(void **state)
{
        ITest *t = *state;
        const char *argv[] = {
                "sh", "-c",
                "i=0; while [ $i -lt 100000 ]; do echo out $i; echo err $i >&2; i=$((i+1)); done", NULL};
        _cleanup_free_ char *id = itest_spawn(t, false, argv);
        _cleanup_strv_free_ char **out = NULL, **err = NULL;
        _cleanup_free_ char *cli = NULL;
        ProtoAgentInfo info = {};
        size_t n_out, n_err, n_cli = 0;
        char want[64];

        itest_wait_final(t, id, 120000, &info);
        assert_int_equal(info.reason, PROTO_REASON_COMPLETED);
        assert_int_equal(info.exit_code, 0);
        proto_agent_info_done(&info);

        out = itest_output_lines(t, id, PROTO_STREAM_STDOUT, &n_out);
        err = itest_output_lines(t, id, PROTO_STREAM_STDERR, &n_err);
        /* the 64K scan budget of the itest daemon cuts these reads short */
        assert_true(t->partial_replies > 0);
        assert_int_equal(n_out, 100000);
        assert_int_equal(n_err, 100000);
        for (size_t i = 0; i < n_out; i++) {
                (void)snprintf(want, sizeof want, "out %zu", i);
                if (!streq(out[i], want))
                        fail_msg("stdout line %zu is \"%s\", want \"%s\"", i, out[i], want);
                (void)snprintf(want, sizeof want, "err %zu", i);
                if (!streq(err[i], want))
                        fail_msg("stderr line %zu is \"%s\", want \"%s\"", i, err[i], want);
        }

        /* the CLI prints the same 100000 stdout lines, in order */
        assert_int_equal(harness_ctl(t->h, NULL, 0, &cli, "logs", "--stream", "stdout", id, NULL), 0);
        for (char *p = cli, *nl; (nl = strchr(p, '\n')); p = nl + 1, n_cli++) {
                *nl = 0;
                (void)snprintf(want, sizeof want, "out %zu", n_cli);
                if (!streq(p, want))
                        fail_msg("descartesctl logs line %zu is \"%s\", want \"%s\"", n_cli, p, want);
        }
        assert_int_equal(n_cli, 100000);

        /* grep through the CLI follows the cut-short replies: 11111 lines "out 9", "out 9x", ... in order */
        free(cli);
        cli = NULL;
        n_cli = 0;
        assert_int_equal(harness_ctl(t->h, NULL, 0, &cli, "logs", "--grep", "^out 9", id, NULL), 0);
        for (char *p = cli, *nl; (nl = strchr(p, '\n')); p = nl + 1, n_cli++) {
                *nl = 0;
                if (strncmp(p, "out 9", 5) != 0)
                        fail_msg("descartesctl logs --grep line %zu is \"%s\"", n_cli, p);
        }
        assert_int_equal(n_cli, 11111);

        /* a tail cut short is completed by the CLI: the last 3 matches of all, not of the first part */
        free(cli);
        cli = NULL;
        assert_int_equal(
                harness_ctl(t->h, NULL, 0, &cli, "logs", "--grep", "^out 1", "--tail", "3", id, NULL), 0);
        assert_string_equal(cli, "out 19997\nout 19998\nout 19999\n");
}

static void test_stdin_roundtrip(void **state)
{
        ITest *t = *state;
        const char *argv[] = {"cat", NULL};
        _cleanup_free_ char *id = itest_spawn(t, true, argv);
        _cleanup_free_ char *cli = NULL;
        _cleanup_strv_free_ char **lines = NULL;
        ProtoAgentInfo info = {};
        DescartesError err = {};
        uint64_t written = 0;
        size_t n;

        assert_int_equal(wire_stdin(t->c, id, "hello\n", 6, false, &written, &err), 0);
        assert_int_equal(written, 6);
        /* through the CLI, then close: cat sees EOF and exits 0 */
        assert_int_equal(harness_ctl(t->h, "world\n", 6, &cli, "stdin", "--close", id, NULL), 0);
        itest_wait_final(t, id, 10000, &info);
        assert_int_equal(info.reason, PROTO_REASON_COMPLETED);
        assert_int_equal(info.exit_code, 0);
        proto_agent_info_done(&info);
        lines = itest_output_lines(t, id, PROTO_STREAM_STDOUT, &n);
        assert_int_equal(n, 2);
        assert_string_equal(lines[0], "hello");
        assert_string_equal(lines[1], "world");

        /* stdin of an ended agent is a conflict */
        assert_true(wire_stdin(t->c, id, "x", 1, false, &written, &err) < 0);
        assert_int_equal(err.code, PROTO_ERROR_CONFLICT);
}

static uint64_t cpu_usec(ITest *t, const char *id)
{
        ProtoAgentInfo info = {};
        DescartesError err = {};
        uint64_t u;

        assert_int_equal(wire_get(t->c, id, &info, &err), 0);
        assert_true(info.has_usage);
        u = info.usage.cpu_usec;
        proto_agent_info_done(&info);
        return u;
}

static void test_pause_resume(void **state)
{
        ITest *t = *state;
        const char *argv[] = {"sh", "-c", "while :; do :; done", NULL};
        _cleanup_free_ char *id = itest_spawn(t, false, argv);
        ProtoAgentInfo info = {};
        DescartesError err = {};
        uint64_t a, b;

        _cleanup_free_ char *freezer = NULL;

        assert_int_equal(asprintf_safe(&freezer, "a-%s/payload/cgroup.events", id), 0);
        itest_sleep_ms(200);
        assert_int_equal(wire_pause(t->c, id, &info, &err), 0);
        assert_int_equal(info.state, PROTO_STATE_PAUSED);
        proto_agent_info_done(&info);
        /* the freezer's descriptor lives only while the cgroup freezes */
        assert_int_equal(harness_daemon_fd_count(t->h, freezer), 0);

        /* pausing a paused agent is a conflict */
        assert_true(wire_pause(t->c, id, &info, &err) < 0);
        assert_int_equal(err.code, PROTO_ERROR_CONFLICT);

        a = cpu_usec(t, id);
        itest_sleep_ms(500);
        b = cpu_usec(t, id);
        assert_int_equal(a, b); /* frozen: not one more microsecond */

        assert_int_equal(harness_ctl(t->h, NULL, 0, NULL, "resume", id, NULL), 0);
        assert_int_equal(harness_daemon_fd_count(t->h, freezer), 0);
        /* thawed: it runs again. How fast depends on the host's load, which is bench/pause.sh's business;
         * here it only has to move within a generous bound. */
        for (int i = 0; i < 200 && cpu_usec(t, id) <= b; i++)
                itest_sleep_ms(50);
        assert_true(cpu_usec(t, id) > b);

        assert_int_equal(wire_kill(t->c, id, &info, &err), 0);
        proto_agent_info_done(&info);
        itest_wait_final(t, id, 10000, &info);
        assert_int_equal(info.reason, PROTO_REASON_KILLED);
        proto_agent_info_done(&info);

        /* pausing an ended agent is a conflict */
        assert_true(wire_pause(t->c, id, &info, &err) < 0);
        assert_int_equal(err.code, PROTO_ERROR_CONFLICT);
}

static bool all_in_state(ITest *t, char **ids, size_t n, ProtoState want)
{
        for (size_t i = 0; i < n; i++) {
                ProtoAgentInfo info = {};
                DescartesError err = {};
                bool ok;

                assert_int_equal(wire_get(t->c, ids[i], &info, &err), 0);
                ok = info.state == want;
                proto_agent_info_done(&info);
                if (!ok)
                        return false;
        }
        return true;
}

/* A batch pauses more busy agents than the daemon gives freezer descriptors to (16): every one is paused
 * all the same (the others through the cgroup watch), resumed likewise, and no freezer fd stays behind. */

/* Sends the batch as OP, then waits until every agent of it is in STATE: no freezer descriptor is left. */
static void batch_until_all(ITest *t, ProtoBatchArgs *b, ProtoOp op, char **ids, size_t n, ProtoState state)
{
        ProtoBatchResult br = {};
        DescartesError err = {};
        int i;

        b->op = op;
        assert_int_equal(wire_batch(t->c, b, &br, &err), 0);
        assert_int_equal(br.ok_count, (int)n);
        proto_batch_result_done(&br);
        for (i = 0; i < 400 && !all_in_state(t, ids, n, state); i++)
                itest_sleep_ms(50);
        assert_true(all_in_state(t, ids, n, state));
        assert_int_equal(harness_daemon_fd_count(t->h, "/payload/cgroup.events"), 0);
}

static void test_batch_pause_many(void **state)
{
        enum { N = 24 };
        ITest *t = *state;
        const char *argv[] = {"sh", "-c", "while :; do :; done", NULL};
        char *ids[N + 1] = {};
        ProtoBatchArgs b = {.op = PROTO_OP_PAUSE, .agents = ids, .n_agents = N};
        ProtoBatchResult br = {};
        DescartesError err = {};
        int i;

        for (i = 0; i < N; i++)
                ids[i] = itest_spawn(t, false, argv);
        batch_until_all(t, &b, PROTO_OP_PAUSE, ids, N, PROTO_STATE_PAUSED);
        batch_until_all(t, &b, PROTO_OP_RESUME, ids, N, PROTO_STATE_RUNNING);

        b.op = PROTO_OP_KILL;
        assert_int_equal(wire_batch(t->c, &b, &br, &err), 0);
        proto_batch_result_done(&br);
        for (i = 0; i < N; i++) {
                ProtoAgentInfo info = {};

                itest_wait_final(t, ids[i], 10000, &info);
                proto_agent_info_done(&info);
                free(ids[i]);
        }
}

static void test_stop_escalates(void **state)
{
        ITest *t = *state;
        const char *argv[] = {"sh", "-c", "trap '' TERM; echo ready; while :; do sleep 0.05; done", NULL};
        _cleanup_free_ char *id = itest_spawn(t, false, argv);
        ProtoAgentInfo info = {};
        DescartesError err = {};
        uint64_t t0, elapsed_ms;

        itest_wait_ready(t, id);
        t0 = now_ns(CLOCK_MONOTONIC);
        assert_int_equal(wire_stop(t->c, id, 700, &info, &err), 0);
        elapsed_ms = (now_ns(CLOCK_MONOTONIC) - t0) / NSEC_PER_MSEC;
        proto_agent_info_done(&info);
        itest_wait_final(t, id, 10000, &info);
        assert_int_equal(info.state, PROTO_STATE_EXITED);
        assert_int_equal(info.reason, PROTO_REASON_STOPPED);
        assert_true(info.has_signal);
        assert_int_equal(info.signal, SIGKILL); /* it ignored TERM: cgroup.kill ended it */
        proto_agent_info_done(&info);
        assert_true(elapsed_ms >= 650);
}

static void test_descendants_die(void **state)
{
        ITest *t = *state;
        /* a background child, a double-forked one (reparented to the shim), and one in its own session */
        const char *argv[] = {"sh", "-c",
                              "sleep 1000 & (sleep 1000 &) ; setsid sleep 1000 & echo up; exit 3", NULL};
        _cleanup_free_ char *id = itest_spawn(t, false, argv);
        _cleanup_free_ char *cg = itest_agent_cgroup(t, id);
        ProtoAgentInfo info = {};

        itest_wait_final(t, id, 10000, &info);
        assert_int_equal(info.reason, PROTO_REASON_COMPLETED);
        assert_int_equal(info.exit_code, 3);
        proto_agent_info_done(&info);
        /* everything the agent left is gone with it */
        for (int i = 0; i < 200 && harness_cgroup_nprocs(cg) > 0; i++)
                itest_sleep_ms(25);
        int n = harness_cgroup_nprocs(cg);
        assert_true(n <= 0); /* 0, or -ENOENT once the daemon removed the emptied cgroup */
}

static void test_remove_leaves_nothing(void **state)
{
        ITest *t = *state;
        const char *argv[] = {"sh", "-c", "echo bye", NULL};
        _cleanup_free_ char *id = itest_spawn(t, false, argv);
        _cleanup_free_ char *cg = itest_agent_cgroup(t, id);
        _cleanup_free_ char *statedir = NULL, *out = NULL;
        ProtoAgentInfo info = {};
        DescartesError err = {};
        struct stat st;

        /* remove of a live agent is refused, unknown ids are not_found */
        assert_true(wire_remove(t->c, "no-such-agent", &info, &err) < 0);
        assert_int_equal(err.code, PROTO_ERROR_NOT_FOUND);
        itest_wait_final(t, id, 10000, &info);
        proto_agent_info_done(&info);

        assert_true(asprintf_safe(&statedir, "%s/agents/%s", t->h->state_dir, id) >= 0);
        assert_int_equal(stat(statedir, &st), 0);
        assert_int_equal(harness_ctl(t->h, NULL, 0, &out, "rm", id, NULL), 0);
        assert_true(stat(statedir, &st) < 0 && errno == ENOENT);
        assert_true(stat(cg, &st) < 0 && errno == ENOENT);
        assert_true(wire_get(t->c, id, &info, &err) < 0);
        assert_int_equal(err.code, PROTO_ERROR_NOT_FOUND);
}

static void test_remove_live_conflict(void **state)
{
        ITest *t = *state;
        const char *argv[] = {"sleep", "1000", NULL};
        _cleanup_free_ char *id = itest_spawn(t, false, argv);
        ProtoAgentInfo info = {};
        DescartesError err = {};

        assert_true(wire_remove(t->c, id, &info, &err) < 0);
        assert_int_equal(err.code, PROTO_ERROR_CONFLICT);
        assert_int_equal(wire_resume(t->c, id, &info, &err) < 0, 1);
        assert_int_equal(err.code, PROTO_ERROR_CONFLICT);
        assert_int_equal(wire_stop(t->c, id, 2000, &info, &err), 0);
        proto_agent_info_done(&info);
        itest_wait_final(t, id, 10000, &info);
        assert_int_equal(info.reason, PROTO_REASON_STOPPED);
        assert_true(info.has_signal);
        assert_int_equal(info.signal, SIGTERM);
        proto_agent_info_done(&info);
        assert_int_equal(wire_remove(t->c, id, &info, &err), 0);
        proto_agent_info_done(&info);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_exit_code),
                cmocka_unit_test(test_spawn_failed),
                cmocka_unit_test(test_output_complete),
                cmocka_unit_test(test_stdin_roundtrip),
                cmocka_unit_test(test_pause_resume),
                cmocka_unit_test(test_batch_pause_many),
                cmocka_unit_test(test_stop_escalates),
                cmocka_unit_test(test_descendants_die),
                cmocka_unit_test(test_remove_leaves_nothing),
                cmocka_unit_test(test_remove_live_conflict),
        };
        return cmocka_run_group_tests(tests, itest_setup, itest_teardown);
}
