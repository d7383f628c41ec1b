/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyzer.h"
#include "backend.h"
#include "cleanup.h"
#include "log.h"
#include "string-table.h"
#include "string-util.h"

static const char *const backend_placeholder_table[_BACKEND_PLACEHOLDER_MAX] = {
        [BACKEND_TASK] = "task",
        [BACKEND_MODEL] = "model",
        [BACKEND_SYSTEM_PROMPT] = "system_prompt",
};

DEFINE_TO_STRING(backend_placeholder, BackendPlaceholder, _BACKEND_PLACEHOLDER_MAX)

#define BACKEND_PREFIX     "backend."
#define BACKEND_KEY_EXPECT "backend.NAME or backend.NAME.env, NAME of [A-Za-z0-9][A-Za-z0-9_-]* (64 at most)"
#define BACKEND_EXPECT                                                                                      \
        "a command template: words, \"quoted words\", [ optional words ], placeholders {task} {model} "     \
        "{system_prompt}"
#define BACKEND_ENV_EXPECT "space-separated environment variable names (64 at most)"

bool backend_key(const char *key)
{
        return strncmp(key, BACKEND_PREFIX, strlen(BACKEND_PREFIX)) == 0;
}

static bool name_char(char ch, bool first)
{
        return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
               (!first && (ch == '_' || ch == '-'));
}

static bool env_name_valid(const char *s)
{
        if (!*s || (*s >= '0' && *s <= '9'))
                return false;
        for (; *s; s++)
                if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
                      *s == '_'))
                        return false;
        return true;
}

static void backend_done(Backend *b)
{
        free(b->name);
        strv_free(b->words);
        free(b->group);
        free(b->uses);
        strv_free(b->env);
        *b = (Backend){};
}

void backend_table_done(BackendTable *t)
{
        for (size_t i = 0; i < t->n; i++)
                backend_done(&t->backends[i]);
        free(t->backends);
        *t = (BackendTable){};
}

const Backend *backend_table_find(const BackendTable *t, const char *name)
{
        for (size_t i = 0; i < t->n; i++)
                if (streq(t->backends[i].name, name))
                        return &t->backends[i];
        return NULL;
}

void backend_table_log_missing_env(const BackendTable *t)
{
        for (size_t i = 0; i < t->n; i++)
                for (size_t j = 0; j < t->backends[i].n_env; j++)
                        if (!getenv(t->backends[i].env[j]))
                                log_warning("Backend %s passes %s, which this daemon's environment does not "
                                            "have: its spawns fail until it is set in the unit "
                                            "(Environment= or EnvironmentFile=) and the daemon restarted.",
                                            t->backends[i].name, t->backends[i].env[j]);
}

int backend_table_check(const BackendTable *t, const char **ret_name)
{
        for (size_t i = 0; i < t->n; i++)
                if (!t->backends[i].words) {
                        *ret_name = t->backends[i].name;
                        return -EINVAL;
                }
        return 0;
}

/* The length of the placeholder ("{task}", ...) that starts at p, with its kind in *ret; 0 when none does.
 */
static size_t placeholder_at(const char *p, BackendPlaceholder *ret)
{
        if (*p != '{')
                return 0;
        for (BackendPlaceholder k = 0; k < _BACKEND_PLACEHOLDER_MAX; k++) {
                size_t n = strlen(backend_placeholder_table[k]);

                if (strncmp(p + 1, backend_placeholder_table[k], n) == 0 && p[1 + n] == '}') {
                        *ret = k;
                        return n + 2;
                }
        }
        return 0;
}

/* {{ and }}: a literal brace */
static bool is_escaped_brace(const char *p)
{
        return (p[0] == '{' || p[0] == '}') && p[1] == p[0];
}

/* The placeholders in word (1 << BackendPlaceholder each); -EINVAL for an unknown one or a lone brace. */
static int word_uses(const char *w, unsigned *ret)
{
        unsigned uses = 0;

        for (const char *p = w; *p;) {
                BackendPlaceholder k;
                size_t n;

                if (is_escaped_brace(p)) {
                        p += 2;
                        continue;
                }
                n = placeholder_at(p, &k);
                if (n > 0) {
                        uses |= 1u << k;
                        p += n;
                        continue;
                }
                if (*p == '{' || *p == '}')
                        return -EINVAL;
                p++;
        }
        *ret = uses;
        return 0;
}

/* Splits a template into words: blanks separate, "..." keeps them (with \" and \\), a bare [ or ] is a word
 * of its own only when it stands alone. quoted[i] says whether word i had quotes (a quoted "[" is text). */
static int split_words(const char *v, char ***ret, bool **ret_quoted, size_t *ret_n)
{
        _cleanup_strv_free_ char **words = calloc(BACKEND_WORDS_MAX + 1, sizeof(char *));
        _cleanup_free_ bool *quoted = calloc(BACKEND_WORDS_MAX, sizeof(bool));
        _cleanup_free_ char *buf = malloc(strlen(v) + 1);
        size_t n = 0;

        if (!words || !quoted || !buf)
                return -ENOMEM;
        for (const char *p = v;;) {
                size_t len = 0;
                bool q = false, any = false;

                while (*p == ' ' || *p == '\t')
                        p++;
                if (!*p)
                        break;
                while (*p && *p != ' ' && *p != '\t') {
                        any = true;
                        if (*p != '"') {
                                buf[len++] = *p++;
                                continue;
                        }
                        q = true;
                        for (p++; *p != '"'; p++) {
                                if (!*p)
                                        return -EINVAL; /* unterminated quote */
                                if (*p == '\\' && (p[1] == '"' || p[1] == '\\'))
                                        p++;
                                buf[len++] = *p;
                        }
                        p++;
                }
                if (!any)
                        continue;
                if (n >= BACKEND_WORDS_MAX)
                        return -EINVAL;
                words[n] = strndup(buf, len);
                if (!words[n])
                        return -ENOMEM;
                quoted[n++] = q;
        }
        *ret = TAKE_PTR(words);
        *ret_quoted = TAKE_PTR(quoted);
        *ret_n = n;
        return 0;
}

/* Parses a template into b's words, groups and uses. */
static int parse_template(Backend *b, const char *v)
{
        _cleanup_strv_free_ char **raw = NULL;
        _cleanup_free_ bool *quoted = NULL;
        _cleanup_strv_free_ char **words = NULL;
        _cleanup_free_ unsigned *group = NULL, *uses = NULL;
        size_t n_raw = 0, n = 0;
        unsigned groups = 0, open = 0, in_group = 0;
        int r;

        r = split_words(v, &raw, &quoted, &n_raw);
        if (r < 0)
                return r;
        words = calloc(n_raw + 1, sizeof(char *));
        group = calloc(n_raw + 1, sizeof(unsigned));
        uses = calloc(n_raw + 1, sizeof(unsigned));
        if (!words || !group || !uses)
                return -ENOMEM;
        for (size_t i = 0; i < n_raw; i++) {
                if (!quoted[i] && streq(raw[i], "[")) {
                        if (open)
                                return -EINVAL; /* brackets do not nest */
                        open = ++groups;
                        in_group = 0;
                        continue;
                }
                if (!quoted[i] && streq(raw[i], "]")) {
                        if (!open || in_group == 0)
                                return -EINVAL; /* a ] without [, or [ ] */
                        open = 0;
                        continue;
                }
                r = word_uses(raw[i], &uses[n]);
                if (r < 0)
                        return r;
                group[n] = open;
                words[n] = strdup(raw[i]); /* a copy: raw stays whole for strv_free */
                if (!words[n++])
                        return -ENOMEM;
                in_group++;
        }
        if (open || n == 0 || group[0] != 0 || uses[0] != 0)
                return -EINVAL; /* unclosed, empty, or no fixed program to run */
        strv_free(b->words);
        free(b->group);
        free(b->uses);
        b->words = TAKE_PTR(words);
        b->group = TAKE_PTR(group);
        b->uses = TAKE_PTR(uses);
        b->n_words = n;
        return 0;
}

static int parse_env(Backend *b, const char *v)
{
        _cleanup_strv_free_ char **env = calloc(BACKEND_ENV_MAX + 1, sizeof(char *));
        size_t n = 0;

        if (!env)
                return -ENOMEM;
        for (const char *p = v;;) {
                size_t len;

                while (*p == ' ' || *p == '\t')
                        p++;
                if (!*p)
                        break;
                len = strcspn(p, " \t");
                if (n >= BACKEND_ENV_MAX)
                        return -EINVAL;
                env[n] = strndup(p, len);
                if (!env[n])
                        return -ENOMEM;
                if (!env_name_valid(env[n++]))
                        return -EINVAL;
                p += len;
        }
        strv_free(b->env);
        b->env = TAKE_PTR(env);
        b->n_env = n;
        return 0;
}

int backend_table_set(BackendTable *t, const char *key, const char *value, const char **ret_expect)
{
        const char *name = key + strlen(BACKEND_PREFIX), *dot = strchr(name, '.');
        size_t len = dot ? (size_t)(dot - name) : strlen(name);
        Backend *b = NULL;
        int r;

        *ret_expect = BACKEND_KEY_EXPECT;
        if (len == 0 || len > 64 || (dot && !streq(dot, ".env")))
                return -EINVAL;
        for (size_t i = 0; i < len; i++)
                if (!name_char(name[i], i == 0))
                        return -EINVAL;
        for (size_t i = 0; i < t->n && !b; i++)
                if (strlen(t->backends[i].name) == len && strncmp(t->backends[i].name, name, len) == 0)
                        b = &t->backends[i];
        if (!b) {
                Backend *v;

                if (t->n >= BACKENDS_MAX)
                        return -EINVAL;
                v = reallocarray(t->backends, t->n + 1, sizeof *v);
                if (!v)
                        return -ENOMEM;
                t->backends = v;
                b = &t->backends[t->n];
                *b = (Backend){.name = strndup(name, len)};
                if (!b->name)
                        return -ENOMEM;
                t->n++;
        }
        *ret_expect = dot ? BACKEND_ENV_EXPECT : BACKEND_EXPECT;
        r = dot ? parse_env(b, value) : parse_template(b, value);
        return r;
}

/* Writes w with its placeholders replaced by values[] to out (NULL: only counts); returns the length. The
 * word was checked by word_uses() and every placeholder in it has a value. */
static size_t expand_into(const char *w, const char *const values[_BACKEND_PLACEHOLDER_MAX], char *out)
{
        size_t len = 0;

        for (const char *p = w; *p;) {
                BackendPlaceholder k;
                size_t n = placeholder_at(p, &k), m;

                if (n > 0) {
                        m = strlen(values[k]);
                        if (out)
                                memcpy(out + len, values[k], m);
                        len += m;
                        p += n;
                        continue;
                }
                if (out)
                        out[len] = *p;
                len++;
                p += is_escaped_brace(p) ? 2 : 1;
        }
        return len;
}

/* w expanded (malloc'd), NULL when out of memory. */
static char *expand_word(const char *w, const char *const values[_BACKEND_PLACEHOLDER_MAX])
{
        size_t len = expand_into(w, values, NULL);
        char *s = malloc(len + 1);

        if (s) {
                expand_into(w, values, s);
                s[len] = 0;
        }
        return s;
}

int backend_expand(const Backend *b, const char *const values[_BACKEND_PLACEHOLDER_MAX], char ***ret,
                   size_t *ret_n, Failure *f)
{
        _cleanup_strv_free_ char **argv = calloc(b->n_words + 1, sizeof(char *));
        unsigned given = 0, used = 0;
        size_t n = 0;

        if (!argv)
                return -ENOMEM;
        for (BackendPlaceholder k = 0; k < _BACKEND_PLACEHOLDER_MAX; k++)
                if (values[k])
                        given |= 1u << k;
        for (size_t i = 0; i < b->n_words; i++) {
                unsigned missing = b->uses[i] & ~given;

                if (missing && b->group[i] == 0) {
                        BackendPlaceholder k = (BackendPlaceholder)__builtin_ctz(missing);
                        return failure_set(
                                f, -EINVAL, PROTO_ERROR_BAD_REQUEST,
                                "backend %s needs a %s: its template uses {%s} (spawn --backend %s "
                                "--%s ...)",
                                b->name, backend_placeholder_to_string(k), backend_placeholder_to_string(k),
                                b->name,
                                k == BACKEND_SYSTEM_PROMPT ? "system-prompt-file"
                                                           : backend_placeholder_to_string(k));
                }
                used |= b->uses[i];
        }
        if (given & ~used) {
                BackendPlaceholder k = (BackendPlaceholder)__builtin_ctz(given & ~used);
                return failure_set(f, -EINVAL, PROTO_ERROR_BAD_REQUEST,
                                   "backend %s takes no %s: its template has no {%s}", b->name,
                                   backend_placeholder_to_string(k), backend_placeholder_to_string(k));
        }
        for (size_t i = 0; i < b->n_words; i++) {
                bool drop = false;

                /* a bracket group goes as a whole: dropped when any of its words misses a value */
                for (size_t j = 0; b->group[i] && j < b->n_words && !drop; j++)
                        drop = b->group[j] == b->group[i] && (b->uses[j] & ~given);
                if (drop)
                        continue;
                /* freed with argv by strv_free: gcc 12's analyzer loses pointers stored in such an array */
                ANALYZER_IGNORE_LEAK_BEGIN
                argv[n] = expand_word(b->words[i], values);
                if (!argv[n++])
                        return -ENOMEM;
                ANALYZER_IGNORE_END
        }
        *ret = TAKE_PTR(argv);
        *ret_n = n;
        return 0;
}

int backend_apply(const BackendTable *t, ProtoSpawnArgs *args, Failure *f)
{
        const ProtoBackendRef *ref = &args->backend;
        const char *values[_BACKEND_PLACEHOLDER_MAX] = {
                [BACKEND_TASK] = ref->task,
                [BACKEND_MODEL] = ref->model,
                [BACKEND_SYSTEM_PROMPT] = ref->system_prompt,
        };
        const Backend *b = backend_table_find(t, ref->name);
        _cleanup_strv_free_ char **argv = NULL;
        size_t n_argv = 0, n_pairs = args->env.n_pairs, total = 0;
        ProtoStrPair *pairs;
        int r;

        if (!b) {
                char known[256] = "";
                size_t len = 0;

                for (size_t i = 0; i < t->n && len + 1 < sizeof known; i++)
                        len += (size_t)snprintf(known + len, sizeof known - len, "%s%s", i ? ", " : "",
                                                t->backends[i].name);
                return failure_set(f, -ENOENT, PROTO_ERROR_BAD_REQUEST,
                                   "unknown backend \"%s\": the daemon's config defines %s", ref->name,
                                   t->n ? known : "none (add backend.NAME = TEMPLATE to descartesd.conf)");
        }
        for (size_t i = 0; i < b->n_env; i++)
                if (!getenv(b->env[i]))
                        return failure_set(
                                f, -ENOENT, PROTO_ERROR_SPAWN_FAILED,
                                "backend %s passes %s, which the daemon's environment does not have: "
                                "set it in descartesd's unit (Environment= or EnvironmentFile=)",
                                b->name, b->env[i]);
        /* argv's strings are freed with it (strv_free), which gcc 12's analyzer does not follow */
        ANALYZER_IGNORE_LEAK_BEGIN
        r = backend_expand(b, values, &argv, &n_argv, f);
        if (r < 0)
                return r == -ENOMEM ? failure_set(f, r, PROTO_ERROR_INTERNAL, "out of memory") : r;
        ANALYZER_IGNORE_END
        for (size_t i = 0; i < n_argv; i++)
                total += strlen(argv[i]);
        if (total > PROTO_ARGV_BYTES_MAX)
                return failure_set(f, -E2BIG, PROTO_ERROR_BAD_REQUEST,
                                   "backend %s: the command is %zu bytes, more than %d", b->name, total,
                                   PROTO_ARGV_BYTES_MAX);

        /* the variables it passes, unless the request sets them itself */
        pairs = reallocarray(args->env.pairs, n_pairs + b->n_env, sizeof *pairs);
        if (!pairs)
                return failure_set(f, -ENOMEM, PROTO_ERROR_INTERNAL, "out of memory");
        args->env.pairs = pairs;
        for (size_t i = 0; i < b->n_env; i++) {
                if (proto_str_map_get(&args->env, b->env[i]))
                        continue;
                pairs[args->env.n_pairs] =
                        (ProtoStrPair){.key = strdup(b->env[i]), .value = strdup(getenv(b->env[i]))};
                if (!pairs[args->env.n_pairs].key || !pairs[args->env.n_pairs].value) {
                        free(pairs[args->env.n_pairs].key);
                        free(pairs[args->env.n_pairs].value);
                        return failure_set(f, -ENOMEM, PROTO_ERROR_INTERNAL, "out of memory");
                }
                args->env.n_pairs++;
        }
        strv_free(args->argv);
        args->argv = TAKE_PTR(argv);
        args->n_argv = n_argv;
        return 0;
}
