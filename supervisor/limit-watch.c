/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <systemd/sd-event.h>

#include "agent-cgroup.h"
#include "agent.h"
#include "events.h"
#include "limit-watch.h"
#include "log.h"
#include "string-util.h"
#include "time-util.h"

#define LIMIT_HIT_INTERVAL_USEC USEC_PER_SEC

typedef enum LimitKind {
        LIMIT_MEMORY_HIGH,
        LIMIT_MEMORY_MAX,
        LIMIT_PIDS_MAX,
        _LIMIT_MAX,
} LimitKind;

static const struct {
        const char *name; /* in limit_hit */
        const char *file;
        const char *key;
} limit_table[_LIMIT_MAX] = {
        [LIMIT_MEMORY_HIGH] = {"memory.high", "memory.events", "high"},
        [LIMIT_MEMORY_MAX] = {"memory.max", "memory.events", "max"},
        [LIMIT_PIDS_MAX] = {"pids.max", "pids.events", "max"},
};

struct LimitWatch {
        Agent *agent;
        sd_event_source *memory_source;
        sd_event_source *pids_source;
        sd_event_source *payload_pids_source;
        bool present[_LIMIT_MAX];
        uint64_t at_start[_LIMIT_MAX];
        uint64_t seen[_LIMIT_MAX];      /* last read */
        uint64_t published[_LIMIT_MAX]; /* last count published */
        uint64_t last_publish_usec[_LIMIT_MAX];
};

static void publish(LimitWatch *w, LimitKind k, uint64_t count)
{
        ProtoValue data = {};
        const char *name = limit_table[k].name;
        ProtoEventData d = {.limit_hit = {.limit = (char *)name, .count = count}};

        if (proto_event_data_encode(PROTO_EVENT_LIMIT_HIT, &d, &data) >= 0) {
                log_debug("Agent %s reached %s (%" PRIu64 " times).", w->agent->info.id, name, count);
                events_publish(w->agent->manager, PROTO_EVENT_LIMIT_HIT, w->agent->info.id, NULL, NULL,
                               &data);
        }
        proto_value_done(&data);
}

static int read_limit(LimitWatch *w, LimitKind k, uint64_t *ret)
{
        Agent *a = w->agent;

        if (k == LIMIT_PIDS_MAX)
                return a->cg ? cgroup_agent_read_pids_refused(a->cg, ret) : -ENOENT;
        return cgroup_read_keyed(a->cgroup_fd, limit_table[k].file, limit_table[k].key, ret);
}

void limit_watch_check(LimitWatch *w)
{
        uint64_t now;

        if (!w || w->agent->cgroup_fd < 0)
                return;
        now = now_usec(CLOCK_MONOTONIC);
        for (LimitKind k = 0; k < _LIMIT_MAX; k++) {
                uint64_t v, count;

                if (!w->present[k] || read_limit(w, k, &v) < 0)
                        continue;
                w->seen[k] = v;
                count = v >= w->at_start[k] ? v - w->at_start[k] : 0;
                if (count == w->published[k] || now < w->last_publish_usec[k] + LIMIT_HIT_INTERVAL_USEC)
                        continue;
                w->published[k] = count;
                w->last_publish_usec[k] = now;
                publish(w, k, count);
        }
}

bool limit_watch_pids_hit(const LimitWatch *w)
{
        return w && w->present[LIMIT_PIDS_MAX] && w->seen[LIMIT_PIDS_MAX] > w->at_start[LIMIT_PIDS_MAX];
}

static int on_events(sd_event_source *s, const struct inotify_event *ev, void *userdata)
{
        limit_watch_check(userdata);
        return 0;
}

static int watch_file(LimitWatch *w, const char *file, sd_event_source **ret)
{
        _cleanup_free_ char *path = NULL;
        int r;

        if (asprintf_safe(&path, "%s/%s", w->agent->info.cgroup, file) < 0)
                return -ENOMEM;
        r = sd_event_add_inotify(w->agent->manager->event, ret, path, IN_MODIFY, on_events, w);
        if (r < 0)
                return r;
        (void)sd_event_source_set_description(*ret, file);
        return 0;
}

int limit_watch_start(Agent *a, LimitWatch **ret)
{
        _cleanup_free_ LimitWatch *w = NULL;
        int r;

        w = calloc(1, sizeof *w);
        if (!w)
                return -ENOMEM;
        w->agent = a;
        for (LimitKind k = 0; k < _LIMIT_MAX; k++) {
                r = read_limit(w, k, &w->at_start[k]);
                w->present[k] = r >= 0;
                w->seen[k] = w->at_start[k];
        }
        if (w->present[LIMIT_MEMORY_HIGH] || w->present[LIMIT_MEMORY_MAX]) {
                r = watch_file(w, "memory.events", &w->memory_source);
                if (r < 0)
                        return r;
        }
        if (w->present[LIMIT_PIDS_MAX]) {
                /* where the kernel notifies refused forks: see cgroup_agent_read_pids_refused() */
                r = watch_file(w, "pids.events", &w->pids_source);
                if (r >= 0)
                        r = watch_file(w, "payload/pids.events", &w->payload_pids_source);
                if (r < 0) {
                        w->memory_source = sd_event_source_disable_unref(w->memory_source);
                        w->pids_source = sd_event_source_disable_unref(w->pids_source);
                        return r;
                }
        }
        *ret = TAKE_PTR(w);
        return 0;
}

LimitWatch *limit_watch_free(LimitWatch *w)
{
        if (!w)
                return NULL;
        sd_event_source_disable_unref(w->memory_source);
        sd_event_source_disable_unref(w->pids_source);
        sd_event_source_disable_unref(w->payload_pids_source);
        free(w);
        return NULL;
}
