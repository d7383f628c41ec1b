/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <uuid/uuid.h>

#include "analyzer.h"
#include "adopt.h"
#include "agent-log.h"
#include "agent-cgroup.h"
#include "agent-record.h"
#include "agent-watch.h"
#include "event-ring.h"
#include "events.h"
#include "fd-util.h"
#include "limit-watch.h"
#include "log.h"
#include "output-log.h"
#include "proc-util.h"
#include "string-util.h"
#include "time-util.h"

typedef struct AdoptStats {
        unsigned live, ended, gone, skipped;
} AdoptStats;

static int open_cgroup(Agent *a)
{
        int r;

        r = agent_cgroup_open(a->manager->cgroup, a->info.owner_uid, a->info.id, &a->kernel.cg);
        if (r < 0)
                return r;
        if (!a->info.cgroup && !(a->info.cgroup = strdup(cgroup_handle_path(a->kernel.cg))))
                return -ENOMEM;
        r = agent_watch_cgroups(a);
        if (r < 0)
                log_agent_warning_errno(a, r, "Failed to watch its cgroup again: %m");
        r = limit_watch_start(a, &a->kernel.limit_watch);
        if (r < 0)
                log_agent_warning_errno(a, r, "Failed to watch its limits again: %m");
        return 0;
}

/* Is the process recorded as the shim still that shim? On success a->shim.pid holds its pidfd. */
static int check_shim(Agent *a, const AgentRecordPrivate *p, char *why, size_t n)
{
        _cleanup_(pidref_done) PidRef ref = PIDREF_NULL;
        uint8_t boot[16];
        uint64_t ticks;
        int r;

        if (p->shim_pid <= 0) {
                (void)snprintf(why, n, "no shim was recorded for it");
                return -ESRCH;
        }
        if (boot_id_read(boot) >= 0 && memcmp(boot, p->boot_id, sizeof boot) != 0) {
                (void)snprintf(why, n, "the host has rebooted since its shim (pid %d) was recorded",
                               (int)p->shim_pid);
                return -ESRCH;
        }
        r = pidref_set_pid(&ref, p->shim_pid);
        if (r < 0) {
                (void)snprintf(why, n, "its shim (pid %d) is gone", (int)p->shim_pid);
                return -ESRCH;
        }
        r = proc_pid_start_ticks(ref.pid, &ticks);
        if (r < 0 || pidref_has_exited(&ref) != 0) {
                (void)snprintf(why, n, "its shim (pid %d) has exited", (int)p->shim_pid);
                return -ESRCH;
        }
        if (p->shim_start_ticks != 0 && ticks != p->shim_start_ticks) {
                (void)snprintf(
                        why, n,
                        "its shim (pid %d) is gone: that pid now belongs to another process (start time "
                        "%llu, recorded %llu)",
                        (int)p->shim_pid, (unsigned long long)ticks,
                        (unsigned long long)p->shim_start_ticks);
                return -ESRCH;
        }
        if (!a->kernel.cg || cgroup_handle_has_pid(a->kernel.cg, CGROUP_PART_SHIM, ref.pid) <= 0) {
                (void)snprintf(why, n,
                               "its shim (pid %d) is gone: that pid is not in the agent's shim cgroup",
                               (int)p->shim_pid);
                return -ESRCH;
        }
        a->shim.pid = ref;
        ref = PIDREF_NULL;
        a->shim.start_ticks = ticks;
        return 0;
}

static int connect_shim(Agent *a)
{
        _cleanup_close_ int fd = -EBADF;
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        int r;

        if (!a->runtime_path || strlen(a->runtime_path) + strlen("/shim.sock") >= sizeof sa.sun_path)
                return -ENAMETOOLONG;
        (void)snprintf(sa.sun_path, sizeof sa.sun_path, "%s/shim.sock", a->runtime_path);
        fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return -errno;
        if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0)
                return -errno;
        r = shim_link_attach(a, fd);
        if (r < 0)
                return r;
        TAKE_FD(fd);
        return 0;
}

/* Paused agents stay paused: the freeze the cgroup was asked for and what it is decide the state. */
static void adopt_freezer(Agent *a)
{
        CgroupState st;
        AgentEvent e;
        ProtoState s;

        if (!a->kernel.cg || (a->info.state != PROTO_STATE_RUNNING && a->info.state != PROTO_STATE_PAUSING &&
                              a->info.state != PROTO_STATE_PAUSED && a->info.state != PROTO_STATE_RESUMING))
                return;
        if (cgroup_handle_read_state(a->kernel.cg, &st) < 0)
                return;
        e = st.freeze_requested ? (st.frozen ? AGENT_EVENT_SEEN_FROZEN : AGENT_EVENT_SEEN_FREEZING)
                                : (st.frozen ? AGENT_EVENT_SEEN_THAWING : AGENT_EVENT_SEEN_THAWED);
        s = agent_state_next(a->info.state, e);
        if (s < 0 || s == a->info.state)
                return;
        log_agent_info(a, "Its cgroup says %s (the record said %s).", proto_state_to_string(s),
                       proto_state_to_string(a->info.state));
        (void)agent_transition(a, e);
}

static int agent_from_record(Manager *m, const char *id, AgentRecord *rec, Agent **ret)
{
        const AgentRecordPrivate *p = &rec->priv;
        ProtoAgentInfo *i = &rec->info;
        Agent *a;
        int r;

        r = agent_new(m, i->owner_uid, &a);
        if (r < 0)
                return r;
        /* the record's INFO is the agent's public record; its directory names it */
        proto_agent_info_done(&a->info);
        a->info = *i;
        *i = (ProtoAgentInfo){};
        if (agent_state_is_ended(a->info.state))
                m->n_agents_ended++;
        a->info.has_pid = false;
        free(a->info.id);
        /* analyzer false positive: a owns the copy and agent_free() frees it */
        ANALYZER_IGNORE_LEAK_BEGIN
        a->info.id = strdup(id);
        if (!a->info.id) {
                agent_free(a);
                return -ENOMEM;
        }
        ANALYZER_IGNORE_END

        a->end.stop_requested = p->flags & AGENT_RECORD_STOP_REQUESTED;
        a->end.kill_requested = p->flags & AGENT_RECORD_KILL_REQUESTED;
        a->end.cgroup_killed = p->flags & AGENT_RECORD_CGROUP_KILLED;
        a->end.timed_out = p->flags & AGENT_RECORD_TIMED_OUT;
        a->end.spawn_failed = p->flags & AGENT_RECORD_SPAWN_FAILED;
        a->stdin_open = p->flags & AGENT_RECORD_STDIN_OPEN;
        a->kernel.cgroups_removed = p->flags & AGENT_RECORD_CGROUPS_REMOVED;
        a->ns_pid = p->ns_pid;
        a->end.failed_stage = p->failed_stage;
        a->end.failed_error = p->failed_error;
        a->end.oom_kills_at_start = p->oom_kills_at_start;
        a->timers.runtime_deadline_usec = p->runtime_deadline_usec;
        a->timers.stop_deadline_usec = p->stop_deadline_usec;
        a->output.announced_seq = p->output_announced_seq;
        a->output.stdout_bytes = p->output_stdout_bytes;
        a->output.stderr_bytes = p->output_stderr_bytes;
        a->output.dropped_bytes = p->output_dropped_bytes;
        a->shim.start_ticks = p->shim_start_ticks;
        /* analyzer false positive: a owns the copy and agent_free() frees it */
        ANALYZER_IGNORE_LEAK_BEGIN
        if (p->failed_msg[0] && !(a->end.failed_msg = strdup(p->failed_msg))) {
                agent_free(a);
                return -ENOMEM;
        }
        ANALYZER_IGNORE_END
        if (asprintf_safe(&a->state_path, "%s/agents/%s", m->config.state_dir, id) < 0 ||
            asprintf_safe(&a->runtime_path, "%s/agents/%s", m->config.runtime_dir, id) < 0) {
                agent_free(a);
                return -ENOMEM;
        }
        *ret = a;
        return 0;
}

static void adopt_live(Agent *a, const AgentRecordPrivate *p, AdoptStats *st)
{
        char why[256];
        int r;

        r = open_cgroup(a);
        if (r < 0)
                log_agent_debug_errno(a, r, "Failed to open its cgroup: %m");
        r = check_shim(a, p, why, sizeof why);
        if (r < 0) {
                _cleanup_close_ int tmp = -EBADF;
                int dfd = agent_state_dir(a, &tmp);
                bool have_exit = dfd >= 0 && faccessat(dfd, SHIM_EXIT_FILE, F_OK, 0) >= 0;

                log_agent_warning(
                        a, "%s while descartesd was away; %s.", why,
                        have_exit ? "its exit record says how it ended"
                                  : "it left no exit record, so it is marked lost and its end time is "
                                    "unknown (taken as now)");
                agent_finalize(a);
                agent_release_handles(a);
                st->gone++;
                return;
        }
        r = agent_watch_shim(a);
        if (r < 0)
                log_agent_warning_errno(a, r, "Failed to watch its shim (pid %d): %m", (int)a->shim.pid.pid);
        r = connect_shim(a);
        if (r < 0)
                log_agent_warning_errno(
                        a, r,
                        "Failed to connect to its shim at %s/shim.sock (%m); its end is still "
                        "watched, but it cannot be signalled or fed stdin.",
                        a->runtime_path);
        a->adopted = true;
        adopt_freezer(a);
        if (a->info.state == PROTO_STATE_STOPPING)
                (void)agent_arm_stop_deadline(a);
        else if (a->timers.runtime_deadline_usec > 0)
                (void)agent_arm_runtime_deadline(a, a->timers.runtime_deadline_usec);
        agent_save_record(a);
        log_agent_info(a, "Re-adopted: %s, shim pid %d.", proto_state_to_string(a->info.state),
                       (int)a->shim.pid.pid);
        st->live++;
}

static void adopt_one(Manager *m, int agents_fd, const char *id, AdoptStats *st)
{
        _cleanup_(agent_record_done) AgentRecord rec = {};
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *buf = NULL;
        Failure fail = {};
        size_t size = 0;
        Agent *a;
        int r;

        fd = openat(agents_fd, id, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0) {
                log_error_errno(-errno, "Agent directory %s/agents/%s cannot be opened, skipping it: %m",
                                m->config.state_dir, id);
                st->skipped++;
                return;
        }
        r = read_file_at(fd, AGENT_RECORD_FILE, AGENT_RECORD_MAX, &buf, &size);
        if (r < 0) {
                log_error_errno(r, "Agent record %s/agents/%s/%s cannot be read (%s), skipping this agent.",
                                m->config.state_dir, id, AGENT_RECORD_FILE,
                                r == -ENOENT  ? "it does not exist"
                                : r == -EFBIG ? "it is too big"
                                              : "%m");
                st->skipped++;
                return;
        }
        r = agent_record_decode(buf, size, &rec, &fail);
        if (r >= 0 && !streq(rec.info.id, id))
                r = failure_set(&fail, -EBADMSG, PROTO_ERROR_INTERNAL, "it names agent %.64s", rec.info.id);
        if (r < 0) {
                log_error("Agent record %s/agents/%s/%s is unusable: %s; skipping this agent.",
                          m->config.state_dir, id, AGENT_RECORD_FILE, fail.msg);
                st->skipped++;
                return;
        }
        if (m->n_agents >= m->config.max_agents)
                log_warning(
                        "Agent %s: the host holds more agents than max_agents (%llu); adopting it anyway.",
                        id, (unsigned long long)m->config.max_agents);
        r = agent_from_record(m, id, &rec, &a);
        if (r < 0) {
                log_error_errno(r, "Failed to restore agent %s, skipping it: %m", id);
                st->skipped++;
                return;
        }

        if (agent_state_is_ended(a->info.state)) {
                if (!a->kernel.cgroups_removed && open_cgroup(a) < 0)
                        a->kernel.cgroups_removed = true;
                agent_arm_retention(a);
                agent_release_handles(a);
                st->ended++;
                return;
        }
        adopt_live(a, &rec.priv, st);
}

/* The output events held for replay are newer than what any record says: they tell the last output record
 * announced and the totals then. */
static void restore_output_counters(Manager *m)
{
        _cleanup_(proto_events_result_done) ProtoEventsResult res = {};

        if (event_ring_query(m->event_ring, 0, 0, NULL, &res) < 0)
                return;
        for (size_t k = 0; k < res.n_events; k++) {
                const ProtoEvent *e = &res.events[k];
                uint64_t last;

                if (e->kind != PROTO_EVENT_OUTPUT || !e->agent ||
                    proto_value_get_u64(&e->data, "seq_last", &last) < 0)
                        continue;
                for (Agent *a = m->agents; a; a = a->next) {
                        if (!streq(a->info.id, e->agent))
                                continue;
                        if (last > a->output.announced_seq) {
                                a->output.announced_seq = last;
                                (void)proto_value_get_u64(&e->data, "stdout_bytes", &a->output.stdout_bytes);
                                (void)proto_value_get_u64(&e->data, "stderr_bytes", &a->output.stderr_bytes);
                                (void)proto_value_get_u64(&e->data, "dropped_bytes",
                                                          &a->output.dropped_bytes);
                        }
                        break;
                }
        }
}

static bool is_agent_id(const char *s)
{
        uuid_t u;

        return strlen(s) == AGENT_ID_LEN && uuid_parse(s, u) == 0;
}

int adopt_all(Manager *m)
{
        _cleanup_close_ int agents_fd = -EBADF;
        _cleanup_closedir_ DIR *d = NULL;
        AdoptStats st = {};
        char **ids = NULL;
        size_t n_ids = 0;
        int fd;

        agents_fd = openat(m->state_fd, "agents", O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (agents_fd < 0) {
                if (errno == ENOENT)
                        return 0;
                return log_error_errno(-errno, "Cannot open %s/agents: %m", m->config.state_dir);
        }
        fd = fcntl(agents_fd, F_DUPFD_CLOEXEC, 3);
        if (fd < 0)
                return log_error_errno(-errno, "Cannot open %s/agents: %m", m->config.state_dir);
        d = fdopendir(fd);
        if (!d) {
                safe_close(fd);
                return log_error_errno(-errno, "Cannot open %s/agents: %m", m->config.state_dir);
        }
        /* the whole list first: adopting may remove directories (retention) */
        for (struct dirent *de; (de = readdir(d));) {
                if (de->d_name[0] == '.')
                        continue;
                if (!is_agent_id(de->d_name)) {
                        log_warning("%s/agents/%s is not an agent directory, ignoring it.",
                                    m->config.state_dir, de->d_name);
                        continue;
                }
                if (strv_extend(&ids, de->d_name) < 0) {
                        strv_free(ids);
                        return log_oom();
                }
                n_ids++;
        }
        for (size_t k = 0; k < n_ids; k++)
                adopt_one(m, agents_fd, ids[k], &st);
        strv_free(ids);
        /* before any HELLO is read: the events from before the restart tell where output events stopped */
        restore_output_counters(m);
        if (n_ids > 0)
                log_info("Re-adoption: %u live agents re-adopted, %u ended records kept, %u ended while we "
                         "were "
                         "away, %u skipped.",
                         st.live, st.ended, st.gone, st.skipped);
        return 0;
}

static void output_gap_bytes(Agent *a, uint64_t first, uint64_t last, uint64_t *ret_out, uint64_t *ret_err)
{
        _cleanup_(output_log_reader_freep) OutputLogReader *r = NULL;
        OutputRecordHeader h;
        const void *data;

        _cleanup_close_ int tmp = -EBADF;
        int dfd = agent_state_dir(a, &tmp);

        *ret_out = *ret_err = 0;
        if (dfd < 0 || output_log_reader_open(dfd, &r) < 0 || output_log_reader_seek_seq(r, first) < 0)
                return;
        while (output_log_reader_next(r, &h, &data) > 0 && h.seq <= last) {
                if (h.stream == OUTPUT_STREAM_STDOUT)
                        *ret_out += h.len;
                else if (h.stream == OUTPUT_STREAM_STDERR)
                        *ret_err += h.len;
        }
}

void adopt_hello(Agent *a, const ShimMsgHello *h)
{
        uint64_t first, last, out, err;

        if (!a->adopted)
                return;
        a->adopted = false;
        if (h->state != SHIM_STATE_STARTING && h->agent_pid > 0)
                a->ns_pid = h->agent_pid;
        if (h->started_ns > 0 && a->info.started_ns == 0) {
                a->info.started_ns = h->started_ns;
                a->info.has_started_ns = true;
        }
        if (a->info.state == PROTO_STATE_STARTING && h->state == SHIM_STATE_RUNNING) {
                log_agent_info(a, "Started while descartesd was away.");
                (void)agent_transition(a, AGENT_EVENT_STARTED);
        }

        /* what the shim logged while nobody listened: one output event for it, so that the seq ranges of
         * the agent's output events stay contiguous and the totals right */
        first = a->output.announced_seq + 1;
        if (h->next_seq <= first)
                return;
        last = h->next_seq - 1;
        output_gap_bytes(a, first, last, &out, &err);
        if (a->output.first_seq == 0)
                a->output.first_seq = first;
        a->output.last_seq = last;
        a->output.bytes_pending += out + err;
        a->output.stdout_bytes += out;
        a->output.stderr_bytes += err;
        log_agent_debug(a, "Output records %llu..%llu (%llu bytes) were logged while descartesd was away.",
                        (unsigned long long)first, (unsigned long long)last,
                        (unsigned long long)(out + err));
        shim_link_flush_output(a);
}
