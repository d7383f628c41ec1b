/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What an agent tells its observer (Manager.agent_observer: the control layer, which answers the calls
 * waiting on the agent). The agent only notifies; it never answers a request itself. */

#include <stdint.h>

#include "failure.h"
#include "proto.h"
#include "shim-contract.h"

typedef struct Agent Agent;

typedef enum AgentNoticeType {
        AGENT_NOTICE_STARTED,      /* the agent exec'd */
        AGENT_NOTICE_SPAWN_FAILED, /* it cannot start (failure); it has not ended (yet) */
        AGENT_NOTICE_FROZEN,       /* a pause is done */
        AGENT_NOTICE_THAWED,       /* a resume is done */
        AGENT_NOTICE_RESUMED,      /* a pause in progress was overtaken by a resume */
        AGENT_NOTICE_STOPPING,     /* a pause or resume in progress was overtaken by a stop */
        AGENT_NOTICE_ENDED,        /* exited or failed (msg: why it failed, if it did) */
        AGENT_NOTICE_STDIN_ACK,    /* the shim took a stdin chunk (cookie, result: bytes or -errno) */
        AGENT_NOTICE_ACTION_REPLY, /* an action's answer (cookie: its token, result: 0 with data, or -errno)
                                    */
        AGENT_NOTICE_REMOVED,      /* its cgroups and files are gone; it is freed next */
        AGENT_NOTICE_FREED,        /* it goes away now */
        AGENT_NOTICE_EXEC_DONE,    /* a command of EXEC ended or did not start (cookie, exec_done) */
        _AGENT_NOTICE_MAX,
        _AGENT_NOTICE_INVALID = -EINVAL,
} AgentNoticeType;

typedef struct AgentNotice {
        AgentNoticeType type;
        const Failure *failure; /* SPAWN_FAILED */
        const char *msg;        /* ENDED: why it failed, if it did */
        uint64_t cookie;        /* STDIN_ACK, ACTION_REPLY, EXEC_DONE */
        int64_t result;         /* STDIN_ACK, ACTION_REPLY */
        const char *data;       /* ACTION_REPLY: the agent's line (JSON, not NUL-terminated) */
        size_t size;
        bool *taken;              /* ACTION_REPLY: set when a call took the answer */
        const ShimMsg *exec_done; /* EXEC_DONE: the decoded packet (its output in data, data2) */
} AgentNotice;

/* Hands n to the agent's observer. */
void agent_notify(Agent *a, const AgentNotice *n);
