/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "ctl.h"

static int call(Ctl *c, const char *id, DescartesAgent **ret, DescartesError *e)
{
        return descartes_resume(c->client, id, ret, e);
}

static int resume_one(Ctl *c, const char *id)
{
        return ctl_agent_op(c, id, "resume", call);
}

static int run(Ctl *c)
{
        return ctl_for_each_agent(c, resume_one);
}

const CtlVerb ctl_verb_resume = {
        .name = "resume",
        .summary = "  resume AGENT                thaw an agent\n",
        .help = "Usage: descartesctl resume AGENT\n\nThaw a paused agent.\n",
        .arguments = ctl_arguments_one_agent,
        .run = run,
};
