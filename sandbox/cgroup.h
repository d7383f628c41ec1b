/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The cgroupfs driver: descartes' subtree of the cgroup v2 hierarchy.
 *
 *   ROOT/                      the daemon's own cgroup, or --cgroup-root (then possibly another unit's)
 *   ROOT/supervisor/           the daemon, moved there by cgroup_root_setup() (no-internal-processes rule)
 *   ROOT/agents/TENANT/a-ID/   one per agent: limits, cgroup.kill
 *   ROOT/agents/TENANT/a-ID/shim/      the shim (CLONE_INTO_CGROUP on its dirfd)
 *   ROOT/agents/TENANT/a-ID/payload/   the agent's processes: freezing pauses them, the shim stays
 * responsive
 *
 * Controllers among cpu, memory, pids and io are enabled down this chain where ROOT has them; a host that
 * has none (hybrid hosts) still gets the tree, and limits needing a missing controller are refused. */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "cgroup-util.h"
#include "cleanup.h"

typedef struct CgroupRoot {
        char *path;           /* absolute directory of ROOT */
        int fd;               /* ROOT, O_DIRECTORY */
        CgroupMask available; /* the known controllers listed in ROOT/cgroup.controllers */
} CgroupRoot;

/* The cgroup2 mount point (and the cgroup mounted there, if ret_root) from /proc/self/mountinfo, and our own
 * cgroup from /proc/self/cgroup. */
int cgroup_find_mount(char **ret_mount, char **ret_root);
int cgroup_get_own_path(char **ret_path);
/* The calling process's cgroup as an absolute directory. */
int cgroup_self_path(char **ret);

/* Opens ROOT: override_path if given (an absolute directory on cgroup2), else our own cgroup. -EMEDIUMTYPE:
 * not on cgroup2; -EPERM: the hierarchy's real root, which descartes never manages (pass an override). */
int cgroup_root_open(const char *override_path, CgroupRoot **ret);
CgroupRoot *cgroup_root_free(CgroupRoot *root);
DEFINE_TRIVIAL_CLEANUP_FUNC(CgroupRoot *, cgroup_root_free);

/* When ROOT contains the calling process's cgroup (systemd's Delegate=yes on our own unit), creates
 * supervisor/ and moves the CALLING PROCESS (all its threads) into it; a process outside ROOT stays where it
 * is. Then enables the available controllers in ROOT and creates agents/ with the same enabled (-EBUSY if
 * some other process still sits in ROOT itself). Idempotent: a restarted daemon calls it too. */
int cgroup_root_setup(CgroupRoot *root);
/* 1 if the calling process's cgroup is ROOT or below it, 0 if not. */
int cgroup_root_contains_self(const CgroupRoot *root);

/* Whether ROOT has the controllers the limits need (see cgroup_limits_check()): the refusal before a spawn.
 */
int cgroup_root_check_limits(const CgroupRoot *root, const CgroupLimits *l, const char **ret_missing);

typedef enum CgroupPart {
        CGROUP_PART_AGENT,
        CGROUP_PART_SHIM,
        CGROUP_PART_PAYLOAD,
        _CGROUP_PART_MAX,
        _CGROUP_PART_INVALID = -EINVAL,
} CgroupPart;

const char *cgroup_part_to_string(CgroupPart p);
CgroupPart cgroup_part_from_string(const char *s);

typedef struct CgroupAgent {
        char *tenant;              /* "u1000" */
        char *id;                  /* the agent id, without the "a-" prefix */
        char *rel_path;            /* "agents/TENANT/a-ID", relative to ROOT */
        char *path;                /* absolute */
        int fds[_CGROUP_PART_MAX]; /* O_DIRECTORY, usable for CLONE_INTO_CGROUP */
        CgroupMask controllers;    /* the known controllers in AGENT/cgroup.controllers */
} CgroupAgent;

/* Creates agents/TENANT/a-ID/ with shim/ and payload/ (-EEXIST if the agent exists), enabling the available
 * controllers on the way; on failure nothing new is left behind. Names: cgroup_name_is_valid(). */
int cgroup_agent_create(CgroupRoot *root, const char *tenant, const char *id, CgroupAgent **ret);
/* Opens an existing agent's cgroups (re-adoption after a daemon restart). */
int cgroup_agent_open(CgroupRoot *root, const char *tenant, const char *id, CgroupAgent **ret);
CgroupAgent *cgroup_agent_free(CgroupAgent *a);
DEFINE_TRIVIAL_CLEANUP_FUNC(CgroupAgent *, cgroup_agent_free);
/* Removes the agent's cgroups (leaves, then the agent; the tenant directory too once it is empty). -EBUSY
 * while processes remain. Does not free a. */
int cgroup_agent_remove(CgroupRoot *root, CgroupAgent *a);

/* The part's directory fd, owned by a. */
int cgroup_agent_fd(const CgroupAgent *a, CgroupPart part);
/* Absolute path of the part's cgroup.events, for an inotify watch (IN_MODIFY); re-read it on every event. */
int cgroup_agent_events_path(const CgroupAgent *a, CgroupPart part, char **ret);

/* Writes the set limits to AGENT/: -EOPNOTSUPP with *ret_missing naming the controller if the agent's cgroup
 * lacks one (nothing is written then), or naming the file if the controller lacks it (memory.swap.max
 * without swap accounting; the limits before it in the order cpu, swap, high, max, pids are written then).
 */
int cgroup_agent_set_limits(CgroupAgent *a, const CgroupLimits *l, const char **ret_missing);

/* Requests freezing/thawing payload/. Asynchronous: done when cgroup.events of payload/ says frozen 1 / 0.
 */
int cgroup_agent_freeze(CgroupAgent *a);
int cgroup_agent_thaw(CgroupAgent *a);
/* SIGKILLs every process of AGENT/ (shim and payload), frozen or not: cgroup.kill, Linux >= 5.14
 * (-EOPNOTSUPP before). Done when cgroup.events of AGENT/ says populated 0. */
int cgroup_agent_kill(CgroupAgent *a);
/* Moves pid into the part (cgroup.procs); spawns use CLONE_INTO_CGROUP instead. */
int cgroup_agent_attach_pid(CgroupAgent *a, CgroupPart part, pid_t pid);

typedef struct CgroupEvents {
        bool populated;
        bool frozen;
} CgroupEvents;

/* cgroup.events of a cgroup directory fd, and of an agent's part. */
int cgroup_read_events(int cgroup_fd, CgroupEvents *ret);
int cgroup_agent_read_events(const CgroupAgent *a, CgroupPart part, CgroupEvents *ret);

/* Attribute I/O on a cgroup directory fd. Reads are bounded (64 KiB). */
int cgroup_read_attr(int cgroup_fd, const char *attr, char **ret);
/* One key of a flat-keyed file (cgroup.events, memory.events, cpu.stat), or a single-value file ("max"
 * reads as UINT64_MAX); -ENOENT when the file or key is absent. */
int cgroup_read_keyed(int cgroup_fd, const char *attr, const char *key, uint64_t *ret);
int cgroup_read_value(int cgroup_fd, const char *attr, uint64_t *ret);
int cgroup_write_attr(int cgroup_fd, const char *attr, const char *value);
int cgroup_attach_pid(int cgroup_fd, pid_t pid);

/* Statistics on a cgroup directory fd; each is -ENOENT where the kernel or the missing controller lacks it.
 */
typedef struct CgroupCpuStat {
        uint64_t usage_usec;
        uint64_t user_usec;
        uint64_t system_usec;
} CgroupCpuStat;

typedef struct CgroupMemoryEvents {
        uint64_t high;
        uint64_t max;
        uint64_t oom;
        uint64_t oom_kill;
} CgroupMemoryEvents;

int cgroup_read_cpu_stat(int cgroup_fd, CgroupCpuStat *ret);
int cgroup_read_memory_current(int cgroup_fd, uint64_t *ret);
int cgroup_read_memory_peak(int cgroup_fd, uint64_t *ret);
int cgroup_read_memory_events(int cgroup_fd, CgroupMemoryEvents *ret);
int cgroup_read_pids_current(int cgroup_fd, uint64_t *ret);
int cgroup_read_pids_events_max(int cgroup_fd, uint64_t *ret);
/* Forks refused by the agent's pids.max so far, wherever the running kernel counts them (AGENT/ on newer
 * kernels, the forking task's payload/ or shim/ on 6.1); -ENOENT without the pids controller. The
 * notifications come from AGENT/pids.events and payload/pids.events. */
int cgroup_agent_read_pids_refused(const CgroupAgent *a, uint64_t *ret);
