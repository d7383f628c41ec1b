/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "ctl.h"
#include "parse-util.h"
#include "string-util.h"
#include "time-util.h"

/* getopt values: the global options, then a verb's options by their index (or their short name). */
enum {
        ARG_VERSION = 0x100,
        ARG_EVENTS,
        ARG_TIMEOUT,
        ARG_SERVER_KEY,
        ARG_CLIENT_KEY,
        ARG_VERB_OPTION = 0x200,
};

#define OPTIONS_MAX 64

static const struct option global_options[] = {
        {"host", required_argument, NULL, 'H'},
        {"events", required_argument, NULL, ARG_EVENTS},
        {"output", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, ARG_VERSION},
        {"server-key", required_argument, NULL, ARG_SERVER_KEY},
        {"key", required_argument, NULL, ARG_CLIENT_KEY},
};

static const struct option timeout_option = {"timeout", required_argument, NULL, ARG_TIMEOUT};

void ctl_print_global_options(FILE *f)
{
        for (size_t i = 0; i <= ELEMENTSOF(global_options); i++) {
                const struct option *o =
                        i < ELEMENTSOF(global_options) ? &global_options[i] : &timeout_option;

                fprintf(f, "--%s\t%d\n", o->name, o->has_arg != no_argument);
                if (o->val < 0x100)
                        fprintf(f, "-%c\t%d\n", o->val, o->has_arg != no_argument);
        }
}

int ctl_fail(CtlParse *p, int r, const char *fmt, ...)
{
        va_list ap;

        if (p && p->errbuf && p->errbuf_size > 0) {
                va_start(ap, fmt);
                (void)vsnprintf(p->errbuf, p->errbuf_size, fmt, ap);
                va_end(ap);
        }
        return r;
}

int ctl_parse_u64(const char *s, uint64_t *ret)
{
        unsigned long long v;
        char *end;

        if (!s || s[0] < '0' || s[0] > '9')
                return -EINVAL;
        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno == ERANGE)
                return -ERANGE;
        if (errno != 0 || *end)
                return -EINVAL;
        *ret = v;
        return 0;
}

const char *ctl_pairs_get(char *const *l, const char *key)
{
        size_t n = strlen(key);

        for (; l && *l; l++)
                if (strncmp(*l, key, n) == 0 && (*l)[n] == '=')
                        return *l + n + 1;
        return NULL;
}

/* Sets KEY=VALUE (s) in l, replacing an earlier value of the same key in place. */
static int pairs_set(char ***l, const char *s, size_t klen)
{
        char *copy;

        for (char **i = *l; i && *i; i++)
                if (strncmp(*i, s, klen) == 0 && (*i)[klen] == '=') {
                        copy = strdup(s);
                        if (!copy)
                                return -ENOMEM;
                        free(*i);
                        *i = copy;
                        return 0;
                }
        return strv_extend(l, s);
}

int ctl_parse_pair(const char *what, const char *s, size_t key_max, size_t value_max, char ***l, CtlParse *p)
{
        const char *eq = strchr(s, '=');
        size_t klen;

        if (!eq || eq == s)
                return ctl_fail(p, -EINVAL, "%s \"%s\" is not of the form KEY=VALUE", what, s);
        klen = (size_t)(eq - s);
        if (klen > key_max || strlen(eq + 1) > value_max)
                return ctl_fail(p, -EINVAL, "%s \"%s\" is too long (key at most %zu bytes, value %zu)", what,
                                s, key_max, value_max);
        if (pairs_set(l, s, klen) < 0)
                return ctl_fail(p, -ENOMEM, "out of memory");
        return 0;
}

int ctl_parse_duration_ms(const char *opt, const char *s, uint64_t *ret, CtlParse *p)
{
        uint64_t usec;

        if (parse_duration(s, &usec) < 0)
                return ctl_fail(p, -EINVAL, "%s: \"%s\" is not a duration (examples: 500ms, 10s, 1h30m)",
                                opt, s);
        *ret = (usec + USEC_PER_MSEC - 1) / USEC_PER_MSEC;
        return 0;
}

int ctl_set_string(char **field, const char *arg, CtlParse *p)
{
        char *s = strdup(arg);

        if (!s)
                return ctl_fail(p, -ENOMEM, "out of memory");
        free(*field);
        *field = s;
        return 0;
}

int ctl_option_label(CtlArgs *a, const char *arg, CtlParse *p)
{
        return ctl_parse_pair("--label", arg, DESCARTES_LABEL_KEY_MAX, DESCARTES_LABEL_VALUE_MAX, &a->labels,
                              p);
}

int ctl_set_agents(CtlArgs *a, char **args, size_t n_args, CtlParse *p)
{
        for (size_t i = 0; i < n_args; i++) {
                if (strlen(args[i]) == 0 || strlen(args[i]) > DESCARTES_AGENT_REF_MAX)
                        return ctl_fail(p, -EINVAL, "\"%s\" is not an agent id, name or id prefix", args[i]);
                if (strv_extend(&a->agents, args[i]) < 0)
                        return ctl_fail(p, -ENOMEM, "out of memory");
                a->n_agents++;
        }
        return 0;
}

int ctl_arguments_none(CtlArgs *a, char **args, size_t n_args, CtlParse *p)
{
        if (n_args > 0)
                return ctl_fail(p, -EINVAL, "%s takes no arguments (got \"%s\")", a->verb->name, args[0]);
        return 0;
}

int ctl_arguments_one_agent(CtlArgs *a, char **args, size_t n_args, CtlParse *p)
{
        if (n_args != 1)
                return ctl_fail(p, -EINVAL, "%s needs exactly one agent (got %zu arguments)", a->verb->name,
                                n_args);
        return ctl_set_agents(a, args, 1, p);
}

int ctl_arguments_agents(CtlArgs *a, char **args, size_t n_args, CtlParse *p)
{
        if (n_args == 0)
                return ctl_fail(p, -EINVAL, "%s needs at least one agent", a->verb->name);
        return ctl_set_agents(a, args, n_args, p);
}

/* Options every verb takes: 1 if handled, 0 if not ours, < 0 on error. */
static int apply_global(int c, const char *arg, CtlArgs *a, CtlParse *p)
{
        uint64_t usec;

        switch (c) {
        case 'H':
                return ctl_set_string(&a->host, arg, p) ?: 1;
        case ARG_EVENTS:
                return ctl_set_string(&a->events, arg, p) ?: 1;
        case ARG_SERVER_KEY:
                return ctl_set_string(&a->server_key, arg, p) ?: 1;
        case ARG_CLIENT_KEY:
                return ctl_set_string(&a->client_key, arg, p) ?: 1;
        case 'o':
                if (streq(arg, "table"))
                        a->format = CTL_FORMAT_TABLE;
                else if (streq(arg, "json"))
                        a->format = CTL_FORMAT_JSON;
                else
                        return ctl_fail(p, -EINVAL, "-o: \"%s\" is not an output format (table or json)",
                                        arg);
                return 1;
        case 'h':
                a->help = true;
                return 1;
        case ARG_VERSION:
                a->version = true;
                return 1;
        case ARG_TIMEOUT:
                if (parse_duration(arg, &usec) < 0 || usec == 0)
                        return ctl_fail(
                                p, -EINVAL,
                                "--timeout: \"%s\" is not a positive duration (examples: 500ms, 10s, 1m)",
                                arg);
                a->timeout_usec = usec;
                return 1;
        default:
                return 0;
        }
}

/* getopt's tables for a verb: the global options, the request's --timeout unless the verb has its own, and
 * the verb's options. */
static void verb_getopt_tables(const CtlVerb *v, struct option *longopts, char *shortopts)
{
        size_t n = 0, k = 0;

        if (v->stop_at_args)
                shortopts[k++] =
                        '+'; /* the first non-option starts the agent's command: its options are not ours */
        k += (size_t)sprintf(shortopts + k, ":H:o:h");
        for (size_t i = 0; i < ELEMENTSOF(global_options); i++)
                longopts[n++] = global_options[i];
        if (!v->own_timeout)
                longopts[n++] = timeout_option;
        for (size_t i = 0; v->options && v->options[i].name && n < OPTIONS_MAX; i++) {
                const CtlOption *o = &v->options[i];

                longopts[n++] = (struct option){o->name, o->has_arg ? required_argument : no_argument, NULL,
                                                o->short_name ?: ARG_VERB_OPTION + (int)i};
                if (o->short_name) {
                        shortopts[k++] = (char)o->short_name;
                        if (o->has_arg)
                                shortopts[k++] = ':';
                }
        }
        longopts[n] = (struct option){};
        shortopts[k] = 0;
}

static const CtlOption *verb_option(const CtlVerb *v, int c)
{
        for (size_t i = 0; v->options && v->options[i].name; i++)
                if ((v->options[i].short_name ?: ARG_VERB_OPTION + (int)i) == c)
                        return &v->options[i];
        return NULL;
}

static int getopt_error(int c, char **argv, const char *what, CtlParse *p)
{
        const char *bad = optind > 0 ? argv[optind - 1] : "?";

        if (c == ':')
                return ctl_fail(p, -EINVAL, "%s: option %s needs a value", what, bad);
        if (optopt > 0 && optopt < 0x100)
                return ctl_fail(p, -EINVAL, "%s: unknown option -%c", what, optopt);
        return ctl_fail(p, -EINVAL, "%s: unknown option %s", what, bad);
}

int ctl_args_parse(int argc, char **argv, char **environ_, CtlArgs *a, char *errbuf, size_t n)
{
        struct option longopts[OPTIONS_MAX + 1];
        char shortopts[2 * OPTIONS_MAX + 16];
        CtlParse p = {.environ_ = environ_, .errbuf = errbuf, .errbuf_size = n};
        const CtlVerb *v;
        char **sub;
        int sub_argc, c, r;

        *a = (CtlArgs){.stream = DESCARTES_STREAM_BOTH, .format = CTL_FORMAT_TABLE};
        if (errbuf && n > 0)
                errbuf[0] = 0;
        opterr = 0;

        memcpy(longopts, global_options, sizeof global_options);
        longopts[ELEMENTSOF(global_options)] = timeout_option;
        longopts[ELEMENTSOF(global_options) + 1] = (struct option){};
        optind = 0;
        while ((c = getopt_long(argc, argv, "+:H:o:h", longopts, NULL)) >= 0) {
                if (c == '?' || c == ':')
                        return getopt_error(c, argv, "descartesctl", &p);
                r = apply_global(c, optarg, a, &p);
                if (r < 0)
                        return r;
        }
        if (optind >= argc) {
                if (a->help || a->version)
                        return 0;
                return ctl_fail(&p, -EINVAL, "no command given (try descartesctl --help)");
        }
        v = ctl_verb_from_string(argv[optind]);
        if (!v)
                return ctl_fail(&p, -EINVAL, "unknown command \"%s\" (try descartesctl --help)",
                                argv[optind]);
        a->verb = v;

        sub = argv + optind;
        sub_argc = argc - optind;
        verb_getopt_tables(v, longopts, shortopts);
        optind = 0;
        while ((c = getopt_long(sub_argc, sub, shortopts, longopts, NULL)) >= 0) {
                const CtlOption *o;

                if (c == '?' || c == ':')
                        return getopt_error(c, sub, v->name, &p);
                r = apply_global(c, optarg, a, &p);
                if (r < 0)
                        return r;
                if (r > 0)
                        continue;
                o = verb_option(v, c);
                if (!o)
                        return ctl_fail(&p, -EINVAL, "%s: unexpected option %s", v->name, sub[optind - 1]);
                r = o->apply(a, optarg, &p);
                if (r < 0)
                        return r;
        }
        if (a->help)
                return 0;
        return v->arguments(a, sub + optind, (size_t)(sub_argc - optind), &p);
}

static void spawn_done(CtlSpawn *s)
{
        s->argv = strv_free(s->argv);
        s->env = strv_free(s->env);
        s->labels = strv_free(s->labels);
        free(s->name);
        free(s->cwd);
        free(s->workspace);
        free(s->policy);
        free(s->user);
        free(s->backend);
        free(s->task);
        free(s->model);
        free(s->system_prompt);
        free(s->health_cmd);
}

void ctl_args_done(CtlArgs *a)
{
        if (!a)
                return;
        free(a->host);
        free(a->events);
        free(a->server_key);
        free(a->client_key);
        free(a->keygen_out);
        a->agents = strv_free(a->agents);
        a->labels = strv_free(a->labels);
        free(a->action_name);
        free(a->action_json);
        a->action_params = strv_free(a->action_params);
        spawn_done(&a->spawn);
        free(a->grep);
        a->exec_argv = strv_free(a->exec_argv);
        free(a->detach_keys);
        a->complete_words = strv_free(a->complete_words);
        *a = (CtlArgs){};
}
