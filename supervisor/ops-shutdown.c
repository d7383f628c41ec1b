/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <zmq.h>

#include "log.h"
#include "manager.h"
#include "ops.h"

/* The reply must leave before the context is torn down: keep it queued this long at most. */
#define SHUTDOWN_REPLY_LINGER_MS 2000

static int op_shutdown(Call *c)
{
        Manager *m = c->manager;
        bool stop_agents = c->request.args.shutdown.stop_agents || m->config.stop_agents_on_exit;
        int linger = SHUTDOWN_REPLY_LINGER_MS;
        ProtoReply reply = {};
        int r;

        r = proto_reply_init_ok(&reply, c->request.id, c->request.op);
        if (r < 0)
                return call_reply_error(c, PROTO_ERROR_INTERNAL, "out of memory");
        log_info("Shutdown requested by uid %u%s.", (unsigned)c->uid,
                 stop_agents ? ", stopping the agents" : "");
        if (m->control)
                (void)zmq_setsockopt(m->control, ZMQ_LINGER, &linger, sizeof linger);
        call_reply(c, &reply);
        if (!m->stopping)
                manager_begin_shutdown(m, stop_agents);
        return 0;
}

/* admin_only in the registry: the dispatcher refuses everyone else */
const OpHandler ops_shutdown_handlers[] = {
        {PROTO_OP_SHUTDOWN, .call = op_shutdown},
        {_PROTO_OP_INVALID},
};
