/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <time.h>
#include <uuid/uuid.h>

#include "agent-log.h"
#include "agent-cgroup.h"
#include "agent-record.h"
#include "agent-health.h"
#include "agent.h"
#include "attachment.h"
#include "events.h"
#include "fd-util.h"
#include "agent-watch.h"
#include "limit-watch.h"
#include "log.h"
#include "proc-util.h"
#include "string-util.h"
#include "time-util.h"
#include "trash.h"

#define KILL_WAIT_USEC (5 * USEC_PER_SEC)

int agent_new(Manager *m, uid_t owner, Agent **ret)
{
        char id[AGENT_ID_LEN + 1];
        Agent *a;
        uuid_t u;

        a = calloc(1, sizeof *a);
        if (!a)
                return -ENOMEM;
        a->manager = m;
        a->info.owner_uid = owner;
        a->info.state = PROTO_STATE_STARTING;
        a->shim.control_fd = -EBADF;
        a->shim.pid = PIDREF_NULL;
        a->info.created_ns = now_ns(CLOCK_REALTIME);
        a->next_cookie = 1;
        a->next_exec_cookie = a->info.created_ns;
        uuid_generate_random(u);
        uuid_unparse_lower(u, id);
        a->info.id = strdup(id);
        if (!a->info.id) {
                free(a);
                return -ENOMEM;
        }

        a->next = m->agents;
        if (m->agents)
                m->agents->prev = a;
        m->agents = a;
        m->n_agents++;
        *ret = a;
        return 0;
}

static void freezer_unwatch(Agent *a);

Agent *agent_free(Agent *a)
{
        Manager *m;

        if (!a)
                return NULL;
        m = a->manager;
        agent_notify(a, &(AgentNotice){.type = AGENT_NOTICE_FREED});
        shim_link_detach(a);
        if (a->shim.child_source && agent_state_is_ended(a->info.state) && pidref_is_set(&a->shim.pid)) {
                /* an ended agent's shim has exited or is about to: reap it rather than leave a zombie */
                siginfo_t si = {};
                (void)waitid(P_PIDFD, (id_t)a->shim.pid.fd, &si, WEXITED | WNOHANG);
        }
        sd_event_source_disable_unref(a->shim.child_source);
        sd_event_source_disable_unref(a->shim.exec_report);
        sd_event_source_disable_unref(a->timers.stop_timer);
        sd_event_source_disable_unref(a->timers.runtime_timer);
        sd_event_source_disable_unref(a->timers.output_timer);
        sd_event_source_disable_unref(a->timers.retention_timer);
        agent_health_stop(a);
        exec_ttys_free(a);
        agent_spawn_plan_free(a); /* a creation of its cgroups under way is abandoned */
        limit_watch_free(a->kernel.limit_watch);
        freezer_unwatch(a);
        pidref_done(&a->shim.pid);
        cgroup_handle_free(a->kernel.cg);
        if (a->prev)
                a->prev->next = a->next;
        else if (m->agents == a)
                m->agents = a->next;
        if (a->next)
                a->next->prev = a->prev;
        m->n_agents--;
        if (agent_state_is_ended(a->info.state))
                m->n_agents_ended--;
        proto_agent_info_done(&a->info);
        free(a->end.failed_msg);
        free(a->state_path);
        free(a->runtime_path);
        free(a);
        return NULL;
}

bool agent_name_is_valid(const char *name)
{
        size_t n = strlen(name);

        if (n == 0 || n > PROTO_NAME_MAX || !isalnum((unsigned char)name[0]))
                return false;
        for (size_t i = 1; i < n; i++)
                if (!isalnum((unsigned char)name[i]) && !strchr("._-", name[i]))
                        return false;
        return true;
}

Agent *agent_find_by_name(Manager *m, uid_t owner, const char *name)
{
        for (Agent *a = m->agents; a; a = a->next)
                if (a->info.owner_uid == owner && a->info.name && streq(a->info.name, name))
                        return a;
        return NULL;
}

/* TENANT of TENANT/NAME: a numeric uid or a user name. */
static int tenant_uid(const char *s, size_t n, uid_t *ret)
{
        char buf[PROTO_AGENT_REF_MAX + 1], pwbuf[4096];
        struct passwd pw, *pwp = NULL;
        bool digits = n > 0;

        if (n == 0 || n >= sizeof buf)
                return -EINVAL;
        memcpy(buf, s, n);
        buf[n] = 0;
        for (size_t i = 0; i < n; i++)
                digits = digits && isdigit((unsigned char)buf[i]);
        if (digits) {
                char *end;
                unsigned long v;

                errno = 0;
                v = strtoul(buf, &end, 10);
                if (errno != 0 || *end || v >= (uid_t)-1)
                        return -ERANGE;
                *ret = (uid_t)v;
                return 0;
        }
        if (getpwnam_r(buf, &pw, pwbuf, sizeof pwbuf, &pwp) != 0 || !pwp)
                return -ESRCH;
        *ret = pwp->pw_uid;
        return 0;
}

Agent *agent_find(Manager *m, const char *ref, uid_t uid, bool admin)
{
        const char *slash = strchr(ref, '/');
        uid_t owner = uid;

        if (slash) {
                /* names are per tenant: TENANT/NAME names another's agent, for admins only (and a tenant
                 * naming itself); for anyone else it is as absent as an unknown agent */
                if (tenant_uid(ref, (size_t)(slash - ref), &owner) < 0 || (!admin && owner != uid))
                        return NULL;
                return agent_find_by_name(m, owner, slash + 1);
        }
        for (Agent *a = m->agents; a; a = a->next)
                if ((admin || a->info.owner_uid == uid) && streq(a->info.id, ref))
                        return a;
        return agent_find_by_name(m, uid, ref);
}

size_t agent_count_owned(Manager *m, uid_t uid)
{
        size_t n = 0;

        for (Agent *a = m->agents; a; a = a->next)
                if (a->info.owner_uid == uid)
                        n++;
        return n;
}

void agent_state_publish(Agent *a, ProtoState state)
{
        events_publish(a->manager, PROTO_EVENT_STATUS_CHANGED, a, &state,
                       a->info.has_reason ? &a->info.reason : NULL, NULL);
}

int agent_state_set(Agent *a, AgentEvent e)
{
        ProtoState next = agent_state_next(a->info.state, e);

        if (next < 0)
                return -EBUSY;
        if (next == a->info.state)
                return 0;
        log_agent_debug(a, "%s --%s--> %s", proto_state_to_string(a->info.state), agent_event_to_string(e),
                        proto_state_to_string(next));
        if (agent_state_is_ended(next) && !agent_state_is_ended(a->info.state))
                a->manager->n_agents_ended++;
        else if (!agent_state_is_ended(next) && agent_state_is_ended(a->info.state))
                a->manager->n_agents_ended--;
        a->info.state = next;
        return 1;
}

int agent_transition(Agent *a, AgentEvent e)
{
        int r = agent_state_set(a, e);

        if (r <= 0)
                return r;
        agent_state_publish(a, a->info.state);
        agent_save_record(a);
        return 0;
}

void agent_notify(Agent *a, const AgentNotice *n)
{
        if (a->manager->agent_observer)
                a->manager->agent_observer(a, n);
}

/* The agent's pid on the host: the process of payload/ whose innermost NSpid is the pid the shim saw. */
static int agent_host_pid(Agent *a, pid_t *ret)
{
        _cleanup_free_ pid_t *pids = NULL;
        size_t n = 0;
        int r;

        if (!a->kernel.cg)
                return -ESRCH;
        if (a->ns_pid > 0 && a->host_pid_of == a->ns_pid) {
                *ret = a->host_pid;
                return 0;
        }
        r = cgroup_handle_list_pids(a->kernel.cg, CGROUP_PART_PAYLOAD, &pids, &n);
        if (r < 0)
                return r;
        for (size_t k = 0; k < n && k < 64; k++) {
                pid_t ns;

                if (a->ns_pid > 0 && proc_pid_nspid(pids[k], &ns) >= 0 && ns == a->ns_pid) {
                        a->host_pid = *ret = pids[k];
                        a->host_pid_of = a->ns_pid;
                        return 0;
                }
        }
        if (n == 0)
                return -ESRCH;
        *ret = pids[0];
        return 0;
}

int agent_fill_info(Agent *a, bool usage, ProtoAgentInfo *ret)
{
        _cleanup_(proto_agent_info_done) ProtoAgentInfo i = {};
        int r;

        r = proto_agent_info_copy(&a->info, &i);
        if (r < 0)
                return r;
        if (!agent_state_is_ended(a->info.state) && a->info.state != PROTO_STATE_STARTING) {
                pid_t pid;
                if (agent_host_pid(a, &pid) >= 0) {
                        i.has_pid = true;
                        i.pid = pid;
                }
        }
        if (!usage)
                i.has_usage = false;
        else if (a->kernel.cg) {
                i.has_usage = true;
                agent_cgroup_usage(a->kernel.cg, &i.usage);
        }
        *ret = i;
        i = (ProtoAgentInfo){};
        return 0;
}

/* At most this many freezer fds at once, out of the daemon's own descriptors (CONNECTION_FDS_DAEMON): a
 * batch that pauses thousands of busy agents completes the others through the cgroup watch. */
#define FREEZER_FDS_MAX 16

static void freezer_close(Agent *a, int fd)
{
        if (fd < 0)
                return;
        safe_close(fd);
        a->manager->freezer_fds--;
}

/* Closes the fd now, also from the source's own callback (after which sd-event would free the source, and
 * an fd it owned, only once the reply has gone). */
static void freezer_unwatch(Agent *a)
{
        int fd;

        if (!a->kernel.freezer)
                return;
        fd = sd_event_source_get_io_fd(a->kernel.freezer);
        a->kernel.freezer = sd_event_source_disable_unref(a->kernel.freezer);
        freezer_close(a, fd);
}

/* Whether PAYLOAD is frozen: through the freezer fd of a pause or resume under way, else from the state. */
static int freezer_frozen(Agent *a)
{
        CgroupState st;
        int r;

        if (a->kernel.freezer) {
                r = cgroup_freezer_read(sd_event_source_get_io_fd(a->kernel.freezer));
                if (r >= 0)
                        return r;
                /* its cgroup gone, or a read that failed: the cgroup watch still tells */
                log_agent_debug_errno(a, r, "Failed to read its freezer state: %m");
                freezer_unwatch(a);
        }
        if (!a->kernel.cg)
                return -ENOENT;
        r = cgroup_handle_read_state(a->kernel.cg, &st);
        return r < 0 ? r : st.frozen;
}

/* Completes a pause or resume the cgroup has done: the state, the reply, then (off the reply's path) the
 * event and the record. */
static void complete_freeze(Agent *a)
{
        int frozen, r = 0;

        if (a->info.state != PROTO_STATE_PAUSING && a->info.state != PROTO_STATE_RESUMING) {
                freezer_unwatch(a);
                return;
        }
        frozen = freezer_frozen(a);
        if (frozen < 0 || frozen != (a->info.state == PROTO_STATE_PAUSING))
                return;
        /* done with the freezer's fd before the reply: nothing of the request outlives it */
        freezer_unwatch(a);
        if (a->info.state == PROTO_STATE_PAUSING) {
                r = agent_state_set(a, AGENT_EVENT_FROZEN);
                if (r > 0)
                        agent_notify(a, &(AgentNotice){.type = AGENT_NOTICE_FROZEN});
        } else {
                r = agent_state_set(a, AGENT_EVENT_THAWED);
                if (r > 0)
                        agent_notify(a, &(AgentNotice){.type = AGENT_NOTICE_THAWED});
        }
        if (r <= 0)
                return;
        agent_state_publish(a, a->info.state);
        agent_save_record(a);
}

void agent_check_frozen(Agent *a)
{
        complete_freeze(a);
}

static int on_freezer(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        complete_freeze(userdata);
        return 0;
}

/* Watches the freezer fd (taking it: freezer_unwatch() closes it) until the cgroup is done. The kernel wakes
 * a poll of cgroup.events at once, an inotify watch only from a worker thread later (a scheduling hop on the
 * reply's path); without the fd (no descriptor to spare) the cgroup watch still completes it. */
static void freezer_watch(Agent *a, int fd)
{
        int r;

        if (a->kernel.freezer) { /* a pause while a resume is under way, or the reverse */
                freezer_close(a, fd);
                return;
        }
        r = sd_event_add_io(a->manager->event, &a->kernel.freezer, fd, EPOLLPRI, on_freezer, a);
        if (r < 0) {
                freezer_close(a, fd);
                log_agent_debug_errno(a, r, "Failed to watch its freezer state, its cgroup watch tells: %m");
                return;
        }
        (void)sd_event_source_set_description(a->kernel.freezer, "agent-freezer");
}

/* After pause or resume asked the cgroup and set the intermediate state `was`: the freeze may be complete
 * already (an idle cgroup's often is, a thaw always; its reply then goes first); the intermediate state's
 * event precedes the final one's, and the record follows. fd: the freezer fd opened before the request
 * (or negative), read first, then watched while the cgroup is on its way.
 * While the cgroup is still freezing (or thawing) the intermediate state is not saved: the kernel works
 * while we would write, and the reply would wait for the write; a restarted daemon takes pausing and
 * resuming from the cgroup (adopt_freezer), and the final state's record follows when the cgroup is done
 * (complete_freeze). */
static void complete_freeze_after(Agent *a, ProtoState was, int fd)
{
        int frozen = fd >= 0 ? cgroup_freezer_read(fd) : -EBADF;

        if (frozen < 0)
                frozen = freezer_frozen(a);
        if (frozen < 0 || frozen != (was == PROTO_STATE_PAUSING)) {
                if (fd >= 0)
                        freezer_watch(a, fd);
                agent_state_publish(a, was);
                return;
        }
        freezer_close(a, fd);
        freezer_unwatch(a);
        (void)agent_state_set(a, was == PROTO_STATE_PAUSING ? AGENT_EVENT_FROZEN : AGENT_EVENT_THAWED);
        agent_notify(a, &(AgentNotice){.type = was == PROTO_STATE_PAUSING ? AGENT_NOTICE_FROZEN
                                                                          : AGENT_NOTICE_THAWED});
        agent_state_publish(a, was);
        agent_state_publish(a, a->info.state);
        agent_save_record(a);
}

/* The freezer fd for a pause or resume, opened before its write so that no change goes unheard. */
static int freezer_open(Agent *a)
{
        int fd;

        if (a->manager->freezer_fds >= FREEZER_FDS_MAX)
                return -EMFILE;
        fd = cgroup_handle_freezer_open(a->kernel.cg);
        if (fd < 0) {
                log_agent_debug_errno(a, fd, "Failed to open its freezer state, its cgroup watch tells: %m");
                return fd;
        }
        a->manager->freezer_fds++;
        return fd;
}

void agent_save_record(Agent *a)
{
        bool was_failing = a->record_failed;
        int r = agent_record_save(a);

        if (r >= 0 || was_failing)
                return;
        a->manager->stats.record_write_failures++;
        {
                ProtoValue data = {};
                char msg[256];
                (void)snprintf(
                        msg, sizeof msg,
                        "the agent's record could not be written (%s): a restarted daemon would not know "
                        "its latest state",
                        strerror(-r));
                if (proto_event_data_encode(PROTO_EVENT_ERROR, &(ProtoEventData){.error.msg = msg}, &data) >=
                    0)
                        events_publish(a->manager, PROTO_EVENT_ERROR, a, NULL, NULL, &data);
                proto_value_done(&data);
        }
}

void agent_release_handles(Agent *a)
{
        if (!agent_state_is_ended(a->info.state))
                return;
        a->shim.child_source = sd_event_source_disable_unref(a->shim.child_source);
        a->shim.exec_report = sd_event_source_disable_unref(a->shim.exec_report);
        freezer_unwatch(a);
        shim_link_detach(a);
        pidref_done(&a->shim.pid);
}

static void finish_remove(Agent *a);

/* Removes its cgroups once empty: true when this call removed them. Never frees a: the caller finishes a
 * removal that waited for it. */
static bool try_remove_cgroups(Agent *a)
{
        CgroupState st;
        int r;

        if (a->kernel.cgroups_removed || !a->kernel.cg)
                return false;
        r = cgroup_handle_read_state(a->kernel.cg, &st);
        if (r < 0 && r != -ENOENT) {
                log_agent_debug_errno(a, r, "Failed to read its cgroup's state: %m");
                return false;
        }
        if (r >= 0 && st.populated)
                return false;
        r = cgroup_handle_remove(a->kernel.cg);
        if (r < 0) {
                log_agent_debug_errno(a, r, "Failed to remove its cgroups yet: %m");
                return false;
        }
        a->kernel.limit_watch = limit_watch_free(a->kernel.limit_watch);
        a->kernel.cg = cgroup_handle_free(a->kernel.cg);
        a->kernel.cgroups_removed = true;
        return true;
}

static void on_cgroup_change(CgroupHandle *h, unsigned changes, void *userdata)
{
        Agent *a = userdata;

        if (changes & CGROUP_CHANGE_COUNTERS)
                limit_watch_check(a->kernel.limit_watch);
        if (changes & CGROUP_CHANGE_FROZEN)
                agent_check_frozen(a);
        if ((changes & CGROUP_CHANGE_POPULATED) && agent_state_is_ended(a->info.state)) {
                if (try_remove_cgroups(a) && a->remove_requested)
                        finish_remove(a); /* last: frees a */
        }
}

int agent_watch_cgroups(Agent *a)
{
        return cgroup_handle_watch(a->kernel.cg, on_cgroup_change, a);
}

int agent_pause(Agent *a)
{
        int fd, r;

        if (agent_state_next(a->info.state, AGENT_EVENT_PAUSE) < 0)
                return -EBUSY;
        fd = freezer_open(a);
        r = cgroup_handle_freeze(a->kernel.cg);
        if (r < 0) {
                freezer_close(a, fd);
                return r;
        }
        /* the events (pausing, then paused when the freeze is done already) and the record come after the
         * reply, in that order (complete_freeze_after) */
        if (agent_state_set(a, AGENT_EVENT_PAUSE) <= 0) {
                freezer_close(a, fd);
                return 0;
        }
        complete_freeze_after(a, PROTO_STATE_PAUSING, fd);
        return 0;
}

int agent_resume(Agent *a)
{
        int fd, r;

        if (agent_state_next(a->info.state, AGENT_EVENT_RESUME) < 0)
                return -EBUSY;
        fd = freezer_open(a);
        r = cgroup_handle_thaw(a->kernel.cg);
        if (r < 0) {
                freezer_close(a, fd);
                return r;
        }
        if (agent_state_set(a, AGENT_EVENT_RESUME) <= 0) {
                freezer_close(a, fd);
                return 0;
        }
        agent_notify(a, &(AgentNotice){.type = AGENT_NOTICE_RESUMED});
        complete_freeze_after(a, PROTO_STATE_RESUMING, fd);
        return 0;
}

static int kill_cgroup(Agent *a)
{
        int r;

        if (!a->kernel.cg)
                return 0;
        r = cgroup_handle_kill(a->kernel.cg);
        if (r >= 0)
                a->end.cgroup_killed = true;
        return r;
}

static void leave_frozen(Agent *a)
{
        if (a->info.state == PROTO_STATE_PAUSED || a->info.state == PROTO_STATE_PAUSING ||
            a->info.state == PROTO_STATE_RESUMING)
                (void)cgroup_handle_thaw(a->kernel.cg);
        agent_notify(a, &(AgentNotice){.type = AGENT_NOTICE_STOPPING});
}

int agent_stop(Agent *a, uint64_t grace_usec)
{
        int r;

        if (agent_state_next(a->info.state, AGENT_EVENT_STOP) < 0)
                return -EBUSY;
        if (a->info.state == PROTO_STATE_STOPPING)
                return 0;
        a->end.stop_requested = true;
        /* a frozen agent cannot handle SIGTERM: thaw it first */
        leave_frozen(a);
        a->timers.stop_deadline_usec = grace_usec > 0 ? now_usec(CLOCK_MONOTONIC) + grace_usec : 0;
        (void)agent_transition(a, AGENT_EVENT_STOP);
        if (agent_spawn_abort(a)) {
                /* nothing runs yet */
                agent_finalize(a);
                return 0;
        }
        if (a->info.state == PROTO_STATE_STOPPING && a->ns_pid > 0 && a->shim.control_fd >= 0)
                r = shim_link_send_signal(a, SIGTERM);
        else
                r = -ENOTCONN;
        if (r < 0 || grace_usec == 0)
                return kill_cgroup(a);
        /* the one grace timer, also re-armed by adoption from stop_deadline_usec */
        return agent_arm_stop_deadline(a);
}

int agent_kill(Agent *a)
{
        if (agent_state_next(a->info.state, AGENT_EVENT_STOP) < 0)
                return -EBUSY;
        a->end.kill_requested = true;
        leave_frozen(a);
        (void)agent_transition(a, AGENT_EVENT_STOP);
        if (agent_spawn_abort(a)) {
                agent_finalize(a);
                return 0;
        }
        return kill_cgroup(a);
}

int agent_send_signal(Agent *a, int sig)
{
        if (a->info.state == PROTO_STATE_STARTING || agent_state_is_ended(a->info.state) || a->ns_pid <= 0)
                return -EBUSY;
        return shim_link_send_signal(a, sig);
}

static void read_exit_record(Agent *a)
{
        _cleanup_free_ char *buf = NULL;
        _cleanup_close_ int tmp = -EBADF;
        size_t size = 0;
        ShimExitRecord rec;
        int dfd;

        if (a->end.have_exit_record)
                return;
        dfd = agent_state_dir(a, &tmp);
        if (dfd < 0)
                return;
        if (read_file_at(dfd, SHIM_EXIT_FILE, 4096, &buf, &size) < 0 || size != sizeof rec)
                return;
        memcpy(&rec, buf, sizeof rec);
        if (rec.magic != SHIM_EXIT_MAGIC)
                return;
        a->end.exit_record = rec;
        a->end.have_exit_record = true;
}

static int on_retention(sd_event_source *s, uint64_t usec, void *userdata)
{
        Agent *a = userdata;

        a->timers.retention_timer = sd_event_source_disable_unref(a->timers.retention_timer);
        log_agent_info(a, "Ended longer ago than the retention period: removing it.");
        (void)agent_remove(a);
        return 0;
}

/* Absolute, from ended_ns on the wall clock: the same deadline for the daemon that saw the end and for one
 * that re-adopts the ended agent after a restart. */
void agent_arm_retention(Agent *a)
{
        Manager *m = a->manager;

        if (m->config.retention_usec == 0 || a->timers.retention_timer)
                return;
        uint64_t at = a->info.ended_ns / NSEC_PER_USEC + m->config.retention_usec;

        if (sd_event_add_time(m->event, &a->timers.retention_timer, CLOCK_REALTIME, at, USEC_PER_SEC,
                              on_retention, a) >= 0)
                (void)sd_event_source_set_description(a->timers.retention_timer, "agent-retention");
}

/* What the agent used, read before its cgroup goes: cpu.stat is always there, memory.peak with the memory
 * controller only (0 then means unknown). */
static void agent_read_final_usage(Agent *a)
{
        CgroupUsage u;

        if (!a->kernel.cg || cgroup_handle_read_usage(a->kernel.cg, &u) < 0 || !u.has_cpu)
                return;
        a->info.has_usage = true;
        a->info.usage.cpu_usec = u.cpu_usec;
        if (u.has_memory_peak)
                a->info.usage.memory_peak = u.memory_peak;
}

void agent_finalize(Agent *a)
{
        Manager *m = a->manager;
        const ShimExitRecord *rec = a->end.have_exit_record ? &a->end.exit_record : NULL;
        uint64_t oom = 0;
        bool started = a->info.started_ns > 0, ended;
        AgentEvent end;
        char msg[PROTO_ERROR_MSG_MAX];

        if (agent_state_is_ended(a->info.state))
                return;
        agent_health_stop(a);
        read_exit_record(a);
        rec = a->end.have_exit_record ? &a->end.exit_record : NULL;
        if (rec && rec->spawn_failed && !a->end.spawn_failed) {
                a->end.spawn_failed = true;
                a->end.failed_stage = rec->stage;
                a->end.failed_error = rec->error;
        }

        if (rec && rec->spawn_failed == 0) {
                if (rec->signal > 0) {
                        a->info.has_signal = true;
                        a->info.signal = rec->signal;
                } else if (rec->code >= 0) {
                        a->info.has_exit_code = true;
                        a->info.exit_code = rec->code;
                }
        } else if (!rec && a->end.cgroup_killed) {
                /* cgroup.kill took the shim too, so nobody wrote an exit record: the agent died of SIGKILL
                 */
                a->info.has_signal = true;
                a->info.signal = SIGKILL;
        }
        a->info.has_reason = true;
        if ((a->end.spawn_failed || !started) && !a->end.stop_requested && !a->end.kill_requested) {
                end = AGENT_EVENT_SPAWN_FAILED;
                a->info.reason = PROTO_REASON_SPAWN_FAILED;
                if (!a->end.failed_msg) {
                        if (a->end.spawn_failed)
                                (void)snprintf(msg, sizeof msg, "stage %s: %s",
                                               shim_stage_to_string(a->end.failed_stage),
                                               strerror(a->end.failed_error));
                        else
                                (void)snprintf(msg, sizeof msg, "the shim ended before the agent started");
                        a->end.failed_msg = strdup(msg);
                }
        } else {
                end = AGENT_EVENT_EXITED;
                if (a->kernel.cg)
                        oom = agent_cgroup_oom_kills(a->kernel.cg, a->end.oom_kills_at_start);
                limit_watch_check(a->kernel.limit_watch);
                if (a->end.kill_requested)
                        a->info.reason = PROTO_REASON_KILLED;
                else if (a->end.timed_out)
                        a->info.reason = PROTO_REASON_TIMED_OUT;
                else if (a->end.stop_requested)
                        a->info.reason = PROTO_REASON_STOPPED;
                else if (oom > a->end.oom_kills_at_start)
                        a->info.reason = PROTO_REASON_OOM_KILLED;
                else if (limit_watch_pids_hit(a->kernel.limit_watch) &&
                         (a->info.has_signal || (a->info.has_exit_code && a->info.exit_code != 0)))
                        /* a refused fork, then a failure: the limit is the likely cause (docs/protocol.md)
                         */
                        a->info.reason = PROTO_REASON_PIDS_LIMIT;
                else if (a->info.has_signal)
                        a->info.reason = PROTO_REASON_SIGNALED;
                else if (a->info.has_exit_code)
                        a->info.reason = PROTO_REASON_COMPLETED;
                else
                        a->info.reason = PROTO_REASON_LOST;
        }
        a->info.ended_ns = rec && rec->ended_ns ? rec->ended_ns : now_ns(CLOCK_REALTIME);
        a->info.has_ended_ns = true;
        a->stdin_open = false;
        agent_read_final_usage(a);
        /* every live state ends on EXITED; SPAWN_FAILED ends only one that never ran */
        if (!agent_state_is_ended(agent_state_next(a->info.state, end)))
                end = AGENT_EVENT_EXITED;
        ended = agent_state_set(a, end) > 0;
        /* the requests waiting for the end (wait, stop, kill, a spawn that failed) are answered first;
         * status_changed, the record and the exited event follow, in that order */
        agent_notify(a, &(AgentNotice){.type = AGENT_NOTICE_ENDED, .msg = a->end.failed_msg});
        if (ended) {
                agent_state_publish(a, a->info.state);
                agent_save_record(a);
        }
        log_agent_info(a, "%s (%s%s%s).", proto_state_to_string(a->info.state),
                       proto_reason_to_string(a->info.reason), a->end.failed_msg ? ": " : "",
                       a->end.failed_msg ?: "");
        {
                ProtoEventData d = {
                        .exited = {
                                .has_exit_code = a->info.has_exit_code,
                                .exit_code = a->info.exit_code,
                                .has_signal = a->info.has_signal,
                                .signal = a->info.signal,
                                .has_cpu_usec = a->info.has_usage,
                                .cpu_usec = a->info.usage.cpu_usec,
                                .has_memory_peak = a->info.has_usage && a->info.usage.memory_peak > 0,
                                .memory_peak = a->info.usage.memory_peak,
                        }};
                ProtoValue data = {};
                if (d.exited.has_exit_code || d.exited.has_signal || d.exited.has_cpu_usec)
                        (void)proto_event_data_encode(PROTO_EVENT_EXITED, &d, &data);
                events_publish(m, PROTO_EVENT_EXITED, a, &a->info.state, &a->info.reason,
                               data.data ? &data : NULL);
                proto_value_done(&data);
        }
        attachments_agent_ended(m, a);

        a->timers.stop_timer = sd_event_source_disable_unref(a->timers.stop_timer);
        a->timers.runtime_timer = sd_event_source_disable_unref(a->timers.runtime_timer);

        agent_arm_retention(a);

        /* nothing the agent left behind may survive it */
        (void)kill_cgroup(a);
        (void)try_remove_cgroups(a);
        manager_check_shutdown(m);
}

static void finish_remove(Agent *a)
{
        int r;

        if (a->state_path) {
                /* a tenant's tree of any depth: gone from here at once, deleted off the loop */
                r = a->manager->trash ? trash_move(a->manager->trash, AT_FDCWD, a->state_path, a->info.id)
                                      : -ENOENT;
                if (r < 0 && r != -ENOENT) {
                        log_warning_errno(r, "Cannot move %s to the trash (%m), deleting it here.",
                                          a->state_path);
                        r = rm_rf_at(AT_FDCWD, a->state_path);
                }
                if (r < 0 && r != -ENOENT)
                        log_warning_errno(r, "Cannot remove %s, ignoring: %m", a->state_path);
        }
        if (a->runtime_path) {
                r = rm_rf_at(AT_FDCWD, a->runtime_path);
                if (r < 0 && r != -ENOENT)
                        log_warning_errno(r, "Cannot remove %s, ignoring: %m", a->runtime_path);
        }
        agent_notify(a, &(AgentNotice){.type = AGENT_NOTICE_REMOVED});
        agent_free(a);
}

int agent_remove(Agent *a)
{
        if (!agent_state_is_ended(a->info.state))
                return -EBUSY;
        if (a->remove_requested)
                return 1;
        (void)try_remove_cgroups(a);
        if (a->kernel.cg && !a->kernel.cgroups_removed) {
                /* what cgroup.kill hit may take a moment to go: finish on cgroup.events populated 0 */
                a->remove_requested = true;
                return 1;
        }
        finish_remove(a);
        return 0;
}
