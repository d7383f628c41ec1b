/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "ctl.h"

static int option_stop_agents(CtlArgs *a, const char *arg, CtlParse *p)
{
        a->stop_agents = true;
        return 0;
}

static const CtlOption options[] = {
        {"stop-agents", 0, false, option_stop_agents},
        {},
};

static int run(Ctl *c)
{
        DescartesError e;

        if (descartes_shutdown(c->client, c->args->stop_agents, &e) < 0)
                return ctl_report(&e, "shutdown failed");
        if (!ctl_json_mode(c))
                printf("descartesd is exiting%s.\n",
                       c->args->stop_agents ? " after stopping its agents" : "; its agents keep running");
        return 0;
}

const CtlVerb ctl_verbs_shutdown[] = {
        {
                .name = "shutdown",
                .rank = 140,
                .summary = "  shutdown [--stop-agents]    make descartesd exit (agents keep running unless\n"
                           "                              --stop-agents); root and the admin group only\n",
                .help = "Usage: descartesctl shutdown [--stop-agents]\n"
                        "\n"
                        "Make descartesd exit. Its agents keep running under their shims, and a restarted\n"
                        "daemon re-adopts them; with --stop-agents it stops them first (SIGTERM, the grace\n"
                        "period, then kill). For root and members of the daemon's admin group.\n",
                .options = options,
                .arguments = ctl_arguments_none,
                .run = run,
        },
        {},
};
