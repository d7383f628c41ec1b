/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A second group on the runtime directory and the sockets: members of admin_group reach them without
 * being in `descartes`. Owner and group keep their mode bits; an ACL entry grants the extra group the
 * group's bits. Written as the system.posix_acl_access xattr directly (libacl's headers are not a build
 * dependency); the format is the kernel's (linux/posix_acl_xattr.h). */

#include <sys/types.h>

/* -EOPNOTSUPP when the file system has no POSIX ACLs. */
int socket_acl_add_group(int fd, const char *path, gid_t gid);
