/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* descartes-cgroup-holder: a process that holds a cgroup and waits for TERM.
 *
 * With --scope, the first process of an agent's scope under the systemd cgroup driver
 * (supervisor/cgroup-systemd.h): a scope cannot start without one, and it keeps the scope (and the agent's
 * counters) until descartesd removes the agent and stops the scope. descartesd places it (holder/ of the
 * scope); it does nothing else.
 *
 * Without arguments, the only process of a unit whose delegated cgroup holds descartesd's agents under the
 * cgroupfs driver (descartesd(8), CGROUP LAYOUT): it moves itself into a leaf (holder/) so that descartesd
 * may enable controllers in the unit's cgroup, tells systemd it is ready, and waits. Keeping the agents out
 * of descartesd.service's own cgroup lets that unit restart under live agents on systemd < 254, which would
 * otherwise fail the start with 219/CGROUP (it places the new main process into a cgroup whose
 * subtree_control has controllers enabled). */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
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

        bool scope = argc == 2 && strcmp(argv[1], "--scope") == 0;

        log_set_ident("descartes-cgroup-holder");
        if (argc > 2 || (argc == 2 && !scope)) {
                fprintf(stderr,
                        "Usage: %s [--scope]\nHolds the cgroup of a unit for descartesd's agents (--scope: "
                        "an "
                        "agent's scope, placed by descartesd).\n",
                        argv[0]);
                return 2;
        }
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return log_error_errno(-errno, "Failed to block signals: %m"), 1;

        if (!scope) {
                r = cgroup_move_self_to_leaf("holder", &self);
                if (r < 0)
                        return log_error_errno(r, "Failed to move into a leaf holder/ of our cgroup: %m"), 1;
                (void)sd_notifyf(0, "READY=1\nSTATUS=Holding %s for descartesd's agents", self);
        }

        for (;;) {
                int sig = sigwaitinfo(&mask, NULL);
                if (sig == SIGTERM || sig == SIGINT) {
                        (void)sd_notify(0, "STOPPING=1");
                        return 0;
                }
        }
}
