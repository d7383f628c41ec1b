/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "ctl-exit.h"
#include "ctl.h"
#include "json-writer.h"
#include "log.h"

static int option_param(CtlArgs *a, const char *arg, CtlParse *p)
{
        return ctl_parse_pair("--param", arg, DESCARTES_ACTION_NAME_MAX, 64 * 1024, &a->action_params, p);
}

static int option_json(CtlArgs *a, const char *arg, CtlParse *p)
{
        const char *s = arg + strspn(arg, " \t\r\n");

        if (*s != '{')
                return ctl_fail(p, -EINVAL, "--json needs a JSON object ({...}), got \"%.40s\"", arg);
        return ctl_set_string(&a->action_json, s, p);
}

static int option_timeout(CtlArgs *a, const char *arg, CtlParse *p)
{
        int r = ctl_parse_duration_ms("--timeout", arg, &a->action_timeout_ms, p);

        if (r < 0)
                return r;
        if (a->action_timeout_ms == 0 || a->action_timeout_ms > DESCARTES_ACTION_TIMEOUT_MAX_MS)
                return ctl_fail(p, -EINVAL, "--timeout: \"%s\" is not between 1ms and 10m", arg);
        a->has_action_timeout = true;
        return 0;
}

static const CtlOption options[] = {
        {"param", 'p', true, option_param},
        {"json", 0, true, option_json},
        {"timeout", 0, true, option_timeout},
        {},
};

static int arguments(CtlArgs *a, char **args, size_t n_args, CtlParse *p)
{
        if (n_args != 2)
                return ctl_fail(p, -EINVAL, "action needs an agent and an action name (got %zu arguments)",
                                n_args);
        if (strlen(args[1]) == 0 || strlen(args[1]) > DESCARTES_ACTION_NAME_MAX)
                return ctl_fail(p, -EINVAL, "an action name is 1..%d bytes", DESCARTES_ACTION_NAME_MAX);
        if (ctl_set_string(&a->action_name, args[1], p) < 0)
                return -ENOMEM;
        return ctl_set_agents(a, args, 1, p);
}

/* The params as one JSON object: the --param pairs (string values), then the members of --json. */
static int params_json(const CtlArgs *a, char **ret)
{
        _cleanup_free_ char *buf = NULL;
        size_t size = 0;
        const char *rest = NULL;
        bool any = false;
        JsonWriter w;
        FILE *f;

        if (a->action_json) {
                rest = a->action_json + 1; /* after its '{' (option_json checked it) */
                rest += strspn(rest, " \t\r\n");
        }
        f = open_memstream(&buf, &size);
        if (!f)
                return -ENOMEM;
        json_writer_init(&w, f);
        json_writer_object_begin(&w);
        for (char **p = a->action_params; p && *p; p++) {
                const char *eq = strchr(*p, '=');
                json_writer_value_key_n(&w, *p, (size_t)(eq - *p));
                json_writer_string(&w, eq + 1);
                any = true;
        }
        if (rest) {
                /* the rest of the --json object, as written: the parser checks it */
                if (any && *rest != '}')
                        fputc(',', f);
                fputs(rest, f);
        } else
                json_writer_object_end(&w);
        if (fclose(f) != 0)
                return -ENOMEM;
        *ret = TAKE_PTR(buf);
        return 0;
}

static int run_action(Ctl *c, const char *id)
{
        const CtlArgs *a = c->args;
        DescartesActionArgs args = DESCARTES_ACTION_ARGS_INIT;
        _cleanup_free_ char *json = NULL, *out = NULL;
        _cleanup_free_ void *params = NULL, *result = NULL;
        size_t params_size = 0, result_size = 0;
        DescartesError e;
        int r;

        if (a->action_params || a->action_json) {
                r = params_json(a, &json);
                if (r < 0)
                        return log_oom(), CTL_EXIT_FAILURE;
                r = descartes_json_to_msgpack(json, &params, &params_size);
                if (r < 0) {
                        log_error("The action's params are not a valid JSON object (%s): %s",
                                  r == -ELOOP   ? "nested too deep"
                                  : r == -E2BIG ? "too big"
                                                : "malformed",
                                  json);
                        return CTL_EXIT_USAGE;
                }
        }
        args.agent = id;
        args.name = a->action_name;
        args.params = params;
        args.params_size = params_size;
        args.has_timeout_ms = a->has_action_timeout;
        args.timeout_ms = a->action_timeout_ms;
        if (descartes_action(c->client, &args, &result, &result_size, &e) < 0)
                return ctl_report(&e, "action %s on agent %s", a->action_name, id);
        if (!result)
                out = strdup("null");
        else if (descartes_msgpack_to_json(result, result_size, &out) < 0)
                out = NULL;
        if (!out)
                return log_oom(), CTL_EXIT_FAILURE;
        puts(out);
        return 0;
}

static int run(Ctl *c)
{
        return ctl_for_each_agent(c, run_action);
}

const CtlVerb ctl_verbs_action[] = {
        {
                .name = "action",
                .rank = 105,
                .summary =
                        "  action AGENT NAME [--param K=V]... [--json OBJ] [--timeout D]\n"
                        "                              run a custom action in the agent, print its result\n",
                .help = "Usage: descartesctl action AGENT NAME [--param KEY=VALUE]... [--json '{...}'] "
                        "[--timeout DURATION]\n"
                        "\n"
                        "Deliver the custom action NAME to the agent over its action channel and print the\n"
                        "agent's result as JSON. The agent must have opened its channel\n"
                        "(DESCARTES_ACTION_FD, see docs/agent-protocol.md); otherwise the action is "
                        "refused\n"
                        "at once (exit 6). An error the agent answers exits 14, no answer in time exits 4.\n"
                        "\n"
                        "  -p, --param KEY=VALUE  a string parameter (repeatable)\n"
                        "  --json OBJ             parameters as a JSON object (merged after the --param "
                        "ones)\n"
                        "  --timeout DURATION     how long the agent may take (default 30s, at most 10m)\n",
                .options = options,
                .own_timeout = true,
                .arguments = arguments,
                .run = run,
        },
        {},
};
