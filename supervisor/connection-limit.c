/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <zmq.h>

#include "cleanup.h"
#include "connection-limit.h"
#include "log.h"
#include "manager.h"
#include "time-util.h"
#include "zmq-source.h"

/* Headroom. Every accepted connection holds one descriptor of ours (libzmq needs no other per connection).
 * The listen backlog (ZMQ_BACKLOG, 100 by default) holds connections the kernel completed and libzmq has
 * not accepted yet: they cost us no descriptor, so it bounds nothing here. What must fit besides the cap:
 *   - connections libzmq accepted that our handler has not seen. libzmq's I/O thread sends each
 *     ZMQ_EVENT_ACCEPTED to the monitor with a blocking send, right after accept(): once the monitor's
 *     inproc pipe is full (libzmq's PAIR has SNDHWM 1000, ours RCVHWM 1: 1001 events) the I/O thread, and so
 *     every accept, waits for us. At most MONITOR_LAG_MAX connections are unseen, whatever the scheduler
 * does.
 *   - connections we shut down that libzmq has not closed yet: its poll loop accepts one connection per
 *     turn and handles every hang-up that turn reported (up to 256), so few more than CUT_INFLIGHT_MAX.
 * They are counted until libzmq reports them closed, so these are the only descriptors outside the count:
 *   reserve  = CONNECTION_FDS_DAEMON + max_agents * CONNECTION_FDS_PER_AGENT  (the daemon's and agents')
 *   cap      = nofile - reserve - MONITOR_LAG_MAX - CUT_INFLIGHT_MAX
 * With the unit's LimitNOFILE=65536 and max_agents = 4096: reserve 8256, cap 55744. A limit too low for
 * max_agents keeps the headroom and gives the connections what is left after the daemon's own files (at
 * least CONNECTIONS_MIN), with a warning. */
#define MONITOR_LAG_MAX  1024
#define CUT_INFLIGHT_MAX 512
#define HEADROOM         (MONITOR_LAG_MAX + CUT_INFLIGHT_MAX)
_Static_assert(HEADROOM == CONNECTION_FDS_HEADROOM, "the header's figure is this one");
#define CONNECTIONS_MIN     16
#define MONITOR_EVENTS      (ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_DISCONNECTED | ZMQ_EVENT_CLOSED)
#define SWEEP_INTERVAL_USEC USEC_PER_SEC

/* A tcp connection's owner is known only from its first request (the ZAP handler maps its key to a uid, and
 * no descriptor comes with a ZAP request): until then it counts as this anonymous uid, capped as one user.
 */
#define UID_ANONYMOUS ((uid_t)-1)

typedef struct Slot {
        bool used;
        bool cut;       /* shut down by us, waiting for libzmq to close it */
        bool anonymous; /* tcp, no request seen yet */
        uid_t uid;
        dev_t dev;
        ino_t ino; /* tells our connection from a later owner of the same fd number */
} Slot;

typedef struct Watched {
        ConnectionLimit *limit;
        char *name;
        void *pair;      /* our end of the monitor */
        void *monitored; /* the socket watched */
        ZmqSource *source;
        Slot *slots; /* by fd */
        size_t n_slots;
} Watched;

typedef struct UidCount {
        uid_t uid;
        uint64_t n;
        bool warned;
} UidCount;

struct ConnectionLimit {
        Manager *manager;
        uint64_t nofile;
        uint64_t derived_total;
        Watched *watched[2];
        size_t n_watched;
        UidCount *uids;
        size_t n_uids;
        uint64_t total;
        uint64_t last_sweep_usec;
        bool warned_total;
};

int connection_limit_raise_nofile(uint64_t *ret, struct rlimit *ret_start)
{
        struct rlimit rl;

        if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
                return -errno;
        *ret_start = rl;
        if (rl.rlim_cur != rl.rlim_max) {
                struct rlimit raised = {rl.rlim_max, rl.rlim_max};

                if (setrlimit(RLIMIT_NOFILE, &raised) >= 0)
                        rl = raised;
        }
        *ret = rl.rlim_cur == RLIM_INFINITY ? UINT64_MAX : (uint64_t)rl.rlim_cur;
        return 0;
}

uint64_t connection_limit_derive_total(uint64_t nofile, uint64_t max_agents)
{
        uint64_t reserve = CONNECTION_FDS_DAEMON + HEADROOM;

        if (max_agents <= (UINT64_MAX - reserve) / CONNECTION_FDS_PER_AGENT &&
            nofile >= reserve + max_agents * CONNECTION_FDS_PER_AGENT + CONNECTIONS_MIN)
                return nofile - reserve - max_agents * CONNECTION_FDS_PER_AGENT;
        /* too low for max_agents: agents will run out of descriptors first; keep the daemon alive */
        return nofile >= reserve + CONNECTIONS_MIN ? nofile - reserve : CONNECTIONS_MIN;
}

static UidCount *uid_count(ConnectionLimit *l, uid_t uid, bool create)
{
        UidCount *n;

        for (size_t i = 0; i < l->n_uids; i++)
                if (l->uids[i].uid == uid)
                        return &l->uids[i];
        if (!create)
                return NULL;
        n = realloc(l->uids, (l->n_uids + 1) * sizeof *n);
        if (!n)
                return NULL;
        l->uids = n;
        l->uids[l->n_uids] = (UidCount){.uid = uid};
        return &l->uids[l->n_uids++];
}

static void slot_release(ConnectionLimit *l, Slot *s)
{
        UidCount *u;

        if (!s->used)
                return;
        u = uid_count(l, s->uid, false);
        if (u && --u->n == 0)
                *u = l->uids[--l->n_uids]; /* order does not matter */
        l->total--;
        *s = (Slot){};
}

static bool slot_is_current(const Slot *s, int fd)
{
        struct stat st;

        return fstat(fd, &st) >= 0 && st.st_dev == s->dev && st.st_ino == s->ino;
}

/* A connection libzmq dropped without telling the monitor would stay counted for ever: before cutting
 * anyone, forget the slots whose fd no longer is the socket we saw (at most once a second). */
static void sweep(ConnectionLimit *l)
{
        uint64_t now = now_usec(CLOCK_MONOTONIC);

        if (now - l->last_sweep_usec < SWEEP_INTERVAL_USEC)
                return;
        l->last_sweep_usec = now;
        for (size_t w = 0; w < l->n_watched; w++)
                for (size_t fd = 0; fd < l->watched[w]->n_slots; fd++) {
                        Slot *s = &l->watched[w]->slots[fd];
                        if (s->used && !slot_is_current(s, (int)fd))
                                slot_release(l, s);
                }
}

uint64_t connection_limit_total_max(ConnectionLimit *l)
{
        uint64_t configured = l->manager->config.max_connections;

        return configured > 0 ? configured : l->derived_total;
}

static bool over_cap(ConnectionLimit *l, const UidCount *u)
{
        uint64_t per_user = l->manager->config.max_connections_per_user;

        if (l->total > connection_limit_total_max(l))
                return true;
        return u->uid != 0 && per_user > 0 && u->n > per_user;
}

static void cut(ConnectionLimit *l, Watched *w, Slot *s, UidCount *u, int fd)
{
        if (shutdown(fd, SHUT_RDWR) < 0) {
                log_debug_errno(-errno, "Cannot shut down connection fd %d on %s: %m", fd, w->name);
                return;
        }
        s->cut = true;
        if (l->total > connection_limit_total_max(l)) {
                if (!l->warned_total)
                        log_warning("More than %llu connections to the control and event sockets (the cap "
                                    "max_connections); closing new ones.",
                                    (unsigned long long)connection_limit_total_max(l));
                l->warned_total = true;
        } else if (!u->warned) {
                log_warning("uid %u has more than %llu connections (max_connections_per_user); closing "
                            "its new ones.",
                            (unsigned)u->uid,
                            (unsigned long long)l->manager->config.max_connections_per_user);
                u->warned = true;
        }
}

static void on_accepted(ConnectionLimit *l, Watched *w, int fd)
{
        struct ucred cred = {};
        socklen_t len = sizeof cred, dlen = sizeof(int);
        int domain = AF_UNSPEC;
        struct stat st;
        UidCount *u;
        Slot *s;

        if (fd < 0)
                return;
        if ((size_t)fd >= w->n_slots) {
                size_t n = MAX((size_t)fd + 1, w->n_slots * 2);
                Slot *ns = realloc(w->slots, n * sizeof *ns);
                if (!ns) {
                        log_oom();
                        return;
                }
                memset(ns + w->n_slots, 0, (n - w->n_slots) * sizeof *ns);
                w->slots = ns;
                w->n_slots = n;
        }
        s = &w->slots[fd];
        slot_release(l, s); /* a DISCONNECTED we never saw */

        /* the connection may already be gone (and its number taken by another file): then there is
         * nothing to count, and a DISCONNECTED for it will find no slot */
        if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &dlen) < 0 || fstat(fd, &st) < 0 ||
            !S_ISSOCK(st.st_mode))
                return;
        if (domain == AF_UNIX) {
                if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
                        return;
        } else
                cred.uid = UID_ANONYMOUS;
        u = uid_count(l, cred.uid, true);
        if (!u) {
                log_oom();
                return;
        }
        *s = (Slot){.used = true,
                    .anonymous = domain != AF_UNIX,
                    .uid = cred.uid,
                    .dev = st.st_dev,
                    .ino = st.st_ino};
        u->n++;
        l->total++;

        if (!over_cap(l, u)) {
                if (l->total <= connection_limit_total_max(l) / 2)
                        l->warned_total = false;
                return;
        }
        sweep(l);
        u = uid_count(l, cred.uid, false);
        if (u && s->used && over_cap(l, u))
                cut(l, w, s, u, fd);
}

void connection_limit_note_caller(ConnectionLimit *l, zmq_msg_t *msg, uid_t uid)
{
        Watched *w = NULL;
        UidCount *old, *u;
        Slot *s;
        /* the descriptor the message came in on: libzmq's deprecated SRCFD, read when the message arrived;
         * a connection that closed since and whose number was taken by a new one would be counted for our
         * uid, which only moves a count between users */
        int fd = zmq_msg_get(msg, ZMQ_SRCFD);

        for (size_t i = 0; i < l->n_watched; i++)
                if (l->watched[i]->monitored == l->manager->control)
                        w = l->watched[i];
        if (!w || fd < 0 || (size_t)fd >= w->n_slots)
                return;
        s = &w->slots[fd];
        if (!s->used || !s->anonymous || s->cut)
                return;
        u = uid_count(l, uid, true);
        if (!u) {
                log_oom();
                return;
        }
        old = uid_count(l, s->uid, false);
        s->uid = uid;
        s->anonymous = false;
        u->n++;
        if (old && --old->n == 0)
                *old = l->uids[--l->n_uids]; /* may move u: find it again */
        u = uid_count(l, uid, false);
        if (u && over_cap(l, u))
                cut(l, w, s, u, fd);
}

static void on_closed(ConnectionLimit *l, Watched *w, int fd)
{
        if (fd < 0 || (size_t)fd >= w->n_slots)
                return;
        slot_release(l, &w->slots[fd]);
}

static int on_monitor_event(ZmqSource *source, zmq_msg_t *parts, size_t n_parts, void *userdata)
{
        Watched *w = userdata;
        uint16_t event;
        uint32_t value;

        /* [uint16 event, uint32 value][endpoint] */
        if (n_parts < 1 || zmq_msg_size(&parts[0]) != 6)
                return -EBADMSG;
        memcpy(&event, zmq_msg_data(&parts[0]), sizeof event);
        memcpy(&value, (const uint8_t *)zmq_msg_data(&parts[0]) + 2, sizeof value);
        if (event == ZMQ_EVENT_ACCEPTED)
                on_accepted(w->limit, w, (int)value);
        else if (event == ZMQ_EVENT_DISCONNECTED || event == ZMQ_EVENT_CLOSED)
                on_closed(w->limit, w, (int)value);
        return 0;
}

int connection_limit_new(Manager *m, uint64_t nofile, ConnectionLimit **ret)
{
        ConnectionLimit *l;

        l = calloc(1, sizeof *l);
        if (!l)
                return -ENOMEM;
        l->manager = m;
        l->nofile = nofile;
        l->derived_total = connection_limit_derive_total(nofile, m->config.max_agents);
        if (nofile < CONNECTION_FDS_DAEMON + HEADROOM + CONNECTIONS_MIN +
                             m->config.max_agents * CONNECTION_FDS_PER_AGENT)
                log_warning("The descriptor limit %llu is too low for max_agents = %llu (about %d each) and "
                            "%d connections in flight: raise LimitNOFILE=.",
                            (unsigned long long)nofile, (unsigned long long)m->config.max_agents,
                            CONNECTION_FDS_PER_AGENT, HEADROOM);
        *ret = l;
        return 0;
}

static Watched *watched_free(Watched *w)
{
        if (!w)
                return NULL;
        zmq_source_free(w->source);
        if (w->monitored)
                /* libzmq then sends no more events: any it sent while the socket closes would be left in
                 * flight (and leaked by libzmq 4.3.4 when the pipe is gone) */
                (void)zmq_socket_monitor(w->monitored, NULL, 0);
        if (w->pair) {
                zmq_msg_t m;
                zmq_msg_init(&m);
                while (zmq_msg_recv(&m, w->pair, ZMQ_DONTWAIT) >= 0)
                        ; /* drop what was still queued, closing each message */
                zmq_msg_close(&m);
                zmq_close(w->pair);
        }
        free(w->slots);
        free(w->name);
        free(w);
        return NULL;
}

ConnectionLimit *connection_limit_free(ConnectionLimit *l)
{
        if (!l)
                return NULL;
        for (size_t i = 0; i < l->n_watched; i++)
                watched_free(l->watched[i]);
        free(l->uids);
        free(l);
        return NULL;
}

int connection_limit_watch(ConnectionLimit *l, void *zmq_ctx, void *zsock, const char *name)
{
        char endpoint[64];
        Watched *w;
        int zero = 0, one = 1, r;

        if (l->n_watched >= ELEMENTSOF(l->watched))
                return -E2BIG;
        w = calloc(1, sizeof *w);
        if (!w)
                return -ENOMEM;
        w->limit = l;
        w->name = strdup(name);
        if (!w->name) {
                watched_free(w);
                return -ENOMEM;
        }
        (void)snprintf(endpoint, sizeof endpoint, "inproc://descartes-monitor-%zu", l->n_watched);
        /* libzmq binds a PAIR at the endpoint; ours must be connected before the first event, which is
         * why the caller binds only after this */
        if (zmq_socket_monitor(zsock, endpoint, MONITOR_EVENTS) < 0 ||
            !(w->pair = zmq_socket(zmq_ctx, ZMQ_PAIR)) ||
            zmq_setsockopt(w->pair, ZMQ_LINGER, &zero, sizeof zero) < 0 ||
            /* the smallest pipe, so that libzmq stops accepting soonest when we fall behind */
            zmq_setsockopt(w->pair, ZMQ_RCVHWM, &one, sizeof one) < 0 ||
            zmq_connect(w->pair, endpoint) < 0) {
                r = -errno;
                watched_free(w);
                return r;
        }
        r = zmq_source_new(l->manager->event, w->pair, name, on_monitor_event, w, &w->source);
        if (r >= 0)
                r = zmq_source_set_priority(w->source, SD_EVENT_PRIORITY_IMPORTANT);
        if (r < 0) {
                watched_free(w);
                return r;
        }
        w->monitored = zsock;
        l->watched[l->n_watched++] = w;
        return 0;
}
