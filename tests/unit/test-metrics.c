/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* metrics.c: the Prometheus text from a snapshot, without a daemon. */
#include <setjmp.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "metrics.h"

static void test_escape(void **state)
{
        char *s = NULL;

        (void)state;
        assert_int_equal(metrics_escape_label("a\\b\"c\nd", &s), 0);
        assert_string_equal(s, "a\\\\b\\\"c\\nd");
        free(s);
        assert_int_equal(metrics_escape_label("", &s), 0);
        assert_string_equal(s, "");
        free(s);
}

static void test_histogram(void **state)
{
        MetricsHistogram h = {};

        (void)state;
        metrics_histogram_observe(&h, 0);
        metrics_histogram_observe(&h, 500);        /* on a bound: that bucket */
        metrics_histogram_observe(&h, 501);        /* just above: the next */
        metrics_histogram_observe(&h, UINT32_MAX); /* above every bound: +Inf */
        assert_int_equal(h.bucket[0], 2);
        assert_int_equal(h.bucket[1], 1);
        assert_int_equal(h.bucket[METRICS_BUCKETS], 1);
        assert_int_equal(h.count, 4);
        assert_int_equal(h.sum_usec, 1001 + (uint64_t)UINT32_MAX);
}

static ProtoAgentInfo info(const char *id, const char *name, uint32_t uid)
{
        return (ProtoAgentInfo){
                .id = (char *)id,
                .name = (char *)name,
                .owner_uid = uid,
                .state = PROTO_STATE_RUNNING,
                .has_usage = true,
                .usage = {.cpu_usec = 1500000, .memory_current = 4096, .pids_current = 3},
                .limits = {.has_memory = true, .memory = 1 << 20},
        };
}

static void test_format(void **state)
{
        ProtoAgentInfo infos[] = {info("id-1", "web\"1", 1000), info("id-2", NULL, 1000)};
        MetricsAgent agents[] = {{.info = &infos[0]}, {.info = &infos[1]}};
        ProtoTenant tenant = {.uid = 1000,
                              .user = (char *)"alice",
                              .agents = 2,
                              .quota = {.has_memory = true, .memory = 2 << 20}};
        uint64_t requests[_PROTO_OP_MAX] = {[PROTO_OP_SPAWN] = 2}, errors[_PROTO_ERROR_MAX] = {};
        MetricsHistogram latency[_PROTO_OP_MAX] = {}, spawn = {};
        MetricsDaemon d = {.requests = requests, .errors = errors, .latency = latency, .spawn = &spawn};
        MetricsInput in = {
                .host = {.cpus = 2}, .agents = agents, .n_agents = 2, .tenants = &tenant, .n_tenants = 1};
        char *text = NULL;

        (void)state;
        agents[0].has_hits[CGROUP_COUNTER_MEMORY_MAX] = true;
        agents[0].hits[CGROUP_COUNTER_MEMORY_MAX] = 7;
        metrics_histogram_observe(&latency[PROTO_OP_SPAWN], 2000);
        metrics_histogram_observe(&latency[PROTO_OP_SPAWN], 20000000);

        /* a tenant's view: no daemon counters */
        assert_int_equal(metrics_format(&in, 1 << 20, &text), 0);
        assert_non_null(strstr(text, "# TYPE descartes_agent_cpu_seconds_total counter\n"));
        assert_non_null(strstr(text, "descartes_agent_cpu_seconds_total{agent=\"id-1\",name=\"web\\\"1\","
                                     "uid=\"1000\"} 1.5\n"));
        assert_non_null(strstr(text,
                               "descartes_agent_memory_max_bytes{agent=\"id-2\",name=\"\",uid=\"1000\"} "
                               "1048576\n"));
        assert_non_null(strstr(text, "descartes_agent_limit_hits_total{agent=\"id-1\",name=\"web\\\"1\","
                                     "uid=\"1000\",limit=\"memory.max\"} 7\n"));
        assert_null(strstr(text, "limit=\"pids.max\""));
        assert_non_null(
                strstr(text, "descartes_tenant_quota_memory_bytes{uid=\"1000\",user=\"alice\"} 2097152\n"));
        assert_null(strstr(text, "descartes_tenant_quota_pids{"));
        assert_null(strstr(text, "descartes_requests_total"));
        assert_non_null(strstr(text, "descartes_metrics_truncated 0\n"));
        free(text);

        /* an admin's: the histograms, cumulative, +Inf == _count */
        in.daemon = &d;
        assert_int_equal(metrics_format(&in, 1 << 20, &text), 0);
        assert_non_null(strstr(text, "descartes_requests_total{op=\"spawn\"} 2\n"));
        assert_non_null(
                strstr(text, "descartes_request_duration_seconds_bucket{op=\"spawn\",le=\"0.001\"} 0\n"));
        assert_non_null(
                strstr(text, "descartes_request_duration_seconds_bucket{op=\"spawn\",le=\"0.0025\"} 1\n"));
        assert_non_null(
                strstr(text, "descartes_request_duration_seconds_bucket{op=\"spawn\",le=\"10\"} 1\n"));
        assert_non_null(
                strstr(text, "descartes_request_duration_seconds_bucket{op=\"spawn\",le=\"+Inf\"} 2\n"));
        assert_non_null(strstr(text, "descartes_request_duration_seconds_sum{op=\"spawn\"} 20.002\n"));
        assert_non_null(strstr(text, "descartes_request_duration_seconds_count{op=\"spawn\"} 2\n"));
        assert_non_null(strstr(text, "descartes_spawn_duration_seconds_bucket{le=\"+Inf\"} 0\n"));
        assert_non_null(strstr(text, "descartes_spawn_duration_seconds_count 0\n"));
        free(text);

        /* too small for every series: cut, still ending with the truncated gauge */
        assert_int_equal(metrics_format(&in, 2048, &text), 0);
        assert_true(strlen(text) < 2048);
        assert_non_null(strstr(text, "descartes_metrics_truncated 1\n"));
        assert_null(strstr(text, "descartes_requests_total"));
        assert_int_equal(text[strlen(text) - 1], '\n');
        free(text);
        assert_int_equal(metrics_format(&in, 100, &text), -EINVAL);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_escape),
                cmocka_unit_test(test_histogram),
                cmocka_unit_test(test_format),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
