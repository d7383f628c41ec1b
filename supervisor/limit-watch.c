/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "agent-log.h"
#include "agent.h"
#include "cgroup-backend.h"
#include "events.h"
#include "limit-watch.h"
#include "log.h"
#include "time-util.h"

#define LIMIT_HIT_INTERVAL_USEC USEC_PER_SEC

struct LimitWatch {
        Agent *agent;
        bool present[_CGROUP_COUNTER_MAX];
        uint64_t at_start[_CGROUP_COUNTER_MAX];
        uint64_t seen[_CGROUP_COUNTER_MAX];      /* last read */
        uint64_t published[_CGROUP_COUNTER_MAX]; /* last count published */
        uint64_t last_publish_usec[_CGROUP_COUNTER_MAX];
};

static void publish(LimitWatch *w, CgroupCounter k, uint64_t count)
{
        ProtoValue data = {};
        const char *name = cgroup_counter_limit_to_string(k);
        ProtoEventData d = {.limit_hit = {.limit = (char *)name, .count = count}};

        if (proto_event_data_encode(PROTO_EVENT_LIMIT_HIT, &d, &data) >= 0) {
                log_agent_debug(w->agent, "Reached %s (%" PRIu64 " times).", name, count);
                events_publish(w->agent->manager, PROTO_EVENT_LIMIT_HIT, w->agent, NULL, NULL, &data);
        }
        proto_value_done(&data);
}

static int read_counters(LimitWatch *w, CgroupCounters *ret)
{
        return w->agent->kernel.cg ? cgroup_handle_read_counters(w->agent->kernel.cg, ret) : -ENOENT;
}

void limit_watch_check(LimitWatch *w)
{
        CgroupCounters c;
        uint64_t now;

        if (!w || read_counters(w, &c) < 0)
                return;
        now = now_usec(CLOCK_MONOTONIC);
        for (CgroupCounter k = 0; k < _CGROUP_COUNTER_MAX; k++) {
                uint64_t count;

                if (!w->present[k] || !c.present[k])
                        continue;
                w->seen[k] = c.value[k];
                count = c.value[k] >= w->at_start[k] ? c.value[k] - w->at_start[k] : 0;
                if (count == w->published[k] || now < w->last_publish_usec[k] + LIMIT_HIT_INTERVAL_USEC)
                        continue;
                w->published[k] = count;
                w->last_publish_usec[k] = now;
                publish(w, k, count);
        }
}

bool limit_watch_count(const LimitWatch *w, CgroupCounter k, uint64_t *ret)
{
        if (!w || k < 0 || k >= _CGROUP_COUNTER_MAX || !w->present[k])
                return false;
        *ret = w->seen[k] >= w->at_start[k] ? w->seen[k] - w->at_start[k] : 0;
        return true;
}

bool limit_watch_pids_hit(const LimitWatch *w)
{
        return w && w->present[CGROUP_COUNTER_PIDS_MAX] &&
               w->seen[CGROUP_COUNTER_PIDS_MAX] > w->at_start[CGROUP_COUNTER_PIDS_MAX];
}

int limit_watch_start(Agent *a, LimitWatch **ret)
{
        _cleanup_free_ LimitWatch *w = NULL;
        CgroupCounters c = {};

        w = calloc(1, sizeof *w);
        if (!w)
                return -ENOMEM;
        w->agent = a;
        (void)read_counters(w, &c);
        for (CgroupCounter k = 0; k < _CGROUP_COUNTER_MAX; k++) {
                /* only the limits: OOM kills are the exit reason's business */
                w->present[k] = c.present[k] && cgroup_counter_limit_to_string(k);
                w->at_start[k] = w->seen[k] = c.value[k];
        }
        *ret = TAKE_PTR(w);
        return 0;
}

LimitWatch *limit_watch_free(LimitWatch *w)
{
        free(w);
        return NULL;
}
