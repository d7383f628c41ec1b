/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cleanup.h"
#include "ctl-output.h"
#include "ctl.h"
#include "time-util.h"

static int option_all(CtlArgs *a, const char *arg, CtlParse *p)
{
        a->all = true;
        return 0;
}

static int option_usage(CtlArgs *a, const char *arg, CtlParse *p)
{
        a->usage = true;
        return 0;
}

static int option_state(CtlArgs *a, const char *arg, CtlParse *p)
{
        if (descartes_state_from_string(arg) < 0)
                return ctl_fail(
                        p, -EINVAL,
                        "--state: \"%s\" is not a state (starting, running, pausing, paused, resuming, "
                        "stopping, exited, failed)",
                        arg);
        a->has_state = true;
        a->state = descartes_state_from_string(arg);
        return 0;
}

static const CtlOption options[] = {
        {"all", 'a', false, option_all},
        {"label", 0, true, ctl_option_label},
        {"state", 0, true, option_state},
        {"usage", 0, false, option_usage},
        {},
};

static int run(Ctl *c)
{
        _cleanup_(descartes_agent_list_unrefp) DescartesAgentList *list = NULL;
        const CtlArgs *a = c->args;
        DescartesListArgs args = DESCARTES_LIST_ARGS_INIT;
        DescartesError e;

        args.has_state = a->has_state;
        args.state = a->state;
        args.labels = (const char *const *)a->labels;
        args.all = a->all || (a->has_state && descartes_state_is_final(a->state));
        /* usage costs the daemon a few cgroup file reads per agent: only when asked */
        args.no_usage = !a->usage;
        if (descartes_list(c->client, &args, &list, &e) < 0)
                return ctl_report(&e, "cannot list agents");
        if (ctl_json_mode(c))
                return CTL_PRINT_JSON(descartes_agent_list_to_json, list);
        ctl_print_ps_table(stdout, list, now_ns(CLOCK_REALTIME), a->usage);
        return 0;
}

const CtlVerb ctl_verbs_ps[] = {
        {
                .name = "ps",
                .rank = 20,
                .summary = "  ps [-a] [--label K=V] [--state S] [--usage]   list agents\n",
                .help = "Usage: descartesctl ps [-a] [--label K=V]... [--state STATE] [--usage]\n"
                        "\n"
                        "List agents: ID (first 12 characters), NAME, STATE, HEALTH, REASON/EXIT, CREATED, "
                        "COMMAND.\n"
                        "\n"
                        "  -a, --all            include ended agents (exited, failed)\n"
                        "      --label K=V      only agents with this label (repeatable: all must match)\n"
                        "      --state STATE    only agents in STATE (starting, running, pausing, paused,\n"
                        "                       resuming, stopping, exited, failed)\n"
                        "      --usage          also each agent's CPU time (seconds) and memory, read from\n"
                        "                       its cgroup (costs the daemon a few file reads per agent;\n"
                        "                       without it the list, and -o json, carry no usage)\n",
                .options = options,
                .arguments = ctl_arguments_none,
                .run = run,
        },
        {},
};
