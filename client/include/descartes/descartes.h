/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* libdescartes: the C client of descartesd (wire protocol v1, see docs/protocol.md).
 *
 * ABI rule. This header is the library's whole interface; the wire model stays inside the library. It
 * grows only in ways that keep binaries built against an older header working:
 *   - Results are opaque, reference-counted objects read through getters (DescartesAgent, DescartesHealth,
 *     ...). A new field is a new getter; nothing a caller compiled against ever changes size. Every object
 *     has a _ref() and an _unref() that returns NULL; _unrefp() is for cleanup attributes:
 *         __attribute__((cleanup(descartes_agent_unrefp))) DescartesAgent *a = NULL;
 *     An object handed out by another (descartes_agent_list_get(), descartes_events_get()) is borrowed:
 *     valid while its owner lives, or take your own reference with _ref().
 *   - Arguments are plain structs that begin with their size and only ever grow at their end. Start from
 *     the DESCARTES_*_ARGS_INIT macro (it sets .size) and set the fields you need; the library reads only
 *     the fields `size` covers, so an older caller gets the defaults for fields added later, and a newer
 *     caller that sets a field this library does not know gets -EOPNOTSUPP rather than having it ignored.
 *     Structs rather than builder objects: they cost no allocation, no error path per setter, and read as
 *     one designated initializer at the call site.
 *   - Enums only gain values, before their _MAX; their numbers never change.
 *   - Only descartes_* symbols are exported (soname libdescartes.so.1).
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
 * matched by request id and stale ones dropped. The client survives outages of the daemon (a restart, a
 * crash): while it is away, libzmq reconnects after 100 ms, doubling up to 2 s between tries, and a request
 * waits for it. When no answer comes within the timeout the request is sent again with the same id on a
 * fresh socket (the daemon answers a repeated id with its first reply and does nothing twice, also across
 * its restart), up to DESCARTES_SEND_ATTEMPTS sends in all and none later than DESCARTES_RESEND_WINDOW_USEC
 * after the first; the caller sees one reply. When the last send goes unanswered the call fails with
 * -ECONNREFUSED (kind unreachable) if the daemon is not there, else -ETIMEDOUT. So with the default
 * timeouts a get waits up to 15 s for a daemon that is away, a spawn up to 90 s. Default timeouts: 30 s for
 * spawn, stop, kill, remove, action and batch (they wait for the kernel or the agent), 5 s for every other
 * op; stop adds its grace period on top. Events come over the control endpoint too, on a connection of each
 * subscription's own (the subscribe op). A tcp:// endpoint uses CURVE (see "remote daemons" below).
 *
 * Threads: the request calls (one per op) of one DescartesClient may be made from several threads at once:
 * they queue (bounded, descartes_client_set_queue_max(); a request past the bound fails at once with
 * -ENOBUFS) and go out one after the other in the order they were made. The client's setters, its
 * subscriptions and descartes_client_free() belong to one thread at a time. Result objects may be passed
 * between threads but their reference counts are not atomic. Nothing here logs; nothing here changes signal
 * dispositions. */

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define DESCARTES_DEFAULT_CONTROL_ENDPOINT "ipc:///run/descartes/control"
#define DESCARTES_DEFAULT_EVENTS_ENDPOINT  "ipc:///run/descartes/events"
#define DESCARTES_ENV_HOST                 "DESCARTES_HOST"
#define DESCARTES_ENV_EVENTS               "DESCARTES_EVENTS"
#define DESCARTES_ENV_SERVER_KEY           "DESCARTES_SERVER_KEY" /* a tcp daemon's public key or its file */
#define DESCARTES_ENV_CLIENT_KEY           "DESCARTES_CLIENT_KEY" /* the client's secret key file */

#define DESCARTES_TIMEOUT_SHORT_USEC (5 * UINT64_C(1000000))
#define DESCARTES_TIMEOUT_LONG_USEC  (30 * UINT64_C(1000000))
/* A request is sent at most DESCARTES_SEND_ATTEMPTS times (each waiting its timeout), and never resent later
 * than DESCARTES_RESEND_WINDOW_USEC after its first send: descartesd's request_ttl (default 10 min) is
 * longer, so a resend always finds the first reply. */
#define DESCARTES_SEND_ATTEMPTS      3
#define DESCARTES_RESEND_WINDOW_USEC (300 * UINT64_C(1000000))
#define DESCARTES_QUEUE_MAX_DEFAULT  1000

/* The protocol version this library speaks, and the bounds of protocol v1 a caller may check before
 * sending (docs/protocol.md, section 8). */
#define DESCARTES_PROTOCOL_VERSION        1
#define DESCARTES_AGENT_REF_MAX           128              /* an agent id, NAME or TENANT/NAME */
#define DESCARTES_NAME_MAX                64               /* agent names */
#define DESCARTES_ACTION_NAME_MAX         64               /* action names */
#define DESCARTES_ACTION_TIMEOUT_MAX_MS   (10 * 60 * 1000) /* action timeout_ms */
#define DESCARTES_PATH_MAX                4096             /* cwd, workspace */
#define DESCARTES_SHORT_STRING_MAX        256              /* policy, user */
#define DESCARTES_ERROR_MSG_MAX           1024             /* the daemon's error message */
#define DESCARTES_ARGV_MAX                4096             /* argv entries */
#define DESCARTES_ENV_MAX                 4096             /* env pairs */
#define DESCARTES_ENV_KEY_MAX             1024             /* bytes of an env key */
#define DESCARTES_ENV_BYTES_MAX           (1024 * 1024)    /* sum of env key and value lengths */
#define DESCARTES_LABELS_MAX              64               /* label pairs */
#define DESCARTES_LABEL_KEY_MAX           128
#define DESCARTES_LABEL_VALUE_MAX         1024
#define DESCARTES_STDIN_DATA_MAX          (1024 * 1024) /* bytes per stdin call */
#define DESCARTES_BACKEND_NAME_MAX        64            /* spawn: a backend's name */
#define DESCARTES_BACKEND_TEXT_MAX        (256 * 1024)  /* spawn: a backend's task, system prompt */
#define DESCARTES_GREP_MAX                4096          /* output grep pattern */
#define DESCARTES_OUTPUT_LINES_MAX        65536         /* lines per output reply; bound of limit and tail */
#define DESCARTES_EVENTS_MAX              10000         /* events per events reply; bound of its limit */
#define DESCARTES_DURATION_MS_MAX         (UINT64_C(30) * 24 * 3600 * 1000)
#define DESCARTES_EXEC_ARGV_MAX           1024        /* exec argv entries */
#define DESCARTES_EXEC_ARGV_BYTES_MAX     (16 * 1024) /* exec argv bytes, NULs included */
#define DESCARTES_EXEC_STDIN_MAX          (32 * 1024) /* exec stdin bytes */
#define DESCARTES_EXEC_OUTPUT_MAX         (16 * 1024) /* bytes of each stream an exec reply holds */
#define DESCARTES_EXEC_TIMEOUT_DEFAULT_MS 25000
#define DESCARTES_EXEC_TIMEOUT_MAX_MS     (3600 * 1000)

/* ---- enums (numbers fixed; each has _to_string() giving its wire name and _from_string()) ---- */

typedef enum DescartesOp {
        DESCARTES_OP_HEALTH,
        DESCARTES_OP_LIST,
        DESCARTES_OP_GET,
        DESCARTES_OP_SPAWN,
        DESCARTES_OP_PAUSE,
        DESCARTES_OP_RESUME,
        DESCARTES_OP_STOP,
        DESCARTES_OP_KILL,
        DESCARTES_OP_SIGNAL,
        DESCARTES_OP_STDIN,
        DESCARTES_OP_OUTPUT,
        DESCARTES_OP_ACTION,
        DESCARTES_OP_BATCH,
        DESCARTES_OP_EVENTS,
        DESCARTES_OP_REMOVE,
        DESCARTES_OP_STATS,
        DESCARTES_OP_SHUTDOWN,
        DESCARTES_OP_WAIT,
        DESCARTES_OP_TENANTS,
        DESCARTES_OP_SUBSCRIBE,
        DESCARTES_OP_UNSUBSCRIBE,
        DESCARTES_OP_EXEC,
        DESCARTES_OP_ATTACH,
        DESCARTES_OP_ATTACH_INPUT,
        DESCARTES_OP_ATTACH_RESIZE,
        DESCARTES_OP_DETACH,
        DESCARTES_OP_METRICS,
        _DESCARTES_OP_MAX,
        _DESCARTES_OP_INVALID = -EINVAL,
} DescartesOp;

typedef enum DescartesState {
        DESCARTES_STATE_STARTING,
        DESCARTES_STATE_RUNNING,
        DESCARTES_STATE_PAUSING,
        DESCARTES_STATE_PAUSED,
        DESCARTES_STATE_RESUMING,
        DESCARTES_STATE_STOPPING,
        DESCARTES_STATE_EXITED,
        DESCARTES_STATE_FAILED,
        _DESCARTES_STATE_MAX,
        _DESCARTES_STATE_INVALID = -EINVAL,
} DescartesState;

/* Why an agent ended (set in states exited and failed). */
typedef enum DescartesReason {
        DESCARTES_REASON_COMPLETED,    /* exited by itself; the exit code is set */
        DESCARTES_REASON_SIGNALED,     /* killed by a signal not sent by the daemon; the signal is set */
        DESCARTES_REASON_OOM_KILLED,   /* memory.events oom_kill */
        DESCARTES_REASON_PIDS_LIMIT,   /* pids.max hit and the agent died of it */
        DESCARTES_REASON_TIMED_OUT,    /* its maximum runtime passed */
        DESCARTES_REASON_STOPPED,      /* by a stop request */
        DESCARTES_REASON_KILLED,       /* by a kill request */
        DESCARTES_REASON_LOST,         /* vanished while the daemon was away */
        DESCARTES_REASON_SPAWN_FAILED, /* never started (state failed) */
        _DESCARTES_REASON_MAX,
        _DESCARTES_REASON_INVALID = -EINVAL,
} DescartesReason;

typedef enum DescartesEventKind {
        DESCARTES_EVENT_STATUS_CHANGED,
        DESCARTES_EVENT_OUTPUT,
        DESCARTES_EVENT_ERROR,
        DESCARTES_EVENT_EXITED,
        DESCARTES_EVENT_HEARTBEAT,
        DESCARTES_EVENT_LIMIT_HIT,
        DESCARTES_EVENT_HEALTH_CHANGED,
        _DESCARTES_EVENT_KIND_MAX,
        _DESCARTES_EVENT_KIND_INVALID = -EINVAL,
} DescartesEventKind;

typedef enum DescartesStream {
        DESCARTES_STREAM_STDOUT,
        DESCARTES_STREAM_STDERR,
        DESCARTES_STREAM_BOTH, /* only in output requests */
        _DESCARTES_STREAM_MAX,
        _DESCARTES_STREAM_INVALID = -EINVAL,
} DescartesStream;

typedef enum DescartesOutputMode {
        DESCARTES_OUTPUT_LINES,
        DESCARTES_OUTPUT_RAW,
        _DESCARTES_OUTPUT_MODE_MAX,
        _DESCARTES_OUTPUT_MODE_INVALID = -EINVAL,
} DescartesOutputMode;

typedef enum DescartesNet {
        DESCARTES_NET_NONE,
        DESCARTES_NET_HOST,
        _DESCARTES_NET_MAX,
        _DESCARTES_NET_INVALID = -EINVAL,
} DescartesNet;

/* An agent's health, when it has a health check. */
typedef enum DescartesAgentHealth {
        DESCARTES_AGENT_HEALTH_STARTING,
        DESCARTES_AGENT_HEALTH_HEALTHY,
        DESCARTES_AGENT_HEALTH_UNHEALTHY,
        _DESCARTES_AGENT_HEALTH_MAX,
        _DESCARTES_AGENT_HEALTH_INVALID = -EINVAL,
} DescartesAgentHealth;

/* What the daemon does to an agent that turns unhealthy. */
typedef enum DescartesOnUnhealthy {
        DESCARTES_ON_UNHEALTHY_NONE,
        DESCARTES_ON_UNHEALTHY_STOP,
        DESCARTES_ON_UNHEALTHY_KILL,
        _DESCARTES_ON_UNHEALTHY_MAX,
        _DESCARTES_ON_UNHEALTHY_INVALID = -EINVAL,
} DescartesOnUnhealthy;

/* The daemon's error codes (protocol v1, stable). */
typedef enum DescartesErrorCode {
        DESCARTES_ERROR_CODE_BAD_REQUEST,
        DESCARTES_ERROR_CODE_UNSUPPORTED_VERSION,
        DESCARTES_ERROR_CODE_UNKNOWN_OP,
        DESCARTES_ERROR_CODE_NOT_FOUND,
        DESCARTES_ERROR_CODE_CONFLICT,
        DESCARTES_ERROR_CODE_LIMIT_EXCEEDED,
        DESCARTES_ERROR_CODE_UNENFORCEABLE,
        DESCARTES_ERROR_CODE_PERMISSION_DENIED,
        DESCARTES_ERROR_CODE_SPAWN_FAILED,
        DESCARTES_ERROR_CODE_TIMEOUT,
        DESCARTES_ERROR_CODE_BUSY,
        DESCARTES_ERROR_CODE_INTERNAL,
        DESCARTES_ERROR_CODE_ACTION_FAILED, /* the agent's action handler answered an error */
        _DESCARTES_ERROR_CODE_MAX,
        _DESCARTES_ERROR_CODE_INVALID = -EINVAL,
} DescartesErrorCode;

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

const char *descartes_op_to_string(DescartesOp op);
DescartesOp descartes_op_from_string(const char *s);
const char *descartes_state_to_string(DescartesState s);
DescartesState descartes_state_from_string(const char *s);
const char *descartes_reason_to_string(DescartesReason r);
DescartesReason descartes_reason_from_string(const char *s);
const char *descartes_event_kind_to_string(DescartesEventKind k);
DescartesEventKind descartes_event_kind_from_string(const char *s);
const char *descartes_stream_to_string(DescartesStream s);
DescartesStream descartes_stream_from_string(const char *s);
const char *descartes_output_mode_to_string(DescartesOutputMode m);
DescartesOutputMode descartes_output_mode_from_string(const char *s);
const char *descartes_net_to_string(DescartesNet n);
DescartesNet descartes_net_from_string(const char *s);
const char *descartes_agent_health_to_string(DescartesAgentHealth h);
DescartesAgentHealth descartes_agent_health_from_string(const char *s);
const char *descartes_on_unhealthy_to_string(DescartesOnUnhealthy o);
DescartesOnUnhealthy descartes_on_unhealthy_from_string(const char *s);
const char *descartes_error_code_to_string(DescartesErrorCode c);
DescartesErrorCode descartes_error_code_from_string(const char *s);
const char *descartes_error_kind_to_string(DescartesErrorKind k);
/* A signal by name ("TERM", "SIGTERM", case-insensitive) as the protocol accepts it: 1.._NSIG-1 or -EINVAL.
 */
int descartes_signal_from_string(const char *s);
/* True for the states an agent never leaves (exited, failed). */
bool descartes_state_is_final(DescartesState s);
/* True if `op` may be the op of a batch. */
bool descartes_op_batchable(DescartesOp op);

/* ---- errors ---- */

#define DESCARTES_ERROR_MESSAGE_MAX (DESCARTES_ERROR_MSG_MAX + 512)

/* Filled by the library, read by the caller: its layout is part of the ABI and never changes. */
typedef struct DescartesError {
        DescartesErrorKind kind;
        int error; /* the negative errno the call returned */
        DescartesErrorCode
                code; /* the protocol code when kind is DAEMON, else _DESCARTES_ERROR_CODE_INVALID */
        char message[DESCARTES_ERROR_MESSAGE_MAX]; /* one sentence, no trailing newline */
} DescartesError;

/* Sets *e to "no error". */
void descartes_error_clear(DescartesError *e);
/* The negative errno each protocol code maps to (table above); -EIO for an unknown code. */
int descartes_error_code_to_errno(DescartesErrorCode code);

/* ---- result objects ---- */

typedef struct DescartesClient DescartesClient;
typedef struct DescartesSubscription DescartesSubscription;
typedef struct DescartesAgent DescartesAgent;
typedef struct DescartesAgentList DescartesAgentList;
typedef struct DescartesEvent DescartesEvent;
typedef struct DescartesEvents DescartesEvents;
typedef struct DescartesOutput DescartesOutput;
typedef struct DescartesOutputLine DescartesOutputLine;
typedef struct DescartesBatchResult DescartesBatchResult;
typedef struct DescartesBatchItem DescartesBatchItem;
typedef struct DescartesHealth DescartesHealth;
typedef struct DescartesStats DescartesStats;
typedef struct DescartesTenants DescartesTenants;
typedef struct DescartesExec DescartesExec;

#define DESCARTES_DECLARE_REFCOUNT(type, name)                                                              \
        type *descartes_##name##_ref(type *p);                                                              \
        type *descartes_##name##_unref(type *p);                                                            \
        void descartes_##name##_unrefp(type **p)

DESCARTES_DECLARE_REFCOUNT(DescartesAgent, agent);
DESCARTES_DECLARE_REFCOUNT(DescartesAgentList, agent_list);
DESCARTES_DECLARE_REFCOUNT(DescartesEvent, event);
DESCARTES_DECLARE_REFCOUNT(DescartesEvents, events);
DESCARTES_DECLARE_REFCOUNT(DescartesOutput, output);
DESCARTES_DECLARE_REFCOUNT(DescartesBatchResult, batch_result);
DESCARTES_DECLARE_REFCOUNT(DescartesHealth, health);
DESCARTES_DECLARE_REFCOUNT(DescartesStats, stats);
DESCARTES_DECLARE_REFCOUNT(DescartesTenants, tenants);
DESCARTES_DECLARE_REFCOUNT(DescartesExec, exec);

/* An agent's record. Optional values come through a bool getter and an out-pointer that is set only when
 * the value is present (the pointer may be NULL to just ask). Strings belong to the object. */
const char *descartes_agent_get_id(const DescartesAgent *a);
const char *descartes_agent_get_name(const DescartesAgent *a); /* NULL: no name */
DescartesState descartes_agent_get_state(const DescartesAgent *a);
bool descartes_agent_get_reason(const DescartesAgent *a, DescartesReason *ret);
bool descartes_agent_get_exit_code(const DescartesAgent *a, int *ret);
bool descartes_agent_get_signal(const DescartesAgent *a, int *ret);
bool descartes_agent_get_pid(const DescartesAgent *a, int *ret);
uint32_t descartes_agent_get_owner_uid(const DescartesAgent *a);
/* NULL-terminated. */
char *const *descartes_agent_get_argv(const DescartesAgent *a);
size_t descartes_agent_get_n_labels(const DescartesAgent *a);
/* The i-th label (0 <= i < n_labels): its key, and its value in *ret_value. NULL past the end. */
const char *descartes_agent_get_label(const DescartesAgent *a, size_t i, const char **ret_value);
/* The value of label `key`, or NULL. */
const char *descartes_agent_get_label_value(const DescartesAgent *a, const char *key);
uint64_t descartes_agent_get_created_ns(const DescartesAgent *a); /* CLOCK_REALTIME */
bool descartes_agent_get_started_ns(const DescartesAgent *a, uint64_t *ret);
bool descartes_agent_get_ended_ns(const DescartesAgent *a, uint64_t *ret);
/* Microseconds from the spawn request to the agent's execve. */
bool descartes_agent_get_spawn_us(const DescartesAgent *a, uint64_t *ret);
/* The uid and gid the agent runs as (false from a daemon that does not say). */
bool descartes_agent_get_uid(const DescartesAgent *a, uint32_t *ret);
bool descartes_agent_get_gid(const DescartesAgent *a, uint32_t *ret);
/* Spawned with a terminal (DescartesSpawnArgs.tty): descartes_attach() joins it. */
bool descartes_agent_get_tty(const DescartesAgent *a);
const char *descartes_agent_get_cgroup(const DescartesAgent *a); /* NULL: not told */
bool descartes_agent_get_limit_cpu(const DescartesAgent *a, uint64_t *ret_millicores);
bool descartes_agent_get_limit_memory(const DescartesAgent *a, uint64_t *ret_bytes);
bool descartes_agent_get_limit_swap(const DescartesAgent *a, uint64_t *ret_bytes);
bool descartes_agent_get_limit_pids(const DescartesAgent *a, uint64_t *ret);
/* Usage is present on records read from a live cgroup; the out-pointers may be NULL. */
bool descartes_agent_get_usage(const DescartesAgent *a, uint64_t *ret_cpu_usec, uint64_t *ret_memory_current,
                               uint64_t *ret_memory_peak, uint64_t *ret_pids_current);

/* Its health (false: it has no health check), and the grounds of the last verdict: the last check's exit
 * code (false when it had none: killed at its timeout, or the idle rule), its output (stdout then stderr,
 * the first 4 KiB; size in *ret_size), the failures in a row, and why it is unhealthy (NULL when it is not).
 * Every out-pointer may be NULL. */
bool descartes_agent_get_health(const DescartesAgent *a, DescartesAgentHealth *ret);
bool descartes_agent_get_health_exit_code(const DescartesAgent *a, int *ret);
const void *descartes_agent_get_health_output(const DescartesAgent *a, size_t *ret_size);
uint64_t descartes_agent_get_health_failures(const DescartesAgent *a);
const char *descartes_agent_get_health_reason(const DescartesAgent *a);

size_t descartes_agent_list_get_size(const DescartesAgentList *l);
/* Borrowed from the list; NULL past the end. */
DescartesAgent *descartes_agent_list_get(const DescartesAgentList *l, size_t i);

uint64_t descartes_event_get_seq(const DescartesEvent *e);
uint64_t descartes_event_get_ts_ns(const DescartesEvent *e);
DescartesEventKind descartes_event_get_kind(const DescartesEvent *e);
const char *descartes_event_get_agent(const DescartesEvent *e); /* NULL: a host event */
bool descartes_event_get_state(const DescartesEvent *e, DescartesState *ret);
bool descartes_event_get_reason(const DescartesEvent *e, DescartesReason *ret);
/* The event's data as msgpack bytes (NULL: none); see descartes_msgpack_to_json(). */
const void *descartes_event_get_data(const DescartesEvent *e, size_t *ret_size);
/* An unsigned integer in the data map ({bytes: 512, ...}): -ENOENT when absent, -EBADMSG if not one. */
int descartes_event_get_data_u64(const DescartesEvent *e, const char *key, uint64_t *ret);

size_t descartes_events_get_size(const DescartesEvents *r);
DescartesEvent *descartes_events_get(const DescartesEvents *r, size_t i); /* borrowed */
uint64_t descartes_events_get_next_seq(const DescartesEvents *r);         /* pass as since_seq next time */
uint64_t descartes_events_get_oldest_seq(const DescartesEvents *r);       /* 0: none held */
bool descartes_events_get_last_seq(const DescartesEvents *r, uint64_t *ret);

DescartesOutputMode descartes_output_get_mode(const DescartesOutput *o);
size_t descartes_output_get_n_lines(const DescartesOutput *o);
const DescartesOutputLine *descartes_output_get_line(const DescartesOutput *o, size_t i); /* borrowed */
/* Raw mode: the bytes (size in *ret_size; NULL and 0 when none). */
const void *descartes_output_get_data(const DescartesOutput *o, size_t *ret_size);
uint64_t descartes_output_get_total(const DescartesOutput *o);
bool descartes_output_get_has_more(const DescartesOutput *o);
bool descartes_output_get_partial(const DescartesOutput *o);
const char *descartes_output_get_cursor(const DescartesOutput *o); /* NULL: none */
uint64_t descartes_output_get_dropped(const DescartesOutput *o);

uint64_t descartes_output_line_get_seq(const DescartesOutputLine *l);
uint64_t descartes_output_line_get_ts_ns(const DescartesOutputLine *l);
DescartesStream descartes_output_line_get_stream(const DescartesOutputLine *l);
/* The text, NUL-terminated but possibly holding NUL bytes: *ret_size (may be NULL) is its length. */
const char *descartes_output_line_get_text(const DescartesOutputLine *l, size_t *ret_size);
bool descartes_output_line_get_truncated(const DescartesOutputLine *l);

size_t descartes_batch_result_get_size(const DescartesBatchResult *b);
const DescartesBatchItem *descartes_batch_result_get(const DescartesBatchResult *b, size_t i); /* borrowed */
uint64_t descartes_batch_result_get_ok_count(const DescartesBatchResult *b);
uint64_t descartes_batch_result_get_failed_count(const DescartesBatchResult *b);
const char *descartes_batch_item_get_agent(const DescartesBatchItem *i);
bool descartes_batch_item_get_ok(const DescartesBatchItem *i);
DescartesErrorCode descartes_batch_item_get_error_code(const DescartesBatchItem *i);
const char *descartes_batch_item_get_error_message(const DescartesBatchItem *i);

const char *descartes_health_get_version(const DescartesHealth *h);
uint32_t descartes_health_get_protocol(const DescartesHealth *h);
uint64_t descartes_health_get_uptime_s(const DescartesHealth *h);
uint64_t descartes_health_get_agents(const DescartesHealth *h, DescartesState state);
uint32_t descartes_health_get_host_cpus(const DescartesHealth *h);
uint64_t descartes_health_get_host_mem_total(const DescartesHealth *h);
uint64_t descartes_health_get_host_mem_available(const DescartesHealth *h);
/* The 1, 5 and 15 minute load averages; the out-pointers may be NULL. */
void descartes_health_get_host_load(const DescartesHealth *h, double *ret_load1, double *ret_load5,
                                    double *ret_load15);
const char *descartes_health_get_cgroup_root(const DescartesHealth *h);
char *const *descartes_health_get_cgroup_controllers(const DescartesHealth *h); /* NULL-terminated */

size_t descartes_stats_get_size(const DescartesStats *s);
/* The i-th counter's name and value in *ret_value; NULL past the end. */
const char *descartes_stats_get_entry(const DescartesStats *s, size_t i, int64_t *ret_value);
/* The value of the counter `name`: 0, or -ENOENT. */
int descartes_stats_get(const DescartesStats *s, const char *name, int64_t *ret);

/* The tenants a `tenants` reply lists (each an owner uid), by index 0 <= i < size. */
typedef enum DescartesQuota {
        DESCARTES_QUOTA_CPU_MILLICORES,
        DESCARTES_QUOTA_MEMORY, /* bytes */
        DESCARTES_QUOTA_SWAP,   /* bytes */
        DESCARTES_QUOTA_PIDS,
        DESCARTES_QUOTA_AGENTS, /* agents alive at once */
        _DESCARTES_QUOTA_MAX,
} DescartesQuota;

size_t descartes_tenants_get_size(const DescartesTenants *t);
uint32_t descartes_tenants_get_uid(const DescartesTenants *t, size_t i);
const char *descartes_tenants_get_user(const DescartesTenants *t, size_t i); /* NULL: no user name */
uint64_t descartes_tenants_get_agents(const DescartesTenants *t, size_t i);  /* alive */
/* What the tenant's agents use together; false while it has no cgroup. The out-pointers may be NULL. */
bool descartes_tenants_get_usage(const DescartesTenants *t, size_t i, uint64_t *ret_cpu_usec,
                                 uint64_t *ret_memory_current, uint64_t *ret_memory_peak,
                                 uint64_t *ret_pids_current);
/* One field of the tenant's quota; false: no quota there. */
bool descartes_tenants_get_quota(const DescartesTenants *t, size_t i, DescartesQuota q, uint64_t *ret);

/* The end of a command run by descartes_exec(). */
bool descartes_exec_get_exit_code(const DescartesExec *x, int *ret); /* it exited */
bool descartes_exec_get_signal(const DescartesExec *x, int *ret);    /* a signal ended it */
bool descartes_exec_get_timed_out(const DescartesExec *x);           /* killed at its timeout */
/* Its stdout (stream DESCARTES_STREAM_STDOUT) or stderr: the first DESCARTES_EXEC_OUTPUT_MAX bytes (size in
 * *ret_size), and in *ret_total (may be NULL) how many it wrote in all. */
const void *descartes_exec_get_output(const DescartesExec *x, DescartesStream stream, size_t *ret_size,
                                      uint64_t *ret_total);
uint64_t descartes_exec_get_duration_us(const DescartesExec *x);

/* ---- JSON: the protocol's own shapes (docs/protocol.md), compact, one value, no trailing newline ---- */

/* Each returns 0 and *ret (free() it), or -ENOMEM / -EINVAL. */
int descartes_agent_to_json(const DescartesAgent *a, char **ret);
int descartes_agent_list_to_json(const DescartesAgentList *l, char **ret); /* an array of agents */
int descartes_event_to_json(const DescartesEvent *e, char **ret);
int descartes_events_to_json(const DescartesEvents *r, char **ret);
int descartes_output_line_to_json(const DescartesOutputLine *l, char **ret);
int descartes_batch_result_to_json(const DescartesBatchResult *b, char **ret);
int descartes_health_to_json(const DescartesHealth *h, char **ret);
int descartes_stats_to_json(const DescartesStats *s, char **ret);
int descartes_tenants_to_json(const DescartesTenants *t, char **ret); /* {"tenants": [...]} */
int descartes_exec_to_json(const DescartesExec *x, char **ret);
/* Renders one msgpack value (an action result, event data) as JSON text. Strings and bin both become JSON
 * strings, invalid UTF-8 replaced by U+FFFD; non-string map keys are rendered as their JSON text. -EINVAL
 * when data is NULL or not exactly one valid msgpack object. */
int descartes_msgpack_to_json(const void *data, size_t size, char **ret);
/* The other way: one JSON value (at most 12 levels deep, 1 MiB as msgpack) as msgpack in *ret (free() it),
 * e.g. action params. -EBADMSG for text that is not one JSON value, -ELOOP too deep, -E2BIG too big. */
int descartes_json_to_msgpack(const char *json, void **ret, size_t *ret_size);

/* ---- client ---- */

/* Creates a client for the control endpoint: `endpoint` if not NULL, else $DESCARTES_HOST, else
 * DESCARTES_DEFAULT_CONTROL_ENDPOINT. Nothing is connected yet: the first request connects. -EINVAL for an
 * empty or over-long endpoint.
 *
 * The events endpoint (its getter and setter, $DESCARTES_EVENTS, DESCARTES_DEFAULT_EVENTS_ENDPOINT) is
 * obsolete: daemons since protocol 1's `subscribe` op have no event socket and subscriptions use the
 * control endpoint. The calls stay for the ABI; what they set is not used. */
int descartes_client_new(const char *endpoint, DescartesClient **ret);
/* Frees the client, closing its sockets at once (unsent requests are dropped). Returns NULL. */
DescartesClient *descartes_client_free(DescartesClient *c);
void descartes_client_freep(DescartesClient **c);

const char *descartes_client_get_endpoint(const DescartesClient *c);
const char *descartes_client_get_events_endpoint(const DescartesClient *c);
/* Overrides the events endpoint (NULL: back to the derived one). */
int descartes_client_set_events_endpoint(DescartesClient *c, const char *endpoint);

/* One timeout for every op (usec > 0), or 0 to go back to the per-op defaults. */
void descartes_client_set_timeout(DescartesClient *c, uint64_t usec);
/* The timeout of one op (usec > 0), or 0 for its default. -EINVAL for an invalid op. */
int descartes_client_set_op_timeout(DescartesClient *c, DescartesOp op, uint64_t usec);
/* The timeout a request of `op` gets now. */
uint64_t descartes_client_get_op_timeout(const DescartesClient *c, DescartesOp op);
/* Whether a silent request is sent again with the same id (default true; see Transport above). */
void descartes_client_set_retry(DescartesClient *c, bool retry);
/* The bound of the client's request queue (requests made and not yet answered, from every thread; default
 * DESCARTES_QUEUE_MAX_DEFAULT). max > 0, else -EINVAL. A request past it fails at once with -ENOBUFS
 * (kind local: nothing was sent). */
int descartes_client_set_queue_max(DescartesClient *c, size_t max);
size_t descartes_client_get_queue_max(DescartesClient *c);
/* The daemon's retry hint in the last reply this client got: when a request was answered busy by the
 * tenant's request rate limit, the milliseconds after which it will be taken (DescartesError has no room for
 * it). 0 when the last reply carried none. */
uint64_t descartes_client_get_retry_after_ms(const DescartesClient *c);

/* ---- remote daemons: tcp:// with CURVE ----
 *
 * A tcp endpoint is always encrypted and authenticated with CURVE (ZeroMQ RFC 26): the client needs the
 * daemon's public key and a key pair of its own whose public half the daemon's administrator has put in the
 * daemon's allow list, mapped to a tenant (descartesd(8), "Remote clients"). The daemon then treats the
 * client as that tenant. A key is 40 Z85 characters; a key file has "public-key = KEY" and (secret files)
 * "secret-key = KEY" lines, as descartes_curve_keygen() writes them.
 *
 * Without descartes_client_set_curve(), the first request to a tcp endpoint takes the server key from
 * $DESCARTES_SERVER_KEY and the client key file from $DESCARTES_CLIENT_KEY, else from
 * DESCARTES_DEFAULT_CLIENT_KEY below $XDG_CONFIG_HOME (or ~/.config) if it exists. A daemon that refuses the
 * client's key fails the request with -EACCES (kind ACCESS) instead of a timeout, and so does a wrong server
 * key (the daemon hangs up on three handshakes in a row; one hang-up alone may be a daemon restarting). */
#define DESCARTES_CURVE_KEY_LEN      40
#define DESCARTES_DEFAULT_CLIENT_KEY "descartes/client.key"

/* server_key: the daemon's public key (40 Z85 characters) or a file holding a "public-key = KEY" line;
 * client_key_file: the client's secret key file (no access for group or others). NULL (or "") takes each
 * from the environment as above. 0, or -EINVAL (no key, malformed key or file), -ENOENT, -EACCES
 * (unreadable, or a secret key file others may read) with *ret_err saying which; the keys then apply to the
 * next connection. */
int descartes_client_set_curve(DescartesClient *c, const char *server_key, const char *client_key_file,
                               DescartesError *ret_err);
/* Makes a new key pair and writes PREFIX.key (mode 0600: public-key and secret-key) and PREFIX.pub (mode
 * 0644: public-key), never replacing a file (-EEXIST). The public key goes into ret_public (41 bytes with
 * its NUL). NULL prefix: the default key below $XDG_CONFIG_HOME (or ~/.config), its directory made 0700. */
int descartes_curve_keygen(const char *prefix, char ret_public[DESCARTES_CURVE_KEY_LEN + 1],
                           DescartesError *ret_err);

/* ---- arguments (size-prefixed, append-only: see the ABI rule at the top) ---- */

/* String maps (labels, env) are NULL-terminated arrays of "KEY=VALUE"; a later KEY replaces an earlier. */

typedef struct DescartesListArgs {
        size_t size;
        bool all; /* include ended agents (exited, failed) */
        bool has_state;
        DescartesState state;
        const char *const *labels; /* every one must match */
        bool has_limit;
        uint64_t limit; /* 1..16384 */
        bool no_usage;  /* leave each agent's usage out: the daemon reads no cgroup files (a cheap list) */
} DescartesListArgs;
#define DESCARTES_LIST_ARGS_INIT                                                                            \
        {                                                                                                   \
                .size = sizeof(DescartesListArgs)                                                           \
        }

typedef struct DescartesSpawnArgs {
        size_t size;
        const char *const *argv; /* required; argv[0] non-empty */
        const char *const *env;  /* the agent's whole environment; nothing is inherited */
        const char *cwd;         /* optional, absolute */
        const char *workspace;   /* optional, absolute host directory mounted read-write */
        const char *name;        /* optional, unique among the daemon's agents */
        const char *const *labels;
        bool has_cpu;
        uint64_t cpu_millicores; /* 1000 = one CPU */
        bool has_memory;
        uint64_t memory; /* bytes */
        bool has_swap;
        uint64_t swap; /* bytes */
        bool has_pids;
        uint64_t pids;
        bool has_timeout_ms; /* maximum runtime, then stopped with reason timed_out */
        uint64_t timeout_ms;
        bool has_net;
        DescartesNet net;   /* default none */
        const char *policy; /* optional sandbox policy name */
        const char *user;   /* optional user name or uid */
        bool open_stdin;    /* keep a stdin pipe open for descartes_stdin() */
        /* Instead of argv: a command template of the daemon's config (backend.NAME in descartesd.conf)
         * filled with the values below; the daemon refuses a value its template has no place for, and
         * a missing one it needs. */
        const char *backend;
        const char *task;          /* {task} */
        const char *model;         /* {model} */
        const char *system_prompt; /* {system_prompt} */
        bool tty; /* a pseudo-terminal as the agent's stdio, for descartes_attach() (not with
                     open_stdin; descartes_stdin() then types into it) */
        /* A health check: health_cmd run inside the agent's sandbox (as descartes_exec()) every interval,
         * and/or the idle rule (no output for idle_timeout_ms). Unset fields take the daemon's defaults:
         * interval 30 s, timeout 5 s, 3 retries, on_unhealthy none. */
        const char *const *health_cmd; /* NULL: no command check */
        bool has_health_interval_ms;
        uint64_t health_interval_ms;
        bool has_health_timeout_ms;
        uint64_t health_timeout_ms;
        bool has_health_retries;
        uint64_t health_retries;
        bool has_idle_timeout_ms;
        uint64_t idle_timeout_ms;
        bool has_on_unhealthy;
        DescartesOnUnhealthy on_unhealthy;
} DescartesSpawnArgs;
#define DESCARTES_SPAWN_ARGS_INIT                                                                           \
        {                                                                                                   \
                .size = sizeof(DescartesSpawnArgs)                                                          \
        }

typedef struct DescartesOutputArgs {
        size_t size;
        const char *agent; /* required */
        bool has_stream;
        DescartesStream stream; /* default both */
        bool has_mode;
        DescartesOutputMode mode; /* default lines */
        bool has_offset;
        uint64_t offset; /* lines: matching lines to skip; raw: byte offset */
        bool has_limit;
        uint64_t limit; /* lines: max lines; raw: max bytes */
        bool has_tail;
        uint64_t tail;    /* the last N matching lines (or bytes) */
        const char *grep; /* optional PCRE2 pattern (lines mode) */
        bool has_since_ns;
        uint64_t since_ns;  /* only records with ts_ns >= since_ns */
        const char *cursor; /* optional: continue after a previous reply's cursor */
} DescartesOutputArgs;
#define DESCARTES_OUTPUT_ARGS_INIT                                                                          \
        {                                                                                                   \
                .size = sizeof(DescartesOutputArgs)                                                         \
        }

typedef struct DescartesActionArgs {
        size_t size;
        const char *agent;  /* required (ignored inside a batch) */
        const char *name;   /* required */
        const void *params; /* optional: one msgpack map */
        size_t params_size;
        bool has_timeout_ms;
        uint64_t timeout_ms;
} DescartesActionArgs;
#define DESCARTES_ACTION_ARGS_INIT                                                                          \
        {                                                                                                   \
                .size = sizeof(DescartesActionArgs)                                                         \
        }

typedef struct DescartesBatchArgs {
        size_t size;
        DescartesOp op;            /* required, descartes_op_batchable() */
        const char *const *agents; /* exactly one of agents (non-empty) and has_selector */
        bool has_selector;
        bool selector_has_state;
        DescartesState selector_state;
        const char *const *selector_labels;
        const char *selector_name_glob; /* optional fnmatch(3) pattern on names */
        bool fail_fast;
        bool has_grace_ms; /* op stop */
        uint64_t grace_ms;
        int signal;                        /* op signal */
        const DescartesActionArgs *action; /* op action (its agent is ignored) */
} DescartesBatchArgs;
#define DESCARTES_BATCH_ARGS_INIT                                                                           \
        {                                                                                                   \
                .size = sizeof(DescartesBatchArgs)                                                          \
        }

typedef struct DescartesExecArgs {
        size_t size;
        const char *agent;       /* required */
        const char *const *argv; /* required; argv[0] non-empty, looked up in the agent's PATH */
        const void *stdin_data;  /* optional: at most DESCARTES_EXEC_STDIN_MAX bytes, else /dev/null */
        size_t stdin_size;
        bool has_timeout_ms; /* default DESCARTES_EXEC_TIMEOUT_DEFAULT_MS; then it is killed */
        uint64_t timeout_ms;
} DescartesExecArgs;
#define DESCARTES_EXEC_ARGS_INIT                                                                            \
        {                                                                                                   \
                .size = sizeof(DescartesExecArgs)                                                           \
        }

/* ---- ops: one call per protocol op ---- */

/* health {} -> *ret. */
int descartes_health(DescartesClient *c, DescartesHealth **ret, DescartesError *ret_err);

/* list: args may be NULL (running agents, no filter). */
int descartes_list(DescartesClient *c, const DescartesListArgs *args, DescartesAgentList **ret,
                   DescartesError *ret_err);

/* get/pause/resume/kill/remove AGENT (an id or a unique name). ret may be NULL; else *ret is the agent's
 * record after the op. */
int descartes_get(DescartesClient *c, const char *agent, DescartesAgent **ret, DescartesError *ret_err);
int descartes_pause(DescartesClient *c, const char *agent, DescartesAgent **ret, DescartesError *ret_err);
int descartes_resume(DescartesClient *c, const char *agent, DescartesAgent **ret, DescartesError *ret_err);
int descartes_kill(DescartesClient *c, const char *agent, DescartesAgent **ret, DescartesError *ret_err);
int descartes_remove(DescartesClient *c, const char *agent, DescartesAgent **ret, DescartesError *ret_err);

/* wait: until the agent has ended (at once if it has), then its final record. Waits up to the op's timeout
 * (descartes_client_set_op_timeout(), default 30 s): the daemon then answers `timeout` (-ETIME) and the
 * agent goes on; call again to wait longer. */
int descartes_wait(DescartesClient *c, const char *agent, DescartesAgent **ret, DescartesError *ret_err);

/* stop: SIGTERM, then cgroup.kill after grace_ms; grace_ms < 0 takes the daemon's default. The request
 * timeout is the op's timeout plus the grace period. */
int descartes_stop(DescartesClient *c, const char *agent, int64_t grace_ms, DescartesAgent **ret,
                   DescartesError *ret_err);

/* signal: sends sig (1.._NSIG-1) to the agent. */
int descartes_signal(DescartesClient *c, const char *agent, int sig, DescartesAgent **ret,
                     DescartesError *ret_err);

/* spawn: args->argv is required; the agent's environment is args->env only. *ret (ret may be NULL) is the
 * new agent's record. */
int descartes_spawn(DescartesClient *c, const DescartesSpawnArgs *args, DescartesAgent **ret,
                    DescartesError *ret_err);

/* stdin: writes size bytes (at most DESCARTES_STDIN_DATA_MAX; data may be NULL when size is 0) to the
 * agent's stdin, then closes it if close_after. *ret_written (may be NULL) gets the bytes accepted. */
int descartes_stdin(DescartesClient *c, const char *agent, const void *data, size_t size, bool close_after,
                    uint64_t *ret_written, DescartesError *ret_err);

/* output: reads stored output. */
int descartes_output(DescartesClient *c, const DescartesOutputArgs *args, DescartesOutput **ret,
                     DescartesError *ret_err);

/* action: runs a custom action in the agent; *ret_result (may be NULL) is its msgpack result (free() it),
 * its size in *ret_size. */
int descartes_action(DescartesClient *c, const DescartesActionArgs *args, void **ret_result,
                     size_t *ret_size, DescartesError *ret_err);

/* exec: runs a command inside a running agent's sandbox (its namespaces, cgroup, uid and gid, no
 * capabilities, its seccomp filter, environment and working directory) and returns when it has ended, or
 * was killed at its timeout (the request's timeout is the op's plus timeout_ms). A paused or ended agent,
 * and one whose shim is too old, answer conflict (-EBUSY). */
int descartes_exec(DescartesClient *c, const DescartesExecArgs *args, DescartesExec **ret,
                   DescartesError *ret_err);

/* batch: one op over agents or a selector. */
int descartes_batch(DescartesClient *c, const DescartesBatchArgs *args, DescartesBatchResult **ret,
                    DescartesError *ret_err);

/* events: replays held events with seq >= since_seq (0: all held); limit 0 takes the daemon's default. */
int descartes_events(DescartesClient *c, uint64_t since_seq, uint64_t limit, DescartesEvents **ret,
                     DescartesError *ret_err);

/* stats: the daemon's counters and gauges. */
int descartes_stats(DescartesClient *c, DescartesStats **ret, DescartesError *ret_err);

/* metrics: the daemon's metrics in the Prometheus text exposition format (version 0.0.4), what the caller
 * may see (a tenant: its own agents and tenant, the host). *ret_text is NUL-terminated; free() it. */
int descartes_metrics(DescartesClient *c, char **ret_text, DescartesError *ret_err);

/* tenants: each tenant's agents and their use together against its quota (a tenant sees itself only). */
int descartes_tenants(DescartesClient *c, DescartesTenants **ret, DescartesError *ret_err);

/* shutdown (root and members of the daemon's admin group): the daemon exits; its agents keep running under
 * their shims (a restarted daemon re-adopts them) unless stop_agents, which stops them first (TERM, the
 * grace period, cgroup.kill). The reply comes before the daemon exits. */
int descartes_shutdown(DescartesClient *c, bool stop_agents, DescartesError *ret_err);

/* ---- event subscription ---- */

/* Subscribes to events (the subscribe op, on a connection of the subscription's own to the control
 * endpoint): every event the caller may see when agent is NULL, else that agent's (an id or a name,
 * resolved by the daemon as in every op). The daemon has answered when this returns, so every event
 * published after it is delivered; a refusal (not_found, limit_exceeded) is returned here.
 *
 * The subscription survives the daemon going away: when nothing (not even a heartbeat) has come for two
 * heartbeat periods, it subscribes again from just after the last seq it accounted for and drops what it
 * has delivered already, so that a daemon restart costs no event and repeats none. Events the daemon no
 * longer holds by then are reported as a gap (descartes_subscription_get_gap()). This needs next() to be
 * called: with the fd, call next() with timeout 0 at least once per heartbeat period. */
int descartes_subscribe(DescartesClient *c, const char *agent, DescartesSubscription **ret,
                        DescartesError *ret_err);
DescartesSubscription *descartes_subscription_free(DescartesSubscription *s);
void descartes_subscription_freep(DescartesSubscription **s);

/* Waits up to timeout_usec (0: do not wait, UINT64_MAX: forever) for the next event. Returns 1 and *ret,
 * or 0 on timeout. Events that do not decode are skipped and counted (descartes_subscription_get_dropped()).
 * -EINTR when a signal interrupted the wait; a daemon refusing to resubscribe (the agent is gone) is its
 * error. */
int descartes_subscription_next(DescartesSubscription *s, uint64_t timeout_usec, DescartesEvent **ret,
                                DescartesError *ret_err);

/* A pollable fd (ZMQ_FD, edge-triggered: after it polls readable, call next() with timeout 0 until it
 * returns 0). */
int descartes_subscription_get_fd(DescartesSubscription *s);
/* The highest seq delivered so far (0: none). */
uint64_t descartes_subscription_get_last_seq(const DescartesSubscription *s);
uint64_t descartes_subscription_get_dropped(const DescartesSubscription *s);
/* How often the subscription has subscribed again after a silence (the daemon restarted or was away). */
uint64_t descartes_subscription_get_resubscribed(const DescartesSubscription *s);

/* Whether events were lost just before the last event next() returned: the daemon says so when a
 * subscriber fell behind what it keeps (or a daemon restart outlasted it). Returns 1 with the missing range
 * [*ret_from, *ret_to] (some of it may be events the subscription would not have shown), 0 when there was
 * no loss. A subscription that may see only some events (a tenant's, one agent's) has seq holes that are
 * not losses: only this says what was lost. Either out-pointer may be NULL. */
int descartes_subscription_get_gap(const DescartesSubscription *s, uint64_t *ret_from, uint64_t *ret_to);
/* A test on two seqs of an unfiltered `events` replay: 1 and the missing range when seq is not last_seq + 1
 * (and last_seq != 0). */
int descartes_seq_gap(uint64_t last_seq, uint64_t seq, uint64_t *ret_from, uint64_t *ret_to);

/* ---- interactive sessions (attach) ---- */

typedef struct DescartesAttachment DescartesAttachment;

#define DESCARTES_ATTACH_INPUT_MAX      32768   /* bytes per descartes_attachment_write() request */
#define DESCARTES_ATTACH_REPLAY_MAX     1048576 /* DescartesAttachArgs.replay */
#define DESCARTES_ATTACH_REPLAY_DEFAULT 65536
#define DESCARTES_TTY_SIZE_MAX          4096 /* rows and columns */

typedef struct DescartesAttachArgs {
        size_t size;
        bool read_only; /* output only: no input, no resize */
        bool has_replay;
        uint64_t replay; /* bytes of the newest output shown first (default DESCARTES_ATTACH_REPLAY_DEFAULT)
                          */
        uint32_t rows;   /* the window size to set (0: leave it; not with read_only) */
        uint32_t cols;
        /* A command of exec on a terminal of its own, instead of the agent's terminal (any running agent,
         * with or without one): exec_argv (NULL-terminated, as DescartesExecArgs.argv) starts it in the
         * agent's sandbox and attaches to it from its start; exec_id (from
         * descartes_attachment_get_exec_id()) attaches to one started before. At most one of them. */
        const char *const *exec_argv;
        uint64_t exec_id;
} DescartesAttachArgs;
#define DESCARTES_ATTACH_ARGS_INIT                                                                          \
        {                                                                                                   \
                .size = sizeof(DescartesAttachArgs)                                                         \
        }

/* Joins the terminal of an agent spawned with tty (the attach op, on a connection of the attachment's own):
 * its recent output comes first, then what it writes. Several clients may be attached to one agent. An
 * agent without a terminal is `conflict`, another tenant's `not_found`. The attachment survives the daemon
 * going away: when nothing (not even a heartbeat) has come for two heartbeat periods, or the daemon says it
 * no longer knows this connection, it attaches again from just after the output it has delivered, so
 * nothing is repeated. */
int descartes_attach(DescartesClient *c, const char *agent, const DescartesAttachArgs *args,
                     DescartesAttachment **ret, DescartesError *ret_err);
/* Detaches (the agent goes on) and frees. */
DescartesAttachment *descartes_attachment_free(DescartesAttachment *a);
void descartes_attachment_freep(DescartesAttachment **a);

/* Waits up to timeout_usec (0: do not wait, UINT64_MAX: forever) for output. Returns 1 with *ret_data and
 * *ret_size (valid until the next call on a), 0 when none came, -EPIPE once the agent (or the command) has
 * ended (its last output was returned before), -EINTR when a signal interrupted the wait, or another -errno.
 */
int descartes_attachment_read(DescartesAttachment *a, uint64_t timeout_usec, const void **ret_data,
                              size_t *ret_size, DescartesError *ret_err);
/* Types data (at most DESCARTES_ATTACH_INPUT_MAX bytes) into the terminal; does not wait for the daemon's
 * answer (a refusal shows in a later read). */
int descartes_attachment_write(DescartesAttachment *a, const void *data, size_t size,
                               DescartesError *ret_err);
/* Sets the terminal's window size (1..DESCARTES_TTY_SIZE_MAX); the agent gets SIGWINCH. */
int descartes_attachment_resize(DescartesAttachment *a, uint32_t rows, uint32_t cols,
                                DescartesError *ret_err);
/* A pollable fd (ZMQ_FD, edge-triggered: after it polls readable, and after each write or resize, call
 * read() with timeout 0 until it returns 0). */
int descartes_attachment_get_fd(DescartesAttachment *a);
/* Output records the daemon no longer held when this attachment wanted them (it fell behind the log). */
uint64_t descartes_attachment_get_lost(const DescartesAttachment *a);
/* How often it attached again (the daemon restarted or was away). */
uint64_t descartes_attachment_get_reattached(const DescartesAttachment *a);
/* Attached to a command's terminal: its exec id under the agent (attach again with it), else 0. */
uint64_t descartes_attachment_get_exec_id(const DescartesAttachment *a);
/* Once the command's end was read (descartes_attachment_read() returned -EPIPE): 1 with its exit code in
 * *ret_exit_code (-1 when a signal ended it, or when it never started) and the signal in *ret_signal (0
 * when it exited); 0 when it did not end by itself (the agent ended with it, or it is not a command's
 * terminal). */
int descartes_attachment_get_exit(const DescartesAttachment *a, int *ret_exit_code, int *ret_signal);

#ifdef __cplusplus
}
#endif
