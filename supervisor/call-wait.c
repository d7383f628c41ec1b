/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "proto-json.h"

#include "agent.h"
#include "call-wait.h"
#include "time-util.h"

static int on_call_timeout(sd_event_source *s, uint64_t usec, void *userdata)
{
        Call *c = userdata;

        call_reply_error(c, PROTO_ERROR_TIMEOUT, "agent %s: %s did not finish in time; it goes on",
                         c->agent ? c->agent->info.id : "?", proto_op_to_string(c->request.op) ?: "request");
        return 0;
}

int call_defer(Call *c, Agent *a, CallWait wait, uint64_t timeout_usec)
{
        int r;

        if (c->answered || c->agent)
                return -EALREADY; /* answered already, or parked twice: a handler bug */
        r = sd_event_add_time_relative(c->manager->event, &c->timeout, CLOCK_MONOTONIC, timeout_usec, 1000,
                                       on_call_timeout, c);
        if (r < 0)
                return r;
        (void)sd_event_source_set_description(c->timeout, "call-timeout");
        c->wait = wait;
        c->agent = a;
        return 0;
}

/* Every chunk of a stdin request is acked; the reply waits for the last one and says how many bytes the
 * agent's queue took (a prefix of the data: the shim refuses the rest of a request once a chunk was cut). */
static void stdin_acked(Call *c, Agent *a, const AgentNotice *n)
{
        ProtoReply reply = {};

        if (n->cookie < c->cookie_first || n->cookie > c->cookie)
                return;
        if (n->result >= 0)
                c->written += (uint64_t)n->result;
        else if (n->result == -EPIPE)
                c->stdin_error = c->stdin_error ?: EPIPE;
        else if (n->result != -EAGAIN) /* -EAGAIN: the queue is full, fewer bytes written */
                c->stdin_error = c->stdin_error ?: (int)-n->result;
        if (n->cookie != c->cookie)
                return;

        if (c->written == 0 && c->stdin_error == EPIPE) {
                call_reply_error(c, PROTO_ERROR_CONFLICT, "stdin of agent %s is closed", a->info.id);
                return;
        }
        if (c->written == 0 && c->stdin_error) {
                call_reply_error(c, PROTO_ERROR_INTERNAL, "writing stdin of agent %s failed: %s", a->info.id,
                                 strerror(c->stdin_error));
                return;
        }
        if (proto_reply_init_ok(&reply, c->request.id, c->request.op) < 0) {
                call_reply_error(c, PROTO_ERROR_INTERNAL, "out of memory");
                return;
        }
        reply.result.input.written = c->written;
        /* the request closed stdin once all of it was taken */
        if (c->request.args.input.close && c->written == c->request.args.input.data.size)
                a->stdin_open = false;
        call_reply(c, &reply);
}

/* The command's end as the exec reply; a command that did not start is the error that says why. */
static void exec_done(Call *c, Agent *a, const ShimMsg *m)
{
        const ShimMsgExecDone *d = &m->exec_done;
        ProtoReply reply = {};
        ProtoExecResult *x;

        if (d->cookie != c->cookie)
                return;
        if (d->error == EBUSY) {
                call_reply_error(c, PROTO_ERROR_LIMIT_EXCEEDED,
                                 "agent %s runs %d commands already: wait for one to end", a->info.id,
                                 SHIM_EXEC_MAX);
                return;
        }
        if (d->error == ESRCH) {
                call_reply_error(c, PROTO_ERROR_CONFLICT, "agent %s has ended", a->info.id);
                return;
        }
        if (d->error != 0) {
                call_reply_error(c, PROTO_ERROR_SPAWN_FAILED,
                                 "the command did not start in agent %s: stage %s: %s", a->info.id,
                                 shim_stage_to_string(d->stage), strerror(d->error));
                return;
        }
        if (proto_reply_init_ok(&reply, c->request.id, c->request.op) < 0) {
                call_reply_error(c, PROTO_ERROR_INTERNAL, "out of memory");
                return;
        }
        x = &reply.result.exec;
        if (d->status >= 0 && WIFEXITED(d->status)) {
                x->has_exit_code = true;
                x->exit_code = WEXITSTATUS(d->status);
        } else if (d->status >= 0 && WIFSIGNALED(d->status)) {
                x->has_signal = true;
                x->signal = WTERMSIG(d->status);
        }
        x->timed_out = d->timed_out != 0;
        x->stdout_bytes = d->stdout_bytes;
        x->stderr_bytes = d->stderr_bytes;
        x->duration_us = now_usec(CLOCK_MONOTONIC) - c->arrived_usec;
        /* present even when empty; the shim keeps at most SHIM_EXEC_OUTPUT_MAX of each */
        x->out.data = malloc(MAX(m->data_size, (size_t)1));
        x->err.data = malloc(MAX(m->data2_size, (size_t)1));
        if (!x->out.data || !x->err.data) {
                proto_reply_done(&reply);
                call_reply_error(c, PROTO_ERROR_INTERNAL, "out of memory");
                return;
        }
        x->out.size = MIN(m->data_size, (size_t)PROTO_EXEC_OUTPUT_MAX);
        x->err.size = MIN(m->data2_size, (size_t)PROTO_EXEC_OUTPUT_MAX);
        memcpy(x->out.data, m->data, x->out.size);
        memcpy(x->err.data, m->data2, x->err.size);
        call_reply(c, &reply);
}

/* The agent's answer line, {"id", "result"} or {"id", "error"} (docs/agent-protocol.md), or the shim's
 * reason why there is none. */
static void action_answered(Call *c, Agent *a, const AgentNotice *n)
{
        const char *name = c->request.args.action.name;
        _cleanup_(proto_value_done) ProtoValue err = {};
        _cleanup_free_ char *text = NULL;
        ProtoReply reply = {};
        int r;

        if (n->cookie != c->cookie)
                return;
        *n->taken = true;
        switch (n->result) {
        case 0:
                break;
        case -ENOTCONN:
                call_reply_error(c, PROTO_ERROR_CONFLICT,
                                 "agent %s has not opened its action channel (DESCARTES_ACTION_FD): it "
                                 "cannot take action %s",
                                 a->info.id, name);
                return;
        case -EPIPE:
                call_reply_error(c, PROTO_ERROR_CONFLICT,
                                 "agent %s closed its action channel: it cannot take action %s", a->info.id,
                                 name);
                return;
        case -EBUSY:
                call_reply_error(c, PROTO_ERROR_BUSY,
                                 "agent %s has %d actions in flight (the most): try again when some are "
                                 "answered",
                                 a->info.id, SHIM_ACTION_INFLIGHT_MAX);
                return;
        case -EAGAIN:
                call_reply_error(c, PROTO_ERROR_BUSY,
                                 "agent %s does not read its action channel: try again later", a->info.id);
                return;
        case -ENOENT:
                call_reply_error(c, PROTO_ERROR_INTERNAL, "%s", CALL_INTERRUPTED_MSG);
                return;
        default:
                call_reply_error(c, PROTO_ERROR_INTERNAL, "cannot deliver action %s to agent %s: %s", name,
                                 a->info.id, strerror((int)-n->result));
                return;
        }

        if (proto_reply_init_ok(&reply, c->request.id, c->request.op) < 0) {
                call_reply_error(c, PROTO_ERROR_INTERNAL, "out of memory");
                return;
        }
        r = proto_value_from_json(n->data, n->size, "result", &reply.result.action.result);
        if (r >= 0) {
                call_reply(c, &reply);
                return;
        }
        proto_reply_done(&reply);
        if (r == -ENOENT && proto_value_from_json(n->data, n->size, "error", &err) >= 0 &&
            proto_value_to_json(&err, &text) >= 0) {
                call_reply_error(c, PROTO_ERROR_ACTION_FAILED, "agent %s: action %s failed: %s", a->info.id,
                                 name, text);
                return;
        }
        call_reply_error(c, PROTO_ERROR_ACTION_FAILED,
                         "agent %s answered action %s with %s (docs/agent-protocol.md)", a->info.id, name,
                         r == -ENOENT  ? "neither \"result\" nor \"error\""
                         : r == -ELOOP ? "a result nested too deep"
                         : r == -E2BIG ? "a result too big"
                                       : "a line that is not valid");
}

static void answer(Call *c, Agent *a, const AgentNotice *n)
{
        switch (n->type) {
        case AGENT_NOTICE_STARTED:
                if (c->wait == CALL_WAIT_STARTED)
                        call_reply_agent(c, a);
                break;
        case AGENT_NOTICE_SPAWN_FAILED:
                if (c->wait == CALL_WAIT_STARTED)
                        call_reply_failure(c, n->failure);
                break;
        case AGENT_NOTICE_FROZEN:
                if (c->wait == CALL_WAIT_FROZEN)
                        call_reply_agent(c, a);
                break;
        case AGENT_NOTICE_THAWED:
                if (c->wait == CALL_WAIT_THAWED)
                        call_reply_agent(c, a);
                break;
        case AGENT_NOTICE_RESUMED:
                if (c->wait == CALL_WAIT_FROZEN)
                        call_reply_error(c, PROTO_ERROR_CONFLICT, "the agent was resumed");
                break;
        case AGENT_NOTICE_STOPPING:
                if (c->wait == CALL_WAIT_FROZEN || c->wait == CALL_WAIT_THAWED)
                        call_reply_error(c, PROTO_ERROR_CONFLICT, "the agent is stopping");
                break;
        case AGENT_NOTICE_ENDED:
                if (c->wait == CALL_WAIT_STARTED)
                        call_reply_error(c, PROTO_ERROR_SPAWN_FAILED, "%s",
                                         n->msg ?: "the agent ended before it started");
                else if (c->wait == CALL_WAIT_FROZEN || c->wait == CALL_WAIT_THAWED)
                        call_reply_error(c, PROTO_ERROR_CONFLICT, "the agent has ended");
                else if (c->wait == CALL_WAIT_STDIN)
                        call_reply_error(c, PROTO_ERROR_CONFLICT, "stdin is closed: the agent has ended");
                else if (c->wait == CALL_WAIT_ACTION)
                        call_reply_error(c, PROTO_ERROR_CONFLICT,
                                         "agent %s ended before it answered action %s", a->info.id,
                                         c->request.args.action.name);
                else if (c->wait == CALL_WAIT_ENDED)
                        call_reply_agent(c, a);
                else if (c->wait == CALL_WAIT_EXEC)
                        call_reply_error(
                                c, PROTO_ERROR_CONFLICT,
                                "agent %s ended while the command ran; the command was killed with it",
                                a->info.id);
                break;
        case AGENT_NOTICE_EXEC_DONE:
                if (c->wait == CALL_WAIT_EXEC)
                        exec_done(c, a, n->exec_done);
                break;
        case AGENT_NOTICE_STDIN_ACK:
                if (c->wait == CALL_WAIT_STDIN)
                        stdin_acked(c, a, n);
                break;
        case AGENT_NOTICE_ACTION_REPLY:
                if (c->wait == CALL_WAIT_ACTION)
                        action_answered(c, a, n);
                break;
        case AGENT_NOTICE_REMOVED:
                if (c->wait == CALL_WAIT_REMOVED)
                        call_reply_agent(c, a);
                break;
        case AGENT_NOTICE_FREED:
                /* nothing should still wait on an agent that goes; answer rather than leave a client
                 * hanging */
                call_reply_error(c, PROTO_ERROR_CONFLICT, "agent %s was removed", a->info.id);
                break;
        default:
                break;
        }
}

void call_wait_observe(Agent *a, const AgentNotice *n)
{
        /* answering frees only the call answered, never the next one */
        for (Call *c = a->manager->calls, *next; c; c = next) {
                next = c->next;
                if (c->agent == a)
                        answer(c, a, n);
        }
}
