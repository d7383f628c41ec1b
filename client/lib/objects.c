/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "analyzer.h"
#include "cleanup.h"
#include "client-objects.h"
#include "string-util.h"

/* _ref, _unref and _unrefp of one object type; free_fn releases what it holds. */
#define DEFINE_REFCOUNT(type, name, free_fn)                                                                \
        type *descartes_##name##_ref(type *p)                                                               \
        {                                                                                                   \
                if (p)                                                                                      \
                        p->n_ref++;                                                                         \
                return p;                                                                                   \
        }                                                                                                   \
        type *descartes_##name##_unref(type *p)                                                             \
        {                                                                                                   \
                if (p && --p->n_ref == 0)                                                                   \
                        free_fn(p);                                                                         \
                return NULL;                                                                                \
        }                                                                                                   \
        void descartes_##name##_unrefp(type **p)                                                            \
        {                                                                                                   \
                if (p)                                                                                      \
                        *p = descartes_##name##_unref(*p);                                                  \
        }

static void agent_free(DescartesAgent *a)
{
        proto_agent_info_done(&a->info);
        free(a);
}
DEFINE_REFCOUNT(DescartesAgent, agent, agent_free);

static void agent_list_free(DescartesAgentList *l)
{
        for (size_t i = 0; i < l->n_agents; i++)
                descartes_agent_unref(l->agents[i]);
        free(l->agents);
        free(l);
}
DEFINE_REFCOUNT(DescartesAgentList, agent_list, agent_list_free);

static void event_free(DescartesEvent *e)
{
        proto_event_done(&e->event);
        free(e);
}
DEFINE_REFCOUNT(DescartesEvent, event, event_free);

static void events_free(DescartesEvents *r)
{
        for (size_t i = 0; i < r->n_events; i++)
                descartes_event_unref(r->events[i]);
        free(r->events);
        proto_events_result_done(&r->result);
        free(r);
}
DEFINE_REFCOUNT(DescartesEvents, events, events_free);

static void output_free(DescartesOutput *o)
{
        for (size_t i = 0; i < o->n_lines; i++)
                proto_output_line_done(&o->lines[i].line);
        free(o->lines);
        proto_output_result_done(&o->result);
        free(o);
}
DEFINE_REFCOUNT(DescartesOutput, output, output_free);

static void batch_result_free(DescartesBatchResult *b)
{
        for (size_t i = 0; i < b->n_items; i++)
                proto_batch_item_done(&b->items[i].item);
        free(b->items);
        proto_batch_result_done(&b->result);
        free(b);
}
DEFINE_REFCOUNT(DescartesBatchResult, batch_result, batch_result_free);

static void health_free(DescartesHealth *h)
{
        proto_health_result_done(&h->result);
        free(h);
}
DEFINE_REFCOUNT(DescartesHealth, health, health_free);

static void stats_free(DescartesStats *s)
{
        proto_stats_result_done(&s->result);
        free(s);
}
DEFINE_REFCOUNT(DescartesStats, stats, stats_free);

static void tenants_free(DescartesTenants *t)
{
        proto_tenants_result_done(&t->result);
        free(t);
}
DEFINE_REFCOUNT(DescartesTenants, tenants, tenants_free);

static void exec_free(DescartesExec *x)
{
        proto_exec_result_done(&x->result);
        free(x);
}
DEFINE_REFCOUNT(DescartesExec, exec, exec_free);

/* ---- made from wire results ---- */

int wire_agent_new(ProtoAgentInfo *src, DescartesAgent **ret)
{
        DescartesAgent *a = calloc(1, sizeof *a);

        if (!a)
                return -ENOMEM;
        a->n_ref = 1;
        a->info = *src;
        *src = (ProtoAgentInfo){};
        *ret = a;
        return 0;
}

int wire_agent_list_new(ProtoListResult *src, DescartesAgentList **ret)
{
        DescartesAgentList *l = calloc(1, sizeof *l);

        if (!l)
                return -ENOMEM;
        l->n_ref = 1;
        if (src->n_agents > 0) {
                l->agents = calloc(src->n_agents, sizeof *l->agents);
                if (!l->agents) {
                        free(l);
                        return -ENOMEM;
                }
                /* each agent is kept in l->agents, freed by agent_list_free(): gcc 12 forgets an object
                 * stored into an array element */
                ANALYZER_IGNORE_LEAK_BEGIN
                for (size_t i = 0; i < src->n_agents; i++) {
                        int r = wire_agent_new(&src->agents[i], &l->agents[i]);

                        if (r < 0) {
                                agent_list_free(l);
                                return r;
                        }
                        l->n_agents = i + 1;
                }
                ANALYZER_IGNORE_END
        }
        proto_list_result_done(src);
        *ret = l;
        return 0;
}

int wire_event_new(ProtoEvent *src, DescartesEvent **ret)
{
        DescartesEvent *e = calloc(1, sizeof *e);

        if (!e)
                return -ENOMEM;
        e->n_ref = 1;
        e->event = *src;
        *src = (ProtoEvent){};
        *ret = e;
        return 0;
}

int wire_events_new(ProtoEventsResult *src, DescartesEvents **ret)
{
        DescartesEvents *r = calloc(1, sizeof *r);

        if (!r)
                return -ENOMEM;
        r->n_ref = 1;
        if (src->n_events > 0) {
                r->events = calloc(src->n_events, sizeof *r->events);
                if (!r->events) {
                        free(r);
                        return -ENOMEM;
                }
                /* kept in r->events, freed by events_free(): as for the agents of a list */
                ANALYZER_IGNORE_LEAK_BEGIN
                for (size_t i = 0; i < src->n_events; i++) {
                        int k = wire_event_new(&src->events[i], &r->events[i]);

                        if (k < 0) {
                                events_free(r);
                                return k;
                        }
                        r->n_events = i + 1;
                }
                ANALYZER_IGNORE_END
        }
        free(src->events);
        src->events = NULL;
        src->n_events = 0;
        r->result = *src;
        *src = (ProtoEventsResult){};
        *ret = r;
        return 0;
}

int wire_output_new(ProtoOutputResult *src, DescartesOutput **ret)
{
        DescartesOutput *o = calloc(1, sizeof *o);

        if (!o)
                return -ENOMEM;
        o->n_ref = 1;
        if (src->n_lines > 0) {
                o->lines = calloc(src->n_lines, sizeof *o->lines);
                if (!o->lines) {
                        free(o);
                        return -ENOMEM;
                }
                for (size_t i = 0; i < src->n_lines; i++)
                        o->lines[i].line = src->lines[i];
                o->n_lines = src->n_lines;
        }
        free(src->lines);
        src->lines = NULL;
        src->n_lines = 0;
        o->result = *src;
        *src = (ProtoOutputResult){};
        *ret = o;
        return 0;
}

int wire_batch_result_new(ProtoBatchResult *src, DescartesBatchResult **ret)
{
        DescartesBatchResult *b = calloc(1, sizeof *b);

        if (!b)
                return -ENOMEM;
        b->n_ref = 1;
        if (src->n_results > 0) {
                b->items = calloc(src->n_results, sizeof *b->items);
                if (!b->items) {
                        free(b);
                        return -ENOMEM;
                }
                for (size_t i = 0; i < src->n_results; i++)
                        b->items[i].item = src->results[i];
                b->n_items = src->n_results;
        }
        free(src->results);
        src->results = NULL;
        src->n_results = 0;
        b->result = *src;
        *src = (ProtoBatchResult){};
        *ret = b;
        return 0;
}

int wire_health_new(ProtoHealthResult *src, DescartesHealth **ret)
{
        DescartesHealth *h = calloc(1, sizeof *h);

        if (!h)
                return -ENOMEM;
        h->n_ref = 1;
        h->result = *src;
        *src = (ProtoHealthResult){};
        *ret = h;
        return 0;
}

int wire_tenants_new(ProtoTenantsResult *src, DescartesTenants **ret)
{
        DescartesTenants *t = calloc(1, sizeof *t);

        if (!t)
                return -ENOMEM;
        t->n_ref = 1;
        t->result = *src;
        *src = (ProtoTenantsResult){};
        *ret = t;
        return 0;
}

int wire_exec_new(ProtoExecResult *src, DescartesExec **ret)
{
        DescartesExec *x = calloc(1, sizeof *x);

        if (!x)
                return -ENOMEM;
        x->n_ref = 1;
        x->result = *src;
        *src = (ProtoExecResult){};
        *ret = x;
        return 0;
}

int wire_stats_new(ProtoStatsResult *src, DescartesStats **ret)
{
        DescartesStats *s = calloc(1, sizeof *s);

        if (!s)
                return -ENOMEM;
        s->n_ref = 1;
        s->result = *src;
        *src = (ProtoStatsResult){};
        *ret = s;
        return 0;
}

/* ---- getters ---- */

/* Sets *ret (may be NULL) to v when has; returns has. */
#define OPTIONAL(has, v, ret)                                                                               \
        ({                                                                                                  \
                bool _has = (has);                                                                          \
                if (_has && (ret))                                                                          \
                        *(ret) = (v);                                                                       \
                _has;                                                                                       \
        })

const char *descartes_agent_get_id(const DescartesAgent *a)
{
        return a ? a->info.id : NULL;
}

const char *descartes_agent_get_name(const DescartesAgent *a)
{
        return a ? a->info.name : NULL;
}

DescartesState descartes_agent_get_state(const DescartesAgent *a)
{
        return a ? (DescartesState)a->info.state : _DESCARTES_STATE_INVALID;
}

bool descartes_agent_get_reason(const DescartesAgent *a, DescartesReason *ret)
{
        return a && OPTIONAL(a->info.has_reason, (DescartesReason)a->info.reason, ret);
}

bool descartes_agent_get_exit_code(const DescartesAgent *a, int *ret)
{
        return a && OPTIONAL(a->info.has_exit_code, a->info.exit_code, ret);
}

bool descartes_agent_get_signal(const DescartesAgent *a, int *ret)
{
        return a && OPTIONAL(a->info.has_signal, a->info.signal, ret);
}

bool descartes_agent_get_pid(const DescartesAgent *a, int *ret)
{
        return a && OPTIONAL(a->info.has_pid, a->info.pid, ret);
}

uint32_t descartes_agent_get_owner_uid(const DescartesAgent *a)
{
        return a ? a->info.owner_uid : 0;
}

char *const *descartes_agent_get_argv(const DescartesAgent *a)
{
        static char *const empty[] = {NULL};

        return a && a->info.argv ? a->info.argv : empty;
}

size_t descartes_agent_get_n_labels(const DescartesAgent *a)
{
        return a ? a->info.labels.n_pairs : 0;
}

const char *descartes_agent_get_label(const DescartesAgent *a, size_t i, const char **ret_value)
{
        if (!a || i >= a->info.labels.n_pairs)
                return NULL;
        if (ret_value)
                *ret_value = a->info.labels.pairs[i].value;
        return a->info.labels.pairs[i].key;
}

const char *descartes_agent_get_label_value(const DescartesAgent *a, const char *key)
{
        return a && key ? proto_str_map_get(&a->info.labels, key) : NULL;
}

uint64_t descartes_agent_get_created_ns(const DescartesAgent *a)
{
        return a ? a->info.created_ns : 0;
}

bool descartes_agent_get_started_ns(const DescartesAgent *a, uint64_t *ret)
{
        return a && OPTIONAL(a->info.has_started_ns, a->info.started_ns, ret);
}

bool descartes_agent_get_ended_ns(const DescartesAgent *a, uint64_t *ret)
{
        return a && OPTIONAL(a->info.has_ended_ns, a->info.ended_ns, ret);
}

bool descartes_agent_get_spawn_us(const DescartesAgent *a, uint64_t *ret)
{
        return a && OPTIONAL(a->info.has_spawn_us, a->info.spawn_us, ret);
}

bool descartes_agent_get_uid(const DescartesAgent *a, uint32_t *ret)
{
        return a && OPTIONAL(a->info.has_uid, a->info.uid, ret);
}

bool descartes_agent_get_tty(const DescartesAgent *a)
{
        return a && a->info.tty;
}

bool descartes_agent_get_gid(const DescartesAgent *a, uint32_t *ret)
{
        return a && OPTIONAL(a->info.has_gid, a->info.gid, ret);
}

bool descartes_agent_get_health(const DescartesAgent *a, DescartesAgentHealth *ret)
{
        return a && OPTIONAL(a->info.has_health, (DescartesAgentHealth)a->info.health, ret);
}

bool descartes_agent_get_health_exit_code(const DescartesAgent *a, int *ret)
{
        return a && a->info.has_health_last &&
               OPTIONAL(a->info.health_last.has_exit_code, a->info.health_last.exit_code, ret);
}

const void *descartes_agent_get_health_output(const DescartesAgent *a, size_t *ret_size)
{
        const ProtoBytes *b = a && a->info.has_health_last ? &a->info.health_last.output : NULL;

        if (ret_size)
                *ret_size = b && b->data ? b->size : 0;
        return b && b->data && b->size > 0 ? b->data : NULL;
}

uint64_t descartes_agent_get_health_failures(const DescartesAgent *a)
{
        return a && a->info.has_health_last ? a->info.health_last.failures : 0;
}

const char *descartes_agent_get_health_reason(const DescartesAgent *a)
{
        return a && a->info.has_health_last ? a->info.health_last.reason : NULL;
}

const char *descartes_agent_get_cgroup(const DescartesAgent *a)
{
        return a ? a->info.cgroup : NULL;
}

bool descartes_agent_get_limit_cpu(const DescartesAgent *a, uint64_t *ret)
{
        return a && OPTIONAL(a->info.limits.has_cpu, a->info.limits.cpu_millicores, ret);
}

bool descartes_agent_get_limit_memory(const DescartesAgent *a, uint64_t *ret)
{
        return a && OPTIONAL(a->info.limits.has_memory, a->info.limits.memory, ret);
}

bool descartes_agent_get_limit_swap(const DescartesAgent *a, uint64_t *ret)
{
        return a && OPTIONAL(a->info.limits.has_swap, a->info.limits.swap, ret);
}

bool descartes_agent_get_limit_pids(const DescartesAgent *a, uint64_t *ret)
{
        return a && OPTIONAL(a->info.limits.has_pids, a->info.limits.pids, ret);
}

bool descartes_agent_get_usage(const DescartesAgent *a, uint64_t *ret_cpu_usec, uint64_t *ret_memory_current,
                               uint64_t *ret_memory_peak, uint64_t *ret_pids_current)
{
        if (!a || !a->info.has_usage)
                return false;
        if (ret_cpu_usec)
                *ret_cpu_usec = a->info.usage.cpu_usec;
        if (ret_memory_current)
                *ret_memory_current = a->info.usage.memory_current;
        if (ret_memory_peak)
                *ret_memory_peak = a->info.usage.memory_peak;
        if (ret_pids_current)
                *ret_pids_current = a->info.usage.pids_current;
        return true;
}

size_t descartes_agent_list_get_size(const DescartesAgentList *l)
{
        return l ? l->n_agents : 0;
}

DescartesAgent *descartes_agent_list_get(const DescartesAgentList *l, size_t i)
{
        return l && i < l->n_agents ? l->agents[i] : NULL;
}

uint64_t descartes_event_get_seq(const DescartesEvent *e)
{
        return e ? e->event.seq : 0;
}

uint64_t descartes_event_get_ts_ns(const DescartesEvent *e)
{
        return e ? e->event.ts_ns : 0;
}

DescartesEventKind descartes_event_get_kind(const DescartesEvent *e)
{
        return e ? (DescartesEventKind)e->event.kind : _DESCARTES_EVENT_KIND_INVALID;
}

const char *descartes_event_get_agent(const DescartesEvent *e)
{
        return e ? e->event.agent : NULL;
}

bool descartes_event_get_state(const DescartesEvent *e, DescartesState *ret)
{
        return e && OPTIONAL(e->event.has_state, (DescartesState)e->event.state, ret);
}

bool descartes_event_get_reason(const DescartesEvent *e, DescartesReason *ret)
{
        return e && OPTIONAL(e->event.has_reason, (DescartesReason)e->event.reason, ret);
}

const void *descartes_event_get_data(const DescartesEvent *e, size_t *ret_size)
{
        if (ret_size)
                *ret_size = e && e->event.data.data ? e->event.data.size : 0;
        return e ? e->event.data.data : NULL;
}

int descartes_event_get_data_u64(const DescartesEvent *e, const char *key, uint64_t *ret)
{
        if (!e || !key || !ret)
                return -EINVAL;
        if (!e->event.data.data)
                return -ENOENT;
        return proto_value_get_u64(&e->event.data, key, ret);
}

size_t descartes_events_get_size(const DescartesEvents *r)
{
        return r ? r->n_events : 0;
}

DescartesEvent *descartes_events_get(const DescartesEvents *r, size_t i)
{
        return r && i < r->n_events ? r->events[i] : NULL;
}

uint64_t descartes_events_get_next_seq(const DescartesEvents *r)
{
        return r ? r->result.next_seq : 0;
}

uint64_t descartes_events_get_oldest_seq(const DescartesEvents *r)
{
        return r ? r->result.oldest_seq : 0;
}

bool descartes_events_get_last_seq(const DescartesEvents *r, uint64_t *ret)
{
        return r && OPTIONAL(r->result.has_last_seq, r->result.last_seq, ret);
}

DescartesOutputMode descartes_output_get_mode(const DescartesOutput *o)
{
        return o ? (DescartesOutputMode)o->result.mode : _DESCARTES_OUTPUT_MODE_INVALID;
}

size_t descartes_output_get_n_lines(const DescartesOutput *o)
{
        return o ? o->n_lines : 0;
}

const DescartesOutputLine *descartes_output_get_line(const DescartesOutput *o, size_t i)
{
        return o && i < o->n_lines ? &o->lines[i] : NULL;
}

const void *descartes_output_get_data(const DescartesOutput *o, size_t *ret_size)
{
        bool has = o && o->result.data.data;

        if (ret_size)
                *ret_size = has ? o->result.data.size : 0;
        return has ? o->result.data.data : NULL;
}

uint64_t descartes_output_get_total(const DescartesOutput *o)
{
        return o ? o->result.total : 0;
}

bool descartes_output_get_has_more(const DescartesOutput *o)
{
        return o && o->result.has_more;
}

bool descartes_output_get_partial(const DescartesOutput *o)
{
        return o && o->result.partial;
}

const char *descartes_output_get_cursor(const DescartesOutput *o)
{
        return o ? o->result.cursor : NULL;
}

uint64_t descartes_output_get_dropped(const DescartesOutput *o)
{
        return o ? o->result.dropped : 0;
}

uint64_t descartes_output_line_get_seq(const DescartesOutputLine *l)
{
        return l ? l->line.seq : 0;
}

uint64_t descartes_output_line_get_ts_ns(const DescartesOutputLine *l)
{
        return l ? l->line.ts_ns : 0;
}

DescartesStream descartes_output_line_get_stream(const DescartesOutputLine *l)
{
        return l ? (DescartesStream)l->line.stream : _DESCARTES_STREAM_INVALID;
}

const char *descartes_output_line_get_text(const DescartesOutputLine *l, size_t *ret_size)
{
        bool has = l && l->line.text;

        if (ret_size)
                *ret_size = has ? l->line.text_size : 0;
        return has ? l->line.text : NULL;
}

bool descartes_output_line_get_truncated(const DescartesOutputLine *l)
{
        return l && l->line.truncated;
}

size_t descartes_batch_result_get_size(const DescartesBatchResult *b)
{
        return b ? b->n_items : 0;
}

const DescartesBatchItem *descartes_batch_result_get(const DescartesBatchResult *b, size_t i)
{
        return b && i < b->n_items ? &b->items[i] : NULL;
}

uint64_t descartes_batch_result_get_ok_count(const DescartesBatchResult *b)
{
        return b ? b->result.ok_count : 0;
}

uint64_t descartes_batch_result_get_failed_count(const DescartesBatchResult *b)
{
        return b ? b->result.failed_count : 0;
}

const char *descartes_batch_item_get_agent(const DescartesBatchItem *i)
{
        return i ? i->item.agent : NULL;
}

bool descartes_batch_item_get_ok(const DescartesBatchItem *i)
{
        return i && i->item.ok;
}

DescartesErrorCode descartes_batch_item_get_error_code(const DescartesBatchItem *i)
{
        return i && !i->item.ok ? (DescartesErrorCode)i->item.error_code : _DESCARTES_ERROR_CODE_INVALID;
}

const char *descartes_batch_item_get_error_message(const DescartesBatchItem *i)
{
        return i && !i->item.ok ? i->item.error_msg : NULL;
}

const char *descartes_health_get_version(const DescartesHealth *h)
{
        return h ? h->result.version : NULL;
}

uint32_t descartes_health_get_protocol(const DescartesHealth *h)
{
        return h ? h->result.protocol : 0;
}

uint64_t descartes_health_get_uptime_s(const DescartesHealth *h)
{
        return h ? h->result.uptime_s : 0;
}

uint64_t descartes_health_get_agents(const DescartesHealth *h, DescartesState state)
{
        if (!h || state < 0 || state >= _DESCARTES_STATE_MAX)
                return 0;
        return h->result.agents[state];
}

uint32_t descartes_health_get_host_cpus(const DescartesHealth *h)
{
        return h ? h->result.host.cpus : 0;
}

uint64_t descartes_health_get_host_mem_total(const DescartesHealth *h)
{
        return h ? h->result.host.mem_total : 0;
}

uint64_t descartes_health_get_host_mem_available(const DescartesHealth *h)
{
        return h ? h->result.host.mem_available : 0;
}

void descartes_health_get_host_load(const DescartesHealth *h, double *ret_load1, double *ret_load5,
                                    double *ret_load15)
{
        if (ret_load1)
                *ret_load1 = h ? h->result.host.load1 : 0;
        if (ret_load5)
                *ret_load5 = h ? h->result.host.load5 : 0;
        if (ret_load15)
                *ret_load15 = h ? h->result.host.load15 : 0;
}

const char *descartes_health_get_cgroup_root(const DescartesHealth *h)
{
        return h ? h->result.cgroup_root : NULL;
}

char *const *descartes_health_get_cgroup_controllers(const DescartesHealth *h)
{
        static char *const empty[] = {NULL};

        return h && h->result.cgroup_controllers ? h->result.cgroup_controllers : empty;
}

size_t descartes_stats_get_size(const DescartesStats *s)
{
        return s ? s->result.n_stats : 0;
}

const char *descartes_stats_get_entry(const DescartesStats *s, size_t i, int64_t *ret_value)
{
        if (!s || i >= s->result.n_stats)
                return NULL;
        if (ret_value)
                *ret_value = s->result.stats[i].value;
        return s->result.stats[i].name;
}

int descartes_stats_get(const DescartesStats *s, const char *name, int64_t *ret)
{
        if (!s || !name)
                return -EINVAL;
        for (size_t i = 0; i < s->result.n_stats; i++)
                if (streq_ptr(s->result.stats[i].name, name)) {
                        if (ret)
                                *ret = s->result.stats[i].value;
                        return 0;
                }
        return -ENOENT;
}

static const ProtoTenant *tenant_at(const DescartesTenants *t, size_t i)
{
        return t && i < t->result.n_tenants ? &t->result.tenants[i] : NULL;
}

size_t descartes_tenants_get_size(const DescartesTenants *t)
{
        return t ? t->result.n_tenants : 0;
}

uint32_t descartes_tenants_get_uid(const DescartesTenants *t, size_t i)
{
        const ProtoTenant *x = tenant_at(t, i);
        return x ? x->uid : 0;
}

const char *descartes_tenants_get_user(const DescartesTenants *t, size_t i)
{
        const ProtoTenant *x = tenant_at(t, i);
        return x ? x->user : NULL;
}

uint64_t descartes_tenants_get_agents(const DescartesTenants *t, size_t i)
{
        const ProtoTenant *x = tenant_at(t, i);
        return x ? x->agents : 0;
}

bool descartes_tenants_get_usage(const DescartesTenants *t, size_t i, uint64_t *ret_cpu_usec,
                                 uint64_t *ret_memory_current, uint64_t *ret_memory_peak,
                                 uint64_t *ret_pids_current)
{
        const ProtoTenant *x = tenant_at(t, i);

        if (!x || !x->has_usage)
                return false;
        if (ret_cpu_usec)
                *ret_cpu_usec = x->usage.cpu_usec;
        if (ret_memory_current)
                *ret_memory_current = x->usage.memory_current;
        if (ret_memory_peak)
                *ret_memory_peak = x->usage.memory_peak;
        if (ret_pids_current)
                *ret_pids_current = x->usage.pids_current;
        return true;
}

bool descartes_tenants_get_quota(const DescartesTenants *t, size_t i, DescartesQuota q, uint64_t *ret)
{
        const ProtoTenant *x = tenant_at(t, i);
        bool has;
        uint64_t v;

        if (!x)
                return false;
        switch (q) {
        case DESCARTES_QUOTA_CPU_MILLICORES:
                has = x->quota.has_cpu, v = x->quota.cpu_millicores;
                break;
        case DESCARTES_QUOTA_MEMORY:
                has = x->quota.has_memory, v = x->quota.memory;
                break;
        case DESCARTES_QUOTA_SWAP:
                has = x->quota.has_swap, v = x->quota.swap;
                break;
        case DESCARTES_QUOTA_PIDS:
                has = x->quota.has_pids, v = x->quota.pids;
                break;
        case DESCARTES_QUOTA_AGENTS:
                has = x->quota.has_agents, v = x->quota.agents;
                break;
        default:
                return false;
        }
        if (has && ret)
                *ret = v;
        return has;
}

bool descartes_exec_get_exit_code(const DescartesExec *x, int *ret)
{
        if (!x || !x->result.has_exit_code)
                return false;
        if (ret)
                *ret = x->result.exit_code;
        return true;
}

bool descartes_exec_get_signal(const DescartesExec *x, int *ret)
{
        if (!x || !x->result.has_signal)
                return false;
        if (ret)
                *ret = x->result.signal;
        return true;
}

bool descartes_exec_get_timed_out(const DescartesExec *x)
{
        return x && x->result.timed_out;
}

const void *descartes_exec_get_output(const DescartesExec *x, DescartesStream stream, size_t *ret_size,
                                      uint64_t *ret_total)
{
        const ProtoBytes *b = NULL;

        if (x && stream == DESCARTES_STREAM_STDOUT)
                b = &x->result.out;
        else if (x && stream == DESCARTES_STREAM_STDERR)
                b = &x->result.err;
        if (ret_size)
                *ret_size = b && b->data ? b->size : 0;
        if (ret_total)
                *ret_total = !b ? 0 : b == &x->result.out ? x->result.stdout_bytes : x->result.stderr_bytes;
        return b && b->data && b->size > 0 ? b->data : NULL;
}

uint64_t descartes_exec_get_duration_us(const DescartesExec *x)
{
        return x ? x->result.duration_us : 0;
}
