/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* JSON text to values (basic/json-reader.c through proto_value_from_json): what the agents' action lines and
 * descartesctl --json go through. Every value converted is rendered back with proto_value_to_json. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proto-json.h"
#include "proto.h"

static void round_trip(const char *in, const char *member, const char *want)
{
        ProtoValue v = {};
        char *out = NULL;

        assert_int_equal(proto_value_from_json(in, strlen(in), member, &v), 0);
        assert_int_equal(proto_value_to_json(&v, &out), 0);
        assert_string_equal(out, want);
        free(out);
        proto_value_done(&v);
}

static int refused(const char *in, const char *member)
{
        ProtoValue v = {};
        int r = proto_value_from_json(in, strlen(in), member, &v);

        assert_null(v.data);
        return r;
}

static void test_values(void **state)
{
        round_trip(" {\"a\": [1, -2, 3.5, true, false, null, \"x\"], \"b\": {}} ", NULL,
                   "{\"a\":[1,-2,3.5,true,false,null,\"x\"],\"b\":{}}");
        round_trip("[]", NULL, "[]");
        round_trip("\"\\u00e9\\ud83d\\ude00\\n\\\"\"", NULL, "\"\xc3\xa9\xf0\x9f\x98\x80\\n\\\"\"");
        round_trip("18446744073709551615", NULL, "18446744073709551615");
        round_trip("-9223372036854775808", NULL, "-9223372036854775808");
        round_trip("1e2", NULL, "100");
}

static void test_member(void **state)
{
        const char *line = "{\"id\":\"00000000000000ff\",\"result\":{\"n\":[1,{\"k\":2}]},\"x\":[[]]}";

        round_trip(line, "result", "{\"n\":[1,{\"k\":2}]}");
        round_trip(line, "id", "\"00000000000000ff\"");
        round_trip("{\"error\":null}", "error", "null");
        assert_int_equal(refused(line, "error"), -ENOENT);
        assert_int_equal(refused("{\"result\":1,\"result\":2}", "result"), -EBADMSG);
        assert_int_equal(refused("[1]", "result"), -ENOENT);
}

static void test_refused(void **state)
{
        static const char *const bad[] = {
                "",      "{",     "{\"a\"}", "{\"a\":1,}", "[1,]",        "01",
                "1.",    "-",     "tru",     "\"\\x\"",    "\"\\ud800\"", "\"a\nb\"",
                "{} {}", "{1:2}", "[1 2]",   "\"\\u12\"",  "nul",         "{\"a\":1}}",
        };
        char deep[64] = {};

        for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
                assert_int_equal(refused(bad[i], NULL), -EBADMSG);
        /* 12 levels are a value, 13 are not */
        memset(deep, '[', 12);
        memset(deep + 12, ']', 12);
        round_trip(deep, NULL, "[[[[[[[[[[[[]]]]]]]]]]]]");
        memset(deep, '[', 13);
        memset(deep + 13, ']', 13);
        assert_int_equal(refused(deep, NULL), -ELOOP);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_values),
                cmocka_unit_test(test_member),
                cmocka_unit_test(test_refused),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
