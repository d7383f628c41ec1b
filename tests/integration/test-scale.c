/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* 200 agents spawned at once by 4 clients all reach running and are listed; then all are stopped and removed
 * with no process or cgroup left. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "itest-util.h"
#include "string-util.h"

#define N_CLIENTS  4
#define PER_CLIENT 50

typedef struct Worker {
        ITest *t;
        int index;
        char *ids[PER_CLIENT];
        int failures;
        char first_error[DESCARTES_ERROR_MESSAGE_MAX];
} Worker;

static void *spawn_worker(void *arg)
{
        Worker *w = arg;
        DescartesClient *c = NULL;
        ProtoStrPair env[] = {{(char *)"PATH", (char *)"/usr/bin:/bin"}};
        const char *argv[] = {"sleep", "1000", NULL};

        if (descartes_client_new(w->t->h->control, &c) < 0) {
                w->failures = PER_CLIENT;
                return NULL;
        }
        for (int i = 0; i < PER_CLIENT; i++) {
                ProtoSpawnArgs a = {.argv = (char **)argv, .n_argv = 2};
                ProtoStrPair label = {(char *)"batch", (char *)"scale"};
                ProtoAgentInfo info = {};
                DescartesError err = {};

                a.env.pairs = env;
                a.env.n_pairs = 1;
                a.labels.pairs = &label;
                a.labels.n_pairs = 1;
                if (wire_spawn(c, &a, &info, &err) < 0 || info.state != PROTO_STATE_RUNNING) {
                        if (!w->failures)
                                (void)snprintf(w->first_error, sizeof w->first_error, "%s", err.message);
                        w->failures++;
                } else
                        w->ids[i] = strdup(info.id);
                proto_agent_info_done(&info);
        }
        descartes_client_free(c);
        return NULL;
}

static void test_200_agents(void **state)
{
        ITest *t = *state;
        Worker w[N_CLIENTS] = {};
        pthread_t th[N_CLIENTS];
        ProtoStrPair label = {(char *)"batch", (char *)"scale"};
        ProtoListArgs la = {.labels = {&label, 1}};
        ProtoListResult list = {};
        DescartesError err = {};
        _cleanup_free_ char *agents_dir = NULL;

        for (int i = 0; i < N_CLIENTS; i++) {
                w[i].t = t;
                w[i].index = i;
                assert_int_equal(pthread_create(&th[i], NULL, spawn_worker, &w[i]), 0);
        }
        for (int i = 0; i < N_CLIENTS; i++) {
                assert_int_equal(pthread_join(th[i], NULL), 0);
                if (w[i].failures)
                        fail_msg("client %d: %d spawns failed, first: %s", i, w[i].failures,
                                 w[i].first_error);
        }

        assert_int_equal(wire_list(t->c, &la, &list, &err), 0);
        assert_int_equal(list.n_agents, N_CLIENTS * PER_CLIENT);
        for (size_t i = 0; i < list.n_agents; i++)
                assert_int_equal(list.agents[i].state, PROTO_STATE_RUNNING);
        proto_list_result_done(&list);
        assert_int_equal(harness_cgroup_nprocs(t->h->cgroup_root) >= N_CLIENTS * PER_CLIENT * 2, 1);

        /* stop all of them at once with one batch, then remove each */
        ProtoBatchArgs b = {.op = PROTO_OP_STOP, .has_selector = true, .selector = {.labels = {&label, 1}}};
        ProtoBatchResult br = {};
        b.args.stop.has_grace_ms = true;
        b.args.stop.grace_ms = 5000;
        assert_int_equal(wire_batch(t->c, &b, &br, &err), 0);
        assert_int_equal(br.ok_count, N_CLIENTS * PER_CLIENT);
        assert_int_equal(br.failed_count, 0);
        proto_batch_result_done(&br);

        for (int i = 0; i < N_CLIENTS; i++)
                for (int j = 0; j < PER_CLIENT; j++) {
                        ProtoAgentInfo info = {};
                        itest_wait_final(t, w[i].ids[j], 30000, &info);
                        assert_int_equal(info.reason, PROTO_REASON_STOPPED);
                        proto_agent_info_done(&info);
                        assert_int_equal(wire_remove(t->c, w[i].ids[j], &info, &err), 0);
                        proto_agent_info_done(&info);
                        free(w[i].ids[j]);
                }

        la = (ProtoListArgs){.all = true};
        assert_int_equal(wire_list(t->c, &la, &list, &err), 0);
        assert_int_equal(list.n_agents, 0);
        proto_list_result_done(&list);

        /* only the daemon itself is left in the cgroup root; no agent cgroup remains */
        assert_true(asprintf_safe(&agents_dir, "%s/agents", t->h->cgroup_root) >= 0);
        assert_int_equal(harness_cgroup_nprocs(agents_dir), 0);
        assert_int_equal(harness_cgroup_count_dirs(agents_dir), 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_200_agents),
        };
        return cmocka_run_group_tests(tests, itest_setup, itest_teardown);
}
