/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdlib.h>

#include "cleanup.h"
#include "ctl-output.h"
#include "ctl.h"
#include "log.h"
#include "string-util.h"

static int arguments(CtlArgs *a, char **args, size_t n_args, CtlParse *p)
{
        if (n_args > 1)
                return ctl_fail(p, -EINVAL, "events takes at most one agent");
        return ctl_set_agents(a, args, n_args, p);
}

static int option_follow(CtlArgs *a, const char *arg, CtlParse *p)
{
        a->follow = true;
        return 0;
}

static const CtlOption options[] = {
        {"follow", 'f', false, option_follow},
        {},
};

static int print_event(const Ctl *c, const DescartesEvent *ev)
{
        if (ctl_json_mode(c))
                return CTL_PRINT_JSON(descartes_event_to_json, ev);
        ctl_print_event(stdout, ev);
        return 0;
}

/* Replays [from, to] with the events op: a gap in the live stream, or from 0 (the oldest held) all the
 * daemon holds. Only agent's events when agent is not NULL. */
static int replay(Ctl *c, const char *agent, uint64_t from, uint64_t to)
{
        while (from <= to) {
                _cleanup_(descartes_events_unrefp) DescartesEvents *res = NULL;
                DescartesError e;
                uint64_t oldest, next;
                size_t n;
                int r;

                uint64_t want = to - from >= (uint64_t)DESCARTES_EVENTS_MAX ? (uint64_t)DESCARTES_EVENTS_MAX
                                                                            : to - from + 1;

                if (descartes_events(c->client, from, want, &res, &e) < 0)
                        return from == 0 ? ctl_report(&e, "cannot read events")
                                         : ctl_report(&e, "cannot replay missed events %llu..%llu",
                                                      (unsigned long long)from, (unsigned long long)to);
                oldest = descartes_events_get_oldest_seq(res);
                if (from > 0 && oldest > from)
                        log_warning("Events %llu..%llu are no longer held by descartesd and were lost.",
                                    (unsigned long long)from, (unsigned long long)MIN(oldest - 1, to));
                n = descartes_events_get_size(res);
                for (size_t i = 0; i < n; i++) {
                        const DescartesEvent *ev = descartes_events_get(res, i);
                        uint64_t seq = descartes_event_get_seq(ev);

                        if (agent && !streq_ptr(descartes_event_get_agent(ev), agent))
                                continue;
                        if (seq >= from && seq <= to) {
                                r = print_event(c, ev);
                                if (r != 0)
                                        return r;
                        }
                }
                next = descartes_events_get_next_seq(res);
                if (n == 0 || next <= from)
                        break;
                from = next;
        }
        return 0;
}

static int follow(Ctl *c, const char *id)
{
        _cleanup_(descartes_subscription_freep) DescartesSubscription *sub = NULL;
        _cleanup_(descartes_event_unrefp) DescartesEvent *ev = NULL;
        DescartesError e;
        int r = 0;

        if (descartes_subscribe(c->client, id, &sub, &e) < 0)
                return ctl_report(&e, "cannot subscribe to events");
        for (;;) {
                uint64_t from, to;
                int p;

                ev = descartes_event_unref(ev);
                r = descartes_subscription_next(sub, UINT64_MAX, &ev, &e);
                if (r < 0)
                        return ctl_report(&e, "cannot receive events");
                if (r == 0)
                        continue;
                r = 0;
                if (descartes_subscription_get_gap(sub, &from, &to) > 0)
                        r = replay(c, id, from, to);
                p = print_event(c, ev);
                if (r == 0)
                        r = p;
                (void)fflush(stdout);
                if (r != 0 || ferror(stdout))
                        return r;
        }
}

static int run(Ctl *c)
{
        _cleanup_free_ char *id = NULL;
        int r;

        if (c->args->n_agents > 0) {
                r = ctl_resolve(c, c->args->agents[0], &id);
                if (r != 0)
                        return r;
        }
        if (c->args->follow)
                return follow(c, id);
        r = replay(c, id, 0, UINT64_MAX);
        (void)fflush(stdout);
        return r;
}

const CtlVerb ctl_verbs_events[] = {
        {
                .name = "events",
                .rank = 120,
                .summary =
                        "  events [-f] [AGENT]         print the events the daemon holds, or follow them\n",
                .help = "Usage: descartesctl events [-f] [AGENT]\n"
                        "\n"
                        "Print the events the daemon holds (those you may see), one line each (with -o "
                        "json\n"
                        "one object per line), for every agent or only AGENT's.\n"
                        "\n"
                        "  -f, --follow    then keep printing events as they happen; missed events are\n"
                        "                  replayed from the daemon, and a daemon restart is ridden out\n"
                        "                  (no event missed, none twice)\n",
                .options = options,
                .arguments = arguments,
                .run = run,
        },
        {},
};
