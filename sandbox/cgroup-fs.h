/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The cgroupfs driver of cgroup-backend.h: descartes' subtree of the cgroup v2 hierarchy, written directly.
 *
 *   ROOT/                      the daemon's own cgroup, or an override (then possibly another unit's)
 *   ROOT/supervisor/           the daemon, moved there by setup (no-internal-processes rule)
 *   ROOT/agents/uUID/a-ID/     AGENT: limits, kill, usage (uUID: the tenant subtree of owner UID)
 *   ROOT/agents/uUID/a-ID/shim/      SHIM (CLONE_INTO_CGROUP on its dirfd)
 *   ROOT/agents/uUID/a-ID/payload/   PAYLOAD: the agent's processes
 *
 * Controllers among cpu, memory, pids and io are enabled down this chain where ROOT has them; a host that
 * has none (hybrid hosts) still gets the tree, and limits needing a missing controller are refused.
 * Notifications come from one inotify fd for the whole backend. */

#include "cgroup-backend.h"

/* Opens ROOT: override_path if given (an absolute directory on cgroup2), else our own cgroup (its parent
 * when we already sit in ROOT/supervisor). -EMEDIUMTYPE: not on cgroup2; -EPERM: the hierarchy's real root,
 * which descartes never manages (pass an override). Then cgroup_backend_setup(). */
int cgroup_fs_open(const char *override_path, CgroupBackend **ret);

/* Where the tenant and agent directories lie below ROOT: TENANT_PREFIX UID TENANT_SUFFIX /
 * AGENT_PREFIX ID AGENT_SUFFIX ("agents/u1000/a-ID" above). With units, the tenant's directory and AGENT's
 * parent are systemd's (a slice and a Delegate=yes scope the systemd driver starts): create then moves the
 * processes systemd put in the unit's cgroup into a leaf holder/ of it, enables the controllers below it and
 * makes AGENT with SHIM and PAYLOAD, and sets no limits (they are the unit's properties); remove takes AGENT
 * only; setup and the tenant limits are not this driver's then. supervisor/cgroup-systemd.c uses the rest as
 * it is. */
typedef struct CgroupFsLayout {
        const char *tenant_prefix, *tenant_suffix;
        const char *agent_prefix, *agent_suffix;
        bool units;
} CgroupFsLayout;
int cgroup_fs_open_layout(const char *override_path, const CgroupFsLayout *layout, CgroupBackend **ret);
/* 1 if the calling process's cgroup is ROOT or below it, 0 if not. Setup moves the calling process (all its
 * threads) into ROOT/supervisor only in the first case (systemd's Delegate=yes on our own unit). */
int cgroup_fs_contains_self(const CgroupBackend *b);

/* The cgroup2 mount point (and the cgroup mounted there, if ret_root) from /proc/self/mountinfo, and our own
 * cgroup from /proc/self/cgroup. */
int cgroup_find_mount(char **ret_mount, char **ret_root);
int cgroup_get_own_path(char **ret_path);
/* The calling process's cgroup as an absolute directory. */
int cgroup_self_path(char **ret);
/* Moves the calling process into the leaf SELF/leaf (created if needed) unless its cgroup already is a leaf
 * of that name, and returns the cgroup it was delegated (SELF). For a unit's only process that must leave
 * its cgroup's own level to a subtree another process manages (the agents' holder). */
int cgroup_move_self_to_leaf(const char *leaf, char **ret_delegated);
