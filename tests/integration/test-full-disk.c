/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A full state file system (the daemon's state dir on a 6 MiB tmpfs of the test's): output that cannot be
 * logged is counted as dropped, a spawn that cannot write its record is refused and nothing of it runs, and
 * the daemon keeps serving. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

#include "cleanup.h"
#include "itest-util.h"

#define STATE_SIZE (6ULL * 1024 * 1024)

static int setup(void **state)
{
        /* workspaces on disk, in the state dir, as hosts with file system quotas run them: the filler
         * below fills the state dir's file system itself */
        static const HarnessOptions opts = {.extra_config = "workspace_size = max",
                                            .state_size = STATE_SIZE};

        return itest_setup_with(&opts, state);
}

static bool state_full(void *arg)
{
        struct statvfs sv;

        return statvfs(arg, &sv) == 0 && sv.f_bavail == 0;
}

typedef struct {
        ITest *t;
        const char *agent;
} Talker;

/* Its shim has told the daemon of output it could not log. */
static bool talker_dropped(void *arg)
{
        Talker *k = arg;
        ProtoOutputArgs oa = {.agent = (char *)k->agent, .has_limit = true, .limit = 1};
        ProtoOutputResult out = {};
        DescartesError err = {};
        bool yes;

        yes = wire_output(k->t->c, &oa, &out, &err) >= 0 && out.dropped > 0;
        proto_output_result_done(&out);
        return yes;
}

static void test_full_state_dir(void **state)
{
        ITest *t = *state;
        /* a writer that keeps printing (slowly: its own output must not be what fills the file system,
         * a few KiB a second), and a filler of its own default workspace (on the state dir's fs here) */
        const char *talker_argv[] = {"sh", "-c",
                                     "i=0; while :; do echo \"line $i of a talkative agent\"; i=$((i+1)); "
                                     "sleep 0.01; done",
                                     NULL};
        const char *filler_argv[] = {"sh", "-c", "cat /dev/zero > \"$HOME\"/../fill; sleep 600", NULL};
        const char *after_argv[] = {"sleep", "600", NULL};
        _cleanup_free_ char *talker = NULL;
        _cleanup_free_ char *filler = NULL;
        ProtoAgentInfo info = {};
        DescartesError err = {};
        ProtoSpawnArgs sa = {};
        ProtoStrPair env[] = {{(char *)"PATH", (char *)"/usr/bin:/bin"}};
        char *argv[] = {(char *)after_argv[0], (char *)after_argv[1], NULL};
        int r;
        struct statvfs sv;

        /* the file system starts (nearly) empty; say so if it does not, before anything can fail */
        assert_int_equal(statvfs(t->h->state_dir, &sv), 0);
        if (sv.f_bavail * sv.f_frsize < STATE_SIZE / 2) {
                char cmd[512];
                snprintf(cmd, sizeof cmd, "df %s; du -a %s | sort -n | tail", t->h->state_dir,
                         t->h->state_dir);
                (void)system(cmd);
                fail_msg("the test's fresh state file system has only %llu bytes free",
                         (unsigned long long)(sv.f_bavail * sv.f_frsize));
        }
        {
                ProtoSpawnArgs ta = {};
                char *targv[] = {(char *)talker_argv[0], (char *)talker_argv[1], (char *)talker_argv[2],
                                 NULL};
                ta.argv = targv;
                ta.n_argv = 3;
                ta.env.pairs = env;
                ta.env.n_pairs = 1;
                if (wire_spawn(t->c, &ta, &info, &err) < 0) {
                        char cmd[1024];
                        /* what the file system held when the first spawn was refused */
                        snprintf(
                                cmd, sizeof cmd,
                                "df -k %s; df -i %s; ls -laR %s | head -50; grep itest /proc/self/mountinfo",
                                t->h->state_dir, t->h->state_dir, t->h->state_dir);
                        (void)system(cmd);
                        fail_msg("the first spawn on a fresh state dir failed: %s", err.message);
                }
                talker = strdup(info.id);
                proto_agent_info_done(&info);
        }
        itest_sleep_ms(300);
        filler = itest_spawn(t, false, filler_argv);
        assert_int_equal(harness_wait_until(state_full, t->h->state_dir, 30000), 0);
        /* the talker's writes now fail: output that could not be logged is dropped, and counted (the shim
         * tells the daemon) */
        if (harness_wait_until(talker_dropped, &(Talker){.t = t, .agent = talker}, 30000) < 0)
                fail_msg("the talker's output is being lost but dropped says 0 after 30 s");

        /* a spawn that cannot write its record is refused, and nothing of it runs */
        sa.argv = argv;
        sa.n_argv = 2;
        sa.env.pairs = env;
        sa.env.n_pairs = 1;
        r = wire_spawn(t->c, &sa, &info, &err);
        assert_true(r < 0);
        if (!strstr(err.message, "record") && !strstr(err.message, "No space"))
                fail_msg("a spawn on a full state dir failed, but not saying why: %s", err.message);
        proto_agent_info_done(&info);
        {
                ProtoListArgs la = {.all = true};
                ProtoListResult lr = {};
                assert_int_equal(wire_list(t->c, &la, &lr, &err), 0);
                for (size_t i = 0; i < lr.n_agents; i++)
                        if (lr.agents[i].argv && lr.agents[i].n_argv == 2 &&
                            strcmp(lr.agents[i].argv[0], "sleep") == 0)
                                assert_true(lr.agents[i].state == PROTO_STATE_FAILED ||
                                            lr.agents[i].state == PROTO_STATE_EXITED);
                proto_list_result_done(&lr);
        }

        /* the daemon still serves: the talker can be killed, the filler too */
        assert_int_equal(wire_kill(t->c, talker, &info, &err), 0);
        proto_agent_info_done(&info);
        assert_int_equal(wire_kill(t->c, filler, &info, &err), 0);
        proto_agent_info_done(&info);

        /* their records could not follow: counted (and published as error events), not lost silently */
        {
                ProtoStatsResult st = {};
                int64_t failures = -1;
                assert_int_equal(wire_stats(t->c, &st, &err), 0);
                for (size_t i = 0; i < st.n_stats; i++)
                        if (strcmp(st.stats[i].name, "record_write_failures") == 0)
                                failures = st.stats[i].value;
                proto_stats_result_done(&st);
                if (failures < 1)
                        fail_msg("record_write_failures is %lld on a full state dir", (long long)failures);
        }
}

/* The default: a default workspace is a tmpfs of workspace_size; a filler gets ENOSPC there, and the state
 * dir's file system keeps its room. */
static void test_default_workspace_bounded(void **state)
{
        const HarnessOptions opts = {.extra_config = "workspace_size = 4M", .state_size = STATE_SIZE};
        Harness *h = NULL;
        DescartesClient *c = NULL;
        DescartesError err = {};
        ProtoSpawnArgs sa = {};
        ProtoAgentInfo info = {};
        ProtoStrPair env[] = {{(char *)"PATH", (char *)"/usr/bin:/bin"}};
        char *argv[] = {(char *)"sh", (char *)"-c",
                        (char *)"cat /dev/zero > \"$HOME\"/../fill; test $(stat -c %s \"$HOME\"/../fill) "
                                "-le 4194304 && exit 42",
                        NULL};
        struct statvfs before, after;

        (void)state;
        assert_int_equal(harness_start_with(&opts, &h), 0);
        assert_int_equal(descartes_client_new(h->control, &c), 0);
        assert_int_equal(statvfs(h->state_dir, &before), 0);
        sa.argv = argv;
        sa.n_argv = 3;
        sa.env.pairs = env;
        sa.env.n_pairs = 1;
        assert_int_equal(wire_spawn(c, &sa, &info, &err), 0);
        {
                ITest t = {.h = h, .c = c};
                char *id = strdup(info.id);
                proto_agent_info_done(&info);
                itest_wait_final(&t, id, 30000, &info);
                free(id);
        }
        /* cat hit ENOSPC at 4 MiB, and the size check said so */
        assert_true(info.has_exit_code);
        assert_int_equal(info.exit_code, 42);
        proto_agent_info_done(&info);
        assert_int_equal(statvfs(h->state_dir, &after), 0);
        assert_true(after.f_bavail + 64 >= before.f_bavail); /* records and logs only */
        descartes_client_free(c);
        harness_stop(h);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_full_state_dir),
                cmocka_unit_test(test_default_workspace_bounded),
        };
        return cmocka_run_group_tests(tests, setup, itest_teardown);
}
