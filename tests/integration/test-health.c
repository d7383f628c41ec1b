/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Health checks: a check that starts failing makes the agent unhealthy after its retries and, with
 * on_unhealthy stop, stopped, with its events in order; the idle rule; the settings and the verdict kept
 * across a daemon restart, and the checks going on after the adoption. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "itest-util.h"
#include "string-util.h"

static char *spawn_checked(ITest *t, const char *const *argv, bool open_stdin, const ProtoHealthCheck *h)
{
        ProtoSpawnArgs a = {};
        ProtoStrPair env[] = {{(char *)"PATH", (char *)"/usr/local/bin:/usr/bin:/bin"}};
        ProtoAgentInfo info = {};
        DescartesError err = {};
        char *id;

        a.argv = (char **)argv;
        a.n_argv = strv_length((char *const *)argv);
        a.env.pairs = env;
        a.env.n_pairs = 1;
        a.open_stdin = open_stdin;
        a.has_health_check = true;
        a.health_check = *h;
        if (wire_spawn(t->c, &a, &info, &err) < 0)
                fail_msg("spawn: %s", err.message);
        assert_true(info.has_health_check);
        assert_true(info.has_health);
        assert_int_equal(info.health, PROTO_HEALTH_STARTING);
        id = strdup(info.id);
        assert_non_null(id);
        proto_agent_info_done(&info);
        return id;
}

static void get_info(ITest *t, const char *id, ProtoAgentInfo *ret)
{
        DescartesError err;

        if (wire_get(t->c, id, ret, &err) < 0)
                fail_msg("get %s: %s", id, err.message);
}

static void wait_health(ITest *t, const char *id, ProtoHealth want)
{
        for (unsigned i = 0; i < 500; i++) {
                ProtoAgentInfo info = {};
                bool done;

                get_info(t, id, &info);
                done = info.has_health && info.health == want;
                proto_agent_info_done(&info);
                if (done)
                        return;
                itest_sleep_ms(20);
        }
        fail_msg("agent %s never became %s", id, proto_health_to_string(want));
}

/* "health_changed:healthy" and the like, for the agent's events in the order they came */
static void describe(const ProtoEvent *e, char *buf, size_t size)
{
        ProtoEventData d = {};

        if (e->kind == PROTO_EVENT_HEALTH_CHANGED &&
            proto_event_data_decode(PROTO_EVENT_HEALTH_CHANGED, &e->data, &d, NULL) >= 0) {
                (void)snprintf(buf, size, "health_changed:%s->%s",
                               proto_health_to_string(d.health_changed.previous),
                               proto_health_to_string(d.health_changed.health));
                proto_event_data_done(PROTO_EVENT_HEALTH_CHANGED, &d);
        } else if (e->kind == PROTO_EVENT_STATUS_CHANGED && e->has_state)
                (void)snprintf(buf, size, "status_changed:%s", proto_state_to_string(e->state));
        else if (e->kind == PROTO_EVENT_EXITED && e->has_reason)
                (void)snprintf(buf, size, "exited:%s", proto_reason_to_string(e->reason));
        else
                (void)snprintf(buf, size, "%s", proto_event_kind_to_string(e->kind));
}

static void test_unhealthy_stopped(void **state)
{
        ITest *t = *state;
        /* the check passes while the file is there; the agent removes it after a while */
        const char *const argv[] = {"sh", "-c", "touch ok; echo started; sleep 1.5; rm ok; exec sleep 1000",
                                    NULL};
        const char *const check[] = {"test", "-f", "ok", NULL};
        ProtoHealthCheck h = {.cmd = (char **)check,
                              .n_cmd = 3,
                              .has_interval_ms = true,
                              .interval_ms = 200,
                              .has_timeout_ms = true,
                              .timeout_ms = 2000,
                              .has_retries = true,
                              .retries = 3,
                              .has_on_unhealthy = true,
                              .on_unhealthy = PROTO_ON_UNHEALTHY_STOP};
        _cleanup_(descartes_subscription_freep) DescartesSubscription *sub = NULL;
        _cleanup_strv_free_ char **seen = NULL;
        _cleanup_free_ char *id = NULL;
        ProtoAgentInfo info = {};
        DescartesError err;
        const char *want[] = {"health_changed:starting->healthy", "health_changed:healthy->unhealthy",
                              "status_changed:stopping", "status_changed:exited", "exited:stopped"};
        size_t k = 0;

        assert_int_equal(descartes_subscribe(t->c, NULL, &sub, &err), 0);
        id = spawn_checked(t, argv, false, &h);
        for (unsigned i = 0; i < 300 && k < ELEMENTSOF(want); i++) {
                ProtoEvent e = {};
                char buf[128];
                int r = wire_subscription_next(sub, 100 * 1000, &e, &err);

                assert_true(r >= 0);
                if (r == 0)
                        continue;
                if (e.agent && streq(e.agent, id) && e.kind != PROTO_EVENT_OUTPUT) {
                        describe(&e, buf, sizeof buf);
                        fprintf(stderr, "event: %s\n", buf);
                        assert_int_equal(strv_extend(&seen, buf), 0);
                        if (streq(buf, want[k]))
                                k++;
                        else if (k > 0 || e.kind == PROTO_EVENT_HEALTH_CHANGED)
                                fail_msg("event %s where %s was expected", buf, want[k]);
                }
                proto_event_done(&e);
        }
        assert_int_equal(k, ELEMENTSOF(want));

        get_info(t, id, &info);
        assert_int_equal(info.state, PROTO_STATE_EXITED);
        assert_int_equal(info.reason, PROTO_REASON_STOPPED);
        assert_int_equal(info.health, PROTO_HEALTH_UNHEALTHY);
        assert_true(info.has_health_last);
        assert_true(info.health_last.failures >= 3);
        assert_true(info.health_last.has_exit_code);
        assert_int_equal(info.health_last.exit_code, 1);
        assert_non_null(info.health_last.reason);
        assert_non_null(strstr(info.health_last.reason, "failed 3 times"));
        /* the settings with the defaults filled in */
        assert_int_equal(info.health_check.n_cmd, 3);
        assert_int_equal(info.health_check.interval_ms, 200);
        assert_int_equal(info.health_check.on_unhealthy, PROTO_ON_UNHEALTHY_STOP);
        proto_agent_info_done(&info);
}

static void test_idle(void **state)
{
        ITest *t = *state;
        const char *const argv[] = {"sh", "-c", "echo hi; while read l; do echo \"$l\"; done", NULL};
        ProtoHealthCheck h = {.has_idle_timeout_ms = true, .idle_timeout_ms = 500};
        _cleanup_free_ char *id = NULL;
        ProtoAgentInfo info = {};
        DescartesError err;

        id = spawn_checked(t, argv, true, &h);
        wait_health(t, id, PROTO_HEALTH_HEALTHY); /* it wrote "hi" */
        wait_health(t, id, PROTO_HEALTH_UNHEALTHY);
        get_info(t, id, &info);
        assert_int_equal(info.state, PROTO_STATE_RUNNING); /* on_unhealthy none */
        assert_non_null(info.health_last.reason);
        assert_non_null(strstr(info.health_last.reason, "no output for 500 ms"));
        proto_agent_info_done(&info);
        assert_int_equal(wire_stdin(t->c, id, "again\n", 6, false, NULL, &err), 0);
        wait_health(t, id, PROTO_HEALTH_HEALTHY);
        assert_int_equal(wire_kill(t->c, id, NULL, &err), 0);
}

static void test_across_restart(void **state)
{
        ITest *t = *state;
        const char *const argv[] = {"sh", "-c", "touch ok; echo ready; exec sleep 1000", NULL};
        const char *const check[] = {"test", "-f", "ok", NULL};
        const char *const rm_argv[] = {"rm", "ok", NULL};
        ProtoHealthCheck h = {.cmd = (char **)check,
                              .n_cmd = 3,
                              .has_interval_ms = true,
                              .interval_ms = 200,
                              .has_retries = true,
                              .retries = 2};
        ProtoExecArgs x = {.argv = (char **)rm_argv, .n_argv = 2};
        _cleanup_(proto_exec_result_done) ProtoExecResult res = {};
        _cleanup_free_ char *id = NULL;
        ProtoAgentInfo info = {};
        DescartesError err;

        id = spawn_checked(t, argv, false, &h);
        wait_health(t, id, PROTO_HEALTH_HEALTHY);
        assert_int_equal(harness_kill_daemon(t->h, SIGKILL), 0);
        assert_int_equal(harness_restart_daemon(t->h), 0);
        /* the settings and the verdict are part of the agent's record */
        get_info(t, id, &info);
        assert_int_equal(info.state, PROTO_STATE_RUNNING);
        assert_true(info.has_health_check);
        assert_int_equal(info.health_check.n_cmd, 3);
        assert_string_equal(info.health_check.cmd[0], "test");
        assert_int_equal(info.health_check.retries, 2);
        assert_int_equal(info.health, PROTO_HEALTH_HEALTHY);
        proto_agent_info_done(&info);
        /* the checks go on under the new daemon: the file gone, the agent turns unhealthy */
        x.agent = id;
        if (wire_exec(t->c, &x, &res, &err) < 0)
                fail_msg("exec rm: %s", err.message);
        assert_int_equal(res.exit_code, 0);
        wait_health(t, id, PROTO_HEALTH_UNHEALTHY);
        assert_int_equal(wire_kill(t->c, id, NULL, &err), 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_unhealthy_stopped),
                cmocka_unit_test(test_idle),
                cmocka_unit_test(test_across_restart),
        };

        return cmocka_run_group_tests(tests, itest_setup, itest_teardown);
}
