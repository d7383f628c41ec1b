/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* One agent: its record (what `get` shows), its kernel objects (cgroups, the shim's pidfd, the control
 * socket, inotify watches). It notifies its observer (agent-notice.h) of what requests may wait for; the
 * control layer keeps the waiting requests. Transitions go through agent_transition(), which
 * consults the state table and publishes status_changed. */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "agent-notice.h"
#include "agent-state.h"
#include "cgroup-backend.h"
#include "control.h"
#include "exec-tty.h"
#include "failure.h"
#include "manager.h"
#include "pidref.h"
#include "proto.h"
#include "shim-contract.h"
#include "spawn-trace.h"

#define AGENT_ID_LEN 36

typedef struct SpawnPlan SpawnPlan;

struct Agent {
        Manager *manager;
        Agent *next, *prev;

        /* The public record: what `get` answers (with live pid and usage added), what the record file
         * stores and what adoption restores. `usage` is the last read at the end (has_usage once ended). */
        ProtoAgentInfo info;

        /* Why and how it ends: decided by requests and the kernel, read by agent_finalize(). */
        struct {
                bool stop_requested;
                bool kill_requested;
                bool cgroup_killed; /* we wrote cgroup.kill: without an exit record, SIGKILL ended it */
                bool timed_out;
                bool spawn_failed;
                uint32_t failed_stage;
                int failed_error;
                char *failed_msg;
                bool have_exit_record;
                ShimExitRecord exit_record;
                uint64_t oom_kills_at_start;
        } end;

        /* Its timers (agent-watch.c, shim-link.c, agent.c). */
        struct {
                sd_event_source *stop_timer;      /* grace of a stop, then cgroup.kill (agent-watch.c) */
                sd_event_source *runtime_timer;   /* spawn timeout_ms */
                sd_event_source *output_timer;    /* rate limit of output events */
                sd_event_source *retention_timer; /* config.retention after the end: remove */
                uint64_t runtime_deadline_usec;   /* CLOCK_MONOTONIC end of timeout_ms, 0: none */
                uint64_t stop_deadline_usec;      /* CLOCK_MONOTONIC end of a stop's grace, 0: none */
        } timers;

        /* Its health check (agent-health.c): the settings and verdict are in info. */
        struct {
                sd_event_source *check_timer; /* the next check */
                sd_event_source *idle_timer;  /* idle_timeout_ms after the last output */
                uint64_t cookie;              /* of the check running, 0: none */
                uint64_t sent_usec;           /* CLOCK_MONOTONIC, when it was sent */
                uint64_t last_output_usec;    /* CLOCK_MONOTONIC */
                bool idle;                    /* the idle rule holds it unhealthy */
                bool acted;                   /* on_unhealthy was done */
        } health;

        /* The kernel's side of it: its cgroup and the state directory the shim writes (agent-cgroup.c,
         * agent-spawn.c, adopt.c). */
        struct {
                CgroupHandle *cg;               /* NULL once removed */
                struct LimitWatch *limit_watch; /* the cgroup's counters: limit_hit, pids_limit */
                /* while a pause or resume is under way: PAYLOAD's freezer state (owns the fd; see
                 * agent_pause()) */
                sd_event_source *freezer;
                bool cgroups_removed;
        } kernel;

        /* The shim: its process and its control link (shim-link.c, agent-watch.c). */
        struct {
                PidRef pid;
                uint64_t start_ticks; /* field 22 of /proc/PID/stat of the shim: pids are recycled */
                sd_event_source *child_source;
                sd_event_source *exec_report; /* until the shim has exec'd: its report pipe (owns the fd) */
                int control_fd;
                sd_event_source *control_source;
                uint32_t version; /* shim protocol version agreed in its last HELLO; 0: none (yet) */
        } shim;

        /* Output events: what the shim reported and what an event announced (shim-link.c). */
        struct {
                uint64_t first_seq, last_seq, bytes_pending;
                uint64_t stdout_bytes, stderr_bytes, dropped_bytes;
                uint64_t last_publish_usec;
                uint64_t announced_seq; /* the last output record an output event covered */
        } output;
        uint64_t tty_last_seq; /* the newest output record its shim told of (attachments read up to it) */

        /* Private bookkeeping. */
        bool stdin_open; /* its stdin pipe is open (the shim's HELLO, a `stdin` close) */
        int ns_pid;      /* the agent's pid in its own namespace */
        /* its pid on the host, found once for the ns_pid in host_pid_of: the shim reaps the agent and
         * tells it, so the pid holds until the agent has ended (get then shows none) */
        pid_t host_pid;
        int host_pid_of;
        uint64_t spawn_arrived_usec; /* CLOCK_MONOTONIC, for spawn_us */
        SpawnTrace spawn_trace;      /* its hops, for the debug line (spawn-trace.h) */
        char *state_path;            /* STATE/agents/ID */
        char *runtime_path;          /* RUNTIME/agents/ID */
        bool remove_requested;       /* removed as soon as its cgroups are empty */
        uint64_t next_cookie;        /* of the next stdin write */
        /* of the next EXEC: the daemon's start time in ns, so that a command of a previous daemon, told
         * after a restart, never matches a request of this one */
        uint64_t next_exec_cookie;
        ExecTtys exec_ttys; /* commands of exec on terminals of their own (exec-tty.h) */
        struct {
                bool ready;            /* the agent opened its action channel (its shim's ACTION_STATE) */
                uint64_t shim_dropped; /* lines its shim dropped (ACTION_STATE: since the shim started) */
                uint64_t late;         /* answers no call waited for any more (since this daemon started) */
        } action;
        struct SpawnPlan *spawn_plan; /* while its cgroups are being made (agent-spawn.c) */
        bool adopted;                 /* re-adopted by this daemon: its HELLO resumes it */
        bool record_failed;           /* a record write failed (logged once) */
};

int agent_new(Manager *m, uid_t owner, Agent **ret);
/* Unlinks from the manager and frees; never touches the processes (they outlive us unless killed first). */
Agent *agent_free(Agent *a);

/* The agent ref names for uid: its UUID (admins see every agent's), a NAME among uid's own agents, or
 * TENANT/NAME (TENANT a user name or a numeric uid) among TENANT's, which only admins may name (and uid
 * itself). NULL when none: another tenant's agent is as absent as an unknown one. */
Agent *agent_find(Manager *m, const char *ref, uid_t uid, bool admin);
/* Names are unique per owner: two tenants may both have fixer-1. */
Agent *agent_find_by_name(Manager *m, uid_t owner, const char *name);
bool agent_name_is_valid(const char *name);
size_t agent_count_owned(Manager *m, uid_t uid);

/* Moves the agent by the state table; -EBUSY if the event is refused in its state (nothing changes). */
int agent_transition(Agent *a, AgentEvent e);
/* agent_transition in two halves, for a reply that must not wait for the event and the record: the state
 * now (1 when it changed, 0 when it stays, -EBUSY when refused), then, once the caller has answered, the
 * status_changed event of each state it went through (in order) and agent_save_record(). */
int agent_state_set(Agent *a, AgentEvent e);
void agent_state_publish(Agent *a, ProtoState state);

/* Fills INFO (a deep copy: free with proto_agent_info_done); with usage read from the cgroup when live. */
/* The agent's INFO; with usage, a live agent's is read from its cgroup (a few file reads), else left out. */
int agent_fill_info(Agent *a, bool usage, ProtoAgentInfo *ret);

/* Lifecycle actions. */
int agent_pause(Agent *a);
int agent_resume(Agent *a);
int agent_stop(Agent *a, uint64_t grace_usec);
/* Removes the ended agent config.retention after its end (no-op when retention is 0 or it is armed). */
void agent_arm_retention(Agent *a);
int agent_kill(Agent *a);
int agent_send_signal(Agent *a, int sig);
/* The agent is gone: decide the reason, publish, kill what is left, clean the cgroups when empty. */
void agent_finalize(Agent *a);
/* Saves the agent's record; the first failure in a row is published as an `error` event of the agent and
 * counted (record_write_failures), so that a full disk never loses a state change silently. */
void agent_save_record(Agent *a);
/* The agent's state dir, opened into *tmp, which the caller closes (an agent keeps no descriptor of it: see
 * agent_release_handles()). -errno when the directory cannot be opened. */
int agent_state_dir(Agent *a, int *tmp);
/* Closes what an ended agent whose shim is gone no longer needs: the shim's pidfd and socket. A running
 * agent holds these two descriptors only (its cgroups and state dir are opened when needed), an ended one
 * none. */
void agent_release_handles(Agent *a);
/* The cgroup's watch: frozen (pause, resume), populated (cleanup), counters (limit_hit). */
int agent_watch_cgroups(Agent *a);
/* Re-reads the cgroup's frozen state and completes a pause or resume in progress. */
void agent_check_frozen(Agent *a);
/* remove: cgroups, state dir, runtime dir and the record. Ended agents only (-EBUSY otherwise). 0 when done
 * (the agent is freed), 1 when it waits for its cgroups to empty (AGENT_NOTICE_REMOVED is notified then, and
 * the agent freed). */
int agent_remove(Agent *a);

/* In agent-spawn.c: everything from the request to a running shim; on failure *ret_failure says why (the
 * caller fails the agent: agent_spawn_failed()) and its error is returned. 0 also while the agent's cgroups
 * are still being made (a->spawn_plan set: the systemd driver's scope): the launch follows from the event
 * loop, and a failure then is told as AGENT_NOTICE_SPAWN_FAILED. */
typedef struct AgentSandbox AgentSandbox;
/* sb is moved into the agent. tenant: the limits of the owner's tenant cgroup (its quota), set before the
 * agent's cgroup is made in it. */
int agent_spawn(Agent *a, const ProtoSpawnArgs *args, AgentSandbox *sb, const CgroupLimits *tenant,
                Failure *ret_failure);
/* Ends an agent that could not start: counted, logged, an `error` event, the failure answered (to c, or to
 * the request waiting for STARTED when c is NULL), then finalized. */
void agent_spawn_failed(Agent *a, const Failure *fail, Call *c);
/* Abandons the creation of its cgroups under way (a stop or kill before they exist): true if there was one.
 */
bool agent_spawn_abort(Agent *a);
void agent_spawn_plan_free(Agent *a);

/* In shim-link.c */
int shim_link_attach(Agent *a, int fd);
void shim_link_detach(Agent *a);
int shim_link_send_signal(Agent *a, int sig);
/* A message (not STDIN nor TTY_INPUT) as it is, or -errno (-ENOTCONN without a link). */
int shim_link_send(Agent *a, const void *msg, size_t n);
int shim_link_send_tty_input(Agent *a, const void *data, size_t size);
/* continues: this chunk follows the previous one of the same request (see ShimMsgStdin). */
int shim_link_send_stdin(Agent *a, uint64_t cookie, const void *data, size_t size, bool close_after,
                         bool continues);
/* EXEC (shim protocol version 4): argv (NULL-terminated), stdin (may be empty), a timeout. */
int shim_link_send_exec(Agent *a, uint64_t cookie, char *const *argv, const void *stdin_data,
                        size_t stdin_size, uint32_t timeout_ms);
/* An action's line for the agent (flags: SHIM_ACTION_*); the answer comes as AGENT_NOTICE_ACTION_REPLY. */
int shim_link_send_action(Agent *a, uint64_t token, uint32_t timeout_ms, uint32_t flags, const char *line,
                          size_t size);
/* Handles what the shim has sent and we have not read yet (before finalizing on its pidfd). */
void shim_link_drain(Agent *a);
/* Publishes the pending output event now. */
void shim_link_flush_output(Agent *a);
