/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* User namespaces for idmapped mounts (mount_setattr(MOUNT_ATTR_IDMAP)): a namespace that maps one uid and
 * one gid, held by an fd, with no process left in it. Used by the daemon (to learn whether a workspace's
 * file system can be idmapped at all) and by the shim (to idmap it), both as root. */

#include <sys/types.h>

/* A new user namespace whose uid_map is "from_uid to_uid 1" and gid_map "from_gid to_gid 1": on a mount
 * idmapped with it, what belongs to from_uid:from_gid on disk shows as to_uid:to_gid, and what to_uid
 * creates is stored as from_uid. *ret_fd: its /proc/PID/ns/user, O_CLOEXEC. Safe in a threaded process: the
 * helper child makes only raw system calls. */
int userns_new_idmap(uid_t from_uid, uid_t to_uid, gid_t from_gid, gid_t to_gid, int *ret_fd);

/* Makes the detached mount tree tree_fd (open_tree(OPEN_TREE_CLONE)) idmapped through userns_fd, its
 * submounts too. -EINVAL (or -EPERM, -EOPNOTSUPP) from the kernel when a file system in it cannot be
 * idmapped; -ENOSYS without mount_setattr. */
int userns_idmap_tree(int tree_fd, int userns_fd);
