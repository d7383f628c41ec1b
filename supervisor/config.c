/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyzer.h"
#include "config.h"
#include "fd-util.h"
#include "log.h"
#include "output-query.h"
#include "parse-util.h"
#include "string-util.h"
#include "time-util.h"

#define CONFIG_FILE_MAX (1024 * 1024)

void config_init_defaults(Config *c)
{
        *c = (Config){
                .log_level = LOG_INFO,
                .stop_grace_usec = 10 * USEC_PER_SEC,
                .heartbeat_usec = 5 * USEC_PER_SEC,
                .metrics_interval_usec = 15 * USEC_PER_SEC,
                .output_cap_bytes = 64ULL * 1024 * 1024,
                .max_agents = 4096,
                .max_agents_per_user = 1024,
                /* longer than any client's retry window: a resend after it runs the request again */
                .request_ttl_usec = 10 * 60 * USEC_PER_SEC,
                .max_requests_per_user = 256,
                .request_rate = 1000,
                .request_burst = 2000,
                .output_scan_budget = OUTPUT_QUERY_SCAN_BYTES,
                .output_time_budget_usec = OUTPUT_QUERY_USEC,
                .max_connections_per_user = 64,
                .agent_user = strdup("descartes-agent"),
                .admin_group = strdup("descartes-admin"),
                .tmp_size = 256ULL * 1024 * 1024,
                .workspace_size = 1024ULL * 1024 * 1024,
                .agent_uid_min = CONFIG_AGENT_UID_MIN_DEFAULT,
                .agent_uid_max = CONFIG_AGENT_UID_MAX_DEFAULT,
                .mask_keep = strdup(CONFIG_MASK_KEEP_DEFAULT),
        };
}

void config_done(Config *c)
{
        free(c->control);
        free(c->events);
        free(c->state_dir);
        free(c->runtime_dir);
        free(c->cgroup_root);
        free(c->cgroup_driver);
        free(c->agent_user);
        free(c->admin_group);
        free(c->mask_paths);
        free(c->policy_dir);
        free(c->mask_keep);
        tenant_quota_rules_done(&c->quotas);
        backend_table_done(&c->backends);
        free(c->listen);
        free(c->curve_secret_key);
        free(c->curve_clients_dir);
        free(c->metrics_textfile);
        *c = (Config){};
}

static int parse_bool(const char *v, bool *ret)
{
        if (streq(v, "yes") || streq(v, "true") || streq(v, "on") || streq(v, "1"))
                *ret = true;
        else if (streq(v, "no") || streq(v, "false") || streq(v, "off") || streq(v, "0"))
                *ret = false;
        else
                return -EINVAL;
        return 0;
}

static int set_string(char **field, const char *v)
{
        char *d = strdup(v);
        if (!d)
                return -ENOMEM;
        free(*field);
        *field = d;
        /* analyzer false positive: *field owns d; the analyzer loses a pointer stored through a parameter */
        ANALYZER_IGNORE_LEAK_BEGIN
        return 0;
        ANALYZER_IGNORE_END
}

/* "max" or "0" mean unlimited for limits. */
static int parse_limit(const char *v, int (*parse)(const char *, uint64_t *), uint64_t *ret)
{
        if (streq(v, "max") || streq(v, "0") || streq(v, "none")) {
                *ret = 0;
                return 0;
        }
        return parse(v, ret);
}

static int parse_count(const char *v, uint64_t *ret)
{
        char *end;

        if (!isdigit((unsigned char)v[0]))
                return -EINVAL;
        errno = 0;
        unsigned long long n = strtoull(v, &end, 10);
        if (errno || *end || n == 0)
                return errno ? -ERANGE : -EINVAL;
        *ret = n;
        return 0;
}

/* Checks a list of words separated by blanks: at most max words, each one accepted by word_ok(). */
static int config_check_words(const char *v, size_t max, bool (*word_ok)(const char *w, size_t len))
{
        size_t n = 0;

        for (const char *p = v; *p;) {
                size_t len;

                p += strspn(p, " \t");
                if (!*p)
                        break;
                len = strcspn(p, " \t");
                if (!word_ok(p, len) || ++n > max)
                        return -EINVAL;
                p += len;
        }
        return 0;
}

static bool path_word_ok(const char *w, size_t len)
{
        return w[0] == '/' && len < 4096;
}

static int config_check_paths(const char *v)
{
        return config_check_words(v, CONFIG_MASK_PATHS_MAX, path_word_ok);
}

/* listen: tcp://HOST:PORT words (ipc belongs to `control`; tcp always comes with CURVE) */
static bool listen_word_ok(const char *w, size_t len)
{
        return len > strlen("tcp://") && strncmp(w, "tcp://", strlen("tcp://")) == 0 && len < 256;
}

static int config_check_listen(const char *v)
{
        return config_check_words(v, CONFIG_LISTEN_MAX, listen_word_ok);
}

static int config_split_words(const char *v, int (*check)(const char *), char ***ret)
{
        _cleanup_strv_free_ char **l = calloc(1, sizeof(char *));

        if (!l)
                return -ENOMEM;
        if (v && check(v) < 0)
                return -EINVAL;
        for (const char *p = v; p && *p;) {
                _cleanup_free_ char *w = NULL;
                size_t len;

                p += strspn(p, " \t");
                if (!*p)
                        break;
                len = strcspn(p, " \t");
                w = strndup(p, len);
                if (!w || strv_extend(&l, w) < 0)
                        return -ENOMEM;
                p += len;
        }
        *ret = TAKE_PTR(l);
        return 0;
}

/* Ids a range of agents' uids must not hold: root, the kernel's overflow id (nobody) and its 16-bit -1,
 * systemd's DynamicUser= range, and (uid_t)-1. */
static bool uid_range_is_allowed(uint32_t lo, uint32_t hi)
{
        static const struct {
                uint32_t lo, hi;
        } reserved[] = {
                {0, 0},
                {61184, 65519}, /* systemd DynamicUser= */
                {65534, 65535}, /* nobody, 16-bit -1 */
                {UINT32_MAX, UINT32_MAX},
        };

        if (lo > hi)
                return false;
        for (size_t i = 0; i < ELEMENTSOF(reserved); i++)
                if (lo <= reserved[i].hi && reserved[i].lo <= hi)
                        return false;
        return true;
}

int config_parse_uid_range(const char *v, uint32_t *ret_min, uint32_t *ret_max)
{
        unsigned long long lo, hi;
        char *end;

        if (streq(v, "none") || streq(v, "")) {
                *ret_min = *ret_max = 0;
                return 0;
        }
        if (!isdigit((unsigned char)v[0]))
                return -EINVAL;
        errno = 0;
        lo = strtoull(v, &end, 10);
        if (errno || *end != '-' || !isdigit((unsigned char)end[1]))
                return -EINVAL;
        hi = strtoull(end + 1, &end, 10);
        if (errno || *end || lo > UINT32_MAX || hi > UINT32_MAX ||
            !uid_range_is_allowed((uint32_t)lo, (uint32_t)hi))
                return -EINVAL;
        *ret_min = (uint32_t)lo;
        *ret_max = (uint32_t)hi;
        return 0;
}

/* The sandbox's keys, apart from the table: 1 when key is not one of them. */
static int config_set_sandbox(Config *c, const char *key, const char *v, const char **ret_expect)
{
        int r;

        if (streq(key, "agent_uids")) {
                *ret_expect = "a range of uids like 65536-99999 (not 0, 61184-65519, 65534, 65535 or "
                              "4294967295), or none";
                return config_parse_uid_range(v, &c->agent_uid_min, &c->agent_uid_max);
        }
        if (streq(key, "log_level")) {
                *ret_expect = "a level: emerg, alert, crit, err, warning, notice, info or debug";
                r = log_level_from_string(v);
                if (r < 0)
                        return r;
                c->log_level = r;
                return 0;
        }
        if (streq(key, "mask_keep")) {
                *ret_expect = "a space-separated list of absolute paths";
                r = config_check_paths(v);
                return r < 0 ? r : set_string(&c->mask_keep, v);
        }
        return 1;
}

int config_split_paths(const char *v, char ***ret)
{
        return config_split_words(v, config_check_paths, ret);
}

int config_split_listen(const char *v, char ***ret)
{
        return config_split_words(v, config_check_listen, ret);
}

static int config_set(Config *c, const char *key, const char *v, const char **ret_expect)
{
        struct {
                const char *key;
                int kind; /* 0 string, 1 bool, 2 duration, 3 size limit, 4 count, 5 cpu limit, 6 count limit,
                             7 size, 8 path list, 9 absolute path, 10 tcp endpoint list */
                void *field;
        } table[] = {
                {"control", 0, &c->control},
                {"events", 0, &c->events},
                {"state_dir", 0, &c->state_dir},
                {"runtime_dir", 0, &c->runtime_dir},
                {"cgroup_root", 0, &c->cgroup_root},
                {"cgroup_driver", 0, &c->cgroup_driver},
                {"agent_user", 0, &c->agent_user},
                {"admin_group", 0, &c->admin_group},
                {"allow_root", 1, &c->allow_root},
                {"stop_agents_on_exit", 1, &c->stop_agents_on_exit},
                {"stop_grace", 2, &c->stop_grace_usec},
                {"heartbeat_interval", 2, &c->heartbeat_usec},
                {"request_ttl", 2, &c->request_ttl_usec},
                {"retention", 2, &c->retention_usec},
                {"output_cap", 7, &c->output_cap_bytes},
                {"output_scan_budget", 7, &c->output_scan_budget},
                {"output_time_budget", 2, &c->output_time_budget_usec},
                {"max_agents", 4, &c->max_agents},
                {"max_agents_per_user", 4, &c->max_agents_per_user},
                {"max_requests_per_user", 4, &c->max_requests_per_user},
                {"request_rate", 6, &c->request_rate},
                {"request_burst", 4, &c->request_burst},
                {"max_connections", 6, &c->max_connections},
                {"max_connections_per_user", 6, &c->max_connections_per_user},
                {"default_cpu", 5, &c->default_cpu_milli},
                {"max_cpu", 5, &c->max_cpu_milli},
                {"default_memory", 3, &c->default_memory},
                {"max_memory", 3, &c->max_memory},
                {"default_pids", 6, &c->default_pids},
                {"max_pids", 6, &c->max_pids},
                {"tmp_size", 7, &c->tmp_size},
                {"workspace_size", 3, &c->workspace_size},
                {"mask_paths", 8, &c->mask_paths},
                {"policy_dir", 9, &c->policy_dir},
                {"listen", 10, &c->listen},
                {"curve_secret_key", 9, &c->curve_secret_key},
                {"curve_clients_dir", 9, &c->curve_clients_dir},
                {"metrics_textfile", 9, &c->metrics_textfile},
                {"metrics_interval", 2, &c->metrics_interval_usec},
        };
        static const char *const expect[] = {
                "a string",
                "yes or no",
                "a duration like 10s or 500ms",
                "a size like 512M or max",
                "a positive integer",
                "a CPU amount like 0.5, 2 or 150%, or max",
                "a positive integer or max",
                "a size like 64M",
                "a space-separated list of absolute paths",
                "an absolute path",
                "a space-separated list of tcp://HOST:PORT endpoints",
        };

        /* tenant quotas and backends: keys with a name in them */
        if (tenant_quota_key(key))
                return tenant_quota_rules_set(&c->quotas, key, v, ret_expect);
        if (backend_key(key))
                return backend_table_set(&c->backends, key, v, ret_expect);

        int k = config_set_sandbox(c, key, v, ret_expect);

        if (k <= 0)
                return k;
        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                int r;

                if (!streq(table[i].key, key))
                        continue;
                *ret_expect = expect[table[i].kind];
                switch (table[i].kind) {
                case 0:
                        return set_string(table[i].field, v);
                case 1:
                        return parse_bool(v, table[i].field);
                case 2:
                        return parse_duration(v, table[i].field);
                case 3:
                        return parse_limit(v, parse_size, table[i].field);
                case 4:
                        return parse_count(v, table[i].field);
                case 5:
                        return parse_limit(v, parse_cpu, table[i].field);
                case 6:
                        return parse_limit(v, parse_count, table[i].field);
                case 7:
                        r = parse_size(v, table[i].field);
                        return r < 0 ? r : *(uint64_t *)table[i].field == 0 ? -EINVAL : 0;
                case 8:
                        r = config_check_paths(v);
                        return r < 0 ? r : set_string(table[i].field, v);
                case 9:
                        return v[0] == '/' ? set_string(table[i].field, v) : -EINVAL;
                case 10:
                        r = config_check_listen(v);
                        return r < 0 ? r : set_string(table[i].field, v);
                default:
                        return -EINVAL;
                }
        }
        *ret_expect = NULL;
        return -ENOENT;
}

static char *strip(char *s)
{
        while (isspace((unsigned char)*s))
                s++;
        size_t n = strlen(s);
        while (n > 0 && isspace((unsigned char)s[n - 1]))
                s[--n] = 0;
        return s;
}

/* The configuration is no request: its failures carry no code a caller would read. */
#define CONFIG_FAIL(error, ...) failure_set(ret_failure, (error), PROTO_ERROR_INTERNAL, __VA_ARGS__)

int config_parse(Config *c, const char *text, Failure *ret_failure)
{
        _cleanup_free_ char *copy = strdup(text);
        unsigned line = 0;

        if (!copy)
                return -ENOMEM;
        /* strtok_r would merge empty lines and break the line count */
        for (char *p = copy, *nl; p; p = nl) {
                const char *expect;
                char *l, *eq, *key, *val;
                int r;

                nl = strchr(p, '\n');
                if (nl)
                        *nl++ = 0;
                line++;
                l = strip(p);
                if (*l == 0 || *l == '#' || *l == ';')
                        continue;
                eq = strchr(l, '=');
                if (!eq)
                        return CONFIG_FAIL(-EINVAL, "line %u: expected \"key = value\", got \"%s\"", line,
                                           l);
                *eq = 0;
                key = strip(l);
                val = strip(eq + 1);
                r = config_set(c, key, val, &expect);
                if (r == -ENOMEM)
                        return r;
                if (r == -ENOENT)
                        return CONFIG_FAIL(-EINVAL, "line %u: unknown key \"%s\"", line, key);
                if (r < 0)
                        return CONFIG_FAIL(-EINVAL, "line %u: %s: \"%s\" is not %s", line, key, val, expect);
        }
        const char *name;
        if (backend_table_check(&c->backends, &name) < 0)
                return CONFIG_FAIL(-EINVAL,
                                   "backend.%s.env is set but backend.%s (its command template) is not",
                                   name, name);
        return 0;
}

int config_load_file(Config *c, const char *path, bool optional, Failure *ret_failure)
{
        _cleanup_free_ char *text = NULL;
        int r;

        r = read_file_at(AT_FDCWD, path, CONFIG_FILE_MAX, &text, NULL);
        if (r == -ENOENT && optional)
                return 0;
        if (r < 0)
                return CONFIG_FAIL(r, "cannot read %s: %s", path, strerror(-r));
        r = config_parse(c, text, ret_failure);
        if (r < 0 && failure_is_set(ret_failure)) {
                char what[sizeof ret_failure->msg];

                memcpy(what, ret_failure->msg, sizeof what);
                return CONFIG_FAIL(r, "%s: %s", path, what);
        }
        return r;
}
