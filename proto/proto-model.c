/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "proto.h"
#include "string-util.h"

#define DEFINE_STRING_TABLE(name, type, max, invalid)                                                       \
        const char *name##_to_string(type v)                                                                \
        {                                                                                                   \
                if ((int)v < 0 || (int)v >= (max))                                                          \
                        return NULL;                                                                        \
                return name##_table[v];                                                                     \
        }                                                                                                   \
        type name##_from_string(const char *s)                                                              \
        {                                                                                                   \
                if (!s)                                                                                     \
                        return (invalid);                                                                   \
                for (int i = 0; i < (max); i++)                                                             \
                        if (streq(name##_table[i], s))                                                      \
                                return (type)i;                                                             \
                return (invalid);                                                                           \
        }

static const char *const proto_state_table[_PROTO_STATE_MAX] = {
        [PROTO_STATE_STARTING] = "starting", [PROTO_STATE_RUNNING] = "running",
        [PROTO_STATE_PAUSING] = "pausing",   [PROTO_STATE_PAUSED] = "paused",
        [PROTO_STATE_RESUMING] = "resuming", [PROTO_STATE_STOPPING] = "stopping",
        [PROTO_STATE_EXITED] = "exited",     [PROTO_STATE_FAILED] = "failed",
};
DEFINE_STRING_TABLE(proto_state, ProtoState, _PROTO_STATE_MAX, _PROTO_STATE_INVALID)

static const char *const proto_reason_table[_PROTO_REASON_MAX] = {
        [PROTO_REASON_COMPLETED] = "completed",
        [PROTO_REASON_SIGNALED] = "signaled",
        [PROTO_REASON_OOM_KILLED] = "oom_killed",
        [PROTO_REASON_PIDS_LIMIT] = "pids_limit",
        [PROTO_REASON_TIMED_OUT] = "timed_out",
        [PROTO_REASON_STOPPED] = "stopped",
        [PROTO_REASON_KILLED] = "killed",
        [PROTO_REASON_LOST] = "lost",
        [PROTO_REASON_SPAWN_FAILED] = "spawn_failed",
};
DEFINE_STRING_TABLE(proto_reason, ProtoReason, _PROTO_REASON_MAX, _PROTO_REASON_INVALID)

static const char *const proto_event_kind_table[_PROTO_EVENT_KIND_MAX] = {
        [PROTO_EVENT_STATUS_CHANGED] = "status_changed",
        [PROTO_EVENT_OUTPUT] = "output",
        [PROTO_EVENT_ERROR] = "error",
        [PROTO_EVENT_EXITED] = "exited",
        [PROTO_EVENT_HEARTBEAT] = "heartbeat",
        [PROTO_EVENT_LIMIT_HIT] = "limit_hit",
};
DEFINE_STRING_TABLE(proto_event_kind, ProtoEventKind, _PROTO_EVENT_KIND_MAX, _PROTO_EVENT_KIND_INVALID)

static const char *const proto_stream_table[_PROTO_STREAM_MAX] = {
        [PROTO_STREAM_STDOUT] = "stdout",
        [PROTO_STREAM_STDERR] = "stderr",
        [PROTO_STREAM_BOTH] = "both",
};
DEFINE_STRING_TABLE(proto_stream, ProtoStream, _PROTO_STREAM_MAX, _PROTO_STREAM_INVALID)

static const char *const proto_output_mode_table[_PROTO_OUTPUT_MODE_MAX] = {
        [PROTO_OUTPUT_LINES] = "lines",
        [PROTO_OUTPUT_RAW] = "raw",
};
DEFINE_STRING_TABLE(proto_output_mode, ProtoOutputMode, _PROTO_OUTPUT_MODE_MAX, _PROTO_OUTPUT_MODE_INVALID)

static const char *const proto_net_table[_PROTO_NET_MAX] = {
        [PROTO_NET_NONE] = "none",
        [PROTO_NET_HOST] = "host",
};
DEFINE_STRING_TABLE(proto_net, ProtoNet, _PROTO_NET_MAX, _PROTO_NET_INVALID)

int proto_signal_from_string(const char *s)
{
        const char *name = s;

        if (!s || !*s)
                return -EINVAL;
        if (strncasecmp(name, "SIG", 3) == 0)
                name += 3;
        if (!*name)
                return -EINVAL;
        /* Only the classic signals by name; real-time ones travel as numbers. */
        for (int sig = 1; sig < SIGRTMIN && sig < _NSIG; sig++) {
                const char *abbrev = sigabbrev_np(sig);
                if (abbrev && strcasecmp(abbrev, name) == 0)
                        return sig;
        }
        return -EINVAL;
}

/* ---- frees ---- */

static void strv_done(char ***l, size_t *n)
{
        *l = strv_free(*l);
        *n = 0;
}

void proto_value_done(ProtoValue *v)
{
        if (!v)
                return;
        free(v->data);
        *v = (ProtoValue){};
}

void proto_bytes_done(ProtoBytes *b)
{
        if (!b)
                return;
        free(b->data);
        *b = (ProtoBytes){};
}

void proto_str_map_done(ProtoStrMap *m)
{
        if (!m)
                return;
        for (size_t i = 0; i < m->n_pairs; i++) {
                free(m->pairs[i].key);
                free(m->pairs[i].value);
        }
        free(m->pairs);
        *m = (ProtoStrMap){};
}

void proto_agent_info_done(ProtoAgentInfo *i)
{
        if (!i)
                return;
        free(i->id);
        free(i->name);
        proto_str_map_done(&i->labels);
        strv_done(&i->argv, &i->n_argv);
        free(i->cgroup);
        *i = (ProtoAgentInfo){};
}

void proto_event_done(ProtoEvent *e)
{
        if (!e)
                return;
        free(e->agent);
        proto_value_done(&e->data);
        *e = (ProtoEvent){};
}

void proto_list_args_done(ProtoListArgs *a)
{
        if (!a)
                return;
        proto_str_map_done(&a->labels);
        *a = (ProtoListArgs){};
}

void proto_agent_args_done(ProtoAgentArgs *a)
{
        if (!a)
                return;
        free(a->agent);
        *a = (ProtoAgentArgs){};
}

void proto_spawn_args_done(ProtoSpawnArgs *a)
{
        if (!a)
                return;
        strv_done(&a->argv, &a->n_argv);
        proto_str_map_done(&a->env);
        free(a->cwd);
        free(a->workspace);
        free(a->name);
        proto_str_map_done(&a->labels);
        free(a->policy);
        free(a->user);
        *a = (ProtoSpawnArgs){};
}

void proto_stop_args_done(ProtoStopArgs *a)
{
        if (!a)
                return;
        free(a->agent);
        *a = (ProtoStopArgs){};
}

void proto_signal_args_done(ProtoSignalArgs *a)
{
        if (!a)
                return;
        free(a->agent);
        *a = (ProtoSignalArgs){};
}

void proto_stdin_args_done(ProtoStdinArgs *a)
{
        if (!a)
                return;
        free(a->agent);
        proto_bytes_done(&a->data);
        *a = (ProtoStdinArgs){};
}

void proto_output_args_done(ProtoOutputArgs *a)
{
        if (!a)
                return;
        free(a->agent);
        free(a->grep);
        free(a->cursor);
        *a = (ProtoOutputArgs){};
}

void proto_action_args_done(ProtoActionArgs *a)
{
        if (!a)
                return;
        free(a->agent);
        free(a->name);
        proto_value_done(&a->params);
        *a = (ProtoActionArgs){};
}

void proto_selector_done(ProtoSelector *s)
{
        if (!s)
                return;
        proto_str_map_done(&s->labels);
        free(s->name_glob);
        *s = (ProtoSelector){};
}

void proto_batch_args_done(ProtoBatchArgs *a)
{
        if (!a)
                return;
        strv_done(&a->agents, &a->n_agents);
        proto_selector_done(&a->selector);
        switch (a->op) {
        case PROTO_OP_STOP:
                proto_stop_args_done(&a->args.stop);
                break;
        case PROTO_OP_SIGNAL:
                proto_signal_args_done(&a->args.signal);
                break;
        case PROTO_OP_ACTION:
                proto_action_args_done(&a->args.action);
                break;
        default:
                break;
        }
        *a = (ProtoBatchArgs){};
}

void proto_events_args_done(ProtoEventsArgs *a)
{
        if (!a)
                return;
        *a = (ProtoEventsArgs){};
}

void proto_request_done(ProtoRequest *r)
{
        if (!r)
                return;
        free(r->id);
        switch (r->op) {
        case PROTO_OP_LIST:
                proto_list_args_done(&r->args.list);
                break;
        case PROTO_OP_GET:
        case PROTO_OP_PAUSE:
        case PROTO_OP_RESUME:
        case PROTO_OP_KILL:
        case PROTO_OP_REMOVE:
                proto_agent_args_done(&r->args.agent);
                break;
        case PROTO_OP_SPAWN:
                proto_spawn_args_done(&r->args.spawn);
                break;
        case PROTO_OP_STOP:
                proto_stop_args_done(&r->args.stop);
                break;
        case PROTO_OP_SIGNAL:
                proto_signal_args_done(&r->args.signal);
                break;
        case PROTO_OP_STDIN:
                proto_stdin_args_done(&r->args.input);
                break;
        case PROTO_OP_OUTPUT:
                proto_output_args_done(&r->args.output);
                break;
        case PROTO_OP_ACTION:
                proto_action_args_done(&r->args.action);
                break;
        case PROTO_OP_BATCH:
                proto_batch_args_done(&r->args.batch);
                break;
        case PROTO_OP_EVENTS:
                proto_events_args_done(&r->args.events);
                break;
        default:
                break;
        }
        *r = (ProtoRequest){};
}

void proto_health_result_done(ProtoHealthResult *h)
{
        if (!h)
                return;
        free(h->version);
        free(h->cgroup_root);
        strv_done(&h->cgroup_controllers, &h->n_cgroup_controllers);
        *h = (ProtoHealthResult){};
}

void proto_list_result_done(ProtoListResult *l)
{
        if (!l)
                return;
        for (size_t i = 0; i < l->n_agents; i++)
                proto_agent_info_done(&l->agents[i]);
        free(l->agents);
        *l = (ProtoListResult){};
}

void proto_agent_result_done(ProtoAgentResult *a)
{
        if (!a)
                return;
        proto_agent_info_done(&a->agent);
}

void proto_output_line_done(ProtoOutputLine *l)
{
        if (!l)
                return;
        free(l->text);
        *l = (ProtoOutputLine){};
}

void proto_output_result_done(ProtoOutputResult *o)
{
        if (!o)
                return;
        for (size_t i = 0; i < o->n_lines; i++)
                proto_output_line_done(&o->lines[i]);
        free(o->lines);
        proto_bytes_done(&o->data);
        free(o->cursor);
        *o = (ProtoOutputResult){};
}

void proto_action_result_done(ProtoActionResult *a)
{
        if (!a)
                return;
        proto_value_done(&a->result);
}

void proto_batch_item_done(ProtoBatchItem *b)
{
        if (!b)
                return;
        free(b->agent);
        free(b->error_msg);
        *b = (ProtoBatchItem){};
}

void proto_batch_result_done(ProtoBatchResult *b)
{
        if (!b)
                return;
        for (size_t i = 0; i < b->n_results; i++)
                proto_batch_item_done(&b->results[i]);
        free(b->results);
        *b = (ProtoBatchResult){};
}

void proto_events_result_done(ProtoEventsResult *e)
{
        if (!e)
                return;
        for (size_t i = 0; i < e->n_events; i++)
                proto_event_done(&e->events[i]);
        free(e->events);
        *e = (ProtoEventsResult){};
}

void proto_stats_result_done(ProtoStatsResult *s)
{
        if (!s)
                return;
        for (size_t i = 0; i < s->n_stats; i++)
                free(s->stats[i].name);
        free(s->stats);
        *s = (ProtoStatsResult){};
}

void proto_reply_done(ProtoReply *r)
{
        if (!r)
                return;
        free(r->id);
        free(r->error_msg);
        free(r->error_agent);
        if (r->ok)
                switch (r->op) {
                case PROTO_OP_HEALTH:
                        proto_health_result_done(&r->result.health);
                        break;
                case PROTO_OP_LIST:
                        proto_list_result_done(&r->result.list);
                        break;
                case PROTO_OP_GET:
                case PROTO_OP_SPAWN:
                case PROTO_OP_PAUSE:
                case PROTO_OP_RESUME:
                case PROTO_OP_STOP:
                case PROTO_OP_KILL:
                case PROTO_OP_SIGNAL:
                case PROTO_OP_REMOVE:
                        proto_agent_result_done(&r->result.agent);
                        break;
                case PROTO_OP_OUTPUT:
                        proto_output_result_done(&r->result.output);
                        break;
                case PROTO_OP_ACTION:
                        proto_action_result_done(&r->result.action);
                        break;
                case PROTO_OP_BATCH:
                        proto_batch_result_done(&r->result.batch);
                        break;
                case PROTO_OP_EVENTS:
                        proto_events_result_done(&r->result.events);
                        break;
                case PROTO_OP_STATS:
                        proto_stats_result_done(&r->result.stats);
                        break;
                default:
                        break;
                }
        *r = (ProtoReply){};
}

/* ---- maps and copies ---- */

int proto_str_map_add(ProtoStrMap *m, const char *key, const char *value)
{
        _cleanup_free_ char *k = NULL, *v = NULL;
        ProtoStrPair *p;

        if (!m || !key || !value)
                return -EINVAL;
        k = strdup(key);
        v = strdup(value);
        if (!k || !v)
                return -ENOMEM;
        p = reallocarray(m->pairs, m->n_pairs + 1, sizeof(ProtoStrPair));
        if (!p)
                return -ENOMEM;
        m->pairs = p;
        m->pairs[m->n_pairs++] = (ProtoStrPair){.key = TAKE_PTR(k), .value = TAKE_PTR(v)};
        return 0;
}

const char *proto_str_map_get(const ProtoStrMap *m, const char *key)
{
        if (!m || !key)
                return NULL;
        for (size_t i = 0; i < m->n_pairs; i++)
                if (streq(m->pairs[i].key, key))
                        return m->pairs[i].value;
        return NULL;
}

static int strdup_opt(const char *s, char **ret)
{
        if (!s) {
                *ret = NULL;
                return 0;
        }
        *ret = strdup(s);
        return *ret ? 0 : -ENOMEM;
}

int proto_agent_info_copy(const ProtoAgentInfo *i, ProtoAgentInfo *ret)
{
        _cleanup_(proto_agent_info_done) ProtoAgentInfo c = {};
        int r;

        if (!i || !ret)
                return -EINVAL;
        c = *i;
        c.id = c.name = c.cgroup = NULL;
        c.labels = (ProtoStrMap){};
        c.argv = NULL;
        c.n_argv = 0;

        r = strdup_opt(i->id, &c.id);
        if (r < 0)
                return r;
        r = strdup_opt(i->name, &c.name);
        if (r < 0)
                return r;
        r = strdup_opt(i->cgroup, &c.cgroup);
        if (r < 0)
                return r;
        for (size_t k = 0; k < i->labels.n_pairs; k++) {
                r = proto_str_map_add(&c.labels, i->labels.pairs[k].key, i->labels.pairs[k].value);
                if (r < 0)
                        return r;
        }
        if (i->argv) {
                r = strv_copy(i->argv, &c.argv);
                if (r < 0)
                        return r;
                c.n_argv = strv_length(c.argv);
        }
        *ret = c;
        c = (ProtoAgentInfo){};
        return 0;
}

/* ---- reply builders ---- */

int proto_reply_init_ok(ProtoReply *r, const char *id, ProtoOp op)
{
        char *d;

        if (!r || op < 0 || op >= _PROTO_OP_MAX)
                return -EINVAL;
        d = strdup(id ?: "");
        if (!d)
                return -ENOMEM;
        *r = (ProtoReply){.id = d, .op = op, .ok = true};
        return 0;
}

int proto_reply_init_error(ProtoReply *r, const char *id, ProtoOp op, ProtoErrorCode code, const char *fmt,
                           ...)
{
        _cleanup_free_ char *d = NULL, *msg = NULL;
        va_list ap;
        int n;

        if (!r || code < 0 || code >= _PROTO_ERROR_MAX || !fmt)
                return -EINVAL;
        d = strdup(id ?: "");
        if (!d)
                return -ENOMEM;
        va_start(ap, fmt);
        n = vasprintf(&msg, fmt, ap);
        va_end(ap);
        if (n < 0)
                return -ENOMEM;
        if ((size_t)n > PROTO_ERROR_MSG_MAX)
                msg[PROTO_ERROR_MSG_MAX] = 0;
        *r = (ProtoReply){
                .id = TAKE_PTR(d),
                .op = op,
                .ok = false,
                .error_code = code,
                .error_msg = TAKE_PTR(msg),
        };
        return 0;
}

/* ---- topics ---- */

static bool agent_id_topic_safe(const char *id)
{
        size_t n;

        if (!id)
                return false;
        n = strlen(id);
        return n > 0 && n <= PROTO_AGENT_ID_MAX && !strchr(id, '.');
}

int proto_event_topic(const char *agent_id, ProtoEventKind kind, char **ret)
{
        const char *k = proto_event_kind_to_string(kind);

        if (!k || !ret)
                return -EINVAL;
        if (!agent_id)
                return asprintf_safe(ret, "host.%s", k);
        if (!agent_id_topic_safe(agent_id))
                return -EINVAL;
        return asprintf_safe(ret, "agent.%s.%s", agent_id, k);
}

int proto_event_topic_agent_prefix(const char *agent_id, char **ret)
{
        if (!ret || !agent_id_topic_safe(agent_id))
                return -EINVAL;
        return asprintf_safe(ret, "agent.%s.", agent_id);
}
