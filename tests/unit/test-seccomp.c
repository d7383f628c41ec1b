/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "fd-util.h"
#include "seccomp-bpf.h"
#include "seccomp-cache.h"
#include "seccomp-policy.h"
#include "string-util.h"

#ifndef POLICY_SOURCE_DIR
#error "POLICY_SOURCE_DIR must name the source tree's policies/"
#endif

static const char *self_exe;

static char *mfree_helper(char *p)
{
        free(p);
        return NULL;
}

/* ---- parsing literal policies ---- */

static int parse(const char *text, SeccompPolicy **ret, char **ret_error)
{
        return seccomp_policy_parse("test.json", text, strlen(text), ret, ret_error);
}

static void test_parse_minimal(void **state)
{
        SeccompPolicy *p = NULL;

        assert_int_equal(parse("{\"defaultAction\": \"SCMP_ACT_ALLOW\"}", &p, NULL), 0);
        assert_int_equal(p->default_action, SECCOMP_ACTION_ALLOW);
        assert_int_equal(p->n_rules, 0);
        assert_null(p->architectures);
        assert_int_equal(p->kernel_flags, 0);
        seccomp_policy_free(p);
}

static void test_parse_full(void **state)
{
        static const char text[] =
                "{\n"
                "  \"comment\": \"a sample\",\n"
                "  \"defaultAction\": \"SCMP_ACT_ERRNO\",\n"
                "  \"defaultErrnoRet\": 38,\n"
                "  \"architectures\": [\"SCMP_ARCH_X86_64\", \"SCMP_ARCH_X32\"],\n"
                "  \"flags\": [\"SECCOMP_FILTER_FLAG_LOG\", \"SECCOMP_FILTER_FLAG_SPEC_ALLOW\"],\n"
                "  \"syscalls\": [\n"
                "    {\"names\": [\"read\", \"write\"], \"action\": \"SCMP_ACT_ALLOW\"},\n"
                "    {\"names\": [\"mount\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 13, "
                "\"comment\": \"x\"},\n"
                "    {\"names\": [\"ioctl\"], \"action\": \"SCMP_ACT_KILL\"},\n"
                "    {\"names\": [\"personality\"], \"action\": \"SCMP_ACT_ALLOW\", \"args\": [\n"
                "       {\"index\": 0, \"value\": 18446744073709551615, \"op\": \"SCMP_CMP_EQ\"},\n"
                "       {\"index\": 5, \"value\": 255, \"valueTwo\": 8, \"op\": \"SCMP_CMP_MASKED_EQ\"}]},\n"
                "    {\"names\": [\"kill\"], \"action\": \"SCMP_ACT_KILL_PROCESS\", \"args\": []},\n"
                "    {\"names\": [\"tkill\"], \"action\": \"SCMP_ACT_TRAP\"},\n"
                "    {\"names\": [\"uname\"], \"action\": \"SCMP_ACT_LOG\"},\n"
                "    {\"names\": [\"tgkill\"], \"action\": \"SCMP_ACT_KILL_THREAD\"}\n"
                "  ]\n"
                "}\n";
        SeccompPolicy *p = NULL;
        char *error = NULL;

        assert_int_equal(parse(text, &p, &error), 0);
        assert_null(error);
        assert_int_equal(p->default_action, SECCOMP_ACTION_ERRNO);
        assert_int_equal(p->default_errno_ret, ENOSYS);
        assert_int_equal(strv_length(p->architectures), 2);
        assert_string_equal(p->architectures[0], "x86_64");
        assert_string_equal(p->architectures[1], "x32");
        assert_int_equal(p->kernel_flags, SECCOMP_FILTER_FLAG_LOG | SECCOMP_FILTER_FLAG_SPEC_ALLOW);
        assert_int_equal(p->n_rules, 8);

        assert_int_equal(strv_length(p->rules[0].names), 2);
        assert_string_equal(p->rules[0].names[1], "write");
        assert_int_equal(p->rules[0].action, SECCOMP_ACTION_ALLOW);

        assert_int_equal(p->rules[1].action, SECCOMP_ACTION_ERRNO);
        assert_int_equal(p->rules[1].errno_ret, EACCES);
        assert_int_equal(p->rules[2].action, SECCOMP_ACTION_KILL);

        assert_int_equal(p->rules[3].n_args, 2);
        assert_int_equal(p->rules[3].args[0].index, 0);
        assert_true(p->rules[3].args[0].value == UINT64_MAX);
        assert_int_equal(p->rules[3].args[0].op, SECCOMP_OP_EQ);
        assert_int_equal(p->rules[3].args[1].index, 5);
        assert_int_equal(p->rules[3].args[1].value, 255);
        assert_int_equal(p->rules[3].args[1].value_two, 8);
        assert_int_equal(p->rules[3].args[1].op, SECCOMP_OP_MASKED_EQ);

        assert_int_equal(p->rules[4].action, SECCOMP_ACTION_KILL_PROCESS);
        assert_int_equal(p->rules[4].n_args, 0);
        assert_int_equal(p->rules[5].action, SECCOMP_ACTION_TRAP);
        assert_int_equal(p->rules[6].action, SECCOMP_ACTION_LOG);
        assert_int_equal(p->rules[7].action, SECCOMP_ACTION_KILL_THREAD);
        assert_int_equal(p->rules[7].source_index, 7);
        seccomp_policy_free(p);
}

static void test_string_tables(void **state)
{
        for (SeccompAction a = 0; a < _SECCOMP_ACTION_MAX; a++)
                assert_int_equal(seccomp_action_from_string(seccomp_action_to_string(a)), a);
        for (SeccompOp op = 0; op < _SECCOMP_OP_MAX; op++)
                assert_int_equal(seccomp_op_from_string(seccomp_op_to_string(op)), op);
        for (SeccompFlag f = 0; f < _SECCOMP_FLAG_MAX; f++) {
                assert_int_equal(seccomp_flag_from_string(seccomp_flag_to_string(f)), f);
                assert_true(seccomp_flag_to_kernel(f) != 0);
        }
        assert_int_equal(seccomp_action_from_string("SCMP_ACT_NOTIFY"), _SECCOMP_ACTION_INVALID);
        assert_int_equal(seccomp_action_from_string(NULL), _SECCOMP_ACTION_INVALID);
        assert_null(seccomp_action_to_string(_SECCOMP_ACTION_MAX));
        assert_int_equal(seccomp_op_from_string("SCMP_CMP_MASKED"), _SECCOMP_OP_INVALID);
}

#define RULE_WITH(x) "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[" x "]}"
#define ARG_WITH(x)  RULE_WITH("{\"names\":[\"read\"],\"action\":\"SCMP_ACT_ERRNO\",\"args\":[" x "]}")

static const struct {
        const char *text;
        int error;
        const char *message; /* the whole message, or a part of it when it starts with '~' */
} bad_policies[] = {
        {"[]", -EINVAL, "policy test.json: expected an object at the top, got an array"},
        {"{}", -EINVAL, "policy test.json: \"defaultAction\" is missing"},
        {"{\"defaultAction\": 1}", -EINVAL,
         "policy test.json: defaultAction: expected a string, got an integer"},
        {"{\"defaultAction\": \"SCMP_ACT_FOO\"}", -EINVAL,
         "policy test.json: defaultAction: unknown action \"SCMP_ACT_FOO\""},
        {RULE_WITH("{\"names\":[\"read\"],\"action\":\"SCMP_ACT_ALLOW\"},"
                   "{\"names\":[\"read\"],\"action\":\"SCMP_ACT_FOO\"}"),
         -EINVAL, "policy test.json: syscalls[1].action: unknown action \"SCMP_ACT_FOO\""},
        {RULE_WITH("{\"names\":[\"read\"],\"action\":\"SCMP_ACT_NOTIFY\"}"), -EINVAL,
         "~syscalls[0].action: SCMP_ACT_NOTIFY is not supported"},
        {RULE_WITH("{\"names\":[\"read\"],\"action\":\"SCMP_ACT_TRACE\"}"), -EINVAL,
         "~syscalls[0].action: SCMP_ACT_TRACE is not supported"},
        {RULE_WITH("{\"names\":\"read\",\"action\":\"SCMP_ACT_ALLOW\"}"), -EINVAL,
         "policy test.json: syscalls[0].names: expected an array, got a string"},
        {RULE_WITH("{\"names\":[],\"action\":\"SCMP_ACT_ALLOW\"}"), -EINVAL,
         "policy test.json: syscalls[0].names: the list is empty"},
        {RULE_WITH("{\"names\":[\"read\",\"Write\"],\"action\":\"SCMP_ACT_ALLOW\"}"), -EINVAL,
         "policy test.json: syscalls[0].names[1]: invalid syscall name \"Write\""},
        {RULE_WITH("{\"names\":[\"re\\u0000ad\"],\"action\":\"SCMP_ACT_ALLOW\"}"), -EINVAL,
         "policy test.json: syscalls[0].names[0]: string contains a NUL character"},
        {RULE_WITH("{\"names\":[7],\"action\":\"SCMP_ACT_ALLOW\"}"), -EINVAL,
         "policy test.json: syscalls[0].names[0]: expected a string, got an integer"},
        {RULE_WITH("{\"action\":\"SCMP_ACT_ALLOW\"}"), -EINVAL,
         "policy test.json: syscalls[0]: \"names\" is missing"},
        {RULE_WITH("{\"names\":[\"read\"]}"), -EINVAL,
         "policy test.json: syscalls[0]: \"action\" is missing"},
        {RULE_WITH("[\"read\"]"), -EINVAL,
         "policy test.json: syscalls[0]: expected an object, got an array"},
        {RULE_WITH("{\"names\":[\"read\"],\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":\"1\"}"), -EINVAL,
         "policy test.json: syscalls[0].errnoRet: expected an unsigned integer, got a string"},
        {RULE_WITH("{\"names\":[\"read\"],\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":true}"), -EINVAL,
         "policy test.json: syscalls[0].errnoRet: expected an unsigned integer, got a boolean"},
        {RULE_WITH("{\"names\":[\"read\"],\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":4096}"), -EINVAL,
         "policy test.json: syscalls[0].errnoRet: 4096 is out of range (at most 4095)"},
        {RULE_WITH("{\"names\":[\"read\"],\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":0}"), -EINVAL,
         "~syscalls[0].errnoRet: 0 would make the syscall fake success"},
        {RULE_WITH("{\"names\":[\"read\"],\"action\":\"SCMP_ACT_KILL\",\"errnoRet\":1}"), -EINVAL,
         "policy test.json: syscalls[0]: \"errnoRet\" needs the action SCMP_ACT_ERRNO, not SCMP_ACT_KILL"},
        {"{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"defaultErrnoRet\":1}", -EINVAL,
         "policy test.json: defaultErrnoRet: needs the defaultAction SCMP_ACT_ERRNO, not SCMP_ACT_ALLOW"},
        {ARG_WITH("{\"index\":0,\"value\":1,\"op\":\"SCMP_CMP_FOO\"}"), -EINVAL,
         "policy test.json: syscalls[0].args[0].op: unknown operator \"SCMP_CMP_FOO\""},
        {ARG_WITH("{\"index\":0,\"value\":1,\"op\":1}"), -EINVAL,
         "policy test.json: syscalls[0].args[0].op: expected a string, got an integer"},
        {ARG_WITH("{\"index\":0,\"value\":1,\"op\":\"SCMP_CMP_EQ\"},{\"index\":6,\"value\":1,\"op\":\"SCMP_"
                  "CMP_EQ\"}"),
         -EINVAL, "policy test.json: syscalls[0].args[1].index: 6 is out of range (at most 5)"},
        {ARG_WITH("{\"index\":-1,\"value\":1,\"op\":\"SCMP_CMP_EQ\"}"), -EINVAL,
         "policy test.json: syscalls[0].args[0].index: expected an unsigned integer, got a negative number"},
        {ARG_WITH("{\"index\":1.5,\"value\":1,\"op\":\"SCMP_CMP_EQ\"}"), -EINVAL,
         "policy test.json: syscalls[0].args[0].index: expected an unsigned integer, got a fractional "
         "number"},
        {ARG_WITH("{\"index\":0,\"value\":-5,\"op\":\"SCMP_CMP_EQ\"}"), -EINVAL,
         "policy test.json: syscalls[0].args[0].value: expected an unsigned integer, got a negative number"},
        {ARG_WITH("{\"index\":0,\"op\":\"SCMP_CMP_EQ\"}"), -EINVAL,
         "policy test.json: syscalls[0].args[0]: \"value\" is missing"},
        {ARG_WITH("{\"value\":0,\"op\":\"SCMP_CMP_EQ\"}"), -EINVAL,
         "policy test.json: syscalls[0].args[0]: \"index\" is missing"},
        {ARG_WITH("{\"index\":0,\"value\":0}"), -EINVAL,
         "policy test.json: syscalls[0].args[0]: \"op\" is missing"},
        {ARG_WITH("{\"index\":0,\"value\":0,\"op\":\"SCMP_CMP_EQ\",\"valuetwo\":1}"), -EINVAL,
         "policy test.json: syscalls[0].args[0]: unknown key \"valuetwo\""},
        {ARG_WITH("{\"index\":0,\"value\":18446744073709551616,\"op\":\"SCMP_CMP_EQ\"}"), -EINVAL,
         "policy test.json: line 1: integer out of range (above 18446744073709551615)"},
        {RULE_WITH("{\"names\":[\"read\"],\"action\":\"SCMP_ACT_ALLOW\",\"args\":{}}"), -EINVAL,
         "policy test.json: syscalls[0].args: expected an array, got an object"},
        {"{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"architectures\":[\"x86_64\"]}", -EINVAL,
         "policy test.json: architectures[0]: invalid architecture \"x86_64\" (expected SCMP_ARCH_NAME)"},
        {"{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"architectures\":[\"SCMP_ARCH_\"]}", -EINVAL,
         "~architectures[0]: invalid architecture \"SCMP_ARCH_\""},
        {"{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"architectures\":[\"SCMP_ARCH_x86\"]}", -EINVAL,
         "~architectures[0]: invalid architecture \"SCMP_ARCH_x86\""},
        {"{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"architectures\":\"SCMP_ARCH_X86\"}", -EINVAL,
         "policy test.json: architectures: expected an array, got a string"},
        {"{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"flags\":[\"SECCOMP_FILTER_FLAG_FOO\"]}", -EINVAL,
         "policy test.json: flags[0]: unknown flag \"SECCOMP_FILTER_FLAG_FOO\""},
        {"{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"flags\":[\"SECCOMP_FILTER_FLAG_NEW_LISTENER\"]}", -EINVAL,
         "~flags[0]: SECCOMP_FILTER_FLAG_NEW_LISTENER is not supported"},
        {"{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"listenerPath\":\"/run/x.sock\"}", -EINVAL,
         "~\"listenerPath\" is not supported"},
        {"{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"archMap\":[]}", -EINVAL,
         "policy test.json: \"archMap\" is a Docker extension, not OCI: resolve it into plain rules first"},
        {RULE_WITH("{\"names\":[\"read\"],\"action\":\"SCMP_ACT_ALLOW\",\"includes\":{}}"), -EINVAL,
         "~syscalls[0]: \"includes\" is a Docker extension"},
        {"{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"defaultaction\":\"SCMP_ACT_KILL\"}", -EINVAL,
         "policy test.json: unknown key \"defaultaction\""},
        {"{\"defaultAction\":\"SCMP_ACT_ALLOW\"} {}", -EINVAL, "~invalid JSON"},
        {"{\"defaultAction\":\"SCMP_ACT_ALLOW\"", -EINVAL, "policy test.json: unexpected end of the file"},
        {"", -EINVAL, "policy test.json: unexpected end of the file"},
        {"{\n\"defaultAction\":\n\"SCMP_ACT_ALLOW\",,}", -EINVAL, "~line 3: invalid JSON"},
        {"{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[[[[[[[[[[]]]]]]]]]]}", -E2BIG,
         "policy test.json: nested deeper than 8 levels"},
};

static void test_parse_errors(void **state)
{
        for (size_t i = 0; i < ELEMENTSOF(bad_policies); i++) {
                SeccompPolicy *p = NULL;
                char *error = NULL;
                int r;

                r = parse(bad_policies[i].text, &p, &error);
                if (r != bad_policies[i].error || !error ||
                    (bad_policies[i].message[0] == '~' ? !strstr(error, bad_policies[i].message + 1)
                                                       : !streq(error, bad_policies[i].message)))
                        fail_msg("case %zu: %s\n  got %d \"%s\"\n  expected %d \"%s\"", i,
                                 bad_policies[i].text, r, error ?: "(null)", bad_policies[i].error,
                                 bad_policies[i].message);
                assert_null(p);
                free(error);
        }
}

static void test_parse_bounds(void **state)
{
        static const char nul[] = "{\"defaultAction\":\"SCMP_ACT_ALLOW\"}\0";
        char args[8192] = "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"read\"],"
                          "\"action\":\"SCMP_ACT_ERRNO\",\"args\":[";
        SeccompPolicy *p = NULL;
        char *error = NULL, *big;
        size_t n;

        /* Too big: refused before parsing, whatever it holds. */
        big = malloc(SECCOMP_POLICY_SIZE_MAX + 2);
        assert_non_null(big);
        memset(big, ' ', SECCOMP_POLICY_SIZE_MAX + 1);
        memcpy(big, "{\"defaultAction\":\"SCMP_ACT_ALLOW\"}", 34);
        assert_int_equal(seccomp_policy_parse("big.json", big, SECCOMP_POLICY_SIZE_MAX + 1, &p, &error),
                         -EFBIG);
        assert_non_null(strstr(error, "policy big.json: 1048577 bytes, larger than the limit"));
        free(error);
        error = NULL;
        /* Exactly at the limit is fine. */
        assert_int_equal(seccomp_policy_parse("big.json", big, SECCOMP_POLICY_SIZE_MAX, &p, &error), 0);
        p = seccomp_policy_free(p);
        free(big);

        /* A NUL byte inside the text. */
        assert_int_equal(seccomp_policy_parse("nul.json", nul, sizeof nul - 1, &p, &error), -EINVAL);
        assert_string_equal(error, "policy nul.json: contains a NUL byte: not a JSON text");
        free(error);
        error = NULL;

        /* The comparisons of one rule are bounded. */
        for (int i = 0; i <= SECCOMP_RULE_ARGS_MAX; i++)
                strcat(args, i == 0 ? "{\"index\":0,\"value\":1,\"op\":\"SCMP_CMP_EQ\"}"
                                    : ",{\"index\":0,\"value\":1,\"op\":\"SCMP_CMP_EQ\"}");
        n = strlen(args);
        assert_true(n + 8 < sizeof args);
        strcat(args, "]}]}");
        assert_int_equal(parse(args, &p, &error), -EINVAL);
        assert_string_equal(error, "policy test.json: syscalls[0].args: 65 comparisons, at most 64");
        free(error);

        /* Without ret_error, the error code alone. */
        assert_int_equal(parse("{\"defaultAction\": 7}", &p, NULL), -EINVAL);
        assert_null(p);
}

/* ---- compiling ---- */

static void test_build_unknown_names(void **state)
{
        static const char text[] =
                "{\"defaultAction\":\"SCMP_ACT_ALLOW\","
                "\"architectures\":[\"SCMP_ARCH_X86_64\",\"SCMP_ARCH_AARCH64\",\"SCMP_ARCH_NOSUCH\"],"
                "\"syscalls\":[{\"names\":[\"descartes_no_such_call\",\"mount\",\"descartes_no_such_call\"],"
                "\"action\":\"SCMP_ACT_ERRNO\"},"
                "{\"names\":[\"other_missing_call\"],\"action\":\"SCMP_ACT_KILL_PROCESS\"},"
                "{\"names\":[\"getpid\"],\"action\":\"SCMP_ACT_ALLOW\"}]}";
        _cleanup_(seccomp_policy_freep) SeccompPolicy *p = NULL;
        scmp_filter_ctx ctx = NULL;
        char **unknown = NULL, **skipped = NULL;
        uint32_t badarch = 0;

        assert_int_equal(parse(text, &p, NULL), 0);
        assert_int_equal(seccomp_policy_build(p, "test.json", &ctx, &unknown, &skipped, NULL), 0);
        assert_int_equal(strv_length(unknown), 2);
        assert_string_equal(unknown[0], "descartes_no_such_call");
        assert_string_equal(unknown[1], "other_missing_call");
        assert_int_equal(strv_length(skipped), 1);
        assert_string_equal(skipped[0], "nosuch");

        assert_int_equal(seccomp_attr_get(ctx, SCMP_FLTATR_ACT_BADARCH, &badarch), 0);
        assert_int_equal(badarch, SCMP_ACT_KILL_PROCESS);
        assert_int_equal(seccomp_arch_exist(ctx, SCMP_ARCH_NATIVE), 0);
        assert_int_equal(seccomp_arch_exist(ctx, SCMP_ARCH_AARCH64), 0);
        if (seccomp_arch_native() == SCMP_ARCH_X86_64) {
                /* Not listed: their syscalls hit BADARCH. */
                assert_int_equal(seccomp_arch_exist(ctx, SCMP_ARCH_X86), -EEXIST);
                assert_int_equal(seccomp_arch_exist(ctx, SCMP_ARCH_X32), -EEXIST);
        }
        seccomp_release(ctx);
        strv_free(unknown);
        strv_free(skipped);
}

static void test_compile_memfd(void **state)
{
        static const char text[] =
                "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"flags\":[\"SECCOMP_FILTER_FLAG_LOG\"],"
                "\"syscalls\":[{\"names\":[\"mount\"],\"action\":\"SCMP_ACT_ERRNO\"}]}";
        _cleanup_(seccomp_policy_freep) SeccompPolicy *p = NULL;
        _cleanup_(seccomp_bpf_unrefp) SeccompBpf *bpf = NULL, *copy = NULL;
        _cleanup_close_ int plain = -EBADF, garbage = -EBADF;
        SeccompBpfHeader h = {.magic = 1};
        int seals;

        assert_int_equal(parse(text, &p, NULL), 0);
        assert_int_equal(seccomp_policy_compile(p, "test.json", &bpf, NULL), 0);
        assert_true(bpf->fd >= 0);
        assert_true(bpf->n_insns > 0 && bpf->n_insns <= BPF_MAXINSNS);
        assert_int_equal(bpf->flags, SECCOMP_FILTER_FLAG_LOG);
        assert_null(bpf->unknown_syscalls);
        assert_null(bpf->skipped_arches);
        assert_true(fcntl(bpf->fd, F_GETFD) & FD_CLOEXEC);

        seals = fcntl(bpf->fd, F_GET_SEALS);
        assert_true(seals >= 0);
        assert_true(seals & F_SEAL_WRITE);
        assert_true(seals & F_SEAL_SEAL);
        assert_int_equal(pwrite(bpf->fd, "x", 1, 0), -1);
        assert_int_equal(errno, EPERM);

        /* The shim's side: the same program from the fd. */
        assert_int_equal(seccomp_bpf_from_fd(bpf->fd, &copy), 0);
        assert_int_equal(copy->fd, -EBADF);
        assert_int_equal(copy->n_insns, bpf->n_insns);
        assert_int_equal(copy->flags, bpf->flags);
        assert_memory_equal(copy->insns, bpf->insns, bpf->n_insns * sizeof(struct sock_filter));

        /* An unsealed memfd is refused, and so is a sealed one without our header. */
        plain = memfd_create("test", MFD_CLOEXEC);
        assert_true(plain >= 0);
        assert_int_equal(write(plain, bpf->map, bpf->map_size), (ssize_t)bpf->map_size);
        assert_int_equal(seccomp_bpf_from_fd(plain, &copy), -EPERM);
        garbage = memfd_create("test", MFD_CLOEXEC | MFD_ALLOW_SEALING);
        assert_true(garbage >= 0);
        assert_int_equal(write(garbage, &h, sizeof h), (ssize_t)sizeof h);
        assert_int_equal(write(garbage, bpf->insns, sizeof(struct sock_filter)),
                         (ssize_t)sizeof(struct sock_filter));
        assert_int_equal(fcntl(garbage, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE), 0);
        assert_int_equal(seccomp_bpf_from_fd(garbage, &copy), -EBADMSG);

        assert_int_equal(seccomp_bpf_load_program(NULL, 0, 0), -EINVAL);
        assert_int_equal(seccomp_bpf_load_program(bpf->insns, BPF_MAXINSNS + 1, 0), -EINVAL);
}

static SeccompBpf *compile_shipped(const char *name)
{
        _cleanup_free_ char *text = NULL, *label = NULL, *error = NULL;
        _cleanup_(seccomp_policy_freep) SeccompPolicy *p = NULL;
        SeccompBpf *bpf = NULL;
        size_t size;
        int r;

        r = seccomp_policy_read(POLICY_SOURCE_DIR, name, &text, &size, &label, &error);
        if (r < 0)
                fail_msg("%s", error ?: strerror(-r));
        r = seccomp_policy_parse(label, text, size, &p, &error);
        if (r < 0)
                fail_msg("%s", error ?: strerror(-r));
        r = seccomp_policy_compile(p, label, &bpf, &error);
        if (r < 0)
                fail_msg("%s", error ?: strerror(-r));
        for (char **n = bpf->unknown_syscalls; n && *n; n++)
                print_message("%s: syscall unknown to this libseccomp, skipped: %s\n", label, *n);
        for (char **n = bpf->skipped_arches; n && *n; n++)
                print_message("%s: architecture skipped: %s\n", label, *n);
        return bpf;
}

static void test_shipped_policies(void **state)
{
        static const char *const names[] = {"default", "strict"};

        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                _cleanup_free_ char *text = NULL, *label = NULL;
                _cleanup_(seccomp_policy_freep) SeccompPolicy *p = NULL;
                _cleanup_(seccomp_bpf_unrefp) SeccompBpf *bpf = NULL;
                scmp_filter_ctx ctx = NULL;
                uint32_t badarch = 0;
                size_t size;

                assert_int_equal(
                        seccomp_policy_read(POLICY_SOURCE_DIR, names[i], &text, &size, &label, NULL), 0);
                assert_int_equal(seccomp_policy_parse(label, text, size, &p, NULL), 0);
                assert_true(p->n_rules > 0);
                assert_int_equal(seccomp_policy_build(p, label, &ctx, NULL, NULL, NULL), 0);
                assert_int_equal(seccomp_attr_get(ctx, SCMP_FLTATR_ACT_BADARCH, &badarch), 0);
                assert_int_equal(badarch, SCMP_ACT_KILL_PROCESS);
                seccomp_release(ctx);

                bpf = compile_shipped(names[i]);
                assert_true(bpf->n_insns > 0);
        }
}

/* ---- the cache ---- */

static void test_cache(void **state)
{
        static const char a[] = "{\"defaultAction\":\"SCMP_ACT_ALLOW\"}";
        static const char b[] = "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[]}";
        static const char c[] = "{\"defaultAction\":\"SCMP_ACT_LOG\"}";
        _cleanup_(seccomp_cache_freep) SeccompCache *cache = NULL;
        SeccompBpf *x = NULL, *y = NULL, *z = NULL, *w = NULL;
        char *error = NULL;

        /* FNV-1a 64 reference values. */
        assert_true(seccomp_cache_hash("", 0) == UINT64_C(0xcbf29ce484222325));
        assert_true(seccomp_cache_hash("a", 1) == UINT64_C(0xaf63dc4c8601ec8c));
        assert_true(seccomp_cache_hash("foobar", 6) == UINT64_C(0x85944171f73967e8));

        assert_int_equal(seccomp_cache_new(0, &cache), -EINVAL);
        assert_int_equal(seccomp_cache_new(2, &cache), 0);

        assert_int_equal(seccomp_cache_get(cache, "a.json", a, strlen(a), &x, NULL), 1);
        assert_int_equal(seccomp_cache_get(cache, "a.json", a, strlen(a), &y, NULL), 0);
        assert_ptr_equal(x, y);
        assert_int_equal(x->n_ref, 3);
        y = seccomp_bpf_unref(y);

        assert_int_equal(seccomp_cache_get(cache, "b.json", b, strlen(b), &y, NULL), 1);
        assert_ptr_not_equal(x, y);
        assert_int_equal(seccomp_cache_size(cache), 2);

        /* a is used again, so the third policy evicts b. */
        assert_int_equal(seccomp_cache_get(cache, "a.json", a, strlen(a), &w, NULL), 0);
        w = seccomp_bpf_unref(w);
        assert_int_equal(seccomp_cache_get(cache, "c.json", c, strlen(c), &z, NULL), 1);
        assert_int_equal(seccomp_cache_size(cache), 2);
        assert_int_equal(y->n_ref, 1); /* only ours is left */
        assert_int_equal(seccomp_cache_get(cache, "a.json", a, strlen(a), &w, NULL), 0);
        assert_ptr_equal(w, x);
        w = seccomp_bpf_unref(w);

        /* Same length, one byte apart: not a hit. */
        assert_int_equal(seccomp_cache_get(cache, "b.json", b, strlen(b), &w, NULL), 1);
        assert_ptr_not_equal(w, y);
        w = seccomp_bpf_unref(w);

        /* A bad policy is reported and not cached. */
        assert_int_equal(seccomp_cache_get(cache, "bad.json", "{}", 2, &w, &error), -EINVAL);
        assert_string_equal(error, "policy bad.json: \"defaultAction\" is missing");
        free(error);
        error = NULL;

        /* By name, through the file. */
        assert_int_equal(seccomp_cache_get_policy(cache, POLICY_SOURCE_DIR, "default", &w, &error), 1);
        assert_non_null(w);
        seccomp_bpf_unref(w);
        assert_int_equal(seccomp_cache_get_policy(cache, POLICY_SOURCE_DIR, "default", &w, &error), 0);
        seccomp_bpf_unref(w);
        assert_int_equal(seccomp_cache_get_policy(cache, POLICY_SOURCE_DIR, "no-such-policy", &w, &error),
                         -ENOENT);
        assert_non_null(strstr(error, "policy no-such-policy.json: cannot open"));
        free(error);

        seccomp_bpf_unref(x);
        seccomp_bpf_unref(y);
        seccomp_bpf_unref(z);
}

/* ---- policy lookup ---- */

typedef struct TmpDir {
        char path[64];
} TmpDir;

static void tmpdir_cleanup(TmpDir *d)
{
        if (!d->path[0])
                return;
        (void)rm_rf_at(AT_FDCWD, d->path);
}

static void write_file(const char *dir, const char *name, const char *text, mode_t mode)
{
        _cleanup_free_ char *path = NULL;
        _cleanup_close_ int fd = -EBADF;

        assert_true(asprintf(&path, "%s/%s", dir, name) > 0);
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
        assert_true(fd >= 0);
        assert_int_equal(loop_write(fd, text, strlen(text)), 0);
        assert_int_equal(fchmod(fd, mode), 0);
}

static int read_spec(const char *policy_dir, const char *spec, char **ret_error)
{
        _cleanup_free_ char *text = NULL, *label = NULL;
        size_t size = 0;
        int r;

        r = seccomp_policy_read(policy_dir, spec, &text, &size, &label, ret_error);
        if (r >= 0) {
                assert_non_null(text);
                assert_int_equal(strlen(text), size);
                assert_non_null(label);
        }
        return r;
}

static void test_policy_read(void **state)
{
        static const char policy[] = "{\"defaultAction\":\"SCMP_ACT_ALLOW\"}";
        _cleanup_(tmpdir_cleanup) TmpDir d = {};
        _cleanup_free_ char *text = NULL, *label = NULL, *error = NULL, *path = NULL;
        char buf[256];
        size_t size;

        assert_true(seccomp_policy_name_is_valid("default"));
        assert_true(seccomp_policy_name_is_valid("my_policy-2"));
        assert_false(seccomp_policy_name_is_valid("Default"));
        assert_false(seccomp_policy_name_is_valid("../default"));
        assert_false(seccomp_policy_name_is_valid("a.json"));
        assert_false(seccomp_policy_name_is_valid(""));
        assert_false(seccomp_policy_name_is_valid(NULL));
        memset(buf, 'a', SECCOMP_POLICY_NAME_MAX + 1);
        buf[SECCOMP_POLICY_NAME_MAX + 1] = 0;
        assert_false(seccomp_policy_name_is_valid(buf));
        buf[SECCOMP_POLICY_NAME_MAX] = 0;
        assert_true(seccomp_policy_name_is_valid(buf));

        /* A name, from the policy directory. */
        assert_int_equal(seccomp_policy_read(POLICY_SOURCE_DIR, "strict", &text, &size, &label, NULL), 0);
        assert_string_equal(label, "strict.json");
        assert_non_null(strstr(text, "\"defaultAction\""));

        assert_int_equal(read_spec(POLICY_SOURCE_DIR, "../seccomp/default", &error), -EINVAL);
        assert_non_null(strstr(error, "neither a name ([a-z0-9_-]+) nor an absolute path"));
        error = mfree_helper(error);
        assert_int_equal(read_spec(POLICY_SOURCE_DIR, "seccomp/default.json", NULL), -EINVAL);
        assert_int_equal(read_spec(POLICY_SOURCE_DIR, "", NULL), -EINVAL);
        /* No directory given: the build-time one. */
        if (access(DESCARTES_POLICY_DIR "/seccomp/default.json", F_OK) < 0) {
                assert_int_equal(read_spec(NULL, "default", &error), -ENOENT);
                assert_non_null(strstr(error, "cannot open " DESCARTES_POLICY_DIR "/seccomp/default.json"));
                error = mfree_helper(error);
        } else
                assert_int_equal(read_spec(NULL, "default", NULL), 0);

        /* Paths. */
        strcpy(d.path, "/tmp/descartes-test-seccomp-XXXXXX");
        assert_non_null(mkdtemp(d.path));
        assert_int_equal(chmod(d.path, 0755), 0);
        write_file(d.path, "good.json", policy, 0644);
        assert_true(asprintf(&path, "%s/good.json", d.path) > 0);
        if (geteuid() != 0) {
                assert_int_equal(read_spec(NULL, path, &error), -EPERM);
                print_message("not root: the root-owned cases are skipped\n");
                return;
        }
        assert_int_equal(read_spec(NULL, path, &error), 0);

        write_file(d.path, "gw.json", policy, 0664);
        path = mfree_helper(path);
        assert_true(asprintf(&path, "%s/gw.json", d.path) > 0);
        assert_int_equal(read_spec(NULL, path, &error), -EPERM);
        assert_non_null(strstr(error, "writable by group or others (mode 0664), refused"));
        error = mfree_helper(error);

        write_file(d.path, "ow.json", policy, 0646);
        path = mfree_helper(path);
        assert_true(asprintf(&path, "%s/ow.json", d.path) > 0);
        assert_int_equal(read_spec(NULL, path, NULL), -EPERM);

        write_file(d.path, "private.json", policy, 0600);
        path = mfree_helper(path);
        assert_true(asprintf(&path, "%s/private.json", d.path) > 0);
        assert_int_equal(read_spec(NULL, path, &error), -EPERM);
        assert_non_null(strstr(error, "not readable by others"));
        error = mfree_helper(error);

        write_file(d.path, "tenant.json", policy, 0644);
        path = mfree_helper(path);
        assert_true(asprintf(&path, "%s/tenant.json", d.path) > 0);
        assert_int_equal(chown(path, 65534, 65534), 0);
        assert_int_equal(read_spec(NULL, path, &error), -EPERM);
        assert_non_null(strstr(error, "owned by uid 65534, must be owned by root"));
        error = mfree_helper(error);

        path = mfree_helper(path);
        assert_true(asprintf(&path, "%s/link.json", d.path) > 0);
        assert_int_equal(symlink("good.json", path), 0);
        assert_int_equal(read_spec(NULL, path, &error), -ELOOP);
        assert_non_null(strstr(error, "is a symlink, refused"));
        error = mfree_helper(error);

        path = mfree_helper(path);
        assert_true(asprintf(&path, "%s/fifo.json", d.path) > 0);
        assert_int_equal(mkfifo(path, 0644), 0);
        assert_int_equal(read_spec(NULL, path, &error), -EBADFD);
        assert_non_null(strstr(error, "not a regular file"));
        error = mfree_helper(error);
        assert_int_equal(read_spec(NULL, d.path, NULL), -EBADFD);

        path = mfree_helper(path);
        assert_true(asprintf(&path, "%s/big.json", d.path) > 0);
        write_file(d.path, "big.json", policy, 0644);
        assert_int_equal(truncate(path, SECCOMP_POLICY_SIZE_MAX + 1), 0);
        assert_int_equal(read_spec(NULL, path, &error), -EFBIG);
        assert_non_null(strstr(error, "larger than the limit"));
        error = mfree_helper(error);
        assert_int_equal(truncate(path, SECCOMP_POLICY_SIZE_MAX), 0);
        text = mfree_helper(text);
        assert_int_equal(seccomp_policy_read(NULL, path, &text, &size, NULL, NULL), 0);
        assert_int_equal(size, SECCOMP_POLICY_SIZE_MAX);

        path = mfree_helper(path);
        assert_true(asprintf(&path, "%s/missing.json", d.path) > 0);
        assert_int_equal(read_spec(NULL, path, NULL), -ENOENT);
}

/* ---- loading, in forked children ---- */

static char *const child_env[] = {
        (char *)"PATH=/usr/local/bin:/usr/bin:/bin",
        (char *)"HOME=/tmp",
        (char *)"LANG=C.UTF-8",
        /* LeakSanitizer stops the world with ptrace, which both policies deny. */
        (char *)"ASAN_OPTIONS=detect_leaks=0",
        NULL,
};

typedef void (*ChildFn)(const void *userdata);

/* Forks a child that loads bpf (or nothing if NULL) and calls fn, which writes to stdout and ends in
 * execve. Collects its stdout and its wait status. */
static void run_child(const SeccompBpf *bpf, ChildFn fn, const void *userdata, char *out, size_t out_size,
                      size_t *ret_len, int *ret_status)
{
        _cleanup_close_pair_ int p[2] = {-EBADF, -EBADF};
        ssize_t n;
        size_t len = 0;
        pid_t pid;
        int status;

        assert_int_equal(pipe2(p, O_CLOEXEC), 0);
        fflush(NULL);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                if (dup2(p[1], STDOUT_FILENO) < 0)
                        _exit(120);
                if (bpf && seccomp_bpf_load(bpf) < 0)
                        _exit(121);
                fn(userdata);
                _exit(122);
        }
        p[1] = safe_close(p[1]);
        while (len + 1 < out_size && (n = read(p[0], out + len, out_size - 1 - len)) != 0) {
                if (n < 0 && errno == EINTR)
                        continue;
                assert_true(n > 0);
                len += (size_t)n;
        }
        out[len] = 0;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        *ret_len = len;
        *ret_status = status;
}

static void child_exec(const void *userdata)
{
        char *const *argv = userdata;

        (void)execve(argv[0], argv, child_env);
        _exit(123);
}

static int seccomp_check_available(void)
{
        static const char allow[] = "{\"defaultAction\":\"SCMP_ACT_ALLOW\"}";
        static const char *const argv[] = {"/bin/true", NULL};
        _cleanup_(seccomp_policy_freep) SeccompPolicy *p = NULL;
        _cleanup_(seccomp_bpf_unrefp) SeccompBpf *bpf = NULL;
        char out[16];
        size_t len;
        int status;

        if (access("/bin/true", X_OK) < 0) {
                print_message("/bin/true is missing\n");
                return -ENOENT;
        }
        assert_int_equal(parse(allow, &p, NULL), 0);
        assert_int_equal(seccomp_policy_compile(p, "allow.json", &bpf, NULL), 0);
        run_child(bpf, child_exec, argv, out, sizeof out, &len, &status);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                print_message("this kernel cannot load a seccomp filter (child status 0x%x)\n", status);
                return -EOPNOTSUPP;
        }
        return 0;
}

#define SKIP_WITHOUT_SECCOMP()                                                                              \
        do {                                                                                                \
                if (seccomp_check_available() < 0)                                                          \
                        skip();                                                                             \
        } while (0)

enum {
        CHECK_MOUNT,
        CHECK_UMOUNT2,
        CHECK_UNSHARE_NEWNS,
        CHECK_UNSHARE_NEWUSER,
        CHECK_CLONE_NEWNS,
        CHECK_CLONE3,
        CHECK_KEYCTL,
        CHECK_ADD_KEY,
        CHECK_BPF,
        CHECK_PERF_EVENT_OPEN,
        CHECK_PTRACE,
        CHECK_PROCESS_VM_READV,
        CHECK_REBOOT,
        CHECK_SETNS,
        CHECK_INIT_MODULE,
        CHECK_KEXEC_LOAD,
        CHECK_OPEN_BY_HANDLE_AT,
        CHECK_SETHOSTNAME,
        CHECK_CLOCK_SETTIME,
        CHECK_IO_URING_SETUP,
        CHECK_SWAPON,
        CHECK_GETPID,
        CHECK_FORK,
        CHECK_PERSONALITY_QUERY,
        CHECK_PERSONALITY_BSD,
        CHECK_PERSONALITY_NORANDOM,
        CHECK_PERSONALITY_HIGH,
        CHECK_PERSONALITY_UNAME26_LINUX32,
        CHECK_PERSONALITY_LINUX,
        CHECK_SOCKET_VSOCK,
        CHECK_SOCKET_UNIX,
        CHECK_UNSHARE_NOTHING,
        _CHECK_MAX,
};

/* Each call is made so that, should the filter not apply, it fails harmlessly with another errno (bad
 * arguments, a missing path) or does something confined to this child. */
static const struct {
        const char *what;
        int expected; /* the errno, 0 for success */
} default_checks[_CHECK_MAX] = {
        [CHECK_MOUNT] = {"mount", EPERM},
        [CHECK_UMOUNT2] = {"umount2", EPERM},
        [CHECK_UNSHARE_NEWNS] = {"unshare(CLONE_NEWNS)", EPERM},
        [CHECK_UNSHARE_NEWUSER] = {"unshare(CLONE_NEWUSER)", EPERM},
        [CHECK_CLONE_NEWNS] = {"clone(CLONE_NEWNS)", EPERM},
        [CHECK_CLONE3] = {"clone3", ENOSYS},
        [CHECK_KEYCTL] = {"keyctl", EPERM},
        [CHECK_ADD_KEY] = {"add_key", EPERM},
        [CHECK_BPF] = {"bpf", EPERM},
        [CHECK_PERF_EVENT_OPEN] = {"perf_event_open", EPERM},
        [CHECK_PTRACE] = {"ptrace", EPERM},
        [CHECK_PROCESS_VM_READV] = {"process_vm_readv", EPERM},
        [CHECK_REBOOT] = {"reboot", EPERM},
        [CHECK_SETNS] = {"setns", EPERM},
        [CHECK_INIT_MODULE] = {"init_module", EPERM},
        [CHECK_KEXEC_LOAD] = {"kexec_load", EPERM},
        [CHECK_OPEN_BY_HANDLE_AT] = {"open_by_handle_at", EPERM},
        [CHECK_SETHOSTNAME] = {"sethostname", EPERM},
        [CHECK_CLOCK_SETTIME] = {"clock_settime", EPERM},
        [CHECK_IO_URING_SETUP] = {"io_uring_setup", EPERM},
        [CHECK_SWAPON] = {"swapon", EPERM},
        [CHECK_GETPID] = {"getpid", 0},
        [CHECK_FORK] = {"fork", 0},
        [CHECK_PERSONALITY_QUERY] = {"personality(0xffffffff)", 0},
        [CHECK_PERSONALITY_BSD] = {"personality(PER_BSD)", EPERM},
        [CHECK_PERSONALITY_NORANDOM] = {"personality(ADDR_NO_RANDOMIZE)", EPERM},
        [CHECK_PERSONALITY_HIGH] = {"personality(0x100000000)", EPERM},
        [CHECK_PERSONALITY_UNAME26_LINUX32] = {"personality(UNAME26 | PER_LINUX32)", 0},
        [CHECK_PERSONALITY_LINUX] = {"personality(PER_LINUX)", 0},
        [CHECK_SOCKET_VSOCK] = {"socket(AF_VSOCK)", EAFNOSUPPORT},
        [CHECK_SOCKET_UNIX] = {"socket(AF_UNIX)", 0},
        [CHECK_UNSHARE_NOTHING] = {"unshare(0)", 0},
};

static int result_of(long r)
{
        return r < 0 ? errno : 0;
}

/* Runs after the filter is loaded: syscall() and write() only, then execve. */
static void child_default_checks(const void *userdata)
{
        static char *const argv[] = {(char *)"/bin/true", NULL};
        const pid_t *parent_view = userdata;
        int got[_CHECK_MAX];
        pid_t pid;
        int status;

        (void)parent_view;
        got[CHECK_MOUNT] = result_of(mount("none", "/nonexistent-descartes-test", "tmpfs", 0, NULL));
        got[CHECK_UMOUNT2] = result_of(umount2("/nonexistent-descartes-test", 0));
        /* CLONE_NEWNS with CLONE_FS is EINVAL for the kernel. */
        got[CHECK_CLONE_NEWNS] = result_of(syscall(SYS_clone, CLONE_NEWNS | CLONE_FS | SIGCHLD, 0, 0, 0, 0));
        got[CHECK_CLONE3] = result_of(syscall(SYS_clone3, NULL, 0));
        got[CHECK_KEYCTL] = result_of(syscall(SYS_keyctl, 0x7fff, 0, 0, 0, 0));
        got[CHECK_ADD_KEY] = result_of(syscall(SYS_add_key, NULL, NULL, NULL, 0, 0));
        got[CHECK_BPF] = result_of(syscall(SYS_bpf, -1, NULL, 0));
        got[CHECK_PERF_EVENT_OPEN] = result_of(syscall(SYS_perf_event_open, NULL, 0, -1, -1, 0));
        got[CHECK_PTRACE] = result_of(syscall(SYS_ptrace, 16 /* PTRACE_ATTACH */, 0, 0, 0));
        got[CHECK_PROCESS_VM_READV] = result_of(syscall(SYS_process_vm_readv, 0, NULL, 0, NULL, 0, 0));
        got[CHECK_REBOOT] = result_of(syscall(SYS_reboot, 0, 0, 0, NULL));
        got[CHECK_SETNS] = result_of(syscall(SYS_setns, -1, 0));
        got[CHECK_INIT_MODULE] = result_of(syscall(SYS_init_module, NULL, 0, ""));
        /* An architecture in the flags that is not ours: EINVAL for the kernel. */
        got[CHECK_KEXEC_LOAD] = result_of(syscall(SYS_kexec_load, 0, 0, NULL, 0xffff0000UL));
        got[CHECK_OPEN_BY_HANDLE_AT] = result_of(syscall(SYS_open_by_handle_at, -1, NULL, 0));
        got[CHECK_SETHOSTNAME] = result_of(syscall(SYS_sethostname, NULL, 100000));
        got[CHECK_CLOCK_SETTIME] = result_of(syscall(SYS_clock_settime, 99999, NULL));
        got[CHECK_IO_URING_SETUP] = result_of(syscall(SYS_io_uring_setup, 0, NULL));
        got[CHECK_SWAPON] = result_of(syscall(SYS_swapon, NULL, 0));
        got[CHECK_GETPID] = syscall(SYS_getpid) == syscall(SYS_gettid) ? 0 : EIO;

        pid = fork();
        if (pid == 0)
                _exit(7);
        got[CHECK_FORK] =
                pid < 0 ? errno
                        : (waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 7
                                   ? 0
                                   : EIO);
        got[CHECK_PERSONALITY_QUERY] = result_of(syscall(SYS_personality, 0xffffffffUL));
        /* Refused ones would change this child's personality without the filter; the allowed pair is
         * undone at once. */
        got[CHECK_PERSONALITY_BSD] = result_of(syscall(SYS_personality, (unsigned long)PER_BSD));
        got[CHECK_PERSONALITY_NORANDOM] =
                result_of(syscall(SYS_personality, (unsigned long)ADDR_NO_RANDOMIZE));
        got[CHECK_PERSONALITY_HIGH] = result_of(syscall(SYS_personality, 0x100000000UL));
        got[CHECK_PERSONALITY_UNAME26_LINUX32] =
                result_of(syscall(SYS_personality, (unsigned long)(UNAME26 | PER_LINUX32)));
        got[CHECK_PERSONALITY_LINUX] = result_of(syscall(SYS_personality, (unsigned long)PER_LINUX));
        /* AF_VSOCK is 40; a kernel without vsock would say EAFNOSUPPORT too, the filter says it anyway */
        got[CHECK_SOCKET_VSOCK] = result_of(syscall(SYS_socket, 40, SOCK_STREAM | SOCK_CLOEXEC, 0));
        got[CHECK_SOCKET_UNIX] = result_of(syscall(SYS_socket, AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
        got[CHECK_UNSHARE_NOTHING] = result_of(unshare(0));
        /* Last: without the filter these would succeed and change what the calls above see. */
        got[CHECK_UNSHARE_NEWNS] = result_of(unshare(CLONE_NEWNS));
        got[CHECK_UNSHARE_NEWUSER] = result_of(unshare(CLONE_NEWUSER));

        if (write(STDOUT_FILENO, got, sizeof got) != (ssize_t)sizeof got)
                _exit(124);
        (void)execve(argv[0], argv, child_env);
        _exit(123);
}

static void test_load_default(void **state)
{
        _cleanup_(seccomp_bpf_unrefp) SeccompBpf *bpf = NULL;
        int got[_CHECK_MAX];
        char out[sizeof got + 64];
        size_t len;
        int status;
        bool ok = true;

        SKIP_WITHOUT_SECCOMP();
        bpf = compile_shipped("default");
        run_child(bpf, child_default_checks, NULL, out, sizeof out, &len, &status);
        assert_int_equal(len, sizeof got);
        memcpy(got, out, sizeof got);
        for (size_t i = 0; i < _CHECK_MAX; i++)
                if (got[i] != default_checks[i].expected) {
                        print_message("%s: got %s, expected %s\n", default_checks[i].what,
                                      got[i] ? strerror(got[i]) : "success",
                                      default_checks[i].expected ? strerror(default_checks[i].expected)
                                                                 : "success");
                        ok = false;
                }
        assert_true(ok);
        /* execve is allowed: /bin/true ran. */
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
}

enum {
        STRICT_MOUNT,
        STRICT_CLONE_NEWNS,
        STRICT_CLONE3,
        STRICT_PERSONALITY_NORANDOM,
        STRICT_PERSONALITY_QUERY,
        STRICT_SOCKET_VSOCK,
        STRICT_SOCKET_UNIX,
        STRICT_PTRACE,
        STRICT_FORK,
        STRICT_UNSHARE,
        _STRICT_MAX,
};

static const struct {
        const char *what;
        int expected;
} strict_checks[_STRICT_MAX] = {
        [STRICT_MOUNT] = {"mount", ENOSYS},
        [STRICT_CLONE_NEWNS] = {"clone(CLONE_NEWNS)", ENOSYS},
        [STRICT_CLONE3] = {"clone3", ENOSYS},
        [STRICT_PERSONALITY_NORANDOM] = {"personality(ADDR_NO_RANDOMIZE)", ENOSYS},
        [STRICT_PERSONALITY_QUERY] = {"personality(0xffffffff)", 0},
        [STRICT_SOCKET_VSOCK] = {"socket(AF_VSOCK)", EAFNOSUPPORT},
        [STRICT_SOCKET_UNIX] = {"socket(AF_UNIX)", 0},
        [STRICT_PTRACE] = {"ptrace", ENOSYS},
        [STRICT_FORK] = {"fork", 0},
        [STRICT_UNSHARE] = {"unshare(CLONE_NEWNS)", ENOSYS},
};

static void child_strict_checks(const void *userdata)
{
        static char *const argv[] = {(char *)"/bin/true", NULL};
        int got[_STRICT_MAX];
        pid_t pid;
        int status;

        got[STRICT_MOUNT] = result_of(mount("none", "/nonexistent-descartes-test", "tmpfs", 0, NULL));
        got[STRICT_CLONE_NEWNS] =
                result_of(syscall(SYS_clone, CLONE_NEWNS | CLONE_FS | SIGCHLD, 0, 0, 0, 0));
        got[STRICT_CLONE3] = result_of(syscall(SYS_clone3, NULL, 0));
        /* Without the filter this would change the child's personality; it execs /bin/true either way. */
        got[STRICT_PERSONALITY_NORANDOM] = result_of(syscall(SYS_personality, 0x0040000UL));
        got[STRICT_PERSONALITY_QUERY] = result_of(syscall(SYS_personality, 0xffffffffUL));
        got[STRICT_SOCKET_VSOCK] = result_of(syscall(SYS_socket, 40, SOCK_STREAM | SOCK_CLOEXEC, 0));
        got[STRICT_SOCKET_UNIX] = result_of(syscall(SYS_socket, AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
        got[STRICT_PTRACE] = result_of(syscall(SYS_ptrace, 16 /* PTRACE_ATTACH */, 0, 0, 0));
        pid = fork();
        if (pid == 0)
                _exit(7);
        got[STRICT_FORK] =
                pid < 0 ? errno
                        : (waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 7
                                   ? 0
                                   : EIO);
        got[STRICT_UNSHARE] = result_of(unshare(CLONE_NEWNS));

        if (write(STDOUT_FILENO, got, sizeof got) != (ssize_t)sizeof got)
                _exit(124);
        (void)execve(argv[0], argv, child_env);
        _exit(123);
}

static void test_load_strict(void **state)
{
        _cleanup_(seccomp_bpf_unrefp) SeccompBpf *bpf = NULL;
        int got[_STRICT_MAX];
        char out[sizeof got + 64];
        size_t len;
        int status;
        bool ok = true;

        SKIP_WITHOUT_SECCOMP();
        bpf = compile_shipped("strict");
        run_child(bpf, child_strict_checks, NULL, out, sizeof out, &len, &status);
        assert_int_equal(len, sizeof got);
        memcpy(got, out, sizeof got);
        for (size_t i = 0; i < _STRICT_MAX; i++)
                if (got[i] != strict_checks[i].expected) {
                        print_message("%s: got %s, expected %s\n", strict_checks[i].what,
                                      got[i] ? strerror(got[i]) : "success",
                                      strict_checks[i].expected ? strerror(strict_checks[i].expected)
                                                                : "success");
                        ok = false;
                }
        assert_true(ok);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
}

/* Runs argv under a shipped policy and expects exit 0 and the output. */
static void expect_run(const char *policy, char *const *argv, const char *expected_out)
{
        _cleanup_(seccomp_bpf_unrefp) SeccompBpf *bpf = NULL;
        char out[4096];
        size_t len;
        int status;

        bpf = compile_shipped(policy);
        run_child(bpf, child_exec, argv, out, sizeof out, &len, &status);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || !streq(out, expected_out))
                fail_msg("under %s: %s %s\n  status 0x%x, output \"%s\"\n  expected exit 0, output \"%s\"",
                         policy, argv[0], argv[1] ?: "", status, out, expected_out);
}

static bool have_program(const char *path)
{
        if (access(path, X_OK) == 0)
                return true;
        print_message("%s is missing\n", path);
        return false;
}

static void test_strict_shell(void **state)
{
        static char *const argv[] = {
                (char *)"/bin/sh",
                (char *)"-c",
                (char *)"echo ok; x=$(echo sub); echo \"$x\"; ls / >/dev/null && echo ls-ok; "
                        "printf '%s\\n' a b | sort -r | tr -d '\\n'; echo; "
                        "t=$(mktemp) && echo data > \"$t\" && cat \"$t\" && rm \"$t\"; "
                        "(exit 3); echo \"status $?\"",
                NULL,
        };

        SKIP_WITHOUT_SECCOMP();
        expect_run("strict", argv, "ok\nsub\nls-ok\nba\ndata\nstatus 3\n");
}

static void test_strict_python(void **state)
{
        static char *const argv[] = {
                (char *)"/usr/bin/python3",
                (char *)"-c",
                (char *)"import json, os, subprocess, tempfile, threading\n"
                        "r = []\n"
                        "t = threading.Thread(target=lambda: r.append(sum(range(10))))\n"
                        "t.start(); t.join()\n"
                        "out = subprocess.run(['/bin/echo', 'child'], capture_output=True, "
                        "text=True).stdout\n"
                        "with tempfile.TemporaryDirectory() as d:\n"
                        "    open(os.path.join(d, 'f'), 'w').write('x')\n"
                        "print(json.dumps([r[0], out.strip()]))\n",
                NULL,
        };

        SKIP_WITHOUT_SECCOMP();
        if (!have_program(argv[0]))
                skip();
        expect_run("strict", argv, "[45, \"child\"]\n");
        expect_run("default", argv, "[45, \"child\"]\n");
}

/* A C program with threads and stdio: this binary, run with --probe. */
static int probe_main(void)
{
        pthread_t t;
        long v = 0;
        char *p;

        if (pthread_create(&t, NULL, (void *(*)(void *))(void (*)(void))getpid, NULL) != 0)
                return 2;
        if (pthread_join(t, NULL) != 0)
                return 3;
        p = malloc(1 << 20);
        if (!p)
                return 4;
        memset(p, 1, 1 << 20);
        for (size_t i = 0; i < (1 << 20); i += 4096)
                v += p[i];
        free(p);
        printf("c-ok %ld\n", v);
        return 0;
}

static void test_strict_c(void **state)
{
        char *const argv[] = {(char *)self_exe, (char *)"--probe", NULL};

        SKIP_WITHOUT_SECCOMP();
        expect_run("strict", argv, "c-ok 256\n");
        expect_run("default", argv, "c-ok 256\n");
}

static void test_default_tools(void **state)
{
        static char *const node[] = {
                (char *)"/usr/bin/node",
                (char *)"-e",
                (char *)"const cp = require('child_process'); const fs = require('fs');"
                        "fs.promises.readFile('/proc/self/status').then(() => {"
                        " console.log('node ' + cp.execFileSync('/bin/echo', ['ok']).toString().trim()); "
                        "});",
                NULL,
        };
        static char *const git[] = {
                (char *)"/bin/sh",
                (char *)"-c",
                (char *)"set -e; d=$(mktemp -d); cd \"$d\"; git init -q r; cd r; echo x > f; git add f; "
                        "git -c user.name=t -c user.email=t@example.com commit -qm m; git log --oneline | "
                        "wc -l; "
                        "cd /; rm -rf \"$d\"",
                NULL,
        };
        static char *const cc[] = {
                (char *)"/bin/sh",
                (char *)"-c",
                (char *)"set -e; d=$(mktemp -d); cd \"$d\"; printf 'int main(void){return 42;}\\n' > t.c; "
                        "cc -O1 t.c -o t; set +e; ./t; echo \"cc $?\"; cd /; rm -rf \"$d\"",
                NULL,
        };
        bool ran = false;

        SKIP_WITHOUT_SECCOMP();
        if (have_program("/usr/bin/node")) {
                expect_run("default", node, "node ok\n");
                ran = true;
        }
        if (have_program("/usr/bin/git")) {
                expect_run("default", git, "1\n");
                ran = true;
        }
        if (have_program("/usr/bin/cc")) {
                expect_run("default", cc, "cc 42\n");
                ran = true;
        }
        if (!ran)
                skip();
}

int main(int argc, char **argv)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse_minimal), cmocka_unit_test(test_parse_full),
                cmocka_unit_test(test_string_tables), cmocka_unit_test(test_parse_errors),
                cmocka_unit_test(test_parse_bounds),  cmocka_unit_test(test_build_unknown_names),
                cmocka_unit_test(test_compile_memfd), cmocka_unit_test(test_shipped_policies),
                cmocka_unit_test(test_cache),         cmocka_unit_test(test_policy_read),
                cmocka_unit_test(test_load_default),  cmocka_unit_test(test_load_strict),
                cmocka_unit_test(test_strict_shell),  cmocka_unit_test(test_strict_python),
                cmocka_unit_test(test_strict_c),      cmocka_unit_test(test_default_tools),
        };

        if (argc > 1 && streq(argv[1], "--probe"))
                return probe_main();
        self_exe = "/proc/self/exe";
        return cmocka_run_group_tests(tests, NULL, NULL);
}
