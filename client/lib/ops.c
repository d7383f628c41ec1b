/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <signal.h>
#include <string.h>

#include "cleanup.h"
#include "client-internal.h"
#include "time-util.h"

static void reply_donep(ProtoReply *r)
{
        proto_reply_done(r);
}
#define _cleanup_reply_ _cleanup_(reply_donep)

static int check_client(DescartesClient *c, const void *must, DescartesError *e)
{
        descartes_error_clear(e);
        if (!c || !must)
                return client_error_set(e, DESCARTES_ERROR_LOCAL, -EINVAL, "invalid argument");
        return 0;
}

static int check_agent_ref(const char *agent, DescartesError *e)
{
        size_t n = agent ? strlen(agent) : 0;

        if (n == 0 || n > PROTO_AGENT_REF_MAX)
                return client_error_set(e, DESCARTES_ERROR_LOCAL, -EINVAL,
                                        "an agent is named by its id or name, 1 to %d bytes",
                                        PROTO_AGENT_REF_MAX);
        return 0;
}

int descartes_health(DescartesClient *c, DescartesHealth *ret, DescartesError *e)
{
        _cleanup_reply_ ProtoReply reply = {};
        ProtoRequest req = {.op = PROTO_OP_HEALTH};
        int r;

        r = check_client(c, ret, e);
        if (r < 0)
                return r;
        r = client_call(c, &req, 0, &reply, e);
        if (r < 0)
                return r;
        *ret = reply.result.health;
        memset(&reply.result.health, 0, sizeof reply.result.health);
        return 0;
}

int descartes_list(DescartesClient *c, const DescartesListArgs *args, DescartesList *ret, DescartesError *e)
{
        _cleanup_reply_ ProtoReply reply = {};
        ProtoRequest req = {.op = PROTO_OP_LIST};
        int r;

        r = check_client(c, ret, e);
        if (r < 0)
                return r;
        if (args)
                req.args.list = *args;
        r = client_call(c, &req, 0, &reply, e);
        if (r < 0)
                return r;
        *ret = reply.result.list;
        memset(&reply.result.list, 0, sizeof reply.result.list);
        return 0;
}

/* The calls whose reply is {agent: INFO}. */
static int call_agent(DescartesClient *c, const ProtoRequest *req, uint64_t extra_usec,
                      DescartesAgentInfo *ret, DescartesError *e)
{
        _cleanup_reply_ ProtoReply reply = {};
        int r;

        r = client_call(c, req, extra_usec, &reply, e);
        if (r < 0)
                return r;
        if (ret) {
                *ret = reply.result.agent.agent;
                memset(&reply.result.agent.agent, 0, sizeof reply.result.agent.agent);
        }
        return 0;
}

static int agent_op(DescartesClient *c, ProtoOp op, const char *agent, DescartesAgentInfo *ret,
                    DescartesError *e)
{
        ProtoRequest req = {.op = op, .args.agent.agent = (char *)agent};
        int r;

        r = check_client(c, c, e);
        if (r < 0)
                return r;
        r = check_agent_ref(agent, e);
        if (r < 0)
                return r;
        return call_agent(c, &req, 0, ret, e);
}

int descartes_get(DescartesClient *c, const char *agent, DescartesAgentInfo *ret, DescartesError *e)
{
        return agent_op(c, PROTO_OP_GET, agent, ret, e);
}

int descartes_pause(DescartesClient *c, const char *agent, DescartesAgentInfo *ret, DescartesError *e)
{
        return agent_op(c, PROTO_OP_PAUSE, agent, ret, e);
}

int descartes_resume(DescartesClient *c, const char *agent, DescartesAgentInfo *ret, DescartesError *e)
{
        return agent_op(c, PROTO_OP_RESUME, agent, ret, e);
}

int descartes_kill(DescartesClient *c, const char *agent, DescartesAgentInfo *ret, DescartesError *e)
{
        return agent_op(c, PROTO_OP_KILL, agent, ret, e);
}

int descartes_remove(DescartesClient *c, const char *agent, DescartesAgentInfo *ret, DescartesError *e)
{
        return agent_op(c, PROTO_OP_REMOVE, agent, ret, e);
}

int descartes_stop(DescartesClient *c, const char *agent, int64_t grace_ms, DescartesAgentInfo *ret,
                   DescartesError *e)
{
        ProtoRequest req = {.op = PROTO_OP_STOP, .args.stop.agent = (char *)agent};
        uint64_t extra = 0;
        int r;

        r = check_client(c, c, e);
        if (r < 0)
                return r;
        r = check_agent_ref(agent, e);
        if (r < 0)
                return r;
        if (grace_ms >= 0) {
                req.args.stop.has_grace_ms = true;
                req.args.stop.grace_ms = (uint64_t)grace_ms;
                extra = (uint64_t)grace_ms > UINT64_MAX / 2 / USEC_PER_MSEC
                                ? UINT64_MAX / 2
                                : (uint64_t)grace_ms * USEC_PER_MSEC;
        }
        return call_agent(c, &req, extra, ret, e);
}

int descartes_signal(DescartesClient *c, const char *agent, int sig, DescartesAgentInfo *ret,
                     DescartesError *e)
{
        ProtoRequest req = {.op = PROTO_OP_SIGNAL, .args.signal = {.agent = (char *)agent, .signal = sig}};
        int r;

        r = check_client(c, c, e);
        if (r < 0)
                return r;
        r = check_agent_ref(agent, e);
        if (r < 0)
                return r;
        if (sig <= 0 || sig >= _NSIG)
                return client_error_set(e, DESCARTES_ERROR_LOCAL, -EINVAL, "%d is not a signal number", sig);
        return call_agent(c, &req, 0, ret, e);
}

int descartes_spawn(DescartesClient *c, const DescartesSpawnArgs *args, DescartesAgentInfo *ret,
                    DescartesError *e)
{
        ProtoRequest req = {.op = PROTO_OP_SPAWN};
        int r;

        r = check_client(c, args, e);
        if (r < 0)
                return r;
        if (!args->argv || !args->argv[0] || !args->argv[0][0])
                return client_error_set(e, DESCARTES_ERROR_LOCAL, -EINVAL, "spawn needs a command to run");
        req.args.spawn = *args;
        if (req.args.spawn.n_argv == 0)
                while (req.args.spawn.argv[req.args.spawn.n_argv])
                        req.args.spawn.n_argv++;
        return call_agent(c, &req, 0, ret, e);
}

int descartes_stdin(DescartesClient *c, const char *agent, const void *data, size_t size, bool close_after,
                    uint64_t *ret_written, DescartesError *e)
{
        _cleanup_reply_ ProtoReply reply = {};
        ProtoRequest req = {.op = PROTO_OP_STDIN};
        static const uint8_t empty[1];
        int r;

        r = check_client(c, c, e);
        if (r < 0)
                return r;
        r = check_agent_ref(agent, e);
        if (r < 0)
                return r;
        if (size > PROTO_STDIN_DATA_MAX || (size > 0 && !data))
                return client_error_set(e, DESCARTES_ERROR_LOCAL, -EINVAL,
                                        "stdin data is sent in chunks of at most %d bytes",
                                        PROTO_STDIN_DATA_MAX);
        req.args.input.agent = (char *)agent;
        req.args.input.close = close_after;
        if (size > 0 || !close_after) {
                req.args.input.data.data = (uint8_t *)(data ?: empty);
                req.args.input.data.size = size;
        }
        r = client_call(c, &req, 0, &reply, e);
        if (r < 0)
                return r;
        if (ret_written)
                *ret_written = reply.result.input.written;
        return 0;
}

int descartes_output(DescartesClient *c, const DescartesOutputArgs *args, DescartesOutput *ret,
                     DescartesError *e)
{
        _cleanup_reply_ ProtoReply reply = {};
        ProtoRequest req = {.op = PROTO_OP_OUTPUT};
        int r;

        r = check_client(c, args, e);
        if (r < 0)
                return r;
        if (!ret)
                return client_error_set(e, DESCARTES_ERROR_LOCAL, -EINVAL, "invalid argument");
        r = check_agent_ref(args->agent, e);
        if (r < 0)
                return r;
        req.args.output = *args;
        r = client_call(c, &req, 0, &reply, e);
        if (r < 0)
                return r;
        *ret = reply.result.output;
        memset(&reply.result.output, 0, sizeof reply.result.output);
        return 0;
}

int descartes_action(DescartesClient *c, const DescartesActionArgs *args, DescartesValue *ret_result,
                     DescartesError *e)
{
        _cleanup_reply_ ProtoReply reply = {};
        ProtoRequest req = {.op = PROTO_OP_ACTION};
        uint64_t extra = 0;
        int r;

        r = check_client(c, args, e);
        if (r < 0)
                return r;
        r = check_agent_ref(args->agent, e);
        if (r < 0)
                return r;
        if (!args->name || !args->name[0])
                return client_error_set(e, DESCARTES_ERROR_LOCAL, -EINVAL, "an action needs a name");
        req.args.action = *args;
        if (args->has_timeout_ms)
                extra = MIN(args->timeout_ms, UINT64_MAX / 2 / USEC_PER_MSEC) * USEC_PER_MSEC;
        r = client_call(c, &req, extra, &reply, e);
        if (r < 0)
                return r;
        if (ret_result) {
                *ret_result = reply.result.action.result;
                memset(&reply.result.action.result, 0, sizeof reply.result.action.result);
        }
        return 0;
}

int descartes_batch(DescartesClient *c, const DescartesBatchArgs *args, DescartesBatchResult *ret,
                    DescartesError *e)
{
        _cleanup_reply_ ProtoReply reply = {};
        ProtoRequest req = {.op = PROTO_OP_BATCH};
        uint64_t extra = 0;
        int r;

        r = check_client(c, args, e);
        if (r < 0)
                return r;
        if (!ret)
                return client_error_set(e, DESCARTES_ERROR_LOCAL, -EINVAL, "invalid argument");
        if (!proto_op_batchable(args->op))
                return client_error_set(e, DESCARTES_ERROR_LOCAL, -EINVAL, "%s cannot be batched",
                                        proto_op_to_string(args->op) ?: "this op");
        req.args.batch = *args;
        if (req.args.batch.agents && req.args.batch.n_agents == 0)
                while (req.args.batch.agents[req.args.batch.n_agents])
                        req.args.batch.n_agents++;
        if (args->op == PROTO_OP_STOP && args->args.stop.has_grace_ms)
                extra = MIN(args->args.stop.grace_ms, UINT64_MAX / 2 / USEC_PER_MSEC) * USEC_PER_MSEC;
        r = client_call(c, &req, extra, &reply, e);
        if (r < 0)
                return r;
        *ret = reply.result.batch;
        memset(&reply.result.batch, 0, sizeof reply.result.batch);
        return 0;
}

int descartes_events(DescartesClient *c, uint64_t since_seq, uint64_t limit, DescartesEvents *ret,
                     DescartesError *e)
{
        _cleanup_reply_ ProtoReply reply = {};
        ProtoRequest req = {.op = PROTO_OP_EVENTS, .args.events = {.since_seq = since_seq}};
        int r;

        r = check_client(c, ret, e);
        if (r < 0)
                return r;
        if (limit > 0) {
                req.args.events.has_limit = true;
                req.args.events.limit = MIN(limit, (uint64_t)PROTO_EVENTS_MAX);
        }
        r = client_call(c, &req, 0, &reply, e);
        if (r < 0)
                return r;
        *ret = reply.result.events;
        memset(&reply.result.events, 0, sizeof reply.result.events);
        return 0;
}

int descartes_stats(DescartesClient *c, DescartesStats *ret, DescartesError *e)
{
        _cleanup_reply_ ProtoReply reply = {};
        ProtoRequest req = {.op = PROTO_OP_STATS};
        int r;

        r = check_client(c, ret, e);
        if (r < 0)
                return r;
        r = client_call(c, &req, 0, &reply, e);
        if (r < 0)
                return r;
        *ret = reply.result.stats;
        memset(&reply.result.stats, 0, sizeof reply.result.stats);
        return 0;
}

int descartes_shutdown(DescartesClient *c, bool stop_agents, DescartesError *e)
{
        _cleanup_reply_ ProtoReply reply = {};
        ProtoRequest req = {.op = PROTO_OP_SHUTDOWN, .args.shutdown.stop_agents = stop_agents};
        int r;

        r = check_client(c, c, e);
        if (r < 0)
                return r;
        return client_call(c, &req, 0, &reply, e);
}

bool descartes_state_is_final(ProtoState s)
{
        return s == PROTO_STATE_EXITED || s == PROTO_STATE_FAILED;
}
