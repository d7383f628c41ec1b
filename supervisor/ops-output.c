/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "cleanup.h"

#include "agent.h"
#include "ops.h"
#include "output-query.h"

static int step_output(OpStep *s, Agent *a, const void *v)
{
        const ProtoOutputArgs *args = v;
        Manager *m = s->call->manager;
        const OutputQueryBudget budget = {
                .scan_bytes = m->config.output_scan_budget,
                .usec = m->config.output_time_budget_usec,
        };
        _cleanup_close_ int tmp = -EBADF;
        int dfd, r;

        dfd = agent_state_dir(a, &tmp);
        if (dfd < 0)
                return op_step_fail(s, dfd, PROTO_ERROR_CONFLICT, "agent %s has no output store",
                                    a->info.id);
        r = op_step_reply_empty(s);
        if (r < 0)
                return r;
        r = output_query(dfd, args, a->output.dropped_bytes, &budget, &s->reply.result.output, &s->fail);
        if (failure_is_set(&s->fail)) /* bad arguments: output_query() says which */
                return r;
        if (r == -EINVAL)
                return op_step_fail(s, r, PROTO_ERROR_BAD_REQUEST, "bad arguments");
        if (r < 0)
                return op_step_fail(s, r, PROTO_ERROR_INTERNAL, "cannot read the output of agent %s: %m",
                                    a->info.id);
        return 0;
}

const OpHandler ops_output_handlers[] = {
        {PROTO_OP_OUTPUT, .step = step_output},
        {_PROTO_OP_INVALID},
};
