/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <linux/seccomp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fd-util.h"
#include "seccomp-policy.h"
#include "string-table.h"
#include "string-util.h"

static const char *const seccomp_action_table[_SECCOMP_ACTION_MAX] = {
        [SECCOMP_ACTION_ALLOW] = "SCMP_ACT_ALLOW",
        [SECCOMP_ACTION_ERRNO] = "SCMP_ACT_ERRNO",
        [SECCOMP_ACTION_KILL] = "SCMP_ACT_KILL",
        [SECCOMP_ACTION_KILL_THREAD] = "SCMP_ACT_KILL_THREAD",
        [SECCOMP_ACTION_KILL_PROCESS] = "SCMP_ACT_KILL_PROCESS",
        [SECCOMP_ACTION_TRAP] = "SCMP_ACT_TRAP",
        [SECCOMP_ACTION_LOG] = "SCMP_ACT_LOG",
};

static const char *const seccomp_op_table[_SECCOMP_OP_MAX] = {
        [SECCOMP_OP_NE] = "SCMP_CMP_NE",
        [SECCOMP_OP_LT] = "SCMP_CMP_LT",
        [SECCOMP_OP_LE] = "SCMP_CMP_LE",
        [SECCOMP_OP_EQ] = "SCMP_CMP_EQ",
        [SECCOMP_OP_GE] = "SCMP_CMP_GE",
        [SECCOMP_OP_GT] = "SCMP_CMP_GT",
        [SECCOMP_OP_MASKED_EQ] = "SCMP_CMP_MASKED_EQ",
};

static const char *const seccomp_flag_table[_SECCOMP_FLAG_MAX] = {
        [SECCOMP_FLAG_TSYNC] = "SECCOMP_FILTER_FLAG_TSYNC",
        [SECCOMP_FLAG_LOG] = "SECCOMP_FILTER_FLAG_LOG",
        [SECCOMP_FLAG_SPEC_ALLOW] = "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
};

DEFINE_STRING_TABLE(seccomp_action, SeccompAction, _SECCOMP_ACTION_MAX, _SECCOMP_ACTION_INVALID)
DEFINE_STRING_TABLE(seccomp_op, SeccompOp, _SECCOMP_OP_MAX, _SECCOMP_OP_INVALID)
DEFINE_STRING_TABLE(seccomp_flag, SeccompFlag, _SECCOMP_FLAG_MAX, _SECCOMP_FLAG_INVALID)

uint32_t seccomp_flag_to_kernel(SeccompFlag f)
{
        switch (f) {
        case SECCOMP_FLAG_TSYNC:
                return SECCOMP_FILTER_FLAG_TSYNC;
        case SECCOMP_FLAG_LOG:
                return SECCOMP_FILTER_FLAG_LOG;
        case SECCOMP_FLAG_SPEC_ALLOW:
                return SECCOMP_FILTER_FLAG_SPEC_ALLOW;
        default:
                return 0;
        }
}

SeccompPolicy *seccomp_policy_free(SeccompPolicy *p)
{
        if (!p)
                return NULL;
        for (size_t i = 0; i < p->n_rules; i++) {
                strv_free(p->rules[i].names);
                free(p->rules[i].args);
        }
        free(p->rules);
        strv_free(p->architectures);
        free(p);
        return NULL;
}

DEFINE_TRIVIAL_CLEANUP_FUNC(json_object *, json_object_put);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct json_tokener *, json_tokener_free);

/* The parse state: where we are ("syscalls[3].args[0]") for messages. */
typedef struct Parser {
        const char *label;
        char **error;
} Parser;

static int parser_error(Parser *p, int r, const char *where, const char *fmt, ...) _printf_(4, 5);
static int parser_error(Parser *p, int r, const char *where, const char *fmt, ...)
{
        _cleanup_free_ char *msg = NULL;
        va_list ap;
        int k;

        if (!p->error)
                return r;
        va_start(ap, fmt);
        k = vasprintf(&msg, fmt, ap);
        va_end(ap);
        if (k < 0)
                return r;
        if (where && *where)
                k = asprintf(p->error, "policy %s: %s: %s", p->label, where, msg);
        else
                k = asprintf(p->error, "policy %s: %s", p->label, msg);
        if (k < 0)
                *p->error = NULL;
        return r;
}

/* "syscalls[3]" + ".action" */
static int path_join(char *buf, size_t n, const char *parent, const char *fmt, ...) _printf_(4, 5);
static int path_join(char *buf, size_t n, const char *parent, const char *fmt, ...)
{
        va_list ap;
        size_t len = strlen(parent);
        int k;

        if (len >= n)
                return -ENOBUFS;
        memmove(buf, parent, len);
        va_start(ap, fmt);
        k = vsnprintf(buf + len, n - len, fmt, ap);
        va_end(ap);
        return k < 0 || (size_t)k >= n - len ? -ENOBUFS : 0;
}

#define PATH_MAX_LEN 96

static const char *json_type_name(json_object *o)
{
        switch (json_object_get_type(o)) {
        case json_type_null:
                return "null";
        case json_type_boolean:
                return "a boolean";
        case json_type_double:
                return "a fractional number";
        case json_type_int:
                return "an integer";
        case json_type_object:
                return "an object";
        case json_type_array:
                return "an array";
        case json_type_string:
                return "a string";
        default:
                return "an unknown type";
        }
}

static int get_string(Parser *p, json_object *o, const char *where, const char **ret)
{
        const char *s;

        if (!json_object_is_type(o, json_type_string))
                return parser_error(p, -EINVAL, where, "expected a string, got %s", json_type_name(o));
        s = json_object_get_string(o);
        if ((size_t)json_object_get_string_len(o) != strlen(s))
                return parser_error(p, -EINVAL, where, "string contains a NUL character");
        *ret = s;
        return 0;
}

/* An unsigned integer up to max. Numbers above UINT64_MAX were refused before parsing (json-c would clamp).
 */
static int get_uint(Parser *p, json_object *o, const char *where, uint64_t max, uint64_t *ret)
{
        uint64_t v;

        if (!json_object_is_type(o, json_type_int))
                return parser_error(p, -EINVAL, where, "expected an unsigned integer, got %s",
                                    json_type_name(o));
        if (json_object_get_int64(o) < 0)
                return parser_error(p, -EINVAL, where,
                                    "expected an unsigned integer, got a negative number");
        v = json_object_get_uint64(o);
        if (v > max)
                return parser_error(p, -EINVAL, where, "%llu is out of range (at most %llu)",
                                    (unsigned long long)v, (unsigned long long)max);
        *ret = v;
        return 0;
}

/* Keys we know but refuse, with the reason. */
static int refuse_key(Parser *p, const char *where, const char *key)
{
        static const char *const docker_only[] = {"archMap", "includes", "excludes", "minKernel"};

        if (streq(key, "listenerPath") || streq(key, "listenerMetadata"))
                return parser_error(p, -EINVAL, where,
                                    "\"%s\" is not supported: descartes does not run a seccomp notify agent",
                                    key);
        for (size_t i = 0; i < ELEMENTSOF(docker_only); i++)
                if (streq(key, docker_only[i]))
                        return parser_error(p, -EINVAL, where,
                                            "\"%s\" is a Docker extension, not OCI: resolve it into plain "
                                            "rules first",
                                            key);
        return parser_error(p, -EINVAL, where, "unknown key \"%.64s\"", key);
}

static bool syscall_name_is_valid(const char *s)
{
        size_t n = strlen(s);

        if (n == 0 || n > SECCOMP_SYSCALL_NAME_MAX)
                return false;
        for (; *s; s++)
                if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
                        return false;
        return true;
}

static int parse_action(Parser *p, json_object *o, const char *where, SeccompAction *ret)
{
        const char *s;
        SeccompAction a;
        int r;

        r = get_string(p, o, where, &s);
        if (r < 0)
                return r;
        a = seccomp_action_from_string(s);
        if (a >= 0) {
                *ret = a;
                return 0;
        }
        if (streq(s, "SCMP_ACT_NOTIFY"))
                return parser_error(
                        p, -EINVAL, where,
                        "SCMP_ACT_NOTIFY is not supported: descartes does not run a seccomp notify "
                        "agent");
        if (streq(s, "SCMP_ACT_TRACE"))
                return parser_error(p, -EINVAL, where,
                                    "SCMP_ACT_TRACE is not supported: agents run without a tracer (use "
                                    "SCMP_ACT_ERRNO)");
        if (strlen(s) > 64)
                return parser_error(p, -EINVAL, where, "unknown action");
        return parser_error(p, -EINVAL, where, "unknown action \"%s\"", s);
}

static int parse_errno(Parser *p, json_object *o, const char *where, uint32_t *ret)
{
        uint64_t v;
        int r;

        r = get_uint(p, o, where, SECCOMP_ERRNO_MAX, &v);
        if (r < 0)
                return r;
        if (v == 0)
                return parser_error(p, -EINVAL, where,
                                    "0 would make the syscall fake success without running; use an errno "
                                    "1..%d",
                                    SECCOMP_ERRNO_MAX);
        *ret = (uint32_t)v;
        return 0;
}

static int parse_arg(Parser *p, json_object *o, const char *where, SeccompArg *ret)
{
        char w[PATH_MAX_LEN];
        bool have_index = false, have_value = false, have_op = false;
        SeccompArg a = {};
        int r;

        if (!json_object_is_type(o, json_type_object))
                return parser_error(p, -EINVAL, where, "expected an object, got %s", json_type_name(o));

        json_object_object_foreach(o, key, val)
        {
                r = path_join(w, sizeof w, where, ".%s", key);
                if (r < 0)
                        return parser_error(p, -EINVAL, where, "a key is too long");
                if (streq(key, "index")) {
                        uint64_t v;
                        r = get_uint(p, val, w, SECCOMP_ARG_INDEX_MAX, &v);
                        if (r < 0)
                                return r;
                        a.index = (unsigned)v;
                        have_index = true;
                } else if (streq(key, "value")) {
                        r = get_uint(p, val, w, UINT64_MAX, &a.value);
                        if (r < 0)
                                return r;
                        have_value = true;
                } else if (streq(key, "valueTwo")) {
                        r = get_uint(p, val, w, UINT64_MAX, &a.value_two);
                        if (r < 0)
                                return r;
                } else if (streq(key, "op")) {
                        const char *s;
                        r = get_string(p, val, w, &s);
                        if (r < 0)
                                return r;
                        a.op = seccomp_op_from_string(s);
                        if (a.op < 0)
                                return strlen(s) > 64
                                               ? parser_error(p, -EINVAL, w, "unknown operator")
                                               : parser_error(p, -EINVAL, w, "unknown operator \"%s\"", s);
                        have_op = true;
                } else
                        return refuse_key(p, where, key);
        }

        if (!have_index)
                return parser_error(p, -EINVAL, where, "\"index\" is missing");
        if (!have_value)
                return parser_error(p, -EINVAL, where, "\"value\" is missing");
        if (!have_op)
                return parser_error(p, -EINVAL, where, "\"op\" is missing");
        *ret = a;
        return 0;
}

static int parse_names(Parser *p, json_object *o, const char *where, char ***ret)
{
        _cleanup_strv_free_ char **names = NULL;
        char w[PATH_MAX_LEN];
        size_t n;
        int r;

        if (!json_object_is_type(o, json_type_array))
                return parser_error(p, -EINVAL, where, "expected an array, got %s", json_type_name(o));
        n = json_object_array_length(o);
        if (n == 0)
                return parser_error(p, -EINVAL, where, "the list is empty");

        names = calloc(n + 1, sizeof(char *));
        if (!names)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                const char *s;

                r = path_join(w, sizeof w, where, "[%zu]", i);
                if (r < 0)
                        return parser_error(p, -EINVAL, where, "path too long");
                r = get_string(p, json_object_array_get_idx(o, i), w, &s);
                if (r < 0)
                        return r;
                if (!syscall_name_is_valid(s))
                        return strlen(s) > SECCOMP_SYSCALL_NAME_MAX
                                       ? parser_error(p, -EINVAL, w, "syscall name too long")
                                       : parser_error(p, -EINVAL, w, "invalid syscall name \"%s\"", s);
                names[i] = strdup(s);
                if (!names[i])
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(names);
        return 0;
}

static int parse_rule(Parser *p, json_object *o, size_t index, SeccompRule *ret)
{
        char where[PATH_MAX_LEN], w[PATH_MAX_LEN];
        _cleanup_strv_free_ char **names = NULL;
        _cleanup_free_ SeccompArg *args = NULL;
        json_object *errno_obj = NULL;
        bool have_action = false;
        SeccompRule rule = {.source_index = index, .errno_ret = EPERM};
        int r;

        (void)snprintf(where, sizeof where, "syscalls[%zu]", index);
        if (!json_object_is_type(o, json_type_object))
                return parser_error(p, -EINVAL, where, "expected an object, got %s", json_type_name(o));

        json_object_object_foreach(o, key, val)
        {
                r = path_join(w, sizeof w, where, ".%s", key);
                if (r < 0)
                        return parser_error(p, -EINVAL, where, "a key is too long");
                if (streq(key, "names")) {
                        r = parse_names(p, val, w, &names);
                        if (r < 0)
                                return r;
                } else if (streq(key, "action")) {
                        r = parse_action(p, val, w, &rule.action);
                        if (r < 0)
                                return r;
                        have_action = true;
                } else if (streq(key, "errnoRet")) {
                        r = parse_errno(p, val, w, &rule.errno_ret);
                        if (r < 0)
                                return r;
                        errno_obj = val;
                } else if (streq(key, "args")) {
                        size_t n;

                        if (!json_object_is_type(val, json_type_array))
                                return parser_error(p, -EINVAL, w, "expected an array, got %s",
                                                    json_type_name(val));
                        n = json_object_array_length(val);
                        if (n > SECCOMP_RULE_ARGS_MAX)
                                return parser_error(p, -EINVAL, w, "%zu comparisons, at most %d", n,
                                                    SECCOMP_RULE_ARGS_MAX);
                        free(args);
                        args = n > 0 ? calloc(n, sizeof(SeccompArg)) : NULL;
                        if (n > 0 && !args)
                                return -ENOMEM;
                        for (size_t i = 0; i < n; i++) {
                                char wa[PATH_MAX_LEN];

                                r = path_join(wa, sizeof wa, w, "[%zu]", i);
                                if (r < 0)
                                        return parser_error(p, -EINVAL, w, "path too long");
                                r = parse_arg(p, json_object_array_get_idx(val, i), wa, &args[i]);
                                if (r < 0)
                                        return r;
                        }
                        rule.n_args = n;
                } else if (streq(key, "comment")) {
                        const char *s;
                        r = get_string(p, val, w, &s);
                        if (r < 0)
                                return r;
                } else
                        return refuse_key(p, where, key);
        }

        if (!names)
                return parser_error(p, -EINVAL, where, "\"names\" is missing");
        if (!have_action)
                return parser_error(p, -EINVAL, where, "\"action\" is missing");
        if (errno_obj && rule.action != SECCOMP_ACTION_ERRNO)
                return parser_error(p, -EINVAL, where,
                                    "\"errnoRet\" needs the action SCMP_ACT_ERRNO, not %s",
                                    seccomp_action_to_string(rule.action));

        rule.names = TAKE_PTR(names);
        rule.args = TAKE_PTR(args);
        *ret = rule;
        return 0;
}

static int parse_architectures(Parser *p, json_object *o, const char *where, char ***ret)
{
        _cleanup_strv_free_ char **arches = NULL;
        char w[PATH_MAX_LEN];
        size_t n;
        int r;

        if (!json_object_is_type(o, json_type_array))
                return parser_error(p, -EINVAL, where, "expected an array, got %s", json_type_name(o));
        n = json_object_array_length(o);
        arches = calloc(n + 1, sizeof(char *));
        if (!arches)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                const char *s, *rest;
                size_t len;

                r = path_join(w, sizeof w, where, "[%zu]", i);
                if (r < 0)
                        return parser_error(p, -EINVAL, where, "path too long");
                r = get_string(p, json_object_array_get_idx(o, i), w, &s);
                if (r < 0)
                        return r;
                rest = startswith(s, "SCMP_ARCH_");
                len = rest ? strlen(rest) : 0;
                if (!rest || len == 0 || len > SECCOMP_ARCH_NAME_MAX ||
                    strspn(rest, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") != len)
                        return strlen(s) > SECCOMP_ARCH_NAME_MAX
                                       ? parser_error(p, -EINVAL, w, "invalid architecture")
                                       : parser_error(
                                                 p, -EINVAL, w,
                                                 "invalid architecture \"%s\" (expected SCMP_ARCH_NAME)", s);
                arches[i] = strdup(rest);
                if (!arches[i])
                        return -ENOMEM;
                for (char *c = arches[i]; *c; c++)
                        if (*c >= 'A' && *c <= 'Z')
                                *c = (char)(*c - 'A' + 'a');
        }
        *ret = TAKE_PTR(arches);
        return 0;
}

static int parse_flags(Parser *p, json_object *o, const char *where, uint32_t *ret)
{
        char w[PATH_MAX_LEN];
        uint32_t flags = 0;
        size_t n;
        int r;

        if (!json_object_is_type(o, json_type_array))
                return parser_error(p, -EINVAL, where, "expected an array, got %s", json_type_name(o));
        n = json_object_array_length(o);
        for (size_t i = 0; i < n; i++) {
                const char *s;
                SeccompFlag f;

                r = path_join(w, sizeof w, where, "[%zu]", i);
                if (r < 0)
                        return parser_error(p, -EINVAL, where, "path too long");
                r = get_string(p, json_object_array_get_idx(o, i), w, &s);
                if (r < 0)
                        return r;
                f = seccomp_flag_from_string(s);
                if (f < 0) {
                        if (streq(s, "SECCOMP_FILTER_FLAG_NEW_LISTENER") ||
                            streq(s, "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"))
                                return parser_error(p, -EINVAL, w,
                                                    "%s is not supported: descartes does not run a seccomp "
                                                    "notify agent",
                                                    s);
                        return strlen(s) > 64 ? parser_error(p, -EINVAL, w, "unknown flag")
                                              : parser_error(p, -EINVAL, w, "unknown flag \"%s\"", s);
                }
                flags |= seccomp_flag_to_kernel(f);
        }
        *ret = flags;
        return 0;
}

/* json-c clamps integers beyond UINT64_MAX to UINT64_MAX without telling: find them in the raw text first.
 * Outside strings, a run of digits is an integer (or part of a fractional number, which the typed getters
 * refuse anyway). */
static int check_integer_range(Parser *p, const char *text, size_t size)
{
        static const char max[] = "18446744073709551615";
        size_t line = 1;

        for (size_t i = 0; i < size; i++) {
                size_t start, len;

                if (text[i] == '\n')
                        line++;
                if (text[i] == '"') {
                        for (i++; i < size && text[i] != '"'; i++)
                                if (text[i] == '\\')
                                        i++;
                        continue;
                }
                if (text[i] < '0' || text[i] > '9')
                        continue;
                start = i;
                while (i + 1 < size && text[i + 1] >= '0' && text[i + 1] <= '9')
                        i++;
                len = i - start + 1;
                while (len > 1 && text[start] == '0') {
                        start++;
                        len--;
                }
                if (len > sizeof max - 1 || (len == sizeof max - 1 && memcmp(text + start, max, len) > 0))
                        return parser_error(p, -EINVAL, NULL, "line %zu: integer out of range (above %s)",
                                            line, max);
        }
        return 0;
}

static int parse_tree(Parser *p, const char *text, size_t size, json_object **ret)
{
        _cleanup_(json_tokener_freep) struct json_tokener *tok = NULL;
        _cleanup_(json_object_putp) json_object *root = NULL;
        enum json_tokener_error e;
        size_t end;

        tok = json_tokener_new_ex(SECCOMP_POLICY_DEPTH_MAX);
        if (!tok)
                return -ENOMEM;
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
        root = json_tokener_parse_ex(tok, text, (int)size);
        e = json_tokener_get_error(tok);
        if (e == json_tokener_error_depth)
                return parser_error(p, -E2BIG, NULL, "nested deeper than %d levels",
                                    SECCOMP_POLICY_DEPTH_MAX);
        if (e == json_tokener_continue || (e == json_tokener_success && !root))
                return parser_error(p, -EINVAL, NULL, "unexpected end of the file");
        if (e != json_tokener_success) {
                size_t line = 1;

                end = json_tokener_get_parse_end(tok);
                for (size_t i = 0; i < end && i < size; i++)
                        if (text[i] == '\n')
                                line++;
                return parser_error(p, -EINVAL, NULL, "line %zu: invalid JSON: %s", line,
                                    json_tokener_error_desc(e));
        }
        end = json_tokener_get_parse_end(tok);
        for (size_t i = end; i < size; i++)
                if (!strchr(" \t\r\n", text[i]))
                        return parser_error(p, -EINVAL, NULL, "trailing data after the JSON object");

        *ret = TAKE_PTR(root);
        return 0;
}

int seccomp_policy_parse(const char *label, const char *text, size_t size, SeccompPolicy **ret,
                         char **ret_error)
{
        _cleanup_(seccomp_policy_freep) SeccompPolicy *policy = NULL;
        _cleanup_(json_object_putp) json_object *root = NULL;
        Parser p = {.label = label ?: "(unnamed)", .error = ret_error};
        json_object *default_errno = NULL;
        bool have_default = false;
        int r;

        if (size > SECCOMP_POLICY_SIZE_MAX)
                return parser_error(&p, -EFBIG, NULL, "%zu bytes, larger than the limit of %d", size,
                                    SECCOMP_POLICY_SIZE_MAX);
        if (memchr(text, 0, size))
                return parser_error(&p, -EINVAL, NULL, "contains a NUL byte: not a JSON text");
        r = check_integer_range(&p, text, size);
        if (r < 0)
                return r;
        r = parse_tree(&p, text, size, &root);
        if (r < 0)
                return r;
        if (!json_object_is_type(root, json_type_object))
                return parser_error(&p, -EINVAL, NULL, "expected an object at the top, got %s",
                                    json_type_name(root));

        policy = calloc(1, sizeof(SeccompPolicy));
        if (!policy)
                return -ENOMEM;
        policy->default_errno_ret = EPERM;

        json_object_object_foreach(root, key, val)
        {
                if (streq(key, "defaultAction")) {
                        r = parse_action(&p, val, key, &policy->default_action);
                        if (r < 0)
                                return r;
                        have_default = true;
                } else if (streq(key, "defaultErrnoRet")) {
                        r = parse_errno(&p, val, key, &policy->default_errno_ret);
                        if (r < 0)
                                return r;
                        default_errno = val;
                } else if (streq(key, "architectures")) {
                        r = parse_architectures(&p, val, key, &policy->architectures);
                        if (r < 0)
                                return r;
                } else if (streq(key, "flags")) {
                        r = parse_flags(&p, val, key, &policy->kernel_flags);
                        if (r < 0)
                                return r;
                } else if (streq(key, "syscalls")) {
                        size_t n;

                        if (!json_object_is_type(val, json_type_array))
                                return parser_error(&p, -EINVAL, key, "expected an array, got %s",
                                                    json_type_name(val));
                        n = json_object_array_length(val);
                        if (n > 0) {
                                policy->rules = calloc(n, sizeof(SeccompRule));
                                if (!policy->rules)
                                        return -ENOMEM;
                        }
                        for (size_t i = 0; i < n; i++) {
                                r = parse_rule(&p, json_object_array_get_idx(val, i), i,
                                               &policy->rules[policy->n_rules]);
                                if (r < 0)
                                        return r;
                                policy->n_rules++;
                        }
                } else if (streq(key, "comment")) {
                        const char *s;
                        r = get_string(&p, val, key, &s);
                        if (r < 0)
                                return r;
                } else
                        return refuse_key(&p, NULL, key);
        }

        if (!have_default)
                return parser_error(&p, -EINVAL, NULL, "\"defaultAction\" is missing");
        if (default_errno && policy->default_action != SECCOMP_ACTION_ERRNO)
                return parser_error(&p, -EINVAL, "defaultErrnoRet",
                                    "needs the defaultAction SCMP_ACT_ERRNO, not %s",
                                    seccomp_action_to_string(policy->default_action));

        *ret = TAKE_PTR(policy);
        return 0;
}

bool seccomp_policy_name_is_valid(const char *name)
{
        size_t n;

        if (!name)
                return false;
        n = strlen(name);
        return n > 0 && n <= SECCOMP_POLICY_NAME_MAX &&
               strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_-") == n;
}

static int read_error(char **ret_error, int r, const char *fmt, ...) _printf_(3, 4);
static int read_error(char **ret_error, int r, const char *fmt, ...)
{
        va_list ap;

        if (!ret_error)
                return r;
        va_start(ap, fmt);
        if (vasprintf(ret_error, fmt, ap) < 0)
                *ret_error = NULL;
        va_end(ap);
        return r;
}

int seccomp_policy_read(const char *policy_dir, const char *spec, char **ret_text, size_t *ret_size,
                        char **ret_label, char **ret_error)
{
        _cleanup_free_ char *path = NULL, *label = NULL, *buf = NULL;
        _cleanup_close_ int fd = -EBADF;
        char *shrunk;
        bool by_name;
        struct stat st;
        ssize_t n;

        if (!spec || !*spec)
                return read_error(ret_error, -EINVAL, "policy: empty name");
        by_name = seccomp_policy_name_is_valid(spec);
        if (by_name) {
                policy_dir = policy_dir ?: DESCARTES_POLICY_DIR;
                if (asprintf(&path, "%s/seccomp/%s.json", policy_dir, spec) < 0 ||
                    asprintf(&label, "%s.json", spec) < 0)
                        return -ENOMEM;
        } else {
                if (spec[0] != '/' || strlen(spec) >= 4096)
                        return read_error(
                                ret_error, -EINVAL,
                                "policy \"%.64s\": neither a name ([a-z0-9_-]+) nor an absolute path", spec);
                path = strdup(spec);
                label = strdup(spec);
                if (!path || !label)
                        return -ENOMEM;
        }

        /* O_NONBLOCK: a FIFO must not hang the daemon before fstat() refuses it. */
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW | O_NONBLOCK);
        if (fd < 0) {
                int r = negative_errno();
                if (r == -ELOOP)
                        return read_error(ret_error, r, "policy %s: is a symlink, refused", label);
                return read_error(ret_error, r, "policy %s: cannot open %s: %s", label, path, strerror(-r));
        }
        if (fstat(fd, &st) < 0)
                return negative_errno();
        if (!S_ISREG(st.st_mode))
                return read_error(ret_error, -EBADFD, "policy %s: not a regular file", label);
        if (!by_name) {
                if (st.st_uid != 0)
                        return read_error(ret_error, -EPERM,
                                          "policy %s: owned by uid %u, must be owned by root", label,
                                          (unsigned)st.st_uid);
                if (st.st_mode & (S_IWGRP | S_IWOTH))
                        return read_error(ret_error, -EPERM,
                                          "policy %s: writable by group or others (mode %04o), refused",
                                          label, (unsigned)(st.st_mode & 07777));
                if (!(st.st_mode & S_IROTH))
                        return read_error(ret_error, -EPERM,
                                          "policy %s: not readable by others (mode %04o): a policy named by "
                                          "path must be public",
                                          label, (unsigned)(st.st_mode & 07777));
        }
        if (st.st_size > SECCOMP_POLICY_SIZE_MAX)
                return read_error(ret_error, -EFBIG, "policy %s: %lld bytes, larger than the limit of %d",
                                  label, (long long)st.st_size, SECCOMP_POLICY_SIZE_MAX);

        /* One byte more than the limit, to see a file that grew since fstat(). */
        buf = malloc(SECCOMP_POLICY_SIZE_MAX + 2);
        if (!buf)
                return -ENOMEM;
        n = loop_read(fd, buf, SECCOMP_POLICY_SIZE_MAX + 1);
        if (n < 0)
                return read_error(ret_error, (int)n, "policy %s: read failed: %s", label, strerror((int)-n));
        if (n > SECCOMP_POLICY_SIZE_MAX)
                return read_error(ret_error, -EFBIG, "policy %s: larger than the limit of %d bytes", label,
                                  SECCOMP_POLICY_SIZE_MAX);
        buf[n] = 0;
        shrunk = realloc(buf, (size_t)n + 1);
        if (shrunk)
                buf = shrunk;

        *ret_text = TAKE_PTR(buf);
        if (ret_size)
                *ret_size = (size_t)n;
        if (ret_label)
                *ret_label = TAKE_PTR(label);
        return 0;
}
