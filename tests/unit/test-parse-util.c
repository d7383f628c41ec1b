/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "cleanup.h"
#include "parse-util.h"

#define KIB      UINT64_C(1024)
#define MIB      (KIB * 1024)
#define GIB      (MIB * 1024)
#define TIB      (GIB * 1024)
#define USEC_SEC UINT64_C(1000000)

/* Names the failing input, which a bare assert in a loop would not. */
#define assert_parse(call, input, expected)                                                                 \
        do {                                                                                                \
                int _r = (call);                                                                            \
                if (_r != (expected))                                                                       \
                        fail_msg("%s with \"%s\": got %d, expected %d", #call, (input), _r, (expected));    \
        } while (0)

static const char *const common_garbage[] = {
        "",     " ",     "\t",  " \n ", "abc",  "-1",   "+1",    " 1",     "1 ",   "1\n",
        "nan",  "NaN",   "inf", "-inf", "0x10", "0X1f", "1e3",   "1E3",    "1.",   ".5",
        "1..5", "1.5.5", "1,5", "--1",  "1-",   "١",    "0b101", "1.5.5G", "1.5x",
};

static void test_size_accepted(void **state)
{
        static const struct {
                const char *s;
                uint64_t v;
        } ok[] = {
                {"0", 0},
                {"4096", 4096},
                {"4096B", 4096},
                {"007", 7},
                {"4K", 4 * KIB},
                {"64k", 64 * KIB},
                {"4KiB", 4 * KIB},
                {"4Ki", 4 * KIB},
                {"4KB", 4 * KIB},
                {"512M", 512 * MIB},
                {"512m", 512 * MIB},
                {"512MiB", 512 * MIB},
                {"1G", GIB},
                {"1g", GIB},
                {"1GB", GIB},
                {"1.5G", GIB + GIB / 2},
                {"0.5K", 512},
                {"1.0009765625K", 1025},
                {"0.0001K", 0}, /* 0.1024 bytes rounds down */
                {"0.0005K", 1}, /* 0.512 bytes rounds up */
                {"2T", 2 * TIB},
                {"2t", 2 * TIB},
                {"1.25T", TIB + TIB / 4},
                {"16777215T", 16777215 * TIB},
                {"18446744073709551615", UINT64_MAX},
                {"1.5000000000000000000000000G", GIB + GIB / 2},
        };

        for (size_t i = 0; i < ELEMENTSOF(ok); i++) {
                uint64_t v = 1;
                assert_parse(parse_size(ok[i].s, &v), ok[i].s, 0);
                assert_int_equal(v, ok[i].v);
        }
}

static void test_size_rejected(void **state)
{
        static const char *const bad[] = {
                "1.5", "1.5B", "4 K", "4KK",   "4Kib", "4KIB", "4iB", "4i",  "4b",  "4P",  "4E",
                "4Kb", "K",    "1Gx", "1GiBx", "1.G",  "G1",   "1K1", "1T2", "0xK", "1K ", "1K\n",
        };
        uint64_t v = 42;

        for (size_t i = 0; i < ELEMENTSOF(common_garbage); i++) {
                assert_parse(parse_size(common_garbage[i], &v), common_garbage[i], -EINVAL);
        }
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                assert_parse(parse_size(bad[i], &v), bad[i], -EINVAL);
        }
        assert_int_equal(parse_size(NULL, &v), -EINVAL);
        assert_int_equal(v, 42); /* untouched on failure */

        assert_int_equal(parse_size("18446744073709551616", &v), -ERANGE);
        assert_int_equal(parse_size("99999999999999999999999", &v), -ERANGE);
        assert_int_equal(parse_size("16777216T", &v), -ERANGE);
        assert_int_equal(parse_size("16777215.9999999999999T", &v), -ERANGE);
        assert_int_equal(parse_size("17179869184G", &v), -ERANGE);
        assert_int_equal(v, 42);
}

static void test_size_format(void **state)
{
        static const struct {
                uint64_t v;
                const char *s;
        } cases[] = {
                {0, "0"},
                {1, "1"},
                {1023, "1023"},
                {1025, "1025"},
                {4096, "4K"},
                {1536, "1.5K"},
                {512 * MIB, "512M"},
                {GIB, "1G"},
                {GIB + GIB / 2, "1.5G"},
                {GIB + GIB / 8, "1.125G"},
                {GIB + GIB / 16, "1088M"},
                {2 * TIB, "2T"},
                {4096 * TIB, "4096T"},
                {UINT64_MAX, "18446744073709551615"},
        };
        char buf[FORMAT_SIZE_MAX];

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                assert_int_equal(format_size(cases[i].v, buf, sizeof buf), 0);
                assert_string_equal(buf, cases[i].s);
        }
        assert_int_equal(format_size(UINT64_MAX, buf, 20), -ENOBUFS);
        assert_int_equal(format_size(UINT64_MAX, buf, 21), 0);
        assert_int_equal(format_size(GIB + GIB / 2, buf, 4), -ENOBUFS);
        assert_int_equal(format_size(0, buf, 0), -ENOBUFS);
}

static void test_size_roundtrip(void **state)
{
        const uint64_t values[] = {0,       1,           999,        1024,           1536,
                                   4095,    4097,        123456789,  GIB - 1,        GIB + 1,
                                   3 * GIB, 7 * TIB / 8, UINT64_MAX, UINT64_MAX - 1, 16777215 * TIB};
        char buf[FORMAT_SIZE_MAX];

        for (size_t i = 0; i < ELEMENTSOF(values); i++) {
                uint64_t v = 0;
                assert_int_equal(format_size(values[i], buf, sizeof buf), 0);
                assert_int_equal(parse_size(buf, &v), 0);
                assert_int_equal(v, values[i]);
        }
        for (uint64_t x = 0; x < 5000; x += 7) {
                uint64_t v = 0;
                assert_int_equal(format_size(x * MIB / 3, buf, sizeof buf), 0);
                assert_int_equal(parse_size(buf, &v), 0);
                assert_int_equal(v, x * MIB / 3);
        }
}

static void test_duration_accepted(void **state)
{
        static const struct {
                const char *s;
                uint64_t v;
        } ok[] = {
                {"0", 0},
                {"10", 10 * USEC_SEC},
                {"1.5", 1500000},
                {"250us", 250},
                {"500ms", 500000},
                {"10s", 10 * USEC_SEC},
                {"10m", 600 * USEC_SEC},
                {"10min", 600 * USEC_SEC},
                {"1h", 3600 * USEC_SEC},
                {"2d", 2 * 86400 * USEC_SEC},
                {"1h30m", 5400 * USEC_SEC},
                {"1h30m10s", 5410 * USEC_SEC},
                {"1d2h3m4s5ms6us", ((((1 * 24 + 2) * 60 + 3) * 60 + 4) * USEC_SEC) + 5006},
                {"1.5h", 5400 * USEC_SEC},
                {"0.5s", 500000},
                {"0.0000005s", 1},
                {"0.0000004s", 0},
                {"0s", 0},
                {"18446744073709551615us", UINT64_MAX},
        };

        for (size_t i = 0; i < ELEMENTSOF(ok); i++) {
                uint64_t v = 1;
                assert_parse(parse_duration(ok[i].s, &v), ok[i].s, 0);
                assert_int_equal(v, ok[i].v);
        }
}

static void test_duration_rejected(void **state)
{
        static const char *const bad[] = {
                "1h30", "30m1h", "1m1m",  "1m1min", "1s1s", "1h 30m", "1H",   "1S",    "10sec",
                "1y",   "1w",    "1 s",   "s",      "h1",   "1hh",    "1ms5", "1.5.h", "1,5s",
                "1s ",  "1us1s", "5ms1s", "1d1d",   "1x",   "10 ",    "1µs",
        };
        uint64_t v = 42;

        for (size_t i = 0; i < ELEMENTSOF(common_garbage); i++) {
                assert_parse(parse_duration(common_garbage[i], &v), common_garbage[i], -EINVAL);
        }
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                assert_parse(parse_duration(bad[i], &v), bad[i], -EINVAL);
        }
        assert_int_equal(parse_duration(NULL, &v), -EINVAL);
        assert_int_equal(v, 42);

        assert_int_equal(parse_duration("18446744073709551616us", &v), -ERANGE);
        assert_int_equal(parse_duration("18446744073709551615", &v), -ERANGE);
        assert_int_equal(parse_duration("213503983d", &v), -ERANGE);
        assert_int_equal(parse_duration("213503982d8h1m49s551ms616us", &v), -ERANGE);
        assert_int_equal(v, 42);
        assert_int_equal(parse_duration("213503982d8h1m49s551ms615us", &v), 0);
        assert_int_equal(v, UINT64_MAX);
}

static void test_cpu(void **state)
{
        static const struct {
                const char *s;
                uint64_t v;
        } ok[] = {
                {"0.5", 500},
                {"2", 2000},
                {"150%", 1500},
                {"1", 1000},
                {"0.001", 1},
                {"0.0005", 1},
                {"12.5%", 125},
                {"0.05%", 1},
                {"100%", 1000},
                {"64", 64000},
                {"1.2345", 1235},
                {"18446744073709551.615", UINT64_MAX},
                {"1844674407370955161.5%", UINT64_MAX},
        };
        static const char *const bad[] = {
                "0", "0.0", "0%", "0.0004", "0.04%", "%", "1%%", "50 %", "1.5cpu", "2c", "1/2", "1m",
        };
        uint64_t v = 42;

        for (size_t i = 0; i < ELEMENTSOF(ok); i++) {
                assert_parse(parse_cpu(ok[i].s, &v), ok[i].s, 0);
                assert_int_equal(v, ok[i].v);
        }
        v = 42;
        for (size_t i = 0; i < ELEMENTSOF(common_garbage); i++) {
                assert_parse(parse_cpu(common_garbage[i], &v), common_garbage[i], -EINVAL);
        }
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                assert_parse(parse_cpu(bad[i], &v), bad[i], -EINVAL);
        }
        assert_int_equal(parse_cpu(NULL, &v), -EINVAL);
        assert_int_equal(parse_cpu("18446744073709552", &v), -ERANGE);
        assert_int_equal(parse_cpu("1844674407370955161.6%", &v), -ERANGE);
        assert_int_equal(v, 42);
}

static void test_cpu_format(void **state)
{
        static const struct {
                uint64_t v;
                const char *s;
        } cases[] = {
                {500, "0.5"}, {2000, "2"}, {1500, "1.5"}, {1, "0.001"}, {1250, "1.25"}, {10, "0.01"},
        };
        char buf[FORMAT_CPU_MAX];

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                assert_int_equal(format_cpu(cases[i].v, buf, sizeof buf), 0);
                assert_string_equal(buf, cases[i].s);
        }
        for (uint64_t x = 1; x < 100000; x += 37) {
                uint64_t v = 0;
                assert_int_equal(format_cpu(x, buf, sizeof buf), 0);
                assert_int_equal(parse_cpu(buf, &v), 0);
                assert_int_equal(v, x);
        }
        assert_int_equal(format_cpu(UINT64_MAX, buf, sizeof buf), 0);
        assert_string_equal(buf, "18446744073709551.615");
        assert_int_equal(format_cpu(1500, buf, 3), -ENOBUFS);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_size_accepted),
                cmocka_unit_test(test_size_rejected),
                cmocka_unit_test(test_size_format),
                cmocka_unit_test(test_size_roundtrip),
                cmocka_unit_test(test_duration_accepted),
                cmocka_unit_test(test_duration_rejected),
                cmocka_unit_test(test_cpu),
                cmocka_unit_test(test_cpu_format),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
