/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "metrics.h"

const uint64_t metrics_bucket_usec[METRICS_BUCKETS] = {
        500,    1000,   2500,   5000,    10000,   25000,   50000,
        100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000,
};

/* Room kept for the last family (descartes_metrics_truncated), written even when the rest did not fit. */
#define METRICS_RESERVE 512

void metrics_histogram_observe(MetricsHistogram *h, uint64_t usec)
{
        size_t i = 0;

        while (i < METRICS_BUCKETS && usec > metrics_bucket_usec[i])
                i++;
        h->bucket[i]++;
        h->count++;
        h->sum_usec += usec;
}

typedef struct Text {
        char *buf;
        size_t len, alloc, max;
        bool full; /* a line did not fit: the lines after it are left out */
        int error;
} Text;

static void text_vadd(Text *t, bool force, const char *fmt, va_list ap)
{
        va_list aq;
        int n;

        if (t->error || (t->full && !force))
                return;
        va_copy(aq, ap);
        n = vsnprintf(NULL, 0, fmt, aq);
        va_end(aq);
        if (n < 0) {
                t->error = -EINVAL;
                return;
        }
        if (!force && t->len + (size_t)n + 1 > t->max - METRICS_RESERVE) {
                t->full = true;
                return;
        }
        if (t->len + (size_t)n + 1 > t->alloc) {
                size_t a = MAX(t->alloc * 2, t->len + (size_t)n + 1);
                char *p = realloc(t->buf, a);

                if (!p) {
                        t->error = -ENOMEM;
                        return;
                }
                t->buf = p;
                t->alloc = a;
        }
        (void)vsnprintf(t->buf + t->len, (size_t)n + 1, fmt, ap);
        t->len += (size_t)n;
}

static __attribute__((format(printf, 2, 3))) void text_add(Text *t, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        text_vadd(t, false, fmt, ap);
        va_end(ap);
}

static __attribute__((format(printf, 2, 3))) void text_force(Text *t, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        text_vadd(t, true, fmt, ap);
        va_end(ap);
}

static void family(Text *t, const char *name, const char *type, const char *help)
{
        text_add(t, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

int metrics_escape_label(const char *s, char **ret)
{
        size_t n = 0;
        char *out, *p;

        for (const char *q = s; *q; q++)
                n += (*q == '\\' || *q == '"' || *q == '\n') ? 2 : 1;
        out = p = malloc(n + 1);
        if (!out)
                return -ENOMEM;
        for (const char *q = s; *q; q++) {
                if (*q == '\\' || *q == '"')
                        *p++ = '\\';
                if (*q == '\n') {
                        *p++ = '\\';
                        *p++ = 'n';
                        continue;
                }
                *p++ = *q;
        }
        *p = 0;
        *ret = out;
        return 0;
}

/* usec as seconds, exact, without trailing zeros: 1500000 is "1.5", 500 is "0.0005". */
static const char *fmt_seconds(char buf[static 32], uint64_t usec)
{
        int n = snprintf(buf, 32, "%" PRIu64 ".%06" PRIu64, usec / 1000000, usec % 1000000);

        while (n > 0 && buf[n - 1] == '0')
                buf[--n] = 0;
        if (n > 0 && buf[n - 1] == '.')
                buf[--n] = 0;
        return buf;
}

static void host_families(Text *t, const MetricsInput *in)
{
        const struct {
                const char *name, *help;
                double value;
        } gauges[] = {
                {"descartes_host_cpus", "CPUs online on the host.", in->host.cpus},
                {"descartes_host_memory_total_bytes", "Memory of the host (MemTotal).", in->host.mem_total},
                {"descartes_host_memory_available_bytes", "Memory available on the host (MemAvailable).",
                 in->host.mem_available},
                {"descartes_host_load1", "Load average over 1 minute.", in->host.load1},
                {"descartes_host_load5", "Load average over 5 minutes.", in->host.load5},
                {"descartes_host_load15", "Load average over 15 minutes.", in->host.load15},
                {"descartes_uptime_seconds", "Seconds since the daemon started.", in->uptime_s},
        };

        for (size_t i = 0; i < ELEMENTSOF(gauges); i++) {
                family(t, gauges[i].name, "gauge", gauges[i].help);
                text_add(t, "%s %.17g\n", gauges[i].name, gauges[i].value);
        }
}

/* One family over the agents: each agent that has the value gets a sample. */
typedef enum AgentValue {
        AGENT_CPU_SECONDS,
        AGENT_MEMORY,
        AGENT_MEMORY_PEAK,
        AGENT_MEMORY_MAX,
        AGENT_PIDS,
        AGENT_PIDS_MAX,
        AGENT_CPU_LIMIT,
        AGENT_START_TIME,
        _AGENT_VALUE_MAX,
} AgentValue;

static const struct {
        const char *name, *type, *help;
} agent_values[_AGENT_VALUE_MAX] = {
        [AGENT_CPU_SECONDS] = {"descartes_agent_cpu_seconds_total", "counter",
                               "CPU time the agent's cgroup used (cpu.stat usage_usec)."},
        [AGENT_MEMORY] = {"descartes_agent_memory_bytes", "gauge", "Memory the agent's cgroup uses now."},
        [AGENT_MEMORY_PEAK] = {"descartes_agent_memory_peak_bytes", "gauge",
                               "The most memory the agent's cgroup used."},
        [AGENT_MEMORY_MAX] = {"descartes_agent_memory_max_bytes", "gauge", "The agent's memory limit."},
        [AGENT_PIDS] = {"descartes_agent_pids", "gauge", "Processes and threads in the agent's cgroup."},
        [AGENT_PIDS_MAX] = {"descartes_agent_pids_max", "gauge", "The agent's pids limit."},
        [AGENT_CPU_LIMIT] = {"descartes_agent_cpu_limit_cores", "gauge", "The agent's CPU limit in CPUs."},
        [AGENT_START_TIME] = {"descartes_agent_start_time_seconds", "gauge",
                              "When the agent started, seconds since the epoch."},
};

static bool agent_value(const ProtoAgentInfo *a, AgentValue v, char buf[static 32])
{
        switch (v) {
        case AGENT_CPU_SECONDS:
                return a->has_usage && fmt_seconds(buf, a->usage.cpu_usec);
        case AGENT_MEMORY:
                return a->has_usage && snprintf(buf, 32, "%" PRIu64, a->usage.memory_current) > 0;
        case AGENT_MEMORY_PEAK:
                return a->has_usage && snprintf(buf, 32, "%" PRIu64, a->usage.memory_peak) > 0;
        case AGENT_MEMORY_MAX:
                return a->limits.has_memory && snprintf(buf, 32, "%" PRIu64, a->limits.memory) > 0;
        case AGENT_PIDS:
                return a->has_usage && snprintf(buf, 32, "%" PRIu64, a->usage.pids_current) > 0;
        case AGENT_PIDS_MAX:
                return a->limits.has_pids && snprintf(buf, 32, "%" PRIu64, a->limits.pids) > 0;
        case AGENT_CPU_LIMIT:
                return a->limits.has_cpu && fmt_seconds(buf, a->limits.cpu_millicores * 1000);
        case AGENT_START_TIME:
                return a->has_started_ns && fmt_seconds(buf, a->started_ns / 1000);
        default:
                return false;
        }
}

/* The labels naming an agent, escaped once: agent="ID",name="NAME",uid="UID". */
static int agent_labels(const ProtoAgentInfo *a, char **ret)
{
        _cleanup_free_ char *id = NULL, *name = NULL;

        if (metrics_escape_label(a->id ?: "", &id) < 0 || metrics_escape_label(a->name ?: "", &name) < 0)
                return -ENOMEM;
        return asprintf(ret, "agent=\"%s\",name=\"%s\",uid=\"%" PRIu32 "\"", id, name, a->owner_uid) < 0
                       ? -ENOMEM
                       : 0;
}

static void agent_families(Text *t, const MetricsInput *in, char **labels)
{
        uint64_t by_state[_PROTO_STATE_MAX] = {};
        char v[32];

        for (size_t i = 0; i < in->n_agents; i++)
                if (in->agents[i].info->state >= 0 && in->agents[i].info->state < _PROTO_STATE_MAX)
                        by_state[in->agents[i].info->state]++;
        family(t, "descartes_agents", "gauge", "Agents the caller may see, by state.");
        for (ProtoState s = 0; s < _PROTO_STATE_MAX; s++)
                text_add(t, "descartes_agents{state=\"%s\"} %" PRIu64 "\n", proto_state_to_string(s),
                         by_state[s]);

        family(t, "descartes_agent_state", "gauge", "1 for each agent, labelled with its state.");
        for (size_t i = 0; i < in->n_agents; i++)
                text_add(t, "descartes_agent_state{%s,state=\"%s\"} 1\n", labels[i],
                         proto_state_to_string(in->agents[i].info->state) ?: "unknown");

        family(t, "descartes_agent_health", "gauge",
               "1 for each agent with a health check, labelled with its verdict.");
        for (size_t i = 0; i < in->n_agents; i++)
                if (in->agents[i].info->has_health)
                        text_add(t, "descartes_agent_health{%s,health=\"%s\"} 1\n", labels[i],
                                 proto_health_to_string(in->agents[i].info->health) ?: "unknown");

        for (AgentValue k = 0; k < _AGENT_VALUE_MAX; k++) {
                family(t, agent_values[k].name, agent_values[k].type, agent_values[k].help);
                for (size_t i = 0; i < in->n_agents; i++)
                        if (agent_value(in->agents[i].info, k, v))
                                text_add(t, "%s{%s} %s\n", agent_values[k].name, labels[i], v);
        }

        family(t, "descartes_agent_limit_hits_total", "counter",
               "Times the agent ran into a limit (memory.high, memory.max, pids.max).");
        for (size_t i = 0; i < in->n_agents; i++)
                for (CgroupCounter k = 0; k < _CGROUP_COUNTER_MAX; k++)
                        if (in->agents[i].has_hits[k] && cgroup_counter_limit_to_string(k))
                                text_add(
                                        t, "descartes_agent_limit_hits_total{%s,limit=\"%s\"} %" PRIu64 "\n",
                                        labels[i], cgroup_counter_limit_to_string(k), in->agents[i].hits[k]);
}

static int tenant_families(Text *t, const MetricsInput *in)
{
        char **labels;
        char v[32];
        int r = 0;

        labels = calloc(in->n_tenants + 1, sizeof *labels);
        if (!labels)
                return -ENOMEM;
        for (size_t i = 0; i < in->n_tenants && r >= 0; i++) {
                _cleanup_free_ char *user = NULL;

                r = metrics_escape_label(in->tenants[i].user ?: "", &user);
                if (r >= 0 &&
                    asprintf(&labels[i], "uid=\"%" PRIu32 "\",user=\"%s\"", in->tenants[i].uid, user) < 0) {
                        labels[i] = NULL;
                        r = -ENOMEM;
                }
        }
        if (r < 0)
                goto done;

        family(t, "descartes_tenant_agents", "gauge", "The tenant's agents alive.");
        for (size_t i = 0; i < in->n_tenants; i++)
                text_add(t, "descartes_tenant_agents{%s} %" PRIu64 "\n", labels[i], in->tenants[i].agents);
        family(t, "descartes_tenant_cpu_seconds_total", "counter", "CPU time of the tenant's cgroup.");
        for (size_t i = 0; i < in->n_tenants; i++)
                if (in->tenants[i].has_usage)
                        text_add(t, "descartes_tenant_cpu_seconds_total{%s} %s\n", labels[i],
                                 fmt_seconds(v, in->tenants[i].usage.cpu_usec));
        family(t, "descartes_tenant_memory_bytes", "gauge", "Memory the tenant's cgroup uses now.");
        for (size_t i = 0; i < in->n_tenants; i++)
                if (in->tenants[i].has_usage)
                        text_add(t, "descartes_tenant_memory_bytes{%s} %" PRIu64 "\n", labels[i],
                                 in->tenants[i].usage.memory_current);
        family(t, "descartes_tenant_pids", "gauge", "Processes and threads in the tenant's cgroup.");
        for (size_t i = 0; i < in->n_tenants; i++)
                if (in->tenants[i].has_usage)
                        text_add(t, "descartes_tenant_pids{%s} %" PRIu64 "\n", labels[i],
                                 in->tenants[i].usage.pids_current);

        family(t, "descartes_tenant_quota_cpu_cores", "gauge", "The tenant's CPU quota in CPUs.");
        for (size_t i = 0; i < in->n_tenants; i++)
                if (in->tenants[i].quota.has_cpu)
                        text_add(t, "descartes_tenant_quota_cpu_cores{%s} %s\n", labels[i],
                                 fmt_seconds(v, in->tenants[i].quota.cpu_millicores * 1000));
        const struct {
                const char *name, *help;
                size_t has, value; /* offsets in ProtoTenantQuota */
        } quotas[] = {
                {"descartes_tenant_quota_memory_bytes", "The tenant's memory quota.",
                 offsetof(ProtoTenantQuota, has_memory), offsetof(ProtoTenantQuota, memory)},
                {"descartes_tenant_quota_swap_bytes", "The tenant's swap quota.",
                 offsetof(ProtoTenantQuota, has_swap), offsetof(ProtoTenantQuota, swap)},
                {"descartes_tenant_quota_pids", "The tenant's pids quota.",
                 offsetof(ProtoTenantQuota, has_pids), offsetof(ProtoTenantQuota, pids)},
                {"descartes_tenant_quota_agents", "The tenant's quota of agents alive at once.",
                 offsetof(ProtoTenantQuota, has_agents), offsetof(ProtoTenantQuota, agents)},
        };
        for (size_t q = 0; q < ELEMENTSOF(quotas); q++) {
                family(t, quotas[q].name, "gauge", quotas[q].help);
                for (size_t i = 0; i < in->n_tenants; i++) {
                        const uint8_t *p = (const uint8_t *)&in->tenants[i].quota;
                        uint64_t value;

                        if (!*(const bool *)(p + quotas[q].has))
                                continue;
                        memcpy(&value, p + quotas[q].value, sizeof value);
                        text_add(t, "%s{%s} %" PRIu64 "\n", quotas[q].name, labels[i], value);
                }
        }
done:
        for (size_t i = 0; i < in->n_tenants; i++)
                free(labels[i]);
        free(labels);
        return r;
}

/* A histogram's samples: cumulative buckets up to +Inf (== _count), _sum and _count. */
static void histogram(Text *t, const char *name, const char *labels, const MetricsHistogram *h)
{
        const char *sep = labels[0] ? "," : "";
        uint64_t cum = 0;
        char le[32], sum[32];

        for (size_t i = 0; i < METRICS_BUCKETS; i++) {
                cum += h->bucket[i];
                text_add(t, "%s_bucket{%s%sle=\"%s\"} %" PRIu64 "\n", name, labels, sep,
                         fmt_seconds(le, metrics_bucket_usec[i]), cum);
        }
        cum += h->bucket[METRICS_BUCKETS];
        text_add(t, "%s_bucket{%s%sle=\"+Inf\"} %" PRIu64 "\n", name, labels, sep, cum);
        if (labels[0]) {
                text_add(t, "%s_sum{%s} %s\n", name, labels, fmt_seconds(sum, h->sum_usec));
                text_add(t, "%s_count{%s} %" PRIu64 "\n", name, labels, cum);
        } else {
                text_add(t, "%s_sum %s\n", name, fmt_seconds(sum, h->sum_usec));
                text_add(t, "%s_count %" PRIu64 "\n", name, cum);
        }
}

static void daemon_families(Text *t, const MetricsDaemon *d)
{
        char labels[PROTO_SHORT_STRING_MAX];

        family(t, "descartes_requests_total", "counter", "Requests decoded, by op.");
        for (ProtoOp op = 0; op < _PROTO_OP_MAX; op++)
                text_add(t, "descartes_requests_total{op=\"%s\"} %" PRIu64 "\n", proto_op_to_string(op),
                         d->requests[op]);
        family(t, "descartes_request_errors_total", "counter", "Error replies, by code.");
        for (ProtoErrorCode e = 0; e < _PROTO_ERROR_MAX; e++)
                text_add(t, "descartes_request_errors_total{code=\"%s\"} %" PRIu64 "\n",
                         proto_error_code_to_string(e), d->errors[e]);
        family(t, "descartes_request_duration_seconds", "histogram",
               "From a request's arrival to its reply, by op (a parked call's wait included).");
        for (ProtoOp op = 0; op < _PROTO_OP_MAX; op++) {
                (void)snprintf(labels, sizeof labels, "op=\"%s\"", proto_op_to_string(op));
                histogram(t, "descartes_request_duration_seconds", labels, &d->latency[op]);
        }
        family(t, "descartes_spawn_duration_seconds", "histogram",
               "From a spawn request's arrival to the agent's execve.");
        histogram(t, "descartes_spawn_duration_seconds", "", d->spawn);

        const struct {
                const char *name, *type, *help;
                uint64_t value;
        } scalars[] = {
                {"descartes_malformed_requests_total", "counter", "Frames that did not decode as a request.",
                 d->malformed},
                {"descartes_events_published_total", "counter", "Events published.", d->events_published},
                {"descartes_agents_spawned_total", "counter", "Agents spawned.", d->agents_spawned},
                {"descartes_agents_spawn_failed_total", "counter", "Spawns that failed.",
                 d->agents_spawn_failed},
                {"descartes_subscriptions", "gauge", "Event subscriptions open.", d->subscriptions},
                {"descartes_attachments", "gauge", "Terminal attachments open.", d->attachments},
        };
        for (size_t i = 0; i < ELEMENTSOF(scalars); i++) {
                family(t, scalars[i].name, scalars[i].type, scalars[i].help);
                text_add(t, "%s %" PRIu64 "\n", scalars[i].name, scalars[i].value);
        }
}

int metrics_format(const MetricsInput *in, size_t max, char **ret)
{
        Text t = {.max = max};
        char **labels;
        int r = 0;

        if (max < 2 * METRICS_RESERVE)
                return -EINVAL;
        labels = calloc(in->n_agents + 1, sizeof *labels);
        if (!labels)
                return -ENOMEM;
        for (size_t i = 0; i < in->n_agents && r >= 0; i++)
                r = agent_labels(in->agents[i].info, &labels[i]);

        if (r >= 0) {
                host_families(&t, in);
                agent_families(&t, in, labels);
                r = tenant_families(&t, in);
        }
        if (r >= 0 && in->daemon)
                daemon_families(&t, in->daemon);
        if (r >= 0) {
                text_force(
                        &t,
                        "# HELP descartes_metrics_truncated 1 when series were left out to keep this text "
                        "under its bound.\n# TYPE descartes_metrics_truncated gauge\n"
                        "descartes_metrics_truncated %d\n",
                        t.full ? 1 : 0);
                r = t.error;
        }
        for (size_t i = 0; i < in->n_agents; i++)
                free(labels[i]);
        free(labels);
        if (r < 0) {
                free(t.buf);
                return r;
        }
        *ret = t.buf;
        return 0;
}
