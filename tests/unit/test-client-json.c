/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <json-c/json.h>
#include <msgpack.h>

#include "descartes/descartes.h"
#include "descartes-wire.h"
#include "json-writer.h"

/* Escapes n bytes and returns the text (freed by the caller). */
static char *escape(const char *s, size_t n)
{
        char *out = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&out, &size);

        assert_non_null(f);
        json_write_escaped(f, s, n);
        assert_int_equal(fclose(f), 0);
        return out;
}

#define ASSERT_ESCAPE(input, expected)                                                                      \
        do {                                                                                                \
                char *_o = escape((input), sizeof(input) - 1);                                              \
                if (strcmp(_o, (expected)) != 0)                                                            \
                        fail_msg("escaping gave %s, expected %s", _o, (expected));                          \
                free(_o);                                                                                   \
        } while (0)

static void test_escape(void **state)
{
        ASSERT_ESCAPE("", "\"\"");
        ASSERT_ESCAPE("plain", "\"plain\"");
        ASSERT_ESCAPE("a\"b\\c/d", "\"a\\\"b\\\\c/d\"");
        ASSERT_ESCAPE("\b\f\n\r\t", "\"\\b\\f\\n\\r\\t\"");
        ASSERT_ESCAPE("\x01\x1f\x7f", "\"\\u0001\\u001f\x7f\"");
        ASSERT_ESCAPE("nul\0byte", "\"nul\\u0000byte\"");
        /* valid UTF-8 passes through: 2, 3 and 4 byte sequences */
        ASSERT_ESCAPE("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
                      "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"");
        /* invalid bytes become U+FFFD, one per byte */
        ASSERT_ESCAPE("\xff", "\"\\ufffd\"");
        ASSERT_ESCAPE("a\xc3", "\"a\\ufffd\"");                                /* truncated sequence */
        ASSERT_ESCAPE("\xc0\xaf", "\"\\ufffd\\ufffd\"");                       /* overlong '/' */
        ASSERT_ESCAPE("\xe0\x80\xaf", "\"\\ufffd\\ufffd\\ufffd\"");            /* overlong 3-byte */
        ASSERT_ESCAPE("\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\"");            /* UTF-16 surrogate */
        ASSERT_ESCAPE("\xf4\x90\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\""); /* above U+10FFFF */
        ASSERT_ESCAPE("\xe2\x82", "\"\\ufffd\\ufffd\"");
}

/* Every byte string, escaped, must be valid JSON that json-c reads back (valid UTF-8 unchanged). */
static void test_escape_round_trip(void **state)
{
        char in[256];

        for (int i = 0; i < 256; i++)
                in[i] = (char)i;
        for (size_t len = 0; len <= sizeof in; len += 17) {
                char *o = escape(in + (256 - len), len);
                json_object *j = json_tokener_parse(o);

                if (!j)
                        fail_msg("json-c rejected %s", o);
                assert_true(json_object_is_type(j, json_type_string));
                json_object_put(j);
                free(o);
        }
        {
                static const char s[] = "tab\there \"quoted\" back\\slash \xc3\xa9\n";
                char *o = escape(s, sizeof s - 1);
                json_object *j = json_tokener_parse(o);

                assert_non_null(j);
                assert_string_equal(json_object_get_string(j), s);
                json_object_put(j);
                free(o);
        }
}

static void test_writer_structure(void **state)
{
        char *out = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&out, &size);
        JsonWriter w;

        assert_non_null(f);
        json_writer_init(&w, f);
        json_writer_object_begin(&w);
        json_writer_kv_string(&w, "s", "x\"y");
        json_writer_kv_uint(&w, "u", UINT64_MAX);
        json_writer_kv_int(&w, "i", INT64_MIN);
        json_writer_kv_bool(&w, "b", false);
        json_writer_key(&w, "n");
        json_writer_null(&w);
        json_writer_kv_string(&w, "null_string", NULL);
        json_writer_key(&w, "a");
        json_writer_array_begin(&w);
        json_writer_array_end(&w);
        json_writer_key(&w, "nested");
        json_writer_array_begin(&w);
        json_writer_object_begin(&w);
        json_writer_object_end(&w);
        json_writer_uint(&w, 1);
        json_writer_array_begin(&w);
        json_writer_string(&w, "z");
        json_writer_array_end(&w);
        json_writer_double(&w, 0.5);
        json_writer_double(&w, 1.0 / 0.0);
        json_writer_array_end(&w);
        json_writer_key(&w, "raw");
        json_writer_raw(&w, "{\"k\":1}");
        json_writer_object_end(&w);
        assert_int_equal(fclose(f), 0);

        assert_string_equal(out, "{\"s\":\"x\\\"y\",\"u\":18446744073709551615,\"i\":-9223372036854775808,"
                                 "\"b\":false,\"n\":null,\"null_string\":null,\"a\":[],"
                                 "\"nested\":[{},1,[\"z\"],0.5,null],\"raw\":{\"k\":1}}");
        {
                json_object *j = json_tokener_parse(out);
                assert_non_null(j);
                json_object_put(j);
        }
        free(out);
}

static void test_value_to_json(void **state)
{
        msgpack_sbuffer sb;
        msgpack_packer pk;
        char *json = NULL;

        msgpack_sbuffer_init(&sb);
        msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
        msgpack_pack_map(&pk, 5);
        msgpack_pack_str_with_body(&pk, "bytes", 5);
        msgpack_pack_uint64(&pk, 512);
        msgpack_pack_str_with_body(&pk, "msg", 3);
        msgpack_pack_str_with_body(&pk, "a\"b\n\xff", 5);
        msgpack_pack_str_with_body(&pk, "list", 4);
        msgpack_pack_array(&pk, 4);
        msgpack_pack_int64(&pk, -3);
        msgpack_pack_true(&pk);
        msgpack_pack_nil(&pk);
        msgpack_pack_double(&pk, 2.5);
        msgpack_pack_uint8(&pk, 7); /* a non-string key */
        msgpack_pack_bin_with_body(&pk, "bin", 3);
        msgpack_pack_str_with_body(&pk, "m", 1);
        msgpack_pack_map(&pk, 0);

        assert_int_equal(descartes_msgpack_to_json(sb.data, sb.size, &json), 0);
        assert_string_equal(json, "{\"bytes\":512,\"msg\":\"a\\\"b\\n\\ufffd\",\"list\":[-3,true,null,2.5],"
                                  "\"7\":\"bin\",\"m\":{}}");
        free(json);

        /* trailing bytes and truncation are refused */
        assert_int_equal(descartes_msgpack_to_json(sb.data, sb.size - 1, &json), -EINVAL);
        msgpack_pack_nil(&pk);
        assert_int_equal(descartes_msgpack_to_json(sb.data, sb.size, &json), -EINVAL);
        assert_int_equal(descartes_msgpack_to_json(NULL, sb.size, &json), -EINVAL);
        msgpack_sbuffer_destroy(&sb);
}

/* The records' JSON is descartesctl's -o json: every key, in this order, null when absent. */
static void test_result_json(void **state)
{
        ProtoAgentInfo info = {.state = PROTO_STATE_EXITED,
                               .has_reason = true,
                               .reason = PROTO_REASON_SIGNALED,
                               .has_signal = true,
                               .signal = 9,
                               .owner_uid = 1000,
                               .created_ns = 5,
                               .has_ended_ns = true,
                               .ended_ns = 7,
                               .limits = {.has_memory = true, .memory = 1024},
                               .has_uid = true,
                               .uid = 65536,
                               .has_gid = true,
                               .gid = 65536};
        ProtoEvent ev = {.seq = 3,
                         .ts_ns = 4,
                         .kind = PROTO_EVENT_EXITED,
                         .has_state = true,
                         .state = PROTO_STATE_EXITED};
        ProtoStatsResult stats = {.stats = calloc(1, sizeof(ProtoStat)), .n_stats = 1};
        DescartesAgent *a = NULL;
        DescartesEvent *e = NULL;
        DescartesStats *s = NULL;
        char *json = NULL;

        info.id = strdup("0b6f3c52-8f1d-4b7a-9c3e-2d4f5a6b7c8d");
        info.argv = calloc(2, sizeof(char *));
        assert_non_null(info.argv);
        info.argv[0] = strdup("sleep");
        info.n_argv = 1;
        assert_int_equal(proto_str_map_add(&info.labels, "team", "ml"), 0);
        assert_int_equal(wire_agent_new(&info, &a), 0);
        assert_int_equal(descartes_agent_to_json(a, &json), 0);
        assert_string_equal(
                json,
                "{\"id\":\"0b6f3c52-8f1d-4b7a-9c3e-2d4f5a6b7c8d\",\"name\":null,\"state\":\"exited\","
                "\"reason\":\"signaled\",\"exit_code\":null,\"signal\":9,\"owner_uid\":1000,"
                "\"labels\":{\"team\":\"ml\"},\"argv\":[\"sleep\"],\"created_ns\":5,\"started_ns\":null,"
                "\"ended_ns\":7,\"spawn_us\":null,\"pid\":null,\"cgroup\":null,"
                "\"limits\":{\"memory\":1024},\"usage\":null,\"uid\":65536,\"gid\":65536}");
        free(json);
        descartes_agent_unref(a);

        assert_int_equal(wire_event_new(&ev, &e), 0);
        assert_int_equal(descartes_event_to_json(e, &json), 0);
        assert_string_equal(json,
                            "{\"seq\":3,\"ts_ns\":4,\"kind\":\"exited\",\"agent\":null,\"state\":\"exited\","
                            "\"reason\":null,\"data\":null}");
        free(json);
        descartes_event_unref(e);

        assert_non_null(stats.stats);
        stats.stats[0] = (ProtoStat){.name = strdup("agents_total"), .value = -1};
        assert_int_equal(wire_stats_new(&stats, &s), 0);
        assert_int_equal(descartes_stats_to_json(s, &json), 0);
        assert_string_equal(json, "{\"agents_total\":-1}");
        free(json);
        descartes_stats_unref(s);

        /* a tenants reply: its getters, and the protocol's JSON (an absent quota left out) */
        {
                ProtoTenantsResult res = {.tenants = calloc(1, sizeof(ProtoTenant)), .n_tenants = 1};
                DescartesTenants *t = NULL;
                uint64_t v = 0, mem = 0;

                assert_non_null(res.tenants);
                res.tenants[0] = (ProtoTenant){
                        .uid = 1001,
                        .user = strdup("alice"),
                        .agents = 2,
                        .has_usage = true,
                        .usage = {.cpu_usec = 5, .memory_current = 6, .memory_peak = 7, .pids_current = 8},
                        .quota = {.has_memory = true, .memory = 4096, .has_agents = true, .agents = 4},
                };
                assert_int_equal(wire_tenants_new(&res, &t), 0);
                assert_int_equal(descartes_tenants_get_size(t), 1);
                assert_int_equal(descartes_tenants_get_uid(t, 0), 1001);
                assert_string_equal(descartes_tenants_get_user(t, 0), "alice");
                assert_int_equal(descartes_tenants_get_agents(t, 0), 2);
                assert_true(descartes_tenants_get_usage(t, 0, NULL, &mem, NULL, NULL));
                assert_int_equal(mem, 6);
                assert_true(descartes_tenants_get_quota(t, 0, DESCARTES_QUOTA_AGENTS, &v));
                assert_int_equal(v, 4);
                assert_false(descartes_tenants_get_quota(t, 0, DESCARTES_QUOTA_CPU_MILLICORES, &v));
                assert_false(descartes_tenants_get_quota(t, 1, DESCARTES_QUOTA_AGENTS, &v));
                assert_int_equal(descartes_tenants_to_json(t, &json), 0);
                assert_string_equal(json, "{\"tenants\":[{\"uid\":1001,\"user\":\"alice\",\"agents\":2,"
                                          "\"usage\":{\"cpu_usec\":5,\"memory_current\":6,\"memory_peak\":7,"
                                          "\"pids_current\":8},\"quota\":{\"memory\":4096,\"agents\":4}}]}");
                free(json);
                descartes_tenants_unref(t);
        }

        /* an output line as `logs -o json` prints it: truncated only when it is */
        {
                ProtoOutputResult res = {.mode = PROTO_OUTPUT_LINES,
                                         .lines = calloc(2, sizeof(ProtoOutputLine)),
                                         .n_lines = 2};
                DescartesOutput *o = NULL;

                assert_non_null(res.lines);
                res.lines[0] = (ProtoOutputLine){.seq = 1,
                                                 .ts_ns = 2,
                                                 .stream = PROTO_STREAM_STDERR,
                                                 .text = strdup("err1"),
                                                 .text_size = 4};
                res.lines[1] = (ProtoOutputLine){.seq = 2,
                                                 .ts_ns = 3,
                                                 .stream = PROTO_STREAM_STDOUT,
                                                 .text = strdup("long"),
                                                 .text_size = 4,
                                                 .truncated = true};
                assert_int_equal(wire_output_new(&res, &o), 0);
                assert_int_equal(descartes_output_line_to_json(descartes_output_get_line(o, 0), &json), 0);
                assert_string_equal(json, "{\"seq\":1,\"ts_ns\":2,\"stream\":\"stderr\",\"text\":\"err1\"}");
                free(json);
                assert_int_equal(descartes_output_line_to_json(descartes_output_get_line(o, 1), &json), 0);
                assert_string_equal(json, "{\"seq\":2,\"ts_ns\":3,\"stream\":\"stdout\",\"text\":\"long\","
                                          "\"truncated\":true}");
                free(json);
                descartes_output_unref(o);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_escape),           cmocka_unit_test(test_escape_round_trip),
                cmocka_unit_test(test_writer_structure), cmocka_unit_test(test_value_to_json),
                cmocka_unit_test(test_result_json),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
