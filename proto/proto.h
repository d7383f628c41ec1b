/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Wire protocol v1: the typed message model and its msgpack encoding (docs/protocol.md is the reference).
 *
 * Ownership: every pointer in a model struct is owned by that struct (malloc'd; strings NUL-terminated) and
 * freed by its proto_*_done(), which also zeroes the struct, so `_cleanup_(proto_request_done) ProtoRequest
 * r = {};` is the usual form. Encoders only read: a struct filled with borrowed pointers may be encoded and
 * then simply dropped, never passed to a _done().
 *
 * Optional fields: strings and blobs are absent when NULL; scalars and enums have a has_FOO flag; optional
 * arrays and maps are absent when empty (an empty one and an absent one mean the same and encode as absent).
 *
 * Decoders: proto_*_decode() never trust the input: they pre-scan the raw bytes (bounded depth, counts
 * checked against the bytes left, object count bounded) before msgpack unpacks anything, check every type
 * and bound, reject trailing bytes, and ignore unknown keys. On failure they return < 0, leave *ret zeroed
 * and fill *ret_err (may be NULL): -EBADMSG (bad_request), -EPROTONOSUPPORT (unsupported_version),
 * -EOPNOTSUPP (unknown_op), -ENOMEM (internal). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto-error.h"
#include "proto-limits.h"

typedef enum ProtoOp {
        PROTO_OP_HEALTH,
        PROTO_OP_LIST,
        PROTO_OP_GET,
        PROTO_OP_SPAWN,
        PROTO_OP_PAUSE,
        PROTO_OP_RESUME,
        PROTO_OP_STOP,
        PROTO_OP_KILL,
        PROTO_OP_SIGNAL,
        PROTO_OP_STDIN,
        PROTO_OP_OUTPUT,
        PROTO_OP_ACTION,
        PROTO_OP_BATCH,
        PROTO_OP_EVENTS,
        PROTO_OP_REMOVE,
        PROTO_OP_STATS,
        PROTO_OP_SHUTDOWN,
        PROTO_OP_WAIT,
        PROTO_OP_TENANTS,
        PROTO_OP_SUBSCRIBE,
        PROTO_OP_UNSUBSCRIBE,
        PROTO_OP_EXEC,
        PROTO_OP_ATTACH,
        PROTO_OP_ATTACH_INPUT,
        PROTO_OP_ATTACH_RESIZE,
        PROTO_OP_DETACH,
        PROTO_OP_METRICS,
        _PROTO_OP_MAX,
        _PROTO_OP_INVALID = -EINVAL,
} ProtoOp;

typedef enum ProtoState {
        PROTO_STATE_STARTING,
        PROTO_STATE_RUNNING,
        PROTO_STATE_PAUSING,
        PROTO_STATE_PAUSED,
        PROTO_STATE_RESUMING,
        PROTO_STATE_STOPPING,
        PROTO_STATE_EXITED,
        PROTO_STATE_FAILED,
        _PROTO_STATE_MAX,
        _PROTO_STATE_INVALID = -EINVAL,
} ProtoState;

/* Why an agent ended (INFO.reason, set in states exited and failed). */
typedef enum ProtoReason {
        PROTO_REASON_COMPLETED,    /* exited by itself; exit_code holds the code */
        PROTO_REASON_SIGNALED,     /* killed by a signal not sent by us; signal holds it */
        PROTO_REASON_OOM_KILLED,   /* memory.events oom_kill */
        PROTO_REASON_PIDS_LIMIT,   /* pids.max hit and the agent died of it */
        PROTO_REASON_TIMED_OUT,    /* spawn.timeout_ms passed */
        PROTO_REASON_STOPPED,      /* by a stop request */
        PROTO_REASON_KILLED,       /* by a kill request */
        PROTO_REASON_LOST,         /* vanished while the daemon was away */
        PROTO_REASON_SPAWN_FAILED, /* never started (state failed) */
        _PROTO_REASON_MAX,
        _PROTO_REASON_INVALID = -EINVAL,
} ProtoReason;

typedef enum ProtoEventKind {
        PROTO_EVENT_STATUS_CHANGED,
        PROTO_EVENT_OUTPUT,
        PROTO_EVENT_ERROR,
        PROTO_EVENT_EXITED,
        PROTO_EVENT_HEARTBEAT,
        PROTO_EVENT_LIMIT_HIT,
        PROTO_EVENT_HEALTH_CHANGED,
        _PROTO_EVENT_KIND_MAX,
        _PROTO_EVENT_KIND_INVALID = -EINVAL,
} ProtoEventKind;

typedef enum ProtoStream {
        PROTO_STREAM_STDOUT,
        PROTO_STREAM_STDERR,
        PROTO_STREAM_BOTH, /* only in output requests */
        _PROTO_STREAM_MAX,
        _PROTO_STREAM_INVALID = -EINVAL,
} ProtoStream;

typedef enum ProtoOutputMode {
        PROTO_OUTPUT_LINES,
        PROTO_OUTPUT_RAW,
        _PROTO_OUTPUT_MODE_MAX,
        _PROTO_OUTPUT_MODE_INVALID = -EINVAL,
} ProtoOutputMode;

typedef enum ProtoNet {
        PROTO_NET_NONE,
        PROTO_NET_HOST,
        _PROTO_NET_MAX,
        _PROTO_NET_INVALID = -EINVAL,
} ProtoNet;

/* An agent's health (INFO.health), with a health check. */
typedef enum ProtoHealth {
        PROTO_HEALTH_STARTING,  /* no verdict yet */
        PROTO_HEALTH_HEALTHY,   /* its last check passed (and it is not idle) */
        PROTO_HEALTH_UNHEALTHY, /* its check failed `retries` times in a row, or it is idle */
        _PROTO_HEALTH_MAX,
        _PROTO_HEALTH_INVALID = -EINVAL,
} ProtoHealth;

/* What the daemon does to an agent that turns unhealthy. */
typedef enum ProtoOnUnhealthy {
        PROTO_ON_UNHEALTHY_NONE,
        PROTO_ON_UNHEALTHY_STOP,
        PROTO_ON_UNHEALTHY_KILL,
        _PROTO_ON_UNHEALTHY_MAX,
        _PROTO_ON_UNHEALTHY_INVALID = -EINVAL,
} ProtoOnUnhealthy;

const char *proto_op_to_string(ProtoOp op);
ProtoOp proto_op_from_string(const char *s);
const char *proto_state_to_string(ProtoState s);
ProtoState proto_state_from_string(const char *s);
const char *proto_reason_to_string(ProtoReason r);
ProtoReason proto_reason_from_string(const char *s);
const char *proto_event_kind_to_string(ProtoEventKind k);
ProtoEventKind proto_event_kind_from_string(const char *s);
const char *proto_stream_to_string(ProtoStream s);
ProtoStream proto_stream_from_string(const char *s);
const char *proto_output_mode_to_string(ProtoOutputMode m);
ProtoOutputMode proto_output_mode_from_string(const char *s);
const char *proto_net_to_string(ProtoNet n);
ProtoNet proto_net_from_string(const char *s);
const char *proto_health_to_string(ProtoHealth h);
ProtoHealth proto_health_from_string(const char *s);
const char *proto_on_unhealthy_to_string(ProtoOnUnhealthy o);
ProtoOnUnhealthy proto_on_unhealthy_from_string(const char *s);

/* Signal numbers on the wire are ints; requests may also name them: "TERM", "SIGTERM" (case-insensitive).
 * Returns 1.._NSIG-1 or -EINVAL. */
int proto_signal_from_string(const char *s);
/* True if `op` may be the op of a batch (its registry row says so). */
bool proto_op_batchable(ProtoOp op);

/* The op registry (proto-ops.c): what differs between ops besides the shape of their args and results. */
typedef enum ProtoTimeoutClass {
        PROTO_TIMEOUT_SHORT, /* answered from the daemon's own state */
        PROTO_TIMEOUT_LONG,  /* waits for the kernel or the agent */
} ProtoTimeoutClass;

/* A message's field table (proto-type.h): drives its encoding, decoding, freeing and JSON rendering. */
typedef struct ProtoType ProtoType;

typedef struct ProtoOpInfo {
        const char *name;            /* the wire name */
        bool per_agent;              /* the args name one agent (args.agent) */
        bool batchable;              /* may be the op of a batch */
        bool replies_info;           /* the result is {agent: INFO} */
        bool parks;                  /* the daemon may hold the call until the kernel or the agent answers */
        bool admin_only;             /* root and the admin group only */
        bool changes_state;          /* the daemon audits it (a batch: when its op does) */
        bool per_connection;         /* acts on the connection it came on (subscribe): never answered from
                                        the reply cache, a repeated id runs again */
        ProtoTimeoutClass timeout;   /* the client's default timeout */
        const ProtoType *args;       /* ProtoRequest.args as this op's struct (the union member, offset 0) */
        const ProtoType *result;     /* ProtoReply.result likewise */
        const ProtoType *batch_args; /* its args inside a batch (without agent); NULL: it takes none there */
} ProtoOpInfo;

/* The registry row of op, or NULL for an invalid op. */
const ProtoOpInfo *proto_op_info(ProtoOp op);

/* ---- building blocks ---- */

/* One validated msgpack object, kept as its encoded bytes and re-emitted verbatim (action params and result,
 * event data). Absent when data == NULL. */
typedef struct ProtoValue {
        uint8_t *data;
        size_t size;
} ProtoValue;

/* Arbitrary bytes (msgpack bin). Absent when data == NULL; present-but-empty has data != NULL, size 0. */
typedef struct ProtoBytes {
        uint8_t *data;
        size_t size;
} ProtoBytes;

typedef struct ProtoStrPair {
        char *key;
        char *value;
} ProtoStrPair;

/* A string -> string map (env, labels). Keys are unique (decoders reject duplicates); order is kept. */
typedef struct ProtoStrMap {
        ProtoStrPair *pairs;
        size_t n_pairs;
} ProtoStrMap;

/* Resource limits; each absent one means "no limit" (or the policy default in a spawn request). */
typedef struct ProtoLimits {
        bool has_cpu;
        uint64_t cpu_millicores; /* wire: cpu_millicores; 1000 = one full CPU, 1500 = one and a half */
        bool has_memory;
        uint64_t memory; /* bytes, memory.max */
        bool has_swap;
        uint64_t swap; /* bytes, memory.swap.max */
        bool has_pids;
        uint64_t pids; /* pids.max */
} ProtoLimits;

typedef struct ProtoUsage {
        uint64_t cpu_usec;       /* cpu.stat usage_usec */
        uint64_t memory_current; /* bytes */
        uint64_t memory_peak;    /* bytes */
        uint64_t pids_current;
} ProtoUsage;

/* A health check (spawn.health_check, INFO.health_check): a command run as `exec` every interval, and/or
 * the idle rule (no output for idle_timeout_ms). The daemon fills the defaults into INFO's copy. */
typedef struct ProtoHealthCheck {
        char **cmd; /* optional, as exec's argv */
        size_t n_cmd;
        bool has_interval_ms;
        uint64_t interval_ms; /* default PROTO_HEALTH_INTERVAL_DEFAULT_MS */
        bool has_timeout_ms;
        uint64_t timeout_ms; /* of one check; default PROTO_HEALTH_TIMEOUT_DEFAULT_MS */
        bool has_retries;
        uint64_t
                retries; /* failures in a row that make it unhealthy; default PROTO_HEALTH_RETRIES_DEFAULT */
        bool has_idle_timeout_ms;
        uint64_t idle_timeout_ms; /* no output for this long: unhealthy */
        bool has_on_unhealthy;
        ProtoOnUnhealthy on_unhealthy; /* default none */
} ProtoHealthCheck;

/* The last health verdict's grounds (INFO.health_last). */
typedef struct ProtoHealthLast {
        uint64_t ts_ns; /* when the last check ended (or the idle rule fired) */
        bool has_exit_code;
        int exit_code;
        bool timed_out;
        ProtoBytes output; /* the check's stdout then stderr, at most PROTO_HEALTH_OUTPUT_MAX bytes */
        uint64_t failures; /* checks failed in a row */
        char *reason;      /* why it is unhealthy, when it is */
} ProtoHealthLast;

/* INFO */
typedef struct ProtoAgentInfo {
        char *id;   /* required: UUID */
        char *name; /* optional */
        ProtoState state;
        bool has_reason;
        ProtoReason reason;
        bool has_exit_code;
        int exit_code;
        bool has_signal;
        int signal;
        uint32_t owner_uid;
        ProtoStrMap labels; /* always encoded, may be empty */
        char **argv;        /* required, NULL-terminated, n_argv >= 1 */
        size_t n_argv;
        uint64_t created_ns; /* CLOCK_REALTIME */
        bool has_started_ns;
        uint64_t started_ns;
        bool has_ended_ns;
        uint64_t ended_ns;
        bool has_spawn_us; /* microseconds from the spawn request to the agent's execve */
        uint64_t spawn_us;
        bool has_pid;
        int pid;      /* the agent in the host pid namespace */
        char *cgroup; /* optional: path of the agent's cgroup in the cgroup2 mount */
        ProtoLimits limits;
        bool has_usage;
        ProtoUsage usage;
        bool has_uid; /* the uid and gid the agent runs as (absent in records of older daemons) */
        uint32_t uid;
        bool has_gid;
        uint32_t gid;
        bool tty;              /* spawned with a terminal (spawn's tty): `attach` joins it */
        bool has_health_check; /* the agent has a health check: its settings */
        ProtoHealthCheck health_check;
        bool has_health;
        ProtoHealth health;
        bool has_health_last;
        ProtoHealthLast health_last;
} ProtoAgentInfo;

typedef struct ProtoEvent {
        uint64_t seq;   /* monotonic per daemon, starts at 1 */
        uint64_t ts_ns; /* CLOCK_REALTIME */
        ProtoEventKind kind;
        char *agent; /* optional: the agent id; NULL for host events */
        bool has_state;
        ProtoState state;
        bool has_reason;
        ProtoReason reason;
        ProtoValue data; /* optional: a map */
        /* never on the wire: the uid owning `agent`, kept by the daemon with the event (ring, log) to
         * decide who may see it; false for host events and for agent events of old logs */
        bool has_owner;
        uint32_t owner_uid;
} ProtoEvent;

/* ---- event data (ProtoEvent.data), typed per kind; status_changed carries none ---- */

typedef struct ProtoOutputData { /* output: new records were logged */
        uint64_t seq_first;
        uint64_t seq_last;
        uint64_t bytes; /* since the previous output event */
        uint64_t stdout_bytes;
        uint64_t stderr_bytes;
        uint64_t dropped_bytes;
} ProtoOutputData;

typedef struct ProtoErrorData { /* error */
        char *msg;
} ProtoErrorData;

typedef struct ProtoExitedData { /* exited */
        bool has_exit_code;
        int exit_code;
        bool has_signal;
        int signal;
        bool has_cpu_usec;
        uint64_t cpu_usec;
        bool has_memory_peak;
        uint64_t memory_peak;
} ProtoExitedData;

typedef struct ProtoHeartbeatData { /* heartbeat: host facts only, every subscriber gets it */
        uint64_t uptime_s;
        uint32_t cpus;
        uint64_t mem_total;
        uint64_t mem_available;
        double load1;
} ProtoHeartbeatData;

typedef struct ProtoLimitHitData { /* limit_hit */
        char *limit;               /* which limit: its name in the daemon's limit table */
        uint64_t count;
} ProtoLimitHitData;

typedef struct ProtoHealthChangedData { /* health_changed */
        ProtoHealth health;
        bool has_previous;
        ProtoHealth previous;
        char *reason; /* optional: why it is unhealthy */
} ProtoHealthChangedData;

typedef union ProtoEventData {
        ProtoOutputData output;
        ProtoErrorData error;
        ProtoExitedData exited;
        ProtoHeartbeatData heartbeat;
        ProtoLimitHitData limit_hit;
        ProtoHealthChangedData health_changed;
} ProtoEventData;

/* The data of an event of `kind` as a ProtoValue (-EINVAL for a kind without data, -E2BIG past
 * PROTO_VALUE_MAX), and back (unknown keys ignored, absent ones left zero; -EBADMSG with e filled). */
int proto_event_data_encode(ProtoEventKind kind, const ProtoEventData *d, ProtoValue *ret);
int proto_event_data_decode(ProtoEventKind kind, const ProtoValue *v, ProtoEventData *ret,
                            ProtoError *ret_err);
void proto_event_data_done(ProtoEventKind kind, ProtoEventData *d);

/* ---- request arguments, one struct per op ---- */

typedef struct ProtoListArgs {
        bool has_state;
        ProtoState state;
        ProtoStrMap labels; /* every pair must match */
        bool has_limit;
        uint64_t limit; /* 1..PROTO_AGENTS_MAX */
        bool all;       /* include ended agents (exited, failed) */
        bool has_usage;
        bool usage; /* absent: true; false leaves INFO's usage out (no cgroup reads per agent) */
} ProtoListArgs;

/* get, pause, resume, kill, remove */
typedef struct ProtoAgentArgs {
        char *agent; /* required */
} ProtoAgentArgs;

/* spawn.backend: a command template of the daemon's config (backend.NAME) filled with these values. */
typedef struct ProtoBackendRef {
        char *name;          /* required */
        char *task;          /* optional: {task} */
        char *model;         /* optional: {model} */
        char *system_prompt; /* optional: {system_prompt} */
} ProtoBackendRef;

typedef struct ProtoSpawnArgs {
        char **argv; /* argv or backend (one of them): NULL-terminated, 1..PROTO_ARGV_MAX entries, argv[0]
                        non-empty */
        size_t n_argv;
        ProtoStrMap env; /* the agent's whole environment; nothing is inherited */
        char *cwd;       /* optional, absolute */
        char *workspace; /* optional, absolute host directory mounted read-write */
        char *name;      /* optional, unique among the daemon's agents */
        ProtoStrMap labels;
        ProtoLimits limits;
        bool has_timeout_ms; /* max runtime; then stop, reason timed_out */
        uint64_t timeout_ms;
        bool has_net;
        ProtoNet net;    /* default none */
        char *policy;    /* optional: seccomp/sandbox policy name */
        char *user;      /* optional: user name or numeric uid to run as */
        bool open_stdin; /* wire: stdin; keep a stdin pipe open for the stdin op */
        bool has_backend;
        ProtoBackendRef backend; /* argv or backend: the daemon makes argv from it */
        bool tty; /* a pseudo-terminal held by the shim as the agent's stdio (excludes stdin) */
        bool has_health_check;
        ProtoHealthCheck health_check; /* a cmd or an idle_timeout_ms at least */
} ProtoSpawnArgs;

typedef struct ProtoStopArgs {
        char *agent; /* required (NULL inside batch) */
        bool has_grace_ms;
        uint64_t grace_ms;
} ProtoStopArgs;

/* wait: the reply comes once the agent has ended (at once if it has), or `timeout` after timeout_ms. The
 * default stays under a client's default timeout of a long op (30 s). */
#define PROTO_WAIT_DEFAULT_MS 25000
typedef struct ProtoWaitArgs {
        char *agent; /* required */
        bool has_timeout_ms;
        uint64_t timeout_ms; /* default PROTO_WAIT_DEFAULT_MS */
} ProtoWaitArgs;

typedef struct ProtoSignalArgs {
        char *agent; /* required (NULL inside batch) */
        int signal;  /* required: 1.._NSIG-1; the wire carries an int or a name */
} ProtoSignalArgs;

typedef struct ProtoStdinArgs {
        char *agent;     /* required */
        ProtoBytes data; /* optional, <= PROTO_STDIN_DATA_MAX */
        bool close;      /* close the agent's stdin after writing */
} ProtoStdinArgs;

typedef struct ProtoOutputArgs {
        char *agent; /* required */
        bool has_stream;
        ProtoStream stream; /* default both */
        bool has_mode;
        ProtoOutputMode mode; /* default lines */
        bool has_offset;
        uint64_t offset; /* lines: matching lines to skip; raw: byte offset */
        bool has_limit;
        uint64_t limit; /* lines: max lines; raw: max bytes */
        bool has_tail;
        uint64_t tail; /* the last N matching lines (or bytes) */
        char *grep;    /* optional PCRE2 pattern (lines mode) */
        bool has_since_ns;
        uint64_t since_ns; /* only records with ts_ns >= since_ns */
        char *cursor;      /* optional: continue after a previous reply's cursor */
} ProtoOutputArgs;

typedef struct ProtoActionArgs {
        char *agent;       /* required (NULL inside batch) */
        char *name;        /* required */
        ProtoValue params; /* optional: a map */
        bool has_timeout_ms;
        uint64_t timeout_ms;
} ProtoActionArgs;

typedef struct ProtoSelector {
        bool has_state;
        ProtoState state;
        ProtoStrMap labels;
        char *name_glob; /* optional fnmatch(3) pattern on names */
} ProtoSelector;

typedef struct ProtoBatchArgs {
        ProtoOp op;    /* required, proto_op_batchable() */
        char **agents; /* exactly one of agents (NULL-terminated, non-empty) and selector */
        size_t n_agents;
        bool has_selector;
        ProtoSelector selector;
        bool fail_fast;
        union { /* args of `op`, without their agent; unused for get/pause/resume/kill/remove */
                ProtoStopArgs stop;
                ProtoSignalArgs signal;
                ProtoActionArgs action;
        } args;
} ProtoBatchArgs;

typedef struct ProtoEventsArgs {
        uint64_t since_seq; /* default 0: everything still held */
        bool has_limit;
        uint64_t limit; /* 1..PROTO_EVENTS_MAX */
} ProtoEventsArgs;

/* subscribe: events pushed on this connection; replaces the connection's subscription if it has one */
typedef struct ProtoSubscribeArgs {
        bool has_since_seq;
        uint64_t since_seq; /* replay from here first (events still held), then live; absent: live only */
        char *agent;        /* optional: only this agent's events (and host events) */
} ProtoSubscribeArgs;

/* exec: a command in the agent's sandbox; the reply comes when it has ended (or was killed at its timeout)
 */
typedef struct ProtoExecArgs {
        char *agent; /* required */
        char **argv; /* required, 1..PROTO_EXEC_ARGV_MAX entries, argv[0] non-empty */
        size_t n_argv;
        ProtoBytes input; /* wire: stdin; optional, <= PROTO_EXEC_STDIN_MAX; else /dev/null */
        bool has_timeout_ms;
        uint64_t timeout_ms; /* default PROTO_EXEC_TIMEOUT_DEFAULT_MS, max PROTO_EXEC_TIMEOUT_MAX_MS */
} ProtoExecArgs;
/* attach: joins the terminal of an agent spawned with tty, on this connection (one attachment per
 * connection): its output is pushed, attach_input and attach_resize act on it, detach ends it. */
typedef struct ProtoAttachArgs {
        char *agent; /* required */
        bool read_only;
        bool has_replay;
        uint64_t replay; /* bytes of recent output pushed first (default PROTO_ATTACH_REPLAY_DEFAULT) */
        bool has_since_seq;
        uint64_t since_seq; /* instead of replay: the output records from this seq on (a re-attach) */
        bool has_rows;      /* the window size to set (with cols; not read_only) */
        uint32_t rows;
        bool has_cols;
        uint32_t cols;
        /* a command of exec on a terminal of its own instead of the agent's terminal: */
        char **exec_argv; /* start this command (as exec's argv) and attach to its terminal */
        size_t n_exec_argv;
        bool has_exec_id;
        uint64_t exec_id; /* attach to the terminal of this command, started before */
} ProtoAttachArgs;

typedef struct ProtoAttachInputArgs {
        ProtoBytes data; /* required, 1..PROTO_ATTACH_INPUT_MAX bytes */
} ProtoAttachInputArgs;

typedef struct ProtoAttachResizeArgs {
        uint32_t rows; /* required, 1..PROTO_TTY_SIZE_MAX */
        uint32_t cols;
} ProtoAttachResizeArgs;

/* shutdown (admins only): the daemon exits; its agents keep running unless stop_agents. */
typedef struct ProtoShutdownArgs {
        bool stop_agents; /* stop every agent (TERM, grace, cgroup.kill) before exiting */
} ProtoShutdownArgs;

typedef struct ProtoRequest {
        uint32_t v; /* decode: always PROTO_VERSION; encode: 0 means PROTO_VERSION */
        char *id;   /* required, 1..PROTO_ID_MAX bytes */
        ProtoOp op;
        union { /* by op; health and stats take no arguments */
                ProtoListArgs list;
                ProtoAgentArgs agent; /* get, pause, resume, kill, remove */
                ProtoSpawnArgs spawn;
                ProtoStopArgs stop;
                ProtoSignalArgs signal;
                ProtoStdinArgs input; /* op stdin */
                ProtoOutputArgs output;
                ProtoActionArgs action;
                ProtoBatchArgs batch;
                ProtoEventsArgs events;
                ProtoShutdownArgs shutdown;
                ProtoWaitArgs wait;
                ProtoSubscribeArgs subscribe;
                ProtoExecArgs exec;
                ProtoAttachArgs attach;
                ProtoAttachInputArgs attach_input;
                ProtoAttachResizeArgs attach_resize;
        } args;
} ProtoRequest;

/* ---- reply results, one struct per op ---- */

typedef struct ProtoHostInfo {
        uint32_t cpus;
        uint64_t mem_total;     /* bytes */
        uint64_t mem_available; /* bytes */
        double load1;
        double load5;
        double load15;
} ProtoHostInfo;

typedef struct ProtoHealthResult {
        char *version; /* daemon version, e.g. "0.1.0" */
        uint32_t protocol;
        uint64_t uptime_s;
        uint64_t agents[_PROTO_STATE_MAX]; /* agents per state; wire: agents{STATE: n} with every state */
        ProtoHostInfo host;
        char *cgroup_root;         /* wire: cgroup.root */
        char **cgroup_controllers; /* wire: cgroup.controllers; NULL-terminated, may be empty */
        size_t n_cgroup_controllers;
} ProtoHealthResult;

typedef struct ProtoListResult {
        ProtoAgentInfo *agents;
        size_t n_agents;
} ProtoListResult;

/* get, spawn, pause, resume, stop, kill, signal, remove */
typedef struct ProtoAgentResult {
        ProtoAgentInfo agent;
} ProtoAgentResult;

typedef struct ProtoStdinResult {
        uint64_t written; /* bytes accepted */
} ProtoStdinResult;

typedef struct ProtoOutputLine {
        uint64_t seq;
        uint64_t ts_ns;
        ProtoStream stream; /* stdout or stderr */
        char *text;         /* NUL-terminated, but may also hold NUL bytes: text_size is the length */
        size_t text_size;
        bool truncated; /* the line was longer than PROTO_OUTPUT_LINE_MAX: text holds its start */
} ProtoOutputLine;

typedef struct ProtoOutputResult {
        ProtoOutputMode mode; /* lines: `lines` is set; raw: `data` is set */
        ProtoOutputLine *lines;
        size_t n_lines;
        ProtoBytes data;
        uint64_t total; /* matching lines (lines mode) or bytes held (raw mode); a lower bound if partial */
        bool has_more;
        bool partial;     /* the scan stopped at the daemon's work budget; has_more is then true */
        char *cursor;     /* optional: pass back as args.cursor to continue */
        uint64_t dropped; /* bytes the per-agent cap has dropped so far, oldest first */
} ProtoOutputResult;

typedef struct ProtoActionResult {
        ProtoValue result; /* required: any value (nil included) */
} ProtoActionResult;

typedef struct ProtoExecResult {
        bool has_exit_code; /* it exited: its code */
        int exit_code;
        bool has_signal; /* it was killed by a signal (SIGKILL at its timeout) */
        int signal;
        bool timed_out;        /* killed at timeout_ms */
        ProtoBytes out;        /* wire: stdout; its first PROTO_EXEC_OUTPUT_MAX bytes */
        ProtoBytes err;        /* wire: stderr; likewise */
        uint64_t stdout_bytes; /* written in all (more than `stdout` holds when it was cut) */
        uint64_t stderr_bytes;
        uint64_t duration_us; /* from the request to the reply's making */
} ProtoExecResult;

typedef struct ProtoBatchItem {
        char *agent; /* the agent id (or the reference given, if it named no agent) */
        bool ok;
        ProtoErrorCode error_code; /* when !ok */
        char *error_msg;           /* when !ok */
} ProtoBatchItem;

typedef struct ProtoBatchResult {
        ProtoBatchItem *results;
        size_t n_results;
        uint64_t ok_count;
        uint64_t failed_count;
} ProtoBatchResult;

typedef struct ProtoEventsResult {
        ProtoEvent *events;
        size_t n_events;
        uint64_t next_seq;   /* pass as since_seq next time */
        uint64_t oldest_seq; /* the oldest seq still held (0: none held) */
        bool has_last_seq;
        uint64_t last_seq; /* the newest seq published so far (0: none), for a subscriber joining late */
        bool filtered;     /* events the caller may not see were left out (a non-admin caller) */
} ProtoEventsResult;

/* tenants: each tenant (an owner uid) with its agents' use together against its quota */
typedef struct ProtoTenantQuota { /* an absent field: no quota */
        bool has_cpu;
        uint64_t cpu_millicores; /* cpu.max of the tenant's cgroup */
        bool has_memory;
        uint64_t memory; /* bytes, memory.max */
        bool has_swap;
        uint64_t swap; /* bytes, memory.swap.max */
        bool has_pids;
        uint64_t pids; /* pids.max */
        bool has_agents;
        uint64_t agents; /* agents alive at once */
} ProtoTenantQuota;

typedef struct ProtoTenant {
        uint32_t uid;
        char *user;       /* optional: the user name */
        uint64_t agents;  /* agents alive (not ended) */
        bool has_usage;   /* absent while the tenant has no cgroup (no agent alive) */
        ProtoUsage usage; /* of the tenant's cgroup; 0 where a controller is missing */
        ProtoTenantQuota quota;
} ProtoTenant;

typedef struct ProtoTenantsResult {
        ProtoTenant *tenants;
        size_t n_tenants;
} ProtoTenantsResult;
typedef struct ProtoSubscribeResult {
        uint64_t last_seq;     /* the newest seq published when the subscription began (0: none) */
        uint64_t oldest_seq;   /* the oldest seq still held (0: none) */
        bool filtered;         /* others' events are left out (a non-admin caller, or an agent filter) */
        uint64_t heartbeat_ms; /* the daemon's heartbeat period (0: none): silence for two means trouble */
} ProtoSubscribeResult;

/* What the daemon pushes on a subscribed connection, after the subscribe reply: {v, sub, prev_seq, event}
 * or {v, sub, prev_seq, lost: {from, to}}. Told apart from a reply by `sub` (a reply has `ok`). */
typedef struct ProtoLostRange {
        uint64_t from, to; /* events from..to (inclusive) are gone: retention passed them */
} ProtoLostRange;

typedef struct ProtoAttachResult {
        uint64_t seq;          /* the last output record accounted for: pushes continue after it */
        uint64_t heartbeat_ms; /* an empty output push comes at least this often (0: none) */
        bool has_exec_id;      /* attached to a command of exec: its id under the agent */
        uint64_t exec_id;
} ProtoAttachResult;

/* An attachment's pushes: {v, sub, prev_seq, output: {seq, data}} (terminal output, the records up to seq),
 * {v, sub, prev_seq, lost: {from, to}} (records the log no longer holds) and {v, sub, prev_seq, closed:
 * {reason}} (the last one: the agent ended). Here `sub` is the attach request's id, and seqs are output
 * record seqs. */
typedef struct ProtoAttachOutput {
        uint64_t seq;    /* the last record whose bytes data ends with (prev_seq: nothing new) */
        ProtoBytes data; /* required, may be empty (a heartbeat) */
} ProtoAttachOutput;

typedef struct ProtoAttachClosed {
        char *reason; /* "ended": the agent ended; "exited": the command of exec ended (its code or signal)
                       */
        bool has_exit_code;
        int exit_code;
        bool has_signal;
        int signal;
} ProtoAttachClosed;

typedef struct ProtoPush {
        uint32_t v;        /* decode: always PROTO_VERSION; encode: 0 means PROTO_VERSION */
        char *sub;         /* the subscribe (or attach) request's id */
        uint64_t prev_seq; /* every seq between prev_seq and this message's seq is not for this subscription
                            */
        bool has_event;
        ProtoEvent event;
        bool has_lost;
        ProtoLostRange lost;
        bool has_output; /* attachments only, as has_closed */
        ProtoAttachOutput output;
        bool has_closed;
        ProtoAttachClosed closed;
} ProtoPush;

typedef struct ProtoStat {
        char *name;
        int64_t value;
} ProtoStat;

typedef struct ProtoStatsResult {
        ProtoStat *stats;
        size_t n_stats;
} ProtoStatsResult;

/* metrics: the Prometheus text exposition format (version 0.0.4), at most PROTO_METRICS_TEXT_MAX bytes */
typedef struct ProtoMetricsResult {
        char *text;
} ProtoMetricsResult;

typedef struct ProtoReply {
        char *id;   /* the request's id; "" when it could not be read */
        ProtoOp op; /* not on the wire: selects the result member (the client knows what it asked) */
        bool ok;
        ProtoErrorCode error_code; /* when !ok */
        char *error_msg;           /* when !ok */
        char *error_agent; /* when !ok, optional: the agent the failed request created (spawn_failed) */
        uint64_t error_retry_after_ms; /* when !ok, optional (0: absent): `busy` says when to try again */
        union {                        /* when ok, by op */
                ProtoHealthResult health;
                ProtoListResult list;
                ProtoAgentResult agent; /* get, spawn, pause, resume, stop, kill, signal, remove */
                ProtoStdinResult input; /* op stdin */
                ProtoOutputResult output;
                ProtoActionResult action;
                ProtoBatchResult batch;
                ProtoEventsResult events;
                ProtoStatsResult stats;
                ProtoTenantsResult tenants;
                ProtoSubscribeResult subscribe;
                ProtoExecResult exec;
                ProtoAttachResult attach;
                ProtoMetricsResult metrics;
        } result;
} ProtoReply;

/* ---- codec ---- */

int proto_request_encode(const ProtoRequest *r, void **ret_buf, size_t *ret_len);
int proto_request_decode(const void *buf, size_t len, ProtoRequest *ret, ProtoError *ret_err);
/* The top-level id of a request, read by the bounded pre-scan alone (no unpacking, no allocation): for an
 * answer that must cost less than a decode (the rate limit's `busy`). "" when none can be read. */
void proto_request_peek_id(const void *buf, size_t len, char ret_id[static PROTO_ID_MAX + 1]);

int proto_reply_encode(const ProtoReply *r, void **ret_buf, size_t *ret_len);
/* expected_op selects how `data` is read; an error reply decodes for any expected_op. */
int proto_reply_decode(const void *buf, size_t len, ProtoOp expected_op, ProtoReply *ret,
                       ProtoError *ret_err);

int proto_event_encode(const ProtoEvent *e, void **ret_buf, size_t *ret_len);
int proto_event_decode(const void *buf, size_t len, ProtoEvent *ret, ProtoError *ret_err);

/* A pushed message of a subscription or an attachment: exactly one of has_event, has_lost, has_output and
 * has_closed. */
int proto_push_encode(const ProtoPush *p, void **ret_buf, size_t *ret_len);
int proto_push_decode(const void *buf, size_t len, ProtoPush *ret, ProtoError *ret_err);
/* Whether a message from the control socket is a push (a top-level `sub` key) rather than a reply. Only
 * looks: a push that does not decode is still one. */
bool proto_message_is_push(const void *buf, size_t len);

/* One INFO map on its own (the daemon keeps its agent records in this form). */
int proto_agent_info_encode(const ProtoAgentInfo *i, void **ret_buf, size_t *ret_len);
int proto_agent_info_decode(const void *buf, size_t len, ProtoAgentInfo *ret, ProtoError *ret_err);

/* The error reply for a request that failed to decode: id from err (or "" if it has none). */
int proto_error_reply_encode(const ProtoError *err, void **ret_buf, size_t *ret_len);

/* ---- reply builders ---- */

/* Zeroes *r, copies id (NULL is taken as ""), sets op and ok; the caller then fills r->result.<op>. */
int proto_reply_init_ok(ProtoReply *r, const char *id, ProtoOp op);
/* Zeroes *r and makes it an error reply with a printf-formatted message (truncated to PROTO_ERROR_MSG_MAX).
 */
int proto_reply_init_error(ProtoReply *r, const char *id, ProtoOp op, ProtoErrorCode code, const char *fmt,
                           ...) __attribute__((format(printf, 5, 6)));

/* ---- values ---- */

/* Validates buf as exactly one msgpack object (at most PROTO_VALUE_MAX bytes, PROTO_VALUE_DEPTH_MAX levels)
 * and copies it. */
int proto_value_from_msgpack(const void *buf, size_t len, ProtoValue *ret);
/* A map of n string keys to unsigned integers, e.g. event data {bytes: 512, seq_first: 3, seq_last: 9}. */
int proto_value_new_u64_map(const char *const *keys, const uint64_t *values, size_t n, ProtoValue *ret);
/* Reads an unsigned integer under `key` in a map value (event data such as the above): -ENOENT when absent,
 * -EBADMSG when v is not a map or the value not an unsigned integer. */
int proto_value_get_u64(const ProtoValue *v, const char *key, uint64_t *ret);
/* A map of one string key to one string value, e.g. error event data {msg: "..."}. */
int proto_value_new_str_map(const char *key, const char *value, ProtoValue *ret);
int proto_value_copy(const ProtoValue *v, ProtoValue *ret);
/* JSON text (n bytes) as a value: the whole text, or with member the value of that key of the top-level
 * object (-ENOENT when it has none). -EBADMSG for text that is not one JSON value (or that names member
 * twice), -ELOOP past PROTO_VALUE_DEPTH_MAX levels, -E2BIG past PROTO_VALUE_MAX encoded. */
int proto_value_from_json(const char *text, size_t n, const char *member, ProtoValue *ret);

/* ---- event topics ---- */

/* "agent.<ID>.<kind>", or "host.<kind>" when agent_id is NULL. -EINVAL if the id is empty, too long or has a
 * '.' in it. */
int proto_event_topic(const char *agent_id, ProtoEventKind kind, char **ret);
/* The SUB prefix selecting all events of one agent: "agent.<ID>." */
int proto_event_topic_agent_prefix(const char *agent_id, char **ret);

/* ---- copies and frees ---- */

int proto_str_map_add(ProtoStrMap *m, const char *key, const char *value);
const char *proto_str_map_get(const ProtoStrMap *m, const char *key);
int proto_agent_info_copy(const ProtoAgentInfo *i, ProtoAgentInfo *ret);

void proto_value_done(ProtoValue *v);
void proto_bytes_done(ProtoBytes *b);
void proto_str_map_done(ProtoStrMap *m);
void proto_agent_info_done(ProtoAgentInfo *i);
void proto_event_done(ProtoEvent *e);
void proto_list_args_done(ProtoListArgs *a);
void proto_agent_args_done(ProtoAgentArgs *a);
void proto_spawn_args_done(ProtoSpawnArgs *a);
void proto_stop_args_done(ProtoStopArgs *a);
void proto_signal_args_done(ProtoSignalArgs *a);
void proto_stdin_args_done(ProtoStdinArgs *a);
void proto_output_args_done(ProtoOutputArgs *a);
void proto_action_args_done(ProtoActionArgs *a);
void proto_selector_done(ProtoSelector *s);
void proto_batch_args_done(ProtoBatchArgs *a);
void proto_events_args_done(ProtoEventsArgs *a);
void proto_subscribe_args_done(ProtoSubscribeArgs *a);
void proto_exec_args_done(ProtoExecArgs *a);
void proto_exec_result_done(ProtoExecResult *r);
void proto_attach_args_done(ProtoAttachArgs *a);
void proto_attach_input_args_done(ProtoAttachInputArgs *a);
void proto_push_done(ProtoPush *p);
void proto_request_done(ProtoRequest *r);
void proto_health_result_done(ProtoHealthResult *h);
void proto_list_result_done(ProtoListResult *l);
void proto_agent_result_done(ProtoAgentResult *a);
void proto_output_line_done(ProtoOutputLine *l);
void proto_output_result_done(ProtoOutputResult *o);
void proto_action_result_done(ProtoActionResult *a);
void proto_batch_item_done(ProtoBatchItem *b);
void proto_batch_result_done(ProtoBatchResult *b);
void proto_events_result_done(ProtoEventsResult *e);
void proto_stats_result_done(ProtoStatsResult *s);
void proto_metrics_result_done(ProtoMetricsResult *m);
void proto_tenants_result_done(ProtoTenantsResult *t);
/* Frees r->id, the error and the result member selected by r->op. */
void proto_reply_done(ProtoReply *r);
