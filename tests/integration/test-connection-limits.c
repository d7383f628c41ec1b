/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A user who floods the control socket with idle connections, and a client that asks for large replies and
 * never reads them, neither kill the daemon nor grow it without bound; others are still served. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zmq.h>

#include "cleanup.h"
#include "fd-util.h"
#include "itest-util.h"
#include "string-util.h"

/* Far more connections than the daemon's descriptor limit: without the cap libzmq's accept() meets EMFILE
 * and aborts the daemon. The limit leaves the daemon its headroom of about 1600 descriptors (see
 * supervisor/connection-limit.c), which no ordering of the threads can exhaust. */
#define FLOOD_CONNECTIONS 3000
#define DAEMON_NOFILE     2048
#define PER_USER_CAP      16
#define FLOOD_UID         65534 /* nobody */

#define STR_(x) #x
#define STR(x)  STR_(x)

typedef struct FloodReport {
        int opened;
        int closed;
        int connect_errno;
} FloodReport;

static bool read_eof(int fd)
{
        char buf[256];

        for (;;) {
                ssize_t k = read(fd, buf, sizeof buf);
                if (k > 0)
                        continue; /* the daemon's ZMTP greeting */
                if (k == 0)
                        return true;
                return errno != EAGAIN && errno != EINTR;
        }
}

/* In a child: becomes FLOOD_UID in the socket's group, opens the connections, waits until all but the cap
 * were closed by the daemon (or a minute passed), reports, and holds the rest open until told to go. */
static _noreturn_ void flood(const char *path, int report_fd, int go_fd)
{
        struct rlimit rl = {8192, 8192};
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        static int fds[FLOOD_CONNECTIONS];
        static bool closed[FLOOD_CONNECTIONS];
        FloodReport rep = {};
        struct stat st;
        char c;

        if (setrlimit(RLIMIT_NOFILE, &rl) < 0 || stat(path, &st) < 0 || setgroups(1, &st.st_gid) < 0 ||
            setgid(st.st_gid) < 0 || setuid(FLOOD_UID) < 0)
                _exit(2);
        if (strlen(path) >= sizeof sa.sun_path)
                _exit(3);
        memcpy(sa.sun_path, path, strlen(path) + 1);
        for (int i = 0; i < FLOOD_CONNECTIONS; i++) {
                int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
                if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
                        rep.connect_errno = errno;
                        safe_close(fd);
                        break;
                }
                (void)fcntl(fd, F_SETFL, O_NONBLOCK);
                fds[rep.opened++] = fd;
        }
        for (int waited = 0; waited < 60000 && rep.closed < rep.opened - PER_USER_CAP; waited += 20) {
                for (int i = 0; i < rep.opened; i++)
                        if (!closed[i] && read_eof(fds[i])) {
                                closed[i] = true;
                                rep.closed++;
                        }
                itest_sleep_ms(20);
        }
        (void)!write(report_fd, &rep, sizeof rep);
        (void)!read(go_fd, &c, 1);
        _exit(0);
}

static bool log_has(Harness *h, const char *needle)
{
        _cleanup_free_ char *log = NULL;

        return read_file_at(AT_FDCWD, h->daemon_log, 16 << 20, &log, NULL) >= 0 && strstr(log, needle);
}

static void test_connection_flood(void **state)
{
        const HarnessOptions opts = {.extra_config = "max_connections_per_user = " STR(PER_USER_CAP),
                                     .nofile = DAEMON_NOFILE};
        Harness *h = NULL;
        char path[4096];
        int report[2], go[2];
        FloodReport rep = {};
        pid_t pid;
        int status;

        assert_int_equal(harness_start_with(&opts, &h), 0);
        /* mkdtemp made it 0700: let the unprivileged child reach run/ (0750, the socket's group) */
        assert_int_equal(chmod(h->tmpdir, 0711), 0);
        (void)snprintf(path, sizeof path, "%s/control", h->runtime_dir);
        assert_int_equal(pipe2(report, O_CLOEXEC), 0);
        assert_int_equal(pipe2(go, O_CLOEXEC), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                (void)close(go[1]); /* or it would wait for itself */
                flood(path, report[1], go[0]);
        }
        (void)close(report[1]);
        (void)close(go[0]);
        assert_int_equal(read(report[0], &rep, sizeof rep), (ssize_t)sizeof rep);

        /* every connection was accepted (a dead daemon refuses them), all but the cap were closed */
        if (rep.opened != FLOOD_CONNECTIONS)
                fail_msg("only %d connections opened: %s", rep.opened, strerror(rep.connect_errno));
        assert_true(rep.closed >= FLOOD_CONNECTIONS - PER_USER_CAP);
        assert_true(rep.opened - rep.closed <= PER_USER_CAP);
        /* while those stay open the daemon lives and serves others */
        assert_int_equal(kill(h->daemon_pid, 0), 0);
        assert_int_equal(harness_ctl(h, NULL, 0, NULL, "health", NULL), 0);
        assert_true(log_has(h, "max_connections_per_user"));

        (void)close(go[1]);
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        (void)close(report[0]);
        assert_int_equal(harness_ctl(h, NULL, 0, NULL, "health", NULL), 0);
        harness_stop(h);
}

/* ---- replies nobody reads ---- */

#define BIG_OUTPUT   8000000
#define BIG_REQUESTS 60
#define MIB          (1024ULL * 1024)
/* What the daemon may add while it answers them: the reply budget of one connection (16 MiB), the request
 * cache (64 MiB of replies), the transient buffers of one 8 MB output reply (read, encoded, copied: 3 x 8),
 * and 40 MiB for malloc's slack. Without the budget it keeps every reply: 60 x 8 MB = 480 MB. */
#define RSS_GROWTH_MAX ((16 + 64 + 24 + 40) * MIB)
#if defined(__SANITIZE_ADDRESS__)
/* the daemon (built alike) gets a 16 MiB quarantine of freed memory (below); shadow memory is 1/8 more */
#define ASAN_EXTRA (48 * MIB)
#else
#define ASAN_EXTRA 0
#endif

static uint64_t proc_status_kib(pid_t pid, const char *key)
{
        _cleanup_free_ char *text = NULL;
        char path[64];
        const char *p;

        (void)snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
        assert_true(read_file_at(AT_FDCWD, path, 1 << 16, &text, NULL) >= 0);
        p = strstr(text, key);
        assert_non_null(p);
        return strtoull(p + strlen(key) + 1, NULL, 10);
}

static int64_t stat_value(DescartesClient *c, const char *name)
{
        ProtoStatsResult s = {};
        DescartesError err = {};
        int64_t v = -1;

        assert_int_equal(wire_stats(c, &s, &err), 0);
        for (size_t i = 0; i < s.n_stats; i++)
                if (streq(s.stats[i].name, name))
                        v = s.stats[i].value;
        proto_stats_result_done(&s);
        return v;
}

static void test_unread_replies(void **state)
{
        ITest t = {};
        const char *argv[] = {
                "sh", "-c",
                "yes 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde | head -c " STR(
                        BIG_OUTPUT),
                NULL};
        ProtoAgentInfo info = {};
        _cleanup_free_ char *id = NULL;
        void *ctx, *s;
        int one = 1, small = 4096, zero = 0;
        uint64_t base, rss, hwm;
        int64_t before;

#if defined(__SANITIZE_ADDRESS__)
        {
                /* ASan keeps 256 MiB of freed memory by default, which is not the daemon's to bound */
                _cleanup_free_ char *opts = NULL;
                const char *old = getenv("ASAN_OPTIONS");
                assert_true(asprintf_safe(&opts, "%s%squarantine_size_mb=16", old ?: "", old ? ":" : "") >=
                            0);
                assert_int_equal(setenv("ASAN_OPTIONS", opts, 1), 0);
        }
#endif
        assert_int_equal(harness_start(NULL, &t.h), 0);
        assert_int_equal(descartes_client_new(t.h->control, &t.c), 0);
        id = itest_spawn(&t, false, argv);
        itest_wait_final(&t, id, 30000, &info);
        proto_agent_info_done(&info);
        {
                ProtoOutputArgs a = {.agent = id,
                                     .has_mode = true,
                                     .mode = PROTO_OUTPUT_RAW,
                                     .has_limit = true,
                                     .limit = PROTO_OUTPUT_DATA_MAX};
                ProtoOutputResult o = {};
                DescartesError err = {};

                assert_int_equal(wire_output(t.c, &a, &o, &err), 0);
                if (o.data.size < BIG_OUTPUT / 2)
                        fail_msg("the agent wrote %zu bytes: %.*s", o.data.size, (int)o.data.size,
                                 (const char *)o.data.data);
                proto_output_result_done(&o);
        }
        base = proc_status_kib(t.h->daemon_pid, "VmHWM:") * 1024;
        before = stat_value(t.c, "requests.output");

        /* a client whose libzmq keeps one message and a 4 KiB socket buffer: it reads nothing more */
        ctx = zmq_ctx_new();
        assert_non_null(ctx);
        s = zmq_socket(ctx, ZMQ_DEALER);
        assert_non_null(s);
        assert_int_equal(zmq_setsockopt(s, ZMQ_RCVHWM, &one, sizeof one), 0);
        assert_int_equal(zmq_setsockopt(s, ZMQ_RCVBUF, &small, sizeof small), 0);
        assert_int_equal(zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero), 0);
        assert_int_equal(zmq_connect(s, t.h->control), 0);
        for (int i = 0; i < BIG_REQUESTS; i++) {
                char rid[32];
                ProtoRequest req = {.op = PROTO_OP_OUTPUT, .id = rid};
                _cleanup_free_ void *buf = NULL;
                size_t len;

                (void)snprintf(rid, sizeof rid, "big-%d", i);
                req.args.output = (ProtoOutputArgs){.agent = id,
                                                    .has_mode = true,
                                                    .mode = PROTO_OUTPUT_RAW,
                                                    .has_limit = true,
                                                    .limit = PROTO_OUTPUT_DATA_MAX};
                assert_int_equal(proto_request_encode(&req, &buf, &len), 0);
                assert_int_equal(zmq_send(s, buf, len, 0), (int)len);
        }
        /* the daemon has answered them all (into whatever queue would take them)... */
        for (int waited = 0; stat_value(t.c, "requests.output") < before + BIG_REQUESTS; waited += 50) {
                if (waited > 120000)
                        fail_msg("the daemon did not take the %d requests", BIG_REQUESTS);
                itest_sleep_ms(50);
        }
        /* ...still serves others, and did not keep the replies */
        {
                ProtoHealthResult hr = {};
                DescartesError err = {};
                assert_int_equal(wire_health(t.c, &hr, &err), 0);
                proto_health_result_done(&hr);
        }
        rss = proc_status_kib(t.h->daemon_pid, "VmRSS:") * 1024;
        hwm = proc_status_kib(t.h->daemon_pid, "VmHWM:") * 1024;
        fprintf(stderr,
                "daemon VmHWM before %llu MiB, after: VmRSS %llu MiB, VmHWM %llu MiB; %lld replies "
                "refused\n",
                (unsigned long long)(base / MIB), (unsigned long long)(rss / MIB),
                (unsigned long long)(hwm / MIB), (long long)stat_value(t.c, "reply_send_failures"));
        assert_true(hwm <= base + RSS_GROWTH_MAX + ASAN_EXTRA);
        assert_true(stat_value(t.c, "reply_send_failures") > 0);

        zmq_close(s);
        zmq_ctx_term(ctx);
        descartes_client_free(t.c);
        harness_stop(t.h);
}

/* The soft limit in "Max open files" of /proc/PID/limits. */
static unsigned long nofile_soft_of(pid_t pid)
{
        _cleanup_free_ char *text = NULL;
        char path[64];
        const char *line;
        unsigned long soft = 0;

        (void)snprintf(path, sizeof path, "/proc/%d/limits", (int)pid);
        assert_int_equal(read_file_at(AT_FDCWD, path, 1 << 16, &text, NULL), 0);
        line = strstr(text, "Max open files");
        assert_non_null(line);
        assert_int_equal(sscanf(line, "Max open files %lu", &soft), 1);
        return soft;
}

/* The daemon raises its soft descriptor limit to the hard one and says how many agents its limits allow;
 * its agents get the soft limit it was started with back (select() breaks above 1024). */
static void test_nofile_raised_for_the_daemon_only(void **state)
{
        const HarnessOptions opts = {.nofile = DAEMON_NOFILE, .nofile_soft = 1024};
        const char *const argv[] = {"/bin/sh", "-c", "ulimit -Sn; ulimit -Hn", NULL};
        _cleanup_free_ char *id = NULL;
        ProtoAgentInfo info = {};
        char **lines;
        size_t n = 0;
        void *st = NULL;
        ITest *t;

        assert_int_equal(itest_setup_with(&opts, &st), 0);
        t = st;
        assert_int_equal(nofile_soft_of(t->h->daemon_pid), DAEMON_NOFILE);
        assert_true(log_has(t->h, "These limits allow"));
        id = itest_spawn(t, false, argv);
        itest_wait_final(t, id, 30000, &info);
        assert_int_equal(info.state, PROTO_STATE_EXITED);
        lines = itest_output_lines(t, id, PROTO_STREAM_STDOUT, &n);
        assert_int_equal(n, 2);
        assert_string_equal(lines[0], "1024");
        assert_string_equal(lines[1], STR(DAEMON_NOFILE));
        strv_free(lines);
        proto_agent_info_done(&info);
        assert_int_equal(itest_teardown(&st), 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_connection_flood),
                cmocka_unit_test(test_unread_replies),
                cmocka_unit_test(test_nofile_raised_for_the_daemon_only),
        };
        const char *why = harness_skip_reason();

        if (why) {
                fprintf(stderr, "SKIP: %s\n", why);
                return 77;
        }
        return cmocka_run_group_tests(tests, NULL, NULL);
}
