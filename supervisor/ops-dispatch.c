/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The one handler table, gathered from the rows each ops-*.c file keeps beside its handlers, and the checks
 * every op shares, driven by the op's registry row (proto_op_info). */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include "agent.h"
#include "call-wait.h"
#include "ops.h"
#include "tenant-ledger.h"

static const OpHandler *const op_tables[] = {
        ops_agent_handlers,    ops_batch_handlers,   ops_host_handlers,      ops_output_handlers,
        ops_shutdown_handlers, ops_tenants_handlers, ops_subscribe_handlers, ops_exec_handlers,
        ops_attach_handlers,   ops_metrics_handlers,
};

const OpHandler *op_handler(ProtoOp op)
{
        for (size_t t = 0; t < ELEMENTSOF(op_tables); t++)
                for (const OpHandler *h = op_tables[t]; h->op != _PROTO_OP_INVALID; h++)
                        if (h->op == op)
                                return h;
        return NULL;
}

/* Every per_agent op names its agent in the first member of its args. */
_Static_assert(offsetof(ProtoAgentArgs, agent) == 0, "agent first");
_Static_assert(offsetof(ProtoStopArgs, agent) == 0, "agent first");
_Static_assert(offsetof(ProtoSignalArgs, agent) == 0, "agent first");
_Static_assert(offsetof(ProtoStdinArgs, agent) == 0, "agent first");
_Static_assert(offsetof(ProtoOutputArgs, agent) == 0, "agent first");
_Static_assert(offsetof(ProtoActionArgs, agent) == 0, "agent first");

static const char *request_agent(const ProtoRequest *req)
{
        return *(char *const *)(const void *)&req->args;
}

int op_step_fail(OpStep *s, int error, ProtoErrorCode code, const char *fmt, ...)
{
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = failure_setv(&s->fail, error, code, fmt, ap);
        va_end(ap);
        return r;
}

int op_step_conflict(OpStep *s, Agent *a, const char *what)
{
        return op_step_fail(s, -EBUSY, PROTO_ERROR_CONFLICT, "cannot %s agent %s: it is %s", what,
                            a->info.id, proto_state_to_string(a->info.state));
}

int op_step_park(OpStep *s, Agent *a, CallWait wait, uint64_t timeout_usec)
{
        int r;

        if (s->batch)
                return 0; /* a batch never waits for its agents */
        r = call_defer(s->call, a, wait, timeout_usec);
        if (r < 0)
                return op_step_fail(s, r, PROTO_ERROR_INTERNAL, "%m");
        s->parked = true;
        return 0;
}

int op_step_reply_empty(OpStep *s)
{
        int r;

        if (s->batch)
                return 0;
        proto_reply_done(&s->reply);
        r = proto_reply_init_ok(&s->reply, s->call->request.id, s->call->request.op);
        if (r < 0)
                return op_step_fail(s, r, PROTO_ERROR_INTERNAL, "out of memory");
        s->has_reply = true;
        return 0;
}

int op_step_reply_info_now(OpStep *s, Agent *a)
{
        int r;

        if (s->batch)
                return 0;
        r = op_step_reply_empty(s);
        if (r < 0)
                return r;
        r = agent_fill_info(a, true, &s->reply.result.agent.agent);
        if (r < 0)
                return op_step_fail(s, r, PROTO_ERROR_INTERNAL, "out of memory");
        return 0;
}

Agent *op_agent_lookup(Call *c, const char *ref)
{
        Agent *a;

        if (!ref)
                return NULL;
        a = agent_find(c->manager, ref, c->uid, c->admin);
        if (a && c->request.op != PROTO_OP_BATCH)
                (void)snprintf(c->audit_agent, sizeof c->audit_agent, "%s", a->info.id);
        /* an attempt at another tenant's agent (by id or TENANT/NAME: a plain name means the caller's own):
         * the tenant is told not_found, the admins count it. (uid_t)-1 owns no agent. */
        if (!a && !c->admin && agent_find(c->manager, ref, (uid_t)-1, true))
                tenant_ledger_count(c->manager->tenant_ledger, c->uid, TENANT_DENIED_HIDDEN_AGENT);
        return a;
}

int op_step_run(OpStep *s, const OpHandler *h, Agent *a, const void *args)
{
        s->fail = (Failure){};
        return h->step(s, a, args);
}

static void run_single_step(Call *c, const OpHandler *h, const ProtoOpInfo *info)
{
        const char *ref = request_agent(&c->request);
        Agent *a = op_agent_lookup(c, ref);
        OpStep s = {.call = c};
        int r;

        if (!a) {
                /* another user's agent is as absent as one that never was */
                call_reply_error(c, PROTO_ERROR_NOT_FOUND, "no agent %s", ref ?: "(none given)");
                return;
        }
        r = op_step_run(&s, h, a, &c->request.args);
        if (r < 0) {
                proto_reply_done(&s.reply);
                if (!c->answered)
                        call_reply_failure(c, &s.fail);
                return;
        }
        if (s.parked || c->answered) {
                /* a parked step may have been answered already, and its agent freed (remove) */
                proto_reply_done(&s.reply);
                return;
        }
        if (s.has_reply)
                call_reply(c, &s.reply);
        else if (info->replies_info)
                call_reply_agent(c, a);
        else if (op_step_reply_empty(&s) >= 0)
                call_reply(c, &s.reply);
        else
                call_reply_failure(c, &s.fail);
}

int ops_dispatch(Call *c)
{
        const ProtoOpInfo *info = proto_op_info(c->request.op);
        const OpHandler *h = info ? op_handler(c->request.op) : NULL;

        if (!h)
                return call_reply_error(c, PROTO_ERROR_UNKNOWN_OP, "unknown op");
        if (info->admin_only && !c->admin)
                return call_reply_error(c, PROTO_ERROR_PERMISSION_DENIED,
                                        "%s is for root and members of the group %s", info->name,
                                        c->manager->config.admin_group ?: "(none configured)");
        if (info->per_agent && h->step)
                run_single_step(c, h, info);
        else if (h->call)
                (void)h->call(c);
        else
                call_reply_error(c, PROTO_ERROR_INTERNAL, "op %s has no handler (a daemon bug)", info->name);
        return 0;
}
