/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "ctl-exit.h"
#include "ctl.h"
#include "fd-util.h"
#include "log.h"
#include "parse-util.h"
#include "string-util.h"

static int option_name(CtlArgs *a, const char *arg, CtlParse *p)
{
        if (strlen(arg) == 0 || strlen(arg) > DESCARTES_NAME_MAX)
                return ctl_fail(p, -EINVAL, "--name: a name has 1 to %d characters", DESCARTES_NAME_MAX);
        return ctl_set_string(&a->spawn.name, arg, p);
}

static int option_label(CtlArgs *a, const char *arg, CtlParse *p)
{
        return ctl_parse_pair("--label", arg, DESCARTES_LABEL_KEY_MAX, DESCARTES_LABEL_VALUE_MAX,
                              &a->spawn.labels, p);
}

static int option_env(CtlArgs *a, const char *arg, CtlParse *p)
{
        if (!strchr(arg, '=')) {
                /* --env NAME passes the CLI's own value of NAME, explicitly. */
                size_t len = strlen(arg);
                for (char **e = p->environ_; e && *e; e++)
                        if (strncmp(*e, arg, len) == 0 && (*e)[len] == '=')
                                return ctl_parse_pair("--env", *e, DESCARTES_ENV_KEY_MAX,
                                                      DESCARTES_ENV_BYTES_MAX, &a->spawn.env, p);
                return ctl_fail(p, -EINVAL, "--env %s: %s is not set in this environment (use %s=VALUE)",
                                arg, arg, arg);
        }
        return ctl_parse_pair("--env", arg, DESCARTES_ENV_KEY_MAX, DESCARTES_ENV_BYTES_MAX, &a->spawn.env,
                              p);
}

static int option_env_inherit(CtlArgs *a, const char *arg, CtlParse *p)
{
        a->env_inherit = true; /* applied by arguments(), under the --env pairs */
        return 0;
}

static int option_path(const char *opt, char **field, const char *arg, CtlParse *p)
{
        if (arg[0] != '/' || strlen(arg) > DESCARTES_PATH_MAX)
                return ctl_fail(p, -EINVAL, "%s: \"%s\" is not an absolute path", opt, arg);
        return ctl_set_string(field, arg, p);
}

static int option_cwd(CtlArgs *a, const char *arg, CtlParse *p)
{
        return option_path("--cwd", &a->spawn.cwd, arg, p);
}

static int option_workspace(CtlArgs *a, const char *arg, CtlParse *p)
{
        return option_path("--workspace", &a->spawn.workspace, arg, p);
}

static int option_cpu(CtlArgs *a, const char *arg, CtlParse *p)
{
        if (parse_cpu(arg, &a->spawn.cpu_millicores) < 0)
                return ctl_fail(p, -EINVAL, "--cpu: \"%s\" is not a CPU amount (examples: 0.5, 2, 150%%)",
                                arg);
        a->spawn.has_cpu = true;
        return 0;
}

static int option_size(const char *opt, bool *has, uint64_t *field, const char *arg, CtlParse *p)
{
        if (parse_size(arg, field) < 0)
                return ctl_fail(p, -EINVAL, "%s: \"%s\" is not a size (examples: 512M, 2G)", opt, arg);
        *has = true;
        return 0;
}

static int option_memory(CtlArgs *a, const char *arg, CtlParse *p)
{
        return option_size("--memory", &a->spawn.has_memory, &a->spawn.memory, arg, p);
}

static int option_swap(CtlArgs *a, const char *arg, CtlParse *p)
{
        return option_size("--swap", &a->spawn.has_swap, &a->spawn.swap, arg, p);
}

static int option_pids(CtlArgs *a, const char *arg, CtlParse *p)
{
        if (ctl_parse_u64(arg, &a->spawn.pids) < 0 || a->spawn.pids == 0)
                return ctl_fail(p, -EINVAL, "--pids: \"%s\" is not a positive number", arg);
        a->spawn.has_pids = true;
        return 0;
}

/* After `spawn`, --timeout is the agent's maximum runtime: the request timeout goes before the verb. */
static int option_timeout(CtlArgs *a, const char *arg, CtlParse *p)
{
        int r;

        r = ctl_parse_duration_ms("--timeout", arg, &a->spawn.timeout_ms, p);
        if (r < 0)
                return r;
        if (a->spawn.timeout_ms == 0)
                return ctl_fail(p, -EINVAL, "--timeout: the agent's runtime limit must be positive");
        a->spawn.has_timeout_ms = true;
        return 0;
}

static int option_net(CtlArgs *a, const char *arg, CtlParse *p)
{
        if (descartes_net_from_string(arg) < 0)
                return ctl_fail(p, -EINVAL, "--net: \"%s\" is not a network mode (none or host)", arg);
        a->spawn.has_net = true;
        a->spawn.net = descartes_net_from_string(arg);
        return 0;
}

static int option_short_string(const char *opt, char **field, const char *arg, CtlParse *p)
{
        if (strlen(arg) == 0 || strlen(arg) > DESCARTES_SHORT_STRING_MAX)
                return ctl_fail(p, -EINVAL, "%s: expected 1 to %d characters", opt,
                                DESCARTES_SHORT_STRING_MAX);
        return ctl_set_string(field, arg, p);
}

static int option_policy(CtlArgs *a, const char *arg, CtlParse *p)
{
        return option_short_string("--policy", &a->spawn.policy, arg, p);
}

static int option_user(CtlArgs *a, const char *arg, CtlParse *p)
{
        return option_short_string("--user", &a->spawn.user, arg, p);
}

static int option_stdin(CtlArgs *a, const char *arg, CtlParse *p)
{
        a->spawn.open_stdin = true;
        return 0;
}

static int option_backend(CtlArgs *a, const char *arg, CtlParse *p)
{
        if (strlen(arg) == 0 || strlen(arg) > DESCARTES_BACKEND_NAME_MAX)
                return ctl_fail(p, -EINVAL, "--backend: a backend name has 1 to %d characters",
                                DESCARTES_BACKEND_NAME_MAX);
        return ctl_set_string(&a->spawn.backend, arg, p);
}

static int option_text(const char *opt, char **field, const char *arg, CtlParse *p)
{
        if (strlen(arg) > DESCARTES_BACKEND_TEXT_MAX)
                return ctl_fail(p, -EINVAL, "%s: more than %d bytes", opt, DESCARTES_BACKEND_TEXT_MAX);
        return ctl_set_string(field, arg, p);
}

static int option_task(CtlArgs *a, const char *arg, CtlParse *p)
{
        return option_text("--task", &a->spawn.task, arg, p);
}

static int option_model(CtlArgs *a, const char *arg, CtlParse *p)
{
        return option_short_string("--model", &a->spawn.model, arg, p);
}

static int option_system_prompt(CtlArgs *a, const char *arg, CtlParse *p)
{
        return option_text("--system-prompt", &a->spawn.system_prompt, arg, p);
}

static int option_system_prompt_file(CtlArgs *a, const char *arg, CtlParse *p)
{
        _cleanup_free_ char *text = NULL;
        size_t size = 0;
        int r;

        r = read_file_at(AT_FDCWD, arg, DESCARTES_BACKEND_TEXT_MAX, &text, &size);
        if (r == -EFBIG)
                return ctl_fail(p, r, "--system-prompt-file %s: more than %d bytes", arg,
                                DESCARTES_BACKEND_TEXT_MAX);
        if (r < 0)
                return ctl_fail(p, r, "--system-prompt-file %s: cannot read it: %s", arg, strerror(-r));
        if (memchr(text, 0, size))
                return ctl_fail(p, -EINVAL, "--system-prompt-file %s: holds a NUL byte (text only)", arg);
        return ctl_set_string(&a->spawn.system_prompt, text, p);
}

static int option_tty(CtlArgs *a, const char *arg, CtlParse *p)
{
        a->spawn.tty = true;
        return 0;
}

static int option_wait(CtlArgs *a, const char *arg, CtlParse *p)
{
        a->wait = true;
        return 0;
}

static int option_attach(CtlArgs *a, const char *arg, CtlParse *p)
{
        a->attach = true;
        return 0;
}

static int option_spawn_detach_keys(CtlArgs *a, const char *arg, CtlParse *p)
{
        uint8_t keys[16];

        if (ctl_parse_detach_keys(arg, keys, sizeof keys) <= 0)
                return ctl_fail(p, -EINVAL,
                                "--detach-keys: \"%s\" is not a key sequence (e.g. ctrl-p,ctrl-q)", arg);
        return ctl_set_string(&a->detach_keys, arg, p);
}

static int option_health_cmd(CtlArgs *a, const char *arg, CtlParse *p)
{
        if (strlen(arg) == 0 || strlen(arg) + 12 > DESCARTES_EXEC_ARGV_BYTES_MAX)
                return ctl_fail(p, -EINVAL, "--health-cmd: a command of 1 to %d bytes",
                                DESCARTES_EXEC_ARGV_BYTES_MAX - 12);
        return ctl_set_string(&a->spawn.health_cmd, arg, p);
}

static int option_duration(const char *opt, bool *has, uint64_t *field, uint64_t min, const char *arg,
                           CtlParse *p)
{
        int r = ctl_parse_duration_ms(opt, arg, field, p);

        if (r < 0)
                return r;
        if (*field < min)
                return ctl_fail(p, -EINVAL, "%s: at least %llu ms", opt, (unsigned long long)min);
        *has = true;
        return 0;
}

static int option_health_interval(CtlArgs *a, const char *arg, CtlParse *p)
{
        return option_duration("--health-interval", &a->spawn.has_health_interval_ms,
                               &a->spawn.health_interval_ms, 100, arg, p);
}

static int option_health_timeout(CtlArgs *a, const char *arg, CtlParse *p)
{
        return option_duration("--health-timeout", &a->spawn.has_health_timeout_ms,
                               &a->spawn.health_timeout_ms, 1, arg, p);
}

static int option_idle_timeout(CtlArgs *a, const char *arg, CtlParse *p)
{
        return option_duration("--idle-timeout", &a->spawn.has_idle_timeout_ms, &a->spawn.idle_timeout_ms,
                               100, arg, p);
}

static int option_health_retries(CtlArgs *a, const char *arg, CtlParse *p)
{
        if (ctl_parse_u64(arg, &a->spawn.health_retries) < 0 || a->spawn.health_retries == 0 ||
            a->spawn.health_retries > 100)
                return ctl_fail(p, -EINVAL, "--health-retries: \"%s\" is not a number from 1 to 100", arg);
        a->spawn.has_health_retries = true;
        return 0;
}

static int option_on_unhealthy(CtlArgs *a, const char *arg, CtlParse *p)
{
        if (descartes_on_unhealthy_from_string(arg) < 0)
                return ctl_fail(p, -EINVAL, "--on-unhealthy: \"%s\" is not stop, kill or none", arg);
        a->spawn.has_on_unhealthy = true;
        a->spawn.on_unhealthy = descartes_on_unhealthy_from_string(arg);
        return 0;
}

static const CtlOption options[] = {
        {"health-cmd", 0, true, option_health_cmd},
        {"health-interval", 0, true, option_health_interval},
        {"health-timeout", 0, true, option_health_timeout},
        {"health-retries", 0, true, option_health_retries},
        {"idle-timeout", 0, true, option_idle_timeout},
        {"on-unhealthy", 0, true, option_on_unhealthy},
        {"name", 0, true, option_name},
        {"label", 0, true, option_label},
        {"env", 0, true, option_env},
        {"env-inherit", 0, false, option_env_inherit},
        {"cwd", 0, true, option_cwd},
        {"workspace", 0, true, option_workspace},
        {"cpu", 0, true, option_cpu},
        {"memory", 0, true, option_memory},
        {"swap", 0, true, option_swap},
        {"pids", 0, true, option_pids},
        {"timeout", 0, true, option_timeout},
        {"net", 0, true, option_net},
        {"policy", 0, true, option_policy},
        {"user", 0, true, option_user},
        {"stdin", 'i', false, option_stdin},
        {"wait", 0, false, option_wait},
        {"attach", 0, false, option_attach},
        {"backend", 0, true, option_backend},
        {"task", 0, true, option_task},
        {"model", 0, true, option_model},
        {"system-prompt", 0, true, option_system_prompt},
        {"system-prompt-file", 0, true, option_system_prompt_file},
        {"tty", 't', false, option_tty},
        {"detach-keys", 0, true, option_spawn_detach_keys},
        {},
};

/* The agent's environment: the CLI's whole one under the --env pairs with --env-inherit, else the --env
 * pairs plus the defaults they do not override. */
static int spawn_environment(CtlArgs *a, CtlParse *p)
{
        CtlSpawn *s = &a->spawn;
        int r;

        if (a->env_inherit) {
                _cleanup_strv_free_ char **env = NULL;
                size_t n = 0;

                for (char **e = p->environ_; e && *e; e++) {
                        if (!strchr(*e, '=') || **e == '=')
                                continue;
                        if (n >= DESCARTES_ENV_MAX)
                                return ctl_fail(p, -EINVAL, "--env-inherit: more than %d variables",
                                                DESCARTES_ENV_MAX);
                        r = ctl_parse_pair("environment variable", *e, DESCARTES_ENV_KEY_MAX,
                                           DESCARTES_ENV_BYTES_MAX, &env, p);
                        if (r < 0)
                                return r;
                        n = strv_length(env);
                }
                for (char **e = s->env; e && *e; e++) {
                        r = ctl_parse_pair("--env", *e, SIZE_MAX, SIZE_MAX, &env, p);
                        if (r < 0)
                                return ctl_fail(p, r, "out of memory");
                }
                strv_free(s->env);
                s->env = TAKE_PTR(env);
                return 0;
        }
        /* No HOME: the daemon sets it inside the agent's workspace (WORKSPACE/.home), the one writable
         * place. */
        if (!ctl_pairs_get(s->env, "PATH") && strv_extend(&s->env, "PATH=" CTL_DEFAULT_PATH) < 0)
                return ctl_fail(p, -ENOMEM, "out of memory");
        if (!ctl_pairs_get(s->env, "TERM")) {
                /* a terminal of the agent's own is read by what this terminal is (docker says xterm) */
                const char *term = s->tty ? ctl_pairs_get(p->environ_, "TERM") : NULL;
                _cleanup_free_ char *pair = NULL;

                if (asprintf(&pair, "TERM=%s",
                             term
                                     ?: s->tty ? CTL_DEFAULT_TTY_TERM
                                               : CTL_DEFAULT_TERM) < 0 ||
                    strv_extend(&s->env, pair) < 0)
                        return ctl_fail(p, -ENOMEM, "out of memory");
        }
        return 0;
}

static int arguments(CtlArgs *a, char **args, size_t n_args, CtlParse *p)
{
        if (a->spawn.backend && n_args > 0)
                return ctl_fail(
                        p, -EINVAL,
                        "spawn: --backend makes the command from the daemon's template: give no CMD");
        if (!a->spawn.backend && (a->spawn.task || a->spawn.model || a->spawn.system_prompt))
                return ctl_fail(p, -EINVAL,
                                "spawn: --task, --model and --system-prompt[-file] go with --backend NAME");
        /* with a terminal, -i (its stdin is the terminal) and --attach mean: join it (-it) */
        if (a->spawn.tty && a->spawn.open_stdin) {
                a->spawn.open_stdin = false;
                a->attach = true;
        }
        if (a->wait && a->attach)
                return ctl_fail(
                        p, -EINVAL,
                        "spawn: --wait and --attach (or -it) exclude each other (--attach waits too)");
        if (a->detach_keys && !(a->spawn.tty && a->attach))
                return ctl_fail(p, -EINVAL, "spawn: --detach-keys goes with -it (a terminal to join)");
        if (!a->spawn.health_cmd && !a->spawn.has_idle_timeout_ms &&
            (a->spawn.has_health_interval_ms || a->spawn.has_health_timeout_ms ||
             a->spawn.has_health_retries || a->spawn.has_on_unhealthy))
                return ctl_fail(p, -EINVAL,
                                "spawn: the --health-* options and --on-unhealthy need --health-cmd "
                                "or --idle-timeout");
        if (a->spawn.backend)
                return spawn_environment(a, p);
        if (n_args == 0)
                return ctl_fail(
                        p, -EINVAL,
                        "spawn needs a command: spawn [OPTIONS] -- CMD [ARGS...] (or --backend NAME)");
        if (n_args > DESCARTES_ARGV_MAX)
                return ctl_fail(p, -EINVAL, "spawn: at most %d arguments", DESCARTES_ARGV_MAX);
        if (args[0][0] == 0)
                return ctl_fail(p, -EINVAL, "spawn: the command is empty");
        for (size_t i = 0; i < n_args; i++) {
                if (strv_extend(&a->spawn.argv, args[i]) < 0)
                        return ctl_fail(p, -ENOMEM, "out of memory");
                a->spawn.n_argv++;
        }
        return spawn_environment(a, p);
}

static int run(Ctl *c)
{
        _cleanup_(descartes_agent_unrefp) DescartesAgent *info = NULL, *final = NULL;
        const CtlArgs *a = c->args;
        const CtlSpawn *s = &a->spawn;
        DescartesSpawnArgs args = DESCARTES_SPAWN_ARGS_INIT;
        DescartesError e;
        int r;

        args.argv = (const char *const *)s->argv;
        args.env = (const char *const *)s->env;
        args.labels = (const char *const *)s->labels;
        args.name = s->name;
        args.cwd = s->cwd;
        args.workspace = s->workspace;
        args.policy = s->policy;
        args.user = s->user;
        args.has_cpu = s->has_cpu;
        args.cpu_millicores = s->cpu_millicores;
        args.has_memory = s->has_memory;
        args.memory = s->memory;
        args.has_swap = s->has_swap;
        args.swap = s->swap;
        args.has_pids = s->has_pids;
        args.pids = s->pids;
        args.has_timeout_ms = s->has_timeout_ms;
        args.timeout_ms = s->timeout_ms;
        args.has_net = s->has_net;
        args.net = s->net;
        args.open_stdin = s->open_stdin;
        args.backend = s->backend;
        args.task = s->task;
        args.model = s->model;
        args.system_prompt = s->system_prompt;
        args.tty = s->tty;
        const char *const health_argv[] = {"/bin/sh", "-c", s->health_cmd, NULL};
        args.health_cmd = s->health_cmd ? health_argv : NULL;
        args.has_health_interval_ms = s->has_health_interval_ms;
        args.health_interval_ms = s->health_interval_ms;
        args.has_health_timeout_ms = s->has_health_timeout_ms;
        args.health_timeout_ms = s->health_timeout_ms;
        args.has_health_retries = s->has_health_retries;
        args.health_retries = s->health_retries;
        args.has_idle_timeout_ms = s->has_idle_timeout_ms;
        args.idle_timeout_ms = s->idle_timeout_ms;
        args.has_on_unhealthy = s->has_on_unhealthy;
        args.on_unhealthy = s->on_unhealthy;

        if (s->tty && a->attach) {
                /* -it: the session's end or detach decides the exit code; the id goes to stderr, as the
                 * terminal is the agent's now */
                if (descartes_spawn(c->client, &args, &info, &e) < 0)
                        return ctl_report(&e, "cannot spawn %s", s->argv[0]);
                if (ctl_json_mode(c)) {
                        r = ctl_print_agent_result(c, info);
                        if (r != 0)
                                return r;
                        (void)fflush(stdout);
                } else
                        log_info("Agent %s: detach with %s.", descartes_agent_get_id(info),
                                 a->detach_keys ?: CTL_DETACH_KEYS_DEFAULT);
                return ctl_attach_session(c, descartes_agent_get_id(info));
        }
        /* --attach follows the output through output events; --wait needs no subscription (the wait op) */
        if (a->attach && descartes_subscribe(c->client, NULL, &c->presubscribed, NULL) < 0)
                c->presubscribed = NULL; /* then the wait re-reads the state instead */
        if (descartes_spawn(c->client, &args, &info, &e) < 0) {
                c->presubscribed = descartes_subscription_free(c->presubscribed);
                return ctl_report(&e, s->backend ? "cannot spawn backend %s" : "cannot spawn %s",
                                  s->backend ? s->backend : s->argv[0]);
        }
        r = ctl_print_agent_result(c, info);
        if (r != 0)
                return r;
        (void)fflush(stdout);
        if (!a->wait && !a->attach)
                return 0;

        if (a->attach) {
                CtlStreamOptions o = {
                        .stream = DESCARTES_STREAM_BOTH,
                        .raw = true,
                        .follow = true,
                        .json = ctl_json_mode(c),
                };
                r = ctl_stream_output(c, descartes_agent_get_id(info), &o, &final);
        } else
                r = ctl_wait_agent(c, descartes_agent_get_id(info), &final);
        if (r != 0)
                return r;
        if (ctl_json_mode(c)) {
                r = CTL_PRINT_JSON(descartes_agent_to_json, final);
                if (r != 0)
                        return r;
        }
        return ctl_exit_from_agent(final);
}

const CtlVerb ctl_verbs_spawn[] = {
        {
                .name = "spawn",
                .rank = 30,
                .summary = "  spawn [OPTIONS] -- CMD [ARGS...]    start an agent, print its id\n",
                .help = "Usage: descartesctl spawn [OPTIONS] -- CMD [ARGS...]\n"
                        "       descartesctl spawn [OPTIONS] --backend NAME --task TEXT [--model M]\n"
                        "\n"
                        "Start an agent and print its id alone on stdout.\n"
                        "\n"
                        "  --name NAME          a unique name\n"
                        "  --label K=V          a label (repeatable)\n"
                        "  --env K=V            an environment variable (repeatable); --env K passes this\n"
                        "                       program's value of K\n"
                        "  --env-inherit        start from this program's whole environment\n"
                        "                       Without it the agent's environment is only the --env\n"
                        "                       variables plus, unless given, PATH=" CTL_DEFAULT_PATH "\n"
                        "                       TERM=" CTL_DEFAULT_TERM
                        " (with --tty this program's TERM, or " CTL_DEFAULT_TTY_TERM ");\n"
                        "                       descartesd sets HOME in the workspace\n"
                        "  --cwd DIR            working directory (absolute)\n"
                        "  --workspace DIR      host directory mounted read-write for the agent (absolute)\n"
                        "  --cpu AMOUNT         CPU limit: 0.5, 2, 150%\n"
                        "  --memory SIZE        memory limit: 512M, 2G\n"
                        "  --swap SIZE          swap limit\n"
                        "  --pids N             maximum number of processes\n"
                        "  --timeout DURATION   maximum runtime of the agent, then it is stopped\n"
                        "  --net none|host      network: none (default) or the host's\n"
                        "  --policy NAME        sandbox policy\n"
                        "  --user USER          user name or uid to run as\n"
                        "  -i, --stdin          keep the agent's stdin open for `descartesctl stdin`\n"
                        "  -t, --tty            give the agent a terminal (join it with `descartesctl\n"
                        "                       attach`); -it: spawn it and attach at once, exit as\n"
                        "                       --wait or 0 after a detach\n"
                        "  --detach-keys KEYS   with -it: the detach sequence "
                        "(default " CTL_DETACH_KEYS_DEFAULT ")\n"
                        "  --wait               wait until the agent ends; exit with its code (128+N for\n"
                        "                       signal N)\n"
                        "  --attach             stream the agent's output until it ends, then exit like "
                        "--wait\n"
                        "  --backend NAME       run a backend of the daemon's config (backend.NAME in\n"
                        "                       descartesd.conf, e.g. claude -p {task}) instead of CMD\n"
                        "  --task TEXT          the backend's {task}\n"
                        "  --model MODEL        the backend's {model}\n"
                        "  --system-prompt TEXT the backend's {system_prompt}\n"
                        "  --system-prompt-file FILE\n"
                        "                       the same, read from FILE\n"
                        "  --health-cmd CMD     a health check: CMD run by /bin/sh -c inside the agent's\n"
                        "                       sandbox (as exec) every interval; exit 0 is healthy\n"
                        "  --health-interval D  between checks (default 30s)\n"
                        "  --health-timeout D   a check running longer fails (default 5s)\n"
                        "  --health-retries N   failed checks in a row that make it unhealthy (default 3)\n"
                        "  --idle-timeout D     an agent that writes no output for D is unhealthy\n"
                        "  --on-unhealthy stop|kill|none  what to do with an unhealthy agent (default "
                        "none)\n",
                .options = options,
                .own_timeout = true,
                .stop_at_args = true,
                .command_args = true,
                .arguments = arguments,
                .run = run,
        },
        {},
};
