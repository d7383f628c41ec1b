/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <signal.h>

#include "ctl.h"

static int arguments(CtlArgs *a, char **args, size_t n_args, CtlParse *p)
{
        int r;

        if (n_args != 2)
                return ctl_fail(p, -EINVAL, "signal needs an agent and a signal: signal AGENT SIG");
        r = descartes_signal_from_string(args[1]);
        if (r < 0) {
                uint64_t v;
                if (ctl_parse_u64(args[1], &v) < 0 || v == 0 || v >= _NSIG)
                        return ctl_fail(p, -EINVAL,
                                        "signal: \"%s\" is not a signal (a name like TERM or a number)",
                                        args[1]);
                r = (int)v;
        }
        a->signal = r;
        return ctl_set_agents(a, args, 1, p);
}

static int call(Ctl *c, const char *id, DescartesAgent **ret, DescartesError *e)
{
        return descartes_signal(c->client, id, c->args->signal, ret, e);
}

static int signal_one(Ctl *c, const char *id)
{
        return ctl_agent_op(c, id, "signal", call);
}

static int run(Ctl *c)
{
        return ctl_for_each_agent(c, signal_one);
}

const CtlVerb ctl_verbs_signal[] = {
        {
                .name = "signal",
                .rank = 90,
                .summary = "  signal AGENT SIG            send a signal (TERM, SIGUSR1, 15, ...)\n",
                .help = "Usage: descartesctl signal AGENT SIG\n"
                        "\n"
                        "Send a signal, by name (TERM, SIGUSR1) or number, to the agent.\n",
                .arguments = arguments,
                .run = run,
        },
        {},
};
