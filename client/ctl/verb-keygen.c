/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>

#include "ctl-exit.h"
#include "ctl.h"
#include "log.h"

static int option_out(CtlArgs *a, const char *arg, CtlParse *p)
{
        if (!arg[0])
                return ctl_fail(p, -EINVAL, "--out: the prefix is empty");
        return ctl_set_string(&a->keygen_out, arg, p);
}

static const CtlOption options[] = {
        {"out", 0, true, option_out},
        {},
};

/* Needs no daemon: the key pair is made here, its files written, and the public key printed. */
static int run(Ctl *c)
{
        char public[DESCARTES_CURVE_KEY_LEN + 1];
        DescartesError e;

        if (descartes_curve_keygen(c->args->keygen_out, public, &e) < 0) {
                log_error("keygen: %s.", e.message);
                return CTL_EXIT_FAILURE;
        }
        if (ctl_json_mode(c))
                printf("{\"public_key\":\"%s\"}\n", public);
        else
                printf("%s\n", public);
        return CTL_EXIT_OK;
}

const CtlVerb ctl_verbs_keygen[] = {
        {
                .name = "keygen",
                .rank = 150,
                .summary = "  keygen [--out PREFIX]       make a CURVE key pair for tcp:// daemons\n",
                .help = "Usage: descartesctl keygen [--out PREFIX]\n"
                        "\n"
                        "Make a new CURVE key pair for talking to descartesd over tcp://: PREFIX.key holds\n"
                        "the secret key (mode 0600; pass it with --key) and PREFIX.pub the public key, "
                        "which\n"
                        "is also printed. The daemon's administrator lists the public key in the daemon's\n"
                        "curve_clients_dir, mapped to a tenant (descartesd(8)). Existing files are never\n"
                        "replaced. The same command makes the daemon's own key pair.\n"
                        "\n"
                        "  --out PREFIX    where to write (default ~/.config/descartes/client, the key\n"
                        "                  file --key defaults to)\n",
                .options = options,
                .arguments = ctl_arguments_none,
                .run = run,
        },
        {},
};
