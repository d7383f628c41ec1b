/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* One call per protocol op: read the caller's arguments into a request, send it (client_call), and hand
 * the reply's result out as an object. A new op's client wrapper is one function here and its declaration
 * in descartes.h. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "analyzer.h"
#include "cleanup.h"
#include "client-internal.h"
#include "client-objects.h"
#include "string-util.h"
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

/* Copies the caller's arguments over the zeroed *dst (dst_size bytes, this library's struct). The caller's
 * size says how much it holds: less is an older caller (the rest keeps its defaults), more a newer one whose
 * extra fields must then be unset. */
static int args_read(const void *src, void *dst, size_t dst_size, DescartesError *e)
{
        size_t size;

        memset(dst, 0, dst_size);
        if (!src)
                return 0;
        memcpy(&size, src, sizeof size);
        if (size < sizeof size)
                return client_error_set(
                        e, DESCARTES_ERROR_LOCAL, -EINVAL,
                        "invalid argument: its size is not set (start from the _ARGS_INIT macro)");
        for (size_t i = dst_size; i < size; i++)
                if (((const uint8_t *)src)[i] != 0)
                        return client_error_set(e, DESCARTES_ERROR_LOCAL, -EOPNOTSUPP,
                                                "an argument is set that this libdescartes does not know");
        memcpy(dst, src, MIN(size, dst_size));
        return 0;
}

/* Sets key to value in m, replacing an earlier value of the key in place: 0 or -ENOMEM. */
static int str_map_set(ProtoStrMap *m, const char *key, const char *value)
{
        for (size_t i = 0; i < m->n_pairs; i++) {
                char *v;

                if (!streq(m->pairs[i].key, key))
                        continue;
                v = strdup(value);
                if (!v)
                        return -ENOMEM;
                free(m->pairs[i].value);
                /* v is kept in the caller's map: gcc 12 forgets a store through a parameter */
                ANALYZER_IGNORE_LEAK_BEGIN
                m->pairs[i].value = v;
                return 0;
                ANALYZER_IGNORE_END
        }
        return proto_str_map_add(m, key, value);
}

/* "KEY=VALUE" entries into a map; a later KEY replaces an earlier one. */
static int str_map_from_strv(const char *const *l, const char *what, ProtoStrMap *m, DescartesError *e)
{
        for (; l && *l; l++) {
                _cleanup_free_ char *key = NULL;
                const char *eq = strchr(*l, '=');

                if (!eq || eq == *l)
                        return client_error_set(e, DESCARTES_ERROR_LOCAL, -EINVAL,
                                                "%s \"%s\" is not of the form KEY=VALUE", what, *l);
                key = strndup(*l, (size_t)(eq - *l));
                if (!key || str_map_set(m, key, eq + 1) < 0)
                        return client_error_set(e, DESCARTES_ERROR_LOCAL, -ENOMEM, "out of memory");
        }
        return 0;
}

/* The result of a wire_*_new() constructor: its failure is ours to report. */
static int made(int r, DescartesError *e)
{
        return r < 0 ? client_error_set(e, DESCARTES_ERROR_LOCAL, r, "out of memory") : 0;
}

static uint64_t ms_to_usec(uint64_t ms)
{
        return MIN(ms, UINT64_MAX / 2 / USEC_PER_MSEC) * USEC_PER_MSEC;
}

/* A request without arguments (health, stats, metrics, tenants): its reply in *reply. */
static int call_without_args(DescartesClient *c, ProtoOp op, const void *ret, ProtoReply *reply,
                             DescartesError *e)
{
        ProtoRequest req = {.op = op};
        int r;

        r = check_client(c, ret, e);
        if (r < 0)
                return r;
        return client_call(c, &req, 0, reply, e);
}

int descartes_health(DescartesClient *c, DescartesHealth **ret, DescartesError *e)
{
        _cleanup_reply_ ProtoReply reply = {};
        int r;

        r = call_without_args(c, PROTO_OP_HEALTH, ret, &reply, e);
        if (r < 0)
                return r;
        return made(wire_health_new(&reply.result.health, ret), e);
}

int descartes_list(DescartesClient *c, const DescartesListArgs *args, DescartesAgentList **ret,
                   DescartesError *e)
{
        _cleanup_reply_ ProtoReply reply = {};
        _cleanup_(proto_str_map_done) ProtoStrMap labels = {};
        ProtoRequest req = {.op = PROTO_OP_LIST};
        DescartesListArgs a;
        int r;

        r = check_client(c, ret, e);
        if (r < 0)
                return r;
        r = args_read(args, &a, sizeof a, e);
        if (r < 0)
                return r;
        r = str_map_from_strv(a.labels, "label", &labels, e);
        if (r < 0)
                return r;
        req.args.list = (ProtoListArgs){.has_state = a.has_state,
                                        .state = (ProtoState)a.state,
                                        .labels = labels,
                                        .has_limit = a.has_limit,
                                        .limit = a.limit,
                                        .all = a.all,
                                        .has_usage = a.no_usage,
                                        .usage = !a.no_usage};
        r = client_call(c, &req, 0, &reply, e);
        if (r < 0)
                return r;
        return made(wire_agent_list_new(&reply.result.list, ret), e);
}

/* The calls whose reply is {agent: INFO}: *ret (ret may be NULL) is that record. */
static int call_agent(DescartesClient *c, const ProtoRequest *req, uint64_t extra_usec, DescartesAgent **ret,
                      DescartesError *e)
{
        _cleanup_reply_ ProtoReply reply = {};
        int r;

        r = client_call(c, req, extra_usec, &reply, e);
        if (r < 0)
                return r;
        return ret ? made(wire_agent_new(&reply.result.agent.agent, ret), e) : 0;
}

/* A request whose args begin with the agent (every per-agent args struct does): checks, then sends it. */
static int agent_request(DescartesClient *c, ProtoRequest *req, const char *agent, DescartesAgent **ret,
                         DescartesError *e)
{
        int r;

        r = check_client(c, c, e);
        if (r < 0)
                return r;
        r = check_agent_ref(agent, e);
        if (r < 0)
                return r;
        req->args.agent.agent = (char *)agent;
        return call_agent(c, req, 0, ret, e);
}

static int agent_op(DescartesClient *c, ProtoOp op, const char *agent, DescartesAgent **ret,
                    DescartesError *e)
{
        ProtoRequest req = {.op = op};
        return agent_request(c, &req, agent, ret, e);
}

int descartes_get(DescartesClient *c, const char *agent, DescartesAgent **ret, DescartesError *e)
{
        return agent_op(c, PROTO_OP_GET, agent, ret, e);
}

int descartes_pause(DescartesClient *c, const char *agent, DescartesAgent **ret, DescartesError *e)
{
        return agent_op(c, PROTO_OP_PAUSE, agent, ret, e);
}

int descartes_resume(DescartesClient *c, const char *agent, DescartesAgent **ret, DescartesError *e)
{
        return agent_op(c, PROTO_OP_RESUME, agent, ret, e);
}

int descartes_kill(DescartesClient *c, const char *agent, DescartesAgent **ret, DescartesError *e)
{
        return agent_op(c, PROTO_OP_KILL, agent, ret, e);
}

int descartes_remove(DescartesClient *c, const char *agent, DescartesAgent **ret, DescartesError *e)
{
        return agent_op(c, PROTO_OP_REMOVE, agent, ret, e);
}

int descartes_wait(DescartesClient *c, const char *agent, DescartesAgent **ret, DescartesError *e)
{
        ProtoRequest req = {.op = PROTO_OP_WAIT, .args.wait.has_timeout_ms = true};
        uint64_t usec = descartes_client_get_op_timeout(c, DESCARTES_OP_WAIT);

        /* the daemon answers `timeout` a little before the request would time out here */
        req.args.wait.timeout_ms = usec > 2 * USEC_PER_SEC ? (usec - USEC_PER_SEC) / USEC_PER_MSEC : 1000;
        return agent_request(c, &req, agent, ret, e);
}

int descartes_stop(DescartesClient *c, const char *agent, int64_t grace_ms, DescartesAgent **ret,
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
                extra = ms_to_usec((uint64_t)grace_ms);
        }
        return call_agent(c, &req, extra, ret, e);
}

int descartes_signal(DescartesClient *c, const char *agent, int sig, DescartesAgent **ret, DescartesError *e)
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

int descartes_spawn(DescartesClient *c, const DescartesSpawnArgs *args, DescartesAgent **ret,
                    DescartesError *e)
{
        _cleanup_(proto_str_map_done) ProtoStrMap env = {}, labels = {};
        DescartesSpawnArgs a;
        ProtoRequest req = {.op = PROTO_OP_SPAWN};
        int r;

        r = check_client(c, args, e);
        if (r < 0)
                return r;
        r = args_read(args, &a, sizeof a, e);
        if (r < 0)
                return r;
        if (a.backend && a.argv)
                return client_error_set(e, DESCARTES_ERROR_LOCAL, -EINVAL,
                                        "spawn takes a command or a backend, not both");
        if (!a.backend && (a.task || a.model || a.system_prompt))
                return client_error_set(e, DESCARTES_ERROR_LOCAL, -EINVAL,
                                        "a task, model or system prompt needs a backend");
        if (!a.backend && (!a.argv || !a.argv[0] || !a.argv[0][0]))
                return client_error_set(e, DESCARTES_ERROR_LOCAL, -EINVAL, "spawn needs a command to run");
        r = str_map_from_strv(a.env, "environment variable", &env, e);
        if (r < 0)
                return r;
        r = str_map_from_strv(a.labels, "label", &labels, e);
        if (r < 0)
                return r;
        req.args.spawn = (ProtoSpawnArgs){
                .argv = (char **)a.argv,
                .n_argv = a.argv ? strv_length((char *const *)a.argv) : 0,
                .env = env,
                .cwd = (char *)a.cwd,
                .workspace = (char *)a.workspace,
                .name = (char *)a.name,
                .labels = labels,
                .limits = {.has_cpu = a.has_cpu,
                           .cpu_millicores = a.cpu_millicores,
                           .has_memory = a.has_memory,
                           .memory = a.memory,
                           .has_swap = a.has_swap,
                           .swap = a.swap,
                           .has_pids = a.has_pids,
                           .pids = a.pids},
                .has_timeout_ms = a.has_timeout_ms,
                .timeout_ms = a.timeout_ms,
                .has_net = a.has_net,
                .net = (ProtoNet)a.net,
                .policy = (char *)a.policy,
                .user = (char *)a.user,
                .open_stdin = a.open_stdin,
                .has_backend = a.backend != NULL,
                .backend = {.name = (char *)a.backend,
                            .task = (char *)a.task,
                            .model = (char *)a.model,
                            .system_prompt = (char *)a.system_prompt},
                .tty = a.tty,
        };
        if (a.health_cmd || a.has_health_interval_ms || a.has_health_timeout_ms || a.has_health_retries ||
            a.has_idle_timeout_ms || a.has_on_unhealthy) {
                ProtoHealthCheck *h = &req.args.spawn.health_check;

                req.args.spawn.has_health_check = true;
                h->cmd = (char **)a.health_cmd;
                h->n_cmd = a.health_cmd ? strv_length((char *const *)a.health_cmd) : 0;
                h->has_interval_ms = a.has_health_interval_ms;
                h->interval_ms = a.health_interval_ms;
                h->has_timeout_ms = a.has_health_timeout_ms;
                h->timeout_ms = a.health_timeout_ms;
                h->has_retries = a.has_health_retries;
                h->retries = a.health_retries;
                h->has_idle_timeout_ms = a.has_idle_timeout_ms;
                h->idle_timeout_ms = a.idle_timeout_ms;
                h->has_on_unhealthy = a.has_on_unhealthy;
                h->on_unhealthy = (ProtoOnUnhealthy)a.on_unhealthy;
        }
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

int descartes_output(DescartesClient *c, const DescartesOutputArgs *args, DescartesOutput **ret,
                     DescartesError *e)
{
        _cleanup_reply_ ProtoReply reply = {};
        ProtoRequest req = {.op = PROTO_OP_OUTPUT};
        DescartesOutputArgs a;
        int r;

        r = check_client(c, args, e);
        if (r < 0)
                return r;
        if (!ret)
                return client_error_set(e, DESCARTES_ERROR_LOCAL, -EINVAL, "invalid argument");
        r = args_read(args, &a, sizeof a, e);
        if (r < 0)
                return r;
        r = check_agent_ref(a.agent, e);
        if (r < 0)
                return r;
        req.args.output = (ProtoOutputArgs){
                .agent = (char *)a.agent,
                .has_stream = a.has_stream,
                .stream = (ProtoStream)a.stream,
                .has_mode = a.has_mode,
                .mode = (ProtoOutputMode)a.mode,
                .has_offset = a.has_offset,
                .offset = a.offset,
                .has_limit = a.has_limit,
                .limit = a.limit,
                .has_tail = a.has_tail,
                .tail = a.tail,
                .grep = (char *)a.grep,
                .has_since_ns = a.has_since_ns,
                .since_ns = a.since_ns,
                .cursor = (char *)a.cursor,
        };
        r = client_call(c, &req, 0, &reply, e);
        if (r < 0)
                return r;
        return made(wire_output_new(&reply.result.output, ret), e);
}

static int action_args_read(const DescartesActionArgs *args, ProtoActionArgs *ret, DescartesError *e)
{
        DescartesActionArgs a;
        int r;

        r = args_read(args, &a, sizeof a, e);
        if (r < 0)
                return r;
        *ret = (ProtoActionArgs){
                .agent = (char *)a.agent,
                .name = (char *)a.name,
                .params = {.data = (uint8_t *)a.params, .size = a.params ? a.params_size : 0},
                .has_timeout_ms = a.has_timeout_ms,
                .timeout_ms = a.timeout_ms,
        };
        return 0;
}

int descartes_action(DescartesClient *c, const DescartesActionArgs *args, void **ret_result,
                     size_t *ret_size, DescartesError *e)
{
        _cleanup_reply_ ProtoReply reply = {};
        ProtoRequest req = {.op = PROTO_OP_ACTION};
        int r;

        r = check_client(c, args, e);
        if (r < 0)
                return r;
        r = action_args_read(args, &req.args.action, e);
        if (r < 0)
                return r;
        r = check_agent_ref(req.args.action.agent, e);
        if (r < 0)
                return r;
        if (!req.args.action.name || !req.args.action.name[0])
                return client_error_set(e, DESCARTES_ERROR_LOCAL, -EINVAL, "an action needs a name");
        /* the daemon waits up to timeout_ms for the agent; the client waits that long on top of its own */
        r = client_call(c, &req,
                        ms_to_usec(req.args.action.has_timeout_ms ? req.args.action.timeout_ms
                                                                  : PROTO_ACTION_TIMEOUT_DEFAULT_MS),
                        &reply, e);
        if (r < 0)
                return r;
        if (ret_size)
                *ret_size = reply.result.action.result.size;
        if (ret_result)
                *ret_result = TAKE_PTR(reply.result.action.result.data);
        return 0;
}

int descartes_batch(DescartesClient *c, const DescartesBatchArgs *args, DescartesBatchResult **ret,
                    DescartesError *e)
{
        _cleanup_reply_ ProtoReply reply = {};
        _cleanup_(proto_str_map_done) ProtoStrMap labels = {};
        ProtoRequest req = {.op = PROTO_OP_BATCH};
        ProtoBatchArgs *b = &req.args.batch;
        DescartesBatchArgs a;
        uint64_t extra = 0;
        int r;

        r = check_client(c, args, e);
        if (r < 0)
                return r;
        if (!ret)
                return client_error_set(e, DESCARTES_ERROR_LOCAL, -EINVAL, "invalid argument");
        r = args_read(args, &a, sizeof a, e);
        if (r < 0)
                return r;
        if (!proto_op_batchable((ProtoOp)a.op))
                return client_error_set(e, DESCARTES_ERROR_LOCAL, -EINVAL, "%s cannot be batched",
                                        proto_op_to_string((ProtoOp)a.op) ?: "this op");
        r = str_map_from_strv(a.selector_labels, "label", &labels, e);
        if (r < 0)
                return r;
        *b = (ProtoBatchArgs){
                .op = (ProtoOp)a.op,
                .agents = (char **)a.agents,
                .n_agents = a.agents ? strv_length((char *const *)a.agents) : 0,
                .has_selector = a.has_selector,
                .selector = {.has_state = a.selector_has_state,
                             .state = (ProtoState)a.selector_state,
                             .labels = labels,
                             .name_glob = (char *)a.selector_name_glob},
                .fail_fast = a.fail_fast,
        };
        if (b->op == PROTO_OP_STOP) {
                b->args.stop = (ProtoStopArgs){.has_grace_ms = a.has_grace_ms, .grace_ms = a.grace_ms};
                if (a.has_grace_ms)
                        extra = ms_to_usec(a.grace_ms);
        } else if (b->op == PROTO_OP_SIGNAL)
                b->args.signal = (ProtoSignalArgs){.signal = a.signal};
        else if (b->op == PROTO_OP_ACTION) {
                r = action_args_read(a.action, &b->args.action, e);
                if (r < 0)
                        return r;
                b->args.action.agent = NULL;
        }
        r = client_call(c, &req, extra, &reply, e);
        if (r < 0)
                return r;
        return made(wire_batch_result_new(&reply.result.batch, ret), e);
}

int descartes_events(DescartesClient *c, uint64_t since_seq, uint64_t limit, DescartesEvents **ret,
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
        return made(wire_events_new(&reply.result.events, ret), e);
}

int descartes_stats(DescartesClient *c, DescartesStats **ret, DescartesError *e)
{
        _cleanup_reply_ ProtoReply reply = {};
        int r;

        r = call_without_args(c, PROTO_OP_STATS, ret, &reply, e);
        if (r < 0)
                return r;
        return made(wire_stats_new(&reply.result.stats, ret), e);
}

int descartes_metrics(DescartesClient *c, char **ret_text, DescartesError *e)
{
        _cleanup_reply_ ProtoReply reply = {};
        int r;

        r = call_without_args(c, PROTO_OP_METRICS, ret_text, &reply, e);
        if (r < 0)
                return r;
        *ret_text = TAKE_PTR(reply.result.metrics.text);
        return 0;
}

int descartes_tenants(DescartesClient *c, DescartesTenants **ret, DescartesError *e)
{
        _cleanup_reply_ ProtoReply reply = {};
        int r;

        r = call_without_args(c, PROTO_OP_TENANTS, ret, &reply, e);
        if (r < 0)
                return r;
        return made(wire_tenants_new(&reply.result.tenants, ret), e);
}

int descartes_exec(DescartesClient *c, const DescartesExecArgs *args, DescartesExec **ret, DescartesError *e)
{
        _cleanup_reply_ ProtoReply reply = {};
        ProtoRequest req = {.op = PROTO_OP_EXEC};
        static const uint8_t empty[1];
        DescartesExecArgs a;
        size_t n = 0, bytes = 0;
        int r;

        r = check_client(c, args, e);
        if (r < 0)
                return r;
        r = args_read(args, &a, sizeof a, e);
        if (r < 0)
                return r;
        r = check_agent_ref(a.agent, e);
        if (r < 0)
                return r;
        for (; a.argv && a.argv[n]; n++)
                bytes += strlen(a.argv[n]) + 1;
        if (n == 0 || a.argv[0][0] == 0 || n > PROTO_EXEC_ARGV_MAX || bytes > PROTO_EXEC_ARGV_BYTES_MAX)
                return client_error_set(e, DESCARTES_ERROR_LOCAL, -EINVAL,
                                        "exec needs a command: 1 to %d arguments of %d bytes in all, the "
                                        "first not empty",
                                        PROTO_EXEC_ARGV_MAX, PROTO_EXEC_ARGV_BYTES_MAX);
        if (a.stdin_size > PROTO_EXEC_STDIN_MAX || (a.stdin_size > 0 && !a.stdin_data))
                return client_error_set(e, DESCARTES_ERROR_LOCAL, -EINVAL,
                                        "exec takes at most %d bytes of stdin", PROTO_EXEC_STDIN_MAX);
        if (a.has_timeout_ms && (a.timeout_ms == 0 || a.timeout_ms > PROTO_EXEC_TIMEOUT_MAX_MS))
                return client_error_set(e, DESCARTES_ERROR_LOCAL, -EINVAL,
                                        "an exec timeout is 1 ms to %d ms", PROTO_EXEC_TIMEOUT_MAX_MS);
        req.args.exec = (ProtoExecArgs){
                .agent = (char *)a.agent,
                .argv = (char **)a.argv,
                .n_argv = n,
                .has_timeout_ms = a.has_timeout_ms,
                .timeout_ms = a.timeout_ms,
        };
        if (a.stdin_data) {
                req.args.exec.input.data = (uint8_t *)(a.stdin_size > 0 ? a.stdin_data : empty);
                req.args.exec.input.size = a.stdin_size;
        }
        r = client_call(c, &req, a.has_timeout_ms ? ms_to_usec(a.timeout_ms) : 0, &reply, e);
        if (r < 0)
                return r;
        if (!ret)
                return 0;
        return made(wire_exec_new(&reply.result.exec, ret), e);
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
