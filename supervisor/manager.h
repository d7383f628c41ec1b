/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The Manager owns everything the daemon has: the sd-event loop and every source on it, the ZeroMQ context
 * and sockets, the configuration, the cgroup root and the agent table. One per process. */

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "config.h"
#include "zmq-source.h"

typedef struct Manager Manager;

struct Manager {
        sd_event *event;
        Config config;
        char *shim_path;
        int lock_fd;
        uint64_t started_usec; /* CLOCK_MONOTONIC */

        void *zmq_ctx;
        void *control;   /* ROUTER */
        void *publisher; /* PUB */
        void *zap;       /* REP at inproc://zeromq.zap.01 */
        ZmqSource *control_source;
        ZmqSource *publisher_source;
        ZmqSource *zap_source;

        sd_event_source *sighup;
        sd_event_source *heartbeat;

        /* filled in by the agent, control and event modules */
        void *agents;
        void *cgroup_root;
        void *request_cache;
        void *event_log;
};

int manager_new(Config *config, const char *shim_path, Manager **ret);
Manager *manager_free(Manager *m);
static inline void manager_freep(Manager **m)
{
        if (*m)
                manager_free(*m);
}
int manager_run(Manager *m);

/* In descartesd.c: defaults, the config file, then the command line. */
int descartesd_load_config(Config *ret, char **ret_error);
