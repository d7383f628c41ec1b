/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* descartes-cgroup-holder: the only process of descartes-agents.service, whose delegated cgroup holds every
 * agent. It moves itself into a leaf (holder/) so that descartesd may enable controllers in the unit's
 * cgroup, tells systemd it is ready, and waits for TERM. Keeping the agents out of descartesd.service's own
 * cgroup lets that unit restart under live agents on systemd < 254, which would otherwise fail the start
 * with 219/CGROUP (it places the new main process into a cgroup whose subtree_control has controllers
 * enabled). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "cgroup-fs.h"
#include "cleanup.h"
#include "log.h"

int main(int argc, char *argv[])
{
        _cleanup_free_ char *self = NULL;
        sigset_t mask;
        int r;

        log_set_ident("descartes-cgroup-holder");
        if (argc > 1) {
                fprintf(stderr,
                        "Usage: %s\nHolds the cgroup of descartes-agents.service; takes no arguments.\n",
                        argv[0]);
                return 2;
        }
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return log_error_errno(-errno, "Failed to block signals: %m"), 1;

        r = cgroup_move_self_to_leaf("holder", &self);
        if (r < 0)
                return log_error_errno(r, "Failed to move into a leaf holder/ of our cgroup: %m"), 1;
        (void)sd_notifyf(0, "READY=1\nSTATUS=Holding %s for descartesd's agents", self);

        for (;;) {
                int sig = sigwaitinfo(&mask, NULL);
                if (sig == SIGTERM || sig == SIGINT) {
                        (void)sd_notify(0, "STOPPING=1");
                        return 0;
                }
        }
}
