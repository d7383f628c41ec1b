/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cleanup.h"
#include "ctl-output.h"
#include "ctl.h"

static int run(Ctl *c)
{
        _cleanup_(descartes_health_unrefp) DescartesHealth *h = NULL;
        DescartesError e;

        if (descartes_health(c->client, &h, &e) < 0)
                return ctl_report(&e, "health check failed");
        if (ctl_json_mode(c))
                return CTL_PRINT_JSON(descartes_health_to_json, h);
        ctl_print_health(stdout, h);
        return 0;
}

const CtlVerb ctl_verbs_health[] = {
        {
                .name = "health",
                .rank = 10,
                .summary = "  health                      the daemon's version, uptime, agents per state, "
                           "host\n",
                .help = "Usage: descartesctl health\n"
                        "\n"
                        "Print the daemon's version, protocol, uptime, agents per state, host and cgroup\n"
                        "information.\n",
                .arguments = ctl_arguments_none,
                .run = run,
        },
        {},
};
