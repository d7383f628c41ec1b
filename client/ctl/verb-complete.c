/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* descartesctl __complete: what the shell completions (completions/) offer, read from the verb and option
 * tables themselves so that they never drift from the parser. Hidden from the main help.
 *   __complete verbs          one verb per line, "NAME\tagents" when its arguments are AGENTs, else
 * "NAME\t-"
 *   __complete options VERB   the global options and VERB's, "WORD\tN" (N: 1 when it takes an argument)
 *   __complete agents         the ids and names of the caller's agents (ended ones too), one per line;
 *                             nothing, and exit 0, when the daemon cannot be reached */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "ctl-exit.h"
#include "ctl.h"
#include "string-util.h"

static bool takes_agents(const CtlVerb *v)
{
        return v->arguments != ctl_arguments_none && !v->command_args && !v->hidden;
}

static int complete_verbs(void)
{
        for (const CtlVerb *const *v = ctl_verb_list(); *v; v++)
                if (!(*v)->hidden)
                        printf("%s\t%s\n", (*v)->name, takes_agents(*v) ? "agents" : "-");
        return CTL_EXIT_OK;
}

static int complete_options(const char *verb)
{
        const CtlVerb *v = ctl_verb_from_string(verb);

        ctl_print_global_options(stdout);
        if (!v || !v->options)
                return CTL_EXIT_OK;
        for (const CtlOption *o = v->options; o->name; o++) {
                printf("--%s\t%d\n", o->name, o->has_arg);
                if (o->short_name > 0 && o->short_name < 0x100)
                        printf("-%c\t%d\n", o->short_name, o->has_arg);
        }
        return CTL_EXIT_OK;
}

static int complete_agents(Ctl *c)
{
        _cleanup_(descartes_agent_list_unrefp) DescartesAgentList *list = NULL;
        DescartesListArgs args = DESCARTES_LIST_ARGS_INIT;
        const char *host = c->args->host ?: getenv(DESCARTES_ENV_HOST) ?: DESCARTES_DEFAULT_CONTROL_ENDPOINT;
        DescartesError e;
        size_t n;

        args.all = true;
        args.no_usage = true;
        /* A shell waits for this: a daemon that is not running gives no candidates, at once when its ipc
         * socket is missing, else within the send attempts of a short timeout. */
        if (startswith(host, "ipc://") && access(host + strlen("ipc://"), F_OK) < 0)
                return CTL_EXIT_OK;
        if (c->args->timeout_usec == 0)
                descartes_client_set_timeout(c->client, 300 * 1000);
        if (descartes_list(c->client, &args, &list, &e) < 0)
                return CTL_EXIT_OK;
        n = descartes_agent_list_get_size(list);
        for (size_t i = 0; i < n; i++) {
                const DescartesAgent *a = descartes_agent_list_get(list, i);
                const char *name = descartes_agent_get_name(a);

                printf("%s\n", descartes_agent_get_id(a));
                if (name)
                        printf("%s\n", name);
        }
        return CTL_EXIT_OK;
}

static int run(Ctl *c)
{
        char **w = c->args->complete_words;

        if (streq(w[0], "verbs"))
                return complete_verbs();
        if (streq(w[0], "options"))
                return complete_options(w[1]);
        return complete_agents(c);
}

static int arguments(CtlArgs *a, char **args, size_t n_args, CtlParse *p)
{
        bool ok = (n_args == 1 && (streq(args[0], "verbs") || streq(args[0], "agents"))) ||
                  (n_args == 2 && streq(args[0], "options"));

        if (!ok)
                return ctl_fail(p, -EINVAL, "__complete: expected verbs, options VERB or agents");
        /* args ends with argv's NULL */
        if (strv_copy(args, &a->complete_words) < 0)
                return ctl_fail(p, -ENOMEM, "out of memory");
        return 0;
}

const CtlVerb ctl_verbs_complete[] = {
        {
                .name = "__complete",
                .rank = 1000,
                .summary = "",
                .help = "Usage: descartesctl __complete verbs | options VERB | agents\n"
                        "\n"
                        "What the bash and zsh completions offer: the commands, a command's options, the\n"
                        "ids and names of your agents (nothing when descartesd is not running).\n",
                .hidden = true,
                .arguments = arguments,
                .run = run,
        },
        {},
};
