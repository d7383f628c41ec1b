/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <signal.h>

#include "ctl-exit.h"

CtlExit ctl_exit_from_code(DescartesErrorCode code)
{
        switch (code) {
        case DESCARTES_ERROR_CODE_BAD_REQUEST:
        case DESCARTES_ERROR_CODE_UNSUPPORTED_VERSION:
        case DESCARTES_ERROR_CODE_UNKNOWN_OP:
                return CTL_EXIT_BAD_REQUEST;
        case DESCARTES_ERROR_CODE_NOT_FOUND:
                return CTL_EXIT_NOT_FOUND;
        case DESCARTES_ERROR_CODE_CONFLICT:
                return CTL_EXIT_CONFLICT;
        case DESCARTES_ERROR_CODE_LIMIT_EXCEEDED:
                return CTL_EXIT_LIMIT_EXCEEDED;
        case DESCARTES_ERROR_CODE_UNENFORCEABLE:
                return CTL_EXIT_UNENFORCEABLE;
        case DESCARTES_ERROR_CODE_PERMISSION_DENIED:
                return CTL_EXIT_PERMISSION_DENIED;
        case DESCARTES_ERROR_CODE_SPAWN_FAILED:
                return CTL_EXIT_SPAWN_FAILED;
        case DESCARTES_ERROR_CODE_TIMEOUT:
                return CTL_EXIT_TIMEOUT;
        case DESCARTES_ERROR_CODE_BUSY:
                return CTL_EXIT_BUSY;
        case DESCARTES_ERROR_CODE_INTERNAL:
                return CTL_EXIT_INTERNAL;
        case DESCARTES_ERROR_CODE_ACTION_FAILED:
                return CTL_EXIT_ACTION_FAILED;
        case _DESCARTES_ERROR_CODE_MAX:
        case _DESCARTES_ERROR_CODE_INVALID:
        default:
                return CTL_EXIT_FAILURE;
        }
}

CtlExit ctl_exit_from_error(const DescartesError *e)
{
        if (!e)
                return CTL_EXIT_FAILURE;
        switch (e->kind) {
        case DESCARTES_ERROR_DAEMON:
                return ctl_exit_from_code(e->code);
        case DESCARTES_ERROR_UNREACHABLE:
                return CTL_EXIT_UNREACHABLE;
        case DESCARTES_ERROR_ACCESS:
                return CTL_EXIT_PERMISSION_DENIED;
        case DESCARTES_ERROR_TIMEOUT:
                return CTL_EXIT_TIMEOUT;
        case DESCARTES_ERROR_PROTOCOL:
                return CTL_EXIT_INTERNAL;
        case DESCARTES_ERROR_NONE:
        case DESCARTES_ERROR_LOCAL:
        case _DESCARTES_ERROR_KIND_MAX:
        case _DESCARTES_ERROR_KIND_INVALID:
        default:
                return CTL_EXIT_FAILURE;
        }
}

int ctl_exit_from_agent(const DescartesAgent *a)
{
        DescartesReason reason;
        int sig, code;

        if (descartes_agent_get_signal(a, &sig) && sig > 0 && sig < _NSIG)
                return 128 + sig;
        if (descartes_agent_get_reason(a, &reason) &&
            (reason == DESCARTES_REASON_OOM_KILLED || reason == DESCARTES_REASON_PIDS_LIMIT ||
             reason == DESCARTES_REASON_KILLED))
                return 128 + SIGKILL;
        if (descartes_agent_get_exit_code(a, &code))
                return code & 0xff;
        return CTL_EXIT_FAILURE;
}
