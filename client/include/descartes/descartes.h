/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* libdescartes: the C client of descartesd (wire protocol v1, see docs/protocol.md).
 *
 * Model: results are the protocol's own types from proto.h (installed alongside), under Descartes* aliases.
 * Every result struct a call fills is owned by the caller and freed with the matching proto_*_done()
 * (listed next to each call); `DescartesAgentInfo info = {};` ... `proto_agent_info_done(&info);`.
 * Argument structs are read only: fill them with borrowed pointers and never pass them to a _done().
 *
 * Errors: every fallible call returns >= 0 on success or a negative errno, and fills *ret_err (which may be
 * NULL) with the kind of failure, the protocol error code when the daemon answered with an error, and a
 * sentence fit for a person. Return values:
 *   transport:   -ECONNREFUSED (the daemon is not there), -EACCES (the socket is not ours to use),
 *                -ETIMEDOUT (no answer within the timeout), -EPROTO (an answer we cannot read)
 *   local:       -EINVAL (bad arguments, before anything is sent), -ENOMEM
 *   daemon said: see descartes_error_code_to_errno(): bad_request -EINVAL, unsupported_version
 *                -EPROTONOSUPPORT, unknown_op -EOPNOTSUPP, not_found -ESRCH, conflict -EBUSY,
 *                limit_exceeded -EDQUOT, unenforceable -ENODEV, permission_denied -EPERM, spawn_failed
 *                -ENOEXEC, timeout -ETIME, busy -EAGAIN, internal -EREMOTEIO.
 *
 * Transport: a ZeroMQ DEALER to the daemon's ROUTER (control endpoint) sending [empty][request]; replies are
 * matched by request id and stale ones dropped. When no answer comes within the timeout the request is sent
 * once more with the same id on a fresh socket (the daemon answers a repeated id with its first reply and
 * does nothing twice); a second silence is -ETIMEDOUT. Default timeouts: 30 s for spawn, stop, kill,
 * remove, action and batch (they wait for the kernel or the agent), 5 s for every other op; stop adds its
 * grace period on top. Events come from the daemon's PUB (events endpoint).
 *
 * Threads: a DescartesClient and its subscriptions belong to one thread at a time; use one client per
 * thread. Nothing here logs; nothing here changes signal dispositions. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Installed next to this header; in the source tree found on the include path. */
#include "proto.h"

#ifdef __cplusplus
extern "C" {
#endif

#define DESCARTES_DEFAULT_CONTROL_ENDPOINT "ipc:///run/descartes/control"
#define DESCARTES_DEFAULT_EVENTS_ENDPOINT  "ipc:///run/descartes/events"
#define DESCARTES_ENV_HOST                 "DESCARTES_HOST"
#define DESCARTES_ENV_EVENTS               "DESCARTES_EVENTS"

#define DESCARTES_TIMEOUT_SHORT_USEC (5 * UINT64_C(1000000))
#define DESCARTES_TIMEOUT_LONG_USEC  (30 * UINT64_C(1000000))

/* Public names of the protocol model. */
typedef ProtoOp DescartesOp;
typedef ProtoState DescartesState;
typedef ProtoReason DescartesReason;
typedef ProtoEventKind DescartesEventKind;
typedef ProtoStream DescartesStream;
typedef ProtoErrorCode DescartesErrorCode;
typedef ProtoStrMap DescartesStrMap;
typedef ProtoLimits DescartesLimits;
typedef ProtoValue DescartesValue;
typedef ProtoAgentInfo DescartesAgentInfo;
typedef ProtoEvent DescartesEvent;
typedef ProtoListArgs DescartesListArgs;
typedef ProtoSpawnArgs DescartesSpawnArgs;
typedef ProtoOutputArgs DescartesOutputArgs;
typedef ProtoActionArgs DescartesActionArgs;
typedef ProtoBatchArgs DescartesBatchArgs;
typedef ProtoHealthResult DescartesHealth;
typedef ProtoListResult DescartesList;
typedef ProtoOutputResult DescartesOutput;
typedef ProtoBatchResult DescartesBatchResult;
typedef ProtoEventsResult DescartesEvents;
typedef ProtoStatsResult DescartesStats;

typedef enum DescartesErrorKind {
        DESCARTES_ERROR_NONE,
        DESCARTES_ERROR_LOCAL,       /* bad arguments or out of memory, nothing was sent */
        DESCARTES_ERROR_UNREACHABLE, /* no daemon at the endpoint */
        DESCARTES_ERROR_ACCESS,      /* the endpoint exists but we may not connect */
        DESCARTES_ERROR_TIMEOUT,     /* no answer in time (after the retry) */
        DESCARTES_ERROR_PROTOCOL,    /* an answer that does not decode */
        DESCARTES_ERROR_DAEMON,      /* the daemon answered with an error: see code */
        _DESCARTES_ERROR_KIND_MAX,
        _DESCARTES_ERROR_KIND_INVALID = -EINVAL,
} DescartesErrorKind;

#define DESCARTES_ERROR_MESSAGE_MAX (PROTO_ERROR_MSG_MAX + 512)

typedef struct DescartesError {
        DescartesErrorKind kind;
        int error;           /* the negative errno the call returned */
        ProtoErrorCode code; /* the protocol code when kind is DAEMON, else _PROTO_ERROR_INVALID */
        char message[DESCARTES_ERROR_MESSAGE_MAX]; /* one sentence, no trailing newline */
} DescartesError;

typedef struct DescartesClient DescartesClient;
typedef struct DescartesSubscription DescartesSubscription;

/* ---- errors ---- */

/* Sets *e to "no error". */
void descartes_error_clear(DescartesError *e);
const char *descartes_error_kind_to_string(DescartesErrorKind k);
/* The negative errno each protocol code maps to (table above); -EIO for an unknown code. */
int descartes_error_code_to_errno(ProtoErrorCode code);

/* ---- client ---- */

/* Creates a client for the control endpoint: `endpoint` if not NULL, else $DESCARTES_HOST, else
 * DESCARTES_DEFAULT_CONTROL_ENDPOINT. The events endpoint is $DESCARTES_EVENTS, else derived from an
 * endpoint of the form ipc://DIR/control as ipc://DIR/events, else DESCARTES_DEFAULT_EVENTS_ENDPOINT.
 * Nothing is connected yet: the first request connects. -EINVAL for an empty or over-long endpoint. */
int descartes_client_new(const char *endpoint, DescartesClient **ret);
/* Frees the client, closing its sockets at once (unsent requests are dropped). Returns NULL. */
DescartesClient *descartes_client_free(DescartesClient *c);

const char *descartes_client_get_endpoint(const DescartesClient *c);
const char *descartes_client_get_events_endpoint(const DescartesClient *c);
/* Overrides the events endpoint (NULL: back to the derived one). */
int descartes_client_set_events_endpoint(DescartesClient *c, const char *endpoint);

/* One timeout for every op (usec > 0), or 0 to go back to the per-op defaults. */
void descartes_client_set_timeout(DescartesClient *c, uint64_t usec);
/* The timeout of one op (usec > 0), or 0 for its default. -EINVAL for an invalid op. */
int descartes_client_set_op_timeout(DescartesClient *c, ProtoOp op, uint64_t usec);
/* The timeout a request of `op` gets now. */
uint64_t descartes_client_get_op_timeout(const DescartesClient *c, ProtoOp op);
/* Whether a silent request is sent once more with the same id (default true). */
void descartes_client_set_retry(DescartesClient *c, bool retry);

/* ---- ops: one call per protocol op ---- */

/* health {} -> *ret, free with proto_health_result_done(). */
int descartes_health(DescartesClient *c, DescartesHealth *ret, DescartesError *ret_err);

/* list: args may be NULL (running agents, no filter). *ret freed with proto_list_result_done(). */
int descartes_list(DescartesClient *c, const DescartesListArgs *args, DescartesList *ret,
                   DescartesError *ret_err);

/* get/pause/resume/kill/remove AGENT (an id or a unique name). ret may be NULL; else *ret is the agent's
 * record after the op, freed with proto_agent_info_done(). */
int descartes_get(DescartesClient *c, const char *agent, DescartesAgentInfo *ret, DescartesError *ret_err);
int descartes_pause(DescartesClient *c, const char *agent, DescartesAgentInfo *ret, DescartesError *ret_err);
int descartes_resume(DescartesClient *c, const char *agent, DescartesAgentInfo *ret,
                     DescartesError *ret_err);
int descartes_kill(DescartesClient *c, const char *agent, DescartesAgentInfo *ret, DescartesError *ret_err);
int descartes_remove(DescartesClient *c, const char *agent, DescartesAgentInfo *ret,
                     DescartesError *ret_err);

/* stop: SIGTERM, then cgroup.kill after grace_ms; grace_ms < 0 takes the daemon's default. The request
 * timeout is the op's timeout plus the grace period. */
int descartes_stop(DescartesClient *c, const char *agent, int64_t grace_ms, DescartesAgentInfo *ret,
                   DescartesError *ret_err);

/* signal: sends sig (1.._NSIG-1) to the agent. */
int descartes_signal(DescartesClient *c, const char *agent, int sig, DescartesAgentInfo *ret,
                     DescartesError *ret_err);

/* spawn: args->argv is required; the agent's environment is args->env only. *ret is the new agent's
 * record (ret may be NULL), freed with proto_agent_info_done(). */
int descartes_spawn(DescartesClient *c, const DescartesSpawnArgs *args, DescartesAgentInfo *ret,
                    DescartesError *ret_err);

/* stdin: writes size bytes (at most PROTO_STDIN_DATA_MAX; data may be NULL when size is 0) to the agent's
 * stdin, then closes it if close_after. *ret_written (may be NULL) gets the bytes accepted. */
int descartes_stdin(DescartesClient *c, const char *agent, const void *data, size_t size, bool close_after,
                    uint64_t *ret_written, DescartesError *ret_err);

/* output: reads stored output; *ret freed with proto_output_result_done(). */
int descartes_output(DescartesClient *c, const DescartesOutputArgs *args, DescartesOutput *ret,
                     DescartesError *ret_err);

/* action: runs a custom action in the agent; *ret_result (may be NULL) is its msgpack result, freed with
 * proto_value_done(). */
int descartes_action(DescartesClient *c, const DescartesActionArgs *args, DescartesValue *ret_result,
                     DescartesError *ret_err);

/* batch: one op over agents or a selector; *ret freed with proto_batch_result_done(). */
int descartes_batch(DescartesClient *c, const DescartesBatchArgs *args, DescartesBatchResult *ret,
                    DescartesError *ret_err);

/* events: replays held events with seq >= since_seq (0: all held); limit 0 takes the daemon's default.
 * *ret freed with proto_events_result_done(). */
int descartes_events(DescartesClient *c, uint64_t since_seq, uint64_t limit, DescartesEvents *ret,
                     DescartesError *ret_err);

/* stats: the daemon's counters and gauges; *ret freed with proto_stats_result_done(). */
int descartes_stats(DescartesClient *c, DescartesStats *ret, DescartesError *ret_err);

/* shutdown (root and members of the daemon's admin group): the daemon exits; its agents keep running under
 * their shims (a restarted daemon re-adopts them) unless stop_agents, which stops them first (TERM, the
 * grace period, cgroup.kill). The reply comes before the daemon exits. */
int descartes_shutdown(DescartesClient *c, bool stop_agents, DescartesError *ret_err);

/* ---- event subscription ---- */

/* Subscribes to the events endpoint: every event when agent_id is NULL, else only that agent's (agent_id
 * must be the agent's id, not a name or prefix). As with any ZeroMQ SUB, events published before the
 * subscription has reached the daemon are missed: subscribe first, then read the state you wait on. */
int descartes_subscribe(DescartesClient *c, const char *agent_id, DescartesSubscription **ret,
                        DescartesError *ret_err);
DescartesSubscription *descartes_subscription_free(DescartesSubscription *s);

/* Waits up to timeout_usec (0: do not wait, UINT64_MAX: forever) for the next event. Returns 1 and fills
 * *ret (free with proto_event_done()), or 0 on timeout. Events that do not decode are skipped and counted
 * (descartes_subscription_get_dropped()). -EINTR when a signal interrupted the wait. */
int descartes_subscription_next(DescartesSubscription *s, uint64_t timeout_usec, DescartesEvent *ret,
                                DescartesError *ret_err);

/* A pollable fd (ZMQ_FD, edge-triggered: after it polls readable, call next() with timeout 0 until it
 * returns 0). */
int descartes_subscription_get_fd(DescartesSubscription *s);
/* The highest seq delivered so far (0: none). */
uint64_t descartes_subscription_get_last_seq(const DescartesSubscription *s);
uint64_t descartes_subscription_get_dropped(const DescartesSubscription *s);

/* Gap detection for a subscription to every event (seq is global to the daemon, so with an agent filter
 * gaps are normal and this is always 0). Returns 1 when events were missed just before the last event
 * next() returned, with the missing range [*ret_from, *ret_to] (replay it with descartes_events(c, from,
 * ...)); 0 when there was no gap. Either out-pointer may be NULL. */
int descartes_subscription_get_gap(const DescartesSubscription *s, uint64_t *ret_from, uint64_t *ret_to);
/* The same test on two seqs: 1 and the missing range when seq is not last_seq + 1 (and last_seq != 0). */
int descartes_seq_gap(uint64_t last_seq, uint64_t seq, uint64_t *ret_from, uint64_t *ret_to);

/* ---- helpers ---- */

/* True for the states an agent never leaves (exited, failed). */
bool descartes_state_is_final(ProtoState s);
/* Renders one msgpack value (an action result, event data) as JSON text. Strings and bin both become JSON
 * strings, invalid UTF-8 replaced by U+FFFD; non-string map keys are rendered as their JSON text. *ret is
 * freed with free(). -EINVAL when v is absent or not one valid msgpack object. */
int descartes_value_to_json(const DescartesValue *v, char **ret);

#ifdef __cplusplus
}
#endif
