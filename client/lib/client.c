/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <msgpack.h>
#include <zmq.h>

#include "cleanup.h"
#include "client-internal.h"
#include "client-retry.h"
#include "string-table.h"
#include "string-util.h"
#include "time-util.h"

#define ENDPOINT_MAX 1024

static const char *const descartes_error_kind_table[_DESCARTES_ERROR_KIND_MAX] = {
        [DESCARTES_ERROR_NONE] = "none",
        [DESCARTES_ERROR_LOCAL] = "local",
        [DESCARTES_ERROR_UNREACHABLE] = "unreachable",
        [DESCARTES_ERROR_ACCESS] = "access",
        [DESCARTES_ERROR_TIMEOUT] = "timeout",
        [DESCARTES_ERROR_PROTOCOL] = "protocol",
        [DESCARTES_ERROR_DAEMON] = "daemon",
};

DEFINE_TO_STRING(descartes_error_kind, DescartesErrorKind, _DESCARTES_ERROR_KIND_MAX)

void descartes_error_clear(DescartesError *e)
{
        if (!e)
                return;
        e->kind = DESCARTES_ERROR_NONE;
        e->error = 0;
        e->code = _DESCARTES_ERROR_CODE_INVALID;
        e->message[0] = 0;
}

int descartes_error_code_to_errno(DescartesErrorCode code)
{
        switch ((ProtoErrorCode)code) {
        case PROTO_ERROR_BAD_REQUEST:
                return -EINVAL;
        case PROTO_ERROR_UNSUPPORTED_VERSION:
                return -EPROTONOSUPPORT;
        case PROTO_ERROR_UNKNOWN_OP:
                return -EOPNOTSUPP;
        case PROTO_ERROR_NOT_FOUND:
                return -ESRCH;
        case PROTO_ERROR_CONFLICT:
                return -EBUSY;
        case PROTO_ERROR_LIMIT_EXCEEDED:
                return -EDQUOT;
        case PROTO_ERROR_UNENFORCEABLE:
                return -ENODEV;
        case PROTO_ERROR_PERMISSION_DENIED:
                return -EPERM;
        case PROTO_ERROR_SPAWN_FAILED:
                return -ENOEXEC;
        case PROTO_ERROR_TIMEOUT:
                return -ETIME;
        case PROTO_ERROR_BUSY:
                return -EAGAIN;
        case PROTO_ERROR_INTERNAL:
                return -EREMOTEIO;
        case PROTO_ERROR_ACTION_FAILED:
                return -ECANCELED;
        case _PROTO_ERROR_MAX:
        case _PROTO_ERROR_INVALID:
        default:
                return -EIO;
        }
}

int client_error_set(DescartesError *e, DescartesErrorKind kind, int error, const char *fmt, ...)
{
        va_list ap;

        if (!e)
                return error;
        e->kind = kind;
        e->error = error;
        e->code = _DESCARTES_ERROR_CODE_INVALID;
        va_start(ap, fmt);
        (void)vsnprintf(e->message, sizeof e->message, fmt, ap);
        va_end(ap);
        return error;
}

int client_error_from_reply(DescartesError *e, const ProtoReply *reply)
{
        const char *code = proto_error_code_to_string(reply->error_code);
        int r = descartes_error_code_to_errno((DescartesErrorCode)reply->error_code);

        if (!e)
                return r;
        e->kind = DESCARTES_ERROR_DAEMON;
        e->error = r;
        e->code = (DescartesErrorCode)reply->error_code;
        if (reply->error_msg && reply->error_msg[0])
                (void)snprintf(e->message, sizeof e->message, "%s", reply->error_msg);
        else
                (void)snprintf(e->message, sizeof e->message, "descartesd refused the request (%s)",
                               code ?: "unknown error");
        return r;
}

static int endpoint_validate(const char *endpoint)
{
        size_t n;

        if (!endpoint)
                return -EINVAL;
        n = strlen(endpoint);
        if (n == 0 || n > ENDPOINT_MAX || !strstr(endpoint, "://"))
                return -EINVAL;
        return 0;
}

/* ipc://DIR/control -> ipc://DIR/events */
static int events_endpoint_derive(const char *endpoint, char **ret)
{
        const char *env = getenv(DESCARTES_ENV_EVENTS);
        const char *path = startswith(endpoint, "ipc://");
        size_t n;
        char *s;

        if (env && env[0]) {
                if (endpoint_validate(env) < 0)
                        return -EINVAL;
                s = strdup(env);
        } else if (path && (n = strlen(path)) >= strlen("/control") && streq(path + n - 8, "/control")) {
                if (asprintf_safe(&s, "ipc://%.*sevents", (int)(n - 7), path) < 0)
                        return -ENOMEM;
        } else
                s = strdup(DESCARTES_DEFAULT_EVENTS_ENDPOINT);
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

int descartes_client_new(const char *endpoint, DescartesClient **ret)
{
        _cleanup_free_ DescartesClient *c = NULL;
        _cleanup_free_ char *ep = NULL, *events = NULL;
        const char *env = getenv(DESCARTES_ENV_HOST);
        int r;

        if (!ret)
                return -EINVAL;
        if (!endpoint)
                endpoint = env && env[0] ? env : DESCARTES_DEFAULT_CONTROL_ENDPOINT;
        if (endpoint_validate(endpoint) < 0)
                return -EINVAL;

        ep = strdup(endpoint);
        if (!ep)
                return -ENOMEM;
        r = events_endpoint_derive(ep, &events);
        if (r < 0)
                return r;
        c = calloc(1, sizeof *c);
        if (!c)
                return -ENOMEM;
        c->zmq_ctx = zmq_ctx_new();
        if (!c->zmq_ctx)
                return -ENOMEM;
        (void)zmq_ctx_set(c->zmq_ctx, ZMQ_BLOCKY, 0);
        if (getrandom(&c->nonce, sizeof c->nonce, GRND_NONBLOCK) != sizeof c->nonce)
                c->nonce = (uint32_t)now_ns(CLOCK_MONOTONIC) ^ (uint32_t)getpid();
        c->retry = true;
        client_queue_init(&c->queue);
        c->endpoint = TAKE_PTR(ep);
        c->events_endpoint = TAKE_PTR(events);
        *ret = TAKE_PTR(c);
        return 0;
}

int client_set_random_routing_id(void *socket, DescartesError *e)
{
        uint8_t id[PROTO_SUBSCRIBE_ROUTING_ID_MIN];

        if (getrandom(id, sizeof id, 0) != (ssize_t)sizeof id)
                return client_error_set(e, DESCARTES_ERROR_LOCAL, negative_errno(),
                                        "cannot read random bytes for a routing id: %s", strerror(errno));
        id[0] |= 1; /* ids that begin with a zero byte are libzmq's own */
        if (zmq_setsockopt(socket, ZMQ_ROUTING_ID, id, sizeof id) < 0)
                return client_error_set(e, DESCARTES_ERROR_LOCAL, negative_errno(),
                                        "cannot set the socket's routing id: %s", zmq_strerror(errno));
        return 0;
}

void descartes_client_freep(DescartesClient **c)
{
        if (c)
                *c = descartes_client_free(*c);
}

DescartesClient *descartes_client_free(DescartesClient *c)
{
        if (!c)
                return NULL;
        if (c->socket)
                (void)zmq_close(c->socket);
        client_curve_close(c);
        (void)zmq_ctx_term(c->zmq_ctx);
        free(c->endpoint);
        free(c->events_endpoint);
        free(c->events_override);
        client_queue_destroy(&c->queue);
        free(c);
        return NULL;
}

const char *descartes_client_get_endpoint(const DescartesClient *c)
{
        return c ? c->endpoint : NULL;
}

const char *descartes_client_get_events_endpoint(const DescartesClient *c)
{
        if (!c)
                return NULL;
        return c->events_override ?: c->events_endpoint;
}

int descartes_client_set_events_endpoint(DescartesClient *c, const char *endpoint)
{
        char *s = NULL;

        if (!c)
                return -EINVAL;
        if (endpoint) {
                if (endpoint_validate(endpoint) < 0)
                        return -EINVAL;
                s = strdup(endpoint);
                if (!s)
                        return -ENOMEM;
        }
        free(c->events_override);
        c->events_override = s;
        return 0;
}

void descartes_client_set_timeout(DescartesClient *c, uint64_t usec)
{
        if (c)
                c->timeout_usec = usec;
}

int descartes_client_set_op_timeout(DescartesClient *c, DescartesOp op, uint64_t usec)
{
        if (!c || op < 0 || op >= _DESCARTES_OP_MAX)
                return -EINVAL;
        c->op_timeout_usec[op] = usec;
        return 0;
}

uint64_t descartes_client_get_op_timeout(const DescartesClient *c, DescartesOp op)
{
        if (op < 0 || op >= _DESCARTES_OP_MAX)
                return DESCARTES_TIMEOUT_SHORT_USEC;
        if (c && c->op_timeout_usec[op] > 0)
                return c->op_timeout_usec[op];
        if (c && c->timeout_usec > 0)
                return c->timeout_usec;
        return proto_op_info((ProtoOp)op)->timeout == PROTO_TIMEOUT_LONG ? DESCARTES_TIMEOUT_LONG_USEC
                                                                         : DESCARTES_TIMEOUT_SHORT_USEC;
}

void descartes_client_set_retry(DescartesClient *c, bool retry)
{
        if (c)
                c->retry = retry;
}

int descartes_client_set_queue_max(DescartesClient *c, size_t max)
{
        if (!c)
                return -EINVAL;
        return client_queue_set_max(&c->queue, max);
}

size_t descartes_client_get_queue_max(DescartesClient *c)
{
        return c ? client_queue_get_max(&c->queue) : 0;
}

uint64_t descartes_client_get_retry_after_ms(const DescartesClient *c)
{
        return c ? c->retry_after_ms : 0;
}

void client_next_id(DescartesClient *c, char *buf, size_t n)
{
        (void)snprintf(buf, n, "%d-%08x-%llu", (int)getpid(), c->nonce, (unsigned long long)++c->counter);
}

static void format_timeout(uint64_t usec, char *buf, size_t n)
{
        if (usec % USEC_PER_SEC == 0)
                (void)snprintf(buf, n, "%llus", (unsigned long long)(usec / USEC_PER_SEC));
        else
                (void)snprintf(buf, n, "%llums", (unsigned long long)((usec + 999) / USEC_PER_MSEC));
}

int client_endpoint_check(const char *endpoint, DescartesError *e)
{
        return client_endpoint_check_full(endpoint, NULL, e);
}

/* The file of an ipc endpoint: it exists, is a socket, and we may write it. */
static int endpoint_check_file(const char *endpoint, const char *path, bool *ret_lasting, DescartesError *e)
{
        struct stat st;

        if (stat(path, &st) < 0) {
                if (errno == EACCES)
                        return client_error_set(e, DESCARTES_ERROR_ACCESS, -EACCES,
                                                "permission denied on %s: add your user to group descartes",
                                                path);
                if (errno == ENOENT)
                        return client_error_set(
                                e, DESCARTES_ERROR_UNREACHABLE, -ECONNREFUSED,
                                "cannot reach descartesd at %s: is it running? (systemctl status "
                                "descartesd)",
                                endpoint);
                return client_error_set(e, DESCARTES_ERROR_UNREACHABLE, -ECONNREFUSED,
                                        "cannot reach descartesd at %s (%s: %s)", endpoint, path,
                                        strerror(errno));
        }
        if (!S_ISSOCK(st.st_mode)) {
                if (ret_lasting)
                        *ret_lasting = true;
                return client_error_set(e, DESCARTES_ERROR_UNREACHABLE, -ECONNREFUSED,
                                        "cannot reach descartesd at %s: %s is not a socket", endpoint, path);
        }
        if (access(path, W_OK) < 0)
                return client_error_set(e, DESCARTES_ERROR_ACCESS, -EACCES,
                                        "permission denied on %s: add your user to group descartes", path);
        return 0;
}

/* libzmq connects to a dead socket file without complaint and retries forever: this connects (and hangs
 * up) to tell. */
static int endpoint_probe(const char *endpoint, const char *path, DescartesError *e)
{
        _cleanup_close_ int fd = -EBADF;
        struct sockaddr_un sa = {.sun_family = AF_UNIX};

        if (strlen(path) >= sizeof sa.sun_path)
                return 0;
        strcpy(sa.sun_path, path);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return 0;
        if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
                if (errno == EACCES || errno == EPERM)
                        return client_error_set(e, DESCARTES_ERROR_ACCESS, -EACCES,
                                                "permission denied on %s: add your user to group descartes",
                                                path);
                if (errno == ECONNREFUSED || errno == ENOENT)
                        return client_error_set(e, DESCARTES_ERROR_UNREACHABLE, -ECONNREFUSED,
                                                "cannot reach descartesd at %s: is it running? (systemctl "
                                                "status descartesd)",
                                                endpoint);
        }
        return 0;
}

int client_endpoint_check_full(const char *endpoint, bool *ret_lasting, DescartesError *e)
{
        const char *path = startswith(endpoint, "ipc://");
        int r;

        if (!path || path[0] == '@')
                return 0;
        r = endpoint_check_file(endpoint, path, ret_lasting, e);
        if (r < 0)
                return r;
        return endpoint_probe(endpoint, path, e);
}

/* The probe of client_connect(), when no reply came soon (CLIENT_PROBE_AFTER_MS): a socket we may not
 * connect to fails as it would have at once; a daemon that is away is still waited for. */
static int client_probe_late(DescartesClient *c, DescartesError *e)
{
        const char *path = startswith(c->endpoint, "ipc://");
        int r;

        c->probe_due = false;
        if (!path)
                return 0;
        r = endpoint_probe(c->endpoint, path, e);
        if (r == -EACCES)
                return r;
        descartes_error_clear(e);
        return 0;
}

static void client_disconnect(DescartesClient *c)
{
        if (c->socket) {
                (void)zmq_close(c->socket);
                c->socket = NULL;
        }
        client_curve_close(c);
}

/* A socket connected to the endpoint. A daemon that is away is no error here: libzmq connects when it
 * comes (client-retry.h) and the request waits in the socket's queue meanwhile. A socket file we may not
 * use, or a path that is not a socket, fails at once: waiting would not change them. Whether the socket
 * accepts our connection is asked only when no reply came soon (client_probe_late()): a probe that
 * connects costs the daemon a connection on every request. */
static int client_connect(DescartesClient *c, DescartesError *e)
{
        const char *path = startswith(c->endpoint, "ipc://");
        int64_t maxmsg = PROTO_MESSAGE_MAX;
        int linger = 0, ivl = CLIENT_RECONNECT_IVL_MS, ivl_max = CLIENT_RECONNECT_IVL_MAX_MS;
        bool lasting = false, probe = false;
        void *s;
        int r;

        if (c->socket)
                return 0;
        if (path && path[0] != '@') {
                r = endpoint_check_file(c->endpoint, path, &lasting, e);
                if (r == -EACCES || (r < 0 && lasting))
                        return r;
                probe = r == 0;
        }
        descartes_error_clear(e);
        s = zmq_socket(c->zmq_ctx, ZMQ_DEALER);
        if (!s)
                return client_error_set(e, DESCARTES_ERROR_LOCAL, negative_errno(),
                                        "cannot create a ZeroMQ socket: %s", zmq_strerror(errno));
        (void)zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
        (void)zmq_setsockopt(s, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg);
        (void)zmq_setsockopt(s, ZMQ_RECONNECT_IVL, &ivl, sizeof ivl);
        (void)zmq_setsockopt(s, ZMQ_RECONNECT_IVL_MAX, &ivl_max, sizeof ivl_max);
        r = client_set_random_routing_id(s, e);
        if (r < 0) {
                (void)zmq_close(s);
                return r;
        }
        r = client_curve_prepare(c, s, e);
        if (r < 0) {
                (void)zmq_close(s);
                client_curve_close(c);
                return r;
        }
        if (zmq_connect(s, c->endpoint) < 0) {
                r = negative_errno();
                (void)zmq_close(s);
                client_curve_close(c);
                return client_error_set(e, DESCARTES_ERROR_UNREACHABLE,
                                        r == -EACCES ? -EACCES : -ECONNREFUSED, "cannot connect to %s: %s",
                                        c->endpoint, zmq_strerror(-r));
        }
        c->socket = s;
        c->probe_due = probe;
        return 0;
}

static int client_send(DescartesClient *c, const void *buf, size_t len, DescartesError *e)
{
        if (zmq_send(c->socket, "", 0, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
            zmq_send(c->socket, buf, len, ZMQ_DONTWAIT) < 0) {
                int r = negative_errno();
                return client_error_set(e, DESCARTES_ERROR_UNREACHABLE, -ECONNREFUSED,
                                        "cannot send to descartesd at %s: %s", c->endpoint,
                                        zmq_strerror(-r));
        }
        return 0;
}

/* Receives one whole message and keeps its last frame (the body); earlier frames are the envelope. */
static int client_recv_body(void *socket, zmq_msg_t *body)
{
        int more;

        for (;;) {
                size_t more_size = sizeof more;

                zmq_msg_close(body);
                zmq_msg_init(body);
                if (zmq_msg_recv(body, socket, ZMQ_DONTWAIT) < 0)
                        return negative_errno();
                if (zmq_getsockopt(socket, ZMQ_RCVMORE, &more, &more_size) < 0)
                        return negative_errno();
                if (!more)
                        return 0;
        }
}

/* Waits until deadline (CLOCK_MONOTONIC usec) for the reply carrying id. 0 and *ret filled, -ETIMEDOUT,
 * -EPROTO (ours but unreadable), or another transport error. */
static int client_wait_reply(DescartesClient *c, const char *id, ProtoOp op, uint64_t deadline,
                             ProtoReply *ret, DescartesError *e)
{
        for (;;) {
                zmq_pollitem_t items[2] = {{.socket = c->socket, .events = ZMQ_POLLIN},
                                           {.socket = c->curve_monitor, .events = ZMQ_POLLIN}};
                uint64_t now = now_usec(CLOCK_MONOTONIC);
                ProtoReply reply = {};
                ProtoError perr;
                zmq_msg_t body;
                long ms;
                int r;

                if (now >= deadline)
                        return -ETIMEDOUT;
                ms = (long)MIN((deadline - now + 999) / USEC_PER_MSEC, (uint64_t)INT_MAX);
                if (c->probe_due)
                        ms = MIN(ms, (long)CLIENT_PROBE_AFTER_MS);
                r = zmq_poll(items, c->curve_monitor ? 2 : 1, ms);
                if (r < 0) {
                        if (errno == EINTR)
                                continue;
                        return client_error_set(e, DESCARTES_ERROR_LOCAL, negative_errno(),
                                                "waiting for descartesd failed: %s", zmq_strerror(errno));
                }
                if (r == 0) {
                        if (c->probe_due) {
                                r = client_probe_late(c, e);
                                if (r < 0)
                                        return r;
                        }
                        continue;
                }
                if (items[1].revents & ZMQ_POLLIN) {
                        r = client_curve_check(c, e);
                        if (r < 0)
                                return r;
                }
                if (!(items[0].revents & ZMQ_POLLIN))
                        continue;

                zmq_msg_init(&body);
                r = client_recv_body(c->socket, &body);
                if (r == -EAGAIN || r == -EINTR) {
                        zmq_msg_close(&body);
                        continue;
                }
                if (r < 0) {
                        zmq_msg_close(&body);
                        return client_error_set(e, DESCARTES_ERROR_PROTOCOL, -EPROTO,
                                                "receiving from descartesd failed: %s", zmq_strerror(-r));
                }

                proto_error_init(&perr);
                r = proto_reply_decode(zmq_msg_data(&body), zmq_msg_size(&body), op, &reply, &perr);
                if (r < 0) {
                        /* ours only if the decoder got as far as our id (it reads it after the bounded
                         * scan: raw bytes never reach msgpack-c here) */
                        bool ours = perr.has_id && streq(perr.id, id);
                        zmq_msg_close(&body);
                        if (!ours)
                                continue; /* a stale reply to an earlier request */
                        return client_error_set(e, DESCARTES_ERROR_PROTOCOL, -EPROTO,
                                                "descartesd sent a reply that cannot be read: %s", perr.msg);
                }
                zmq_msg_close(&body);
                if (!reply.id || !streq(reply.id, id)) {
                        proto_reply_done(&reply);
                        continue;
                }
                *ret = reply;
                return 0;
        }
}

/* The request's whole life on the connection, in its turn (client_call). */
static int client_call_locked(DescartesClient *c, const ProtoRequest *req, uint64_t extra_usec,
                              ProtoReply *ret, DescartesError *e)
{
        _cleanup_free_ void *buf = NULL;
        char id[PROTO_ID_MAX + 1];
        ProtoRequest r_copy = *req;
        ProtoReply reply = {};
        uint64_t timeout, first = 0;
        unsigned attempts = 0;
        size_t len;
        int r;

        client_next_id(c, id, sizeof id);
        r_copy.id = id;
        r_copy.v = PROTO_VERSION;
        r = proto_request_encode(&r_copy, &buf, &len);
        if (r == -ENOMEM)
                return client_error_set(e, DESCARTES_ERROR_LOCAL, r, "out of memory");
        if (r < 0)
                return client_error_set(e, DESCARTES_ERROR_LOCAL, -EINVAL,
                                        "invalid %s request: its arguments are out of the protocol's bounds",
                                        proto_op_to_string(req->op) ?: "unknown");

        timeout = descartes_client_get_op_timeout(c, (DescartesOp)req->op);
        timeout = extra_usec > UINT64_MAX / 2 - timeout ? UINT64_MAX / 2 : timeout + extra_usec;

        for (;;) {
                uint64_t now = now_usec(CLOCK_MONOTONIC);

                if (attempts == 0)
                        first = now;
                else
                        client_disconnect(c); /* Lazy Pirate: a fresh socket, the same id */
                r = client_connect(c, e);
                if (r < 0)
                        return r;
                r = client_send(c, buf, len, e);
                if (r < 0) {
                        client_disconnect(c);
                        return r;
                }
                attempts++;
                r = client_wait_reply(c, id, req->op, now + timeout, &reply, e);
                if (r != -ETIMEDOUT ||
                    !client_retry_may_resend(c->retry, attempts, first, now_usec(CLOCK_MONOTONIC)))
                        break;
        }
        if (r == -ETIMEDOUT) {
                char t[32];

                /* A late answer must not meet the next request: drop the socket with it. */
                client_disconnect(c);
                /* nobody there all along: say so rather than "no answer" */
                r = client_endpoint_check(c->endpoint, e);
                if (r < 0)
                        return r;
                format_timeout(timeout, t, sizeof t);
                if (attempts > 1)
                        return client_error_set(e, DESCARTES_ERROR_TIMEOUT, -ETIMEDOUT,
                                                "descartesd did not answer within %s (sent %u times)", t,
                                                attempts);
                return client_error_set(e, DESCARTES_ERROR_TIMEOUT, -ETIMEDOUT,
                                        "descartesd did not answer within %s", t);
        }
        if (r < 0) {
                client_disconnect(c);
                return r;
        }
        c->retry_after_ms = reply.ok ? 0 : reply.error_retry_after_ms;
        if (!reply.ok) {
                r = client_error_from_reply(e, &reply);
                proto_reply_done(&reply);
                return r;
        }
        *ret = reply;
        return 0;
}

int client_call(DescartesClient *c, const ProtoRequest *req, uint64_t extra_usec, ProtoReply *ret,
                DescartesError *e)
{
        size_t queued = 0;
        int r;

        descartes_error_clear(e);
        r = client_queue_enter(&c->queue, &queued);
        if (r == -ENOBUFS)
                return client_error_set(e, DESCARTES_ERROR_LOCAL, -ENOBUFS,
                                        "%zu requests to descartesd at %s wait already (the client's queue "
                                        "is full): it is slow or away; try again later, or raise the bound "
                                        "(descartes_client_set_queue_max())",
                                        queued, c->endpoint);
        r = client_call_locked(c, req, extra_usec, ret, e);
        client_queue_leave(&c->queue);
        return r;
}
