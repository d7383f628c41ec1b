/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <endian.h>
#include <errno.h>
#include <linux/posix_acl.h>
#include <linux/posix_acl_xattr.h>
#include <sys/stat.h>
#include <sys/xattr.h>

#include "socket-acl.h"

static struct posix_acl_xattr_entry entry(unsigned tag, unsigned perm, unsigned id)
{
        return (struct posix_acl_xattr_entry){htole16(tag), htole16(perm), htole32(id)};
}

/* fd >= 0: that file; else path. */
int socket_acl_add_group(int fd, const char *path, gid_t gid)
{
        struct {
                struct posix_acl_xattr_header h;
                struct posix_acl_xattr_entry e[5];
        } acl;
        struct stat st;
        unsigned g;
        int r;

        r = fd >= 0 ? fstat(fd, &st) : stat(path, &st);
        if (r < 0)
                return -errno;
        g = (st.st_mode >> 3) & 7;
        acl.h.a_version = htole32(POSIX_ACL_XATTR_VERSION);
        /* sorted by tag, as the kernel requires; the mask is the group bits, so chmod keeps its meaning */
        acl.e[0] = entry(ACL_USER_OBJ, (st.st_mode >> 6) & 7, ACL_UNDEFINED_ID);
        acl.e[1] = entry(ACL_GROUP_OBJ, g, ACL_UNDEFINED_ID);
        acl.e[2] = entry(ACL_GROUP, g, gid);
        acl.e[3] = entry(ACL_MASK, g, ACL_UNDEFINED_ID);
        acl.e[4] = entry(ACL_OTHER, st.st_mode & 7, ACL_UNDEFINED_ID);
        r = fd >= 0 ? fsetxattr(fd, "system.posix_acl_access", &acl, sizeof acl, 0)
                    : setxattr(path, "system.posix_acl_access", &acl, sizeof acl, 0);
        return r < 0 ? -errno : 0;
}
