/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The op registry: one row per protocol op. Everything that differs between ops and is not the shape of
 * their arguments or results is a column here; nothing else in the tree keeps a list of ops. */
#include <stddef.h>

#include "proto.h"
#include "string-util.h"

static const ProtoOpInfo proto_ops[_PROTO_OP_MAX] = {
        [PROTO_OP_HEALTH] = {.name = "health"},
        [PROTO_OP_LIST] = {.name = "list"},
        [PROTO_OP_GET] = {.name = "get", .per_agent = true, .batchable = true, .replies_info = true},
        [PROTO_OP_SPAWN] = {.name = "spawn",
                            .replies_info = true,
                            .parks = true,
                            .timeout = PROTO_TIMEOUT_LONG},
        [PROTO_OP_PAUSE] =
                {.name = "pause", .per_agent = true, .batchable = true, .replies_info = true, .parks = true},
        [PROTO_OP_RESUME] = {.name = "resume",
                             .per_agent = true,
                             .batchable = true,
                             .replies_info = true,
                             .parks = true},
        [PROTO_OP_STOP] = {.name = "stop",
                           .per_agent = true,
                           .batchable = true,
                           .replies_info = true,
                           .parks = true,
                           .timeout = PROTO_TIMEOUT_LONG},
        [PROTO_OP_KILL] = {.name = "kill",
                           .per_agent = true,
                           .batchable = true,
                           .replies_info = true,
                           .parks = true,
                           .timeout = PROTO_TIMEOUT_LONG},
        [PROTO_OP_SIGNAL] = {.name = "signal", .per_agent = true, .batchable = true, .replies_info = true},
        [PROTO_OP_STDIN] = {.name = "stdin", .per_agent = true, .parks = true},
        [PROTO_OP_OUTPUT] = {.name = "output", .per_agent = true},
        [PROTO_OP_ACTION] = {.name = "action",
                             .per_agent = true,
                             .batchable = true,
                             .timeout = PROTO_TIMEOUT_LONG},
        [PROTO_OP_BATCH] = {.name = "batch", .timeout = PROTO_TIMEOUT_LONG},
        [PROTO_OP_EVENTS] = {.name = "events"},
        [PROTO_OP_REMOVE] = {.name = "remove",
                             .per_agent = true,
                             .batchable = true,
                             .replies_info = true,
                             .parks = true,
                             .timeout = PROTO_TIMEOUT_LONG},
        [PROTO_OP_STATS] = {.name = "stats"},
        [PROTO_OP_SHUTDOWN] = {.name = "shutdown", .admin_only = true},
};

const ProtoOpInfo *proto_op_info(ProtoOp op)
{
        if ((int)op < 0 || op >= _PROTO_OP_MAX)
                return NULL;
        return &proto_ops[op];
}

const char *proto_op_to_string(ProtoOp op)
{
        const ProtoOpInfo *i = proto_op_info(op);
        return i ? i->name : NULL;
}

ProtoOp proto_op_from_string(const char *s)
{
        if (!s)
                return _PROTO_OP_INVALID;
        for (ProtoOp op = 0; op < _PROTO_OP_MAX; op++)
                if (streq(proto_ops[op].name, s))
                        return op;
        return _PROTO_OP_INVALID;
}

bool proto_op_batchable(ProtoOp op)
{
        const ProtoOpInfo *i = proto_op_info(op);
        return i && i->batchable;
}
