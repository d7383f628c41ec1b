/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <signal.h>

#include "ctl-exit.h"

CtlExit ctl_exit_from_code(ProtoErrorCode code)
{
        switch (code) {
        case PROTO_ERROR_BAD_REQUEST:
        case PROTO_ERROR_UNSUPPORTED_VERSION:
        case PROTO_ERROR_UNKNOWN_OP:
                return CTL_EXIT_BAD_REQUEST;
        case PROTO_ERROR_NOT_FOUND:
                return CTL_EXIT_NOT_FOUND;
        case PROTO_ERROR_CONFLICT:
                return CTL_EXIT_CONFLICT;
        case PROTO_ERROR_LIMIT_EXCEEDED:
                return CTL_EXIT_LIMIT_EXCEEDED;
        case PROTO_ERROR_UNENFORCEABLE:
                return CTL_EXIT_UNENFORCEABLE;
        case PROTO_ERROR_PERMISSION_DENIED:
                return CTL_EXIT_PERMISSION_DENIED;
        case PROTO_ERROR_SPAWN_FAILED:
                return CTL_EXIT_SPAWN_FAILED;
        case PROTO_ERROR_TIMEOUT:
                return CTL_EXIT_TIMEOUT;
        case PROTO_ERROR_BUSY:
                return CTL_EXIT_BUSY;
        case PROTO_ERROR_INTERNAL:
                return CTL_EXIT_INTERNAL;
        case _PROTO_ERROR_MAX:
        case _PROTO_ERROR_INVALID:
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

int ctl_exit_from_agent(const ProtoAgentInfo *info)
{
        if (info->has_signal && info->signal > 0 && info->signal < _NSIG)
                return 128 + info->signal;
        if (info->has_reason &&
            (info->reason == PROTO_REASON_OOM_KILLED || info->reason == PROTO_REASON_PIDS_LIMIT ||
             info->reason == PROTO_REASON_KILLED))
                return 128 + SIGKILL;
        if (info->has_exit_code)
                return info->exit_code & 0xff;
        return CTL_EXIT_FAILURE;
}
