/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Live restore: agents outlive descartesd (kill -9, SIGTERM) and a restarted daemon re-adopts them with
 * their ids, every byte of their output and the event seq carrying on without a gap; shutdown --stop-agents
 * takes them along; a corrupt record is skipped with a clear log line; a shim that died while the daemon was
 * away makes its agent `lost`. Root only (exits 77 otherwise). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <unistd.h>

#include "cleanup.h"
#include "fd-util.h"
#include "itest-util.h"
#include "string-util.h"

#define SEQ_MAX    (1u << 20)
#define OUT_EV_MAX (1u << 16)
/* Waits for a line on stdin first, so that all agents start counting together once spawned. */
#define COUNT_SHELL "read go; i=0; while [ $i -lt %u ]; do echo $i; i=$((i+1)); sleep 0.01; done"

typedef struct OutputEvent {
        uint64_t seq; /* the event's */
        char agent[40];
        uint64_t first, last, stdout_bytes;
} OutputEvent;

typedef struct Subscriber {
        Harness *h;
        pthread_t thread;
        pthread_mutex_t lock;
        atomic_bool stop;
        uint8_t *count; /* times each seq was seen */
        uint64_t first, max;
        OutputEvent *out;
        size_t n_out;
        uint64_t gaps_replayed;
        char error[DESCARTES_ERROR_MESSAGE_MAX + 64];
} Subscriber;

static void record(Subscriber *s, const ProtoEvent *e)
{
        pthread_mutex_lock(&s->lock);
        if (e->seq == 0 || e->seq >= SEQ_MAX) {
                (void)snprintf(s->error, sizeof s->error, "seq %llu out of the test's range",
                               (unsigned long long)e->seq);
                pthread_mutex_unlock(&s->lock);
                return;
        }
        if (s->count[e->seq] < 255)
                s->count[e->seq]++;
        if (s->first == 0 || e->seq < s->first)
                s->first = e->seq;
        if (e->seq > s->max)
                s->max = e->seq;
        if (e->kind == PROTO_EVENT_OUTPUT && e->agent && s->n_out < OUT_EV_MAX) {
                OutputEvent *o = &s->out[s->n_out++];
                *o = (OutputEvent){.seq = e->seq};
                (void)snprintf(o->agent, sizeof o->agent, "%s", e->agent);
                (void)proto_value_get_u64(&e->data, "seq_first", &o->first);
                (void)proto_value_get_u64(&e->data, "seq_last", &o->last);
                (void)proto_value_get_u64(&e->data, "stdout_bytes", &o->stdout_bytes);
        }
        pthread_mutex_unlock(&s->lock);
}

/* Replays [from, to] (to == 0: up to the newest); false while the daemon cannot answer. */
static bool replay(Subscriber *s, DescartesClient *c, uint64_t from, uint64_t to)
{
        while (to == 0 || from <= to) {
                ProtoEventsResult res = {};
                DescartesError err;

                if (wire_events(c, from, 1000, &res, &err) < 0)
                        return false;
                for (size_t i = 0; i < res.n_events; i++)
                        if (to == 0 || res.events[i].seq <= to)
                                record(s, &res.events[i]);
                bool done = res.n_events == 0 || (to != 0 && res.next_seq > to);
                if (res.n_events > 0 && res.events[0].seq > from && to != 0) {
                        (void)snprintf(s->error, sizeof s->error,
                                       "events %llu..%llu are no longer held by the daemon",
                                       (unsigned long long)from, (unsigned long long)res.events[0].seq - 1);
                        done = true;
                }
                from = res.next_seq;
                proto_events_result_done(&res);
                if (done)
                        break;
        }
        s->gaps_replayed++;
        return true;
}

static void *subscriber_main(void *arg)
{
        Subscriber *s = arg;
        DescartesClient *c = NULL;
        DescartesSubscription *sub = NULL;
        DescartesError err;
        uint64_t pending_from = 0, pending_to = 0;

        if (descartes_client_new(s->h->control, &c) < 0) {
                (void)snprintf(s->error, sizeof s->error, "cannot create the subscriber's client");
                return NULL;
        }
        descartes_client_set_timeout(c, 500 * 1000);
        descartes_client_set_retry(c, false);
        if (descartes_subscribe(c, NULL, &sub, &err) < 0) {
                (void)snprintf(s->error, sizeof s->error, "subscribe: %s", err.message);
                descartes_client_free(c);
                return NULL;
        }
        while (!atomic_load(&s->stop)) {
                ProtoEvent e = {};
                uint64_t from, to;
                int r = wire_subscription_next(sub, 100 * 1000, &e, &err);

                if (r < 0 && r != -EINTR) {
                        (void)snprintf(s->error, sizeof s->error, "next: %s", err.message);
                        break;
                }
                if (r == 1) {
                        if (descartes_subscription_get_gap(sub, &from, &to) > 0) {
                                /* merge with a gap not replayed yet (the daemon was down) */
                                if (pending_from == 0 || from < pending_from)
                                        pending_from = from;
                                if (to > pending_to)
                                        pending_to = to;
                        }
                        record(s, &e);
                        proto_event_done(&e);
                }
                if (pending_from != 0 && replay(s, c, pending_from, pending_to))
                        pending_from = pending_to = 0;
        }
        /* the end: whatever is still pending, and everything published but not delivered yet */
        for (int i = 0; i < 50 && pending_from != 0; i++) {
                if (replay(s, c, pending_from, pending_to))
                        pending_from = pending_to = 0;
                else
                        itest_sleep_ms(100);
        }
        if (pending_from != 0)
                (void)snprintf(s->error, sizeof s->error, "gap %llu..%llu never replayed",
                               (unsigned long long)pending_from, (unsigned long long)pending_to);
        else if (!replay(s, c, s->max + 1, 0))
                (void)snprintf(s->error, sizeof s->error, "the final replay failed");
        descartes_subscription_free(sub);
        descartes_client_free(c);
        return NULL;
}

static Subscriber *subscriber_start(Harness *h)
{
        Subscriber *s = calloc(1, sizeof *s);

        assert_non_null(s);
        s->h = h;
        s->count = calloc(SEQ_MAX, 1);
        s->out = calloc(OUT_EV_MAX, sizeof *s->out);
        assert_non_null(s->count);
        assert_non_null(s->out);
        pthread_mutex_init(&s->lock, NULL);
        assert_int_equal(pthread_create(&s->thread, NULL, subscriber_main, s), 0);
        itest_sleep_ms(300); /* the SUB must be connected before the events it should see */
        return s;
}

/* Stops the subscriber and checks that it saw every seq from its first to its last exactly once. */
static void subscriber_finish(Subscriber *s)
{
        atomic_store(&s->stop, true);
        assert_int_equal(pthread_join(s->thread, NULL), 0);
        if (s->error[0])
                fail_msg("subscriber: %s", s->error);
        assert_true(s->first > 0);
        for (uint64_t q = s->first; q <= s->max; q++)
                if (s->count[q] != 1)
                        fail_msg("event seq %llu seen %u times (subscriber saw %llu..%llu)",
                                 (unsigned long long)q, s->count[q], (unsigned long long)s->first,
                                 (unsigned long long)s->max);
        fprintf(stderr, "subscriber: seq %llu..%llu without a gap, %llu replays\n",
                (unsigned long long)s->first, (unsigned long long)s->max,
                (unsigned long long)s->gaps_replayed);
}

static void subscriber_free(Subscriber *s)
{
        pthread_mutex_destroy(&s->lock);
        free(s->count);
        free(s->out);
        free(s);
}

static int cmp_output_event(const void *x, const void *y)
{
        const OutputEvent *a = x, *b = y;
        int r = strcmp(a->agent, b->agent);

        if (r != 0)
                return r;
        return a->seq < b->seq ? -1 : a->seq > b->seq;
}

static uint64_t expected_bytes(unsigned n_lines)
{
        uint64_t total = 0;
        char buf[32];

        for (unsigned i = 0; i < n_lines; i++)
                total += (uint64_t)snprintf(buf, sizeof buf, "%u\n", i);
        return total;
}

/* Every agent's output events cover its output records 1..N once, in order, and end with the right total. */
static void check_output_events(Subscriber *s, char **ids, size_t n_ids, unsigned n_lines)
{
        qsort(s->out, s->n_out, sizeof *s->out, cmp_output_event);
        for (size_t k = 0; k < n_ids; k++) {
                uint64_t next = 1, total = 0;
                size_t n = 0;

                for (size_t i = 0; i < s->n_out; i++) {
                        const OutputEvent *o = &s->out[i];
                        if (!streq(o->agent, ids[k]))
                                continue;
                        if (o->first != next)
                                fail_msg("agent %s: output event %llu covers records %llu..%llu, expected "
                                         "%llu next",
                                         ids[k], (unsigned long long)o->seq, (unsigned long long)o->first,
                                         (unsigned long long)o->last, (unsigned long long)next);
                        assert_true(o->last >= o->first);
                        next = o->last + 1;
                        total = o->stdout_bytes;
                        n++;
                }
                assert_true(n > 0);
                if (total != expected_bytes(n_lines))
                        fail_msg("agent %s: its last output event says %llu stdout bytes, expected %llu",
                                 ids[k], (unsigned long long)total,
                                 (unsigned long long)expected_bytes(n_lines));
        }
}

static char **spawn_counters(ITest *t, size_t n, unsigned n_lines)
{
        char script[256];
        char **ids = calloc(n + 1, sizeof(char *));

        assert_non_null(ids);
        (void)snprintf(script, sizeof script, COUNT_SHELL, n_lines);
        for (size_t i = 0; i < n; i++) {
                const char *const argv[] = {"sh", "-c", script, NULL};
                ids[i] = itest_spawn(t, true, argv);
        }
        for (size_t i = 0; i < n; i++) {
                DescartesError err;
                if (wire_stdin(t->c, ids[i], "go\n", 3, true, NULL, &err) < 0)
                        fail_msg("stdin of %s: %s", ids[i], err.message);
        }
        return ids;
}

static ProtoAgentInfo *find_in_list(ProtoListResult *l, const char *id)
{
        for (size_t i = 0; i < l->n_agents; i++)
                if (streq(l->agents[i].id, id))
                        return &l->agents[i];
        return NULL;
}

static void check_lines(ITest *t, const char *id, unsigned n_lines)
{
        _cleanup_strv_free_ char **lines = NULL;
        size_t n;
        char want[32];

        lines = itest_output_lines(t, id, PROTO_STREAM_STDOUT, &n);
        if (n != n_lines)
                fail_msg("agent %s: %zu lines of output, expected %u", id, n, n_lines);
        for (unsigned i = 0; i < n_lines; i++) {
                (void)snprintf(want, sizeof want, "%u", i);
                if (!streq(lines[i], want))
                        fail_msg("agent %s: line %u is \"%s\", expected \"%s\"", id, i, lines[i], want);
        }
}

static void restart_round(ITest *t, int sig, size_t n_agents, unsigned n_lines)
{
        _cleanup_(proto_list_result_done) ProtoListResult list = {};
        ProtoListArgs all = {.all = true};
        DescartesError err;
        Subscriber *s;
        char **ids;

        s = subscriber_start(t->h);
        ids = spawn_counters(t, n_agents, n_lines);
        itest_sleep_ms(500);
        assert_int_equal(harness_kill_daemon(t->h, sig), 0);
        itest_sleep_ms(2000);
        assert_int_equal(harness_restart_daemon(t->h), 0);

        assert_int_equal(wire_list(t->c, &all, &list, &err), 0);
        for (size_t i = 0; i < n_agents; i++) {
                ProtoAgentInfo *a = find_in_list(&list, ids[i]);
                if (!a)
                        fail_msg("agent %s is not listed after the restart", ids[i]);
                if (a->state != PROTO_STATE_RUNNING)
                        fail_msg("agent %s is %s after the restart, expected running", ids[i],
                                 proto_state_to_string(a->state));
        }
        for (size_t i = 0; i < n_agents; i++) {
                ProtoAgentInfo info = {};
                itest_wait_final(t, ids[i], 120000, &info);
                assert_int_equal(info.state, PROTO_STATE_EXITED);
                assert_int_equal(info.reason, PROTO_REASON_COMPLETED);
                assert_true(info.has_exit_code);
                assert_int_equal(info.exit_code, 0);
                proto_agent_info_done(&info);
                check_lines(t, ids[i], n_lines);
        }
        itest_sleep_ms(500); /* the last output and exited events */
        subscriber_finish(s);
        check_output_events(s, ids, n_agents, n_lines);
        subscriber_free(s);
        strv_free(ids);
}

static void test_kill9_restart(void **state)
{
        restart_round(*state, SIGKILL, 50, 800);
}

static void test_sigterm_restart(void **state)
{
        restart_round(*state, SIGTERM, 20,
                      800); /* enough lines to outlast a slow (sanitized) exit and start */
}

static bool daemon_log_has(Harness *h, const char *needle)
{
        _cleanup_free_ char *log = NULL;

        return read_file_at(AT_FDCWD, h->daemon_log, 64 << 20, &log, NULL) >= 0 && strstr(log, needle);
}

static void test_shutdown_stop_agents(void **state)
{
        ITest *t = *state;
        _cleanup_(proto_list_result_done) ProtoListResult list = {};
        _cleanup_free_ char *agents_cg = NULL, *out = NULL;
        ProtoListArgs all = {.all = true};
        DescartesError err;
        char **ids;
        int status = -1;

        ids = calloc(6, sizeof(char *));
        assert_non_null(ids);
        for (size_t i = 0; i < 5; i++) {
                /* one ignores SIGTERM: the grace period and cgroup.kill end it */
                const char *const a1[] = {"sh", "-c", "trap '' TERM; while :; do sleep 0.1; done", NULL};
                const char *const a2[] = {"sleep", "1000", NULL};
                ids[i] = itest_spawn(t, false, i == 0 ? a1 : a2);
        }
        /* shutdown alone: the daemon goes, the agents stay (each has a shim and its command) */
        assert_true(asprintf_safe(&agents_cg, "%s/agents", t->h->cgroup_root) >= 0);
        assert_true(harness_cgroup_nprocs(agents_cg) >= 5 * 2);
        assert_int_equal(harness_ctl(t->h, NULL, 0, &out, "shutdown", NULL), 0);
        assert_int_equal(harness_wait_daemon_exit(t->h, 10000, &status), 0);
        assert_int_equal(status, 0);
        for (size_t i = 0; i < 5; i++) {
                _cleanup_free_ char *shim = NULL;
                assert_true(asprintf_safe(&shim, "%s/u0/a-%s/shim", agents_cg, ids[i]) >= 0);
                assert_int_equal(harness_cgroup_nprocs(shim), 1);
        }
        assert_true(harness_cgroup_nprocs(agents_cg) >= 5 * 2);
        assert_int_equal(harness_restart_daemon(t->h), 0);

        free(out);
        out = NULL;
        assert_int_equal(harness_ctl(t->h, NULL, 0, &out, "shutdown", "--stop-agents", NULL), 0);
        assert_int_equal(harness_wait_daemon_exit(t->h, 60000, &status), 0);
        assert_int_equal(status, 0);
        assert_int_equal(harness_cgroup_nprocs(t->h->cgroup_root), 0);

        /* what they ended as: the records say it */
        assert_int_equal(harness_restart_daemon(t->h), 0);
        assert_int_equal(wire_list(t->c, &all, &list, &err), 0);
        for (size_t i = 0; i < 5; i++) {
                ProtoAgentInfo *a = find_in_list(&list, ids[i]);
                assert_non_null(a);
                assert_int_equal(a->state, PROTO_STATE_EXITED);
                assert_true(a->has_reason);
                if (a->reason != PROTO_REASON_STOPPED)
                        fail_msg("agent %s ended as %s, expected stopped", ids[i],
                                 proto_reason_to_string(a->reason));
        }
        assert_true(daemon_log_has(t->h, "Shutdown requested by uid 0, stopping the agents."));
        strv_free(ids);
}

static char *agent_dir(ITest *t, const char *id)
{
        char *p = NULL;

        assert_true(asprintf_safe(&p, "%s/agents/%s", t->h->state_dir, id) >= 0);
        return p;
}

static void test_corrupt_record(void **state)
{
        ITest *t = *state;
        _cleanup_free_ char *dir = NULL, *needle = NULL;
        const char *const argv[] = {"sleep", "1000", NULL};
        static const char garbage[] = "\x13\x37 this is not an agent record \xff\xfe";
        ProtoAgentInfo info = {};
        DescartesError err;
        char *ids[3];
        int fd;

        for (size_t i = 0; i < 3; i++)
                ids[i] = itest_spawn(t, false, argv);
        assert_int_equal(harness_kill_daemon(t->h, SIGKILL), 0);
        dir = agent_dir(t, ids[0]);
        fd = openat(AT_FDCWD, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(fd >= 0);
        assert_int_equal(write_file_replace_at(fd, "record", garbage, sizeof garbage - 1, 0600, true), 0);
        close(fd);
        assert_int_equal(harness_restart_daemon(t->h), 0);

        assert_true(asprintf_safe(&needle,
                                  "Agent record %s/record is unusable: not an agent record (bad magic); "
                                  "skipping this agent.",
                                  dir) >= 0);
        if (!daemon_log_has(t->h, needle))
                fail_msg("the daemon log does not say: %s", needle);
        assert_int_equal(wire_get(t->c, ids[0], &info, &err), -ESRCH);
        for (size_t i = 1; i < 3; i++) {
                assert_int_equal(wire_get(t->c, ids[i], &info, &err), 0);
                assert_int_equal(info.state, PROTO_STATE_RUNNING);
                proto_agent_info_done(&info);
                assert_int_equal(wire_kill(t->c, ids[i], NULL, &err), 0);
        }
        for (size_t i = 0; i < 3; i++)
                free(ids[i]);
}

/* SIGKILLs every process of a cgroup directory by pidfd (the shim first: its namespace goes with it). */
static void kill_cgroup_procs(const char *dir)
{
        _cleanup_free_ char *procs = NULL, *path = NULL;

        assert_true(asprintf_safe(&path, "%s/cgroup.procs", dir) >= 0);
        assert_int_equal(read_file_at(AT_FDCWD, path, 65536, &procs, NULL), 0);
        for (char *p = procs, *nl; p && *p; p = nl) {
                int fd;

                nl = strchr(p, '\n');
                if (nl)
                        *nl++ = 0;
                fd = pidfd_open((pid_t)atoi(p), 0);
                if (fd < 0)
                        continue;
                (void)pidfd_send_signal(fd, SIGKILL, NULL, 0);
                close(fd);
        }
}

static bool cgroup_empty(void *arg)
{
        return harness_cgroup_nprocs(arg) == 0;
}

static void test_lost_paused_deadline(void **state)
{
        ITest *t = *state;
        _cleanup_free_ char *cg = NULL, *shim_cg = NULL, *payload_cg = NULL;
        const char *const argv[] = {"sleep", "1000", NULL};
        ProtoStrPair env[] = {{(char *)"PATH", (char *)"/usr/bin:/bin"}};
        ProtoSpawnArgs timed = {
                .argv = (char **)argv,
                .n_argv = 2,
                .env = {.pairs = env, .n_pairs = 1},
                .has_timeout_ms = true,
                .timeout_ms = 4000,
        };
        ProtoAgentInfo info = {};
        DescartesError err;
        char *lost, *paused, *deadline;

        lost = itest_spawn(t, false, argv);
        paused = itest_spawn(t, false, argv);
        assert_int_equal(wire_spawn(t->c, &timed, &info, &err), 0);
        deadline = strdup(info.id);
        proto_agent_info_done(&info);
        assert_int_equal(wire_pause(t->c, paused, &info, &err), 0);
        assert_int_equal(info.state, PROTO_STATE_PAUSED);
        proto_agent_info_done(&info);
        cg = itest_agent_cgroup(t, lost);
        assert_true(asprintf_safe(&shim_cg, "%s/shim", cg) >= 0);
        assert_true(asprintf_safe(&payload_cg, "%s/payload", cg) >= 0);

        assert_int_equal(harness_kill_daemon(t->h, SIGKILL), 0);
        kill_cgroup_procs(shim_cg);
        kill_cgroup_procs(payload_cg);
        assert_int_equal(harness_wait_until(cgroup_empty, cg, 10000), 0);
        itest_sleep_ms(1000);
        assert_int_equal(harness_restart_daemon(t->h), 0);

        /* the shim died while the daemon was away, without an exit record */
        assert_int_equal(wire_get(t->c, lost, &info, &err), 0);
        assert_int_equal(info.state, PROTO_STATE_EXITED);
        assert_true(info.has_reason);
        assert_int_equal(info.reason, PROTO_REASON_LOST);
        assert_true(info.has_ended_ns);
        proto_agent_info_done(&info);
        assert_true(daemon_log_has(t->h, "it left no exit record, so it is marked lost"));
        assert_int_equal(wire_remove(t->c, lost, NULL, &err), 0);

        /* a paused agent stays paused, and resumes */
        assert_int_equal(wire_get(t->c, paused, &info, &err), 0);
        assert_int_equal(info.state, PROTO_STATE_PAUSED);
        proto_agent_info_done(&info);
        assert_int_equal(wire_resume(t->c, paused, &info, &err), 0);
        assert_int_equal(info.state, PROTO_STATE_RUNNING);
        proto_agent_info_done(&info);

        /* timeout_ms counts from the spawn, across the restart */
        itest_wait_final(t, deadline, 20000, &info);
        assert_int_equal(info.reason, PROTO_REASON_TIMED_OUT);
        assert_true(info.ended_ns - info.started_ns < 15ULL * 1000 * 1000 * 1000);
        proto_agent_info_done(&info);

        /* and the re-adopted agent is controlled like any other */
        assert_int_equal(wire_stop(t->c, paused, 2000, &info, &err), 0);
        proto_agent_info_done(&info);
        itest_wait_final(t, paused, 10000, &info);
        assert_int_equal(info.reason, PROTO_REASON_STOPPED);
        proto_agent_info_done(&info);
        free(lost);
        free(paused);
        free(deadline);
}

/* The uid in the Uid: line of /proc/PID/status (real, effective, saved, fs: all the same for an agent). */
static uid_t proc_uid(int pid)
{
        _cleanup_free_ char *path = NULL, *text = NULL;
        unsigned r, e, s, f;
        const char *line;

        assert_true(asprintf_safe(&path, "/proc/%d/status", pid) >= 0);
        assert_int_equal(read_file_at(AT_FDCWD, path, 1 << 16, &text, NULL), 0);
        line = strstr(text, "\nUid:");
        assert_non_null(line);
        assert_int_equal(sscanf(line, "\nUid: %u %u %u %u", &r, &e, &s, &f), 4);
        assert_true(r == e && e == s && s == f);
        return r;
}

/* A root caller's agents keep their uids across a restart (adopted, running or ended), and those stay taken:
 * an agent spawned after the restart gets another. */
static void test_uids_kept(void **state)
{
        ITest *t = *state;
        const char *const sleeper[] = {"sleep", "1000", NULL};
        const char *const done[] = {"true", NULL};
        _cleanup_free_ char *running = NULL, *ended = NULL, *fresh = NULL;
        ProtoAgentInfo a = {}, b = {}, c = {}, info = {};
        DescartesError err;

        running = itest_spawn(t, false, sleeper);
        ended = itest_spawn(t, false, done);
        itest_wait_final(t, ended, 20000, &b);
        assert_int_equal(wire_get(t->c, running, &a, &err), 0);
        assert_true(a.has_uid && b.has_uid && a.has_pid);
        assert_int_not_equal(a.uid, b.uid);
        assert_int_equal(proc_uid(a.pid), a.uid);

        assert_int_equal(harness_kill_daemon(t->h, SIGKILL), 0);
        assert_int_equal(harness_restart_daemon(t->h), 0);

        assert_int_equal(wire_get(t->c, running, &info, &err), 0);
        assert_int_equal(info.state, PROTO_STATE_RUNNING);
        assert_true(info.has_uid && info.has_gid);
        assert_int_equal(info.uid, a.uid);
        assert_int_equal(info.gid, a.gid);
        assert_int_equal(proc_uid(a.pid), a.uid);
        proto_agent_info_done(&info);
        assert_int_equal(wire_get(t->c, ended, &info, &err), 0);
        assert_true(info.has_uid);
        assert_int_equal(info.uid, b.uid);
        proto_agent_info_done(&info);

        /* the new daemon hands out neither of them */
        fresh = itest_spawn(t, false, sleeper);
        assert_int_equal(wire_get(t->c, fresh, &c, &err), 0);
        assert_true(c.has_uid);
        assert_int_not_equal(c.uid, a.uid);
        assert_int_not_equal(c.uid, b.uid);

        assert_int_equal(wire_kill(t->c, running, NULL, &err), 0);
        assert_int_equal(wire_kill(t->c, fresh, NULL, &err), 0);
        itest_wait_final(t, running, 20000, &info);
        proto_agent_info_done(&info);
        itest_wait_final(t, fresh, 20000, &info);
        proto_agent_info_done(&info);
        proto_agent_info_done(&a);
        proto_agent_info_done(&b);
        proto_agent_info_done(&c);
}

static int setup_short_grace(void **state)
{
        return itest_setup_with(&(HarnessOptions){.extra_config = "stop_grace = 2s"}, state);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_kill9_restart, itest_setup, itest_teardown),
                cmocka_unit_test_setup_teardown(test_sigterm_restart, itest_setup, itest_teardown),
                cmocka_unit_test_setup_teardown(test_shutdown_stop_agents, setup_short_grace,
                                                itest_teardown),
                cmocka_unit_test_setup_teardown(test_corrupt_record, itest_setup, itest_teardown),
                cmocka_unit_test_setup_teardown(test_lost_paused_deadline, setup_short_grace,
                                                itest_teardown),
                cmocka_unit_test_setup_teardown(test_uids_kept, itest_setup, itest_teardown),
        };

        if (harness_skip_reason()) {
                fprintf(stderr, "SKIP: %s\n", harness_skip_reason());
                return 77;
        }
        if (getenv("RESTORE_TEST_FILTER"))
                cmocka_set_test_filter(getenv("RESTORE_TEST_FILTER"));
        return cmocka_run_group_tests(tests, NULL, NULL);
}
