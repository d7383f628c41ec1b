/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Small mount helpers for building the agent's view: detached trees (open_tree), recursive attributes
 * (mount_setattr, Linux 5.12, with a remount walk over /proc/self/mountinfo as the fallback), mount points.
 */

#include <stdbool.h>
#include <sys/types.h>

/* A detached copy of the mount at path (with its submounts if recursive), CLOEXEC. */
int mount_clone_tree(int dirfd, const char *path, bool recursive);

/* Sets attr (MOUNT_ATTR_RDONLY, _NOSUID, _NODEV, _NOEXEC) on the tree at fd, recursively, and makes its
 * propagation private. -ENOSYS when the kernel lacks mount_setattr(): then attach it and use
 * mount_remount_subtree(). */
int mount_set_tree_attr(int fd, unsigned attr);

/* Attaches a detached tree at path. */
int mount_attach_tree(int fd, const char *path);

/* The fallback for mount_set_tree_attr(): bind-remounts every mount at or below path (as listed in
 * /proc/self/mountinfo) with ms_flags (MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC) added to the per-mount
 * flags it already has, which a bind remount would otherwise reset. */
int mount_remount_subtree(const char *path, unsigned long ms_flags);

/* Sets attr on an attached mount tree at path: mount_setattr if the kernel has it, else the walk. */
int mount_set_path_attr(const char *path, unsigned attr, bool recursive);

/* Tests: behave as on a kernel without mount_setattr (before 5.12), so that the remount fallback runs. */
void mount_util_disable_setattr(bool disable);

/* Translates MOUNT_ATTR_* bits into the MS_* flags of a remount. */
unsigned long mount_attr_to_ms_flags(unsigned attr);

/* mkdir -p that first looks at each component, so that existing directories on read-only filesystems
 * are fine; -ENOTDIR if a component exists and is not a directory. */
int mount_mkdir_p(const char *path, mode_t mode);

/* Creates an empty file to bind a non-directory onto (kept if it exists). */
int mount_touch(const char *path, mode_t mode);

/* Whether p is absolute and normalized: no empty, "." or ".." components, no trailing slash (except "/"
 * itself), shorter than PATH_MAX. */
bool path_is_normalized_absolute(const char *p);
