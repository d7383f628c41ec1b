/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "ctl.h"

static int run(Ctl *c)
{
        _cleanup_free_ char *text = NULL;
        DescartesError e;

        if (descartes_metrics(c->client, &text, &e) < 0)
                return ctl_report(&e, "cannot read the metrics");
        /* the text is the format: -o json has nothing to add to it */
        if (fputs(text, stdout) == EOF || fflush(stdout) == EOF) {
                fprintf(stderr, "descartesctl: cannot write the metrics: %s\n", strerror(errno));
                return 1;
        }
        return 0;
}

const CtlVerb ctl_verbs_metrics[] = {
        {
                .name = "metrics",
                .rank = 137,
                .summary =
                        "  metrics                     the daemon's metrics in the Prometheus text format\n",
                .help = "Usage: descartesctl metrics\n"
                        "\n"
                        "Print the daemon's metrics in the Prometheus text exposition format (0.0.4):\n"
                        "the host, each agent's state, health, CPU time, memory, pids and limit hits,\n"
                        "each tenant's use and quota, and for admins the daemon's request counts and\n"
                        "latency histograms per op, the spawn latency histogram, events published and\n"
                        "malformed requests. A tenant sees its own agents and tenant only. The output\n"
                        "is the same in every -o mode.\n",
                .arguments = ctl_arguments_none,
                .run = run,
        },
        {},
};
