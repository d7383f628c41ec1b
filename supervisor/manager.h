/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The Manager owns everything the daemon has: the sd-event loop and every source on it, the ZeroMQ context
 * and sockets, the configuration, the cgroup root, the agent table, the reply cache and the event ring. One
 * per process. */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "config.h"
#include "metrics.h"
#include "proto.h"
#include "zmq-source.h"

typedef struct Agent Agent;
typedef struct AgentCgroupRoot AgentCgroupRoot;
typedef struct RequestCache RequestCache;
typedef struct EventRing EventRing;
typedef struct EventLog EventLog;
typedef struct Call Call;
typedef struct AgentNotice AgentNotice;
typedef struct SeccompCache SeccompCache;
typedef struct ConnectionLimit ConnectionLimit;
typedef struct SendBudget SendBudget;
typedef struct CurveKeys CurveKeys;
typedef struct TenantLedger TenantLedger;
typedef struct BusyHold BusyHold;
typedef struct Subscription Subscription;
typedef struct Attachment Attachment;

typedef struct ManagerStats {
        uint64_t requests[_PROTO_OP_MAX];
        uint64_t errors[_PROTO_ERROR_MAX];
        uint64_t messages;       /* control messages received */
        uint64_t malformed;      /* frames that did not decode as a request */
        uint64_t unroutable;     /* messages with no envelope: no reply possible */
        uint64_t refused_busy;   /* requests refused: their caller had max_requests_per_user waiting */
        uint64_t replies_cached; /* repeated request ids answered from the cache */
        uint64_t send_failures;  /* replies the ROUTER could not take */
        uint64_t events_published;
        uint64_t event_send_failures;   /* events that could not be encoded, stored or pushed at all */
        uint64_t events_pushed;         /* event messages sent to subscribers */
        uint64_t subscription_losses;   /* `lost` messages sent: a subscriber fell behind retention */
        uint64_t subscription_blocked;  /* times a subscriber's queue was full (it is retried) */
        uint64_t subscriptions_dropped; /* subscriptions ended because their connection was gone */
        uint64_t attach_pushed;         /* terminal output pushes sent to attached clients */
        uint64_t attach_blocked;        /* times an attached client's queue was full (it is retried) */
        uint64_t attachments_dropped;   /* attachments ended because their connection was gone */
        uint64_t agents_spawned;
        uint64_t agents_spawn_failed;
        uint64_t shim_protocol_errors;
        uint64_t record_write_failures; /* agent records that could not be written (first of each run) */
        MetricsHistogram latency[_PROTO_OP_MAX]; /* from a request's arrival to its reply, by op */
        MetricsHistogram spawn;                  /* from a spawn request to the agent's execve */
} ManagerStats;

typedef struct Manager {
        sd_event *event;
        Config config;
        char *shim_path;
        int lock_fd;
        int runtime_fd;        /* RUNTIME_DIR */
        int state_fd;          /* STATE_DIR */
        gid_t socket_gid;      /* group of the runtime dir and sockets (0 when `descartes` is missing) */
        uint64_t started_usec; /* CLOCK_MONOTONIC */
        bool stopping;         /* SIGTERM received */

        void *zmq_ctx;
        void *control; /* ROUTER: requests, replies and subscribed events */
        void *zap;     /* REP at inproc://zeromq.zap.01 */
        ZmqSource *control_source;
        ZmqSource *zap_source;
        ConnectionLimit *connection_limit; /* caps the connections of the control endpoint */
        SendBudget *reply_budget;          /* bytes of replies queued in libzmq, per peer and in total */
        uint64_t nofile;                   /* our RLIMIT_NOFILE, raised to the hard limit at start */
        CurveKeys *curve_keys;             /* remote clients (curve-keys.h); NULL without `listen` */
        char **listen_bound;               /* the tcp endpoints bound on control */

        sd_event_source *sigterm;
        sd_event_source *sigint;
        sd_event_source *sighup;
        sd_event_source *heartbeat;
        sd_event_source *shutdown_timer;
        sd_event_source *metrics_timer; /* rewrites metrics_textfile (metrics-textfile.c) */
        bool metrics_textfile_failing;  /* its last write failed (logged once) */

        AgentCgroupRoot *cgroup;
        Agent *agents; /* doubly linked, newest first */
        size_t n_agents;
        size_t n_agents_ended; /* of n_agents: kept by agent_transition(), so that no timer walks them all */
        unsigned freezer_fds;  /* pauses and resumes waiting for their cgroup on a descriptor (agent.c) */
        RequestCache *request_cache;
        TenantLedger *tenant_ledger; /* per caller uid: the request rate's token bucket, denied attempts */
        BusyHold *busy_hold;         /* `busy` replies held back from callers that do not wait as told */
        EventRing *event_ring;
        EventLog *event_log;            /* STATE/events.log: the ring and the seq across restarts */
        struct Trash *trash;            /* STATE/trash: removed agents' files, deleted in the background */
        struct RecordSync *record_sync; /* ended agents' records flushed to disk off the loop */
        uint64_t next_event_seq;        /* the last seq published (the next is one more) */
        Subscription *subscriptions;    /* subscription.c */
        size_t n_subscriptions;
        sd_event_source *subscription_retry; /* armed while a subscriber's queue is full */
        Attachment *attachments;             /* attachment.c */
        size_t n_attachments;
        sd_event_source *attachment_retry; /* armed while an attached client's queue is full */
        Call *calls;                       /* every request not answered yet */
        /* what agents notify (started, frozen, ended, stdin acks...): the control layer (call-wait.c) */
        void (*agent_observer)(Agent *a, const AgentNotice *n);
        SeccompCache *seccomp_cache; /* compiled policies, by their bytes */
        struct UidPool *uid_pool;    /* agent_uids: a root caller's agents' own uids; NULL: none */
        ManagerStats stats;
} Manager;

int manager_new(Config *config, const char *shim_path, Manager **ret);
Manager *manager_free(Manager *m);
static inline void manager_freep(Manager **m)
{
        if (*m)
                manager_free(*m);
}
int manager_run(Manager *m);

/* Begins the daemon's exit (SIGTERM, the shutdown op): at once, leaving the agents running, or after
 * stopping them (TERM, grace, cgroup.kill) when stop_agents. */
void manager_begin_shutdown(Manager *m, bool stop_agents);
/* Called when an agent ended during a graceful shutdown: exits the loop once none is alive. */
void manager_check_shutdown(Manager *m);

/* In descartesd.c: defaults, the config file, then the command line. */
int descartesd_load_config(Config *ret, Failure *ret_failure);
