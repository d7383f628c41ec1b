/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "ctl-args.h"
#include "parse-util.h"
#include "string-table.h"
#include "string-util.h"
#include "time-util.h"

static const char *const ctl_command_table[_CTL_COMMAND_MAX] = {
        [CTL_COMMAND_HEALTH] = "health", [CTL_COMMAND_PS] = "ps",
        [CTL_COMMAND_SPAWN] = "spawn",   [CTL_COMMAND_INSPECT] = "inspect",
        [CTL_COMMAND_PAUSE] = "pause",   [CTL_COMMAND_RESUME] = "resume",
        [CTL_COMMAND_STOP] = "stop",     [CTL_COMMAND_KILL] = "kill",
        [CTL_COMMAND_SIGNAL] = "signal", [CTL_COMMAND_STDIN] = "stdin",
        [CTL_COMMAND_LOGS] = "logs",     [CTL_COMMAND_EVENTS] = "events",
        [CTL_COMMAND_RM] = "rm",         [CTL_COMMAND_SHUTDOWN] = "shutdown",
};

DEFINE_STRING_TABLE(ctl_command, CtlCommand, _CTL_COMMAND_MAX, _CTL_COMMAND_INVALID)

enum {
        ARG_VERSION = 0x100,
        ARG_EVENTS,
        ARG_TIMEOUT,
        ARG_NAME,
        ARG_LABEL,
        ARG_ENV,
        ARG_ENV_INHERIT,
        ARG_CWD,
        ARG_WORKSPACE,
        ARG_CPU,
        ARG_MEMORY,
        ARG_SWAP,
        ARG_PIDS,
        ARG_NET,
        ARG_POLICY,
        ARG_USER,
        ARG_WAIT,
        ARG_ATTACH,
        ARG_STATE,
        ARG_GRACE,
        ARG_CLOSE,
        ARG_STREAM,
        ARG_TAIL,
        ARG_RAW,
        ARG_GREP,
        ARG_STOP_AGENTS,
};

#define GLOBAL_OPTIONS                                                                                      \
        {"host", required_argument, NULL, 'H'}, {"events", required_argument, NULL, ARG_EVENTS},            \
                {"output", required_argument, NULL, 'o'}, {"help", no_argument, NULL, 'h'},                 \
        {                                                                                                   \
                "version", no_argument, NULL, ARG_VERSION                                                   \
        }

static const struct option global_options[] = {
        GLOBAL_OPTIONS,
        {"timeout", required_argument, NULL, ARG_TIMEOUT},
        {},
};

static const struct option ps_options[] = {
        GLOBAL_OPTIONS,
        {"timeout", required_argument, NULL, ARG_TIMEOUT},
        {"all", no_argument, NULL, 'a'},
        {"label", required_argument, NULL, ARG_LABEL},
        {"state", required_argument, NULL, ARG_STATE},
        {},
};

/* After `spawn`, --timeout is the agent's maximum runtime: the request timeout goes before the command. */
static const struct option spawn_options[] = {
        GLOBAL_OPTIONS,
        {"name", required_argument, NULL, ARG_NAME},
        {"label", required_argument, NULL, ARG_LABEL},
        {"env", required_argument, NULL, ARG_ENV},
        {"env-inherit", no_argument, NULL, ARG_ENV_INHERIT},
        {"cwd", required_argument, NULL, ARG_CWD},
        {"workspace", required_argument, NULL, ARG_WORKSPACE},
        {"cpu", required_argument, NULL, ARG_CPU},
        {"memory", required_argument, NULL, ARG_MEMORY},
        {"swap", required_argument, NULL, ARG_SWAP},
        {"pids", required_argument, NULL, ARG_PIDS},
        {"timeout", required_argument, NULL, ARG_TIMEOUT},
        {"net", required_argument, NULL, ARG_NET},
        {"policy", required_argument, NULL, ARG_POLICY},
        {"user", required_argument, NULL, ARG_USER},
        {"stdin", no_argument, NULL, 'i'},
        {"wait", no_argument, NULL, ARG_WAIT},
        {"attach", no_argument, NULL, ARG_ATTACH},
        {},
};

static const struct option stop_options[] = {
        GLOBAL_OPTIONS,
        {"timeout", required_argument, NULL, ARG_TIMEOUT},
        {"grace", required_argument, NULL, ARG_GRACE},
        {},
};

static const struct option stdin_options[] = {
        GLOBAL_OPTIONS,
        {"timeout", required_argument, NULL, ARG_TIMEOUT},
        {"close", no_argument, NULL, ARG_CLOSE},
        {},
};

static const struct option logs_options[] = {
        GLOBAL_OPTIONS,
        {"timeout", required_argument, NULL, ARG_TIMEOUT},
        {"stream", required_argument, NULL, ARG_STREAM},
        {"tail", required_argument, NULL, ARG_TAIL},
        {"follow", no_argument, NULL, 'f'},
        {"raw", no_argument, NULL, ARG_RAW},
        {"grep", required_argument, NULL, ARG_GREP},
        {},
};

static const struct option shutdown_options[] = {
        GLOBAL_OPTIONS,
        {"timeout", required_argument, NULL, ARG_TIMEOUT},
        {"stop-agents", no_argument, NULL, ARG_STOP_AGENTS},
        {},
};

static int fail(char *errbuf, size_t n, int r, const char *fmt, ...) _printf_(4, 5);
static int fail(char *errbuf, size_t n, int r, const char *fmt, ...)
{
        va_list ap;

        if (errbuf && n > 0) {
                va_start(ap, fmt);
                (void)vsnprintf(errbuf, n, fmt, ap);
                va_end(ap);
        }
        return r;
}

static int parse_u64(const char *s, uint64_t *ret)
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

/* Sets key to value, replacing an earlier value of the same key. */
static int str_map_set(ProtoStrMap *m, const char *key, const char *value)
{
        for (size_t i = 0; i < m->n_pairs; i++)
                if (streq(m->pairs[i].key, key)) {
                        char *v = strdup(value);
                        if (!v)
                                return -ENOMEM;
                        free(m->pairs[i].value);
                        m->pairs[i].value = v;
                        return 0;
                }
        return proto_str_map_add(m, key, value);
}

static int parse_pair(const char *what, const char *s, size_t key_max, size_t value_max, ProtoStrMap *m,
                      char *errbuf, size_t n)
{
        _cleanup_free_ char *key = NULL;
        const char *eq = strchr(s, '=');
        size_t klen;
        int r;

        if (!eq || eq == s)
                return fail(errbuf, n, -EINVAL, "%s \"%s\" is not of the form KEY=VALUE", what, s);
        klen = (size_t)(eq - s);
        if (klen > key_max || strlen(eq + 1) > value_max)
                return fail(errbuf, n, -EINVAL, "%s \"%s\" is too long (key at most %zu bytes, value %zu)",
                            what, s, key_max, value_max);
        key = strndup(s, klen);
        if (!key)
                return fail(errbuf, n, -ENOMEM, "out of memory");
        r = str_map_set(m, key, eq + 1);
        if (r < 0)
                return fail(errbuf, n, r, "out of memory");
        return 0;
}

static int parse_env_option(const char *s, char **environ_, ProtoStrMap *env, char *errbuf, size_t n)
{
        if (!strchr(s, '=')) {
                /* --env NAME passes the CLI's own value of NAME, explicitly. */
                size_t len = strlen(s);
                for (char **e = environ_; e && *e; e++)
                        if (strncmp(*e, s, len) == 0 && (*e)[len] == '=')
                                return parse_pair("--env", *e, PROTO_ENV_KEY_MAX, PROTO_ENV_BYTES_MAX, env,
                                                  errbuf, n);
                return fail(errbuf, n, -EINVAL, "--env %s: %s is not set in this environment (use %s=VALUE)",
                            s, s, s);
        }
        return parse_pair("--env", s, PROTO_ENV_KEY_MAX, PROTO_ENV_BYTES_MAX, env, errbuf, n);
}

static int parse_duration_ms(const char *opt, const char *s, uint64_t *ret, char *errbuf, size_t n)
{
        uint64_t usec;

        if (parse_duration(s, &usec) < 0)
                return fail(errbuf, n, -EINVAL, "%s: \"%s\" is not a duration (examples: 500ms, 10s, 1h30m)",
                            opt, s);
        *ret = (usec + USEC_PER_MSEC - 1) / USEC_PER_MSEC;
        return 0;
}

/* Options every command takes: 1 if handled, 0 if not ours, < 0 on error. */
static int apply_global(int c, const char *arg, CtlArgs *a, char *errbuf, size_t n)
{
        uint64_t usec;

        switch (c) {
        case 'H':
                free(a->host);
                a->host = strdup(arg);
                return a->host ? 1 : fail(errbuf, n, -ENOMEM, "out of memory");
        case ARG_EVENTS:
                free(a->events);
                a->events = strdup(arg);
                return a->events ? 1 : fail(errbuf, n, -ENOMEM, "out of memory");
        case 'o':
                if (streq(arg, "table"))
                        a->format = CTL_FORMAT_TABLE;
                else if (streq(arg, "json"))
                        a->format = CTL_FORMAT_JSON;
                else
                        return fail(errbuf, n, -EINVAL, "-o: \"%s\" is not an output format (table or json)",
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
                        return fail(
                                errbuf, n, -EINVAL,
                                "--timeout: \"%s\" is not a positive duration (examples: 500ms, 10s, 1m)",
                                arg);
                a->timeout_usec = usec;
                return 1;
        default:
                return 0;
        }
}

static int apply_spawn(int c, const char *arg, char **environ_, CtlArgs *a, char *errbuf, size_t n)
{
        ProtoSpawnArgs *s = &a->spawn;
        uint64_t v;
        char **field = NULL;
        int r;

        switch (c) {
        case ARG_NAME:
                if (strlen(arg) == 0 || strlen(arg) > PROTO_NAME_MAX)
                        return fail(errbuf, n, -EINVAL, "--name: a name has 1 to %d characters",
                                    PROTO_NAME_MAX);
                field = &s->name;
                break;
        case ARG_ENV:
                r = parse_env_option(arg, environ_, &s->env, errbuf, n);
                return r < 0 ? r : 1;
        case ARG_ENV_INHERIT:
                return 1; /* applied by spawn_finish(), under the --env pairs */
        case ARG_CWD:
        case ARG_WORKSPACE:
                if (arg[0] != '/' || strlen(arg) > PROTO_PATH_MAX)
                        return fail(errbuf, n, -EINVAL, "%s: \"%s\" is not an absolute path",
                                    c == ARG_CWD ? "--cwd" : "--workspace", arg);
                field = c == ARG_CWD ? &s->cwd : &s->workspace;
                break;
        case ARG_CPU:
                if (parse_cpu(arg, &v) < 0)
                        return fail(errbuf, n, -EINVAL,
                                    "--cpu: \"%s\" is not a CPU amount (examples: 0.5, 2, 150%%)", arg);
                s->limits.has_cpu = true;
                s->limits.cpu_millicores = v;
                return 1;
        case ARG_MEMORY:
        case ARG_SWAP:
                if (parse_size(arg, &v) < 0)
                        return fail(errbuf, n, -EINVAL, "%s: \"%s\" is not a size (examples: 512M, 2G)",
                                    c == ARG_MEMORY ? "--memory" : "--swap", arg);
                if (c == ARG_MEMORY) {
                        s->limits.has_memory = true;
                        s->limits.memory = v;
                } else {
                        s->limits.has_swap = true;
                        s->limits.swap = v;
                }
                return 1;
        case ARG_PIDS:
                if (parse_u64(arg, &v) < 0 || v == 0)
                        return fail(errbuf, n, -EINVAL, "--pids: \"%s\" is not a positive number", arg);
                s->limits.has_pids = true;
                s->limits.pids = v;
                return 1;
        case ARG_TIMEOUT:
                r = parse_duration_ms("--timeout", arg, &s->timeout_ms, errbuf, n);
                if (r < 0)
                        return r;
                if (s->timeout_ms == 0)
                        return fail(errbuf, n, -EINVAL,
                                    "--timeout: the agent's runtime limit must be positive");
                s->has_timeout_ms = true;
                return 1;
        case ARG_NET:
                if (proto_net_from_string(arg) < 0)
                        return fail(errbuf, n, -EINVAL, "--net: \"%s\" is not a network mode (none or host)",
                                    arg);
                s->has_net = true;
                s->net = proto_net_from_string(arg);
                return 1;
        case ARG_POLICY:
        case ARG_USER:
                if (strlen(arg) == 0 || strlen(arg) > PROTO_SHORT_STRING_MAX)
                        return fail(errbuf, n, -EINVAL, "%s: expected 1 to %d characters",
                                    c == ARG_POLICY ? "--policy" : "--user", PROTO_SHORT_STRING_MAX);
                field = c == ARG_POLICY ? &s->policy : &s->user;
                break;
        case 'i':
                s->open_stdin = true;
                return 1;
        case ARG_WAIT:
                a->wait = true;
                return 1;
        case ARG_ATTACH:
                a->attach = true;
                return 1;
        default:
                return 0;
        }

        free(*field);
        *field = strdup(arg);
        return *field ? 1 : fail(errbuf, n, -ENOMEM, "out of memory");
}

static int apply_command_option(int c, const char *arg, char **environ_, CtlArgs *a, char *errbuf, size_t n)
{
        int r;

        if (a->command == CTL_COMMAND_SPAWN) {
                r = apply_spawn(c, arg, environ_, a, errbuf, n);
                if (r != 0)
                        return r;
        }
        switch (c) {
        case 'a':
                a->all = true;
                return 1;
        case ARG_LABEL:
                r = parse_pair("--label", arg, PROTO_LABEL_KEY_MAX, PROTO_LABEL_VALUE_MAX,
                               a->command == CTL_COMMAND_SPAWN ? &a->spawn.labels : &a->labels, errbuf, n);
                return r < 0 ? r : 1;
        case ARG_STATE:
                if (proto_state_from_string(arg) < 0)
                        return fail(errbuf, n, -EINVAL,
                                    "--state: \"%s\" is not a state (starting, running, pausing, paused, "
                                    "resuming, "
                                    "stopping, exited, failed)",
                                    arg);
                a->has_state = true;
                a->state = proto_state_from_string(arg);
                return 1;
        case ARG_GRACE:
                r = parse_duration_ms("--grace", arg, &a->grace_ms, errbuf, n);
                if (r < 0)
                        return r;
                a->has_grace = true;
                return 1;
        case ARG_CLOSE:
                a->close_stdin = true;
                return 1;
        case ARG_STOP_AGENTS:
                a->stop_agents = true;
                return 1;
        case ARG_STREAM:
                if (proto_stream_from_string(arg) < 0)
                        return fail(errbuf, n, -EINVAL, "--stream: \"%s\" is not stdout, stderr or both",
                                    arg);
                a->stream = proto_stream_from_string(arg);
                return 1;
        case ARG_TAIL:
                if (parse_u64(arg, &a->tail) < 0 || a->tail > PROTO_OUTPUT_LINES_MAX)
                        return fail(errbuf, n, -EINVAL,
                                    "--tail: \"%s\" is not a number of lines from 0 to %d", arg,
                                    PROTO_OUTPUT_LINES_MAX);
                a->has_tail = true;
                return 1;
        case 'f':
                a->follow = true;
                return 1;
        case ARG_RAW:
                a->raw = true;
                return 1;
        case ARG_GREP:
                if (strlen(arg) == 0 || strlen(arg) > PROTO_GREP_MAX)
                        return fail(errbuf, n, -EINVAL, "--grep: a pattern has 1 to %d bytes",
                                    PROTO_GREP_MAX);
                free(a->grep);
                a->grep = strdup(arg);
                return a->grep ? 1 : fail(errbuf, n, -ENOMEM, "out of memory");
        default:
                return 0;
        }
}

static void command_options(CtlCommand c, const struct option **ret_long, const char **ret_short)
{
        switch (c) {
        case CTL_COMMAND_PS:
                *ret_long = ps_options, *ret_short = ":H:o:ha";
                return;
        case CTL_COMMAND_SPAWN:
                /* '+': the first non-option is the agent's command; its own options are not ours */
                *ret_long = spawn_options, *ret_short = "+:H:o:hi";
                return;
        case CTL_COMMAND_STOP:
                *ret_long = stop_options, *ret_short = ":H:o:h";
                return;
        case CTL_COMMAND_STDIN:
                *ret_long = stdin_options, *ret_short = ":H:o:h";
                return;
        case CTL_COMMAND_LOGS:
                *ret_long = logs_options, *ret_short = ":H:o:hf";
                return;
        case CTL_COMMAND_SHUTDOWN:
                *ret_long = shutdown_options, *ret_short = ":H:o:h";
                return;
        default:
                *ret_long = global_options, *ret_short = ":H:o:h";
                return;
        }
}

static int getopt_error(int c, char **argv, const char *what, char *errbuf, size_t n)
{
        const char *bad = optind > 0 ? argv[optind - 1] : "?";

        if (c == ':')
                return fail(errbuf, n, -EINVAL, "%s: option %s needs a value", what, bad);
        if (optopt > 0 && optopt < 0x100)
                return fail(errbuf, n, -EINVAL, "%s: unknown option -%c", what, optopt);
        return fail(errbuf, n, -EINVAL, "%s: unknown option %s", what, bad);
}

static int set_agents(CtlArgs *a, char **args, size_t n_args, char *errbuf, size_t n)
{
        for (size_t i = 0; i < n_args; i++) {
                if (strlen(args[i]) == 0 || strlen(args[i]) > PROTO_AGENT_REF_MAX)
                        return fail(errbuf, n, -EINVAL, "\"%s\" is not an agent id, name or id prefix",
                                    args[i]);
                if (strv_extend(&a->agents, args[i]) < 0)
                        return fail(errbuf, n, -ENOMEM, "out of memory");
                a->n_agents++;
        }
        return 0;
}

static int parse_positional(CtlArgs *a, char **args, size_t n_args, char *errbuf, size_t n)
{
        const char *cmd = ctl_command_to_string(a->command);
        int r;

        switch (a->command) {
        case CTL_COMMAND_HEALTH:
        case CTL_COMMAND_PS:
        case CTL_COMMAND_SHUTDOWN:
                if (n_args > 0)
                        return fail(errbuf, n, -EINVAL, "%s takes no arguments (got \"%s\")", cmd, args[0]);
                return 0;
        case CTL_COMMAND_SPAWN:
                if (n_args == 0)
                        return fail(errbuf, n, -EINVAL,
                                    "spawn needs a command: spawn [OPTIONS] -- CMD [ARGS...]");
                if (n_args > PROTO_ARGV_MAX)
                        return fail(errbuf, n, -EINVAL, "spawn: at most %d arguments", PROTO_ARGV_MAX);
                if (args[0][0] == 0)
                        return fail(errbuf, n, -EINVAL, "spawn: the command is empty");
                for (size_t i = 0; i < n_args; i++) {
                        if (strv_extend(&a->spawn.argv, args[i]) < 0)
                                return fail(errbuf, n, -ENOMEM, "out of memory");
                        a->spawn.n_argv++;
                }
                return 0;
        case CTL_COMMAND_SIGNAL:
                if (n_args != 2)
                        return fail(errbuf, n, -EINVAL,
                                    "signal needs an agent and a signal: signal AGENT SIG");
                r = proto_signal_from_string(args[1]);
                if (r < 0) {
                        uint64_t v;
                        if (parse_u64(args[1], &v) < 0 || v == 0 || v >= _NSIG)
                                return fail(errbuf, n, -EINVAL,
                                            "signal: \"%s\" is not a signal (a name like TERM or a number)",
                                            args[1]);
                        r = (int)v;
                }
                a->signal = r;
                return set_agents(a, args, 1, errbuf, n);
        case CTL_COMMAND_EVENTS:
                if (n_args > 1)
                        return fail(errbuf, n, -EINVAL, "events takes at most one agent");
                return set_agents(a, args, n_args, errbuf, n);
        case CTL_COMMAND_RM:
                if (n_args == 0)
                        return fail(errbuf, n, -EINVAL, "rm needs at least one agent");
                return set_agents(a, args, n_args, errbuf, n);
        case CTL_COMMAND_INSPECT:
        case CTL_COMMAND_PAUSE:
        case CTL_COMMAND_RESUME:
        case CTL_COMMAND_STOP:
        case CTL_COMMAND_KILL:
        case CTL_COMMAND_STDIN:
        case CTL_COMMAND_LOGS:
                if (n_args != 1)
                        return fail(errbuf, n, -EINVAL, "%s needs exactly one agent (got %zu arguments)",
                                    cmd, n_args);
                return set_agents(a, args, 1, errbuf, n);
        case _CTL_COMMAND_MAX:
        case _CTL_COMMAND_INVALID:
        default:
                return fail(errbuf, n, -EINVAL, "unknown command");
        }
}

static int spawn_finish(CtlArgs *a, bool env_inherit, char **environ_, char *errbuf, size_t n)
{
        ProtoSpawnArgs *s = &a->spawn;
        int r;

        if (a->wait && a->attach)
                return fail(errbuf, n, -EINVAL,
                            "spawn: --wait and --attach exclude each other (--attach waits too)");
        if (env_inherit) {
                ProtoStrMap env = {};

                for (char **e = environ_; e && *e; e++) {
                        if (!strchr(*e, '=') || **e == '=')
                                continue;
                        if (env.n_pairs >= PROTO_ENV_MAX) {
                                proto_str_map_done(&env);
                                return fail(errbuf, n, -EINVAL, "--env-inherit: more than %d variables",
                                            PROTO_ENV_MAX);
                        }
                        r = parse_pair("environment variable", *e, PROTO_ENV_KEY_MAX, PROTO_ENV_BYTES_MAX,
                                       &env, errbuf, n);
                        if (r < 0) {
                                proto_str_map_done(&env);
                                return r;
                        }
                }
                for (size_t i = 0; i < s->env.n_pairs; i++) {
                        r = str_map_set(&env, s->env.pairs[i].key, s->env.pairs[i].value);
                        if (r < 0) {
                                proto_str_map_done(&env);
                                return fail(errbuf, n, r, "out of memory");
                        }
                }
                proto_str_map_done(&s->env);
                s->env = env;
                return 0;
        }
        /* Defaults that --env may override: they go first only if not given. */
        if (!proto_str_map_get(&s->env, "PATH")) {
                r = proto_str_map_add(&s->env, "PATH", CTL_DEFAULT_PATH);
                if (r < 0)
                        return fail(errbuf, n, r, "out of memory");
        }
        /* No HOME: the daemon sets it inside the agent's workspace (WORKSPACE/.home), the one writable
         * place. */
        if (!proto_str_map_get(&s->env, "TERM")) {
                r = proto_str_map_add(&s->env, "TERM", CTL_DEFAULT_TERM);
                if (r < 0)
                        return fail(errbuf, n, r, "out of memory");
        }
        return 0;
}

int ctl_args_parse(int argc, char **argv, char **environ_, CtlArgs *a, char *errbuf, size_t n)
{
        const struct option *longopts;
        const char *shortopts;
        bool env_inherit = false;
        char **sub;
        int sub_argc, c, r;

        *a = (CtlArgs){.stream = PROTO_STREAM_BOTH, .format = CTL_FORMAT_TABLE};
        if (errbuf && n > 0)
                errbuf[0] = 0;
        opterr = 0;

        optind = 0;
        while ((c = getopt_long(argc, argv, "+:H:o:h", global_options, NULL)) >= 0) {
                if (c == '?' || c == ':')
                        return getopt_error(c, argv, "descartesctl", errbuf, n);
                r = apply_global(c, optarg, a, errbuf, n);
                if (r < 0)
                        return r;
        }
        if (optind >= argc) {
                if (a->help || a->version)
                        return 0;
                return fail(errbuf, n, -EINVAL, "no command given (try descartesctl --help)");
        }
        a->command = ctl_command_from_string(argv[optind]);
        if (a->command < 0)
                return fail(errbuf, n, -EINVAL, "unknown command \"%s\" (try descartesctl --help)",
                            argv[optind]);
        a->has_command = true;

        sub = argv + optind;
        sub_argc = argc - optind;
        command_options(a->command, &longopts, &shortopts);
        optind = 0;
        while ((c = getopt_long(sub_argc, sub, shortopts, longopts, NULL)) >= 0) {
                if (c == '?' || c == ':')
                        return getopt_error(c, sub, ctl_command_to_string(a->command), errbuf, n);
                /* For spawn, --timeout is the agent's; apply_command_option() sees it first. */
                if (!(a->command == CTL_COMMAND_SPAWN && c == ARG_TIMEOUT)) {
                        r = apply_global(c, optarg, a, errbuf, n);
                        if (r < 0)
                                return r;
                        if (r > 0)
                                continue;
                }
                if (c == ARG_ENV_INHERIT)
                        env_inherit = true;
                r = apply_command_option(c, optarg, environ_, a, errbuf, n);
                if (r < 0)
                        return r;
                if (r == 0)
                        return fail(errbuf, n, -EINVAL, "%s: unexpected option %s",
                                    ctl_command_to_string(a->command), sub[optind - 1]);
        }
        if (a->help)
                return 0;
        r = parse_positional(a, sub + optind, (size_t)(sub_argc - optind), errbuf, n);
        if (r < 0)
                return r;
        if (a->command == CTL_COMMAND_SPAWN)
                return spawn_finish(a, env_inherit, environ_, errbuf, n);
        if (a->command == CTL_COMMAND_LOGS && a->raw && a->grep)
                return fail(errbuf, n, -EINVAL, "logs: --grep works on lines and cannot be used with --raw");
        return 0;
}

void ctl_args_done(CtlArgs *a)
{
        if (!a)
                return;
        free(a->host);
        free(a->events);
        a->agents = strv_free(a->agents);
        proto_str_map_done(&a->labels);
        proto_spawn_args_done(&a->spawn);
        free(a->grep);
        *a = (CtlArgs){};
}
