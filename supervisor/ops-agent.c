/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "analyzer.h"
#include "agent-cgroup.h"
#include "agent.h"
#include "events.h"
#include "log.h"
#include "ops.h"
#include "sandbox-setup.h"
#include "string-util.h"
#include "time-util.h"

#define SPAWN_REPLY_TIMEOUT_USEC  (30 * USEC_PER_SEC)
#define FREEZE_REPLY_TIMEOUT_USEC (10 * USEC_PER_SEC)
#define KILL_REPLY_TIMEOUT_USEC   (10 * USEC_PER_SEC)
#define STDIN_REPLY_TIMEOUT_USEC  (10 * USEC_PER_SEC)

static Agent *find_or_reply(Call *c, const char *ref)
{
        Agent *a = ref ? agent_find(c->manager, ref, c->uid, c->admin) : NULL;

        if (!a)
                call_reply_error(c, PROTO_ERROR_NOT_FOUND, "no agent %s", ref ?: "(none given)");
        return a;
}

static int reply_state_conflict(Call *c, Agent *a, const char *what)
{
        call_reply_error(c, PROTO_ERROR_CONFLICT, "cannot %s agent %s: it is %s", what, a->id,
                         proto_state_to_string(a->state));
        return 0;
}

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

int op_spawn(Call *c)
{
        Manager *m = c->manager;
        ProtoSpawnArgs *args = &c->request.args.spawn;
        _cleanup_free_ char *msg = NULL;
        ProtoErrorCode code = PROTO_ERROR_INTERNAL;
        ProtoLimits limits = args->limits;
        _cleanup_(agent_sandbox_done) AgentSandbox sandbox = {};
        const char *missing;
        Agent *a;
        int r;

        if (m->stopping)
                return call_reply_error(c, PROTO_ERROR_BUSY, "the daemon is shutting down");
        if (!args->argv || args->n_argv == 0 || !args->argv[0] || !args->argv[0][0])
                return call_reply_error(c, PROTO_ERROR_BAD_REQUEST, "argv is required");
        if (args->name) {
                if (!agent_name_is_valid(args->name))
                        return call_reply_error(c, PROTO_ERROR_BAD_REQUEST,
                                                "invalid name \"%s\": use [A-Za-z0-9][A-Za-z0-9._-]*",
                                                args->name);
                if (agent_find_by_name(m, args->name))
                        return call_reply_error(c, PROTO_ERROR_CONFLICT, "the name %s is taken", args->name);
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

        r = sandbox_resolve(m, c->uid, args, &sandbox, &code, &msg);
        if (r < 0)
                return call_reply_error(c, code, "%s", msg ?: "invalid sandbox settings");

        r = agent_new(m, c->uid, &a);
        if (r < 0)
                return call_reply_error(c, PROTO_ERROR_INTERNAL, "out of memory");
        a->spawn_arrived_usec = c->arrived_usec;
        (void)snprintf(c->created_agent, sizeof c->created_agent, "%s", a->id);
        a->limits = limits;
        if (strv_copy(args->argv, &a->argv) < 0 || (args->name && !(a->name = strdup(args->name)))) {
                agent_free(a);
                return call_reply_error(c, PROTO_ERROR_INTERNAL, "out of memory");
        }
        a->n_argv = args->n_argv;
        for (size_t i = 0; i < args->labels.n_pairs; i++)
                if (proto_str_map_add(&a->labels, args->labels.pairs[i].key, args->labels.pairs[i].value) <
                    0) {
                        agent_free(a);
                        return call_reply_error(c, PROTO_ERROR_INTERNAL, "out of memory");
                }
        events_publish(m, PROTO_EVENT_STATUS_CHANGED, a->id, &a->state, NULL, NULL);

        r = agent_spawn(a, args, &sandbox, &msg, &code);
        if (r < 0) {
                m->stats.agents_spawn_failed++;
                a->spawn_failed = true;
                free(a->failed_msg);
                a->failed_msg = TAKE_PTR(msg);
                log_warning("Agent %s failed to spawn: %s", a->id, a->failed_msg ?: "?");
                {
                        ProtoValue data = {};
                        ProtoEventData d = {.error.msg = a->failed_msg ?: (char *)"spawn failed"};
                        if (proto_event_data_encode(PROTO_EVENT_ERROR, &d, &data) >= 0)
                                events_publish(m, PROTO_EVENT_ERROR, a->id, NULL, NULL, &data);
                        proto_value_done(&data);
                }
                call_reply_error(c, code, "%s", a->failed_msg ?: "spawn failed");
                agent_finalize(a);
                return 0;
        }
        m->stats.agents_spawned++;
        r = call_defer(c, a, CALL_WAIT_STARTED, SPAWN_REPLY_TIMEOUT_USEC);
        if (r < 0)
                call_reply_agent(c, a);
        return 0;
}

static bool labels_match(const ProtoStrMap *want, const ProtoStrMap *have)
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
        if (!c->admin && a->owner_uid != c->uid)
                return false;
        if (args->has_state ? a->state != args->state : (!args->all && agent_state_is_ended(a->state)))
                return false;
        return labels_match(&args->labels, &a->labels);
}

int op_list(Call *c)
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
                r = agent_fill_info(a, &reply.result.list.agents[n]);
                if (r < 0) {
                        proto_reply_done(&reply);
                        return call_reply_error(c, PROTO_ERROR_INTERNAL, "out of memory");
                }
                reply.result.list.n_agents = ++n;
        }
        call_reply(c, &reply);
        return 0;
}

int op_get(Call *c)
{
        Agent *a = find_or_reply(c, c->request.args.agent.agent);

        if (a)
                call_reply_agent(c, a);
        return 0;
}

int op_pause(Call *c)
{
        Agent *a = find_or_reply(c, c->request.args.agent.agent);
        int r;

        if (!a)
                return 0;
        if (agent_state_next(a->state, AGENT_EVENT_PAUSE) < 0)
                return reply_state_conflict(c, a, "pause");
        r = call_defer(c, a, CALL_WAIT_FROZEN, FREEZE_REPLY_TIMEOUT_USEC);
        if (r < 0)
                return call_reply_error(c, PROTO_ERROR_INTERNAL, "%s", strerror(-r));
        r = agent_pause(a);
        if (r < 0)
                call_reply_error(c, PROTO_ERROR_INTERNAL, "cannot freeze agent %s: %s", a->id, strerror(-r));
        return 0;
}

int op_resume(Call *c)
{
        Agent *a = find_or_reply(c, c->request.args.agent.agent);
        int r;

        if (!a)
                return 0;
        if (agent_state_next(a->state, AGENT_EVENT_RESUME) < 0)
                return reply_state_conflict(c, a, "resume");
        r = call_defer(c, a, CALL_WAIT_THAWED, FREEZE_REPLY_TIMEOUT_USEC);
        if (r < 0)
                return call_reply_error(c, PROTO_ERROR_INTERNAL, "%s", strerror(-r));
        r = agent_resume(a);
        if (r < 0)
                call_reply_error(c, PROTO_ERROR_INTERNAL, "cannot thaw agent %s: %s", a->id, strerror(-r));
        return 0;
}

static uint64_t stop_grace(Manager *m, const ProtoStopArgs *args)
{
        return args->has_grace_ms ? args->grace_ms * USEC_PER_MSEC : m->config.stop_grace_usec;
}

int op_stop(Call *c)
{
        ProtoStopArgs *args = &c->request.args.stop;
        Agent *a = find_or_reply(c, args->agent);
        uint64_t grace = stop_grace(c->manager, args);
        int r;

        if (!a)
                return 0;
        if (agent_state_next(a->state, AGENT_EVENT_STOP) < 0)
                return reply_state_conflict(c, a, "stop");
        r = call_defer(c, a, CALL_WAIT_ENDED, grace + KILL_REPLY_TIMEOUT_USEC);
        if (r < 0)
                return call_reply_error(c, PROTO_ERROR_INTERNAL, "%s", strerror(-r));
        r = agent_stop(a, grace);
        if (r < 0)
                log_warning_errno(r, "Agent %s: stopping failed: %m", a->id);
        return 0;
}

int op_kill(Call *c)
{
        Agent *a = find_or_reply(c, c->request.args.agent.agent);
        int r;

        if (!a)
                return 0;
        if (agent_state_next(a->state, AGENT_EVENT_STOP) < 0)
                return reply_state_conflict(c, a, "kill");
        r = call_defer(c, a, CALL_WAIT_ENDED, KILL_REPLY_TIMEOUT_USEC);
        if (r < 0)
                return call_reply_error(c, PROTO_ERROR_INTERNAL, "%s", strerror(-r));
        r = agent_kill(a);
        if (r < 0)
                log_warning_errno(r, "Agent %s: cgroup.kill failed: %m", a->id);
        return 0;
}

int op_signal(Call *c)
{
        ProtoSignalArgs *args = &c->request.args.signal;
        Agent *a = find_or_reply(c, args->agent);
        int r;

        if (!a)
                return 0;
        if (args->signal <= 0 || args->signal >= _NSIG)
                return call_reply_error(c, PROTO_ERROR_BAD_REQUEST, "invalid signal %d", args->signal);
        r = agent_send_signal(a, args->signal);
        if (r == -EBUSY)
                return reply_state_conflict(c, a, "signal");
        if (r < 0)
                return call_reply_error(c, PROTO_ERROR_INTERNAL, "cannot reach the shim of agent %s: %s",
                                        a->id, strerror(-r));
        call_reply_agent(c, a);
        return 0;
}

int op_stdin(Call *c)
{
        ProtoStdinArgs *args = &c->request.args.input;
        Agent *a = find_or_reply(c, args->agent);
        const uint8_t *data = args->data.data;
        size_t size = args->data.data ? args->data.size : 0;
        uint64_t first;
        int r;

        if (!a)
                return 0;
        if (a->state == PROTO_STATE_STARTING || agent_state_is_ended(a->state))
                return reply_state_conflict(c, a, "write to");
        if (!a->stdin_open)
                return call_reply_error(c, PROTO_ERROR_CONFLICT, "stdin is closed");
        if (size == 0 && !args->close) {
                ProtoReply reply = {};
                if (proto_reply_init_ok(&reply, c->request.id, c->request.op) < 0)
                        return call_reply_error(c, PROTO_ERROR_INTERNAL, "out of memory");
                return call_reply(c, &reply);
        }
        first = a->next_cookie;
        /* the shim takes at most SHIM_STDIN_CHUNK_MAX per packet; each chunk is acked on its own, and the
         * reply counts what was taken (docs/protocol.md: fewer than sent means retry the rest) */
        for (size_t off = 0;;) {
                size_t n = MIN(size - off, (size_t)SHIM_STDIN_CHUNK_MAX);
                bool last = off + n >= size;
                r = shim_link_send_stdin(a, a->next_cookie, data + off, n, last && args->close, off > 0);
                if (r == -EAGAIN && off > 0)
                        break; /* the chunks sent are acked: the reply says how much they were */
                if (r == -EAGAIN) {
                        ProtoReply reply = {};
                        if (proto_reply_init_ok(&reply, c->request.id, c->request.op) < 0)
                                return call_reply_error(c, PROTO_ERROR_INTERNAL, "out of memory");
                        return call_reply(c, &reply); /* written: 0 */
                }
                if ((r == -EPIPE || r == -ENOTCONN || r == -ECONNRESET) && off == 0)
                        /* the shim went away (the agent is ending): nothing was written */
                        return call_reply_error(c, PROTO_ERROR_CONFLICT,
                                                "stdin of agent %s is closed: the agent is ending", a->id);
                if (r == -EPIPE || r == -ENOTCONN || r == -ECONNRESET)
                        break; /* the chunks sent are acked or the call ends with the agent */
                if (r < 0)
                        return call_reply_error(c, PROTO_ERROR_INTERNAL,
                                                "cannot pass stdin to the shim of agent %s: %s", a->id,
                                                strerror(-r));
                a->next_cookie++;
                off += n;
                if (last)
                        break;
        }
        c->cookie_first = first;
        c->cookie = a->next_cookie - 1;
        r = call_defer(c, a, CALL_WAIT_STDIN, STDIN_REPLY_TIMEOUT_USEC);
        if (r < 0)
                call_reply_error(c, PROTO_ERROR_INTERNAL, "%s", strerror(-r));
        return 0;
}

int op_remove(Call *c)
{
        Agent *a = find_or_reply(c, c->request.args.agent.agent);
        ProtoReply reply = {};
        int r;

        if (!a)
                return 0;
        if (!agent_state_is_ended(a->state))
                return call_reply_error(c, PROTO_ERROR_CONFLICT,
                                        "agent %s is %s: stop it before removing it", a->id,
                                        proto_state_to_string(a->state));
        r = proto_reply_init_ok(&reply, c->request.id, c->request.op);
        if (r >= 0)
                r = agent_fill_info(a, &reply.result.agent.agent);
        if (r < 0) {
                proto_reply_done(&reply);
                return call_reply_error(c, PROTO_ERROR_INTERNAL, "out of memory");
        }
        if (a->remove_requested || (a->cg && !a->cgroups_removed)) {
                proto_reply_done(&reply);
                r = call_defer(c, a, CALL_WAIT_REMOVED, KILL_REPLY_TIMEOUT_USEC);
                if (r < 0)
                        return call_reply_error(c, PROTO_ERROR_INTERNAL, "%s", strerror(-r));
                (void)agent_remove(a); /* may answer and free at once */
                return 0;
        }
        r = agent_remove(a);
        if (r < 0) {
                proto_reply_done(&reply);
                return call_reply_error(c, PROTO_ERROR_INTERNAL, "cannot remove agent %s: %s", a->id,
                                        strerror(-r));
        }
        call_reply(c, &reply);
        return 0;
}

int op_action(Call *c)
{
        ProtoActionArgs *args = &c->request.args.action;
        Agent *a = find_or_reply(c, args->agent);

        if (a)
                call_reply_error(c, PROTO_ERROR_CONFLICT,
                                 "agent %s has no action channel: it cannot take action %s", a->id,
                                 args->name ?: "");
        return 0;
}

/* One batch step; it only starts the operation (a batch does not wait for agents to freeze or end). */
static int batch_one(Call *c, ProtoBatchArgs *b, Agent *a, ProtoErrorCode *ret_code, char **ret_msg)
{
        int r = 0;

        switch (b->op) {
        case PROTO_OP_GET:
                return 0;
        case PROTO_OP_PAUSE:
                r = agent_state_next(a->state, AGENT_EVENT_PAUSE) < 0 ? -EBUSY : agent_pause(a);
                break;
        case PROTO_OP_RESUME:
                r = agent_state_next(a->state, AGENT_EVENT_RESUME) < 0 ? -EBUSY : agent_resume(a);
                break;
        case PROTO_OP_STOP:
                r = agent_stop(a, stop_grace(c->manager, &b->args.stop));
                break;
        case PROTO_OP_KILL:
                r = agent_kill(a);
                break;
        case PROTO_OP_SIGNAL:
                r = agent_send_signal(a, b->args.signal.signal);
                break;
        case PROTO_OP_REMOVE:
                r = agent_remove(a); /* 1: finishes once its cgroups are empty */
                break;
        case PROTO_OP_ACTION:
                *ret_code = PROTO_ERROR_CONFLICT;
                (void)asprintf_safe(ret_msg, "the agent has no action channel: it cannot take action %s",
                                    b->args.action.name ?: "");
                return -ENOENT;
        default:
                *ret_code = PROTO_ERROR_BAD_REQUEST;
                (void)asprintf_safe(ret_msg, "op %s cannot be batched", proto_op_to_string(b->op) ?: "?");
                return -EINVAL;
        }
        if (r == -EBUSY) {
                *ret_code = PROTO_ERROR_CONFLICT;
                (void)asprintf_safe(ret_msg, "the agent is %s", proto_state_to_string(a->state));
        } else if (r < 0) {
                *ret_code = PROTO_ERROR_INTERNAL;
                (void)asprintf_safe(ret_msg, "%s", strerror(-r));
        }
        return r;
}

static bool selector_match(const ProtoSelector *s, Agent *a)
{
        if (s->has_state ? a->state != s->state : false)
                return false;
        if (!labels_match(&s->labels, &a->labels))
                return false;
        if (s->name_glob && (!a->name || fnmatch(s->name_glob, a->name, 0) != 0))
                return false;
        return true;
}

static int batch_add(ProtoBatchResult *res, const char *agent, bool ok, ProtoErrorCode code, const char *msg)
{
        ProtoBatchItem *it = &res->results[res->n_results];

        /* analyzer false positive: the reply's item owns the copy (stored through a parameter, lost by the
         * analyzer) */
        ANALYZER_IGNORE_LEAK_BEGIN
        it->agent = strdup(agent);
        if (!it->agent)
                return -ENOMEM;
        ANALYZER_IGNORE_END
        it->ok = ok;
        if (!ok) {
                it->error_code = code;
                /* analyzer false positive: the reply's item owns the copy (stored through a parameter, lost
                 * by the analyzer) */
                ANALYZER_IGNORE_LEAK_BEGIN
                it->error_msg = strdup(msg ?: "");
                if (!it->error_msg) {
                        free(it->agent);
                        it->agent = NULL;
                        return -ENOMEM;
                }
                ANALYZER_IGNORE_END
                res->failed_count++;
        } else
                res->ok_count++;
        res->n_results++;
        return 0;
}

int op_batch(Call *c)
{
        Manager *m = c->manager;
        ProtoBatchArgs *b = &c->request.args.batch;
        _cleanup_free_ Agent **targets = NULL;
        _cleanup_free_ const char **refs = NULL;
        ProtoReply reply = {};
        size_t n = 0, cap = b->agents ? b->n_agents : m->n_agents;
        int r;

        if (!proto_op_batchable(b->op))
                return call_reply_error(c, PROTO_ERROR_BAD_REQUEST, "op %s cannot be batched",
                                        proto_op_to_string(b->op) ?: "?");
        cap = MIN(MAX(cap, (size_t)1), (size_t)PROTO_BATCH_AGENTS_MAX);
        targets = calloc(cap, sizeof *targets);
        refs = calloc(cap, sizeof *refs);
        if (!targets || !refs)
                return call_reply_error(c, PROTO_ERROR_INTERNAL, "out of memory");
        if (b->agents) {
                for (size_t i = 0; i < b->n_agents && n < cap; i++) {
                        Agent *a = agent_find(m, b->agents[i], c->uid, c->admin);
                        bool dup = false;
                        /* an agent named twice is acted on once (remove frees it) */
                        for (size_t j = 0; a && j < n && !dup; j++)
                                dup = targets[j] == a;
                        if (dup)
                                continue;
                        refs[n] = b->agents[i];
                        targets[n++] = a;
                }
        } else
                for (Agent *a = m->agents; a && n < cap; a = a->next) {
                        if ((!c->admin && a->owner_uid != c->uid) || !selector_match(&b->selector, a))
                                continue;
                        refs[n] = a->id;
                        targets[n++] = a;
                }

        r = proto_reply_init_ok(&reply, c->request.id, c->request.op);
        if (r < 0)
                return call_reply_error(c, PROTO_ERROR_INTERNAL, "out of memory");
        reply.result.batch.results = calloc(MAX(n, (size_t)1), sizeof(ProtoBatchItem));
        if (!reply.result.batch.results) {
                proto_reply_done(&reply);
                return call_reply_error(c, PROTO_ERROR_INTERNAL, "out of memory");
        }
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *msg = NULL, *id = NULL;
                ProtoErrorCode code = PROTO_ERROR_INTERNAL;
                bool ok;

                if (!targets[i]) {
                        ok = false;
                        code = PROTO_ERROR_NOT_FOUND;
                        (void)asprintf_safe(&msg, "no agent %s", refs[i]);
                        id = strdup(refs[i]);
                } else {
                        id = strdup(targets[i]->id); /* remove frees the agent */
                        ok = batch_one(c, b, targets[i], &code, &msg) >= 0;
                }
                if (!id || batch_add(&reply.result.batch, id, ok, code, msg) < 0) {
                        proto_reply_done(&reply);
                        return call_reply_error(c, PROTO_ERROR_INTERNAL, "out of memory");
                }
                if (!ok && b->fail_fast)
                        break;
        }
        call_reply(c, &reply);
        return 0;
}
