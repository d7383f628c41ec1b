/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Events are isolated per tenant: tenants A and B (both in the socket's group) and C (outside it). A's live
 * subscription, its replay (its removed agent included) and the heartbeats it gets hold nothing of B's
 * agents; A cannot subscribe to B's agent; an admin's subscription sees both; C cannot connect. Then
 * `descartesctl events -f` follows the stream across a daemon restart: no event missed, none twice. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "fd-util.h"
#include "itest-util.h"
#include "string-util.h"

#define UID_A 1 /* daemon */
#define UID_B 2 /* bin */
#define UID_C 3 /* sys: never in the socket's group */

/* Becomes uid (with its own gid), in the socket's group unless outside. */
static int become(Harness *h, uid_t uid, bool outside)
{
        char path[4096];
        struct stat st;

        (void)snprintf(path, sizeof path, "%s/control", h->runtime_dir);
        if (stat(path, &st) < 0)
                return -errno;
        if (setgroups(outside ? 0 : 1, &st.st_gid) < 0 || setgid(uid) < 0 || setuid(uid) < 0)
                return -errno;
        return 0;
}

/* Forks a child that becomes uid and runs fn, writing its report lines to a pipe; returns the pid and the
 * read end. */
static pid_t run_as(Harness *h, uid_t uid, bool outside, int (*fn)(Harness *h, FILE *out, int stop_fd),
                    int *ret_out, int *ret_stop)
{
        int out[2], stop[2];
        pid_t pid;

        assert_int_equal(pipe2(out, O_CLOEXEC), 0);
        assert_int_equal(pipe2(stop, O_CLOEXEC), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                FILE *f;
                int r;

                (void)prctl(PR_SET_PDEATHSIG, SIGKILL);
                close(out[0]);
                close(stop[1]);
                f = fdopen(out[1], "w");
                if (!f || become(h, uid, outside) < 0)
                        _exit(2);
                r = fn(h, f, stop[0]);
                fclose(f);
                _exit(r == 0 ? 0 : 1);
        }
        close(out[1]);
        close(stop[0]);
        *ret_out = out[0];
        if (ret_stop)
                *ret_stop = stop[1];
        else
                close(stop[1]);
        return pid;
}

/* Reads the child's report and its exit status (0 expected). */
static char *finish(pid_t pid, int out_fd)
{
        _cleanup_free_ char *buf = NULL;
        size_t size = 0, alloc = 0;
        int status = 0;

        for (;;) {
                ssize_t k;

                if (size + 4096 > alloc) {
                        alloc = (alloc + 4096) * 2;
                        buf = realloc(buf, alloc);
                        assert_non_null(buf);
                }
                k = read(out_fd, buf + size, alloc - size - 1);
                if (k <= 0)
                        break;
                size += (size_t)k;
        }
        close(out_fd);
        assert_int_equal(waitpid(pid, &status, 0), pid);
        buf[size] = 0;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                fail_msg("child failed (status 0x%x): %s", status, buf);
        return TAKE_PTR(buf);
}

static int client(Harness *h, DescartesClient **ret)
{
        return descartes_client_new(h->control, ret);
}

/* Subscribes to everything it may see; prints "E seq agent-or-- kind gap" per event until told to stop,
 * then "X lost-count". */
static int subscriber(Harness *h, FILE *out, int stop_fd)
{
        _cleanup_(descartes_client_freep) DescartesClient *c = NULL;
        _cleanup_(descartes_subscription_freep) DescartesSubscription *s = NULL;
        DescartesError e;

        if (client(h, &c) < 0 || descartes_subscribe(c, NULL, &s, &e) < 0) {
                fprintf(out, "subscribe failed: %s\n", e.message);
                return -1;
        }
        fprintf(out, "READY\n");
        fflush(out);
        for (;;) {
                struct pollfd p = {.fd = stop_fd, .events = POLLIN};
                _cleanup_(descartes_event_unrefp) DescartesEvent *ev = NULL;
                int r = descartes_subscription_next(s, 100 * 1000, &ev, &e);

                if (r < 0) {
                        fprintf(out, "next failed: %s\n", e.message);
                        return -1;
                }
                if (r > 0)
                        fprintf(out, "E %llu %s %s %d\n", (unsigned long long)descartes_event_get_seq(ev),
                                descartes_event_get_agent(ev) ?: "-",
                                descartes_event_kind_to_string(descartes_event_get_kind(ev)),
                                descartes_subscription_get_gap(s, NULL, NULL));
                if (r == 0 && poll(&p, 1, 0) > 0)
                        return 0;
        }
}

/* Spawns a short agent, waits for its end, removes it: prints "A id". */
static int worker(Harness *h, FILE *out, int stop_fd)
{
        _cleanup_(descartes_client_freep) DescartesClient *c = NULL;
        _cleanup_(descartes_agent_unrefp) DescartesAgent *a = NULL, *w = NULL, *rm = NULL;
        const char *argv[] = {"/bin/sh", "-c", "echo hello", NULL};
        const char *env[] = {"PATH=/usr/bin:/bin", NULL};
        DescartesSpawnArgs args = DESCARTES_SPAWN_ARGS_INIT;
        DescartesError e;

        args.argv = argv;
        args.env = env;
        if (client(h, &c) < 0 || descartes_spawn(c, &args, &a, &e) < 0 ||
            descartes_wait(c, descartes_agent_get_id(a), &w, &e) < 0 ||
            descartes_remove(c, descartes_agent_get_id(a), &rm, &e) < 0) {
                fprintf(out, "worker failed: %s\n", e.message);
                return -1;
        }
        fprintf(out, "A %s\n", descartes_agent_get_id(a));
        return 0;
}

static char *other_agent; /* B's, for A's attempts */

/* A: subscribing to B's agent is not_found; the replay is filtered: "R seq agent-or--" per event. */
static int replayer(Harness *h, FILE *out, int stop_fd)
{
        _cleanup_(descartes_client_freep) DescartesClient *c = NULL;
        DescartesSubscription *s = NULL;
        ProtoEventsResult res = {};
        DescartesError e;
        uint64_t since = 0;

        if (client(h, &c) < 0)
                return -1;
        if (descartes_subscribe(c, other_agent, &s, &e) != -ESRCH ||
            e.code != DESCARTES_ERROR_CODE_NOT_FOUND) {
                fprintf(out, "subscribing to another tenant's agent was not not_found: %s\n", e.message);
                descartes_subscription_free(s);
                return -1;
        }
        for (;;) {
                if (wire_events(c, since, 0, &res, &e) < 0) {
                        fprintf(out, "events failed: %s\n", e.message);
                        return -1;
                }
                if (!res.filtered) {
                        fprintf(out, "a tenant's replay is not marked filtered\n");
                        return -1;
                }
                for (size_t i = 0; i < res.n_events; i++)
                        fprintf(out, "R %llu %s\n", (unsigned long long)res.events[i].seq,
                                res.events[i].agent ?: "-");
                since = res.next_seq;
                bool done = res.n_events == 0;
                proto_events_result_done(&res);
                if (done)
                        return 0;
        }
}

/* C, outside the group: cannot subscribe, and is told why. */
static int outsider(Harness *h, FILE *out, int stop_fd)
{
        _cleanup_(descartes_client_freep) DescartesClient *c = NULL;
        DescartesSubscription *s = NULL;
        DescartesError e;
        int r;

        if (client(h, &c) < 0)
                return -1;
        r = descartes_subscribe(c, NULL, &s, &e);
        descartes_subscription_free(s);
        fprintf(out, "C %d %s\n", r, descartes_error_kind_to_string(e.kind));
        return 0;
}

/* Whether text has a line starting with prefix and holding word. */
static bool has_line(const char *text, const char *prefix, const char *word)
{
        for (const char *l = text; l && *l;) {
                const char *nl = strchr(l, '\n');
                size_t n = nl ? (size_t)(nl - l) : strlen(l);
                _cleanup_free_ char *line = strndup(l, n);

                if (line && startswith(line, prefix) && strstr(line, word))
                        return true;
                l = nl ? nl + 1 : NULL;
        }
        return false;
}

static void wait_ready(int fd)
{
        char buf[6] = {};

        /* the subscriber's first line: the daemon has answered its subscribe */
        assert_int_equal(read(fd, buf, 6), 6);
        assert_memory_equal(buf, "READY\n", 6);
}

static char *agent_of(const char *report)
{
        const char *p = strstr(report, "A ");
        char *id;

        assert_non_null(p);
        id = strndup(p + 2, strcspn(p + 2, "\n"));
        assert_non_null(id);
        return id;
}

static void test_tenants(void **state)
{
        ITest *t = *state;
        Harness *h = t->h;
        _cleanup_free_ char *rep_a = NULL, *rep_b = NULL, *live_a = NULL, *replay_a = NULL, *rep_c = NULL,
                            *id_a = NULL, *id_b = NULL;
        _cleanup_(descartes_subscription_freep) DescartesSubscription *admin = NULL;
        int sub_out, sub_stop, fd;
        pid_t sub, pid;
        bool admin_a = false, admin_b = false;
        DescartesError e;
        size_t a_live = 0, a_replay = 0, heartbeats = 0;

        /* mkdtemp made it 0700: the tenants reach run/ (0750, the socket's group) and their workspaces */
        assert_int_equal(chmod(h->tmpdir, 0711), 0);
        assert_int_equal(descartes_subscribe(t->c, NULL, &admin, &e), 0);
        sub = run_as(h, UID_A, false, subscriber, &sub_out, &sub_stop);
        wait_ready(sub_out);

        pid = run_as(h, UID_A, false, worker, &fd, NULL);
        rep_a = finish(pid, fd);
        pid = run_as(h, UID_B, false, worker, &fd, NULL);
        rep_b = finish(pid, fd);
        id_a = agent_of(rep_a);
        id_b = agent_of(rep_b);
        other_agent = id_b;

        /* a few heartbeats (200 ms) after the agents' last events */
        itest_sleep_ms(800);
        assert_int_equal(write(sub_stop, "x", 1), 1);
        close(sub_stop);
        {
                /* after READY: one newline in front, so that every event line follows one */
                _cleanup_free_ char *rest = finish(sub, sub_out);
                assert_true(asprintf(&live_a, "\n%s", rest) > 0);
        }

        pid = run_as(h, UID_A, false, replayer, &fd, NULL);
        replay_a = finish(pid, fd);

        /* A's live stream: its agent's events and heartbeats, nothing of B's, no loss reported */
        assert_false(strstr(live_a, id_b));
        assert_false(has_line(live_a, "E ", " 1\n"));
        for (const char *l = live_a; (l = strstr(l, "\nE ")); l++) {
                if (strncmp(strchr(l + 3, ' ') + 1, id_a, strlen(id_a)) == 0)
                        a_live++;
                if (strstr(l, " - heartbeat") && strstr(l, " - heartbeat") < strchr(l + 1, '\n'))
                        heartbeats++;
        }
        assert_true(a_live >= 3); /* starting/running, exited, output... */
        assert_true(heartbeats >= 1);
        assert_true(has_line(live_a, "E ", "exited"));

        /* A's replay: the same events of its removed agent, nothing of B's */
        assert_false(strstr(replay_a, id_b));
        for (const char *l = replay_a; (l = strstr(l, "R ")); l++)
                if (strncmp(strchr(l + 2, ' ') + 1, id_a, strlen(id_a)) == 0)
                        a_replay++;
        assert_int_equal(a_replay, a_live);
        for (const char *l = live_a; (l = strstr(l, "\nE ")); l++) {
                char want[128];
                unsigned long long seq = strtoull(l + 3, NULL, 10);

                (void)snprintf(want, sizeof want, "R %llu %s\n", seq, id_a);
                if (strncmp(strchr(l + 3, ' ') + 1, id_a, strlen(id_a)) == 0)
                        assert_non_null(strstr(replay_a, want));
        }

        /* the admin saw both (heartbeats keep coming: read until both were seen, or all was read) */
        while (!admin_a || !admin_b) {
                _cleanup_(descartes_event_unrefp) DescartesEvent *ev = NULL;
                int r = descartes_subscription_next(admin, 500 * 1000, &ev, &e);

                assert_true(r >= 0);
                if (r == 0)
                        break;
                admin_a = admin_a || streq_ptr(descartes_event_get_agent(ev), id_a);
                admin_b = admin_b || streq_ptr(descartes_event_get_agent(ev), id_b);
        }
        assert_true(admin_a);
        assert_true(admin_b);

        /* C cannot connect */
        pid = run_as(h, UID_C, true, outsider, &fd, NULL);
        rep_c = finish(pid, fd);
        assert_non_null(strstr(rep_c, "C -13 access"));
}

/* Starts `descartesctl [-o json] events` with its stdout in a pipe (non-blocking). */
static pid_t start_follow(Harness *h, bool json, int *ret_fd)
{
        int out[2];
        pid_t pid;

        assert_int_equal(pipe2(out, O_CLOEXEC), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                (void)prctl(PR_SET_PDEATHSIG, SIGKILL);
                if (dup2(out[1], STDOUT_FILENO) < 0)
                        _exit(127);
                if (json)
                        execl(harness_descartesctl(), "descartesctl", "-H", h->control, "-o", "json",
                              "events", "-f", (char *)NULL);
                else
                        execl(harness_descartesctl(), "descartesctl", "-H", h->control, "events", "-f",
                              (char *)NULL);
                _exit(127);
        }
        close(out[1]);
        assert_int_equal(fcntl(out[0], F_SETFL, O_NONBLOCK), 0);
        *ret_fd = out[0];
        return pid;
}

static void read_more(int fd, char **buf, size_t *size)
{
        for (;;) {
                char chunk[4096];
                ssize_t k = read(fd, chunk, sizeof chunk);

                if (k <= 0)
                        return;
                *buf = realloc(*buf, *size + (size_t)k + 1);
                assert_non_null(*buf);
                memcpy(*buf + *size, chunk, (size_t)k);
                *size += (size_t)k;
                (*buf)[*size] = 0;
        }
}

typedef struct Follow {
        int fd;
        char *out;
        size_t size;
        const char *want;
} Follow;

static bool follow_has(void *arg)
{
        Follow *f = arg;

        read_more(f->fd, &f->out, &f->size);
        return f->out && strstr(f->out, f->want);
}

static void spawn_short(ITest *t, char **ret_id)
{
        const char *argv[] = {"/bin/sh", "-c", "echo hi", NULL};
        ProtoAgentInfo info = {};

        *ret_id = itest_spawn(t, false, argv);
        itest_wait_final(t, *ret_id, 10000, &info);
        proto_agent_info_done(&info);
}

/* descartesctl events -f, in JSON and in lines, follows the stream across a daemon restart: every seq from
 * the first it printed to the last, once each. */
/* descartesctl events without -f prints what the daemon holds and exits; with AGENT only that agent's. */
static void test_events_once(void **state)
{
        ITest *t = *state;
        const char *argv[] = {"true", NULL};
        _cleanup_free_ char *one = itest_spawn(t, false, argv), *two = itest_spawn(t, false, argv);
        _cleanup_free_ char *all = NULL, *only = NULL;
        ProtoAgentInfo info = {};

        itest_wait_final(t, one, 10000, &info);
        proto_agent_info_done(&info);
        itest_wait_final(t, two, 10000, &info);
        proto_agent_info_done(&info);
        assert_int_equal(harness_ctl(t->h, NULL, 0, &all, "-o", "json", "events", NULL), 0);
        assert_non_null(strstr(all, one));
        assert_non_null(strstr(all, two));
        assert_non_null(strstr(all, "\"exited\""));
        assert_int_equal(harness_ctl(t->h, NULL, 0, &only, "events", one, NULL), 0);
        assert_non_null(strstr(only, one));
        assert_null(strstr(only, two));
}

static void test_follow_restart(void **state)
{
        ITest *t = *state;
        Follow js = {}, human = {};
        _cleanup_free_ char *before = NULL, *after = NULL;
        uint64_t first = 0, last = 0, n = 0;
        pid_t pj, ph;

        pj = start_follow(t->h, true, &js.fd);
        ph = start_follow(t->h, false, &human.fd);
        itest_sleep_ms(500); /* both have subscribed (their first heartbeat comes within 200 ms) */
        spawn_short(t, &before);
        js.want = human.want = before;
        assert_int_equal(harness_wait_until(follow_has, &js, 10000), 0);
        assert_int_equal(harness_wait_until(follow_has, &human, 10000), 0);

        assert_int_equal(harness_kill_daemon(t->h, SIGKILL), 0);
        assert_int_equal(harness_restart_daemon(t->h), 0);
        descartes_client_free(t->c);
        assert_int_equal(descartes_client_new(t->h->control, &t->c), 0);
        spawn_short(t, &after);
        js.want = human.want = after;
        /* two heartbeat periods of silence, then the resubscribe and the replay */
        assert_int_equal(harness_wait_until(follow_has, &js, 20000), 0);
        assert_int_equal(harness_wait_until(follow_has, &human, 20000), 0);
        itest_sleep_ms(300);
        read_more(js.fd, &js.out, &js.size);
        kill(pj, SIGTERM);
        kill(ph, SIGTERM);
        (void)waitpid(pj, NULL, 0);
        (void)waitpid(ph, NULL, 0);
        close(js.fd);
        close(human.fd);

        /* every line a JSON event; seqs consecutive, none twice */
        for (const char *l = js.out; l && *l;) {
                const char *seq = strstr(l, "\"seq\":");
                const char *nl = strchr(l, '\n');
                uint64_t q;

                assert_non_null(seq);
                assert_true(!nl || seq < nl);
                q = strtoull(seq + 6, NULL, 10);
                if (n > 0 && q != last + 1)
                        fail_msg("after seq %llu came %llu:\n%s", (unsigned long long)last,
                                 (unsigned long long)q, js.out);
                if (n == 0)
                        first = q;
                last = q;
                n++;
                l = nl ? nl + 1 : NULL;
        }
        assert_int_equal(n, last - first + 1);
        assert_true(n > 4);
        free(js.out);
        free(human.out);
}

static int tenancy_setup(void **state)
{
        return itest_setup_with(&(HarnessOptions){.extra_config = "heartbeat_interval = 200ms"}, state);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_tenants),
                cmocka_unit_test(test_events_once),
                cmocka_unit_test(test_follow_restart),
        };
        return cmocka_run_group_tests(tests, tenancy_setup, itest_teardown);
}
