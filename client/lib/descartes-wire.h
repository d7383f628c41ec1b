/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* libdescartes' wire level, for the daemon's tests and bench/: the public calls with their arguments and
 * results in the protocol model (proto.h), and the public objects made from wire results. Not installed and
 * not exported from libdescartes.so: link libdescartes_internal. Every result struct a call fills is owned
 * by the caller and freed with the matching proto_*_done(); argument structs are read only. Errors as in
 * descartes.h. A new op needs no wire_* call: tests may use its public call. */

#include "descartes/descartes.h"
#include "proto.h"

int wire_health(DescartesClient *c, ProtoHealthResult *ret, DescartesError *ret_err);
/* args may be NULL (running agents, no filter). */
int wire_list(DescartesClient *c, const ProtoListArgs *args, ProtoListResult *ret, DescartesError *ret_err);
/* ret may be NULL; else *ret is the agent's record after the op. */
int wire_get(DescartesClient *c, const char *agent, ProtoAgentInfo *ret, DescartesError *ret_err);
int wire_pause(DescartesClient *c, const char *agent, ProtoAgentInfo *ret, DescartesError *ret_err);
int wire_resume(DescartesClient *c, const char *agent, ProtoAgentInfo *ret, DescartesError *ret_err);
int wire_kill(DescartesClient *c, const char *agent, ProtoAgentInfo *ret, DescartesError *ret_err);
int wire_remove(DescartesClient *c, const char *agent, ProtoAgentInfo *ret, DescartesError *ret_err);
int wire_stop(DescartesClient *c, const char *agent, int64_t grace_ms, ProtoAgentInfo *ret,
              DescartesError *ret_err);
int wire_signal(DescartesClient *c, const char *agent, int sig, ProtoAgentInfo *ret,
                DescartesError *ret_err);
int wire_spawn(DescartesClient *c, const ProtoSpawnArgs *args, ProtoAgentInfo *ret, DescartesError *ret_err);
int wire_stdin(DescartesClient *c, const char *agent, const void *data, size_t size, bool close_after,
               uint64_t *ret_written, DescartesError *ret_err);
int wire_output(DescartesClient *c, const ProtoOutputArgs *args, ProtoOutputResult *ret,
                DescartesError *ret_err);
int wire_action(DescartesClient *c, const ProtoActionArgs *args, ProtoValue *ret_result,
                DescartesError *ret_err);
int wire_batch(DescartesClient *c, const ProtoBatchArgs *args, ProtoBatchResult *ret,
               DescartesError *ret_err);
int wire_events(DescartesClient *c, uint64_t since_seq, uint64_t limit, ProtoEventsResult *ret,
                DescartesError *ret_err);
int wire_stats(DescartesClient *c, ProtoStatsResult *ret, DescartesError *ret_err);
int wire_tenants(DescartesClient *c, ProtoTenantsResult *ret, DescartesError *ret_err);
int wire_shutdown(DescartesClient *c, bool stop_agents, DescartesError *ret_err);
/* exec with the protocol's args; *ret (free with proto_exec_result_done()) may be NULL. */
int wire_exec(DescartesClient *c, const ProtoExecArgs *args, ProtoExecResult *ret, DescartesError *ret_err);
/* Returns 1 and fills *ret (free with proto_event_done()), or 0 on timeout. */
int wire_subscription_next(DescartesSubscription *s, uint64_t timeout_usec, ProtoEvent *ret,
                           DescartesError *ret_err);

/* The public objects made from wire results: each takes what *src owns (and zeroes it) on success. */
int wire_agent_new(ProtoAgentInfo *src, DescartesAgent **ret);
int wire_agent_list_new(ProtoListResult *src, DescartesAgentList **ret);
int wire_event_new(ProtoEvent *src, DescartesEvent **ret);
int wire_events_new(ProtoEventsResult *src, DescartesEvents **ret);
int wire_output_new(ProtoOutputResult *src, DescartesOutput **ret);
int wire_batch_result_new(ProtoBatchResult *src, DescartesBatchResult **ret);
int wire_health_new(ProtoHealthResult *src, DescartesHealth **ret);
int wire_stats_new(ProtoStatsResult *src, DescartesStats **ret);
int wire_tenants_new(ProtoTenantsResult *src, DescartesTenants **ret);
int wire_exec_new(ProtoExecResult *src, DescartesExec **ret);
