/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A quick end-to-end run of descartesd: starts the daemon built in this tree on private dirs and a temporary
 * cgroup, drives it over its control socket with a raw DEALER and the proto codec, and cleans everything up,
 * also on failure. Needs root and a cgroup2 mount; exits 77 (skip) otherwise. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "fd-util.h"
#include "proto.h"
#include "string-util.h"

static char tmpdir[256], cgroup_dir[512], endpoint[512];
static pid_t daemon_pid;
static void *ctx, *sock;
static unsigned req_counter;
static int failures;

#define CHECK(cond, ...)                                                                                    \
        do {                                                                                                \
                if (!(cond)) {                                                                              \
                        fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);                     \
                        fprintf(stderr, __VA_ARGS__);                                                       \
                        fputc('\n', stderr);                                                                \
                        failures++;                                                                         \
                        return -1;                                                                          \
                }                                                                                           \
        } while (0)

static void kill_cgroup_tree(const char *path)
{
        char p[1024];
        DIR *d;
        struct dirent *de;

        (void)snprintf(p, sizeof p, "%s/cgroup.kill", path);
        (void)write_string_file_at(AT_FDCWD, p, "1");
        d = opendir(path);
        if (d) {
                while ((de = readdir(d)))
                        if (de->d_type == DT_DIR && de->d_name[0] != '.') {
                                (void)snprintf(p, sizeof p, "%s/%s", path, de->d_name);
                                kill_cgroup_tree(p);
                        }
                closedir(d);
        }
        for (int i = 0; i < 200 && rmdir(path) < 0 && errno == EBUSY; i++)
                usleep(10000);
}

static void cleanup(void)
{
        if (sock)
                zmq_close(sock);
        if (ctx)
                zmq_ctx_term(ctx);
        if (daemon_pid > 0) {
                (void)kill(daemon_pid, SIGTERM);
                (void)waitpid(daemon_pid, NULL, 0);
        }
        if (cgroup_dir[0])
                kill_cgroup_tree(cgroup_dir);
        if (tmpdir[0])
                (void)rm_rf_at(AT_FDCWD, tmpdir);
}

static const char *find_cgroup2(void)
{
        static const char *const cands[] = {"/sys/fs/cgroup/unified", "/sys/fs/cgroup"};
        struct statfs s;

        for (size_t i = 0; i < 2; i++)
                if (statfs(cands[i], &s) == 0 && s.f_type == CGROUP2_SUPER_MAGIC)
                        return cands[i];
        return NULL;
}

/* Sends a raw body as [delimiter, body] (like REQ) and receives the reply body. */
static int roundtrip_raw(const void *body, size_t len, void **ret, size_t *ret_len)
{
        zmq_pollitem_t pi = {.socket = sock, .events = ZMQ_POLLIN};
        zmq_msg_t m;
        int more = 0;
        size_t ml = sizeof more;

        if (zmq_send(sock, "", 0, ZMQ_SNDMORE) < 0 || zmq_send(sock, body, len, 0) < 0)
                return -errno;
        if (zmq_poll(&pi, 1, 40000) <= 0)
                return -ETIMEDOUT;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, sock, 0) < 0 || zmq_msg_size(&m) != 0)
                return -EBADMSG; /* the delimiter must come back first */
        (void)zmq_getsockopt(sock, ZMQ_RCVMORE, &more, &ml);
        if (!more)
                return -EBADMSG;
        if (zmq_msg_recv(&m, sock, 0) < 0)
                return -errno;
        *ret = malloc(zmq_msg_size(&m) + 1);
        memcpy(*ret, zmq_msg_data(&m), zmq_msg_size(&m));
        *ret_len = zmq_msg_size(&m);
        zmq_msg_close(&m);
        return 0;
}

static int call(ProtoRequest *req, ProtoReply *ret)
{
        _cleanup_free_ void *body = NULL, *rep = NULL;
        size_t len, rlen;
        char id[32];
        ProtoError err;
        int r;

        if (!req->id) {
                (void)snprintf(id, sizeof id, "smoke-%u", ++req_counter);
                req->id = id;
        }
        r = proto_request_encode(req, &body, &len);
        if (r < 0)
                return r;
        r = roundtrip_raw(body, len, &rep, &rlen);
        if (r < 0)
                return r;
        r = proto_reply_decode(rep, rlen, req->op, ret, &err);
        if (req->id == id)
                req->id = NULL;
        return r;
}

static int expect_error(ProtoReply *r, ProtoErrorCode code)
{
        if (r->ok || r->error_code != code) {
                fprintf(stderr, "  expected error %s, got %s (%s)\n", proto_error_code_to_string(code),
                        r->ok ? "ok" : proto_error_code_to_string(r->error_code), r->error_msg ?: "");
                return -1;
        }
        return 0;
}

static int agent_call(ProtoOp op, const char *agent, ProtoReply *ret)
{
        ProtoRequest req = {.op = op};
        req.args.agent.agent = (char *)agent;
        return call(&req, ret);
}

static char *spawn_env[] = {NULL};

static int spawn(const char *name, char **argv, size_t n, bool open_stdin, ProtoReply *ret)
{
        ProtoRequest req = {.op = PROTO_OP_SPAWN};
        ProtoStrPair env = {(char *)"PATH", (char *)"/usr/bin:/bin"};

        req.args.spawn.argv = argv;
        req.args.spawn.n_argv = n;
        req.args.spawn.name = (char *)name;
        req.args.spawn.env = (ProtoStrMap){&env, 1};
        req.args.spawn.open_stdin = open_stdin;
        return call(&req, ret);
}

static int wait_state(const char *agent, ProtoState want, ProtoReply *ret)
{
        for (int i = 0; i < 200; i++) {
                proto_reply_done(ret);
                if (agent_call(PROTO_OP_GET, agent, ret) < 0)
                        return -1;
                if (ret->ok && ret->result.agent.agent.state == want)
                        return 0;
                usleep(50000);
        }
        return -1;
}

static int output_lines(const char *agent, ProtoStream stream, ProtoReply *ret)
{
        ProtoRequest req = {.op = PROTO_OP_OUTPUT};
        req.args.output.agent = (char *)agent;
        req.args.output.has_stream = true;
        req.args.output.stream = stream;
        return call(&req, ret);
}

static int run(void)
{
        _cleanup_(proto_reply_done) ProtoReply r = {};
        char *sh_argv[] = {(char *)"/bin/sh", (char *)"-c",
                           (char *)"echo hello; echo oops >&2; printf 'a\\nb\\nc'; exec sleep 60", NULL};
        char *cat_argv[] = {(char *)"cat", NULL};
        char *bad_argv[] = {(char *)"/nonexistent/program", NULL};
        char *sleep_argv[] = {(char *)"sleep", (char *)"60", NULL};
        char id1[64], id2[64];

        /* health */
        ProtoRequest h = {.op = PROTO_OP_HEALTH};
        CHECK(call(&h, &r) == 0 && r.ok, "health failed");
        CHECK(r.result.health.protocol == 1, "protocol %u", r.result.health.protocol);
        bool has_memory = false;
        for (size_t i = 0; i < r.result.health.n_cgroup_controllers; i++)
                has_memory |= streq(r.result.health.cgroup_controllers[i], "memory");
        proto_reply_done(&r);

        /* malformed frames get an error and the daemon keeps serving */
        {
                _cleanup_free_ void *rep = NULL;
                size_t rlen;
                ProtoError err;
                CHECK(roundtrip_raw("\xc1garbage", 8, &rep, &rlen) == 0, "no reply to garbage");
                CHECK(proto_reply_decode(rep, rlen, PROTO_OP_HEALTH, &r, &err) == 0 &&
                              expect_error(&r, PROTO_ERROR_BAD_REQUEST) == 0,
                      "garbage not refused with bad_request");
                proto_reply_done(&r);
        }

        /* spawn, with an idempotent repeat */
        ProtoRequest sp = {.op = PROTO_OP_SPAWN, .id = (char *)"spawn-once"};
        ProtoStrPair env = {(char *)"PATH", (char *)"/usr/bin:/bin"};
        sp.args.spawn.argv = sh_argv;
        sp.args.spawn.n_argv = 3;
        sp.args.spawn.name = (char *)"smoke-sh";
        sp.args.spawn.env = (ProtoStrMap){&env, 1};
        CHECK(call(&sp, &r) == 0 && r.ok, "spawn failed: %s", r.error_msg ?: "");
        CHECK(r.result.agent.agent.state == PROTO_STATE_RUNNING, "state %s",
              proto_state_to_string(r.result.agent.agent.state));
        CHECK(r.result.agent.agent.has_spawn_us, "no spawn_us");
        snprintf(id1, sizeof id1, "%s", r.result.agent.agent.id);
        fprintf(stderr, "  spawned %s in %llu us\n", id1, (unsigned long long)r.result.agent.agent.spawn_us);
        proto_reply_done(&r);
        CHECK(call(&sp, &r) == 0 && r.ok && streq(r.result.agent.agent.id, id1),
              "a repeated request id did not return the first reply");
        proto_reply_done(&r);

        CHECK(spawn("smoke-sh", sleep_argv, 2, false, &r) == 0 &&
                      expect_error(&r, PROTO_ERROR_CONFLICT) == 0,
              "a taken name was not refused");
        proto_reply_done(&r);
        if (!has_memory) {
                ProtoRequest lim = {.op = PROTO_OP_SPAWN};
                lim.args.spawn.argv = sleep_argv;
                lim.args.spawn.n_argv = 2;
                lim.args.spawn.limits.has_memory = true;
                lim.args.spawn.limits.memory = 64 << 20;
                CHECK(call(&lim, &r) == 0 && expect_error(&r, PROTO_ERROR_UNENFORCEABLE) == 0 &&
                              strstr(r.error_msg, "memory"),
                      "an unenforceable memory limit was accepted");
                proto_reply_done(&r);
        }

        /* get by name */
        CHECK(agent_call(PROTO_OP_GET, "smoke-sh", &r) == 0 && r.ok, "get by name");
        CHECK(r.result.agent.agent.has_pid && r.result.agent.agent.pid > 1, "no host pid");
        proto_reply_done(&r);
        CHECK(agent_call(PROTO_OP_GET, "no-such-agent", &r) == 0 &&
                      expect_error(&r, PROTO_ERROR_NOT_FOUND) == 0,
              "unknown agent");
        proto_reply_done(&r);

        /* output: 4 lines on stdout ("c" unterminated), one on stderr */
        for (int i = 0; i < 100; i++) {
                proto_reply_done(&r);
                CHECK(output_lines(id1, PROTO_STREAM_STDOUT, &r) == 0 && r.ok, "output");
                if (r.result.output.total >= 4)
                        break;
                usleep(50000);
        }
        CHECK(r.result.output.total == 4 && r.result.output.n_lines == 4, "stdout lines %llu",
              (unsigned long long)r.result.output.total);
        CHECK(streq(r.result.output.lines[0].text, "hello") && streq(r.result.output.lines[3].text, "c"),
              "stdout text '%s' '%s'", r.result.output.lines[0].text, r.result.output.lines[3].text);
        proto_reply_done(&r);
        CHECK(output_lines(id1, PROTO_STREAM_STDERR, &r) == 0 && r.ok && r.result.output.n_lines == 1 &&
                      streq(r.result.output.lines[0].text, "oops"),
              "stderr");
        proto_reply_done(&r);

        /* pause / resume and their conflicts */
        CHECK(agent_call(PROTO_OP_PAUSE, id1, &r) == 0 && r.ok &&
                      r.result.agent.agent.state == PROTO_STATE_PAUSED,
              "pause: %s", r.error_msg ?: "");
        proto_reply_done(&r);
        CHECK(agent_call(PROTO_OP_PAUSE, id1, &r) == 0 && expect_error(&r, PROTO_ERROR_CONFLICT) == 0,
              "double pause");
        proto_reply_done(&r);
        CHECK(agent_call(PROTO_OP_RESUME, id1, &r) == 0 && r.ok &&
                      r.result.agent.agent.state == PROTO_STATE_RUNNING,
              "resume: %s", r.error_msg ?: "");
        proto_reply_done(&r);
        CHECK(agent_call(PROTO_OP_RESUME, id1, &r) == 0 && expect_error(&r, PROTO_ERROR_CONFLICT) == 0,
              "resume of a running agent");
        proto_reply_done(&r);
        CHECK(agent_call(PROTO_OP_REMOVE, id1, &r) == 0 && expect_error(&r, PROTO_ERROR_CONFLICT) == 0,
              "remove of a live agent");
        proto_reply_done(&r);

        /* stop with a short grace */
        ProtoRequest st = {.op = PROTO_OP_STOP};
        st.args.stop.agent = id1;
        st.args.stop.has_grace_ms = true;
        st.args.stop.grace_ms = 2000;
        CHECK(call(&st, &r) == 0 && r.ok && r.result.agent.agent.state == PROTO_STATE_EXITED &&
                      r.result.agent.agent.reason == PROTO_REASON_STOPPED,
              "stop: %s", r.error_msg ?: "");
        proto_reply_done(&r);
        CHECK(agent_call(PROTO_OP_PAUSE, id1, &r) == 0 && expect_error(&r, PROTO_ERROR_CONFLICT) == 0,
              "pause of an exited agent");
        proto_reply_done(&r);

        /* stdin through cat: write, close, and it completes */
        CHECK(spawn(NULL, cat_argv, 1, true, &r) == 0 && r.ok, "spawn cat: %s", r.error_msg ?: "");
        snprintf(id2, sizeof id2, "%s", r.result.agent.agent.id);
        proto_reply_done(&r);
        ProtoRequest in = {.op = PROTO_OP_STDIN};
        in.args.input.agent = id2;
        in.args.input.data = (ProtoBytes){(uint8_t *)"ping\n", 5};
        in.args.input.close = true;
        CHECK(call(&in, &r) == 0 && r.ok && r.result.input.written == 5, "stdin: %s", r.error_msg ?: "");
        proto_reply_done(&r);
        CHECK(wait_state(id2, PROTO_STATE_EXITED, &r) == 0, "cat did not end");
        CHECK(r.result.agent.agent.reason == PROTO_REASON_COMPLETED && r.result.agent.agent.exit_code == 0,
              "cat reason %s", proto_reason_to_string(r.result.agent.agent.reason));
        proto_reply_done(&r);
        CHECK(output_lines(id2, PROTO_STREAM_BOTH, &r) == 0 && r.ok && r.result.output.n_lines == 1 &&
                      streq(r.result.output.lines[0].text, "ping"),
              "cat output");
        proto_reply_done(&r);
        CHECK(call(&in, &r) == 0 && expect_error(&r, PROTO_ERROR_CONFLICT) == 0, "stdin after exit");
        proto_reply_done(&r);

        /* spawn failure names the stage */
        CHECK(spawn(NULL, bad_argv, 1, false, &r) == 0 && expect_error(&r, PROTO_ERROR_SPAWN_FAILED) == 0 &&
                      strstr(r.error_msg, "exec"),
              "spawn of a missing program: %s", r.error_msg ?: "");
        proto_reply_done(&r);

        /* kill */
        CHECK(spawn(NULL, sleep_argv, 2, false, &r) == 0 && r.ok, "spawn sleep");
        {
                char id3[64];
                snprintf(id3, sizeof id3, "%s", r.result.agent.agent.id);
                proto_reply_done(&r);
                CHECK(agent_call(PROTO_OP_KILL, id3, &r) == 0 && r.ok &&
                              r.result.agent.agent.reason == PROTO_REASON_KILLED,
                      "kill: %s", r.error_msg ?: "");
                proto_reply_done(&r);
        }

        /* events replay and stats */
        ProtoRequest ev = {.op = PROTO_OP_EVENTS};
        CHECK(call(&ev, &r) == 0 && r.ok && r.result.events.n_events > 5, "events");
        proto_reply_done(&r);
        ProtoRequest sts = {.op = PROTO_OP_STATS};
        CHECK(call(&sts, &r) == 0 && r.ok && r.result.stats.n_stats > 10, "stats");
        proto_reply_done(&r);

        /* remove the ended ones */
        CHECK(agent_call(PROTO_OP_REMOVE, id1, &r) == 0 && r.ok, "remove: %s", r.error_msg ?: "");
        proto_reply_done(&r);
        CHECK(agent_call(PROTO_OP_GET, id1, &r) == 0 && expect_error(&r, PROTO_ERROR_NOT_FOUND) == 0,
              "get after remove");
        proto_reply_done(&r);
        {
                char p[600];
                snprintf(p, sizeof p, "%s/state/agents/%s", tmpdir, id1);
                CHECK(access(p, F_OK) < 0, "state dir left after remove");
        }
        return 0;
}

int main(void)
{
        const char *mount = find_cgroup2();
        char runtime[300], state[300], ctl[320];
        int rc;

        if (geteuid() != 0 || !mount) {
                fprintf(stderr, "skip: needs root and a cgroup2 mount\n");
                return 77;
        }
        (void)spawn_env;
        snprintf(tmpdir, sizeof tmpdir, "/tmp/descartes-smoke-XXXXXX");
        if (!mkdtemp(tmpdir))
                return 1;
        snprintf(cgroup_dir, sizeof cgroup_dir, "%s/descartes-test-%d", mount, (int)getpid());
        snprintf(runtime, sizeof runtime, "%s/run", tmpdir);
        snprintf(state, sizeof state, "%s/state", tmpdir);
        snprintf(ctl, sizeof ctl, "%s/control", runtime);
        snprintf(endpoint, sizeof endpoint, "ipc://%s", ctl);
        atexit(cleanup);

        daemon_pid = fork();
        if (daemon_pid == 0) {
                execl(DESCARTESD_PATH, "descartesd", "--runtime-dir", runtime, "--state-dir", state,
                      "--cgroup-root", cgroup_dir, "--shim", SHIM_PATH, "--config", "/dev/null",
                      (char *)NULL);
                _exit(127);
        }
        for (int i = 0; i < 100 && access(ctl, F_OK) < 0; i++)
                usleep(50000);
        ctx = zmq_ctx_new();
        sock = zmq_socket(ctx, ZMQ_DEALER);
        int zero = 0;
        zmq_setsockopt(sock, ZMQ_LINGER, &zero, sizeof zero);
        if (zmq_connect(sock, endpoint) < 0) {
                fprintf(stderr, "cannot connect to %s\n", endpoint);
                return 1;
        }
        rc = run();
        fprintf(stderr, "%s\n", rc == 0 && failures == 0 ? "smoke: all checks passed" : "smoke: FAILED");
        return rc == 0 && failures == 0 ? 0 : 1;
}
