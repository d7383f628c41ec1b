/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libdescartes against an in-test fake daemon: a ROUTER served by a thread with canned proto replies, and a
 * PUB driven from the test. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <grp.h>
#include <unistd.h>
#include <cmocka.h>

#include <msgpack.h>
#include <zmq.h>

#include "descartes/descartes.h"
#include "proto.h"

#define AGENT_ID "0b6f3c52-8f1d-4b7a-9c3e-2d4f5a6b7c8d"
#define SEEN_MAX 16

typedef enum FakeMode {
        FAKE_NORMAL,
        FAKE_STALE_FIRST,  /* two stale replies (another op, then the same op) before the real one */
        FAKE_SILENT_ONCE,  /* drop the first request, answer the rest */
        FAKE_SILENT,       /* never answer */
        FAKE_ERROR,        /* not_found */
        FAKE_GARBAGE_OURS, /* a reply with our id that does not decode */
} FakeMode;

#define FAKE_SUBS_MAX   4
#define FAKE_PUSHES_MAX 32

typedef struct FakeSub {
        uint8_t route[256];
        size_t route_size;
        char id[PROTO_ID_MAX + 1];
        bool has_since_seq;
        uint64_t since_seq;
        int n_subscribes;
} FakeSub;

typedef struct FakePush {
        int sub;        /* index in subs */
        bool stale;     /* carries another sub id than the subscription's */
        bool garbage;   /* a push that does not decode */
        ProtoPush push; /* sub set when sent */
        char agent[64];
} FakePush;

typedef struct Fake {
        char dir[64];
        char control[128];
        char events[128];
        void *ctx;
        void *router;
        pthread_t thread;
        atomic_int stop;
        atomic_int mode;
        pthread_mutex_t lock;
        char seen_ids[SEEN_MAX][PROTO_ID_MAX + 1];
        ProtoOp seen_ops[SEEN_MAX];
        int n_seen;
        int n_requests;
        /* subscriptions, by connection: the last subscribe of each */
        FakeSub subs[FAKE_SUBS_MAX];
        int n_subs;
        FakePush pushes[FAKE_PUSHES_MAX]; /* queued by the test, sent by the fake's thread */
        int n_pushes;
        /* attachments (kept in subs, by connection, as subscriptions) */
        bool refuse_attach;          /* attach answers conflict */
        bool forget_attach;          /* the next attach_input answers not_found (a restarted daemon) */
        ProtoAttachArgs last_attach; /* its agent not kept */
        char typed[64];
        size_t n_typed;
        uint32_t rows, cols;
        int n_detach;
} Fake;

static void send_frames(void *s, zmq_msg_t *frames, int n_envelope, const void *body, size_t len)
{
        for (int i = 0; i < n_envelope; i++)
                assert_true(zmq_send(s, zmq_msg_data(&frames[i]), zmq_msg_size(&frames[i]), ZMQ_SNDMORE) >=
                            0);
        assert_true(zmq_send(s, body, len, 0) >= 0);
}

static void fill_agent(ProtoAgentInfo *i)
{
        i->id = strdup(AGENT_ID);
        i->name = strdup("web");
        i->state = PROTO_STATE_RUNNING;
        i->argv = calloc(2, sizeof(char *));
        assert_non_null(i->argv);
        i->argv[0] = strdup("sleep");
        i->n_argv = 1;
        i->created_ns = UINT64_C(1700000000000000000);
}

static void reply_ok(void *s, zmq_msg_t *frames, int n_env, const char *id, ProtoOp op)
{
        ProtoReply rep = {};
        void *buf = NULL;
        size_t len;

        assert_int_equal(proto_reply_init_ok(&rep, id, op), 0);
        switch (op) {
        case PROTO_OP_HEALTH:
                rep.result.health.version = strdup("9.9.9");
                rep.result.health.protocol = 1;
                rep.result.health.uptime_s = 42;
                rep.result.health.agents[PROTO_STATE_RUNNING] = 3;
                rep.result.health.cgroup_root = strdup("/sys/fs/cgroup/descartes");
                break;
        case PROTO_OP_LIST:
                rep.result.list.agents = calloc(1, sizeof(ProtoAgentInfo));
                assert_non_null(rep.result.list.agents);
                rep.result.list.n_agents = 1;
                fill_agent(&rep.result.list.agents[0]);
                break;
        case PROTO_OP_STDIN:
                rep.result.input.written = 5;
                break;
        default:
                fill_agent(&rep.result.agent.agent);
                break;
        }
        assert_int_equal(proto_reply_encode(&rep, &buf, &len), 0);
        send_frames(s, frames, n_env, buf, len);
        free(buf);
        proto_reply_done(&rep);
}

static void reply_error(void *s, zmq_msg_t *frames, int n_env, const char *id, ProtoOp op)
{
        ProtoReply rep = {};
        void *buf = NULL;
        size_t len;

        assert_int_equal(
                proto_reply_init_error(&rep, id, op, PROTO_ERROR_NOT_FOUND, "no agent named %s", "ghost"),
                0);
        assert_int_equal(proto_reply_encode(&rep, &buf, &len), 0);
        send_frames(s, frames, n_env, buf, len);
        free(buf);
        proto_reply_done(&rep);
}

static void reply_garbage(void *s, zmq_msg_t *frames, int n_env, const char *id)
{
        msgpack_sbuffer sb;
        msgpack_packer pk;

        msgpack_sbuffer_init(&sb);
        msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
        msgpack_pack_map(&pk, 3);
        msgpack_pack_str_with_body(&pk, "v", 1);
        msgpack_pack_uint8(&pk, 1);
        msgpack_pack_str_with_body(&pk, "id", 2);
        msgpack_pack_str_with_body(&pk, id, strlen(id));
        msgpack_pack_str_with_body(&pk, "ok", 2);
        msgpack_pack_str_with_body(&pk, "yes", 3);
        send_frames(s, frames, n_env, sb.data, sb.size);
        msgpack_sbuffer_destroy(&sb);
}

static void serve_subscribe(Fake *f, zmq_msg_t *frames, const ProtoRequest *req)
{
        ProtoReply rep = {};
        FakeSub *sub = NULL;
        void *buf = NULL;
        size_t len;

        pthread_mutex_lock(&f->lock);
        f->n_requests++;
        for (int i = 0; i < f->n_subs && !sub; i++)
                if (f->subs[i].route_size == zmq_msg_size(&frames[0]) &&
                    memcmp(f->subs[i].route, zmq_msg_data(&frames[0]), f->subs[i].route_size) == 0)
                        sub = &f->subs[i];
        if (!sub) {
                assert_true(f->n_subs < FAKE_SUBS_MAX);
                sub = &f->subs[f->n_subs++];
                sub->route_size = zmq_msg_size(&frames[0]);
                memcpy(sub->route, zmq_msg_data(&frames[0]), sub->route_size);
        }
        (void)snprintf(sub->id, sizeof sub->id, "%s", req->id);
        sub->has_since_seq = req->args.subscribe.has_since_seq;
        sub->since_seq = req->args.subscribe.since_seq;
        sub->n_subscribes++;
        pthread_mutex_unlock(&f->lock);

        assert_int_equal(proto_reply_init_ok(&rep, req->id, PROTO_OP_SUBSCRIBE), 0);
        rep.result.subscribe = (ProtoSubscribeResult){
                .last_seq = 1, .oldest_seq = 1, .filtered = true, .heartbeat_ms = 100};
        assert_int_equal(proto_reply_encode(&rep, &buf, &len), 0);
        send_frames(f->router, frames, 1, buf, len);
        free(buf);
        proto_reply_done(&rep);
}

static FakeSub *route_sub(Fake *f, zmq_msg_t *route)
{
        for (int i = 0; i < f->n_subs; i++)
                if (f->subs[i].route_size == zmq_msg_size(route) &&
                    memcmp(f->subs[i].route, zmq_msg_data(route), f->subs[i].route_size) == 0)
                        return &f->subs[i];
        assert_true(f->n_subs < FAKE_SUBS_MAX);
        f->subs[f->n_subs].route_size = zmq_msg_size(route);
        memcpy(f->subs[f->n_subs].route, zmq_msg_data(route), zmq_msg_size(route));
        return &f->subs[f->n_subs++];
}

/* attach, attach_input, attach_resize, detach on an attachment's own DEALER: [identity][body]. */
static void serve_attach(Fake *f, zmq_msg_t *frames, const ProtoRequest *req)
{
        ProtoReply rep = {};
        void *buf = NULL;
        size_t len;
        bool refuse = false, forget = false;

        pthread_mutex_lock(&f->lock);
        f->n_requests++;
        switch (req->op) {
        case PROTO_OP_ATTACH: {
                FakeSub *sub = route_sub(f, &frames[0]);

                (void)snprintf(sub->id, sizeof sub->id, "%s", req->id);
                sub->n_subscribes++;
                f->last_attach = req->args.attach;
                f->last_attach.agent = NULL;
                refuse = f->refuse_attach;
                break;
        }
        case PROTO_OP_ATTACH_INPUT:
                forget = f->forget_attach;
                f->forget_attach = false;
                if (!forget && f->n_typed + req->args.attach_input.data.size <= sizeof f->typed) {
                        memcpy(f->typed + f->n_typed, req->args.attach_input.data.data,
                               req->args.attach_input.data.size);
                        f->n_typed += req->args.attach_input.data.size;
                }
                break;
        case PROTO_OP_ATTACH_RESIZE:
                f->rows = req->args.attach_resize.rows;
                f->cols = req->args.attach_resize.cols;
                break;
        default:
                f->n_detach++;
                break;
        }
        pthread_mutex_unlock(&f->lock);

        if (refuse || forget)
                assert_int_equal(
                        proto_reply_init_error(&rep, req->id, req->op,
                                               refuse ? PROTO_ERROR_CONFLICT : PROTO_ERROR_NOT_FOUND, "%s",
                                               refuse ? "no terminal" : "not attached"),
                        0);
        else {
                assert_int_equal(proto_reply_init_ok(&rep, req->id, req->op), 0);
                if (req->op == PROTO_OP_ATTACH)
                        rep.result.attach = (ProtoAttachResult){.seq = 10, .heartbeat_ms = 100};
        }
        assert_int_equal(proto_reply_encode(&rep, &buf, &len), 0);
        send_frames(f->router, frames, 1, buf, len);
        free(buf);
        proto_reply_done(&rep);
}

static void send_pushes(Fake *f)
{
        pthread_mutex_lock(&f->lock);
        for (int i = 0; i < f->n_pushes; i++) {
                FakePush *p = &f->pushes[i];
                FakeSub *sub = &f->subs[p->sub];
                void *buf = NULL;
                size_t len;

                p->push.sub = p->stale ? (char *)"stale" : sub->id;
                if (p->agent[0])
                        p->push.event.agent = p->agent;
                if (p->garbage) {
                        buf = strdup("\x81\xa3sub\x01"); /* {sub: 1} */
                        len = 6;
                } else
                        assert_int_equal(proto_push_encode(&p->push, &buf, &len), 0);
                assert_true(zmq_send(f->router, sub->route, sub->route_size, ZMQ_SNDMORE) >= 0);
                assert_true(zmq_send(f->router, buf, len, 0) >= 0);
                free(buf);
        }
        f->n_pushes = 0;
        pthread_mutex_unlock(&f->lock);
}

static void serve_one(Fake *f)
{
        zmq_msg_t frames[8];
        int n = 0, more = 1;
        ProtoRequest req = {};
        int mode = atomic_load(&f->mode);

        while (more) {
                size_t sz = sizeof more;
                assert_true(n < 8);
                zmq_msg_init(&frames[n]);
                assert_true(zmq_msg_recv(&frames[n], f->router, 0) >= 0);
                assert_int_equal(zmq_getsockopt(f->router, ZMQ_RCVMORE, &more, &sz), 0);
                n++;
        }
        assert_int_equal(
                proto_request_decode(zmq_msg_data(&frames[n - 1]), zmq_msg_size(&frames[n - 1]), &req, NULL),
                0);
        if (req.op == PROTO_OP_SUBSCRIBE || req.op == PROTO_OP_ATTACH || req.op == PROTO_OP_ATTACH_INPUT ||
            req.op == PROTO_OP_ATTACH_RESIZE || req.op == PROTO_OP_DETACH) {
                /* [identity][body]: a subscription's or an attachment's own DEALER */
                assert_int_equal(n, 2);
                if (req.op == PROTO_OP_SUBSCRIBE)
                        serve_subscribe(f, frames, &req);
                else
                        serve_attach(f, frames, &req);
                for (int i = 0; i < n; i++)
                        zmq_msg_close(&frames[i]);
                proto_request_done(&req);
                return;
        }
        /* [identity][empty][body], as a REQ would send */
        assert_int_equal(n, 3);
        assert_int_equal(zmq_msg_size(&frames[1]), 0);

        pthread_mutex_lock(&f->lock);
        if (f->n_seen < SEEN_MAX) {
                (void)snprintf(f->seen_ids[f->n_seen], sizeof f->seen_ids[0], "%s", req.id);
                f->seen_ops[f->n_seen] = req.op;
                f->n_seen++;
        }
        f->n_requests++;
        pthread_mutex_unlock(&f->lock);

        switch (mode) {
        case FAKE_NORMAL:
                reply_ok(f->router, frames, n - 1, req.id, req.op);
                break;
        case FAKE_STALE_FIRST:
                reply_ok(f->router, frames, n - 1, "stale-0",
                         req.op == PROTO_OP_LIST ? PROTO_OP_HEALTH : PROTO_OP_LIST);
                reply_error(f->router, frames, n - 1, "stale-1", req.op);
                reply_ok(f->router, frames, n - 1, "stale-2", req.op);
                reply_ok(f->router, frames, n - 1, req.id, req.op);
                break;
        case FAKE_SILENT_ONCE:
                if (f->n_requests > 1)
                        reply_ok(f->router, frames, n - 1, req.id, req.op);
                break;
        case FAKE_SILENT:
                break;
        case FAKE_ERROR:
                reply_error(f->router, frames, n - 1, req.id, req.op);
                break;
        case FAKE_GARBAGE_OURS:
                reply_garbage(f->router, frames, n - 1, req.id);
                break;
        default:
                fail();
        }
        for (int i = 0; i < n; i++)
                zmq_msg_close(&frames[i]);
        proto_request_done(&req);
}

static void *fake_thread(void *userdata)
{
        Fake *f = userdata;

        while (!atomic_load(&f->stop)) {
                zmq_pollitem_t item = {.socket = f->router, .events = ZMQ_POLLIN};
                if (zmq_poll(&item, 1, 20) > 0)
                        serve_one(f);
                send_pushes(f);
        }
        return NULL;
}

static int fake_setup(void **state)
{
        Fake *f = calloc(1, sizeof *f);
        int linger = 0;

        assert_non_null(f);
        strcpy(f->dir, "/tmp/descartes-test-client-XXXXXX");
        assert_non_null(mkdtemp(f->dir));
        (void)snprintf(f->control, sizeof f->control, "ipc://%s/control", f->dir);
        (void)snprintf(f->events, sizeof f->events, "ipc://%s/events", f->dir);
        pthread_mutex_init(&f->lock, NULL);
        f->ctx = zmq_ctx_new();
        assert_non_null(f->ctx);
        f->router = zmq_socket(f->ctx, ZMQ_ROUTER);
        assert_non_null(f->router);
        (void)zmq_setsockopt(f->router, ZMQ_LINGER, &linger, sizeof linger);
        assert_int_equal(zmq_bind(f->router, f->control), 0);
        assert_int_equal(pthread_create(&f->thread, NULL, fake_thread, f), 0);
        unsetenv(DESCARTES_ENV_HOST);
        unsetenv(DESCARTES_ENV_EVENTS);
        *state = f;
        return 0;
}

static int fake_teardown(void **state)
{
        Fake *f = *state;
        char path[192];

        atomic_store(&f->stop, 1);
        pthread_join(f->thread, NULL);
        zmq_close(f->router);
        zmq_ctx_term(f->ctx);
        (void)snprintf(path, sizeof path, "%s/control", f->dir);
        (void)unlink(path);
        (void)snprintf(path, sizeof path, "%s/events", f->dir);
        (void)unlink(path);
        (void)snprintf(path, sizeof path, "%s/stale", f->dir);
        (void)unlink(path);
        (void)rmdir(f->dir);
        pthread_mutex_destroy(&f->lock);
        free(f);
        return 0;
}

static int fake_requests(Fake *f)
{
        int n;

        pthread_mutex_lock(&f->lock);
        n = f->n_requests;
        pthread_mutex_unlock(&f->lock);
        return n;
}

static DescartesClient *client_for(Fake *f)
{
        DescartesClient *c = NULL;

        assert_int_equal(descartes_client_new(f->control, &c), 0);
        return c;
}

static void test_health_ok(void **state)
{
        Fake *f = *state;
        DescartesClient *c = client_for(f);
        DescartesHealth *h = NULL;
        DescartesError e;

        assert_string_equal(descartes_client_get_endpoint(c), f->control);
        assert_string_equal(descartes_client_get_events_endpoint(c), f->events);
        assert_int_equal(descartes_health(c, &h, &e), 0);
        assert_int_equal(e.kind, DESCARTES_ERROR_NONE);
        assert_string_equal(descartes_health_get_version(h), "9.9.9");
        assert_int_equal(descartes_health_get_uptime_s(h), 42);
        assert_int_equal(descartes_health_get_agents(h, DESCARTES_STATE_RUNNING), 3);
        assert_string_equal(descartes_health_get_cgroup_root(h), "/sys/fs/cgroup/descartes");
        h = descartes_health_unref(h);

        /* a second request: a fresh id, the same socket */
        assert_int_equal(descartes_health(c, &h, NULL), 0);
        h = descartes_health_unref(h);
        assert_int_equal(fake_requests(f), 2);
        assert_string_not_equal(f->seen_ids[0], f->seen_ids[1]);
        assert_int_equal(f->seen_ops[0], PROTO_OP_HEALTH);
        descartes_client_free(c);
}

static void test_ops_round_trip(void **state)
{
        Fake *f = *state;
        DescartesClient *c = client_for(f);
        DescartesAgent *info = NULL;
        DescartesAgentList *list = NULL;
        const char *argv[] = {"sleep", "10", NULL};
        DescartesSpawnArgs spawn = DESCARTES_SPAWN_ARGS_INIT;
        uint64_t written = 0;
        DescartesError e;

        spawn.argv = argv;
        assert_int_equal(descartes_list(c, NULL, &list, &e), 0);
        assert_int_equal(descartes_agent_list_get_size(list), 1);
        assert_string_equal(descartes_agent_get_id(descartes_agent_list_get(list, 0)), AGENT_ID);
        list = descartes_agent_list_unref(list);

        assert_int_equal(descartes_spawn(c, &spawn, &info, &e), 0);
        assert_string_equal(descartes_agent_get_id(info), AGENT_ID);
        info = descartes_agent_unref(info);
        assert_int_equal(descartes_stop(c, "web", 1500, &info, &e), 0);
        assert_string_equal(descartes_agent_get_name(info), "web");
        info = descartes_agent_unref(info);
        assert_int_equal(descartes_pause(c, "web", NULL, &e), 0);
        assert_int_equal(descartes_signal(c, "web", 15, NULL, &e), 0);
        assert_int_equal(descartes_stdin(c, "web", "hello", 5, false, &written, &e), 0);
        assert_int_equal(written, 5);
        /* an older caller's struct ends earlier: the fields past its size are not read */
        spawn.size = offsetof(DescartesSpawnArgs, env);
        spawn.env = (const char *const[]){"not read", NULL};
        assert_int_equal(descartes_spawn(c, &spawn, NULL, &e), 0);

        pthread_mutex_lock(&f->lock);
        assert_int_equal(f->seen_ops[1], PROTO_OP_SPAWN);
        assert_int_equal(f->seen_ops[2], PROTO_OP_STOP);
        assert_int_equal(f->seen_ops[3], PROTO_OP_PAUSE);
        assert_int_equal(f->seen_ops[4], PROTO_OP_SIGNAL);
        assert_int_equal(f->seen_ops[5], PROTO_OP_STDIN);
        assert_int_equal(f->seen_ops[6], PROTO_OP_SPAWN);
        pthread_mutex_unlock(&f->lock);
        descartes_client_free(c);
}

static void test_stale_replies_discarded(void **state)
{
        Fake *f = *state;
        DescartesClient *c = client_for(f);
        DescartesAgent *info = NULL;
        DescartesAgentList *list = NULL;
        DescartesError e;

        atomic_store(&f->mode, FAKE_STALE_FIRST);
        assert_int_equal(descartes_get(c, "web", &info, &e), 0);
        assert_string_equal(descartes_agent_get_id(info), AGENT_ID);
        info = descartes_agent_unref(info);
        assert_int_equal(descartes_list(c, NULL, &list, &e), 0);
        assert_int_equal(descartes_agent_list_get_size(list), 1);
        list = descartes_agent_list_unref(list);
        assert_int_equal(fake_requests(f), 2);
        descartes_client_free(c);
}

static void test_retry_same_id(void **state)
{
        Fake *f = *state;
        DescartesClient *c = client_for(f);
        DescartesHealth *h = NULL;
        DescartesError e;

        atomic_store(&f->mode, FAKE_SILENT_ONCE);
        descartes_client_set_timeout(c, 300 * 1000);
        assert_int_equal(descartes_health(c, &h, &e), 0);
        assert_string_equal(descartes_health_get_version(h), "9.9.9");
        h = descartes_health_unref(h);
        assert_int_equal(fake_requests(f), 2);
        assert_string_equal(f->seen_ids[0], f->seen_ids[1]);
        descartes_client_free(c);
}

static void test_timeout(void **state)
{
        Fake *f = *state;
        DescartesClient *c = client_for(f);
        DescartesHealth *h = NULL;
        DescartesError e;

        atomic_store(&f->mode, FAKE_SILENT);
        descartes_client_set_timeout(c, 200 * 1000);
        assert_int_equal(descartes_health(c, &h, &e), -ETIMEDOUT);
        assert_int_equal(e.kind, DESCARTES_ERROR_TIMEOUT);
        assert_int_equal(e.error, -ETIMEDOUT);
        assert_string_equal(e.message, "descartesd did not answer within 200ms (sent 3 times)");
        assert_null(h);
        assert_int_equal(fake_requests(f), DESCARTES_SEND_ATTEMPTS);
        assert_string_equal(f->seen_ids[0], f->seen_ids[1]);
        assert_string_equal(f->seen_ids[0], f->seen_ids[2]);

        /* without retries: one send */
        descartes_client_set_retry(c, false);
        assert_int_equal(descartes_client_set_op_timeout(c, DESCARTES_OP_HEALTH, 2 * 1000 * 1000), 0);
        assert_int_equal(descartes_client_get_op_timeout(c, DESCARTES_OP_HEALTH), 2 * 1000 * 1000);
        assert_int_equal(descartes_client_set_op_timeout(c, DESCARTES_OP_HEALTH, 0), 0);
        assert_int_equal(descartes_get(c, "web", NULL, &e), -ETIMEDOUT);
        assert_string_equal(e.message, "descartesd did not answer within 200ms");
        assert_int_equal(fake_requests(f), DESCARTES_SEND_ATTEMPTS + 1);

        /* the daemon is back: the next request works on a fresh socket */
        atomic_store(&f->mode, FAKE_NORMAL);
        assert_int_equal(descartes_health(c, &h, &e), 0);
        h = descartes_health_unref(h);
        descartes_client_free(c);
}

static void test_daemon_error(void **state)
{
        Fake *f = *state;
        DescartesClient *c = client_for(f);
        DescartesAgent *info = NULL;
        DescartesError e;

        atomic_store(&f->mode, FAKE_ERROR);
        assert_int_equal(descartes_get(c, "ghost", &info, &e), -ESRCH);
        assert_int_equal(e.kind, DESCARTES_ERROR_DAEMON);
        assert_int_equal(e.code, DESCARTES_ERROR_CODE_NOT_FOUND);
        assert_int_equal(e.error, -ESRCH);
        assert_string_equal(e.message, "no agent named ghost");
        assert_null(info);
        descartes_client_free(c);
}

static void test_unreadable_reply(void **state)
{
        Fake *f = *state;
        DescartesClient *c = client_for(f);
        DescartesError e;

        atomic_store(&f->mode, FAKE_GARBAGE_OURS);
        assert_int_equal(descartes_get(c, "web", NULL, &e), -EPROTO);
        assert_int_equal(e.kind, DESCARTES_ERROR_PROTOCOL);
        assert_non_null(strstr(e.message, "cannot be read"));
        descartes_client_free(c);
}

static void test_unreachable(void **state)
{
        Fake *f = *state;
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        DescartesClient *c = NULL;
        DescartesError e;
        char endpoint[192];
        int fd;

        /* a daemon that is away is waited for (the retry window of the timeout), then reported */
        (void)snprintf(endpoint, sizeof endpoint, "ipc://%s/missing/control", f->dir);
        assert_int_equal(descartes_client_new(endpoint, &c), 0);
        descartes_client_set_timeout(c, 100 * 1000);
        assert_int_equal(descartes_get(c, "web", NULL, &e), -ECONNREFUSED);
        assert_int_equal(e.kind, DESCARTES_ERROR_UNREACHABLE);
        assert_non_null(strstr(e.message, "cannot reach descartesd at "));
        assert_non_null(strstr(e.message, "is it running? (systemctl status descartesd)"));
        c = descartes_client_free(c);

        /* a socket file nobody listens on (a daemon that died) */
        (void)snprintf(sa.sun_path, sizeof sa.sun_path, "%s/stale", f->dir);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        assert_true(fd >= 0);
        assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
        close(fd);
        (void)snprintf(endpoint, sizeof endpoint, "ipc://%s/stale", f->dir);
        assert_int_equal(descartes_client_new(endpoint, &c), 0);
        descartes_client_set_timeout(c, 100 * 1000);
        assert_int_equal(descartes_health(c, &(DescartesHealth *){NULL}, &e), -ECONNREFUSED);
        assert_int_equal(e.kind, DESCARTES_ERROR_UNREACHABLE);
        c = descartes_client_free(c);

        /* not a socket */
        (void)snprintf(endpoint, sizeof endpoint, "ipc://%s", f->dir);
        assert_int_equal(descartes_client_new(endpoint, &c), 0);
        assert_int_equal(descartes_health(c, &(DescartesHealth *){NULL}, &e), -ECONNREFUSED);
        assert_non_null(strstr(e.message, "is not a socket"));
        c = descartes_client_free(c);
        assert_int_equal(fake_requests(f), 0);
}

/* In a child that gave up root (its effective ids; its real uid stays root with real_root): 0 if the call
 * failed with -EACCES and a helpful message. */
static int check_access_denied_as(uid_t uid, bool real_root, const char *endpoint)
{
        DescartesClient *c = NULL;
        DescartesError e;
        int r;

        if (setresgid(uid, uid, uid) < 0 || setgroups(0, NULL) < 0 ||
            setresuid(real_root ? 0 : uid, uid, real_root ? 0 : uid) < 0)
                return 10;
        if (descartes_client_new(endpoint, &c) < 0)
                return 11;
        /* refused at once or soon, never after waiting out a timeout: an hour would fail the test's own */
        descartes_client_set_timeout(c, 3600 * 1000000ULL);
        r = descartes_health(c, &(DescartesHealth *){NULL}, &e);
        descartes_client_free(c);
        if (r != -EACCES || e.kind != DESCARTES_ERROR_ACCESS)
                return 12;
        if (!strstr(e.message, "permission denied on ") ||
            !strstr(e.message, "add your user to group descartes"))
                return 13;
        return 0;
}

static void test_permission_denied(void **state)
{
        Fake *f = *state;
        char path[192];
        int status = 0;
        pid_t pid;

        if (geteuid() != 0) {
                print_message("skipped: needs root to test as another user\n");
                skip();
                return;
        }
        /* the directory is 0700 root: the socket cannot even be looked at; then the directory is open but
         * the socket is 0660 root:root; then a caller whose real uid is root, so that access() passes and
         * only connecting is refused (the late probe of client_connect() finds it) */
        (void)snprintf(path, sizeof path, "%s/control", f->dir);
        for (int round = 0; round < 3; round++) {
                if (round == 1) {
                        assert_int_equal(chmod(f->dir, 0755), 0);
                        assert_int_equal(chmod(path, 0660), 0);
                }
                pid = fork();
                assert_true(pid >= 0);
                if (pid == 0)
                        _exit(check_access_denied_as(65534, round == 2, f->control));
                assert_int_equal(waitpid(pid, &status, 0), pid);
                assert_true(WIFEXITED(status));
                assert_int_equal(WEXITSTATUS(status), 0);
        }
        assert_int_equal(fake_requests(f), 0);
}

static void test_local_validation(void **state)
{
        Fake *f = *state;
        DescartesClient *c = client_for(f);
        DescartesSpawnArgs spawn = DESCARTES_SPAWN_ARGS_INIT;
        DescartesError e;
        char long_ref[DESCARTES_AGENT_REF_MAX + 2];

        memset(long_ref, 'a', sizeof long_ref - 1);
        long_ref[sizeof long_ref - 1] = 0;
        assert_int_equal(descartes_get(c, NULL, NULL, &e), -EINVAL);
        assert_int_equal(e.kind, DESCARTES_ERROR_LOCAL);
        assert_int_equal(descartes_get(c, "", NULL, &e), -EINVAL);
        assert_int_equal(descartes_get(c, long_ref, NULL, &e), -EINVAL);
        assert_int_equal(descartes_signal(c, "web", 0, NULL, &e), -EINVAL);
        assert_int_equal(descartes_signal(c, "web", 65, NULL, &e), -EINVAL);
        assert_int_equal(descartes_spawn(c, &spawn, NULL, &e), -EINVAL);
        assert_int_equal(descartes_stdin(c, "web", "x", DESCARTES_STDIN_DATA_MAX + 1, false, NULL, &e),
                         -EINVAL);

        /* argument structs: a size must be set, and a newer caller's fields this library does not know must
         * be unset */
        {
                const char *argv[] = {"true", NULL};
                struct {
                        DescartesSpawnArgs a;
                        uint64_t newer;
                } big = {.a = DESCARTES_SPAWN_ARGS_INIT};
                DescartesSpawnArgs unsized = {.argv = argv};

                big.a.size = sizeof big;
                big.a.argv = argv;
                big.newer = 1;
                assert_int_equal(descartes_spawn(c, &big.a, NULL, &e), -EOPNOTSUPP);
                assert_int_equal(e.kind, DESCARTES_ERROR_LOCAL);
                assert_int_equal(descartes_spawn(c, &unsized, NULL, &e), -EINVAL);
        }
        assert_int_equal(fake_requests(f), 0);
        descartes_client_free(c);
}

static void test_endpoints(void **state)
{
        DescartesClient *c = NULL;

        assert_int_equal(descartes_client_new(NULL, &c), 0);
        assert_string_equal(descartes_client_get_endpoint(c), DESCARTES_DEFAULT_CONTROL_ENDPOINT);
        assert_string_equal(descartes_client_get_events_endpoint(c), DESCARTES_DEFAULT_EVENTS_ENDPOINT);
        assert_int_equal(descartes_client_get_op_timeout(c, DESCARTES_OP_GET), DESCARTES_TIMEOUT_SHORT_USEC);
        assert_int_equal(descartes_client_get_op_timeout(c, DESCARTES_OP_STOP), DESCARTES_TIMEOUT_LONG_USEC);
        assert_int_equal(descartes_client_get_op_timeout(c, DESCARTES_OP_SPAWN),
                         DESCARTES_TIMEOUT_LONG_USEC);
        descartes_client_set_timeout(c, 7);
        assert_int_equal(descartes_client_get_op_timeout(c, DESCARTES_OP_STOP), 7);
        assert_int_equal(descartes_client_set_op_timeout(c, _DESCARTES_OP_MAX, 1), -EINVAL);
        assert_int_equal(descartes_client_set_events_endpoint(c, "tcp://127.0.0.1:7001"), 0);
        assert_string_equal(descartes_client_get_events_endpoint(c), "tcp://127.0.0.1:7001");
        assert_int_equal(descartes_client_set_events_endpoint(c, "nonsense"), -EINVAL);
        assert_int_equal(descartes_client_set_events_endpoint(c, NULL), 0);
        assert_string_equal(descartes_client_get_events_endpoint(c), DESCARTES_DEFAULT_EVENTS_ENDPOINT);
        c = descartes_client_free(c);

        assert_int_equal(setenv(DESCARTES_ENV_HOST, "ipc:///srv/d/control", 1), 0);
        assert_int_equal(descartes_client_new(NULL, &c), 0);
        assert_string_equal(descartes_client_get_endpoint(c), "ipc:///srv/d/control");
        assert_string_equal(descartes_client_get_events_endpoint(c), "ipc:///srv/d/events");
        c = descartes_client_free(c);

        assert_int_equal(setenv(DESCARTES_ENV_EVENTS, "tcp://127.0.0.1:7002", 1), 0);
        assert_int_equal(descartes_client_new("tcp://127.0.0.1:7000", &c), 0);
        assert_string_equal(descartes_client_get_endpoint(c), "tcp://127.0.0.1:7000");
        assert_string_equal(descartes_client_get_events_endpoint(c), "tcp://127.0.0.1:7002");
        c = descartes_client_free(c);
        unsetenv(DESCARTES_ENV_EVENTS);
        unsetenv(DESCARTES_ENV_HOST);

        assert_int_equal(descartes_client_new("tcp://127.0.0.1:7000", &c), 0);
        assert_string_equal(descartes_client_get_events_endpoint(c), DESCARTES_DEFAULT_EVENTS_ENDPOINT);
        c = descartes_client_free(c);

        assert_int_equal(descartes_client_new("", &c), -EINVAL);
        assert_int_equal(descartes_client_new("no-scheme", &c), -EINVAL);
        assert_null(c);
}

static void push_event(Fake *f, int sub, uint64_t prev_seq, const char *agent, uint64_t seq,
                       ProtoEventKind kind)
{
        pthread_mutex_lock(&f->lock);
        assert_true(f->n_pushes < FAKE_PUSHES_MAX);
        f->pushes[f->n_pushes] = (FakePush){.sub = sub,
                                            .push = {.prev_seq = prev_seq,
                                                     .has_event = true,
                                                     .event = {.seq = seq, .ts_ns = 1, .kind = kind}}};
        if (agent)
                (void)snprintf(f->pushes[f->n_pushes].agent, sizeof f->pushes[0].agent, "%s", agent);
        f->n_pushes++;
        pthread_mutex_unlock(&f->lock);
}

static void push_special(Fake *f, int sub, FakePush p)
{
        pthread_mutex_lock(&f->lock);
        assert_true(f->n_pushes < FAKE_PUSHES_MAX);
        p.sub = sub;
        f->pushes[f->n_pushes++] = p;
        pthread_mutex_unlock(&f->lock);
}

static void expect_event(DescartesSubscription *s, uint64_t seq)
{
        DescartesEvent *ev = NULL;
        DescartesError e;

        assert_int_equal(descartes_subscription_next(s, 2000 * 1000, &ev, &e), 1);
        assert_int_equal(descartes_event_get_seq(ev), seq);
        descartes_event_unref(ev);
}

static void expect_output(DescartesAttachment *a, const char *want)
{
        const void *data;
        size_t size;
        DescartesError e;

        assert_int_equal(descartes_attachment_read(a, 2000 * 1000, &data, &size, &e), 1);
        assert_int_equal(size, strlen(want));
        assert_memory_equal(data, want, size);
}

static void wait_fake(Fake *f, bool (*done)(Fake *f))
{
        for (unsigned i = 0; i < 200; i++) {
                bool d;

                pthread_mutex_lock(&f->lock);
                d = done(f);
                pthread_mutex_unlock(&f->lock);
                if (d)
                        return;
                usleep(10 * 1000);
        }
        fail_msg("the fake never saw what was sent");
}

static bool typed_x(Fake *f)
{
        return f->n_typed == 1 && f->typed[0] == 'x';
}

static bool detached(Fake *f)
{
        return f->n_detach == 1;
}

static bool resized(Fake *f)
{
        return f->rows == 40 && f->cols == 120;
}

/* An attachment: its output in order without repeats or heartbeats, losses counted, a daemon that forgot it
 * (an input answered not_found) makes it attach again from just past what it delivered, its end is -EPIPE;
 * a refusal is the caller's error at once. */
static void test_attachment(void **state)
{
        Fake *f = *state;
        DescartesClient *c = client_for(f);
        DescartesAttachArgs args = DESCARTES_ATTACH_ARGS_INIT;
        DescartesAttachment *a = NULL;
        const void *data;
        size_t size;
        DescartesError e;
        static const uint8_t ab[] = "ab", cd[] = "cd";

        f->refuse_attach = true;
        assert_int_equal(descartes_attach(c, "web", &args, &a, &e), -EBUSY);
        assert_int_equal(e.code, DESCARTES_ERROR_CODE_CONFLICT);
        assert_null(a);
        f->refuse_attach = false;

        args.rows = 30;
        args.cols = 100;
        assert_int_equal(descartes_attach(c, "web", &args, &a, &e), 0);
        assert_true(descartes_attachment_get_fd(a) >= 0);
        assert_true(f->last_attach.has_rows && f->last_attach.rows == 30 && f->last_attach.cols == 100);
        assert_false(f->last_attach.has_since_seq);

        push_special(
                f, f->n_subs - 1,
                (FakePush){.push = {.prev_seq = 10,
                                    .has_output = true,
                                    .output = {.seq = 11, .data = {.data = (uint8_t *)ab, .size = 2}}}});
        push_special(
                f, f->n_subs - 1,
                (FakePush){.push = {.prev_seq = 11,
                                    .has_output = true,
                                    .output = {.seq = 11, .data = {.data = (uint8_t *)ab, .size = 0}}}});
        push_special(
                f, f->n_subs - 1,
                (FakePush){.push = {.prev_seq = 10,
                                    .has_output = true,
                                    .output = {.seq = 11, .data = {.data = (uint8_t *)ab, .size = 2}}}});
        push_special(f, f->n_subs - 1,
                     (FakePush){.push = {.prev_seq = 11, .has_lost = true, .lost = {.from = 12, .to = 14}}});
        push_special(
                f, f->n_subs - 1,
                (FakePush){.push = {.prev_seq = 14,
                                    .has_output = true,
                                    .output = {.seq = 15, .data = {.data = (uint8_t *)cd, .size = 2}}}});
        expect_output(a, "ab");
        expect_output(a, "cd");
        assert_int_equal(descartes_attachment_get_lost(a), 3);

        /* a keystroke to a daemon that no longer knows us: attach again from seq 16 */
        f->forget_attach = true;
        assert_int_equal(descartes_attachment_write(a, "x", 1, &e), 0);
        assert_int_equal(descartes_attachment_read(a, 300 * 1000, &data, &size, &e), 0);
        assert_int_equal(descartes_attachment_get_reattached(a), 1);
        assert_true(f->last_attach.has_since_seq);
        assert_int_equal(f->last_attach.since_seq, 16);
        assert_int_equal(descartes_attachment_write(a, "x", 1, &e), 0);
        wait_fake(f, typed_x);
        assert_int_equal(descartes_attachment_resize(a, 40, 120, &e), 0);
        wait_fake(f, resized);
        assert_int_equal(descartes_attachment_resize(a, 0, 120, &e), -EINVAL);
        assert_int_equal(descartes_attachment_write(a, "x", 0, &e), -EINVAL);

        push_special(f, f->n_subs - 1,
                     (FakePush){.push = {.prev_seq = 15,
                                         .has_closed = true,
                                         .closed = {.reason = (char *)"ended"}}});
        assert_int_equal(descartes_attachment_read(a, 2000 * 1000, &data, &size, &e), -EPIPE);
        a = descartes_attachment_free(a);
        assert_int_equal(f->n_detach, 0); /* an ended attachment has nothing to detach from */

        args.read_only = true;
        args.rows = args.cols = 0;
        assert_int_equal(descartes_attach(c, "web", &args, &a, &e), 0);
        assert_true(f->last_attach.read_only);
        assert_int_equal(descartes_attachment_write(a, "x", 1, &e), -EPERM);
        a = descartes_attachment_free(a); /* detaches */
        wait_fake(f, detached);
        descartes_client_free(c);
}

static void test_subscription(void **state)
{
        Fake *f = *state;
        DescartesClient *c = client_for(f);
        DescartesSubscription *all = NULL, *one = NULL;
        DescartesEvent *ev = NULL;
        uint64_t from = 0, to = 0;
        DescartesError e;
        char long_ref[DESCARTES_AGENT_REF_MAX + 2];

        memset(long_ref, 'a', sizeof long_ref - 1);
        long_ref[sizeof long_ref - 1] = 0;
        assert_int_equal(descartes_subscribe(c, long_ref, &one, &e), -EINVAL);
        assert_int_equal(e.kind, DESCARTES_ERROR_LOCAL);

        /* the daemon answers before subscribe returns: live only, no since_seq */
        assert_int_equal(descartes_subscribe(c, NULL, &all, &e), 0);
        assert_int_equal(descartes_subscribe(c, AGENT_ID, &one, &e), 0);
        assert_true(descartes_subscription_get_fd(all) >= 0);
        assert_int_equal(f->n_subs, 2);
        assert_false(f->subs[0].has_since_seq);

        /* holes of a filtered stream (prev_seq says so) are not losses */
        push_event(f, 0, 1, NULL, 2, PROTO_EVENT_HEARTBEAT);
        push_event(f, 0, 2, "other", 3, PROTO_EVENT_OUTPUT);
        push_event(f, 0, 3, AGENT_ID, 6, PROTO_EVENT_EXITED);
        expect_event(all, 2);
        expect_event(all, 3);
        assert_int_equal(descartes_subscription_next(all, 2000 * 1000, &ev, &e), 1);
        assert_int_equal(descartes_event_get_seq(ev), 6);
        assert_int_equal(descartes_event_get_kind(ev), DESCARTES_EVENT_EXITED);
        assert_string_equal(descartes_event_get_agent(ev), AGENT_ID);
        assert_int_equal(descartes_subscription_get_gap(all, &from, &to), 0);
        assert_int_equal(descartes_subscription_get_last_seq(all), 6);
        ev = descartes_event_unref(ev);

        /* a loss is said, and reported with the next event; a repeat, a stale subscription's push and an
         * unreadable push are not delivered */
        push_special(f, 0,
                     (FakePush){.push = {.prev_seq = 6, .has_lost = true, .lost = {.from = 7, .to = 9}}});
        push_event(f, 0, 9, NULL, 10, PROTO_EVENT_HEARTBEAT);
        push_event(f, 0, 9, NULL, 10, PROTO_EVENT_HEARTBEAT);
        push_special(f, 0,
                     (FakePush){.stale = true,
                                .push = {.has_event = true,
                                         .event = {.seq = 11, .kind = PROTO_EVENT_HEARTBEAT}}});
        push_special(f, 0, (FakePush){.garbage = true});
        push_event(f, 0, 10, NULL, 12, PROTO_EVENT_HEARTBEAT);
        expect_event(all, 10);
        assert_int_equal(descartes_subscription_get_gap(all, &from, &to), 1);
        assert_int_equal(from, 7);
        assert_int_equal(to, 9);
        expect_event(all, 12);
        assert_int_equal(descartes_subscription_get_gap(all, NULL, NULL), 0);
        assert_int_equal(descartes_subscription_get_dropped(all), 1);

        /* the agent's subscription: its agent only, heartbeats only keep it alive */
        push_event(f, 1, 1, NULL, 2, PROTO_EVENT_HEARTBEAT);
        push_event(f, 1, 2, AGENT_ID, 6, PROTO_EVENT_EXITED);
        assert_int_equal(descartes_subscription_next(one, 2000 * 1000, &ev, &e), 1);
        assert_int_equal(descartes_event_get_seq(ev), 6);
        assert_string_equal(descartes_event_get_agent(ev), AGENT_ID);
        ev = descartes_event_unref(ev);
        assert_int_equal(descartes_subscription_next(one, 100 * 1000, &ev, &e), 0);

        /* silence past two heartbeats (100 ms each, and the slack): subscribe again from just after the
         * last seq, and drop what was delivered already */
        assert_int_equal(descartes_subscription_next(all, 3000 * 1000, &ev, &e), 0);
        assert_true(descartes_subscription_get_resubscribed(all) >= 1);
        pthread_mutex_lock(&f->lock);
        assert_true(f->subs[0].n_subscribes >= 2);
        assert_true(f->subs[0].has_since_seq);
        assert_int_equal(f->subs[0].since_seq, 13);
        pthread_mutex_unlock(&f->lock);
        push_event(f, 0, 12, NULL, 12, PROTO_EVENT_HEARTBEAT);
        push_event(f, 0, 12, NULL, 13, PROTO_EVENT_HEARTBEAT);
        expect_event(all, 13);

        descartes_subscription_free(all);
        descartes_subscription_free(one);
        descartes_client_free(c);
}

static void test_seq_gap(void **state)
{
        uint64_t from = 0, to = 0;

        assert_int_equal(descartes_seq_gap(0, 10, &from, &to), 0); /* nothing seen yet: no gap */
        assert_int_equal(descartes_seq_gap(4, 5, &from, &to), 0);
        assert_int_equal(descartes_seq_gap(5, 5, &from, &to), 0); /* duplicate */
        assert_int_equal(descartes_seq_gap(9, 3, &from, &to), 0); /* daemon restarted */
        assert_int_equal(descartes_seq_gap(4, 6, &from, &to), 1);
        assert_int_equal(from, 5);
        assert_int_equal(to, 5);
        assert_int_equal(descartes_seq_gap(1, 100, NULL, &to), 1);
        assert_int_equal(to, 99);
}

static void test_error_helpers(void **state)
{
        DescartesError e;

        descartes_error_clear(&e);
        assert_int_equal(e.kind, DESCARTES_ERROR_NONE);
        assert_int_equal(e.code, _DESCARTES_ERROR_CODE_INVALID);
        assert_string_equal(e.message, "");
        assert_string_equal(descartes_error_kind_to_string(DESCARTES_ERROR_TIMEOUT), "timeout");
        assert_null(descartes_error_kind_to_string(_DESCARTES_ERROR_KIND_MAX));
        assert_int_equal(descartes_error_code_to_errno(DESCARTES_ERROR_CODE_BUSY), -EAGAIN);
        assert_int_equal(descartes_error_code_to_errno(_DESCARTES_ERROR_CODE_INVALID), -EIO);
        assert_true(descartes_state_is_final(DESCARTES_STATE_EXITED));
        assert_true(descartes_state_is_final(DESCARTES_STATE_FAILED));
        assert_false(descartes_state_is_final(DESCARTES_STATE_STOPPING));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_health_ok, fake_setup, fake_teardown),
                cmocka_unit_test_setup_teardown(test_ops_round_trip, fake_setup, fake_teardown),
                cmocka_unit_test_setup_teardown(test_stale_replies_discarded, fake_setup, fake_teardown),
                cmocka_unit_test_setup_teardown(test_retry_same_id, fake_setup, fake_teardown),
                cmocka_unit_test_setup_teardown(test_timeout, fake_setup, fake_teardown),
                cmocka_unit_test_setup_teardown(test_daemon_error, fake_setup, fake_teardown),
                cmocka_unit_test_setup_teardown(test_unreadable_reply, fake_setup, fake_teardown),
                cmocka_unit_test_setup_teardown(test_unreachable, fake_setup, fake_teardown),
                cmocka_unit_test_setup_teardown(test_permission_denied, fake_setup, fake_teardown),
                cmocka_unit_test_setup_teardown(test_local_validation, fake_setup, fake_teardown),
                cmocka_unit_test_setup_teardown(test_subscription, fake_setup, fake_teardown),
                cmocka_unit_test_setup_teardown(test_attachment, fake_setup, fake_teardown),
                cmocka_unit_test(test_endpoints),
                cmocka_unit_test(test_seq_gap),
                cmocka_unit_test(test_error_helpers),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
