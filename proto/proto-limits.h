/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Every bound of wire protocol v1 in one place (docs/protocol.md, "Limits", lists the same values).
 * String bounds are in bytes and exclude the terminating NUL. A decoder that meets a value over its bound
 * answers bad_request naming the key. */

#define PROTO_VERSION 1

/* A whole message (one ZeroMQ frame). The daemon also sets ZMQ_MAXMSGSIZE to this. */
#define PROTO_MESSAGE_MAX (10 * 1024 * 1024)
/* Nesting of arrays and maps, counting the top-level map as 1 (free-form values included). */
#define PROTO_DEPTH_MAX 16
/* msgpack objects (every scalar, string, array and map) in one message. With the pre-scan this bounds the
 * decoder's allocations to about 24 bytes per object, so at most ~24 MiB plus msgpack's 8 KiB zone chunks.
 */
#define PROTO_OBJECTS_MAX (1024 * 1024)

#define PROTO_ID_MAX             64   /* request id chosen by the client, 1..64 bytes */
#define PROTO_AGENT_REF_MAX      128  /* `agent`: an agent id (UUID), a NAME or TENANT/NAME */
#define PROTO_AGENT_ID_MAX       64   /* INFO.id and EVENT.agent */
#define PROTO_NAME_MAX           64   /* agent names: [A-Za-z0-9][A-Za-z0-9._-]* */
#define PROTO_PATH_MAX           4096 /* cwd, workspace, cgroup, cgroup.root */
#define PROTO_SHORT_STRING_MAX   256  /* policy, user, version, controller names, stat names, globs */
#define PROTO_ERROR_MSG_MAX      1024 /* err.msg */
#define PROTO_RETRY_AFTER_MS_MAX (3600 * 1000) /* err.retry_after_ms: 1 ms .. 1 hour */

#define PROTO_ARGV_MAX        4096          /* argv entries (at least 1) */
#define PROTO_ARGV_BYTES_MAX  (1024 * 1024) /* sum of argv string lengths */
#define PROTO_ENV_MAX         4096          /* env pairs */
#define PROTO_ENV_BYTES_MAX   (1024 * 1024) /* sum of env key and value lengths */
#define PROTO_ENV_KEY_MAX     1024          /* non-empty, no '=' */
#define PROTO_LABELS_MAX      64            /* label pairs */
#define PROTO_LABEL_KEY_MAX   128           /* non-empty */
#define PROTO_LABEL_VALUE_MAX 1024

#define PROTO_STDIN_DATA_MAX   (1024 * 1024) /* stdin.data per request */
#define PROTO_BACKEND_NAME_MAX 64            /* spawn.backend.name */
#define PROTO_BACKEND_TEXT_MAX (256 * 1024)  /* spawn.backend.task, .system_prompt */
#define PROTO_GREP_MAX         4096          /* output.grep pattern */
#define PROTO_CURSOR_MAX       256           /* output cursors (opaque strings) */
#define PROTO_OUTPUT_LINES_MAX 65536         /* lines per output reply, and the bound on limit/tail */
#define PROTO_OUTPUT_LINE_MAX  (1024 * 1024) /* bytes of one line's text */
#define PROTO_OUTPUT_DATA_MAX                                                                               \
        (8 * 1024 * 1024) /* raw output bytes per reply, and the bound on raw limit                         \
                           */

/* grace_ms and timeout_ms: 30 days, so that the daemon's microsecond timers never overflow */
#define PROTO_DURATION_MS_MAX           (30ULL * 24 * 3600 * 1000)
#define PROTO_ACTION_NAME_MAX           64
#define PROTO_ACTION_TIMEOUT_DEFAULT_MS (30 * 1000) /* action.timeout_ms when absent */
#define PROTO_ACTION_TIMEOUT_MAX_MS     (10 * 60 * 1000)
#define PROTO_VALUE_MAX                 (1024 * 1024) /* encoded size of a free-form value (params, result, data) */
/* Nesting of a value made with proto_value_from_msgpack(), so that it fits wherever values travel. */
#define PROTO_VALUE_DEPTH_MAX 12

/* exec: what fits one packet to the agent's shim (shim-contract.h, SHIM_EXEC_*) */
#define PROTO_EXEC_ARGV_MAX           1024        /* argv entries */
#define PROTO_EXEC_ARGV_BYTES_MAX     (16 * 1024) /* sum of argv string lengths (NULs included) */
#define PROTO_EXEC_STDIN_MAX          (32 * 1024) /* exec.stdin */
#define PROTO_EXEC_OUTPUT_MAX         (16 * 1024) /* bytes of stdout and of stderr in the reply */
#define PROTO_EXEC_TIMEOUT_DEFAULT_MS 25000       /* under a client's default timeout of a long op */
#define PROTO_EXEC_TIMEOUT_MAX_MS     (3600 * 1000)
#define PROTO_EXEC_CONCURRENT_MAX     8 /* commands running at once in one agent */
/* commands of exec on a terminal of their own (attach with exec_argv), per agent: running (or ended while
 * no daemon was there to hear it), and ended ones kept for a client coming back (the oldest go first) */
#define PROTO_EXEC_TTYS_MAX       4
#define PROTO_EXEC_TTYS_ENDED_MAX 8
#define PROTO_EXEC_TTY_LOG_MAX    (1024 * 1024) /* bytes of a command's terminal output kept */

/* health checks */
#define PROTO_HEALTH_INTERVAL_DEFAULT_MS 30000
#define PROTO_HEALTH_INTERVAL_MIN_MS     100
#define PROTO_HEALTH_TIMEOUT_DEFAULT_MS  5000
#define PROTO_HEALTH_RETRIES_DEFAULT     3
#define PROTO_HEALTH_RETRIES_MAX         100
#define PROTO_HEALTH_IDLE_MIN_MS         100
#define PROTO_HEALTH_OUTPUT_MAX          4096 /* health_last.output */
#define PROTO_HEALTH_REASON_MAX          256

#define PROTO_BATCH_AGENTS_MAX 4096  /* batch.agents entries, and batch.results entries */
#define PROTO_AGENTS_MAX       16384 /* agents in a list reply, and the bound on list.limit */
#define PROTO_EVENTS_MAX       10000 /* events in an events reply, and the bound on events.limit */
#define PROTO_STATS_MAX        1024  /* entries in a stats reply */
#define PROTO_TENANTS_MAX      16384 /* tenants in a tenants reply (at most one per agent) */
#define PROTO_CONTROLLERS_MAX  64    /* health.cgroup.controllers entries */
#define PROTO_METRICS_TEXT_MAX (4 * 1024 * 1024) /* bytes of metrics.text */

/* subscriptions (one per connection): per uid other than root, and in all */
#define PROTO_SUBSCRIPTIONS_PER_USER_MAX 32
/* A subscribing connection names itself with a random routing id of at least this many bytes: pushes follow
 * the routing id, and the ids a ROUTER assigns are a counter another client could claim once the subscriber
 * is gone. */
#define PROTO_SUBSCRIBE_ROUTING_ID_MIN 16
#define PROTO_SUBSCRIPTIONS_MAX        1024

/* attachments (one per connection, the same routing id rule as subscriptions): per uid other than root,
 * and in all */
#define PROTO_ATTACHMENTS_PER_USER_MAX 32
#define PROTO_ATTACHMENTS_MAX          1024
#define PROTO_ATTACH_INPUT_MAX         (32 * 1024)   /* attach_input.data per request */
#define PROTO_ATTACH_REPLAY_MAX        (1024 * 1024) /* attach.replay */
#define PROTO_ATTACH_REPLAY_DEFAULT    (64 * 1024)
#define PROTO_ATTACH_PUSH_MAX          (64 * 1024) /* output bytes in one push */
#define PROTO_TTY_SIZE_MAX             4096        /* rows and cols of a window size */

/* "agent." + id + "." + kind, or "host." + kind */
#define PROTO_TOPIC_MAX (6 + PROTO_AGENT_ID_MAX + 1 + 32)
