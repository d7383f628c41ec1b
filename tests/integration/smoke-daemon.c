/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A quick end-to-end run of descartesd: starts the daemon built in this tree on private dirs and a temporary
 * cgroup, drives it over its control socket with a raw DEALER and the proto codec, and cleans everything up,
 * also on failure. Needs root and a cgroup2 mount; exits 77 (skip) otherwise. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/magic.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
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
static void *ctx, *sock, *sub;
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
        if (sub)
                zmq_close(sub);
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

/* Waits for a pushed event of kind about agent (NULL: a host event); returns 0 and the event. */
static int wait_event(const char *agent, ProtoEventKind kind, ProtoEvent *ret)
{
        for (int i = 0; i < 200; i++) {
                zmq_pollitem_t pi = {.socket = sub, .events = ZMQ_POLLIN};
                ProtoPush p = {};
                zmq_msg_t body;

                if (zmq_poll(&pi, 1, 100) <= 0)
                        continue;
                zmq_msg_init(&body);
                if (zmq_msg_recv(&body, sub, 0) < 0)
                        return -errno;
                if (proto_push_decode(zmq_msg_data(&body), zmq_msg_size(&body), &p, NULL) >= 0 &&
                    p.has_event && p.event.kind == kind &&
                    (agent ? p.event.agent && streq(p.event.agent, agent) : !p.event.agent)) {
                        *ret = p.event;
                        p.event = (ProtoEvent){};
                        proto_push_done(&p);
                        zmq_msg_close(&body);
                        return 0;
                }
                proto_push_done(&p);
                zmq_msg_close(&body);
        }
        return -ETIMEDOUT;
}

/* Subscribes sub to every event: the reply comes before any push. */
static int subscribe_all(void)
{
        ProtoRequest req = {.op = PROTO_OP_SUBSCRIBE, .id = (char *)"smoke-sub"};
        _cleanup_free_ void *buf = NULL;
        size_t len;

        if (proto_request_encode(&req, &buf, &len) < 0 || zmq_send(sub, buf, len, 0) < 0)
                return -EIO;
        for (int i = 0; i < 50; i++) {
                zmq_pollitem_t pi = {.socket = sub, .events = ZMQ_POLLIN};
                ProtoReply r = {};
                zmq_msg_t body;
                bool ok;

                if (zmq_poll(&pi, 1, 100) <= 0)
                        continue;
                zmq_msg_init(&body);
                if (zmq_msg_recv(&body, sub, 0) < 0)
                        return -errno;
                ok = proto_reply_decode(zmq_msg_data(&body), zmq_msg_size(&body), PROTO_OP_SUBSCRIBE, &r,
                                        NULL) >= 0 &&
                     r.ok && streq(r.id, "smoke-sub");
                proto_reply_done(&r);
                zmq_msg_close(&body);
                return ok ? 0 : -EPROTO;
        }
        return -ETIMEDOUT;
}

/* As uid 65534 in a child (own ZeroMQ context): root's agent is invisible, list is empty, health works. */
static int check_other_user(const char *agent_id)
{
        char rt[300], ctl[320];
        pid_t pid;
        int status = 0;

        snprintf(rt, sizeof rt, "%s/run", tmpdir);
        snprintf(ctl, sizeof ctl, "%s/control", rt);
        /* only for this test: let uid 65534 reach the socket that is root:root 0660 here */
        if (chmod(tmpdir, 0711) < 0 || chmod(rt, 0751) < 0 || chmod(ctl, 0666) < 0)
                return -errno;
        pid = fork();
        if (pid == 0) {
                ProtoReply r = {};
                ProtoRequest g = {.op = PROTO_OP_GET};
                ProtoRequest l = {.op = PROTO_OP_LIST};
                ProtoRequest h = {.op = PROTO_OP_HEALTH};
                int zero = 0;

                if (setgroups(0, NULL) < 0 || setgid(65534) < 0 || setuid(65534) < 0)
                        _exit(10);
                ctx = zmq_ctx_new();
                sock = zmq_socket(ctx, ZMQ_DEALER);
                zmq_setsockopt(sock, ZMQ_LINGER, &zero, sizeof zero);
                if (zmq_connect(sock, endpoint) < 0)
                        _exit(11);
                g.args.agent.agent = (char *)agent_id;
                if (call(&g, &r) < 0 || r.ok || r.error_code != PROTO_ERROR_NOT_FOUND)
                        _exit(12);
                proto_reply_done(&r);
                l.args.list.all = true;
                if (call(&l, &r) < 0 || !r.ok || r.result.list.n_agents != 0)
                        _exit(13);
                proto_reply_done(&r);
                if (call(&h, &r) < 0 || !r.ok)
                        _exit(14);
                proto_reply_done(&r);
                zmq_close(sock);
                zmq_ctx_term(ctx);
                _exit(0);
        }
        if (pid < 0 || waitpid(pid, &status, 0) < 0)
                return -errno;
        (void)chmod(ctl, 0660);
        return WIFEXITED(status) ? WEXITSTATUS(status) : 99;
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
                /* an empty body, a non-map, an unknown op, deep nesting: each answered, none fatal */
                static const struct {
                        const char *bytes;
                        size_t len;
                        ProtoErrorCode code;
                } bad[] = {
                        {"", 0, PROTO_ERROR_BAD_REQUEST},
                        {"\x93\x01\x02\x03", 4, PROTO_ERROR_BAD_REQUEST},
                        {"\x84\xa1v\x01\xa2id\xa1x\xa2op\xa4nope\xa4"
                         "args\x80",
                         23, PROTO_ERROR_UNKNOWN_OP},
                        {"\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91"
                         "\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91"
                         "\xc0",
                         41, PROTO_ERROR_BAD_REQUEST},
                        {"\xdd\xff\xff\xff\xff", 5, PROTO_ERROR_BAD_REQUEST},
                };
                for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
                        _cleanup_free_ void *rep2 = NULL;
                        CHECK(roundtrip_raw(bad[i].bytes, bad[i].len, &rep2, &rlen) == 0,
                              "no reply to bad frame %zu", i);
                        CHECK(proto_reply_decode(rep2, rlen, PROTO_OP_HEALTH, &r, &err) == 0 &&
                                      expect_error(&r, bad[i].code) == 0,
                              "bad frame %zu", i);
                        proto_reply_done(&r);
                }
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
        {
                ProtoEvent e = {};
                CHECK(wait_event(id1, PROTO_EVENT_STATUS_CHANGED, &e) == 0 && e.has_state &&
                              streq(e.agent, id1),
                      "no status_changed event");
                proto_event_done(&e);
                CHECK(wait_event(id1, PROTO_EVENT_OUTPUT, &e) == 0 && e.kind == PROTO_EVENT_OUTPUT &&
                              e.data.data,
                      "no output event");
                proto_event_done(&e);
                CHECK(wait_event(NULL, PROTO_EVENT_HEARTBEAT, &e) == 0 && e.kind == PROTO_EVENT_HEARTBEAT &&
                              e.data.data,
                      "no heartbeat");
                proto_event_done(&e);
        }

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

        {
                int k = check_other_user(id1);
                CHECK(k == 0, "another uid could see or reach root's agent (step %d)", k);
        }

        /* a repeat that arrives while the first is pending gets the same reply; one agent is made */
        {
                _cleanup_free_ void *body = NULL, *rep1 = NULL, *rep2 = NULL;
                ProtoRequest dp = {.op = PROTO_OP_SPAWN, .id = (char *)"spawn-pending-twice"};
                ProtoReply r1 = {}, r2 = {};
                ProtoError err;
                size_t len, l1 = 0, l2 = 0;
                zmq_msg_t m;

                dp.args.spawn.argv = sleep_argv;
                dp.args.spawn.n_argv = 2;
                dp.args.spawn.env = (ProtoStrMap){&env, 1};
                CHECK(proto_request_encode(&dp, &body, &len) == 0, "encode");
                for (int i = 0; i < 2; i++)
                        CHECK(zmq_send(sock, "", 0, ZMQ_SNDMORE) == 0 && zmq_send(sock, body, len, 0) >= 0,
                              "send");
                for (int i = 0; i < 2; i++) {
                        zmq_msg_init(&m);
                        CHECK(zmq_msg_recv(&m, sock, 0) == 0, "delimiter");
                        CHECK(zmq_msg_recv(&m, sock, 0) > 0, "body");
                        void *copy = malloc(zmq_msg_size(&m));
                        memcpy(copy, zmq_msg_data(&m), zmq_msg_size(&m));
                        if (i == 0) {
                                rep1 = copy;
                                l1 = zmq_msg_size(&m);
                        } else {
                                rep2 = copy;
                                l2 = zmq_msg_size(&m);
                        }
                        zmq_msg_close(&m);
                }
                CHECK(proto_reply_decode(rep1, l1, PROTO_OP_SPAWN, &r1, &err) == 0 && r1.ok, "first");
                CHECK(proto_reply_decode(rep2, l2, PROTO_OP_SPAWN, &r2, &err) == 0 && r2.ok, "second");
                CHECK(streq(r1.result.agent.agent.id, r2.result.agent.agent.id),
                      "two agents for one request id");
                CHECK(agent_call(PROTO_OP_KILL, r1.result.agent.agent.id, &r) == 0 && r.ok, "kill the dup");
                proto_reply_done(&r);
                /* right after the kill: the removal waits for the cgroups to empty, then answers */
                CHECK(agent_call(PROTO_OP_REMOVE, r1.result.agent.agent.id, &r) == 0 && r.ok,
                      "remove the dup: %s", r.error_msg ?: "");
                proto_reply_done(&r);
                proto_reply_done(&r1);
                proto_reply_done(&r2);
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

        /* maximum run time */
        {
                ProtoRequest tm = {.op = PROTO_OP_SPAWN};
                char id4[64];
                tm.args.spawn.argv = sleep_argv;
                tm.args.spawn.n_argv = 2;
                tm.args.spawn.env = (ProtoStrMap){&env, 1};
                tm.args.spawn.has_timeout_ms = true;
                tm.args.spawn.timeout_ms = 300;
                CHECK(call(&tm, &r) == 0 && r.ok, "spawn with timeout_ms");
                snprintf(id4, sizeof id4, "%s", r.result.agent.agent.id);
                CHECK(wait_state(id4, PROTO_STATE_EXITED, &r) == 0 &&
                              r.result.agent.agent.reason == PROTO_REASON_TIMED_OUT,
                      "timeout_ms did not end the agent as timed_out");
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
        char runtime[300], state[300], ctl[320], conf[320];
        uint8_t sub_id[PROTO_SUBSCRIBE_ROUTING_ID_MIN];
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
        snprintf(conf, sizeof conf, "%s/descartesd.conf", tmpdir);
        if (write_file_replace_at(AT_FDCWD, conf, "heartbeat_interval = 200ms\n", 27, 0644, true) < 0)
                return 1;
        atexit(cleanup);

        daemon_pid = fork();
        if (daemon_pid == 0) {
                execl(DESCARTESD_PATH, "descartesd", "--runtime-dir", runtime, "--state-dir", state,
                      "--cgroup-root", cgroup_dir, "--shim", SHIM_PATH, "--config", conf, "--policy-dir",
                      POLICY_DIR, (char *)NULL);
                _exit(127);
        }
        for (int i = 0; i < 100 && access(ctl, F_OK) < 0; i++)
                usleep(50000);
        if (access(ctl, F_OK) < 0) {
                fprintf(stderr, "descartesd did not create %s\n", ctl);
                return 1;
        }
        ctx = zmq_ctx_new();
        sock = zmq_socket(ctx, ZMQ_DEALER);
        int zero = 0;
        zmq_setsockopt(sock, ZMQ_LINGER, &zero, sizeof zero);
        if (zmq_connect(sock, endpoint) < 0) {
                fprintf(stderr, "cannot connect to %s\n", endpoint);
                return 1;
        }
        sub = zmq_socket(ctx, ZMQ_DEALER);
        zmq_setsockopt(sub, ZMQ_LINGER, &zero, sizeof zero);
        /* a subscriber names itself with a random routing id (protocol.md section 1) */
        if (getrandom(sub_id, sizeof sub_id, 0) != (ssize_t)sizeof sub_id) {
                fprintf(stderr, "cannot read random bytes\n");
                return 1;
        }
        sub_id[0] |= 1;
        zmq_setsockopt(sub, ZMQ_ROUTING_ID, sub_id, sizeof sub_id);
        if (zmq_connect(sub, endpoint) < 0 || subscribe_all() < 0) {
                fprintf(stderr, "cannot subscribe at %s\n", endpoint);
                return 1;
        }
        rc = run();
        /* a clean exit on SIGTERM (under ASan this also says: no leaks) */
        if (sock) {
                zmq_close(sock);
                sock = NULL;
        }
        if (sub) {
                zmq_close(sub);
                sub = NULL;
        }
        {
                int status = 0;
                (void)kill(daemon_pid, SIGTERM);
                (void)waitpid(daemon_pid, &status, 0);
                daemon_pid = 0;
                if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                        fprintf(stderr, "FAIL: descartesd ended with status 0x%x on SIGTERM\n", status);
                        failures++;
                }
        }
        fprintf(stderr, "%s\n", rc == 0 && failures == 0 ? "smoke: all checks passed" : "smoke: FAILED");
        return rc == 0 && failures == 0 ? 0 : 1;
}
