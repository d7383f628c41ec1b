/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The `metrics` op's text: the Prometheus text exposition format (version 0.0.4), built from a snapshot of
 * the daemon's state (MetricsInput) and nothing else, so that it is tested without a daemon. Beside it the
 * fixed-bucket histograms the daemon records request and spawn durations in. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cgroup-backend.h"
#include "proto.h"

/* Upper bounds of the histogram buckets, in microseconds (the last bucket, +Inf, is implied). */
#define METRICS_BUCKETS 14
extern const uint64_t metrics_bucket_usec[METRICS_BUCKETS];

typedef struct MetricsHistogram {
        uint64_t bucket[METRICS_BUCKETS + 1]; /* observations per bucket (not cumulative); last: above all */
        uint64_t count;
        uint64_t sum_usec;
} MetricsHistogram;

void metrics_histogram_observe(MetricsHistogram *h, uint64_t usec);

/* An agent the caller may see: its INFO (usage read live) and the limits it ran into. */
typedef struct MetricsAgent {
        const ProtoAgentInfo *info;
        bool has_hits[_CGROUP_COUNTER_MAX]; /* false where the cgroup has no such counter */
        uint64_t hits[_CGROUP_COUNTER_MAX]; /* since the agent's start */
} MetricsAgent;

/* What the daemon itself counted since it started: for admins only. */
typedef struct MetricsDaemon {
        const uint64_t *requests;        /* [_PROTO_OP_MAX] */
        const uint64_t *errors;          /* [_PROTO_ERROR_MAX] */
        const MetricsHistogram *latency; /* [_PROTO_OP_MAX]: from a request's arrival to its reply */
        const MetricsHistogram *spawn;   /* from a spawn request to the agent's execve */
        uint64_t malformed;              /* frames that did not decode as a request */
        uint64_t events_published;
        uint64_t agents_spawned;
        uint64_t agents_spawn_failed;
        uint64_t subscriptions;
        uint64_t attachments;
} MetricsDaemon;

typedef struct MetricsInput {
        ProtoHostInfo host; /* everyone sees the host, as in `health` */
        uint64_t uptime_s;
        const MetricsAgent *agents;
        size_t n_agents;
        const ProtoTenant *tenants; /* with their quotas */
        size_t n_tenants;
        const MetricsDaemon *daemon; /* NULL: a tenant's view */
} MetricsInput;

/* Writes the text into *ret (NUL-terminated, at most max bytes with the NUL). When the series do not fit,
 * the last ones are left out and descartes_metrics_truncated is 1: the text stays valid. */
int metrics_format(const MetricsInput *in, size_t max, char **ret);

/* A label value as the format wants it: backslash, double quote and newline escaped. */
int metrics_escape_label(const char *s, char **ret);
