/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The wire level for tests and bench: each call is the public one, its arguments given and its result
 * taken back in the protocol model. Built into libdescartes_internal only. */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "client-internal.h"
#include "client-objects.h"
#include "string-util.h"

/* A map as "KEY=VALUE" entries (NULL for an empty map). */
static int strv_from_map(const ProtoStrMap *m, char ***ret)
{
        _cleanup_strv_free_ char **l = NULL;

        for (size_t i = 0; i < m->n_pairs; i++) {
                _cleanup_free_ char *s = NULL;

                if (asprintf_safe(&s, "%s=%s", m->pairs[i].key, m->pairs[i].value) < 0 ||
                    strv_extend(&l, s) < 0)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(l);
        return 0;
}

static int oom(DescartesError *e)
{
        return client_error_set(e, DESCARTES_ERROR_LOCAL, -ENOMEM, "out of memory");
}

/* Moves the record out of a (if the call succeeded and the caller wants it) and drops a. */
static int take_agent(int r, DescartesAgent *a, ProtoAgentInfo *ret)
{
        if (r >= 0 && ret && a) {
                *ret = a->info;
                a->info = (ProtoAgentInfo){};
        }
        descartes_agent_unref(a);
        return r;
}

#define AGENT_CALL(call, ret)                                                                               \
        ({                                                                                                  \
                DescartesAgent *_a = NULL;                                                                  \
                int _r = (call); /* before _a is read */                                                    \
                take_agent(_r, _a, ret);                                                                    \
        })
#define AGENT_OUT(ret) ((ret) ? &_a : NULL)

int wire_get(DescartesClient *c, const char *agent, ProtoAgentInfo *ret, DescartesError *e)
{
        return AGENT_CALL(descartes_get(c, agent, AGENT_OUT(ret), e), ret);
}

int wire_pause(DescartesClient *c, const char *agent, ProtoAgentInfo *ret, DescartesError *e)
{
        return AGENT_CALL(descartes_pause(c, agent, AGENT_OUT(ret), e), ret);
}

int wire_resume(DescartesClient *c, const char *agent, ProtoAgentInfo *ret, DescartesError *e)
{
        return AGENT_CALL(descartes_resume(c, agent, AGENT_OUT(ret), e), ret);
}

int wire_kill(DescartesClient *c, const char *agent, ProtoAgentInfo *ret, DescartesError *e)
{
        return AGENT_CALL(descartes_kill(c, agent, AGENT_OUT(ret), e), ret);
}

int wire_remove(DescartesClient *c, const char *agent, ProtoAgentInfo *ret, DescartesError *e)
{
        return AGENT_CALL(descartes_remove(c, agent, AGENT_OUT(ret), e), ret);
}

int wire_stop(DescartesClient *c, const char *agent, int64_t grace_ms, ProtoAgentInfo *ret,
              DescartesError *e)
{
        return AGENT_CALL(descartes_stop(c, agent, grace_ms, AGENT_OUT(ret), e), ret);
}

int wire_signal(DescartesClient *c, const char *agent, int sig, ProtoAgentInfo *ret, DescartesError *e)
{
        return AGENT_CALL(descartes_signal(c, agent, sig, AGENT_OUT(ret), e), ret);
}

int wire_spawn(DescartesClient *c, const ProtoSpawnArgs *args, ProtoAgentInfo *ret, DescartesError *e)
{
        _cleanup_strv_free_ char **env = NULL, **labels = NULL;
        DescartesSpawnArgs a = DESCARTES_SPAWN_ARGS_INIT;

        if (!args)
                return descartes_spawn(c, NULL, NULL, e);
        if (strv_from_map(&args->env, &env) < 0 || strv_from_map(&args->labels, &labels) < 0)
                return oom(e);
        a.argv = (const char *const *)args->argv;
        a.env = (const char *const *)env;
        a.labels = (const char *const *)labels;
        a.cwd = args->cwd;
        a.workspace = args->workspace;
        a.name = args->name;
        a.has_cpu = args->limits.has_cpu;
        a.cpu_millicores = args->limits.cpu_millicores;
        a.has_memory = args->limits.has_memory;
        a.memory = args->limits.memory;
        a.has_swap = args->limits.has_swap;
        a.swap = args->limits.swap;
        a.has_pids = args->limits.has_pids;
        a.pids = args->limits.pids;
        a.has_timeout_ms = args->has_timeout_ms;
        a.timeout_ms = args->timeout_ms;
        a.has_net = args->has_net;
        a.net = (DescartesNet)args->net;
        a.policy = args->policy;
        a.user = args->user;
        a.open_stdin = args->open_stdin;
        if (args->has_backend) {
                a.backend = args->backend.name;
                a.task = args->backend.task;
                a.model = args->backend.model;
                a.system_prompt = args->backend.system_prompt;
        }
        a.tty = args->tty;
        if (args->has_health_check) {
                const ProtoHealthCheck *h = &args->health_check;
                static const char *const none[] = {NULL};

                /* an empty cmd still says that there is a health check */
                a.health_cmd = h->n_cmd > 0 ? (const char *const *)h->cmd : NULL;
                a.has_health_interval_ms = h->has_interval_ms;
                a.health_interval_ms = h->interval_ms;
                a.has_health_timeout_ms = h->has_timeout_ms;
                a.health_timeout_ms = h->timeout_ms;
                a.has_health_retries = h->has_retries;
                a.health_retries = h->retries;
                a.has_idle_timeout_ms = h->has_idle_timeout_ms;
                a.idle_timeout_ms = h->idle_timeout_ms;
                a.has_on_unhealthy = h->has_on_unhealthy;
                a.on_unhealthy = (DescartesOnUnhealthy)h->on_unhealthy;
                if (!a.health_cmd && !a.has_health_interval_ms && !a.has_health_timeout_ms &&
                    !a.has_health_retries && !a.has_idle_timeout_ms && !a.has_on_unhealthy)
                        a.health_cmd = none;
        }
        return AGENT_CALL(descartes_spawn(c, &a, AGENT_OUT(ret), e), ret);
}

int wire_stdin(DescartesClient *c, const char *agent, const void *data, size_t size, bool close_after,
               uint64_t *ret_written, DescartesError *e)
{
        return descartes_stdin(c, agent, data, size, close_after, ret_written, e);
}

int wire_health(DescartesClient *c, ProtoHealthResult *ret, DescartesError *e)
{
        _cleanup_(descartes_health_unrefp) DescartesHealth *h = NULL;
        int r;

        if (!ret)
                return descartes_health(c, NULL, e);
        r = descartes_health(c, &h, e);
        if (r < 0)
                return r;
        assert(h); /* a call that succeeds hands out its object */
        *ret = h->result;
        h->result = (ProtoHealthResult){};
        return 0;
}

int wire_list(DescartesClient *c, const ProtoListArgs *args, ProtoListResult *ret, DescartesError *e)
{
        _cleanup_(descartes_agent_list_unrefp) DescartesAgentList *l = NULL;
        _cleanup_strv_free_ char **labels = NULL;
        DescartesListArgs a = DESCARTES_LIST_ARGS_INIT;
        int r;

        if (args) {
                if (strv_from_map(&args->labels, &labels) < 0)
                        return oom(e);
                a.all = args->all;
                a.has_state = args->has_state;
                a.state = (DescartesState)args->state;
                a.labels = (const char *const *)labels;
                a.has_limit = args->has_limit;
                a.limit = args->limit;
        }
        if (!ret)
                return descartes_list(c, &a, NULL, e);
        r = descartes_list(c, &a, &l, e);
        if (r < 0)
                return r;
        assert(l);
        *ret = (ProtoListResult){.agents = calloc(l->n_agents ?: 1, sizeof(ProtoAgentInfo)),
                                 .n_agents = l->n_agents};
        if (!ret->agents)
                return oom(e);
        for (size_t i = 0; i < l->n_agents; i++) {
                ret->agents[i] = l->agents[i]->info;
                l->agents[i]->info = (ProtoAgentInfo){};
        }
        return 0;
}

int wire_output(DescartesClient *c, const ProtoOutputArgs *args, ProtoOutputResult *ret, DescartesError *e)
{
        _cleanup_(descartes_output_unrefp) DescartesOutput *o = NULL;
        DescartesOutputArgs a = DESCARTES_OUTPUT_ARGS_INIT;
        int r;

        if (!args)
                return descartes_output(c, NULL, NULL, e);
        a.agent = args->agent;
        a.has_stream = args->has_stream;
        a.stream = (DescartesStream)args->stream;
        a.has_mode = args->has_mode;
        a.mode = (DescartesOutputMode)args->mode;
        a.has_offset = args->has_offset;
        a.offset = args->offset;
        a.has_limit = args->has_limit;
        a.limit = args->limit;
        a.has_tail = args->has_tail;
        a.tail = args->tail;
        a.grep = args->grep;
        a.has_since_ns = args->has_since_ns;
        a.since_ns = args->since_ns;
        a.cursor = args->cursor;
        if (!ret)
                return descartes_output(c, &a, NULL, e);
        r = descartes_output(c, &a, &o, e);
        if (r < 0)
                return r;
        assert(o);
        *ret = o->result;
        o->result = (ProtoOutputResult){};
        ret->lines = calloc(o->n_lines ?: 1, sizeof(ProtoOutputLine));
        if (!ret->lines) {
                proto_output_result_done(ret);
                return oom(e);
        }
        for (size_t i = 0; i < o->n_lines; i++) {
                ret->lines[i] = o->lines[i].line;
                o->lines[i].line = (ProtoOutputLine){};
        }
        ret->n_lines = o->n_lines;
        return 0;
}

static DescartesActionArgs action_args(const ProtoActionArgs *args)
{
        DescartesActionArgs a = DESCARTES_ACTION_ARGS_INIT;

        a.agent = args->agent;
        a.name = args->name;
        a.params = args->params.data;
        a.params_size = args->params.size;
        a.has_timeout_ms = args->has_timeout_ms;
        a.timeout_ms = args->timeout_ms;
        return a;
}

int wire_action(DescartesClient *c, const ProtoActionArgs *args, ProtoValue *ret_result, DescartesError *e)
{
        DescartesActionArgs a;
        void *data = NULL;
        size_t size = 0;
        int r;

        if (!args)
                return descartes_action(c, NULL, NULL, NULL, e);
        a = action_args(args);
        r = descartes_action(c, &a, ret_result ? &data : NULL, &size, e);
        if (r >= 0 && ret_result)
                *ret_result = (ProtoValue){.data = data, .size = size};
        return r;
}

int wire_batch(DescartesClient *c, const ProtoBatchArgs *args, ProtoBatchResult *ret, DescartesError *e)
{
        _cleanup_(descartes_batch_result_unrefp) DescartesBatchResult *b = NULL;
        _cleanup_strv_free_ char **labels = NULL;
        DescartesBatchArgs a = DESCARTES_BATCH_ARGS_INIT;
        DescartesActionArgs action;
        int r;

        if (!args)
                return descartes_batch(c, NULL, NULL, e);
        if (strv_from_map(&args->selector.labels, &labels) < 0)
                return oom(e);
        a.op = (DescartesOp)args->op;
        a.agents = (const char *const *)args->agents;
        a.has_selector = args->has_selector;
        a.selector_has_state = args->selector.has_state;
        a.selector_state = (DescartesState)args->selector.state;
        a.selector_labels = (const char *const *)labels;
        a.selector_name_glob = args->selector.name_glob;
        a.fail_fast = args->fail_fast;
        if (args->op == PROTO_OP_STOP) {
                a.has_grace_ms = args->args.stop.has_grace_ms;
                a.grace_ms = args->args.stop.grace_ms;
        } else if (args->op == PROTO_OP_SIGNAL)
                a.signal = args->args.signal.signal;
        else if (args->op == PROTO_OP_ACTION) {
                action = action_args(&args->args.action);
                a.action = &action;
        }
        if (!ret)
                return descartes_batch(c, &a, NULL, e);
        r = descartes_batch(c, &a, &b, e);
        if (r < 0)
                return r;
        assert(b);
        *ret = b->result;
        b->result = (ProtoBatchResult){};
        ret->results = calloc(b->n_items ?: 1, sizeof(ProtoBatchItem));
        if (!ret->results)
                return oom(e);
        for (size_t i = 0; i < b->n_items; i++) {
                ret->results[i] = b->items[i].item;
                b->items[i].item = (ProtoBatchItem){};
        }
        ret->n_results = b->n_items;
        return 0;
}

int wire_events(DescartesClient *c, uint64_t since_seq, uint64_t limit, ProtoEventsResult *ret,
                DescartesError *e)
{
        _cleanup_(descartes_events_unrefp) DescartesEvents *ev = NULL;
        int r;

        if (!ret)
                return descartes_events(c, since_seq, limit, NULL, e);
        r = descartes_events(c, since_seq, limit, &ev, e);
        if (r < 0)
                return r;
        assert(ev);
        *ret = ev->result;
        ev->result = (ProtoEventsResult){};
        ret->events = calloc(ev->n_events ?: 1, sizeof(ProtoEvent));
        if (!ret->events)
                return oom(e);
        for (size_t i = 0; i < ev->n_events; i++) {
                ret->events[i] = ev->events[i]->event;
                ev->events[i]->event = (ProtoEvent){};
        }
        ret->n_events = ev->n_events;
        return 0;
}

int wire_stats(DescartesClient *c, ProtoStatsResult *ret, DescartesError *e)
{
        _cleanup_(descartes_stats_unrefp) DescartesStats *s = NULL;
        int r;

        if (!ret)
                return descartes_stats(c, NULL, e);
        r = descartes_stats(c, &s, e);
        if (r < 0)
                return r;
        assert(s);
        *ret = s->result;
        s->result = (ProtoStatsResult){};
        return 0;
}

int wire_tenants(DescartesClient *c, ProtoTenantsResult *ret, DescartesError *e)
{
        _cleanup_(descartes_tenants_unrefp) DescartesTenants *t = NULL;
        int r;

        if (!ret)
                return descartes_tenants(c, NULL, e);
        r = descartes_tenants(c, &t, e);
        if (r < 0)
                return r;
        assert(t);
        *ret = t->result;
        t->result = (ProtoTenantsResult){};
        return 0;
}

int wire_exec(DescartesClient *c, const ProtoExecArgs *args, ProtoExecResult *ret, DescartesError *e)
{
        _cleanup_(descartes_exec_unrefp) DescartesExec *x = NULL;
        DescartesExecArgs a = DESCARTES_EXEC_ARGS_INIT;
        int r;

        if (!args)
                return descartes_exec(c, NULL, NULL, e);
        a.agent = args->agent;
        a.argv = (const char *const *)args->argv;
        a.stdin_data = args->input.data;
        a.stdin_size = args->input.size;
        a.has_timeout_ms = args->has_timeout_ms;
        a.timeout_ms = args->timeout_ms;
        r = descartes_exec(c, &a, ret ? &x : NULL, e);
        if (r < 0 || !ret)
                return r;
        assert(x);
        *ret = x->result;
        x->result = (ProtoExecResult){};
        return 0;
}

int wire_shutdown(DescartesClient *c, bool stop_agents, DescartesError *e)
{
        return descartes_shutdown(c, stop_agents, e);
}

int wire_subscription_next(DescartesSubscription *s, uint64_t timeout_usec, ProtoEvent *ret,
                           DescartesError *e)
{
        _cleanup_(descartes_event_unrefp) DescartesEvent *ev = NULL;
        int r;

        if (!ret)
                return descartes_subscription_next(s, timeout_usec, NULL, e);
        r = descartes_subscription_next(s, timeout_usec, &ev, e);
        if (r <= 0)
                return r;
        assert(ev);
        *ret = ev->event;
        ev->event = (ProtoEvent){};
        return 1;
}
