/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* attach, attach_input, attach_resize, detach: an agent's terminal, or the terminal of a command of exec in
 * it (exec-tty.h), on the caller's own connection (attachment.h). */
#include <inttypes.h>
#include <string.h>

#include "agent-log.h"
#include "agent.h"
#include "attachment.h"
#include "log.h"
#include "ops.h"
#include "time-util.h"

/* The first shim contract version with terminals (shim-contract.h). */
#define SHIM_VERSION_TTY 4

static bool has_route(const Call *c)
{
        return c->envelope && c->envelope->n_frames > 0;
}

static int reply_attach_failed(Call *c, Agent *a, int r)
{
        if (r == -EUSERS)
                return call_reply_error(c, PROTO_ERROR_LIMIT_EXCEEDED,
                                        "you have %d attachments already: detach one (detach, or close its "
                                        "connection) first",
                                        PROTO_ATTACHMENTS_PER_USER_MAX);
        if (r == -ENFILE)
                return call_reply_error(c, PROTO_ERROR_LIMIT_EXCEEDED,
                                        "the daemon has %d attachments already: try again later",
                                        PROTO_ATTACHMENTS_MAX);
        return call_reply_error(c, PROTO_ERROR_INTERNAL, "cannot attach to agent %s: %s", a->info.id,
                                strerror(-r));
}

/* The terminal attach joins: the agent's own (*ret NULL), or a command's, started now (exec_argv) or
 * before (exec_id). 0, or the call was answered. */
static int attach_target(Call *c, Agent *a, ExecTty **ret)
{
        const ProtoAttachArgs *args = &c->request.args.attach;
        Failure fail = {};

        *ret = NULL;
        if (args->n_exec_argv == 0 && !args->has_exec_id)
                return 0;
        if (args->n_exec_argv > 0 && a->info.state != PROTO_STATE_RUNNING)
                return call_reply_error(c, PROTO_ERROR_CONFLICT, "cannot exec into agent %s: it is %s%s",
                                        a->info.id, proto_state_to_string(a->info.state),
                                        a->info.state == PROTO_STATE_PAUSED ? " (resume it first)" : "");
        if (a->info.state == PROTO_STATE_STARTING || agent_state_is_ended(a->info.state))
                return call_reply_error(c, PROTO_ERROR_CONFLICT,
                                        "cannot attach to a command in agent %s: it is %s", a->info.id,
                                        proto_state_to_string(a->info.state));
        if (a->shim.version == 0 || (a->shim.version >= SHIM_VERSION_EXEC_TTY && !a->exec_ttys.known))
                return call_reply_error(
                        c, PROTO_ERROR_BUSY,
                        "agent %s's shim is not connected yet (the daemon has just started): try again",
                        a->info.id);
        if (args->n_exec_argv > 0) {
                /* the room first: a command must not start for an attachment that cannot be */
                int r = attachment_check_room(c->manager, c->envelope, c->uid);

                if (r < 0)
                        return reply_attach_failed(c, a, r);
                if (exec_tty_start(a, args->exec_argv, args->has_rows ? args->rows : 0,
                                   args->has_cols ? args->cols : 0, ret, &fail) < 0)
                        return call_reply_failure(c, &fail);
                return 0;
        }
        *ret = a->shim.version >= SHIM_VERSION_EXEC_TTY ? exec_tty_find(a, args->exec_id) : NULL;
        if (!*ret)
                return call_reply_error(c, PROTO_ERROR_NOT_FOUND,
                                        "agent %s has no command on a terminal with exec_id %" PRIu64
                                        " (it ended long ago, or never was)",
                                        a->info.id, args->exec_id);
        return 0;
}

static int op_attach_exec(Call *c, Agent *a);

static int op_attach(Call *c)
{
        Manager *m = c->manager;
        const ProtoAttachArgs *args = &c->request.args.attach;
        ProtoReply reply = {};
        uint64_t seq = 0;
        Agent *a;
        int r;

        if (!has_route(c))
                return call_reply_error(c, PROTO_ERROR_INTERNAL, "the request came with no routing id");
        if (c->envelope->sizes[0] < PROTO_SUBSCRIBE_ROUTING_ID_MIN)
                return call_reply_error(
                        c, PROTO_ERROR_BAD_REQUEST,
                        "attach needs a connection with a random routing id of at least %d bytes "
                        "(ZMQ_ROUTING_ID, set before connecting): the terminal's output follows the "
                        "routing id, and one the daemon assigns could be claimed by another client",
                        PROTO_SUBSCRIBE_ROUTING_ID_MIN);
        a = op_agent_lookup(c, args->agent);
        if (!a)
                return call_reply_error(c, PROTO_ERROR_NOT_FOUND, "no agent %s", args->agent);
        if (args->n_exec_argv > 0 || args->has_exec_id)
                return op_attach_exec(c, a);
        if (!a->info.tty)
                return call_reply_error(c, PROTO_ERROR_CONFLICT,
                                        "agent %s has no terminal: attach needs an agent spawned with tty "
                                        "(descartesctl spawn --tty); read its output with `logs -f`",
                                        a->info.id);
        if (a->info.state == PROTO_STATE_STARTING || agent_state_is_ended(a->info.state))
                return call_reply_error(c, PROTO_ERROR_CONFLICT, "cannot attach to agent %s: it is %s",
                                        a->info.id, proto_state_to_string(a->info.state));
        if (a->shim.version == 0)
                return call_reply_error(
                        c, PROTO_ERROR_BUSY,
                        "agent %s's shim is not connected (the daemon has just started): try "
                        "again",
                        a->info.id);
        if (a->shim.version < SHIM_VERSION_TTY)
                return call_reply_error(c, PROTO_ERROR_CONFLICT,
                                        "agent %s's shim is too old for attach (shim protocol version %u, "
                                        "terminals need %d)",
                                        a->info.id, a->shim.version, SHIM_VERSION_TTY);
        r = attachment_add(m,
                           &(AttachmentRequest){
                                   .envelope = c->envelope,
                                   .id = c->request.id,
                                   .agent = a,
                                   .uid = c->uid,
                                   .read_only = args->read_only,
                                   .has_since_seq = args->has_since_seq,
                                   .since_seq = args->since_seq,
                                   .replay = args->has_replay ? args->replay : PROTO_ATTACH_REPLAY_DEFAULT,
                                   .curve_key = c->curve_key[0] ? c->curve_key : NULL,
                           },
                           &seq);
        if (r < 0)
                return reply_attach_failed(c, a, r);
        if (args->has_rows && !args->read_only &&
            shim_link_send(
                    a,
                    &(ShimMsgTtyResize){.h = {.type = SHIM_MSG_TTY_RESIZE, .size = sizeof(ShimMsgTtyResize)},
                                        .rows = args->rows,
                                        .cols = args->cols},
                    sizeof(ShimMsgTtyResize)) < 0)
                log_debug("Cannot pass the window size to the shim of agent %s.", a->info.id);

        if (proto_reply_init_ok(&reply, c->request.id, c->request.op) < 0) {
                (void)attachment_remove_by_route(m, c->envelope->frames[0], c->envelope->sizes[0]);
                return call_reply_error(c, PROTO_ERROR_INTERNAL, "out of memory");
        }
        reply.result.attach = (ProtoAttachResult){
                .seq = seq,
                .heartbeat_ms = m->config.heartbeat_usec / USEC_PER_MSEC,
        };
        call_reply(c, &reply);
        /* the reply first, then the replay and what follows */
        attachments_pump_agent(m, a);
        return 0;
}

/* attach with exec_argv or exec_id: a command's terminal; a new command's output from its start. */
static int op_attach_exec(Call *c, Agent *a)
{
        Manager *m = c->manager;
        const ProtoAttachArgs *args = &c->request.args.attach;
        bool started = args->n_exec_argv > 0;
        ProtoReply reply = {};
        uint64_t seq = 0;
        ExecTty *x = NULL;
        int r;

        r = attach_target(c, a, &x);
        if (r < 0 || !x)
                return r;
        r = attachment_add(m,
                           &(AttachmentRequest){
                                   .envelope = c->envelope,
                                   .id = c->request.id,
                                   .agent = a,
                                   .exec = x,
                                   .uid = c->uid,
                                   .read_only = args->read_only,
                                   .has_since_seq = started || args->has_since_seq,
                                   .since_seq = started ? 1 : args->since_seq,
                                   .replay = args->has_replay ? args->replay : PROTO_ATTACH_REPLAY_DEFAULT,
                                   .curve_key = c->curve_key[0] ? c->curve_key : NULL,
                           },
                           &seq);
        if (r < 0) {
                /* a command started for this attach runs on: its exec_id is in the log */
                if (started)
                        log_agent_info(a,
                                       "exec %" PRIu64 " on a terminal runs unattached: attach failed: %s",
                                       x->id, strerror(-r));
                return reply_attach_failed(c, a, r);
        }
        if (!started && args->has_rows && !args->read_only &&
            exec_tty_send_resize(a, x, args->rows, args->cols) < 0)
                log_debug("Cannot pass the window size to the shim of agent %s.", a->info.id);
        if (proto_reply_init_ok(&reply, c->request.id, c->request.op) < 0) {
                (void)attachment_remove_by_route(m, c->envelope->frames[0], c->envelope->sizes[0]);
                return call_reply_error(c, PROTO_ERROR_INTERNAL, "out of memory");
        }
        reply.result.attach = (ProtoAttachResult){
                .seq = seq,
                .heartbeat_ms = m->config.heartbeat_usec / USEC_PER_MSEC,
                .has_exec_id = true,
                .exec_id = x->id,
        };
        call_reply(c, &reply);
        /* the reply first, then its output, and its end if it has ended */
        if (x->ended)
                attachments_exec_ended(m, a, x);
        else
                attachments_pump_exec(m, a, x);
        return 0;
}

/* The connection's attachment for input: NULL when the call was answered (none, or read-only). */
static Attachment *writable_attachment(Call *c)
{
        Attachment *t = has_route(c) ? attachment_find_by_route(c->manager, c->envelope->frames[0],
                                                                c->envelope->sizes[0])
                                     : NULL;

        if (!t) {
                call_reply_error(
                        c, PROTO_ERROR_NOT_FOUND,
                        "this connection is not attached to an agent: attach first (after a restart "
                        "of the daemon, attach again)");
                return NULL;
        }
        if (attachment_read_only(t)) {
                call_reply_error(c, PROTO_ERROR_CONFLICT,
                                 "this attachment is read-only: attach without "
                                 "read_only to type or resize");
                return NULL;
        }
        return t;
}

static int reply_empty(Call *c)
{
        ProtoReply reply = {};

        if (proto_reply_init_ok(&reply, c->request.id, c->request.op) < 0)
                return call_reply_error(c, PROTO_ERROR_INTERNAL, "out of memory");
        return call_reply(c, &reply);
}

static int op_attach_input(Call *c)
{
        const ProtoBytes *d = &c->request.args.attach_input.data;
        Attachment *t = writable_attachment(c);
        int r;

        if (!t)
                return 0;
        r = attachment_exec(t)
                    ? exec_tty_send_input(attachment_agent(t), attachment_exec(t), d->data, d->size)
                    : shim_link_send_tty_input(attachment_agent(t), d->data, d->size);
        if (r == -ESRCH)
                return call_reply_error(c, PROTO_ERROR_CONFLICT, "the command has ended");
        if (r == -EAGAIN || r == -ENOBUFS)
                return call_reply_error(c, PROTO_ERROR_BUSY,
                                        "the agent's shim takes no more input now: send it again later");
        if (r < 0)
                return call_reply_error(c, PROTO_ERROR_CONFLICT, "cannot pass input to agent %s: %s",
                                        attachment_agent(t)->info.id, strerror(-r));
        return reply_empty(c);
}

static int op_attach_resize(Call *c)
{
        const ProtoAttachResizeArgs *args = &c->request.args.attach_resize;
        Attachment *t = writable_attachment(c);
        ShimMsgTtyResize msg = {
                .h = {.type = SHIM_MSG_TTY_RESIZE, .size = sizeof msg},
                .rows = args->rows,
                .cols = args->cols,
        };
        int r;

        if (!t)
                return 0;
        r = attachment_exec(t)
                    ? exec_tty_send_resize(attachment_agent(t), attachment_exec(t), args->rows, args->cols)
                    : shim_link_send(attachment_agent(t), &msg, sizeof msg);
        if (r == -ESRCH)
                return call_reply_error(c, PROTO_ERROR_CONFLICT, "the command has ended");
        if (r < 0)
                return call_reply_error(c, PROTO_ERROR_CONFLICT,
                                        "cannot resize the terminal of agent %s: %s",
                                        attachment_agent(t)->info.id, strerror(-r));
        return reply_empty(c);
}

static int op_detach(Call *c)
{
        if (!has_route(c) ||
            attachment_remove_by_route(c->manager, c->envelope->frames[0], c->envelope->sizes[0]) < 0)
                return call_reply_error(c, PROTO_ERROR_NOT_FOUND,
                                        "this connection is not attached to an agent");
        return reply_empty(c);
}

const OpHandler ops_attach_handlers[] = {
        {PROTO_OP_ATTACH, .call = op_attach},
        {PROTO_OP_ATTACH_INPUT, .call = op_attach_input},
        {PROTO_OP_ATTACH_RESIZE, .call = op_attach_resize},
        {PROTO_OP_DETACH, .call = op_detach},
        {_PROTO_OP_INVALID},
};
