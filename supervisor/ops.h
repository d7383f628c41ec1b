/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Request handlers. Each ops-*.c file declares its rows (OpHandler) beside its handlers; ops-dispatch.c
 * finds the row of a request's op and does what is common to every op from its registry row
 * (proto_op_info): admin_only, the lookup of a per_agent op's agent (an unknown agent and another user's
 * answer the same not_found), and the {agent: INFO} reply of a replies_info op.
 *
 * An op that names no agent has a `call` handler: it answers its call (call_reply*) or parks it.
 * A per_agent op has a `step`: it acts on one agent, found and checked by the dispatcher. The same step
 * runs the single op and each item of a batch; inside a batch it never parks nor replies. */

#include "control.h"
#include "failure.h"

typedef struct OpStep {
        Call *call;
        bool batch;     /* an item of a batch: op_step_park() is a no-op, no reply is sent */
        bool parked;    /* the call waits on the agent: the control layer answers it */
        Failure fail;   /* why the step failed (it returned fail.error) */
        bool has_reply; /* the step built the reply itself (remove, output, stdin) */
        ProtoReply reply;
} OpStep;

typedef int (*OpCallFn)(Call *c);
/* Returns 0 when the op is done or started, or a negative errno with s->fail set (op_step_fail). `args`
 * points at the op's args struct (ProtoStopArgs, ...): the request's, or the batch's. */
typedef int (*OpStepFn)(OpStep *s, Agent *a, const void *args);

typedef struct OpHandler {
        ProtoOp op;
        OpCallFn call; /* ops that name no agent */
        OpStepFn step; /* per_agent ops */
} OpHandler;

/* The rows of each file, each table ended by a row with op _PROTO_OP_INVALID. */
extern const OpHandler ops_agent_handlers[];
extern const OpHandler ops_batch_handlers[];
extern const OpHandler ops_host_handlers[];
extern const OpHandler ops_output_handlers[];
extern const OpHandler ops_shutdown_handlers[];
extern const OpHandler ops_tenants_handlers[];
extern const OpHandler ops_subscribe_handlers[];
extern const OpHandler ops_exec_handlers[];

/* Whether a's shim is connected and speaks EXEC: 0, or -errno with `conflict` in *ret saying why a's
 * shim cannot `what`. */
int op_exec_check_shim(Agent *a, const char *what, Failure *ret);
extern const OpHandler ops_attach_handlers[];
extern const OpHandler ops_metrics_handlers[];

/* The tenants the caller may see (ops-tenants.c), sorted: itself, and for an admin every agent's owner. */
int ops_tenants_visible(Manager *m, uid_t uid, bool admin, uid_t **ret, size_t *ret_n);
/* A tenant's row: its user, agents alive, usage and quota. */
int ops_tenant_fill(Manager *m, uid_t uid, ProtoTenant *ret);
/* The metrics text uid may see (ops-metrics.c): what the `metrics` op answers, and the textfile (admin). */
int ops_metrics_text(Manager *m, uid_t uid, bool admin, char **ret);

int ops_dispatch(Call *c);
/* The row of op, or NULL when no file handles it. */
const OpHandler *op_handler(ProtoOp op);

/* The agent ref names for the caller: NULL for an unknown agent and for another user's alike. */
Agent *op_agent_lookup(Call *c, const char *ref);
/* Every label of want is in have with the same value. */
bool op_labels_match(const ProtoStrMap *want, const ProtoStrMap *have);

/* Runs a per_agent op's step on a, in a batch (s->batch) or for the call itself. */
int op_step_run(OpStep *s, const OpHandler *h, Agent *a, const void *args);

/* Records why the step failed; returns error (negative), or -EPROTO when error is 0. */
int op_step_fail(OpStep *s, int error, ProtoErrorCode code, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
/* `conflict`: "cannot WHAT agent ID: it is STATE". */
int op_step_conflict(OpStep *s, Agent *a, const char *what);
/* Parks the call on a until the agent notifies `wait` or the timeout; a no-op inside a batch. */
int op_step_park(OpStep *s, Agent *a, CallWait wait, uint64_t timeout_usec);
/* The reply will be ok with an empty result, or with a's INFO as it is now (for remove, which frees a).
 * No-ops inside a batch. */
int op_step_reply_empty(OpStep *s);
int op_step_reply_info_now(OpStep *s, Agent *a);
