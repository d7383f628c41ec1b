/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "ctl.h"

static int call(Ctl *c, const char *id, DescartesAgent **ret, DescartesError *e)
{
        return descartes_remove(c->client, id, ret, e);
}

static int rm_one(Ctl *c, const char *id)
{
        return ctl_agent_op(c, id, "remove", call);
}

static int run(Ctl *c)
{
        return ctl_for_each_agent(c, rm_one);
}

const CtlVerb ctl_verb_rm = {
        .name = "rm",
        .summary = "  rm AGENT...                 remove ended agents and their output\n",
        .help = "Usage: descartesctl rm AGENT...\n\nRemove ended agents with their records and output.\n",
        .arguments = ctl_arguments_agents,
        .run = run,
};
