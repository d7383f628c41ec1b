/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "ctl.h"

static int call(Ctl *c, const char *id, DescartesAgent **ret, DescartesError *e)
{
        return descartes_pause(c->client, id, ret, e);
}

static int pause_one(Ctl *c, const char *id)
{
        return ctl_agent_op(c, id, "pause", call);
}

static int run(Ctl *c)
{
        return ctl_for_each_agent(c, pause_one);
}

const CtlVerb ctl_verb_pause = {
        .name = "pause",
        .summary = "  pause AGENT                 freeze an agent\n",
        .help = "Usage: descartesctl pause AGENT\n\nFreeze every process of an agent.\n",
        .arguments = ctl_arguments_one_agent,
        .run = run,
};
