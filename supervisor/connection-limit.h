/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Caps the connections accepted on the daemon's endpoints, per peer uid and in total.
 *
 * libzmq 4.3.4 aborts the whole process when accept() on an ipc listener fails with EMFILE
 * (ipc_listener.cpp: errno_assert), so a user who opens idle connections until the descriptor table is
 * full kills the daemon. libzmq accepts on its I/O thread and gives us no say before it does; what it gives
 * is a socket monitor: every accepted connection is reported (ZMQ_EVENT_ACCEPTED, with its fd) and so is
 * its end (ZMQ_EVENT_DISCONNECTED). We read the peer's uid from the fd (SO_PEERCRED), count, and
 * shutdown(2) a connection that takes its uid past max_connections_per_user (root is exempt) or everyone
 * past max_connections. libzmq then reads EOF, drops the pipe and closes the fd.
 *
 * A tcp connection (the `listen` endpoints) has no peer credentials: it counts as one anonymous user until
 * its first request names its tenant (connection_limit_note_caller()).
 *
 * The caps are checked after libzmq accepted, so the descriptor table needs room for what it accepts
 * before we look: see connection-limit.c, "Headroom". */

#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <zmq.h>

typedef struct Manager Manager;
typedef struct ConnectionLimit ConnectionLimit;

/* Per agent the daemon holds two descriptors (the shim's pidfd and socket: cgroups and the state dir are
 * opened when needed), and a few dozen of its own (event loop, ZeroMQ context, state files). */
#define CONNECTION_FDS_PER_AGENT 2
#define CONNECTION_FDS_DAEMON    64
/* Connections libzmq holds that the count cannot see yet (connection-limit.c, "Headroom"). */
#define CONNECTION_FDS_HEADROOM 1536

/* Raises the soft RLIMIT_NOFILE to the hard one; returns the soft limit now in effect, and in *ret_start
 * the limits the daemon was started with (what its children get back). */
int connection_limit_raise_nofile(uint64_t *ret, struct rlimit *ret_start);

/* The total cap derived from the descriptor limit when max_connections is 0 (see "Headroom"). */
uint64_t connection_limit_derive_total(uint64_t nofile, uint64_t max_agents);

int connection_limit_new(Manager *m, uint64_t nofile, ConnectionLimit **ret);
ConnectionLimit *connection_limit_free(ConnectionLimit *l);
static inline void connection_limit_freep(ConnectionLimit **l)
{
        if (*l)
                connection_limit_free(*l);
}

/* Counts the connections zsock accepts. Call before zmq_bind(), so that none is missed. */
int connection_limit_watch(ConnectionLimit *l, void *zmq_ctx, void *zsock, const char *name);

/* A request arrived on msg from uid: a tcp connection (whose owner the monitor cannot know) counts as uid's
 * from its first request on, and is shut down if that takes uid past its cap. */
void connection_limit_note_caller(ConnectionLimit *l, zmq_msg_t *msg, uid_t uid);

/* The total cap in effect: max_connections, or the one derived from the descriptor limit. */
uint64_t connection_limit_total_max(ConnectionLimit *l);
