/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "ctl-exit.h"
#include "ctl.h"
#include "ctl-output.h"
#include "ctl-resolve.h"
#include "descartes-wire.h"

#define NS_SEC UINT64_C(1000000000)

static ProtoAgentInfo agent(const char *id, const char *name)
{
        return (ProtoAgentInfo){.id = id ? strdup(id) : NULL, .name = name ? strdup(name) : NULL};
}

/* A public list made of agents[0..n) (taken). */
static DescartesAgentList *list_of(ProtoAgentInfo *agents, size_t n)
{
        ProtoListResult res = {.agents = calloc(n ?: 1, sizeof(ProtoAgentInfo)), .n_agents = n};
        DescartesAgentList *l = NULL;

        assert_non_null(res.agents);
        if (n > 0)
                memcpy(res.agents, agents, n * sizeof *agents);
        assert_int_equal(wire_agent_list_new(&res, &l), 0);
        return l;
}

/* A public agent made of *i (taken). */
static DescartesAgent *agent_of(ProtoAgentInfo i)
{
        DescartesAgent *a = NULL;

        assert_int_equal(wire_agent_new(&i, &a), 0);
        return a;
}

/* ctl_exit_from_agent() and ctl_format_reason() on a record that holds no allocations. */
static int exit_of(ProtoAgentInfo i)
{
        DescartesAgent *a = agent_of(i);
        int r = ctl_exit_from_agent(a);

        descartes_agent_unref(a);
        return r;
}

static void reason_of(ProtoAgentInfo i, char *buf, size_t n)
{
        DescartesAgent *a = agent_of(i);

        ctl_format_reason(a, buf, n);
        descartes_agent_unref(a);
}

static void test_uuid_form(void **state)
{
        assert_true(ctl_ref_is_uuid("0b6f3c52-8f1d-4b7a-9c3e-2d4f5a6b7c8d"));
        assert_true(ctl_ref_is_uuid("0B6F3C52-8F1D-4B7A-9C3E-2D4F5A6B7C8D"));
        assert_false(ctl_ref_is_uuid("0b6f3c52-8f1d-4b7a-9c3e-2d4f5a6b7c8"));
        assert_false(ctl_ref_is_uuid("0b6f3c52-8f1d-4b7a-9c3e-2d4f5a6b7c8dd"));
        assert_false(ctl_ref_is_uuid("0b6f3c528f1d-4b7a-9c3e-2d4f5a6b7c8d0"));
        assert_false(ctl_ref_is_uuid("0b6f3c52-8f1d-4b7a-9c3e-2d4f5a6b7c8g"));
        assert_false(ctl_ref_is_uuid(""));
        assert_false(ctl_ref_is_uuid(NULL));
}

static void test_resolve(void **state)
{
        ProtoAgentInfo agents[] = {
                agent("0b6f3c52-8f1d-4b7a-9c3e-2d4f5a6b7c8d", "web"),
                agent("0b6f9999-0000-4b7a-9c3e-2d4f5a6b7c8d", NULL),
                agent("7a000000-0000-4000-8000-000000000000", "0b6f"), /* a name that is also a prefix */
                agent("c0ffee00-0000-4000-8000-000000000000", "db"),
        };
        DescartesAgentList *l = list_of(agents, sizeof agents / sizeof agents[0]);
        DescartesAgentList *empty = list_of(NULL, 0);
        char err[512];

        assert_int_equal(ctl_resolve_ref(l, "0b6f3c52-8f1d-4b7a-9c3e-2d4f5a6b7c8d", 0, err, sizeof err), 0);
        assert_int_equal(ctl_resolve_ref(l, "web", 0, err, sizeof err), 0);
        assert_int_equal(ctl_resolve_ref(l, "db", 0, err, sizeof err), 3);
        assert_int_equal(ctl_resolve_ref(l, "c0f", 0, err, sizeof err), 3);
        assert_int_equal(ctl_resolve_ref(l, "0b6f9", 0, err, sizeof err), 1);
        assert_int_equal(ctl_resolve_ref(l, "0b6f3", 0, err, sizeof err), 0);
        /* an exact name beats an id prefix */
        assert_int_equal(ctl_resolve_ref(l, "0b6f", 0, err, sizeof err), 2);

        assert_int_equal(ctl_resolve_ref(l, "0b", 0, err, sizeof err), -ENOTUNIQ);
        assert_non_null(strstr(err, "prefix of 2 agent ids"));
        assert_non_null(strstr(err, "0b6f3c52-8f1d-4b7a-9c3e-2d4f5a6b7c8d"));
        assert_non_null(strstr(err, "0b6f9999-0000-4b7a-9c3e-2d4f5a6b7c8d"));

        assert_int_equal(ctl_resolve_ref(l, "zzz", 0, err, sizeof err), -ESRCH);
        assert_non_null(strstr(err, "\"zzz\""));
        assert_int_equal(ctl_resolve_ref(empty, "web", 0, err, sizeof err), -ESRCH);
        assert_int_equal(ctl_resolve_ref(l, "", 0, err, sizeof err), -EINVAL);
        descartes_agent_list_unref(l);
        descartes_agent_list_unref(empty);
}

static void test_resolve_names_per_tenant(void **state)
{
        ProtoAgentInfo agents[] = {
                agent("0b6f3c52-8f1d-4b7a-9c3e-2d4f5a6b7c8d", "fixer-1"),
                agent("c0ffee00-0000-4000-8000-000000000000", "fixer-1"),
                agent("d00d0000-0000-4000-8000-000000000000", "only-b"),
        };
        DescartesAgentList *l;
        char err[512];

        agents[0].owner_uid = 1001;
        agents[1].owner_uid = 1002;
        agents[2].owner_uid = 1002;
        l = list_of(agents, 3);
        /* an admin's list holds both tenants' fixer-1: a name is looked up among the caller's own */
        assert_int_equal(ctl_resolve_ref(l, "fixer-1", 1001, err, sizeof err), 0);
        assert_int_equal(ctl_resolve_ref(l, "fixer-1", 1002, err, sizeof err), 1);
        assert_int_equal(ctl_resolve_ref(l, "only-b", 1001, err, sizeof err), -ESRCH);
        assert_non_null(strstr(err, "TENANT/NAME"));
        assert_int_equal(ctl_resolve_ref(l, "fixer-1", 0, err, sizeof err), -ESRCH);
        assert_true(ctl_ref_is_tenant_name("b/fixer-1"));
        assert_true(ctl_ref_is_tenant_name("1002/fixer-1"));
        assert_false(ctl_ref_is_tenant_name("fixer-1"));
        descartes_agent_list_unref(l);
}

static void test_resolve_many_ambiguous(void **state)
{
        static char ids[10][40];
        ProtoAgentInfo agents[10];
        DescartesAgentList *l;
        char err[512];

        for (int i = 0; i < 10; i++) {
                (void)snprintf(ids[i], sizeof ids[i], "aa%06d-0000-4000-8000-000000000000", i);
                agents[i] = agent(ids[i], NULL);
        }
        l = list_of(agents, 10);
        assert_int_equal(ctl_resolve_ref(l, "aa", 0, err, sizeof err), -ENOTUNIQ);
        assert_non_null(strstr(err, "prefix of 10 agent ids"));
        assert_non_null(strstr(err, ", ...)"));
        /* a tiny buffer truncates, never overflows */
        assert_int_equal(ctl_resolve_ref(l, "aa", 0, err, 8), -ENOTUNIQ);
        assert_int_equal(strlen(err), 7);
        descartes_agent_list_unref(l);
}

static void test_exit_codes(void **state)
{
        static const struct {
                DescartesErrorCode code;
                CtlExit exit;
        } table[] = {
                {DESCARTES_ERROR_CODE_BAD_REQUEST, CTL_EXIT_BAD_REQUEST},
                {DESCARTES_ERROR_CODE_UNSUPPORTED_VERSION, CTL_EXIT_BAD_REQUEST},
                {DESCARTES_ERROR_CODE_UNKNOWN_OP, CTL_EXIT_BAD_REQUEST},
                {DESCARTES_ERROR_CODE_NOT_FOUND, CTL_EXIT_NOT_FOUND},
                {DESCARTES_ERROR_CODE_CONFLICT, CTL_EXIT_CONFLICT},
                {DESCARTES_ERROR_CODE_LIMIT_EXCEEDED, CTL_EXIT_LIMIT_EXCEEDED},
                {DESCARTES_ERROR_CODE_UNENFORCEABLE, CTL_EXIT_UNENFORCEABLE},
                {DESCARTES_ERROR_CODE_PERMISSION_DENIED, CTL_EXIT_PERMISSION_DENIED},
                {DESCARTES_ERROR_CODE_SPAWN_FAILED, CTL_EXIT_SPAWN_FAILED},
                {DESCARTES_ERROR_CODE_TIMEOUT, CTL_EXIT_TIMEOUT},
                {DESCARTES_ERROR_CODE_BUSY, CTL_EXIT_BUSY},
                {DESCARTES_ERROR_CODE_INTERNAL, CTL_EXIT_INTERNAL},
                {DESCARTES_ERROR_CODE_ACTION_FAILED, CTL_EXIT_ACTION_FAILED},
        };
        DescartesError e;

        assert_int_equal(sizeof table / sizeof table[0], _DESCARTES_ERROR_CODE_MAX);
        for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
                assert_int_equal(ctl_exit_from_code(table[i].code), table[i].exit);
                e = (DescartesError){.kind = DESCARTES_ERROR_DAEMON, .code = table[i].code};
                assert_int_equal(ctl_exit_from_error(&e), table[i].exit);
                /* the library's errno for each code is distinct from the others */
                for (size_t j = 0; j < i; j++)
                        assert_int_not_equal(descartes_error_code_to_errno(table[i].code),
                                             descartes_error_code_to_errno(table[j].code));
        }
        assert_int_equal(ctl_exit_from_code(_DESCARTES_ERROR_CODE_INVALID), CTL_EXIT_FAILURE);

        e = (DescartesError){.kind = DESCARTES_ERROR_UNREACHABLE};
        assert_int_equal(ctl_exit_from_error(&e), CTL_EXIT_UNREACHABLE);
        e.kind = DESCARTES_ERROR_ACCESS;
        assert_int_equal(ctl_exit_from_error(&e), CTL_EXIT_PERMISSION_DENIED);
        e.kind = DESCARTES_ERROR_TIMEOUT;
        assert_int_equal(ctl_exit_from_error(&e), CTL_EXIT_TIMEOUT);
        e.kind = DESCARTES_ERROR_PROTOCOL;
        assert_int_equal(ctl_exit_from_error(&e), CTL_EXIT_INTERNAL);
        e.kind = DESCARTES_ERROR_LOCAL;
        assert_int_equal(ctl_exit_from_error(&e), CTL_EXIT_FAILURE);
        assert_int_equal(ctl_exit_from_error(NULL), CTL_EXIT_FAILURE);
}

static void test_agent_exit(void **state)
{
        ProtoAgentInfo i = {.state = PROTO_STATE_EXITED,
                            .has_reason = true,
                            .reason = PROTO_REASON_COMPLETED,
                            .has_exit_code = true,
                            .exit_code = 3};

        assert_int_equal(exit_of(i), 3);
        i.exit_code = 0;
        assert_int_equal(exit_of(i), 0);
        i.exit_code = 300;
        assert_int_equal(exit_of(i), 300 & 0xff);

        i = (ProtoAgentInfo){.state = PROTO_STATE_EXITED,
                             .has_reason = true,
                             .reason = PROTO_REASON_SIGNALED,
                             .has_signal = true,
                             .signal = SIGSEGV};
        assert_int_equal(exit_of(i), 128 + SIGSEGV);
        i = (ProtoAgentInfo){.has_reason = true, .reason = PROTO_REASON_OOM_KILLED};
        assert_int_equal(exit_of(i), 128 + SIGKILL);
        i = (ProtoAgentInfo){
                .state = PROTO_STATE_FAILED, .has_reason = true, .reason = PROTO_REASON_SPAWN_FAILED};
        assert_int_equal(exit_of(i), 1);
}

static void test_formats(void **state)
{
        char buf[128];
        char *argv[] = {(char *)"python3", (char *)"-c", (char *)"print('a\nb')", NULL};
        char *long_argv[] = {(char *)"/usr/bin/some-really-long-command-name",
                             (char *)"--with",
                             (char *)"many",
                             (char *)"arguments",
                             (char *)"here",
                             NULL};
        ProtoAgentInfo i = {};

        ctl_format_relative(100 * NS_SEC, 100 * NS_SEC, buf, sizeof buf);
        assert_string_equal(buf, "just now");
        ctl_format_relative(100 * NS_SEC, 101 * NS_SEC, buf, sizeof buf);
        assert_string_equal(buf, "1 second ago");
        ctl_format_relative(100 * NS_SEC, 159 * NS_SEC, buf, sizeof buf);
        assert_string_equal(buf, "59 seconds ago");
        ctl_format_relative(100 * NS_SEC, 220 * NS_SEC, buf, sizeof buf);
        assert_string_equal(buf, "2 minutes ago");
        ctl_format_relative(0 + 1, 3 * 3600 * NS_SEC, buf, sizeof buf);
        assert_string_equal(buf, "2 hours ago");
        ctl_format_relative(1, 5 * 86400 * NS_SEC, buf, sizeof buf);
        assert_string_equal(buf, "4 days ago");
        ctl_format_relative(200 * NS_SEC, 100 * NS_SEC, buf, sizeof buf); /* clock skew */
        assert_string_equal(buf, "just now");
        ctl_format_relative(0, 100 * NS_SEC, buf, sizeof buf);
        assert_string_equal(buf, "-");

        ctl_format_command(argv, 40, buf, sizeof buf);
        assert_string_equal(buf, "python3 -c print('a b')");
        ctl_format_command(long_argv, 20, buf, sizeof buf);
        assert_string_equal(buf, "/usr/bin/some-rea...");
        assert_int_equal(strlen(buf), 20);

        /* a tenant's bytes never reach the operator's terminal as control sequences */
        {
                char *esc_argv[] = {(char *)"sh",
                                    (char *)"\x1b]0;owned\x07\xc2\x9b"
                                            "2J\x7f",
                                    NULL};
                ProtoAgentInfo li = {};
                DescartesAgent *la;
                char *out = NULL;
                size_t out_len = 0;
                FILE *f;

                ctl_format_command(esc_argv, 60, buf, sizeof buf);
                assert_string_equal(buf, "sh  ]0;owned   2J ");
                assert_int_equal(proto_str_map_add(&li.labels, "k\x1b[31m", "v\r\n\\"), 0);
                f = open_memstream(&out, &out_len);
                assert_non_null(f);
                la = agent_of(li); /* takes the labels */
                ctl_print_inspect(f, la);
                descartes_agent_unref(la);
                fclose(f);
                assert_non_null(strstr(out, "labels:         k\\x1b[31m=v\\x0d\\x0a\\\\\n"));
                assert_null(strchr(out, '\x1b'));
                free(out);
        }

        reason_of(i, buf, sizeof buf);
        assert_string_equal(buf, "");
        i = (ProtoAgentInfo){.has_reason = true, .reason = PROTO_REASON_COMPLETED, .has_exit_code = true};
        reason_of(i, buf, sizeof buf);
        assert_string_equal(buf, "completed (0)");
        i = (ProtoAgentInfo){
                .has_reason = true, .reason = PROTO_REASON_SIGNALED, .has_signal = true, .signal = SIGKILL};
        reason_of(i, buf, sizeof buf);
        assert_string_equal(buf, "signaled (KILL)");
        i = (ProtoAgentInfo){.has_reason = true, .reason = PROTO_REASON_OOM_KILLED};
        reason_of(i, buf, sizeof buf);
        assert_string_equal(buf, "oom_killed");

        ctl_format_timestamp(UINT64_C(1700000000123456789), buf, sizeof buf);
        assert_string_equal(buf, "2023-11-14T22:13:20.123Z");
        ctl_format_timestamp(0, buf, sizeof buf);
        assert_string_equal(buf, "-");
}

/* The result of an op as descartesctl prints it: the id, or with -o json the record on one line. */
static void test_print_agent_result(void **state)
{
        CtlArgs args = {.format = CTL_FORMAT_JSON};
        Ctl c = {.args = &args};
        DescartesAgent *a = agent_of(agent("0b6f3c52-8f1d-4b7a-9c3e-2d4f5a6b7c8d", "web"));
        char out[2048] = {};
        int fds[2], saved;
        ssize_t n;

        assert_int_equal(pipe(fds), 0);
        saved = dup(STDOUT_FILENO);
        assert_true(saved >= 0);
        fflush(stdout);
        assert_true(dup2(fds[1], STDOUT_FILENO) >= 0);
        assert_int_equal(ctl_print_agent_result(&c, a), 0);
        args.format = CTL_FORMAT_TABLE;
        assert_int_equal(ctl_print_agent_result(&c, a), 0);
        fflush(stdout);
        assert_true(dup2(saved, STDOUT_FILENO) >= 0);
        close(saved);
        close(fds[1]);
        n = read(fds[0], out, sizeof out - 1);
        close(fds[0]);
        assert_true(n > 0);
        assert_string_equal(
                out,
                "{\"id\":\"0b6f3c52-8f1d-4b7a-9c3e-2d4f5a6b7c8d\",\"name\":\"web\",\"state\":\"starting\","
                "\"reason\":null,\"exit_code\":null,\"signal\":null,\"owner_uid\":0,\"labels\":{},"
                "\"argv\":[],\"created_ns\":0,\"started_ns\":null,\"ended_ns\":null,\"spawn_us\":null,"
                "\"pid\":null,\"cgroup\":null,\"limits\":{},\"usage\":null,\"uid\":null,\"gid\":null}\n"
                "0b6f3c52-8f1d-4b7a-9c3e-2d4f5a6b7c8d\n");
        descartes_agent_unref(a);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_uuid_form),
                cmocka_unit_test(test_resolve),
                cmocka_unit_test(test_resolve_names_per_tenant),
                cmocka_unit_test(test_resolve_many_ambiguous),
                cmocka_unit_test(test_exit_codes),
                cmocka_unit_test(test_agent_exit),
                cmocka_unit_test(test_formats),
                cmocka_unit_test(test_print_agent_result),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
