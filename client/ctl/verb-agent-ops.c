/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The verbs that run one per-agent op on each AGENT and print its record (its id, or the record with
 * -o json): one row each. A new op of that shape is one row here. */
#include "ctl.h"

static int call(Ctl *c, const char *id, DescartesAgent **ret, DescartesError *e)
{
        return c->args->verb->agent_op(c->client, id, ret, e);
}

static int one(Ctl *c, const char *id)
{
        return ctl_agent_op(c, id, c->args->verb->agent_op_what, call);
}

static int run(Ctl *c)
{
        return ctl_for_each_agent(c, one);
}

const CtlVerb ctl_verbs_agent_ops[] = {
        {
                .name = "pause",
                .rank = 50,
                .summary = "  pause AGENT                 freeze an agent\n",
                .help = "Usage: descartesctl pause AGENT\n\nFreeze every process of an agent.\n",
                .arguments = ctl_arguments_one_agent,
                .run = run,
                .agent_op = descartes_pause,
                .agent_op_what = "pause",
        },
        {
                .name = "resume",
                .rank = 60,
                .summary = "  resume AGENT                thaw an agent\n",
                .help = "Usage: descartesctl resume AGENT\n\nThaw a paused agent.\n",
                .arguments = ctl_arguments_one_agent,
                .run = run,
                .agent_op = descartes_resume,
                .agent_op_what = "resume",
        },
        {
                .name = "kill",
                .rank = 80,
                .summary = "  kill AGENT                  kill every process of an agent at once\n",
                .help = "Usage: descartesctl kill AGENT\n\nKill every process of an agent at once.\n",
                .arguments = ctl_arguments_one_agent,
                .run = run,
                .agent_op = descartes_kill,
                .agent_op_what = "kill",
        },
        {
                .name = "wait",
                .rank = 125,
                .summary = "  wait AGENT...               wait until agents have ended\n",
                .help = "Usage: descartesctl wait AGENT...\n\nWait until each agent has ended (up to "
                        "--timeout, "
                        "default 30s).\n",
                .arguments = ctl_arguments_agents,
                .run = run,
                .agent_op = descartes_wait,
                .agent_op_what = "wait for",
        },
        {
                .name = "rm",
                .rank = 130,
                .summary = "  rm AGENT...                 remove ended agents and their output\n",
                .help = "Usage: descartesctl rm AGENT...\n\nRemove ended agents with their records and "
                        "output.\n",
                .arguments = ctl_arguments_agents,
                .run = run,
                .agent_op = descartes_remove,
                .agent_op_what = "remove",
        },
        {},
};
