/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fnmatch.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent-health.h"
#include "agent-log.h"
#include "agent-cgroup.h"
#include "backend.h"
#include "agent.h"
#include "call-wait.h"
#include "events.h"
#include "hash-util.h"
#include "json-writer.h"
#include "proto-json.h"
#include "log.h"
#include "ops.h"
#include "sandbox-setup.h"
#include "string-util.h"
#include "tenants.h"
#include "time-util.h"

#define SPAWN_REPLY_TIMEOUT_USEC  (30 * USEC_PER_SEC)
#define FREEZE_REPLY_TIMEOUT_USEC (10 * USEC_PER_SEC)
#define KILL_REPLY_TIMEOUT_USEC   (10 * USEC_PER_SEC)
#define STDIN_REPLY_TIMEOUT_USEC  (10 * USEC_PER_SEC)

static int apply_limit(bool *has, uint64_t *value, uint64_t def, uint64_t max, const char *name, Call *c)
{
        if (!*has && def > 0) {
                *has = true;
                *value = def;
        }
        if (*has && max > 0 && *value > max) {
                call_reply_error(c, PROTO_ERROR_LIMIT_EXCEEDED, "limits.%s exceeds the host maximum", name);
                return -ERANGE;
        }
        return 0;
}

static int op_spawn(Call *c)
{
        Manager *m = c->manager;
        ProtoSpawnArgs *args = &c->request.args.spawn;
        Failure fail = {};
        ProtoLimits limits = args->limits;
        CgroupLimits tenant;
        _cleanup_(agent_sandbox_done) AgentSandbox sandbox = {};
        const char *missing;
        Agent *a;
        int r;

        if (m->stopping)
                return call_reply_error(c, PROTO_ERROR_BUSY, "the daemon is shutting down");
        if (args->has_backend) {
                r = backend_apply(&m->config.backends, args, &fail);
                if (r < 0)
                        return call_reply_failure(c, &fail);
        }
        if (!args->argv || args->n_argv == 0 || !args->argv[0] || !args->argv[0][0])
                return call_reply_error(c, PROTO_ERROR_BAD_REQUEST, "argv is required");
        if (args->name) {
                if (!agent_name_is_valid(args->name))
                        return call_reply_error(c, PROTO_ERROR_BAD_REQUEST,
                                                "invalid name \"%s\": use [A-Za-z0-9][A-Za-z0-9._-]*",
                                                args->name);
                if (agent_find_by_name(m, c->uid, args->name))
                        return call_reply_error(c, PROTO_ERROR_CONFLICT,
                                                "you have an agent named %s already", args->name);
        }
        if (args->cwd && args->cwd[0] != '/')
                return call_reply_error(c, PROTO_ERROR_BAD_REQUEST, "cwd must be an absolute path");
        if (apply_limit(&limits.has_cpu, &limits.cpu_millicores, m->config.default_cpu_milli,
                        m->config.max_cpu_milli, "cpu_millicores", c) < 0 ||
            apply_limit(&limits.has_memory, &limits.memory, m->config.default_memory, m->config.max_memory,
                        "memory", c) < 0 ||
            apply_limit(&limits.has_pids, &limits.pids, m->config.default_pids, m->config.max_pids, "pids",
                        c) < 0)
                return 0;
        if (limits.has_memory && !limits.has_swap) {
                limits.has_swap = true;
                limits.swap = 0;
        }
        missing = agent_cgroup_missing_controller(m->cgroup, &limits);
        if (missing)
                return call_reply_error(
                        c, PROTO_ERROR_UNENFORCEABLE,
                        "the %s controller is not available in %s: the requested limits cannot "
                        "be enforced on this host",
                        missing, m->cgroup->path);
        if (m->n_agents >= m->config.max_agents)
                return call_reply_error(c, PROTO_ERROR_LIMIT_EXCEEDED,
                                        "the host holds %zu agents already (max %llu)", m->n_agents,
                                        (unsigned long long)m->config.max_agents);
        if (agent_count_owned(m, c->uid) >= m->config.max_agents_per_user)
                return call_reply_error(c, PROTO_ERROR_LIMIT_EXCEEDED, "uid %u holds %llu agents already",
                                        (unsigned)c->uid, (unsigned long long)m->config.max_agents_per_user);

        r = tenant_spawn_check(m, c->uid, &args->limits, &limits, &tenant, &fail);
        if (r < 0)
                return call_reply_failure(c, &fail);

        r = sandbox_resolve(m, c->uid, args, &sandbox, &fail);
        if (r < 0)
                return call_reply_failure(c, &fail);

        r = agent_new(m, c->uid, &a);
        if (r < 0)
                return call_reply_error(c, PROTO_ERROR_INTERNAL, "out of memory");
        a->spawn_arrived_usec = c->arrived_usec;
        a->spawn_trace.arrived_ns = c->arrived_usec * NSEC_PER_USEC;
        (void)snprintf(c->created_agent, sizeof c->created_agent, "%s", a->info.id);
        /* before its record: a resend after a restart finds this agent instead of spawning another */
        if (c->entry)
                request_cache_journal_agent(m->request_cache, c->entry, a->info.id);
        a->info.limits = limits;
        if (strv_copy(args->argv, &a->info.argv) < 0 ||
            (args->name && !(a->info.name = strdup(args->name)))) {
                agent_free(a);
                return call_reply_error(c, PROTO_ERROR_INTERNAL, "out of memory");
        }
        a->info.n_argv = args->n_argv;
        a->info.tty = args->tty;
        if (args->has_health_check && agent_health_init(a, &args->health_check) < 0) {
                agent_free(a);
                return call_reply_error(c, PROTO_ERROR_INTERNAL, "out of memory");
        }
        for (size_t i = 0; i < args->labels.n_pairs; i++)
                if (proto_str_map_add(&a->info.labels, args->labels.pairs[i].key,
                                      args->labels.pairs[i].value) < 0) {
                        agent_free(a);
                        return call_reply_error(c, PROTO_ERROR_INTERNAL, "out of memory");
                }
        events_publish(m, PROTO_EVENT_STATUS_CHANGED, a, &a->info.state, NULL, NULL);

        r = agent_spawn(a, args, &sandbox, &tenant, &fail);
        if (r < 0) {
                agent_spawn_failed(a, &fail, c);
                return 0;
        }
        r = call_defer(c, a, CALL_WAIT_STARTED, SPAWN_REPLY_TIMEOUT_USEC);
        if (r < 0)
                call_reply_agent(c, a);
        return 0;
}

bool op_labels_match(const ProtoStrMap *want, const ProtoStrMap *have)
{
        for (size_t i = 0; i < want->n_pairs; i++) {
                const char *v = proto_str_map_get(have, want->pairs[i].key);
                if (!v || !streq(v, want->pairs[i].value))
                        return false;
        }
        return true;
}

static bool list_match(Call *c, const ProtoListArgs *args, Agent *a)
{
        if (!c->admin && a->info.owner_uid != c->uid)
                return false;
        if (args->has_state ? a->info.state != args->state
                            : (!args->all && agent_state_is_ended(a->info.state)))
                return false;
        return op_labels_match(&args->labels, &a->info.labels);
}

static int op_list(Call *c)
{
        ProtoListArgs *args = &c->request.args.list;
        ProtoReply reply = {};
        uint64_t limit = args->has_limit ? args->limit : PROTO_AGENTS_MAX;
        size_t n = 0;
        int r;

        r = proto_reply_init_ok(&reply, c->request.id, c->request.op);
        if (r < 0)
                return call_reply_error(c, PROTO_ERROR_INTERNAL, "out of memory");
        reply.result.list.agents = calloc(MAX(c->manager->n_agents, (size_t)1), sizeof(ProtoAgentInfo));
        if (!reply.result.list.agents) {
                proto_reply_done(&reply);
                return call_reply_error(c, PROTO_ERROR_INTERNAL, "out of memory");
        }
        /* the newest `limit` matching agents (m->agents is newest first), listed oldest first */
        Agent *first = c->manager->agents;
        size_t taken = 0;
        for (Agent *a = c->manager->agents; a && taken < limit; a = a->next)
                if (list_match(c, args, a)) {
                        first = a;
                        taken++;
                }
        for (Agent *a = taken ? first : NULL; a && n < limit; a = a->prev) {
                if (!list_match(c, args, a))
                        continue;
                /* usage costs a few cgroup file reads per agent: most of a list of thousands */
                r = agent_fill_info(a, !args->has_usage || args->usage, &reply.result.list.agents[n]);
                if (r < 0) {
                        proto_reply_done(&reply);
                        return call_reply_error(c, PROTO_ERROR_INTERNAL, "out of memory");
                }
                reply.result.list.n_agents = ++n;
        }
        call_reply(c, &reply);
        return 0;
}

static int step_get(OpStep *s, Agent *a, const void *args)
{
        return 0;
}

static int step_pause(OpStep *s, Agent *a, const void *args)
{
        int r;

        if (agent_state_next(a->info.state, AGENT_EVENT_PAUSE) < 0)
                return op_step_conflict(s, a, "pause");
        r = op_step_park(s, a, CALL_WAIT_FROZEN, FREEZE_REPLY_TIMEOUT_USEC);
        if (r < 0)
                return r;
        r = agent_pause(a);
        if (r < 0)
                return op_step_fail(s, r, PROTO_ERROR_INTERNAL, "cannot freeze agent %s: %m", a->info.id);
        return 0;
}

static int step_resume(OpStep *s, Agent *a, const void *args)
{
        int r;

        if (agent_state_next(a->info.state, AGENT_EVENT_RESUME) < 0)
                return op_step_conflict(s, a, "resume");
        r = op_step_park(s, a, CALL_WAIT_THAWED, FREEZE_REPLY_TIMEOUT_USEC);
        if (r < 0)
                return r;
        r = agent_resume(a);
        if (r < 0)
                return op_step_fail(s, r, PROTO_ERROR_INTERNAL, "cannot thaw agent %s: %m", a->info.id);
        return 0;
}

static int step_stop(OpStep *s, Agent *a, const void *v)
{
        const ProtoStopArgs *args = v;
        uint64_t grace = args->has_grace_ms ? args->grace_ms * USEC_PER_MSEC
                                            : s->call->manager->config.stop_grace_usec;
        int r;

        if (agent_state_next(a->info.state, AGENT_EVENT_STOP) < 0)
                return op_step_conflict(s, a, "stop");
        r = op_step_park(s, a, CALL_WAIT_ENDED, grace + KILL_REPLY_TIMEOUT_USEC);
        if (r < 0)
                return r;
        r = agent_stop(a, grace);
        /* a parked stop is answered when the agent ends, whatever the kill did */
        if (r < 0 && !s->parked)
                return op_step_fail(s, r, PROTO_ERROR_INTERNAL, "cannot stop agent %s: %m", a->info.id);
        if (r < 0)
                log_agent_warning_errno(a, r, "Failed to stop: %m");
        return 0;
}

static int step_kill(OpStep *s, Agent *a, const void *args)
{
        int r;

        if (agent_state_next(a->info.state, AGENT_EVENT_STOP) < 0)
                return op_step_conflict(s, a, "kill");
        r = op_step_park(s, a, CALL_WAIT_ENDED, KILL_REPLY_TIMEOUT_USEC);
        if (r < 0)
                return r;
        r = agent_kill(a);
        if (r < 0 && !s->parked)
                return op_step_fail(s, r, PROTO_ERROR_INTERNAL, "cannot kill agent %s: %m", a->info.id);
        if (r < 0)
                log_agent_warning_errno(a, r, "Failed to kill its cgroup: %m");
        return 0;
}

static int step_signal(OpStep *s, Agent *a, const void *v)
{
        const ProtoSignalArgs *args = v;
        int r;

        if (args->signal <= 0 || args->signal >= _NSIG)
                return op_step_fail(s, -EINVAL, PROTO_ERROR_BAD_REQUEST, "invalid signal %d", args->signal);
        r = agent_send_signal(a, args->signal);
        if (r == -EBUSY)
                return op_step_conflict(s, a, "signal");
        if (r < 0)
                return op_step_fail(s, r, PROTO_ERROR_INTERNAL, "cannot reach the shim of agent %s: %m",
                                    a->info.id);
        return 0;
}

static int step_stdin(OpStep *s, Agent *a, const void *v)
{
        const ProtoStdinArgs *args = v;
        Call *c = s->call;
        const uint8_t *data = args->data.data;
        size_t size = args->data.data ? args->data.size : 0;
        uint64_t first;
        int r;

        if (a->info.state == PROTO_STATE_STARTING || agent_state_is_ended(a->info.state))
                return op_step_conflict(s, a, "write to");
        if (!a->stdin_open)
                return op_step_fail(s, -EPIPE, PROTO_ERROR_CONFLICT, "stdin is closed");
        if (args->close && a->info.tty)
                return op_step_fail(s, -EINVAL, PROTO_ERROR_CONFLICT,
                                    "agent %s has a terminal, whose input has no end to close: send its EOF "
                                    "character (ctrl-d, \\x04) instead",
                                    a->info.id);
        if (size == 0 && !args->close)
                return op_step_reply_empty(s);
        first = a->next_cookie;
        /* the shim takes at most SHIM_STDIN_CHUNK_MAX per packet; each chunk is acked on its own, and the
         * reply counts what was taken (docs/protocol.md: fewer than sent means retry the rest) */
        for (size_t off = 0;;) {
                size_t n = MIN(size - off, (size_t)SHIM_STDIN_CHUNK_MAX);
                bool last = off + n >= size;
                r = shim_link_send_stdin(a, a->next_cookie, data + off, n, last && args->close, off > 0);
                if (r == -EAGAIN && off > 0)
                        break; /* the chunks sent are acked: the reply says how much they were */
                if (r == -EAGAIN)
                        return op_step_reply_empty(s); /* written: 0 */
                if ((r == -EPIPE || r == -ENOTCONN || r == -ECONNRESET) && off == 0)
                        /* the shim went away (the agent is ending): nothing was written */
                        return op_step_fail(s, r, PROTO_ERROR_CONFLICT,
                                            "stdin of agent %s is closed: the agent is ending", a->info.id);
                if (r == -EPIPE || r == -ENOTCONN || r == -ECONNRESET)
                        break; /* the chunks sent are acked or the call ends with the agent */
                if (r < 0)
                        return op_step_fail(s, r, PROTO_ERROR_INTERNAL,
                                            "cannot pass stdin to the shim of agent %s: %m", a->info.id);
                a->next_cookie++;
                off += n;
                if (last)
                        break;
        }
        c->cookie_first = first;
        c->cookie = a->next_cookie - 1;
        return op_step_park(s, a, CALL_WAIT_STDIN, STDIN_REPLY_TIMEOUT_USEC);
}

static int step_remove(OpStep *s, Agent *a, const void *args)
{
        int r;

        if (!agent_state_is_ended(a->info.state))
                return op_step_fail(s, -EBUSY, PROTO_ERROR_CONFLICT,
                                    "agent %s is %s: stop it before removing it", a->info.id,
                                    proto_state_to_string(a->info.state));
        if (a->remove_requested || (a->kernel.cg && !a->kernel.cgroups_removed)) {
                r = op_step_park(s, a, CALL_WAIT_REMOVED, KILL_REPLY_TIMEOUT_USEC);
                if (r < 0)
                        return r;
                (void)agent_remove(
                        a); /* 1: finishes once its cgroups are empty; may answer and free at once */
                return 0;
        }
        /* remove frees the agent: the reply describes it as it was */
        r = op_step_reply_info_now(s, a);
        if (r < 0)
                return r;
        r = agent_remove(a);
        if (r < 0)
                return op_step_fail(s, r, PROTO_ERROR_INTERNAL, "cannot remove agent %s: %m", a->info.id);
        return 0;
}

/* The action's id on the agent's channel: the same for a resend of the same request (by the same caller, to
 * the same agent), so that a daemon that restarted finds the action its shim holds. */
static uint64_t action_token(const Call *c, const Agent *a)
{
        char key[32 + PROTO_ID_MAX + PROTO_AGENT_ID_MAX];
        int n = snprintf(key, sizeof key, "%u/%s/%s", (unsigned)c->uid, c->request.id ?: "", a->info.id);

        return fnv1a64(key, n > 0 ? MIN((size_t)n, sizeof key - 1) : 0);
}

/* {"id": TOKEN, "name": NAME, "params": {...}}: one line for the agent (docs/agent-protocol.md). */
static int action_line(uint64_t token, const ProtoActionArgs *args, char **ret, size_t *ret_size)
{
        _cleanup_free_ char *params = NULL, *buf = NULL;
        char id[17];
        size_t size = 0;
        JsonWriter w;
        FILE *f;
        int r;

        if (args->params.data) {
                r = proto_value_to_json(&args->params, &params);
                if (r < 0)
                        return r;
        }
        f = open_memstream(&buf, &size);
        if (!f)
                return -ENOMEM;
        (void)snprintf(id, sizeof id, "%016" PRIx64, token);
        json_writer_init(&w, f);
        json_writer_object_begin(&w);
        json_writer_kv_string(&w, "id", id);
        json_writer_kv_string(&w, "name", args->name);
        json_writer_key(&w, "params");
        json_writer_raw(&w, params ?: "{}");
        json_writer_object_end(&w);
        r = ferror(f) ? -ENOMEM : 0;
        if (fclose(f) != 0 || r < 0)
                return -ENOMEM;
        *ret_size = size;
        *ret = TAKE_PTR(buf);
        return 0;
}

static int step_action(OpStep *s, Agent *a, const void *v)
{
        const ProtoActionArgs *args = v;
        uint64_t timeout_ms = args->has_timeout_ms ? args->timeout_ms : PROTO_ACTION_TIMEOUT_DEFAULT_MS;
        uint64_t token = action_token(s->call, a);
        _cleanup_free_ char *line = NULL;
        size_t size;
        int r;

        if (a->info.state == PROTO_STATE_STARTING || agent_state_is_ended(a->info.state))
                return op_step_conflict(s, a, "send an action to");
        if (a->shim.control_fd < 0 || a->shim.version == 0)
                return op_step_fail(s, -ENOTCONN, PROTO_ERROR_CONFLICT,
                                    "the shim of agent %s is not connected: it cannot take action %s",
                                    a->info.id, args->name);
        if (a->shim.version < 4)
                return op_step_fail(s, -EOPNOTSUPP, PROTO_ERROR_CONFLICT,
                                    "the shim of agent %s is too old for actions (shim protocol version %u, "
                                    "actions need 4): restart the agent to use them",
                                    a->info.id, (unsigned)a->shim.version);
        /* answered here, at once: an agent that never opened its channel would otherwise time out */
        if (!a->action.ready && !s->call->resumed)
                return op_step_fail(s, -ENOTCONN, PROTO_ERROR_CONFLICT,
                                    "agent %s has not opened its action channel (DESCARTES_ACTION_FD, "
                                    "docs/agent-protocol.md): it cannot take action %s",
                                    a->info.id, args->name);
        r = action_line(token, args, &line, &size);
        if (r < 0)
                return op_step_fail(s, r, PROTO_ERROR_INTERNAL, "cannot build action %s: %m", args->name);
        if (size > SHIM_ACTION_LINE_MAX)
                return op_step_fail(
                        s, -EMSGSIZE, PROTO_ERROR_BAD_REQUEST,
                        "action %s is %zu bytes as a JSON line, more than the %d an agent takes: "
                        "send smaller params",
                        args->name, size, SHIM_ACTION_LINE_MAX);
        r = shim_link_send_action(a, token, (uint32_t)timeout_ms,
                                  s->call->resumed && !s->batch ? SHIM_ACTION_RESUME : 0, line, size);
        if (r < 0)
                return op_step_fail(s, r, r == -EAGAIN ? PROTO_ERROR_BUSY : PROTO_ERROR_INTERNAL,
                                    "cannot pass action %s to the shim of agent %s: %m", args->name,
                                    a->info.id);
        /* a batch does not wait: the answers it gets are dropped and counted as late */
        if (!s->batch)
                s->call->cookie = token;
        return op_step_park(s, a, CALL_WAIT_ACTION, timeout_ms * USEC_PER_MSEC);
}

static int step_wait(OpStep *s, Agent *a, const void *v)
{
        const ProtoWaitArgs *args = v;

        if (agent_state_is_ended(a->info.state))
                return 0;
        return op_step_park(s, a, CALL_WAIT_ENDED,
                            (args->has_timeout_ms ? args->timeout_ms : PROTO_WAIT_DEFAULT_MS) *
                                    USEC_PER_MSEC);
}

const OpHandler ops_agent_handlers[] = {
        {PROTO_OP_SPAWN, .call = op_spawn},
        {PROTO_OP_LIST, .call = op_list},
        {PROTO_OP_GET, .step = step_get},
        {PROTO_OP_PAUSE, .step = step_pause},
        {PROTO_OP_RESUME, .step = step_resume},
        {PROTO_OP_STOP, .step = step_stop},
        {PROTO_OP_KILL, .step = step_kill},
        {PROTO_OP_SIGNAL, .step = step_signal},
        {PROTO_OP_STDIN, .step = step_stdin},
        {PROTO_OP_REMOVE, .step = step_remove},
        {PROTO_OP_ACTION, .step = step_action},
        {PROTO_OP_WAIT, .step = step_wait},
        {_PROTO_OP_INVALID},
};
