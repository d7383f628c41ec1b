/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "cleanup.h"

#include "agent.h"
#include "ops.h"
#include "output-query.h"

int op_output(Call *c)
{
        ProtoOutputArgs *args = &c->request.args.output;
        const OutputQueryBudget budget = {
                .scan_bytes = c->manager->config.output_scan_budget,
                .usec = c->manager->config.output_time_budget_usec,
        };
        Agent *a = agent_find(c->manager, args->agent ?: "", c->uid, c->admin);
        _cleanup_free_ char *error = NULL;
        _cleanup_close_ int tmp = -EBADF;
        ProtoReply reply = {};
        int dfd, r;

        if (!a)
                return call_reply_error(c, PROTO_ERROR_NOT_FOUND, "no agent %s",
                                        args->agent ?: "(none given)");
        dfd = agent_state_dir(a, &tmp);
        if (dfd < 0)
                return call_reply_error(c, PROTO_ERROR_CONFLICT, "agent %s has no output store", a->id);
        r = proto_reply_init_ok(&reply, c->request.id, c->request.op);
        if (r < 0)
                return call_reply_error(c, PROTO_ERROR_INTERNAL, "out of memory");
        r = output_query(dfd, args, a->output_dropped_bytes, &budget, &reply.result.output, &error);
        if (r < 0) {
                proto_reply_done(&reply);
                if (r == -EINVAL)
                        return call_reply_error(c, PROTO_ERROR_BAD_REQUEST, "%s", error ?: "bad arguments");
                return call_reply_error(c, PROTO_ERROR_INTERNAL, "cannot read the output of agent %s: %s",
                                        a->id, strerror(-r));
        }
        call_reply(c, &reply);
        return 0;
}
