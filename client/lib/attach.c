/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Attached terminals: a DEALER of its own on the control endpoint, the `attach` op, then the terminal
 * output the daemon pushes on that connection; input and window sizes go as attach_input and attach_resize
 * requests on it, whose answers are not waited for. Like a subscription, an attachment outlives the daemon:
 * after two heartbeat periods of silence, or when the daemon answers that it does not know this connection,
 * it attaches again with since_seq just past the last output record it delivered. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zmq.h>

#include "cleanup.h"
#include "client-internal.h"
#include "string-util.h"
#include "time-util.h"

/* Without a heartbeat (heartbeat_interval = 0) the silence that makes an attachment attach again. */
#define ATTACH_PROBE_USEC         (10 * USEC_PER_SEC)
#define ATTACH_SILENCE_SLACK_USEC (USEC_PER_SEC)
/* How long a detach may wait in the socket for the daemon when the attachment is freed. */
#define ATTACH_DETACH_LINGER_MS 200
/* After a `busy` answer to a re-attach: the wait before the next. */
#define ATTACH_BUSY_RETRY_USEC (200 * USEC_PER_MSEC)

struct DescartesAttachment {
        DescartesClient *client; /* its endpoint, keys and nonce; an attachment is freed before its client */
        void *socket;            /* DEALER on the control endpoint */
        char agent[PROTO_AGENT_REF_MAX + 1];
        char attach_id[PROTO_ID_MAX + 1]; /* the id of the last attach sent: pushes carry it */
        DescartesAttachArgs args;
        uint64_t seq; /* the last output record accounted for */
        uint64_t silence_usec;
        uint64_t last_heard; /* CLOCK_MONOTONIC usec */
        uint64_t n_sent;     /* requests sent, for their ids */
        uint64_t lost, reattached;
        uint64_t exec_id; /* a command's terminal: its id (re-attaches name it), else 0 */
        bool attached;    /* the daemon took the first attach */
        bool ended;
        bool has_exit; /* the command's end, from its closed push */
        int exit_code, exit_signal;
        ProtoPush push; /* the last output returned: its data is the caller's until the next call */
};

static void set_silence(DescartesAttachment *a, uint64_t heartbeat_ms)
{
        a->silence_usec = heartbeat_ms > 0 && heartbeat_ms < UINT64_MAX / (4 * USEC_PER_MSEC)
                                  ? 2 * heartbeat_ms * USEC_PER_MSEC + ATTACH_SILENCE_SLACK_USEC
                                  : ATTACH_PROBE_USEC;
}

static int send_request(DescartesAttachment *a, ProtoRequest *req, char id[static PROTO_ID_MAX + 1],
                        DescartesError *e)
{
        _cleanup_free_ void *buf = NULL;
        size_t len;
        int r;

        /* ids of our own: the client's counter belongs to the threads making requests */
        (void)snprintf(id, PROTO_ID_MAX + 1, "%d-%08x-att%p-%llu", (int)getpid(), a->client->nonce,
                       (void *)a, (unsigned long long)++a->n_sent);
        req->v = PROTO_VERSION;
        req->id = id;
        r = proto_request_encode(req, &buf, &len);
        if (r < 0)
                return client_error_set(e, DESCARTES_ERROR_LOCAL, r == -ENOMEM ? r : -EINVAL,
                                        "cannot encode the %s request: %s", proto_op_to_string(req->op),
                                        strerror(-r));
        /* queued by libzmq while the daemon is away, sent once it is back */
        if (zmq_send(a->socket, buf, len, ZMQ_DONTWAIT) < 0 && errno != EAGAIN)
                return client_error_set(e, DESCARTES_ERROR_UNREACHABLE, -ECONNREFUSED,
                                        "cannot send to descartesd: %s", zmq_strerror(errno));
        return 0;
}

/* Attaches: the first time with the replay asked for, again from just past what was delivered. */
static int send_attach(DescartesAttachment *a, bool resume, DescartesError *e)
{
        ProtoRequest req = {.op = PROTO_OP_ATTACH};
        ProtoAttachArgs *x = &req.args.attach;

        x->agent = a->agent;
        x->read_only = a->args.read_only;
        /* a command is started once: every later attach names it */
        if (a->exec_id > 0) {
                x->has_exec_id = true;
                x->exec_id = a->exec_id;
        } else if (a->args.exec_argv && !resume) {
                x->exec_argv = (char **)a->args.exec_argv;
                while (x->exec_argv[x->n_exec_argv])
                        x->n_exec_argv++;
        }
        if (resume) {
                x->has_since_seq = true;
                x->since_seq = a->seq + 1;
        } else if (a->args.has_replay) {
                x->has_replay = true;
                x->replay = a->args.replay;
        }
        if (!a->args.read_only && a->args.rows > 0 && a->args.cols > 0) {
                x->has_rows = x->has_cols = true;
                x->rows = a->args.rows;
                x->cols = a->args.cols;
        }
        a->last_heard = now_usec(CLOCK_MONOTONIC);
        return send_request(a, &req, a->attach_id, e);
}

/* Receives one whole message and keeps its last frame. 1, 0 when none is queued, or -errno. */
static int recv_body(void *socket, zmq_msg_t *body)
{
        for (;;) {
                int more = 0;
                size_t more_size = sizeof more;

                zmq_msg_close(body);
                zmq_msg_init(body);
                if (zmq_msg_recv(body, socket, ZMQ_DONTWAIT) < 0)
                        return errno == EAGAIN ? 0 : negative_errno();
                if (zmq_getsockopt(socket, ZMQ_RCVMORE, &more, &more_size) < 0)
                        return negative_errno();
                if (!more)
                        return 1;
        }
}

/* A reply: to our attach (a refusal ends the attachment: the agent is gone), or to an input or resize (a
 * daemon that no longer knows this connection makes us attach again). 0, or -errno with *e filled. */
static int handle_reply(DescartesAttachment *a, const void *buf, size_t len, DescartesError *e)
{
        _cleanup_(proto_reply_done) ProtoReply reply = {};
        ProtoError perr;
        bool ours;
        int r;

        /* an error reply decodes for any op; an ok one for the op it answers */
        r = proto_reply_decode(buf, len, PROTO_OP_ATTACH, &reply, &perr);
        ours = r >= 0 ? reply.id && streq(reply.id, a->attach_id)
                      : perr.has_id && streq(perr.id, a->attach_id);
        if (r < 0) {
                if (ours)
                        return client_error_set(e, DESCARTES_ERROR_PROTOCOL, -EPROTO,
                                                "descartesd sent an attach reply that cannot be read: %s",
                                                perr.msg);
                return 0; /* an input's or resize's ok reply: nothing in it */
        }
        if (ours && !reply.ok && reply.error_code == PROTO_ERROR_BUSY) {
                /* a daemon just restarted whose shim link is not up yet: ask again shortly */
                a->last_heard = now_usec(CLOCK_MONOTONIC) - a->silence_usec + ATTACH_BUSY_RETRY_USEC;
                return 0;
        }
        if (ours && !reply.ok)
                return client_error_from_reply(e, &reply);
        if (ours) {
                set_silence(a, reply.result.attach.heartbeat_ms);
                return 0;
        }
        if (!reply.ok && reply.error_code == PROTO_ERROR_NOT_FOUND) {
                /* the daemon restarted: it does not know our attachment any more */
                a->reattached++;
                return send_attach(a, true, e);
        }
        return 0; /* a keystroke the daemon could not take (busy) is lost, as on a slow line */
}

/* A push: 1 when it holds output to deliver (kept in a->push), 0 when not. */
static int handle_push(DescartesAttachment *a, const void *buf, size_t len)
{
        _cleanup_(proto_push_done) ProtoPush p = {};

        if (proto_push_decode(buf, len, &p, NULL) < 0 || !streq(p.sub, a->attach_id))
                return 0; /* not readable, or sent before our last attach replaced it */
        if (p.has_closed) {
                a->ended = true;
                a->has_exit = streq(p.closed.reason, "exited");
                a->exit_code = p.closed.has_exit_code ? p.closed.exit_code : -1;
                a->exit_signal = p.closed.has_signal ? p.closed.signal : 0;
                return 0;
        }
        if (p.has_lost) {
                if (p.lost.to > a->seq) {
                        a->lost += p.lost.to - MAX(p.lost.from, a->seq + 1) + 1;
                        a->seq = p.lost.to;
                }
                return 0;
        }
        if (!p.has_output || p.output.seq <= a->seq)
                return 0; /* a heartbeat, or seen already */
        a->seq = p.output.seq;
        if (p.output.data.size == 0)
                return 0;
        proto_push_done(&a->push);
        a->push = p;
        p = (ProtoPush){};
        return 1;
}

/* Reads what is queued: 1 for output to deliver, 0 when nothing more is queued, -errno. */
static int attachment_drain(DescartesAttachment *a, DescartesError *e)
{
        for (;;) {
                zmq_msg_t body;
                const void *buf;
                size_t len;
                int r;

                zmq_msg_init(&body);
                r = recv_body(a->socket, &body);
                if (r <= 0) {
                        zmq_msg_close(&body);
                        if (r == -EINTR)
                                return client_error_set(e, DESCARTES_ERROR_LOCAL, r, "interrupted");
                        if (r < 0)
                                return client_error_set(e, DESCARTES_ERROR_PROTOCOL, -EPROTO,
                                                        "receiving from descartesd failed: %s",
                                                        zmq_strerror(-r));
                        return 0;
                }
                a->last_heard = now_usec(CLOCK_MONOTONIC);
                buf = zmq_msg_data(&body);
                len = zmq_msg_size(&body);
                if (proto_message_is_push(buf, len))
                        r = handle_push(a, buf, len);
                else
                        r = handle_reply(a, buf, len, e);
                zmq_msg_close(&body);
                if (r != 0 || a->ended)
                        return r;
        }
}

int descartes_attachment_read(DescartesAttachment *a, uint64_t timeout_usec, const void **ret_data,
                              size_t *ret_size, DescartesError *e)
{
        uint64_t deadline;

        descartes_error_clear(e);
        if (!a || !ret_data || !ret_size)
                return client_error_set(e, DESCARTES_ERROR_LOCAL, -EINVAL, "invalid argument");
        deadline = timeout_usec == UINT64_MAX ? UINT64_MAX : now_usec(CLOCK_MONOTONIC) + timeout_usec;
        for (;;) {
                zmq_pollitem_t item = {.socket = a->socket, .events = ZMQ_POLLIN};
                uint64_t now, wake;
                int r;

                if (a->ended)
                        return client_error_set(e, DESCARTES_ERROR_LOCAL, -EPIPE, "the agent has ended");
                r = attachment_drain(a, e);
                if (r < 0)
                        return r;
                if (r > 0) {
                        *ret_data = a->push.output.data.data;
                        *ret_size = a->push.output.data.size;
                        return 1;
                }
                if (a->ended)
                        continue;
                now = now_usec(CLOCK_MONOTONIC);
                if (now - a->last_heard >= a->silence_usec) {
                        /* the daemon went away, or came back without our attachment */
                        a->reattached++;
                        r = send_attach(a, true, e);
                        if (r < 0)
                                return r;
                        continue;
                }
                if (now >= deadline)
                        return 0;
                wake = MIN(deadline, a->last_heard + a->silence_usec);
                r = zmq_poll(&item, 1, (long)MIN((wake - now + 999) / USEC_PER_MSEC, (uint64_t)INT_MAX));
                if (r < 0 && errno == EINTR)
                        return client_error_set(e, DESCARTES_ERROR_LOCAL, -EINTR, "interrupted");
                if (r < 0)
                        return client_error_set(e, DESCARTES_ERROR_LOCAL, negative_errno(),
                                                "waiting for descartesd failed: %s", zmq_strerror(errno));
        }
}

int descartes_attachment_write(DescartesAttachment *a, const void *data, size_t size, DescartesError *e)
{
        ProtoRequest req = {.op = PROTO_OP_ATTACH_INPUT};
        char id[PROTO_ID_MAX + 1];

        descartes_error_clear(e);
        if (!a || !data || size == 0 || size > PROTO_ATTACH_INPUT_MAX)
                return client_error_set(e, DESCARTES_ERROR_LOCAL, -EINVAL,
                                        "input goes in chunks of 1 to %d bytes", PROTO_ATTACH_INPUT_MAX);
        if (a->args.read_only)
                return client_error_set(e, DESCARTES_ERROR_LOCAL, -EPERM, "this attachment is read-only");
        req.args.attach_input.data = (ProtoBytes){.data = (uint8_t *)data, .size = size};
        return send_request(a, &req, id, e);
}

int descartes_attachment_resize(DescartesAttachment *a, uint32_t rows, uint32_t cols, DescartesError *e)
{
        ProtoRequest req = {.op = PROTO_OP_ATTACH_RESIZE};
        char id[PROTO_ID_MAX + 1];

        descartes_error_clear(e);
        if (!a || rows == 0 || cols == 0 || rows > PROTO_TTY_SIZE_MAX || cols > PROTO_TTY_SIZE_MAX)
                return client_error_set(e, DESCARTES_ERROR_LOCAL, -EINVAL,
                                        "a window size has 1 to %d rows and columns", PROTO_TTY_SIZE_MAX);
        if (a->args.read_only)
                return client_error_set(e, DESCARTES_ERROR_LOCAL, -EPERM, "this attachment is read-only");
        a->args.rows = rows; /* and again at a re-attach */
        a->args.cols = cols;
        req.args.attach_resize = (ProtoAttachResizeArgs){.rows = rows, .cols = cols};
        return send_request(a, &req, id, e);
}

/* Sends the first attach and waits for its answer, so that a refusal is the caller's error at once. */
static int attach_first(DescartesAttachment *a, DescartesError *e)
{
        uint64_t deadline =
                now_usec(CLOCK_MONOTONIC) + descartes_client_get_op_timeout(a->client, DESCARTES_OP_ATTACH);
        int r;

        r = send_attach(a, false, e);
        if (r < 0)
                return r;
        for (;;) {
                zmq_pollitem_t item = {.socket = a->socket, .events = ZMQ_POLLIN};
                uint64_t now = now_usec(CLOCK_MONOTONIC);
                zmq_msg_t body;

                if (now >= deadline)
                        return client_error_set(e, DESCARTES_ERROR_TIMEOUT, -ETIMEDOUT,
                                                "descartesd did not answer the attach request");
                r = zmq_poll(&item, 1, (long)MIN((deadline - now + 999) / USEC_PER_MSEC, (uint64_t)INT_MAX));
                if (r < 0 && errno == EINTR)
                        return client_error_set(e, DESCARTES_ERROR_LOCAL, -EINTR, "interrupted");
                if (r < 0)
                        return client_error_set(e, DESCARTES_ERROR_LOCAL, negative_errno(),
                                                "waiting for descartesd failed: %s", zmq_strerror(errno));
                zmq_msg_init(&body);
                r = recv_body(a->socket, &body);
                if (r > 0 && !proto_message_is_push(zmq_msg_data(&body), zmq_msg_size(&body))) {
                        _cleanup_(proto_reply_done) ProtoReply reply = {};
                        ProtoError perr;

                        r = proto_reply_decode(zmq_msg_data(&body), zmq_msg_size(&body), PROTO_OP_ATTACH,
                                               &reply, &perr);
                        zmq_msg_close(&body);
                        if (r < 0 && perr.has_id && streq(perr.id, a->attach_id))
                                return client_error_set(e, DESCARTES_ERROR_PROTOCOL, -EPROTO,
                                                        "descartesd sent a reply that cannot be read: %s",
                                                        perr.msg);
                        if (r < 0 || !reply.id || !streq(reply.id, a->attach_id))
                                continue;
                        if (!reply.ok && reply.error_code == PROTO_ERROR_BUSY &&
                            now_usec(CLOCK_MONOTONIC) + ATTACH_BUSY_RETRY_USEC < deadline) {
                                /* a daemon just restarted whose shim link is not up yet */
                                (void)usleep(ATTACH_BUSY_RETRY_USEC);
                                r = send_attach(a, false, e);
                                if (r < 0)
                                        return r;
                                continue;
                        }
                        if (!reply.ok)
                                return client_error_from_reply(e, &reply);
                        set_silence(a, reply.result.attach.heartbeat_ms);
                        a->seq = reply.result.attach.seq;
                        if (reply.result.attach.has_exec_id)
                                a->exec_id = reply.result.attach.exec_id;
                        a->last_heard = now_usec(CLOCK_MONOTONIC);
                        a->attached = true;
                        return 0;
                }
                zmq_msg_close(&body);
                if (r < 0 && r != -EINTR)
                        return client_error_set(e, DESCARTES_ERROR_PROTOCOL, -EPROTO,
                                                "receiving from descartesd failed: %s", zmq_strerror(-r));
        }
}

int descartes_attach(DescartesClient *c, const char *agent, const DescartesAttachArgs *args,
                     DescartesAttachment **ret, DescartesError *e)
{
        _cleanup_(descartes_attachment_freep) DescartesAttachment *a = NULL;
        int64_t maxmsg = PROTO_MESSAGE_MAX;
        int linger = 0, r;
        size_t size;

        descartes_error_clear(e);
        if (!c || !ret)
                return client_error_set(e, DESCARTES_ERROR_LOCAL, -EINVAL, "invalid argument");
        if (!agent || agent[0] == 0 || strlen(agent) > PROTO_AGENT_REF_MAX)
                return client_error_set(e, DESCARTES_ERROR_LOCAL, -EINVAL,
                                        "attach needs an agent id or name of 1 to %d bytes",
                                        PROTO_AGENT_REF_MAX);
        r = client_endpoint_check(c->endpoint, e);
        if (r < 0)
                return r;

        a = calloc(1, sizeof *a);
        if (!a)
                return client_error_set(e, DESCARTES_ERROR_LOCAL, -ENOMEM, "out of memory");
        a->client = c;
        strcpy(a->agent, agent);
        a->args = (DescartesAttachArgs)DESCARTES_ATTACH_ARGS_INIT;
        if (args) {
                /* the caller's struct may be older (shorter) or newer (longer, its extra fields unset) */
                memcpy(&size, args, sizeof size);
                if (size < sizeof size)
                        return client_error_set(e, DESCARTES_ERROR_LOCAL, -EINVAL,
                                                "invalid argument: its size is not set (start from "
                                                "DESCARTES_ATTACH_ARGS_INIT)");
                for (size_t i = sizeof a->args; i < size; i++)
                        if (((const uint8_t *)args)[i] != 0)
                                return client_error_set(e, DESCARTES_ERROR_LOCAL, -EOPNOTSUPP,
                                                        "an argument is set that this libdescartes does not "
                                                        "know");
                memcpy(&a->args, args, MIN(size, sizeof a->args));
                a->args.size = sizeof a->args;
        }
        if (a->args.exec_argv && a->args.exec_id > 0)
                return client_error_set(e, DESCARTES_ERROR_LOCAL, -EINVAL,
                                        "exec_argv starts a new command, exec_id names one started before: "
                                        "not both");
        if (a->args.exec_argv) {
                size_t n = 0, bytes = 0;

                for (; a->args.exec_argv[n]; n++)
                        bytes += strlen(a->args.exec_argv[n]) + 1;
                if (n == 0 || a->args.exec_argv[0][0] == 0 || n > PROTO_EXEC_ARGV_MAX ||
                    bytes > PROTO_EXEC_ARGV_BYTES_MAX)
                        return client_error_set(e, DESCARTES_ERROR_LOCAL, -EINVAL,
                                                "exec_argv: 1 to %d arguments, %d bytes in all, the first "
                                                "non-empty",
                                                PROTO_EXEC_ARGV_MAX, PROTO_EXEC_ARGV_BYTES_MAX);
        }
        a->exec_id = a->args.exec_id;
        if ((a->args.has_replay && a->args.replay > PROTO_ATTACH_REPLAY_MAX) ||
            a->args.rows > PROTO_TTY_SIZE_MAX || a->args.cols > PROTO_TTY_SIZE_MAX)
                return client_error_set(
                        e, DESCARTES_ERROR_LOCAL, -EINVAL,
                        "replay is at most %d bytes, a window size at most %d rows and columns",
                        PROTO_ATTACH_REPLAY_MAX, PROTO_TTY_SIZE_MAX);
        set_silence(a, 0);
        a->socket = zmq_socket(c->zmq_ctx, ZMQ_DEALER);
        if (!a->socket)
                return client_error_set(e, DESCARTES_ERROR_LOCAL, negative_errno(),
                                        "cannot create a ZeroMQ socket: %s", zmq_strerror(errno));
        (void)zmq_setsockopt(a->socket, ZMQ_LINGER, &linger, sizeof linger);
        (void)zmq_setsockopt(a->socket, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg);
        r = client_set_random_routing_id(a->socket, e);
        if (r < 0)
                return r;
        r = client_curve_set_keys(c, a->socket, e);
        if (r < 0)
                return r;
        if (zmq_connect(a->socket, c->endpoint) < 0) {
                r = negative_errno();
                return client_error_set(e, DESCARTES_ERROR_UNREACHABLE, -ECONNREFUSED,
                                        "cannot attach at %s: %s", c->endpoint, zmq_strerror(-r));
        }
        r = attach_first(a, e);
        if (r < 0)
                return r;
        a->args.exec_argv = NULL; /* the caller's: started, now named by exec_id */
        *ret = TAKE_PTR(a);
        return 0;
}

void descartes_attachment_freep(DescartesAttachment **a)
{
        if (a)
                *a = descartes_attachment_free(*a);
}

DescartesAttachment *descartes_attachment_free(DescartesAttachment *a)
{
        if (!a)
                return NULL;
        if (a->socket) {
                if (a->attached && !a->ended) {
                        ProtoRequest req = {.op = PROTO_OP_DETACH};
                        char id[PROTO_ID_MAX + 1];
                        int linger = ATTACH_DETACH_LINGER_MS;

                        /* the daemon would find out at its next push anyway; this spares it that */
                        if (send_request(a, &req, id, NULL) >= 0)
                                (void)zmq_setsockopt(a->socket, ZMQ_LINGER, &linger, sizeof linger);
                }
                (void)zmq_close(a->socket);
        }
        proto_push_done(&a->push);
        free(a);
        return NULL;
}

int descartes_attachment_get_fd(DescartesAttachment *a)
{
        int fd = -EBADF;
        size_t n = sizeof fd;

        if (!a)
                return -EINVAL;
        if (zmq_getsockopt(a->socket, ZMQ_FD, &fd, &n) < 0)
                return negative_errno();
        return fd;
}

uint64_t descartes_attachment_get_lost(const DescartesAttachment *a)
{
        return a ? a->lost : 0;
}

uint64_t descartes_attachment_get_reattached(const DescartesAttachment *a)
{
        return a ? a->reattached : 0;
}

uint64_t descartes_attachment_get_exec_id(const DescartesAttachment *a)
{
        return a ? a->exec_id : 0;
}

int descartes_attachment_get_exit(const DescartesAttachment *a, int *ret_exit_code, int *ret_signal)
{
        if (!a || !a->has_exit)
                return 0;
        if (ret_exit_code)
                *ret_exit_code = a->exit_code;
        if (ret_signal)
                *ret_signal = a->exit_signal;
        return 1;
}
