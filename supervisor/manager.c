/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The loop, the sockets, signals, sd_notify, the heartbeat, reload and shutdown. */
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#include "adopt.h"
#include "agent-capacity.h"
#include "agent-cgroup.h"
#include "agent.h"
#include "busy-hold.h"
#include "call-wait.h"
#include "child-exec.h"
#include "connection-limit.h"
#include "control.h"
#include "curve-keys.h"
#include "event-log.h"
#include "event-ring.h"
#include "events.h"
#include "fd-util.h"
#include "host-info.h"
#include "log.h"
#include "manager.h"
#include "metrics-textfile.h"
#include "record-sync.h"
#include "request-cache.h"
#include "runtime-lock.h"
#include "sandbox-setup.h"
#include "send-budget.h"
#include "socket-acl.h"
#include "subscription.h"
#include "attachment.h"
#include "seccomp-cache.h"
#include "string-util.h"
#include "tenant-ledger.h"
#include "tenants.h"
#include "time-util.h"
#include "trash.h"
#include "uid-pool.h"
#include "zap.h"

/* libdescartes resends a request for at most this long after its first send (DESCARTES_RESEND_WINDOW_USEC)
 */
#define CLIENT_RESEND_WINDOW_USEC (300 * USEC_PER_SEC)
#define REQUEST_CACHE_MAX         65536
#define REQUEST_CACHE_BYTES_MAX   (64 * 1024 * 1024)
/* a caller's share of the cache: its own old answers make room for its new requests */
#define REQUEST_CACHE_UID_MAX       16384
#define REQUEST_CACHE_UID_BYTES_MAX (16 * 1024 * 1024)
#define SHUTDOWN_EXTRA_USEC         (5 * USEC_PER_SEC)
/* Messages libzmq queues per peer. The replies' bytes are bounded by the reply budget (send-budget.h); this
 * count only has to let a burst of small replies through: one dispatch answers up to ZMQ_SOURCE_BATCH
 * requests of a connection before libzmq's I/O thread has told us that it took any, and a DEALER client
 * may have many requests in flight. A subscriber's events are charged the same way: past either bound its
 * cursor waits (subscription.h), nothing is dropped. */
#define CONTROL_SNDHWM 1000
/* Requests libzmq reads ahead per peer before it leaves the rest in the kernel's socket buffer: a client
 * that sends faster than the loop answers holds at most this many (each <= PROTO_MESSAGE_MAX) in our memory.
 */
#define CONTROL_RCVHWM 16

static int ipc_path(const char *endpoint, const char **ret)
{
        const char *p = startswith(endpoint, "ipc://");

        if (!p || *p != '/')
                return -EPROTONOSUPPORT;
        *ret = p;
        return 0;
}

/* Members of admin_group reach the runtime dir and the sockets too (fd < 0: path). */
static void grant_admin_group(Manager *m, int fd, const char *path)
{
        struct group *g =
                m->config.admin_group && *m->config.admin_group ? getgrnam(m->config.admin_group) : NULL;
        int r;

        if (!g || g->gr_gid == m->socket_gid)
                return;
        r = socket_acl_add_group(fd, path, g->gr_gid);
        if (r < 0)
                log_warning_errno(r,
                                  "Cannot give group %s access to %s (no POSIX ACLs here?): its members "
                                  "must also be in group descartes to connect: %m",
                                  m->config.admin_group, path);
}

static int bind_endpoint(Manager *m, void *sock, const char *endpoint, const char *what)
{
        const char *path;
        int r;

        r = ipc_path(endpoint, &path);
        if (r < 0)
                return log_error_errno(
                        r,
                        "The %s endpoint must be ipc:///absolute/path (remote clients connect "
                        "to the tcp endpoints of `listen`, with CURVE): %s",
                        what, endpoint);
        if (zmq_bind(sock, endpoint) < 0)
                return log_error_errno(-errno, "Cannot bind the %s endpoint %s: %m", what, endpoint);
        /* libzmq creates the file 0777 & ~umask: members of the group may connect, nobody else */
        if (chown(path, 0, m->socket_gid) < 0 || chmod(path, 0660) < 0)
                return log_error_errno(-errno, "Cannot set the owner and mode of %s: %m", path);
        grant_admin_group(m, -EBADF, path);
        return 0;
}

/* Agents (never root) reach their default workspace, STATE/agents/ID/work, at its own path in their view:
 * the state dir itself is masked by a tmpfs there, but every directory above it comes from the host. */
static void warn_unsearchable_parents(const char *state_dir)
{
        _cleanup_free_ char *p = strdup(state_dir);

        if (!p)
                return;
        for (char *slash = strrchr(p, '/'); slash && slash != p; slash = strrchr(p, '/')) {
                struct stat st;

                *slash = 0;
                if (stat(p, &st) == 0 && !(st.st_mode & S_IXOTH))
                        log_warning("%s is not searchable by other users (mode %04o): agents cannot reach "
                                    "their default workspaces below %s. Run chmod o+x %s.",
                                    p, (unsigned)(st.st_mode & 07777), state_dir, p);
        }
}

static int setup_runtime_dir(Manager *m)
{
        struct group *g = getgrnam("descartes");
        int holder = 0, r;

        m->socket_gid = g ? g->gr_gid : 0;
        r = mkdir_p(m->config.runtime_dir, 0750);
        if (r < 0)
                return log_error_errno(r, "Cannot create %s: %m", m->config.runtime_dir);
        m->runtime_fd = open(m->config.runtime_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (m->runtime_fd < 0)
                return log_error_errno(-errno, "Cannot open %s: %m", m->config.runtime_dir);
        if (fchown(m->runtime_fd, 0, m->socket_gid) < 0 || fchmod(m->runtime_fd, 0750) < 0)
                return log_error_errno(-errno, "Cannot set the owner and mode of %s: %m",
                                       m->config.runtime_dir);
        grant_admin_group(m, m->runtime_fd, m->config.runtime_dir);

        r = runtime_lock_take(m->config.runtime_dir, &holder);
        if (r == -EBUSY) {
                if (holder > 0)
                        log_error("Another descartesd (pid %d) is running with runtime directory %s; "
                                  "refusing to "
                                  "start.",
                                  holder, m->config.runtime_dir);
                else
                        log_error("Another descartesd is running with runtime directory %s; refusing to "
                                  "start.",
                                  m->config.runtime_dir);
                return r;
        }
        if (r < 0)
                return log_error_errno(r, "Cannot lock %s/descartesd.lock: %m", m->config.runtime_dir);
        m->lock_fd = r;

        r = mkdir_p(m->config.state_dir, 0700);
        if (r < 0)
                return log_error_errno(r, "Cannot create %s: %m", m->config.state_dir);
        m->state_fd = open(m->config.state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (m->state_fd < 0)
                return log_error_errno(-errno, "Cannot open %s: %m", m->config.state_dir);
        warn_unsearchable_parents(m->config.state_dir);
        r = trash_new(m->event, m->state_fd, m->config.state_dir, &m->trash);
        if (r < 0)
                return log_error_errno(r, "Cannot open %s/trash: %m", m->config.state_dir);
        r = record_sync_new(m->state_fd, &m->record_sync);
        if (r < 0)
                return log_error_errno(r, "Cannot start the thread that flushes records to disk: %m");
        return 0;
}

static int setup_zmq(Manager *m)
{
        int zero = 0, one = 1, control_hwm = CONTROL_SNDHWM, control_rcvhwm = CONTROL_RCVHWM, r;
        struct rlimit start_nofile;
        int64_t maxmsg = PROTO_MESSAGE_MAX;

        r = connection_limit_raise_nofile(&m->nofile, &start_nofile);
        if (r < 0)
                return log_error_errno(r, "Cannot read RLIMIT_NOFILE: %m");
        /* shims, agents and the programs they start get the limit we were started with back */
        child_exec_set_nofile(&start_nofile);
        r = connection_limit_new(m, m->nofile, &m->connection_limit);
        if (r < 0)
                return log_oom();
        log_info("Descriptor limit %llu: up to %llu connections in all (max_connections%s), %llu per user.",
                 (unsigned long long)m->nofile,
                 (unsigned long long)connection_limit_total_max(m->connection_limit),
                 m->config.max_connections ? "" : " derived from it and max_agents",
                 (unsigned long long)m->config.max_connections_per_user);
        agent_capacity_log(m->nofile, m->config.max_agents);

        r = curve_listen_prepare(m);
        if (r < 0)
                return r;

        m->zmq_ctx = zmq_ctx_new();
        if (!m->zmq_ctx)
                return log_error_errno(-errno, "Cannot create the ZeroMQ context: %m");

        /* the ZAP handler must exist before any endpoint accepts a peer, or libzmq lets peers in unnamed */
        m->zap = zmq_socket(m->zmq_ctx, ZMQ_REP);
        if (!m->zap || zmq_setsockopt(m->zap, ZMQ_LINGER, &zero, sizeof zero) < 0 ||
            zmq_bind(m->zap, ZAP_ENDPOINT) < 0)
                return log_error_errno(-errno, "Cannot bind the ZAP handler at %s: %m", ZAP_ENDPOINT);
        r = zmq_source_new(m->event, m->zap, "zap", zap_handle_request, m, &m->zap_source);
        if (r < 0)
                return log_error_errno(r, "Cannot watch the ZAP socket: %m");

        m->control = zmq_socket(m->zmq_ctx, ZMQ_ROUTER);
        if (!m->control || zmq_setsockopt(m->control, ZMQ_LINGER, &zero, sizeof zero) < 0 ||
            zmq_setsockopt(m->control, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg) < 0 ||
            /* a reply to a vanished or flooded peer fails visibly (and is counted) instead of vanishing */
            zmq_setsockopt(m->control, ZMQ_ROUTER_MANDATORY, &one, sizeof one) < 0 ||
            zmq_setsockopt(m->control, ZMQ_SNDHWM, &control_hwm, sizeof control_hwm) < 0 ||
            zmq_setsockopt(m->control, ZMQ_RCVHWM, &control_rcvhwm, sizeof control_rcvhwm) < 0)
                return log_error_errno(-errno, "Cannot create the control socket: %m");
        r = send_budget_new(SEND_BUDGET_PEER_MAX, SEND_BUDGET_TOTAL_MAX, &m->reply_budget);
        if (r < 0)
                return log_oom();
        zmq_send_set_budget(m->control, m->reply_budget);
        r = zap_protect_socket(m->control);
        if (r < 0)
                return log_error_errno(r, "Cannot enable authentication on the control socket: %m");
        r = connection_limit_watch(m->connection_limit, m->zmq_ctx, m->control, "control-monitor");
        if (r < 0)
                return log_error_errno(r, "Cannot monitor the control socket's connections: %m");
        r = bind_endpoint(m, m->control, m->config.control, "control");
        if (r < 0)
                return r;
        r = curve_listen_bind(m);
        if (r < 0)
                return r;
        r = zmq_source_new(m->event, m->control, "control", control_handle_message, m, &m->control_source);
        if (r < 0)
                return log_error_errno(r, "Cannot watch the control socket: %m");

        return 0;
}

static void notify_status(Manager *m)
{
        (void)sd_notifyf(0, "STATUS=%zu agents running, %zu held", m->n_agents - m->n_agents_ended,
                         m->n_agents);
}

/* An attachment of key for uid stays while the allow list still maps the key to that uid. */
static bool key_still_valid(Manager *m, const char *key, uid_t uid)
{
        const CurveClient *c = curve_keys_find(m->curve_keys, key);

        return c && c->uid == uid;
}

/* ---- heartbeat ---- */

/* Every subscriber may see the heartbeat (event_visible), so it says nothing about anyone's agents: host
 * facts only. A client reads its own agents' usage with get or list. */
static int heartbeat_data(Manager *m, ProtoValue *ret)
{
        ProtoHostInfo h;

        (void)host_info_read(&h);
        return proto_event_data_encode(
                PROTO_EVENT_HEARTBEAT,
                &(ProtoEventData){.heartbeat =
                                          {
                                                  .uptime_s = (now_usec(CLOCK_MONOTONIC) - m->started_usec) /
                                                              USEC_PER_SEC,
                                                  .cpus = h.cpus,
                                                  .mem_total = h.mem_total,
                                                  .mem_available = h.mem_available,
                                                  .load1 = h.load1,
                                          }},
                ret);
}

static int on_heartbeat(sd_event_source *s, uint64_t usec, void *userdata)
{
        Manager *m = userdata;
        ProtoValue data = {};
        int r;

        r = heartbeat_data(m, &data);
        if (r < 0)
                log_debug_errno(r, "Cannot build the heartbeat data: %m");
        events_publish(m, PROTO_EVENT_HEARTBEAT, NULL, NULL, NULL, r >= 0 ? &data : NULL);
        proto_value_done(&data);
        attachments_heartbeat(m);
        notify_status(m);
        r = sd_event_source_set_time(s, usec + m->config.heartbeat_usec);
        if (r >= 0)
                r = sd_event_source_set_enabled(s, SD_EVENT_ON);
        if (r < 0)
                log_warning_errno(r, "Cannot re-arm the heartbeat: %m");
        return 0;
}

static int arm_heartbeat(Manager *m)
{
        uint64_t now;
        int r;

        m->heartbeat = sd_event_source_disable_unref(m->heartbeat);
        if (m->config.heartbeat_usec == 0)
                return 0;
        r = sd_event_now(m->event, CLOCK_MONOTONIC, &now);
        if (r < 0)
                return r;
        r = sd_event_add_time(m->event, &m->heartbeat, CLOCK_MONOTONIC, now + m->config.heartbeat_usec,
                              10 * USEC_PER_MSEC, on_heartbeat, m);
        if (r < 0)
                return r;
        (void)sd_event_source_set_description(m->heartbeat, "heartbeat");
        return 0;
}

/* ---- signals ---- */

void manager_begin_shutdown(Manager *m, bool stop_agents)
{
        int r;

        (void)sd_notify(0, "STOPPING=1\nSTATUS=Shutting down");
        m->stopping = true;
        if (!stop_agents) {
                log_info("Shutting down; agents keep running under their shims.");
                (void)sd_event_exit(m->event, 0);
                return;
        }
        log_info("Shutting down; stopping agents first.");
        for (Agent *a = m->agents; a; a = a->next)
                if (!agent_state_is_ended(a->info.state))
                        (void)agent_stop(a, m->config.stop_grace_usec);
        r = sd_event_add_time_relative(m->event, &m->shutdown_timer, CLOCK_MONOTONIC,
                                       m->config.stop_grace_usec + SHUTDOWN_EXTRA_USEC, 10 * USEC_PER_MSEC,
                                       NULL, NULL);
        if (r < 0)
                (void)sd_event_exit(m->event, 0);
        else
                (void)sd_notifyf(0, "EXTEND_TIMEOUT_USEC=%llu",
                                 (unsigned long long)(m->config.stop_grace_usec + 2 * SHUTDOWN_EXTRA_USEC));
        manager_check_shutdown(m);
}

void manager_check_shutdown(Manager *m)
{
        if (!m->stopping)
                return;
        for (Agent *a = m->agents; a; a = a->next)
                if (!agent_state_is_ended(a->info.state))
                        return;
        (void)sd_event_exit(m->event, 0);
}

static int on_terminate(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
        Manager *m = userdata;

        if (m->stopping) {
                log_info("Second termination signal: exiting now.");
                return sd_event_exit(m->event, 0);
        }
        manager_begin_shutdown(m, m->config.stop_agents_on_exit);
        return 0;
}

static void manager_apply_request_limits(Manager *m)
{
        if (m->config.request_ttl_usec < CLIENT_RESEND_WINDOW_USEC)
                log_warning("request_ttl is %llus, shorter than the 300 s in which libdescartes may resend "
                            "a request: "
                            "a resend may then be performed twice. Set request_ttl to 5min or more.",
                            (unsigned long long)(m->config.request_ttl_usec / USEC_PER_SEC));
        if (m->request_cache)
                /* pending requests are bounded where they would wait (call_dispatch), so that a caller
                 * at its bound can still ask what is going on, or kill */
                request_cache_set_uid_limits(m->request_cache, REQUEST_CACHE_UID_MAX, 0,
                                             REQUEST_CACHE_UID_BYTES_MAX);
}

static void reload_config(Manager *m)
{
        _cleanup_(config_done) Config n = {};
        Failure fail = {};
        Config *o = &m->config;
        int r;

        (void)sd_notify(0, "RELOADING=1");
        r = descartesd_load_config(&n, &fail);
        if (r < 0) {
                log_error_errno(r, "Reloading the configuration failed, keeping the current one: %s",
                                failure_is_set(&fail) ? fail.msg : strerror(-r));
                (void)sd_notify(0, "READY=1");
                return;
        }
        const struct {
                const char *name;
                const char *a, *b;
        } restart[] = {
                {"control", o->control, n.control},
                {"state_dir", o->state_dir, n.state_dir},
                {"runtime_dir", o->runtime_dir, n.runtime_dir},
                {"cgroup_root", o->cgroup_root, n.cgroup_root},
                {"cgroup_driver", o->cgroup_driver, n.cgroup_driver},
                {"listen", o->listen, n.listen},
        };
        for (size_t i = 0; i < ELEMENTSOF(restart); i++)
                if (!streq_ptr(restart[i].a, restart[i].b))
                        log_warning("Configuration: %s changed; it takes effect after a restart.",
                                    restart[i].name);

#define LIVE_U64(field, name)                                                                               \
        if (o->field != n.field) {                                                                          \
                log_info("Configuration: %s changed from %llu to %llu.", name,                              \
                         (unsigned long long)o->field, (unsigned long long)n.field);                        \
                o->field = n.field;                                                                         \
        }
#define LIVE_BOOL(field, name)                                                                              \
        if (o->field != n.field) {                                                                          \
                log_info("Configuration: %s is now %s.", name, n.field ? "yes" : "no");                     \
                o->field = n.field;                                                                         \
        }
#define LIVE_STR(field, name)                                                                               \
        if (!streq_ptr(o->field, n.field)) {                                                                \
                log_info("Configuration: %s is now \"%s\".", name, n.field ?: "");                          \
                free(o->field);                                                                             \
                o->field = TAKE_PTR(n.field);                                                               \
        }
        bool heartbeat_changed = o->heartbeat_usec != n.heartbeat_usec;
        LIVE_U64(stop_grace_usec, "stop_grace (us)");
        LIVE_U64(heartbeat_usec, "heartbeat_interval (us)");
        LIVE_U64(output_cap_bytes, "output_cap");
        LIVE_U64(output_scan_budget, "output_scan_budget");
        LIVE_U64(output_time_budget_usec, "output_time_budget (us)");
        LIVE_U64(max_agents, "max_agents");
        LIVE_U64(max_agents_per_user, "max_agents_per_user");
        LIVE_U64(max_requests_per_user, "max_requests_per_user");
        LIVE_U64(request_rate, "request_rate");
        LIVE_U64(request_burst, "request_burst");
        manager_apply_request_limits(m);
        LIVE_U64(max_connections, "max_connections");
        LIVE_U64(max_connections_per_user, "max_connections_per_user");
        LIVE_U64(request_ttl_usec, "request_ttl (us)");
        LIVE_U64(retention_usec, "retention (us)");
        LIVE_U64(default_cpu_milli, "default_cpu (millicpus)");
        LIVE_U64(default_memory, "default_memory");
        LIVE_U64(default_pids, "default_pids");
        LIVE_U64(max_cpu_milli, "max_cpu (millicpus)");
        LIVE_U64(max_memory, "max_memory");
        LIVE_U64(max_pids, "max_pids");
        LIVE_BOOL(allow_root, "allow_root");
        LIVE_BOOL(stop_agents_on_exit, "stop_agents_on_exit");
        if (o->log_level != n.log_level) {
                log_set_max_level(n.log_level);
                log_info("Configuration: log_level changed from %d to %d.", o->log_level, n.log_level);
                o->log_level = n.log_level;
        }
        LIVE_STR(agent_user, "agent_user");
        LIVE_STR(admin_group, "admin_group");
        LIVE_U64(tmp_size, "tmp_size");
        LIVE_U64(workspace_size, "workspace_size");
        LIVE_STR(mask_paths, "mask_paths");
        LIVE_STR(policy_dir, "policy_dir");
        LIVE_STR(mask_keep, "mask_keep");
        if (o->agent_uid_min != n.agent_uid_min || o->agent_uid_max != n.agent_uid_max)
                log_warning("Configuration: agent_uids changed; it takes effect after a restart.");
        /* tenant quotas: applied to the tenants' cgroups at once */
        if (!tenant_quota_rules_equal(&o->quotas, &n.quotas)) {
                tenant_quota_rules_done(&o->quotas);
                o->quotas = n.quotas;
                n.quotas = (TenantQuotaRules){};
                log_info("Configuration: the tenant quotas changed (%zu rules); applying them.",
                         o->quotas.n_rules);
                tenants_log_unenforceable(m);
                tenants_apply_quotas(m);
        }
        /* backends: the next spawn uses the new templates */
        backend_table_done(&o->backends);
        o->backends = n.backends;
        n.backends = (BackendTable){};
        backend_table_log_missing_env(&o->backends);
        LIVE_STR(curve_secret_key, "curve_secret_key");
        LIVE_STR(curve_clients_dir, "curve_clients_dir");
#undef LIVE_U64
#undef LIVE_BOOL
#undef LIVE_STR
        curve_keys_reload(m);
        attachments_recheck_keys(m, key_still_valid);
        if (heartbeat_changed && arm_heartbeat(m) < 0)
                log_warning("Cannot re-arm the heartbeat after the reload.");
        log_info("Configuration reloaded.");
        (void)sd_notify(0, "READY=1");
}

static int on_sighup(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
        reload_config(userdata);
        return 0;
}

static int add_signal(Manager *m, sd_event_source **ret, int sig, sd_event_signal_handler_t h, const char *d)
{
        int r = sd_event_add_signal(m->event, ret, sig, h, m);

        if (r < 0)
                return log_error_errno(r, "Cannot watch signal %d: %m", sig);
        (void)sd_event_source_set_description(*ret, d);
        return 0;
}

int manager_new(Config *config, const char *shim_path, Manager **ret)
{
        _cleanup_(manager_freep) Manager *m = NULL;
        int r;

        m = calloc(1, sizeof *m);
        if (!m)
                return log_oom();
        m->lock_fd = m->runtime_fd = m->state_fd = -EBADF;
        m->config = *config;
        *config = (Config){};
        m->started_usec = now_usec(CLOCK_MONOTONIC);
        m->agent_observer = call_wait_observe;

        if (shim_path[0] != '/' || access(shim_path, X_OK) < 0)
                return log_error_errno(shim_path[0] != '/' ? -EINVAL : -errno,
                                       "The shim %s is not an absolute path to an executable: %m",
                                       shim_path);
        m->shim_path = strdup(shim_path);
        if (!m->shim_path)
                return log_oom();

        r = sd_event_default(&m->event);
        if (r < 0)
                return log_error_errno(r, "Cannot create the event loop: %m");
        (void)sd_event_set_watchdog(m->event, true);

        r = setup_runtime_dir(m);
        if (r < 0)
                return r;
        r = agent_cgroup_root_setup(m->config.cgroup_driver, m->config.cgroup_root, m->event, &m->cgroup);
        if (r < 0)
                return r; /* logged */
        r = request_cache_new(REQUEST_CACHE_MAX, REQUEST_CACHE_BYTES_MAX, &m->request_cache);
        if (r >= 0)
                manager_apply_request_limits(m);
        if (r >= 0) {
                struct timespec ts;

                /* the replies of state-changing requests from before a restart (logged, never fatal) */
                (void)clock_gettime(CLOCK_REALTIME, &ts);
                r = request_cache_open_journal(
                        m->request_cache, m->state_fd, m->config.state_dir, now_usec(CLOCK_MONOTONIC),
                        (uint64_t)ts.tv_sec * USEC_PER_SEC + (uint64_t)ts.tv_nsec / 1000);
        }
        if (r >= 0)
                r = tenant_ledger_new(&m->tenant_ledger);
        if (r >= 0)
                r = busy_hold_new(m->event, control_send_held, m, &m->busy_hold);
        if (r >= 0)
                r = event_ring_new(EVENT_RING_DEFAULT_CAPACITY, EVENT_RING_DEFAULT_DATA_BYTES,
                                   &m->event_ring);
        if (r < 0)
                return log_oom();

        r = sandbox_setup_check(m);
        if (r < 0)
                return r; /* logged */

        /* what came before a restart: the events (and their seq), then the agents; only then the sockets,
         * so that the first request already sees every agent */
        r = event_log_open(m->state_fd, m->config.state_dir, EVENT_RING_DEFAULT_CAPACITY,
                           EVENT_RING_DEFAULT_DATA_BYTES, m->event_ring, &m->next_event_seq, &m->event_log);
        if (r < 0)
                log_warning_errno(r, "Cannot open the event log in %s, events will not outlive this run: %m",
                                  m->config.state_dir);
        r = adopt_all(m);
        if (r < 0)
                return r;
        /* the quotas of this start, for the tenants whose agents outlived the last one */
        tenants_log_unenforceable(m);
        backend_table_log_missing_env(&m->config.backends);
        tenants_apply_quotas(m);

        if (m->config.events)
                log_warning("Configuration: events = %s is obsolete and ignored: events now come over the "
                            "control endpoint (the subscribe op). Remove the setting.",
                            m->config.events);
        r = setup_zmq(m);
        if (r < 0)
                return r;

        r = add_signal(m, &m->sigterm, SIGTERM, on_terminate, "sigterm");
        if (r >= 0)
                r = add_signal(m, &m->sigint, SIGINT, on_terminate, "sigint");
        if (r >= 0)
                r = add_signal(m, &m->sighup, SIGHUP, on_sighup, "sighup");
        if (r < 0)
                return r;
        r = arm_heartbeat(m);
        if (r < 0)
                return log_error_errno(r, "Cannot arm the heartbeat: %m");
        r = metrics_textfile_start(m);
        if (r < 0)
                return log_error_errno(r, "Cannot start the metrics textfile: %m");

        *ret = TAKE_PTR(m);
        return 0;
}

Manager *manager_free(Manager *m)
{
        if (!m)
                return NULL;
        /* requests still in progress stay BEGIN in the journal: interrupted for the next daemon, whose
         * answer to their resend is never to perform them again */
        if (m->request_cache)
                request_cache_close_journal(m->request_cache);
        while (m->calls)
                call_free(m->calls);
        subscriptions_free_all(m);
        attachments_free_all(m);
        while (m->agents)
                agent_free(m->agents);
        m->control_source = zmq_source_free(m->control_source);
        m->zap_source = zmq_source_free(m->zap_source);
        /* the monitors stop before the sockets they watch close, and their sockets must be closed before
         * the context can end */
        m->connection_limit = connection_limit_free(m->connection_limit);
        if (m->control)
                zmq_close(m->control);
        if (m->zap)
                zmq_close(m->zap);
        if (m->zmq_ctx)
                zmq_ctx_term(m->zmq_ctx);
        m->curve_keys = curve_keys_free(m->curve_keys);
        strv_free(m->listen_bound);
        /* libzmq returns the charges of the replies it still held while the context ends */
        zmq_send_set_budget(NULL, NULL);
        m->reply_budget = send_budget_free(m->reply_budget);
        sd_event_source_disable_unref(m->sigterm);
        sd_event_source_disable_unref(m->sigint);
        sd_event_source_disable_unref(m->sighup);
        sd_event_source_disable_unref(m->heartbeat);
        metrics_textfile_stop(m);
        sd_event_source_disable_unref(m->shutdown_timer);
        busy_hold_free(m->busy_hold);
        sd_event_unref(m->event);
        request_cache_free(m->request_cache);
        tenant_ledger_free(m->tenant_ledger);
        event_ring_free(m->event_ring);
        seccomp_cache_free(m->seccomp_cache);
        event_log_free(m->event_log);
        trash_free(m->trash);
        /* every ended agent's record on disk before we go */
        m->record_sync = record_sync_free(m->record_sync);
        uid_pool_free(m->uid_pool);
        agent_cgroup_root_free(m->cgroup);
        safe_close(m->lock_fd);
        safe_close(m->runtime_fd);
        safe_close(m->state_fd);
        config_done(&m->config);
        free(m->shim_path);
        free(m);
        return NULL;
}

int manager_run(Manager *m)
{
        int r;

        log_info("descartesd %s ready: control %s, cgroup %s (driver %s, controllers:%s%s%s%s).",
                 DESCARTES_VERSION, m->config.control, m->cgroup->path, m->cgroup->driver,
                 strv_length(m->cgroup->enabled) ? "" : " none",
                 agent_cgroup_root_has(m->cgroup, "cpu") ? " cpu" : "",
                 agent_cgroup_root_has(m->cgroup, "memory") ? " memory" : "",
                 agent_cgroup_root_has(m->cgroup, "pids") ? " pids" : "");
        (void)sd_notify(0, "READY=1\nSTATUS=Ready, no agents");
        r = sd_event_loop(m->event);
        (void)sd_notify(0, "STOPPING=1");
        if (r < 0)
                return log_error_errno(r, "The event loop failed: %m");
        return 0;
}
