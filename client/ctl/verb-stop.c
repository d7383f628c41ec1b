/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdint.h>

#include "cleanup.h"
#include "ctl.h"

static int option_grace(CtlArgs *a, const char *arg, CtlParse *p)
{
        int r;

        r = ctl_parse_duration_ms("--grace", arg, &a->grace_ms, p);
        if (r < 0)
                return r;
        a->has_grace = true;
        return 0;
}

static const CtlOption options[] = {
        {"grace", 0, true, option_grace},
        {},
};

static int call(Ctl *c, const char *id, DescartesAgent **ret, DescartesError *e)
{
        const CtlArgs *a = c->args;

        return descartes_stop(c->client, id,
                              a->has_grace ? (int64_t)MIN(a->grace_ms, (uint64_t)INT64_MAX) : -1, ret, e);
}

static int stop(Ctl *c, const char *id)
{
        return ctl_agent_op(c, id, "stop", call);
}

static int run(Ctl *c)
{
        return ctl_for_each_agent(c, stop);
}

const CtlVerb ctl_verbs_stop[] = {
        {
                .name = "stop",
                .rank = 70,
                .summary = "  stop [--grace DURATION] AGENT   SIGTERM, then kill after the grace period\n",
                .help = "Usage: descartesctl stop [--grace DURATION] AGENT\n"
                        "\n"
                        "Send SIGTERM, wait the grace period (default: the daemon's), then kill the "
                        "agent.\n",
                .options = options,
                .arguments = ctl_arguments_one_agent,
                .run = run,
        },
        {},
};
