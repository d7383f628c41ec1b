/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A hostile tenant on the wire: raw requests no CLI sends (unknown ids, prefixes, another tenant's agents,
 * agents in every state, a remove racing other ops, a flood of waiting requests). Every request gets a
 * reply, and the daemon keeps serving everyone. Meant to run under ASan+UBSan too (scripts/test-sanitizers),
 * where a use-after-free in a handler aborts the daemon and fails the test. */
#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zmq.h>

#include "cleanup.h"
#include "itest-util.h"
#include "proto.h"

#define TENANT_UID 65534

#define RAW_SENT_MAX 4096

typedef struct Raw {
        void *ctx, *sock;
        unsigned session; /* ids are per caller for the daemon's reply cache: never reuse one */
        unsigned n;
        ProtoOp ops[RAW_SENT_MAX]; /* the op of request "wN", to read its reply */
} Raw;

static int raw_open(Raw *raw, const char *endpoint)
{
        static unsigned sessions;
        int linger = 0, timeout = 10000;

        raw->session = (unsigned)getpid() * 1000 + ++sessions;
        raw->ctx = zmq_ctx_new();
        if (!raw->ctx)
                return -errno;
        raw->sock = zmq_socket(raw->ctx, ZMQ_DEALER);
        if (!raw->sock || zmq_setsockopt(raw->sock, ZMQ_LINGER, &linger, sizeof linger) < 0 ||
            zmq_setsockopt(raw->sock, ZMQ_RCVTIMEO, &timeout, sizeof timeout) < 0 ||
            zmq_connect(raw->sock, endpoint) < 0)
                return -errno;
        return 0;
}

static void raw_close(Raw *raw)
{
        if (raw->sock)
                zmq_close(raw->sock);
        if (raw->ctx)
                zmq_ctx_term(raw->ctx);
        *raw = (Raw){};
}

/* Sends req with a fresh id (unless it has one) and no wait. */
static int raw_send(Raw *raw, ProtoRequest *req)
{
        _cleanup_free_ void *buf = NULL;
        char id[32];
        size_t len;
        int r;

        if (!req->id) {
                raw->n = (raw->n + 1) % RAW_SENT_MAX;
                raw->ops[raw->n] = req->op;
                snprintf(id, sizeof id, "w%u-%u", raw->session, raw->n);
                req->id = id;
        }
        r = proto_request_encode(req, &buf, &len);
        if (req->id == id)
                req->id = NULL;
        if (r < 0)
                return r;
        if (zmq_send(raw->sock, "", 0, ZMQ_SNDMORE) < 0 || zmq_send(raw->sock, buf, len, 0) < 0)
                return -errno;
        return 0;
}

/* Receives one reply (any op); -ETIMEDOUT when the daemon said nothing for 10 s. */
static int raw_recv(Raw *raw, ProtoReply *ret)
{
        zmq_msg_t m;
        ProtoError err;
        int r;

        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, raw->sock, 0) < 0) { /* the delimiter */
                zmq_msg_close(&m);
                return errno == EAGAIN ? -ETIMEDOUT : -errno;
        }
        if (zmq_msg_recv(&m, raw->sock, 0) < 0) {
                zmq_msg_close(&m);
                return -errno;
        }
        /* replies may come in any order: read the id first, then the reply as its request's op */
        proto_error_init(&err);
        r = proto_reply_decode(zmq_msg_data(&m), zmq_msg_size(&m), PROTO_OP_HEALTH, ret, &err);
        if (r >= 0 || err.has_id) {
                unsigned session, n;
                const char *id = r >= 0 ? ret->id : err.id;
                ProtoOp op = id && sscanf(id, "w%u-%u", &session, &n) == 2 && n < RAW_SENT_MAX
                                     ? raw->ops[n]
                                     : PROTO_OP_HEALTH;
                if (op != PROTO_OP_HEALTH) {
                        if (r >= 0)
                                proto_reply_done(ret);
                        proto_error_init(&err);
                        r = proto_reply_decode(zmq_msg_data(&m), zmq_msg_size(&m), op, ret, &err);
                }
        }
        zmq_msg_close(&m);
        return r;
}

static int raw_call(Raw *raw, ProtoRequest *req, ProtoReply *ret)
{
        int r = raw_send(raw, req);
        return r < 0 ? r : raw_recv(raw, ret);
}

/* Every per-agent op with `ref` as its agent; `want` is the code each must get (-1: any reply will do). */
static int every_op_on(Raw *raw, const char *ref, int want, char *msg, size_t msg_size)
{
        static const ProtoOp ops[] = {PROTO_OP_GET,    PROTO_OP_PAUSE,  PROTO_OP_RESUME, PROTO_OP_STOP,
                                      PROTO_OP_KILL,   PROTO_OP_SIGNAL, PROTO_OP_STDIN,  PROTO_OP_OUTPUT,
                                      PROTO_OP_ACTION, PROTO_OP_REMOVE};
        for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
                ProtoRequest req = {.op = ops[i]};
                ProtoReply rep = {};
                int r;

                switch (ops[i]) {
                case PROTO_OP_STOP:
                        req.args.stop.agent = (char *)ref;
                        req.args.stop.has_grace_ms = true;
                        req.args.stop.grace_ms = 100;
                        break;
                case PROTO_OP_SIGNAL:
                        req.args.signal.agent = (char *)ref;
                        req.args.signal.signal = SIGCONT;
                        break;
                case PROTO_OP_STDIN:
                        req.args.input.agent = (char *)ref;
                        req.args.input.data.data = (uint8_t *)"x\n";
                        req.args.input.data.size = 2;
                        break;
                case PROTO_OP_OUTPUT:
                        req.args.output.agent = (char *)ref;
                        break;
                case PROTO_OP_ACTION:
                        req.args.action.agent = (char *)ref;
                        req.args.action.name = (char *)"ping";
                        break;
                default:
                        req.args.agent.agent = (char *)ref;
                }
                if (want < 0) {
                        /* any answer will do: send them all, then read (a stop may wait for the kill) */
                        r = raw_send(raw, &req);
                        if (r < 0)
                                return r;
                        continue;
                }
                r = raw_call(raw, &req, &rep);
                if (r < 0) {
                        snprintf(msg, msg_size, "%s %s: no reply (%s)", proto_op_to_string(ops[i]), ref,
                                 strerror(-r));
                        return r;
                }
                if (want >= 0 && (rep.ok || (int)rep.error_code != want)) {
                        snprintf(msg, msg_size, "%s %s: got %s, want %s", proto_op_to_string(ops[i]), ref,
                                 rep.ok ? "ok" : proto_error_code_to_string(rep.error_code),
                                 proto_error_code_to_string(want));
                        proto_reply_done(&rep);
                        return -EPROTO;
                }
                proto_reply_done(&rep);
        }
        for (size_t i = 0; want < 0 && i < sizeof ops / sizeof ops[0]; i++) {
                ProtoReply rep = {};
                int r = raw_recv(raw, &rep);
                if (r < 0) {
                        snprintf(msg, msg_size, "%s: %zu of %zu requests got no reply (%s)", ref,
                                 sizeof ops / sizeof ops[0] - i, sizeof ops / sizeof ops[0], strerror(-r));
                        return r;
                }
                proto_reply_done(&rep);
        }
        return 0;
}

static int health_ok(Raw *raw)
{
        ProtoRequest req = {.op = PROTO_OP_HEALTH};
        ProtoReply rep = {};
        int r = raw_call(raw, &req, &rep);

        if (r >= 0 && !rep.ok)
                r = -EPROTO;
        proto_reply_done(&rep);
        return r;
}

/* Runs fn as uid 65534 with group descartes (so it may connect) in a child; returns its exit status. */
static int as_tenant(ITest *t, int (*fn)(Raw *raw, void *arg), void *arg)
{
        struct group *g = getgrnam("descartes");
        const char *path = t->h->control + strlen("ipc://");
        pid_t pid;
        int status = 0;

        if (!g)
                return 77;
        /* the test's private dirs are root's: let the tenant reach the socket, as /run/descartes does */
        if (chmod(t->h->tmpdir, 0711) < 0 || chmod(t->h->runtime_dir, 0751) < 0 || chmod(path, 0660) < 0)
                return -errno;
        pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0) {
                Raw raw = {};
                gid_t gid = g->gr_gid;
                char msg[512] = "";
                int r;

                if (setgroups(1, &gid) < 0 || setgid(TENANT_UID) < 0 || setuid(TENANT_UID) < 0)
                        _exit(90);
                if (raw_open(&raw, t->h->control) < 0)
                        _exit(91);
                r = fn(&raw, arg);
                if (r != 0)
                        fprintf(stderr, "tenant: %s\n", (char *)arg);
                raw_close(&raw);
                _exit(r == 0 ? 0 : 1);
                (void)msg;
        }
        if (waitpid(pid, &status, 0) < 0)
                return -errno;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

typedef struct TenantProbe {
        char msg[512];
        const char *other_id; /* root's agent */
} TenantProbe;

static int tenant_probe(Raw *raw, void *arg)
{
        TenantProbe *p = arg;
        char prefix[9];
        int r;

        snprintf(prefix, sizeof prefix, "%.8s", p->other_id);
        const char *refs[] = {"00000000-0000-0000-0000-000000000000", "zz", "no-such-name", p->other_id,
                              prefix};
        for (size_t i = 0; i < sizeof refs / sizeof refs[0]; i++) {
                r = every_op_on(raw, refs[i], PROTO_ERROR_NOT_FOUND, p->msg, sizeof p->msg);
                if (r < 0)
                        return 1;
        }
        /* batch naming root's agent: done per item, not_found, and nothing happens to it */
        {
                char *agents[] = {(char *)p->other_id, (char *)"zz", NULL};
                ProtoRequest req = {.op = PROTO_OP_BATCH};
                ProtoReply rep = {};

                req.args.batch.op = PROTO_OP_KILL;
                req.args.batch.agents = agents;
                req.args.batch.n_agents = 2;
                if (raw_call(raw, &req, &rep) < 0 || !rep.ok || rep.result.batch.ok_count != 0) {
                        snprintf(p->msg, sizeof p->msg, "batch kill of root's agent was not refused");
                        proto_reply_done(&rep);
                        return 1;
                }
                proto_reply_done(&rep);
        }
        if (health_ok(raw) < 0) {
                snprintf(p->msg, sizeof p->msg, "health failed after the probes");
                return 1;
        }
        return 0;
}

static void test_other_tenant_and_unknown_ids(void **state)
{
        ITest *t = *state;
        const char *argv[] = {"sleep", "600", NULL};
        _cleanup_free_ char *id = itest_spawn(t, true, argv);
        TenantProbe p = {.other_id = id};
        ProtoAgentInfo info = {};
        DescartesError err = {};
        int r;

        r = as_tenant(t, tenant_probe, &p);
        if (r == 77)
                skip();
        assert_int_equal(r, 0);
        /* root's agent is untouched */
        assert_int_equal(wire_get(t->c, id, &info, &err), 0);
        assert_int_equal(info.state, PROTO_STATE_RUNNING);
        proto_agent_info_done(&info);
        assert_int_equal(wire_kill(t->c, id, &info, &err), 0);
        proto_agent_info_done(&info);
}

/* The crash of the issue: a spawn with big labels, then stop and stdin of an unknown agent. */
static void test_unknown_after_big_spawn(void **state)
{
        ITest *t = *state;
        Raw raw = {};
        char msg[512] = "";
        char label[321];
        char key[16];
        ProtoRequest req = {.op = PROTO_OP_SPAWN};
        ProtoReply rep = {};
        char *argv[] = {(char *)"true", NULL};

        assert_int_equal(raw_open(&raw, t->h->control), 0);
        memset(label, 'v', sizeof label - 1);
        label[sizeof label - 1] = 0;
        req.args.spawn.argv = argv;
        req.args.spawn.n_argv = 1;
        assert_int_equal(proto_str_map_add(&req.args.spawn.env, "PATH", "/usr/bin:/bin"), 0);
        for (int i = 0; i < 8; i++) {
                snprintf(key, sizeof key, "k%d", i);
                assert_int_equal(proto_str_map_add(&req.args.spawn.labels, key, label), 0);
        }
        assert_int_equal(raw_call(&raw, &req, &rep), 0);
        assert_true(rep.ok);
        proto_reply_done(&rep);
        proto_str_map_done(&req.args.spawn.labels);
        proto_str_map_done(&req.args.spawn.env);
        for (int i = 0; i < 20; i++)
                if (every_op_on(&raw, "ffffffff-ffff-ffff-ffff-ffffffffffff", PROTO_ERROR_NOT_FOUND, msg,
                                sizeof msg) < 0)
                        fail_msg("%s", msg);
        assert_int_equal(health_ok(&raw), 0);
        raw_close(&raw);
}

static ProtoState state_of(ITest *t, const char *id)
{
        ProtoAgentInfo info = {};
        DescartesError err = {};
        ProtoState s;

        if (wire_get(t->c, id, &info, &err) < 0)
                return _PROTO_STATE_INVALID;
        s = info.state;
        proto_agent_info_done(&info);
        return s;
}

/* Every op against an agent in each state it can be held in (running, paused, stopping, exited): some
 * answer ok and some conflict, all answer. */
static void test_every_state(void **state)
{
        ITest *t = *state;
        const char *argv[] = {"sh", "-c", "trap '' TERM; echo ready; while :; do sleep 1; done", NULL};
        _cleanup_free_ char *id = NULL;
        ProtoAgentInfo info = {};
        DescartesError err = {};
        Raw raw = {};
        char msg[512] = "";

        assert_int_equal(raw_open(&raw, t->h->control), 0);

        id = itest_spawn(t, true, argv);
        assert_int_equal(state_of(t, id), PROTO_STATE_RUNNING);
        /* running: pause comes last in the list's order only after get; each reply is enough */
        if (every_op_on(&raw, id, -1, msg, sizeof msg) < 0)
                fail_msg("running: %s", msg);
        free(id);

        id = itest_spawn(t, true, argv);
        assert_int_equal(wire_pause(t->c, id, &info, &err), 0);
        proto_agent_info_done(&info);
        if (every_op_on(&raw, id, -1, msg, sizeof msg) < 0)
                fail_msg("paused: %s", msg);
        free(id);

        /* stopping: a long grace on an agent that ignores TERM (once its shell has set the trap) */
        id = itest_spawn(t, true, argv);
        itest_wait_ready(t, id);
        {
                ProtoRequest req = {.op = PROTO_OP_STOP};
                req.args.stop.agent = id;
                req.args.stop.has_grace_ms = true;
                req.args.stop.grace_ms = 60000;
                assert_int_equal(raw_send(&raw, &req), 0);
                itest_sleep_ms(200);
                assert_int_equal(state_of(t, id), PROTO_STATE_STOPPING);
                if (every_op_on(&raw, id, -1, msg, sizeof msg) < 0)
                        fail_msg("stopping: %s", msg);
                /* the kill among them ended it: the parked stop is answered too */
                ProtoReply rep = {};
                assert_int_equal(raw_recv(&raw, &rep), 0);
                proto_reply_done(&rep);
        }

        /* exited, then a remove racing other requests on it, none awaited before sending the next */
        itest_wait_final(t, id, 10000, &info);
        proto_agent_info_done(&info);
        {
                static const ProtoOp race[] = {PROTO_OP_REMOVE, PROTO_OP_GET,    PROTO_OP_STOP,
                                               PROTO_OP_STDIN,  PROTO_OP_REMOVE, PROTO_OP_OUTPUT};
                for (size_t i = 0; i < sizeof race / sizeof race[0]; i++) {
                        ProtoRequest req = {.op = race[i]};
                        req.args.agent.agent = id; /* every one of these has its agent first */
                        assert_int_equal(raw_send(&raw, &req), 0);
                }
                for (size_t i = 0; i < sizeof race / sizeof race[0]; i++) {
                        ProtoReply rep = {};
                        assert_int_equal(raw_recv(&raw, &rep), 0);
                        proto_reply_done(&rep);
                }
        }
        assert_int_equal(health_ok(&raw), 0);
        raw_close(&raw);
}

static int tenant_health(Raw *raw, void *arg)
{
        snprintf(arg, 512, "health refused while root floods the daemon");
        return health_ok(raw) < 0;
}

/* One caller with a flood of waiting requests (stops of an agent that ignores TERM, with a long grace) gets
 * `busy` past its own bound; another caller is still served. */
static void test_waiting_flood_is_per_caller(void **state)
{
        ITest *t = *state;
        const char *argv[] = {"sh", "-c", "trap '' TERM; echo ready; while :; do sleep 1; done", NULL};
        _cleanup_free_ char *id = itest_spawn(t, true, argv);
        Raw raw = {};
        char msg[512] = "";
        unsigned busy = 0, ok = 0;
        int r;

        itest_wait_ready(t, id); /* a TERM before the trap would end it, and the stops with it */
        assert_int_equal(raw_open(&raw, t->h->control), 0);
        for (int i = 0; i < 600; i++) {
                ProtoRequest req = {.op = PROTO_OP_STOP};
                req.args.stop.agent = id;
                req.args.stop.has_grace_ms = true;
                req.args.stop.grace_ms = 120000;
                assert_int_equal(raw_send(&raw, &req), 0);
        }
        /* the ones past the bound are answered busy at once; the others wait for the end */
        for (;;) {
                ProtoReply rep = {};
                int timeout = 2000;
                (void)zmq_setsockopt(raw.sock, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
                if (raw_recv(&raw, &rep) < 0)
                        break;
                if (!rep.ok && rep.error_code == PROTO_ERROR_BUSY)
                        busy++;

                proto_reply_done(&rep);
        }
        assert_true(busy >= 600 - 256);
        assert_true(busy < 600);

        r = as_tenant(t, tenant_health, msg);
        if (r == 77)
                skip();
        assert_int_equal(r, 0);
        /* the flooding caller itself may still ask and act: only waiting requests are bounded */
        assert_int_equal(health_ok(&raw), 0);

        /* a kill would wait too, and is refused; a batch kill never waits: it ends the agent, and every
         * waiting stop is answered */
        {
                ProtoRequest req = {.op = PROTO_OP_KILL};
                ProtoReply rep = {};
                req.args.agent.agent = id;
                assert_int_equal(raw_call(&raw, &req, &rep), 0);
                assert_false(rep.ok);
                assert_int_equal(rep.error_code, PROTO_ERROR_BUSY);
                proto_reply_done(&rep);
        }
        {
                char *agents[] = {id, NULL};
                ProtoRequest req = {.op = PROTO_OP_BATCH};
                ProtoReply rep = {};
                req.args.batch.op = PROTO_OP_KILL;
                req.args.batch.agents = agents;
                req.args.batch.n_agents = 1;
                assert_int_equal(raw_call(&raw, &req, &rep), 0);
                assert_true(rep.ok);
                assert_int_equal(rep.result.batch.ok_count, 1);
                proto_reply_done(&rep);
        }
        {
                int timeout = 10000;
                (void)zmq_setsockopt(raw.sock, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
        }
        while (ok < 600 - busy) {
                ProtoReply rep = {};
                if (raw_recv(&raw, &rep) < 0)
                        break;
                ok += rep.ok;
                proto_reply_done(&rep);
        }
        assert_int_equal(ok, 600 - busy);
        raw_close(&raw);
}

/* Promises of docs/protocol.md that the daemon once broke. */
static void test_document_promises(void **state)
{
        ITest *t = *state;
        Raw raw = {};
        char *bad_argv[] = {(char *)"/nonexistent/program", NULL};
        const char *sleep_argv[] = {"sleep", "600", NULL};
        _cleanup_free_ char *older = NULL, *newer = NULL;

        assert_int_equal(raw_open(&raw, t->h->control), 0);

        /* a failed spawn names its agent, which is `failed` by the time the reply is read */
        {
                ProtoRequest req = {.op = PROTO_OP_SPAWN};
                ProtoReply rep = {};
                req.args.spawn.argv = bad_argv;
                req.args.spawn.n_argv = 1;
                assert_int_equal(raw_call(&raw, &req, &rep), 0);
                assert_false(rep.ok);
                assert_int_equal(rep.error_code, PROTO_ERROR_SPAWN_FAILED);
                assert_non_null(rep.error_agent);
                assert_int_equal(state_of(t, rep.error_agent), PROTO_STATE_FAILED);
                proto_reply_done(&rep);
        }

        /* list with limit keeps the newest */
        older = itest_spawn(t, false, sleep_argv);
        newer = itest_spawn(t, false, sleep_argv);
        {
                ProtoRequest req = {.op = PROTO_OP_LIST};
                ProtoReply rep = {};
                req.args.list.has_limit = true;
                req.args.list.limit = 1;
                assert_int_equal(raw_call(&raw, &req, &rep), 0);
                assert_true(rep.ok);
                assert_int_equal(rep.result.list.n_agents, 1);
                assert_string_equal(rep.result.list.agents[0].id, newer);
                proto_reply_done(&rep);
        }

        /* action to an agent without an action channel: conflict */
        {
                ProtoRequest req = {.op = PROTO_OP_ACTION};
                ProtoReply rep = {};
                req.args.action.agent = newer;
                req.args.action.name = (char *)"ping";
                assert_int_equal(raw_call(&raw, &req, &rep), 0);
                assert_false(rep.ok);
                assert_int_equal(rep.error_code, PROTO_ERROR_CONFLICT);
                proto_reply_done(&rep);
        }

        /* batch with agents: [] and a selector is the selector's batch */
        {
                char *none[] = {NULL};
                ProtoRequest req = {.op = PROTO_OP_BATCH};
                ProtoReply rep = {};
                req.args.batch.op = PROTO_OP_KILL;
                req.args.batch.agents = none;
                req.args.batch.n_agents = 0;
                req.args.batch.has_selector = true;
                assert_int_equal(raw_call(&raw, &req, &rep), 0);
                assert_true(rep.ok);
                assert_true(rep.result.batch.ok_count >= 2);
                proto_reply_done(&rep);
        }
        raw_close(&raw);
}

static uint64_t stdin_send(Raw *raw, const char *id, const uint8_t *data, size_t size, bool close_after)
{
        ProtoRequest req = {.op = PROTO_OP_STDIN};
        ProtoReply rep = {};
        uint64_t written;

        req.args.input.agent = (char *)id;
        req.args.input.data.data = (uint8_t *)data;
        req.args.input.data.size = size;
        req.args.input.close = close_after;
        assert_int_equal(raw_call(raw, &req, &rep), 0);
        if (!rep.ok)
                fail_msg("stdin of %zu bytes: %s %s", size, proto_error_code_to_string(rep.error_code),
                         rep.error_msg);
        written = rep.result.input.written;
        proto_reply_done(&rep);
        assert_true(written <= size);
        return written;
}

/* stdin takes up to 1 MiB per request (docs/protocol.md): a reader gets every byte in order; an agent that
 * does not read fills its queue, and then each request says how much it took (a partial `written`, then 0),
 * never `busy`. */
static void test_stdin_full_requests(void **state)
{
        ITest *t = *state;
        const char *wc_argv[] = {"wc", "-c", NULL};
        const char *sleep_argv[] = {"sleep", "600", NULL};
        _cleanup_free_ char *wc = itest_spawn(t, true, wc_argv);
        _cleanup_free_ char *idle = itest_spawn(t, true, sleep_argv);
        _cleanup_free_ uint8_t *mib = malloc(PROTO_STDIN_DATA_MAX);
        ProtoAgentInfo info = {};
        uint64_t total = 0, sent = 0;
        char **lines;
        size_t n_lines;
        Raw raw = {};
        char expect[32];
        bool partial = false;

        assert_non_null(mib);
        for (size_t i = 0; i < PROTO_STDIN_DATA_MAX; i++)
                mib[i] = (uint8_t)('a' + i % 26);
        assert_int_equal(raw_open(&raw, t->h->control), 0);

        for (int i = 0; i < 5; i++) {
                size_t off = 0;
                while (off < PROTO_STDIN_DATA_MAX) {
                        uint64_t w = stdin_send(&raw, wc, mib + off, PROTO_STDIN_DATA_MAX - off, false);
                        if (w == 0)
                                itest_sleep_ms(20);
                        off += w;
                }
                sent += PROTO_STDIN_DATA_MAX;
        }
        (void)stdin_send(&raw, wc, NULL, 0, true);
        itest_wait_final(t, wc, 20000, &info);
        proto_agent_info_done(&info);
        lines = itest_output_lines(t, wc, PROTO_STREAM_STDOUT, &n_lines);
        assert_int_equal(n_lines, 1);
        snprintf(expect, sizeof expect, "%llu", (unsigned long long)sent);
        assert_string_equal(lines[0], expect);
        for (size_t i = 0; i < n_lines; i++)
                free(lines[i]);
        free(lines);

        for (int i = 0; i < 12; i++) {
                uint64_t w = stdin_send(&raw, idle, mib, PROTO_STDIN_DATA_MAX, false);
                partial |= w > 0 && w < PROTO_STDIN_DATA_MAX;
                total += w;
                if (w == 0)
                        break;
        }
        assert_true(partial);
        assert_true(total >= 4 * 1024 * 1024);
        assert_int_equal(stdin_send(&raw, idle, mib, 100, false), 0);
        raw_close(&raw);
}

/* Ended agents hold no descriptor in the daemon: 40 of them cost nothing against its fd limit. */
static void test_ended_agents_hold_no_fds(void **state)
{
        ITest *t = *state;
        const char *argv[] = {"true", NULL};
        ProtoAgentInfo info = {};
        int before, after;

        before = harness_daemon_fd_count(t->h, NULL);
        assert_true(before > 0);
        for (int i = 0; i < 40; i++) {
                _cleanup_free_ char *id = itest_spawn(t, false, argv);
                itest_wait_final(t, id, 10000, &info);
                proto_agent_info_done(&info);
        }
        itest_sleep_ms(300); /* the last cgroups go once they are empty */
        after = harness_daemon_fd_count(t->h, NULL);
        if (after > before + 2)
                fail_msg("the daemon held %d descriptors before 40 agents ran and ended, %d after", before,
                         after);
}

static bool trash_empty(void *arg)
{
        DIR *d = opendir(arg);
        struct dirent *de;
        int n = 0;

        if (!d)
                return false;
        while ((de = readdir(d)))
                n += de->d_name[0] != '.';
        closedir(d);
        return n == 0;
}

/* A state dir 3,000 directories deep (what an agent leaves in an on-disk workspace, workspace_size = max;
 * made here by the test, deeper than any path): remove answers at once, the agent's files leave its state
 * dir at once, and the trash is emptied in the background (the old in-loop delete needed a descriptor per
 * level and left such a tree on disk). */
static void test_remove_deep_workspace(void **state)
{
        ITest *t = *state;
        const char *argv[] = {"true", NULL};
        _cleanup_free_ char *id = itest_spawn(t, false, argv);
        _cleanup_free_ char *dir = NULL, *trash = NULL;
        ProtoAgentInfo info = {};
        DescartesError err = {};
        struct stat st;

        itest_wait_final(t, id, 60000, &info);
        assert_int_equal(info.reason, PROTO_REASON_COMPLETED);
        assert_int_equal(info.exit_code, 0);
        proto_agent_info_done(&info);
        assert_true(asprintf(&dir, "%s/agents/%s", t->h->state_dir, id) > 0);
        assert_true(asprintf(&trash, "%s/trash", t->h->state_dir) > 0);
        assert_int_equal(stat(dir, &st), 0);
        {
                int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                assert_true(fd >= 0);
                for (int i = 0; i < 3000; i++) {
                        int sub;
                        assert_int_equal(mkdirat(fd, "d", 0700), 0);
                        sub = openat(fd, "d", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                        assert_true(sub >= 0);
                        close(fd);
                        fd = sub;
                }
                close(openat(fd, "leaf", O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
                close(fd);
        }

        assert_int_equal(wire_remove(t->c, id, &info, &err), 0);
        proto_agent_info_done(&info);
        assert_true(stat(dir, &st) < 0 && errno == ENOENT);
        assert_int_equal(harness_wait_until(trash_empty, trash, 60000), 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_unknown_after_big_spawn),
                cmocka_unit_test(test_other_tenant_and_unknown_ids),
                cmocka_unit_test(test_every_state),
                cmocka_unit_test(test_waiting_flood_is_per_caller),
                cmocka_unit_test(test_document_promises),
                cmocka_unit_test(test_stdin_full_requests),
                cmocka_unit_test(test_ended_agents_hold_no_fds),
                cmocka_unit_test(test_remove_deep_workspace),
        };
        return cmocka_run_group_tests(tests, itest_setup, itest_teardown);
}
