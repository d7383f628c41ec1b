/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The cgroup backend: everything the daemon asks of cgroups, as typed operations on a backend (descartes'
 * subtree, its delegation) and on one agent's handle. Nothing here names a cgroup file: the cgroupfs driver
 * (cgroup-fs.h) is one implementation, a systemd driver another (sandbox/cgroup-driver.h says how to add
 * one).
 *
 * An agent is three cgroups: AGENT (limits, kill, usage), SHIM and PAYLOAD below it (the shim is cloned into
 * SHIM, the agent's processes into PAYLOAD). Freezing pauses PAYLOAD only, so the shim stays responsive. The
 * agents of one owner share a tenant subtree, which the backend creates with the first and removes with the
 * last; its limits (the tenant's quota) bound all of the tenant's agents together. */

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "cgroup-util.h"
#include "cleanup.h"

typedef struct CgroupBackend CgroupBackend;
typedef struct CgroupHandle CgroupHandle;

typedef enum CgroupPart {
        CGROUP_PART_AGENT,
        CGROUP_PART_SHIM,
        CGROUP_PART_PAYLOAD,
        _CGROUP_PART_MAX,
        _CGROUP_PART_INVALID = -EINVAL,
} CgroupPart;

const char *cgroup_part_to_string(CgroupPart p);
CgroupPart cgroup_part_from_string(const char *s);

/* What an agent used so far; a field the kernel or a missing controller does not offer is not "has". */
typedef struct CgroupUsage {
        bool has_cpu, has_memory_current, has_memory_peak, has_pids;
        uint64_t cpu_usec;
        uint64_t memory_current, memory_peak; /* bytes */
        uint64_t pids_current;
} CgroupUsage;

typedef struct CgroupState {
        bool populated;        /* a process is left in AGENT (shim or payload) */
        bool frozen;           /* PAYLOAD is frozen */
        bool freeze_requested; /* PAYLOAD was asked to freeze (frozen follows, asynchronously) */
} CgroupState;

/* Counters that only grow, since the agent's cgroup was created. */
typedef enum CgroupCounter {
        CGROUP_COUNTER_MEMORY_HIGH, /* times the memory limit made the agent reclaim (throttled) */
        CGROUP_COUNTER_MEMORY_MAX,  /* times it reached the hard memory limit */
        CGROUP_COUNTER_PIDS_MAX,    /* forks and clones refused by the pids limit */
        CGROUP_COUNTER_OOM_KILL,    /* processes the OOM killer took */
        _CGROUP_COUNTER_MAX,
        _CGROUP_COUNTER_INVALID = -EINVAL,
} CgroupCounter;

typedef struct CgroupCounters {
        bool present[_CGROUP_COUNTER_MAX]; /* false where the controller is missing */
        uint64_t value[_CGROUP_COUNTER_MAX];
} CgroupCounters;

/* The name of the limit a counter reports hitting ("memory.high", "memory.max", "pids.max": the names
 * limit_hit events carry), NULL for a counter that is no limit (OOM kills). */
const char *cgroup_counter_limit_to_string(CgroupCounter c);

/* What changed, in a watch callback. */
typedef enum CgroupChange {
        CGROUP_CHANGE_POPULATED = 1u << 0, /* re-read the state: populated */
        CGROUP_CHANGE_FROZEN = 1u << 1,    /* re-read the state: frozen */
        CGROUP_CHANGE_COUNTERS = 1u << 2,  /* re-read the counters */
} CgroupChange;

typedef void (*CgroupWatchFn)(CgroupHandle *h, unsigned changes, void *userdata);

/* ---- the backend ---- */

/* Free every handle of a backend before the backend. */
CgroupBackend *cgroup_backend_free(CgroupBackend *b);
DEFINE_TRIVIAL_CLEANUP_FUNC(CgroupBackend *, cgroup_backend_free);

/* Delegation: makes the subtree usable for agents (the daemon leaves it for a leaf of its own when it sat in
 * it, controllers are enabled, the agents' parent exists). Idempotent: a restarted daemon calls it too.
 * -EBUSY: another process still sits where controllers must be enabled. */
int cgroup_backend_setup(CgroupBackend *b);
/* The subtree's absolute cgroup directory, for logs and health. */
const char *cgroup_backend_path(const CgroupBackend *b);
/* The known controllers agents get. */
CgroupMask cgroup_backend_controllers(const CgroupBackend *b);
/* 0 if the backend can enforce every set limit, else -EOPNOTSUPP with *ret_missing naming the first missing
 * controller (a static string). */
int cgroup_backend_check_limits(const CgroupBackend *b, const CgroupLimits *l, const char **ret_missing);

/* An fd that turns readable when a watched handle changed: then call cgroup_backend_dispatch(), which runs
 * the handles' watch callbacks. A callback may free its own handle, not another one. */
int cgroup_backend_watch_fd(CgroupBackend *b);
int cgroup_backend_dispatch(CgroupBackend *b);

/* ---- one tenant: the subtree all agents of one owner share ---- */

/* Sets the limits of owner's tenant subtree (CGROUP_LIMIT_INFINITY lifts one; "max" for a file the kernel
 * lacks, memory.swap.max without swap accounting, is no error: nothing is limited there). tenant_prepare
 * creates the subtree first when owner has none yet (before its first agent: the agent then starts under the
 * quota); tenant_set_limits only changes an existing one (-ENOENT: owner has no agent). On -EOPNOTSUPP
 * *ret_missing names the controller or file a limit needs; prepare then leaves nothing new behind. */
int cgroup_backend_tenant_prepare(CgroupBackend *b, uid_t owner, const CgroupLimits *l,
                                  const char **ret_missing);
int cgroup_backend_tenant_set_limits(CgroupBackend *b, uid_t owner, const CgroupLimits *l,
                                     const char **ret_missing);
/* What all of owner's agents use together now (the fields a missing controller lacks are not "has");
 * -ENOENT: owner has no tenant subtree. */
int cgroup_backend_tenant_read_usage(CgroupBackend *b, uid_t owner, CgroupUsage *ret);

/* ---- one agent ---- */

/* Creates the agent's cgroups in owner's tenant subtree, with the limits (-EEXIST if the agent exists). On
 * -EOPNOTSUPP *ret_missing names the controller (or the kernel feature) the limits need; on any failure
 * nothing new is left behind. id: cgroup_name_is_valid(). -EWOULDBLOCK: the driver only creates without
 * waiting (systemd's): use cgroup_backend_create_async(). */
int cgroup_backend_create(CgroupBackend *b, uid_t owner, const char *id, const CgroupLimits *l,
                          const char **ret_missing, CgroupHandle **ret);
/* Creating an agent's cgroups without waiting, for a driver whose cgroups another process makes (systemd's
 * units): the tenant subtree gets the limits tenant (when not NULL: tenant_prepare), then the agent's
 * cgroups are made as by create. The outcome of a creation: */
typedef struct CgroupCreateError {
        int error;           /* -errno */
        bool tenant;         /* the tenant's subtree failed, not the agent's cgroups */
        const char *missing; /* on -EOPNOTSUPP: the controller a limit needs (a static string) */
        char msg[160];       /* what failed, for the caller's error ("" when strerror(error) says it) */
} CgroupCreateError;
typedef struct CgroupCreation CgroupCreation;
/* h: the agent's new handle (the callee's), or NULL and e says why. */
typedef void (*CgroupCreatedFn)(CgroupHandle *h, const CgroupCreateError *e, void *userdata);
/* 0: done at once (*ret set; fn is never called), the cgroupfs driver's way. 1: under way (*ret_pending
 * set): fn is called once, later, from the event loop, and the creation is gone then. -errno: failed at
 * once, *ret_error says why, nothing is left behind. */
int cgroup_backend_create_async(CgroupBackend *b, uid_t owner, const char *id, const CgroupLimits *tenant,
                                const CgroupLimits *l, CgroupCreatedFn fn, void *userdata,
                                CgroupHandle **ret, CgroupCreation **ret_pending,
                                CgroupCreateError *ret_error);
/* Abandons a creation under way: fn is never called, what it made so far goes. */
void cgroup_creation_cancel(CgroupCreation *c);
/* The handle of an agent created earlier (adoption after a daemon restart). -ENOENT: no such agent. */
int cgroup_backend_open(CgroupBackend *b, uid_t owner, const char *id, CgroupHandle **ret);

CgroupHandle *cgroup_handle_free(CgroupHandle *h);
DEFINE_TRIVIAL_CLEANUP_FUNC(CgroupHandle *, cgroup_handle_free);
/* Removes the agent's cgroups (and its tenant's once empty); stops its watch. -EBUSY while processes remain
 * (nothing is removed then). Removing what is gone already is no error. Does not free h. */
int cgroup_handle_remove(CgroupHandle *h);

/* The agent's absolute cgroup directory (AGENT). */
const char *cgroup_handle_path(const CgroupHandle *h);
/* A directory fd of SHIM or PAYLOAD for clone3(CLONE_INTO_CGROUP), opened now: the caller closes it (a
 * handle keeps no descriptor, so that an agent costs the daemon none for its cgroups). */
int cgroup_handle_spawn_fd(const CgroupHandle *h, CgroupPart part);

int cgroup_handle_set_limits(CgroupHandle *h, const CgroupLimits *l, const char **ret_missing);
/* Freezing and thawing PAYLOAD are asynchronous: done when the state says frozen / not frozen. */
int cgroup_handle_freeze(CgroupHandle *h);
int cgroup_handle_thaw(CgroupHandle *h);
/* For a freeze or thaw under way: an fd on PAYLOAD's freezer state, opened now (the caller closes it). It
 * polls EPOLLPRI as soon as that state may have changed (the watch of cgroup_handle_watch() hears of it only
 * after a kernel worker has run), and cgroup_freezer_read() tells whether PAYLOAD is frozen. */
int cgroup_handle_freezer_open(CgroupHandle *h);
/* Reads an fd from cgroup_handle_freezer_open(): 1 frozen, 0 not, negative errno (-ENODEV: its cgroup is
 * gone). Reading it also ends its EPOLLPRI until the next change. */
int cgroup_freezer_read(int fd);
/* SIGKILLs every process of the agent, frozen or not (-EOPNOTSUPP: the kernel cannot, Linux < 5.14). Done
 * when the state says not populated. */
int cgroup_handle_kill(CgroupHandle *h);

int cgroup_handle_read_usage(CgroupHandle *h, CgroupUsage *ret);
/* -ENOENT: the agent's cgroups are gone. */
int cgroup_handle_read_state(CgroupHandle *h, CgroupState *ret);
int cgroup_handle_read_counters(CgroupHandle *h, CgroupCounters *ret);
/* The processes of a part (in no particular order), and whether pid is one of them (1 or 0). */
int cgroup_handle_list_pids(CgroupHandle *h, CgroupPart part, pid_t **ret, size_t *ret_n);
int cgroup_handle_has_pid(CgroupHandle *h, CgroupPart part, pid_t pid);
/* Moves pid into a part (spawns use CLONE_INTO_CGROUP instead). */
int cgroup_handle_attach_pid(CgroupHandle *h, CgroupPart part, pid_t pid);

/* Calls fn when the handle's state or counters may have changed (see CgroupChange; the kernel rate-limits
 * notifications, so re-read after a request too). One watch per handle: a second call replaces it. */
int cgroup_handle_watch(CgroupHandle *h, CgroupWatchFn fn, void *userdata);
