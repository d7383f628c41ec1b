/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "ctl.h"

static int call(Ctl *c, const char *id, DescartesAgent **ret, DescartesError *e)
{
        return descartes_kill(c->client, id, ret, e);
}

static int kill_one(Ctl *c, const char *id)
{
        return ctl_agent_op(c, id, "kill", call);
}

static int run(Ctl *c)
{
        return ctl_for_each_agent(c, kill_one);
}

const CtlVerb ctl_verb_kill = {
        .name = "kill",
        .summary = "  kill AGENT                  kill every process of an agent at once\n",
        .help = "Usage: descartesctl kill AGENT\n\nKill every process of an agent at once.\n",
        .arguments = ctl_arguments_one_agent,
        .run = run,
};
