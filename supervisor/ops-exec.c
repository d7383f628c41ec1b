/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* exec: a command in a running agent's sandbox, run by its shim (shim-contract.h, EXEC); the reply waits for
 * its EXEC_DONE (call-wait.c). */
#include "agent-log.h"
#include "agent.h"
#include "ops.h"
#include "time-util.h"

/* the shim kills the command at its timeout and answers at once; this covers a shim that never does */
#define EXEC_REPLY_GRACE_USEC (5 * USEC_PER_SEC)
/* the first shim protocol version with EXEC */
#define SHIM_VERSION_EXEC 4

_Static_assert(PROTO_EXEC_ARGV_BYTES_MAX <= SHIM_EXEC_ARGV_MAX, "exec argv fits EXEC");
_Static_assert(PROTO_EXEC_ARGV_MAX <= SHIM_EXEC_ARGC_MAX, "exec argv fits EXEC");
_Static_assert(PROTO_EXEC_STDIN_MAX <= SHIM_EXEC_STDIN_MAX, "exec stdin fits EXEC");
_Static_assert(PROTO_EXEC_OUTPUT_MAX == SHIM_EXEC_OUTPUT_MAX, "the shim keeps what the reply holds");
_Static_assert(PROTO_EXEC_TIMEOUT_MAX_MS <= SHIM_EXEC_TIMEOUT_MAX, "exec timeouts fit EXEC");
_Static_assert(PROTO_EXEC_CONCURRENT_MAX == SHIM_EXEC_MAX, "the shim runs as many as the protocol says");
_Static_assert(offsetof(ProtoExecArgs, agent) == 0, "agent first");

int op_exec_check_shim(Agent *a, const char *what, Failure *ret)
{
        if (a->shim.control_fd < 0 || a->shim.version == 0)
                return failure_set(ret, -ENOTCONN, PROTO_ERROR_CONFLICT,
                                   "agent %s has no shim connected to this daemon: it cannot %s", a->info.id,
                                   what);
        if (a->shim.version < SHIM_VERSION_EXEC)
                return failure_set(
                        ret, -EOPNOTSUPP, PROTO_ERROR_CONFLICT,
                        "agent %s runs under a shim of protocol version %u, too old to %s (it needs "
                        "version %d, from the agents this release starts)",
                        a->info.id, a->shim.version, what, SHIM_VERSION_EXEC);
        return 0;
}

static int step_exec(OpStep *s, Agent *a, const void *v)
{
        const ProtoExecArgs *args = v;
        uint64_t timeout_ms = args->has_timeout_ms ? args->timeout_ms : PROTO_EXEC_TIMEOUT_DEFAULT_MS;
        uint64_t cookie;
        int r;

        if (a->info.state != PROTO_STATE_RUNNING)
                return op_step_conflict(s, a, "exec into");
        r = op_exec_check_shim(a, "run exec", &s->fail);
        if (r < 0)
                return r;
        cookie = ++a->next_exec_cookie;
        r = shim_link_send_exec(a, cookie, args->argv, args->input.data,
                                args->input.data ? args->input.size : 0, (uint32_t)timeout_ms);
        if (r < 0)
                return op_step_fail(s, r, PROTO_ERROR_INTERNAL,
                                    "cannot pass the command to the shim of agent %s: %m", a->info.id);
        s->call->cookie = cookie;
        log_agent_debug(a, "exec %s (EXEC %llu, timeout %llu ms).", args->argv[0],
                        (unsigned long long)cookie, (unsigned long long)timeout_ms);
        return op_step_park(s, a, CALL_WAIT_EXEC, timeout_ms * USEC_PER_MSEC + EXEC_REPLY_GRACE_USEC);
}

const OpHandler ops_exec_handlers[] = {
        {PROTO_OP_EXEC, .step = step_exec},
        {_PROTO_OP_INVALID},
};
