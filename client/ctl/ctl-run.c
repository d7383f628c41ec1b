/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the verbs' run functions share: reporting a failure, resolving AGENT arguments, printing results. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "ctl-exit.h"
#include "ctl-progress.h"
#include "ctl-resolve.h"
#include "ctl.h"
#include "log.h"
#include "string-util.h"

/* The client whose failures ctl_report() tells: the retry hint of a `busy` reply is read from it. */
static const DescartesClient *report_client;

int ctl_report(const DescartesError *e, const char *context_fmt, ...)
{
        uint64_t retry_after_ms =
                e->kind == DESCARTES_ERROR_DAEMON ? descartes_client_get_retry_after_ms(report_client) : 0;
        char context[512];
        va_list ap;

        va_start(ap, context_fmt);
        (void)vsnprintf(context, sizeof context, context_fmt, ap);
        va_end(ap);
        switch (e->kind) {
        case DESCARTES_ERROR_UNREACHABLE:
        case DESCARTES_ERROR_ACCESS:
        case DESCARTES_ERROR_TIMEOUT:
                log_error("%s.", e->message);
                break;
        case DESCARTES_ERROR_DAEMON:
                /* the daemon's message may say what failed already ("cannot stop agent ID: it is exited") */
                if (startswith(e->message, context))
                        log_error("%s (%s).", e->message,
                                  descartes_error_code_to_string(e->code) ?: "error");
                else
                        log_error("%s: %s (%s).", context, e->message,
                                  descartes_error_code_to_string(e->code) ?: "error");
                if (retry_after_ms > 0)
                        log_error("The daemon asks to retry after %llu ms.",
                                  (unsigned long long)retry_after_ms);
                break;
        default:
                log_error("%s: %s.", context, e->message[0] ? e->message : strerror(-e->error));
                break;
        }
        return ctl_exit_from_error(e);
}

int ctl_resolve(Ctl *c, const char *ref, char **ret_id)
{
        _cleanup_(descartes_agent_list_unrefp) DescartesAgentList *list = NULL;
        DescartesListArgs args = DESCARTES_LIST_ARGS_INIT;
        DescartesError e;
        char err[512];
        int r;

        if (ctl_ref_is_uuid(ref) || ctl_ref_is_tenant_name(ref)) {
                *ret_id = strdup(ref);
                return *ret_id ? 0 : (log_oom(), CTL_EXIT_FAILURE);
        }
        args.all = true;
        args.no_usage = true;
        r = descartes_list(c->client, &args, &list, &e);
        if (r < 0)
                return ctl_report(&e, "cannot look up agent \"%s\"", ref);
        /* the daemon knows a local caller by its effective uid (a remote one by its key's tenant) */
        r = ctl_resolve_ref(list, ref, geteuid(), err, sizeof err);
        if (r == -ENOTUNIQ) {
                log_error("%s.", err);
                return CTL_EXIT_USAGE;
        }
        if (r == -ESRCH) {
                /* The daemon resolves a name within the caller's tenant, which a remote (CURVE) caller's
                 * local uid does not tell us: let it decide, its not_found says the same. */
                *ret_id = strdup(ref);
                return *ret_id ? 0 : (log_oom(), CTL_EXIT_FAILURE);
        }
        if (r < 0) {
                log_error("%s.", err[0] ? err : "invalid agent reference");
                return CTL_EXIT_NOT_FOUND;
        }
        *ret_id = strdup(descartes_agent_get_id(descartes_agent_list_get(list, (size_t)r)));
        return *ret_id ? 0 : (log_oom(), CTL_EXIT_FAILURE);
}

int ctl_for_each_agent(Ctl *c, int (*fn)(Ctl *c, const char *id))
{
        int r, ret = 0;

        for (size_t i = 0; i < c->args->n_agents; i++) {
                _cleanup_free_ char *id = NULL;

                ctl_progress_set_position(i, c->args->n_agents);
                r = ctl_resolve(c, c->args->agents[i], &id);
                if (r == 0)
                        r = fn(c, id);
                if (r != 0 && ret == 0)
                        ret = r;
        }
        return ret;
}

int ctl_print_json(int r, char *json)
{
        if (r < 0) {
                log_error_errno(r, "Cannot render JSON: %m.");
                return CTL_EXIT_FAILURE;
        }
        fputs(json, stdout);
        fputc('\n', stdout);
        free(json);
        return 0;
}

int ctl_print_agent_result(const Ctl *c, const DescartesAgent *a)
{
        if (ctl_json_mode(c))
                return CTL_PRINT_JSON(descartes_agent_to_json, a);
        printf("%s\n", descartes_agent_get_id(a) ?: "");
        return 0;
}

int ctl_agent_op(Ctl *c, const char *id, const char *what, CtlAgentCall call)
{
        _cleanup_(descartes_agent_unrefp) DescartesAgent *a = NULL;
        DescartesError e;
        int r;

        /* a stop waits out the grace period, a batch of many adds up: say what is going on, on a terminal */
        ctl_progress_show(what, id);
        r = call(c, id, &a, &e);
        ctl_progress_clear();
        if (r < 0)
                return ctl_report(&e, "cannot %s agent %s", what, id);
        if (!descartes_agent_get_id(
                    a)) { /* a daemon that answers remove with an empty record still removed `id` */
                printf("%s\n", id);
                return 0;
        }
        return ctl_print_agent_result(c, a);
}

int ctl_run(Ctl *c)
{
        if (!c->args->verb) {
                log_error("No command given.");
                return CTL_EXIT_USAGE;
        }
        report_client = c->client;
        return c->args->verb->run(c);
}
