/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cleanup.h"
#include "ctl-output.h"
#include "ctl.h"

static int inspect(Ctl *c, const char *id)
{
        _cleanup_(descartes_agent_unrefp) DescartesAgent *a = NULL;
        DescartesError e;

        if (descartes_get(c->client, id, &a, &e) < 0)
                return ctl_report(&e, "cannot inspect agent %s", id);
        if (ctl_json_mode(c))
                return CTL_PRINT_JSON(descartes_agent_to_json, a);
        ctl_print_inspect(stdout, a);
        return 0;
}

static int run(Ctl *c)
{
        return ctl_for_each_agent(c, inspect);
}

const CtlVerb ctl_verbs_inspect[] = {
        {
                .name = "inspect",
                .rank = 40,
                .summary = "  inspect AGENT               every field of an agent\n",
                .help = "Usage: descartesctl inspect AGENT\n\nPrint every field of an agent.\n",
                .arguments = ctl_arguments_one_agent,
                .run = run,
        },
        {},
};
