/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

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
                else if (c->wait == CALL_WAIT_ENDED)
                        call_reply_agent(c, a);
                break;
        case AGENT_NOTICE_STDIN_ACK:
                if (c->wait == CALL_WAIT_STDIN)
                        stdin_acked(c, a, n);
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
