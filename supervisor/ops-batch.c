/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* batch: the step of a per_agent op, run on each agent named or selected. */
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "analyzer.h"
#include "ops.h"
#include "string-util.h"

static bool selector_match(const ProtoSelector *s, Agent *a)
{
        if (s->has_state ? a->info.state != s->state : false)
                return false;
        if (!op_labels_match(&s->labels, &a->info.labels))
                return false;
        if (s->name_glob && (!a->info.name || fnmatch(s->name_glob, a->info.name, 0) != 0))
                return false;
        return true;
}

static int batch_add(ProtoBatchResult *res, const char *agent, const Failure *f)
{
        ProtoBatchItem *it = &res->results[res->n_results];
        bool ok = !failure_is_set(f);

        /* analyzer false positive: the reply's item owns the copy (stored through a parameter, lost by the
         * analyzer) */
        ANALYZER_IGNORE_LEAK_BEGIN
        it->agent = strdup(agent);
        if (!it->agent)
                return -ENOMEM;
        ANALYZER_IGNORE_END
        it->ok = ok;
        if (!ok) {
                it->error_code = f->code;
                /* analyzer false positive: the reply's item owns the copy (stored through a parameter, lost
                 * by the analyzer) */
                ANALYZER_IGNORE_LEAK_BEGIN
                it->error_msg = strdup(f->msg);
                if (!it->error_msg) {
                        free(it->agent);
                        it->agent = NULL;
                        return -ENOMEM;
                }
                ANALYZER_IGNORE_END
                res->failed_count++;
        } else
                res->ok_count++;
        res->n_results++;
        return 0;
}

static int op_batch(Call *c)
{
        Manager *m = c->manager;
        ProtoBatchArgs *b = &c->request.args.batch;
        const OpHandler *h = proto_op_batchable(b->op) ? op_handler(b->op) : NULL;
        _cleanup_free_ Agent **targets = NULL;
        _cleanup_free_ const char **refs = NULL;
        ProtoReply reply = {};
        size_t n = 0, cap = b->agents ? b->n_agents : m->n_agents;
        int r;

        if (!h || !h->step)
                return call_reply_error(c, PROTO_ERROR_BAD_REQUEST, "op %s cannot be batched",
                                        proto_op_to_string(b->op) ?: "?");
        cap = MIN(MAX(cap, (size_t)1), (size_t)PROTO_BATCH_AGENTS_MAX);
        targets = calloc(cap, sizeof *targets);
        refs = calloc(cap, sizeof *refs);
        if (!targets || !refs)
                return call_reply_error(c, PROTO_ERROR_INTERNAL, "out of memory");
        if (b->agents) {
                for (size_t i = 0; i < b->n_agents && n < cap; i++) {
                        Agent *a = op_agent_lookup(c, b->agents[i]);
                        bool dup = false;
                        /* an agent named twice is acted on once (remove frees it) */
                        for (size_t j = 0; a && j < n && !dup; j++)
                                dup = targets[j] == a;
                        if (dup)
                                continue;
                        refs[n] = b->agents[i];
                        targets[n++] = a;
                }
        } else
                for (Agent *a = m->agents; a && n < cap; a = a->next) {
                        if ((!c->admin && a->info.owner_uid != c->uid) || !selector_match(&b->selector, a))
                                continue;
                        refs[n] = a->info.id;
                        targets[n++] = a;
                }

        r = proto_reply_init_ok(&reply, c->request.id, c->request.op);
        if (r < 0)
                return call_reply_error(c, PROTO_ERROR_INTERNAL, "out of memory");
        reply.result.batch.results = calloc(MAX(n, (size_t)1), sizeof(ProtoBatchItem));
        if (!reply.result.batch.results) {
                proto_reply_done(&reply);
                return call_reply_error(c, PROTO_ERROR_INTERNAL, "out of memory");
        }
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *id = NULL;
                OpStep s = {.call = c, .batch = true};

                if (!targets[i]) {
                        (void)failure_set(&s.fail, -ENOENT, PROTO_ERROR_NOT_FOUND, "no agent %s", refs[i]);
                        id = strdup(refs[i]);
                } else {
                        id = strdup(targets[i]->info.id); /* remove frees the agent */
                        (void)op_step_run(&s, h, targets[i], &b->args);
                }
                if (!id || batch_add(&reply.result.batch, id, &s.fail) < 0) {
                        proto_reply_done(&reply);
                        return call_reply_error(c, PROTO_ERROR_INTERNAL, "out of memory");
                }
                if (failure_is_set(&s.fail) && b->fail_fast)
                        break;
        }
        call_reply(c, &reply);
        return 0;
}

const OpHandler ops_batch_handlers[] = {
        {PROTO_OP_BATCH, .call = op_batch},
        {_PROTO_OP_INVALID},
};
