/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>
#include <systemd/sd-journal.h>

#include "audit-log.h"
#include "log.h"

bool audit_wants(const Call *c)
{
        const ProtoOpInfo *info = proto_op_info(c->request.op);

        if (info && c->request.op == PROTO_OP_BATCH)
                info = proto_op_info(c->request.args.batch.op);
        /* an attach that starts a command is an exec */
        if (c->request.op == PROTO_OP_ATTACH && c->request.args.attach.n_exec_argv > 0)
                return true;
        return info && info->changes_state;
}

/* The agent named by a per-agent op's args (the first member: ops-dispatch.c checks it), or NULL. */
static const char *request_ref(const Call *c)
{
        const ProtoOpInfo *info = proto_op_info(c->request.op);

        if (c->request.op == PROTO_OP_ATTACH)
                return c->request.args.attach.agent;
        return info && info->per_agent ? *(char *const *)(const void *)&c->request.args : NULL;
}

void audit_log_reply(const Call *c, const ProtoReply *reply)
{
        const char *op = proto_op_to_string(c->request.op) ?: "?";
        const char *batch_op =
                c->request.op == PROTO_OP_BATCH ? proto_op_to_string(c->request.args.batch.op) ?: "?" : NULL;
        const char *result = reply->ok ? "ok" : proto_error_code_to_string(reply->error_code) ?: "internal";
        const char *ref = request_ref(c);
        const char *id = c->audit_agent[0] ? c->audit_agent : c->created_agent[0] ? c->created_agent : NULL;
        const char *agent = id ?: ref ?: "-";

        if (LOG_NOTICE > log_get_max_level())
                return;
        if (!log_get_journal_prefix()) {
                log_notice("Audit: tenant=%u op=%s%s%s agent=%s request=%s result=%s", (unsigned)c->uid, op,
                           batch_op ? ":" : "", batch_op ?: "", agent, c->request.id, result);
                return;
        }
        /* a field that does not apply (BATCH_OP=, AGENT_ID=, AGENT=) is sent empty */
        (void)sd_journal_send("MESSAGE=Audit: uid %u %s%s%s %s: %s", (unsigned)c->uid, op,
                              batch_op ? " " : "", batch_op ?: "", agent, result, "PRIORITY=%d", LOG_NOTICE,
                              "TENANT=%u", (unsigned)c->uid, "OP=%s", op, "BATCH_OP=%s", batch_op ?: "",
                              "AGENT_ID=%s", id ?: "", "AGENT=%s", ref ?: "", "REQUEST_ID=%s", c->request.id,
                              "RESULT=%s", result, NULL);
}
