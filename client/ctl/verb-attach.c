/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* attach: this terminal joined to an agent's (spawn --tty), or to a command's (exec -t, --exec ID): the
 * session itself is ctl-session.c's. */
#include <errno.h>

#include "cleanup.h"
#include "ctl.h"

static int option_read_only(CtlArgs *a, const char *arg, CtlParse *p)
{
        a->read_only = true;
        return 0;
}

static int option_exec(CtlArgs *a, const char *arg, CtlParse *p)
{
        if (ctl_parse_u64(arg, &a->attach_exec_id) < 0 || a->attach_exec_id == 0)
                return ctl_fail(p, -EINVAL,
                                "--exec: \"%s\" is not an exec id (the number exec -t printed when you "
                                "detached)",
                                arg);
        return 0;
}

static const CtlOption options[] = {
        {"detach-keys", 0, true, ctl_option_detach_keys},
        {"read-only", 0, false, option_read_only},
        {"exec", 0, true, option_exec},
        {},
};

static int run(Ctl *c)
{
        _cleanup_free_ char *id = NULL;
        int r;

        r = ctl_resolve(c, c->args->agents[0], &id);
        if (r != 0)
                return r;
        return ctl_attach_session(c, id);
}

const CtlVerb ctl_verbs_attach[] = {
        {
                .name = "attach",
                .rank = 105,
                .summary =
                        "  attach [--read-only] AGENT  join the terminal of an agent spawned with --tty\n",
                .help = "Usage: descartesctl attach [--detach-keys KEYS] [--read-only] [--exec ID] AGENT\n"
                        "\n"
                        "Join the terminal of an agent spawned with --tty: its recent output first, then\n"
                        "what it writes; what you type goes to it, and its window follows yours. The\n"
                        "detach keys leave it running (attach again later); its end ends the session,\n"
                        "with the agent's exit code as --wait. Several clients may be attached at once.\n"
                        "\n"
                        "  --detach-keys KEYS  the detach sequence, keys separated by commas: a character\n"
                        "                      or ctrl-KEY (default " CTL_DETACH_KEYS_DEFAULT ")\n"
                        "  --read-only         watch only: no input, no window size\n"
                        "  --exec ID           the terminal of the command exec -t started with this id\n"
                        "                      (it ran on after a detach): the rest of its output, and\n"
                        "                      its exit code once it ends\n",
                .options = options,
                .arguments = ctl_arguments_one_agent,
                .run = run,
        },
        {},
};
