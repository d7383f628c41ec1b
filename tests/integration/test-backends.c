/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Backends (backend.NAME in descartesd.conf): the daemon fills the template with the request's values
 * (each one word, never split), drops a bracket group whose value is missing, passes backend.NAME.env from
 * its own environment without storing the values, and refuses clearly: an unknown backend, a missing value,
 * a value with no place, argv and backend together, a variable the daemon lacks. Through the wire and
 * through descartesctl (--backend, --task, --model, --system-prompt-file). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "fd-util.h"
#include "itest-util.h"
#include "string-util.h"

#define KEY_NAME  "DESCARTES_TEST_BACKEND_KEY"
#define KEY_VALUE "s3cret-value-never-stored"

static int setup(void **state)
{
        /* the daemon inherits this process's environment: the operator's EnvironmentFile= */
        if (setenv(KEY_NAME, KEY_VALUE, 1) < 0)
                return -1;
        (void)unsetenv("DESCARTES_TEST_BACKEND_MISSING");
        return itest_setup_with(
                &(HarnessOptions){
                        .extra_config =
                                "backend.show = /bin/sh -c \"printf '<%s>' \\\"$@\\\"; echo key=$" KEY_NAME
                                "\" sh {task} [ --model {model} ] [ --system {system_prompt} ]\n"
                                "backend.show.env = " KEY_NAME "\n"
                                "backend.braces = /bin/echo {{literal}} pre-{task}-post\n"
                                "backend.lacking = /bin/true {task}\n"
                                "backend.lacking.env = DESCARTES_TEST_BACKEND_MISSING\n"},
                state);
}

/* Spawns backend `name` with the values (NULL: none), waits for its end, returns its stdout (one line). */
static char *run_backend(ITest *t, const char *name, const char *task, const char *model, const char *sp,
                         ProtoAgentInfo *ret_info)
{
        ProtoSpawnArgs a = {.has_backend = true,
                            .backend = {.name = (char *)name,
                                        .task = (char *)task,
                                        .model = (char *)model,
                                        .system_prompt = (char *)sp}};
        ProtoStrPair env[] = {{(char *)"PATH", (char *)"/usr/bin:/bin"}};
        ProtoAgentInfo info = {};
        DescartesError e = {};
        _cleanup_strv_free_ char **lines = NULL;
        size_t n = 0;
        char *out;

        a.env.pairs = env;
        a.env.n_pairs = ELEMENTSOF(env);
        if (wire_spawn(t->c, &a, &info, &e) < 0)
                fail_msg("spawn of backend %s: %s", name, e.message);
        itest_wait_final(t, info.id, 10000, ret_info);
        assert_int_equal(ret_info->exit_code, 0);
        lines = itest_output_lines(t, info.id, PROTO_STREAM_STDOUT, &n);
        assert_int_equal(n, 1);
        out = strdup(lines[0]);
        assert_non_null(out);
        proto_agent_info_done(&info);
        return out;
}

static void test_template_filled(void **state)
{
        ITest *t = *state;
        ProtoAgentInfo info = {};
        _cleanup_free_ char *out = NULL;

        /* a value with blanks and quotes stays one word; the bracket groups without a value are dropped */
        out = run_backend(t, "show", "fix the \"build\" now", NULL, NULL, &info);
        assert_string_equal(out, "<fix the \"build\" now>key=" KEY_VALUE);
        /* the argv the agent ran is what `get` shows; the variable's value is nowhere in its record */
        assert_int_equal(info.n_argv, 5);
        assert_string_equal(info.argv[0], "/bin/sh");
        assert_string_equal(info.argv[4], "fix the \"build\" now");
        proto_agent_info_done(&info);
        free(out);

        out = run_backend(t, "show", "t", "m-1", "be brief", &info);
        assert_string_equal(out, "<t><--model><m-1><--system><be brief>key=" KEY_VALUE);
        proto_agent_info_done(&info);
        free(out);

        out = run_backend(t, "braces", "x", NULL, NULL, &info);
        assert_string_equal(out, "{literal} pre-x-post");
        proto_agent_info_done(&info);
}

static void expect_refusal(ITest *t, const ProtoSpawnArgs *a, DescartesErrorCode code, const char *msg_part)
{
        ProtoAgentInfo info = {};
        DescartesError e = {};

        assert_true(wire_spawn(t->c, a, &info, &e) < 0);
        assert_int_equal(e.kind, DESCARTES_ERROR_DAEMON);
        assert_int_equal(e.code, code);
        if (!strstr(e.message, msg_part))
                fail_msg("\"%s\" does not say \"%s\"", e.message, msg_part);
}

static void test_refusals(void **state)
{
        ITest *t = *state;
        const char *argv[] = {"/bin/true", NULL};

        expect_refusal(t, &(ProtoSpawnArgs){.has_backend = true, .backend = {.name = (char *)"nosuch"}},
                       DESCARTES_ERROR_CODE_BAD_REQUEST,
                       "unknown backend \"nosuch\": the daemon's config defines show, braces, lacking");
        expect_refusal(t, &(ProtoSpawnArgs){.has_backend = true, .backend = {.name = (char *)"show"}},
                       DESCARTES_ERROR_CODE_BAD_REQUEST, "backend show needs a task");
        expect_refusal(
                t,
                &(ProtoSpawnArgs){
                        .has_backend = true,
                        .backend = {.name = (char *)"braces", .task = (char *)"x", .model = (char *)"m"}},
                DESCARTES_ERROR_CODE_BAD_REQUEST, "backend braces takes no model");
        expect_refusal(
                t,
                &(ProtoSpawnArgs){.has_backend = true,
                                  .backend = {.name = (char *)"lacking", .task = (char *)"x"}},
                DESCARTES_ERROR_CODE_SPAWN_FAILED,
                "passes DESCARTES_TEST_BACKEND_MISSING, which the daemon's environment does not have");
        /* argv and backend together: refused by the library first, and by the daemon (raw below) */
        ProtoAgentInfo info = {};
        DescartesError e = {};
        ProtoSpawnArgs both = {.argv = (char **)argv,
                               .n_argv = 1,
                               .has_backend = true,
                               .backend = {.name = (char *)"show", .task = (char *)"x"}};
        assert_true(wire_spawn(t->c, &both, &info, &e) < 0);
        assert_int_equal(e.kind, DESCARTES_ERROR_LOCAL);
}

static void test_cli(void **state)
{
        ITest *t = *state;
        _cleanup_free_ char *out = NULL, *id = NULL, *logs = NULL, *dir = NULL, *prompt = NULL;
        int r;

        assert_int_equal(asprintf_safe(&dir, "%s/prompt", t->h->tmpdir), 0);
        assert_int_equal(asprintf_safe(&prompt, "%s", "you are\na careful agent"), 0);
        assert_int_equal(write_file_replace_at(AT_FDCWD, dir, prompt, strlen(prompt), 0644, false), 0);
        r = harness_ctl(t->h, NULL, 0, &out, "spawn", "--wait", "--backend", "show", "--task", "fix it",
                        "--model", "m2", "--system-prompt-file", dir, NULL);
        assert_int_equal(r, 0);
        id = strndup(out, strcspn(out, "\n"));
        assert_non_null(id);
        r = harness_ctl(t->h, NULL, 0, &logs, "logs", id, NULL);
        assert_int_equal(r, 0);
        assert_non_null(
                strstr(logs, "<fix it><--model><m2><--system><you are\na careful agent>key=" KEY_VALUE));
        free(out);
        out = NULL;
        /* a command and a backend, or a task without a backend: usage errors, nothing sent */
        r = harness_ctl(t->h, NULL, 0, &out, "spawn", "--backend", "show", "--task", "x", "--", "/bin/true",
                        NULL);
        assert_int_equal(r, 2);
        free(out);
        out = NULL;
        r = harness_ctl(t->h, NULL, 0, &out, "spawn", "--task", "x", "--", "/bin/true", NULL);
        assert_int_equal(r, 2);
}

/* The value of backend.NAME.env reached the agents (they printed it), and is in none of the daemon's files
 * but their output logs: not in the records, the event log, the request journal or the daemon's own log. */
static void test_value_not_stored(void **state)
{
        ITest *t = *state;
        _cleanup_free_ char *any = NULL, *elsewhere = NULL;

        assert_int_equal(asprintf_safe(&any, "grep -rqa '%s' '%s'", KEY_VALUE, t->h->tmpdir), 0);
        assert_int_equal(system(any), 0); /* the check below can find it */
        assert_int_equal(asprintf_safe(&elsewhere,
                                       "grep -rla '%s' '%s' | grep -v '/output\\.log' | grep -q .",
                                       KEY_VALUE, t->h->tmpdir),
                         0);
        assert_int_not_equal(system(elsewhere), 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_template_filled),
                cmocka_unit_test(test_refusals),
                cmocka_unit_test(test_cli),
                cmocka_unit_test(test_value_not_stored),
        };
        return cmocka_run_group_tests(tests, setup, itest_teardown);
}
