/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* JSON from the field tables (proto-json.c): byte for byte what `descartesctl -o json` printed when it wrote
 * every key by hand (the expected strings were recorded from that code on the sample messages). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proto-json.h"
#include "proto-samples.h"

static const char agent_min[] =
        "{\"id\":\"6f1c1b7e-2c4a-4f7e-9a51-0d6b2f0e8c11\",\"name\":null,\"state\":\"starting\",\"rea"
        "son\":null,\"exit_code\":null,\"signal\":null,\"owner_uid\":0,\"labels\":{},\"argv\":[\"clau"
        "de\"],\"created_ns\":1763900000123456789,\"started_ns\":null,\"ended_ns\":null,\"spawn_u"
        "s\":null,\"pid\":null,\"cgroup\":null,\"limits\":{},\"usage\":null,\"uid\":null,\"gid\":null}";
static const char agent_full[] =
        "{\"id\":\"6f1c1b7e-2c4a-4f7e-9a51-0d6b2f0e8c11\",\"name\":\"fixer-1\",\"state\":\"exited\",\""
        "reason\":\"signaled\",\"exit_code\":-1,\"signal\":9,\"owner_uid\":4294967294,\"labels\":{\"t"
        "eam\":\"infra\",\"ticket\":\"\"},\"argv\":[\"claude\",\"-p\",\"fix the build\",\"\"],\"created_ns\""
        ":1763900000123456789,\"started_ns\":1763900000123457789,\"ended_ns\":184467440737095"
        "51615,\"spawn_us\":4321,\"pid\":424242,\"cgroup\":\"/sys/fs/cgroup/descartes.slice/agen"
        "t-6f1c.scope\",\"limits\":{\"cpu_millicores\":1500,\"memory\":2147483648,\"swap\":0,\"pids"
        "\":256},\"usage\":{\"cpu_usec\":12,\"memory_current\":1048576,\"memory_peak\":3145728,\"pi"
        "ds_current\":7},\"uid\":65537,\"gid\":65537,\"tty\":true,\"health_check\":{\"cmd\":[\"test\",\"-"
        "f\"],"
        "\"interval_ms\":200,\"timeout_ms\":5000,\"retries\":3,\"idle_timeout_ms\":60000,\"on_unhe"
        "althy\":\"stop\"},\"health\":\"unhealthy\",\"health_last\":{\"ts_ns\":7,\"exit_code\":1,"
        "\"output\":\"no\\n\",\"failures\":3,\"reason\":\"the check failed 3 times in a row\"}}";
static const char health_full[] =
        "{\"version\":\"0.1.0\",\"protocol\":1,\"uptime_s\":86400,\"agents\":{\"starting\":0,\"running"
        "\":3,\"pausing\":6,\"paused\":9,\"resuming\":12,\"stopping\":15,\"exited\":18,\"failed\":21},"
        "\"host\":{\"cpus\":2,\"mem_total\":8589934592,\"mem_available\":5368709120,\"load1\":0.25,"
        "\"load5\":1.5,\"load15\":0},\"cgroup\":{\"root\":\"/sys/fs/cgroup/descartes\",\"controllers"
        "\":[\"cpu\",\"memory\",\"pids\"]}}";
static const char event_min[] =
        "{\"seq\":1,\"ts_ns\":0,\"kind\":\"limit_hit\",\"agent\":null,\"state\":null,\"reason\":null,\"d"
        "ata\":null}";
static const char event_full[] =
        "{\"seq\":18446744073709551615,\"ts_ns\":1763900000123456789,\"kind\":\"limit_hit\",\"agen"
        "t\":\"6f1c1b7e-2c4a-4f7e-9a51-0d6b2f0e8c11\",\"state\":\"exited\",\"reason\":\"oom_killed\""
        ",\"data\":{\"bytes\":512,\"seq_first\":3}}";

static void test_agent_info(void **state)
{
        (void)state;
        for (int full = 0; full <= 1; full++) {
                ProtoAgentInfo i = {};
                char *json = NULL;

                assert_int_equal(sample_agent_info(full, &i), 0);
                assert_int_equal(proto_agent_info_to_json(&i, &json), 0);
                assert_string_equal(json, full ? agent_full : agent_min);
                free(json);
                proto_agent_info_done(&i);
        }
}

static void test_health(void **state)
{
        ProtoReply r = {};
        char *json = NULL;

        (void)state;
        assert_int_equal(sample_reply(PROTO_OP_HEALTH, 1, &r), 0);
        assert_int_equal(proto_reply_result_to_json(&r, &json), 0);
        assert_string_equal(json, health_full);
        free(json);
        proto_reply_done(&r);
}

static void test_event(void **state)
{
        (void)state;
        for (unsigned v = 0; v <= 1; v++) {
                ProtoEvent e = {};
                char *json = NULL;

                assert_int_equal(sample_event(PROTO_EVENT_LIMIT_HIT, v, &e), 0);
                assert_int_equal(proto_event_to_json(&e, &json), 0);
                assert_string_equal(json, v ? event_full : event_min);
                free(json);
                proto_event_done(&e);
        }
}

/* Every op's result renders (no crash, one JSON object) from its registry row's table. */
static void test_every_result(void **state)
{
        (void)state;
        for (ProtoOp op = 0; op < _PROTO_OP_MAX; op++)
                for (unsigned v = 0; v < 8; v++) {
                        ProtoReply r = {};
                        char *json = NULL;

                        if (sample_reply(op, v, &r) < 0)
                                break;
                        if (r.ok) {
                                assert_int_equal(proto_reply_result_to_json(&r, &json), 0);
                                assert_true(json[0] == '{' && json[strlen(json) - 1] == '}');
                                free(json);
                        } else
                                assert_int_equal(proto_reply_result_to_json(&r, &json), -EINVAL);
                        proto_reply_done(&r);
                }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_agent_info),
                cmocka_unit_test(test_health),
                cmocka_unit_test(test_event),
                cmocka_unit_test(test_every_result),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
