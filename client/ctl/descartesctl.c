/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>

#include "cleanup.h"
#include "ctl-exit.h"
#include "ctl.h"
#include "log.h"

extern char **environ;

int main(int argc, char **argv)
{
        _cleanup_(ctl_args_done) CtlArgs args = {};
        DescartesClient *client = NULL;
        char err[1024];
        Ctl ctl;
        int r;

        log_set_ident("descartesctl");
        r = ctl_args_parse(argc, argv, environ, &args, err, sizeof err);
        if (r == -ENOMEM)
                return log_oom(), CTL_EXIT_FAILURE;
        if (r < 0) {
                log_error("%s.", err);
                return CTL_EXIT_USAGE;
        }
        if (args.help) {
                ctl_help_verb(args.verb, stdout);
                return CTL_EXIT_OK;
        }
        if (args.version) {
                printf("descartesctl %s (protocol %d)\n", DESCARTES_VERSION, DESCARTES_PROTOCOL_VERSION);
                return CTL_EXIT_OK;
        }

        r = descartes_client_new(args.host, &client);
        if (r < 0) {
                if (r == -ENOMEM)
                        return log_oom(), CTL_EXIT_FAILURE;
                log_error("\"%s\" is not a ZeroMQ endpoint (like ipc:///run/descartes/control or tcp://host:port).",
                          args.host ?: getenv(DESCARTES_ENV_HOST) ?: "");
                return CTL_EXIT_USAGE;
        }
        if (args.events)
                log_warning("--events is obsolete and ignored: events come over the control endpoint.");
        if (args.server_key || args.client_key) {
                DescartesError e;

                if (descartes_client_set_curve(client, args.server_key, args.client_key, &e) < 0) {
                        log_error("%s.", e.message);
                        descartes_client_free(client);
                        return e.error == -ENOMEM ? CTL_EXIT_FAILURE : CTL_EXIT_USAGE;
                }
        }
        if (args.timeout_usec > 0)
                descartes_client_set_timeout(client, args.timeout_usec);

        ctl = (Ctl){.args = &args, .client = client};
        r = ctl_run(&ctl);
        if (fflush(stdout) != 0 && r == 0) {
                log_error("Cannot write the output.");
                r = CTL_EXIT_FAILURE;
        }
        descartes_subscription_free(ctl.presubscribed);
        descartes_client_free(client);
        return r;
}
