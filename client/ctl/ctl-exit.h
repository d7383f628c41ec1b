/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* descartesctl's exit codes: one per kind of failure, stable for scripts (listed in --help). */

#include "descartes/descartes.h"

typedef enum CtlExit {
        CTL_EXIT_OK = 0,
        CTL_EXIT_FAILURE = 1,           /* anything not listed below */
        CTL_EXIT_USAGE = 2,             /* bad command line, ambiguous agent prefix */
        CTL_EXIT_UNREACHABLE = 3,       /* no daemon at the endpoint */
        CTL_EXIT_TIMEOUT = 4,           /* no answer in time, or the daemon's timeout error */
        CTL_EXIT_NOT_FOUND = 5,         /* no such agent */
        CTL_EXIT_CONFLICT = 6,          /* the agent's state does not allow it; name taken */
        CTL_EXIT_PERMISSION_DENIED = 7, /* the daemon refused us, or the socket is not ours to use */
        CTL_EXIT_SPAWN_FAILED = 8,
        CTL_EXIT_UNENFORCEABLE = 9,
        CTL_EXIT_LIMIT_EXCEEDED = 10,
        CTL_EXIT_BAD_REQUEST = 11, /* bad_request, unsupported_version, unknown_op */
        CTL_EXIT_INTERNAL = 12,    /* the daemon's internal error, or a reply we cannot read */
        CTL_EXIT_BUSY = 13,
        CTL_EXIT_ACTION_FAILED = 14, /* the agent's action handler answered an error */
} CtlExit;

/* The exit code for a failed library call. */
CtlExit ctl_exit_from_error(const DescartesError *e);
CtlExit ctl_exit_from_code(DescartesErrorCode code);
/* The exit code that mirrors an ended agent: its code when it completed, 128+signal when a signal ended
 * it (OOM and pids kills included, as SIGKILL), 1 when it failed to start or was lost. */
int ctl_exit_from_agent(const DescartesAgent *a);
