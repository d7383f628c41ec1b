/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The agent's file system view, built by the shim (root, in its own new mount and pid namespaces) before it
 * forks the agent:
 *
 *   /                 the host root, recursively read-only, nosuid, nodev
 *   WORKSPACE_TARGET  the workspace, read-write, nosuid, nodev (its host mounts' own flags kept); or, with
 *                     workspace_tmpfs_size, a tmpfs of that size owned by the agent (its default workspace)
 *   /tmp              a private tmpfs of tmp_size bytes, mode 1777, nosuid, nodev
 *   /proc             a fresh proc of the shim's pid namespace (only the agent's processes); /proc/sys,
 *                     /proc/sysrq-trigger, /proc/irq, /proc/bus, /proc/fs read-only (an agent allowed to run
 *                     as uid 0 could otherwise write root-owned sysctls without any capability)
 *   /sys              a fresh sysfs, read-only (real root may mount one without a network namespace of its
 *                     own; with net=none it lists only lo). Where that mount is refused, the host's /sys
 *                     stays, read-only like the rest of the root.
 *   /dev              tmpfs (755, read-only once built) with null, zero, full, random, urandom, tty bound
 *                     from the host, a private devpts (newinstance, ptmxmode=0666) and ptmx -> pts/ptmx, a
 *                     /dev/shm tmpfs of tmp_size bytes, and the fd, stdin, stdout, stderr symlinks
 *   masks             an empty read-only tmpfs over /home, /root, /run and /var/run (the host's service
 *                     sockets), the runtime dir, the state dir and every extra path that is a directory;
 *                     /dev/null bound read-only over one that is a file. Paths that do not exist are
 *                     skipped; symlinks are resolved in the host first. The workspace shows through a mask
 *                     that covers it (a mount point is made inside the mask before it turns read-only); an
 *                     extra mask inside the workspace is applied on top of the workspace too. Kept paths
 *                     (keep_paths, such as the file /etc/resolv.conf links to in /run) are bound read-only
 *                     at their place inside the mask that covers them.
 *
 * The view is built beside the old root and entered with pivot_root; the old root is then detached, so no
 * path leads back to the host. Needs Linux 5.2 (open_tree, move_mount); mount_setattr (5.12) is used where
 * present, else each mount is remounted. On failure the namespace is left half-built: the caller (the shim)
 * must not run anything in it and exits. */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define MOUNT_VIEW_MASKS_MAX 256
#define MOUNT_VIEW_KEEPS_MAX 64
#define MOUNT_VIEW_HOME_DIR  ".home"

typedef struct MountViewSpec {
        const char *workspace; /* host path of the workspace: absolute, an existing directory */
        const char
                *workspace_target; /* where it appears in the view (normalized, not "/"); NULL: the same */
        const char *cwd;           /* the working directory in the view; NULL: workspace_target */
        uint64_t tmp_size;         /* bytes of /tmp and of /dev/shm, each; > 0 */
        const char *runtime_dir;   /* masked; NULL: none */
        const char *state_dir;     /* masked; NULL: none */
        char *const *mask_paths;   /* more host paths to mask, NULL-terminated; NULL: none */
        /* host paths shown read-only inside the masks that cover them (resolved in the host; files and
         * directories only), NULL-terminated; NULL: none */
        char *const *keep_paths;
        uid_t workspace_owner; /* the workspace must belong to this uid; (uid_t)-1: no check */
        /* > 0: the workspace in the view is a fresh tmpfs of this many bytes owned by workspace_uid:gid
         * (mode 0700), not the host directory: the agent's scratch space, bounded, gone with the view */
        uint64_t workspace_tmpfs_size;
        uid_t workspace_uid;
        gid_t workspace_gid;
        /* the workspace (a host directory) is idmapped: its owner's uid and gid on disk show as
         * workspace_uid:workspace_gid in the view, and what they create is stored as the owner's. A file
         * system that cannot be idmapped fails the view (step "workspace-idmap") */
        bool workspace_idmap;
        const char *staging_dir; /* an existing directory to build in; NULL: "/tmp" (only our namespace
                                    sees the mount) */
} MountViewSpec;

#define MOUNT_VIEW_SPEC_INIT ((MountViewSpec){.workspace_owner = (uid_t)-1})

/* Builds the view, pivots into it and changes to the working directory. Returns 0 or -errno; on failure
 * *ret_failed_step (if non-NULL) names the step, a static string such as "mask" or "pivot_root". */
int mount_view_setup(const MountViewSpec *spec, const char **ret_failed_step);

/* The agent's HOME: WORKSPACE_TARGET/.home. The view does not create it: the agent child does, after the
 * identity drop, so that it belongs to the agent (mkdir, 0700, EEXIST fine). */
int mount_view_home(const char *workspace_target, char **ret);
