/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The daemon's log lines: the journal entry's fields (supervisor/log-journal.c: AGENT_ID=, TENANT=, OP=,
 * REQUEST_ID= where known, and only those), the "<N>" prefix on stderr under journald and the plain line
 * otherwise (basic/log.c), the level names of --log-level and log_level, and the request's fields set and
 * put back around a handler. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cleanup.h"
#include "log-journal.h"
#include "log.h"
#include "string-util.h"

static void test_journal_fields_request(void **state)
{
        LogFields f = {.tenant = "1000", .op = "stop", .request_id = "r-42"};
        _cleanup_strv_free_ char **l = NULL;

        (void)state;
        assert_int_equal(log_journal_fields(LOG_WARNING, -ENOENT, "ops-agent.c", 12, "step_stop", "a-1", &f,
                                            "Agent a-1: gone", &l),
                         0);
        assert_int_equal(strv_length(l), 10);
        assert_string_equal(l[0], "MESSAGE=Agent a-1: gone");
        assert_string_equal(l[1], "PRIORITY=4");
        assert_string_equal(l[2], "ERRNO=2");
        assert_string_equal(l[3], "AGENT_ID=a-1");
        assert_string_equal(l[4], "TENANT=1000");
        assert_string_equal(l[5], "OP=stop");
        assert_string_equal(l[6], "REQUEST_ID=r-42");
        assert_string_equal(l[7], "CODE_FILE=ops-agent.c");
        assert_string_equal(l[8], "CODE_LINE=12");
        assert_string_equal(l[9], "CODE_FUNC=step_stop");
}

static void test_journal_fields_unknown(void **state)
{
        _cleanup_strv_free_ char **l = NULL;

        (void)state;
        /* no request, no agent, no error: none of their fields, not even empty ones */
        assert_int_equal(
                log_journal_fields(LOG_INFO, 0, "manager.c", 7, "reload", NULL, NULL, "Reloaded.", &l), 0);
        assert_int_equal(strv_length(l), 5);
        assert_string_equal(l[0], "MESSAGE=Reloaded.");
        assert_string_equal(l[1], "PRIORITY=6");
        for (char **s = l; *s; s++) {
                assert_null(startswith(*s, "AGENT_ID="));
                assert_null(startswith(*s, "TENANT="));
                assert_null(startswith(*s, "OP="));
                assert_null(startswith(*s, "REQUEST_ID="));
                assert_null(startswith(*s, "ERRNO="));
        }
}

static void test_journal_fields_agent_of_request(void **state)
{
        LogFields f = {.agent_id = "from-request", .tenant = "0", .op = "spawn"};
        _cleanup_strv_free_ char **l = NULL, **m = NULL;

        (void)state;
        assert_int_equal(log_journal_fields(LOG_ERR, 0, "f.c", 1, "fn", NULL, &f, "x", &l), 0);
        assert_true(strv_contains(l, "AGENT_ID=from-request"));
        assert_false(strv_contains(l, "REQUEST_ID="));
        /* the line's own agent wins */
        assert_int_equal(log_journal_fields(LOG_ERR, 0, "f.c", 1, "fn", "own", &f, "x", &m), 0);
        assert_true(strv_contains(m, "AGENT_ID=own"));
        assert_false(strv_contains(m, "AGENT_ID=from-request"));
}

static void test_stderr_format(void **state)
{
        char b[256];

        (void)state;
        log_format_stderr(b, sizeof b, LOG_ERR, 1, LOG_INFO, "descartesd", "f.c", 3, "fn", "Failed.");
        assert_string_equal(b, "<3>Failed.");
        log_format_stderr(b, sizeof b, LOG_DEBUG, 1, LOG_DEBUG, "descartesd", "f.c", 3, "fn", "Step.");
        assert_string_equal(b, "<7>Step.");
        log_format_stderr(b, sizeof b, LOG_WARNING, 0, LOG_INFO, "descartesd", "f.c", 3, "fn", "Careful.");
        assert_string_equal(b, "descartesd: Careful.");
        log_format_stderr(b, sizeof b, LOG_INFO, 0, LOG_DEBUG, "descartesd", "f.c", 3, "fn", "Hello.");
        assert_string_equal(b, "descartesd: f.c:3 fn: Hello.");
        log_format_stderr(b, sizeof b, LOG_INFO, 0, LOG_INFO, NULL, "f.c", 3, "fn", "Bare.");
        assert_string_equal(b, "Bare.");
}

static void test_level_names(void **state)
{
        (void)state;
        assert_int_equal(log_level_from_string("debug"), LOG_DEBUG);
        assert_int_equal(log_level_from_string("info"), LOG_INFO);
        assert_int_equal(log_level_from_string("notice"), LOG_NOTICE);
        assert_int_equal(log_level_from_string("warning"), LOG_WARNING);
        assert_int_equal(log_level_from_string("warn"), LOG_WARNING);
        assert_int_equal(log_level_from_string("err"), LOG_ERR);
        assert_int_equal(log_level_from_string("error"), LOG_ERR);
        assert_int_equal(log_level_from_string("crit"), LOG_CRIT);
        assert_int_equal(log_level_from_string("alert"), LOG_ALERT);
        assert_int_equal(log_level_from_string("emerg"), LOG_EMERG);
        assert_int_equal(log_level_from_string("Debug"), -EINVAL);
        assert_int_equal(log_level_from_string("7"), -EINVAL);
        assert_int_equal(log_level_from_string(""), -EINVAL);
        assert_int_equal(log_level_from_string(NULL), -EINVAL);
}

static void test_fields_put_back(void **state)
{
        LogFields outer = {.op = "batch"}, inner = {.op = "stop"};
        const LogFields *saved, *saved2;

        (void)state;
        assert_null(log_get_fields());
        saved = log_set_fields(&outer);
        assert_null(saved);
        saved2 = log_set_fields(&inner);
        assert_ptr_equal(saved2, &outer);
        assert_ptr_equal(log_get_fields(), &inner);
        (void)log_set_fields(saved2);
        assert_ptr_equal(log_get_fields(), &outer);
        (void)log_set_fields(saved);
        assert_null(log_get_fields());
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_journal_fields_request),
                cmocka_unit_test(test_journal_fields_unknown),
                cmocka_unit_test(test_journal_fields_agent_of_request),
                cmocka_unit_test(test_stderr_format),
                cmocka_unit_test(test_level_names),
                cmocka_unit_test(test_fields_put_back),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
