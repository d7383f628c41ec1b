/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cleanup.h"
#include "mount-util.h"
#include "mountinfo.h"
#include "string-util.h"

static bool setattr_disabled = false;

void mount_util_disable_setattr(bool disable)
{
        setattr_disabled = disable;
}

static int do_mount_setattr(int dirfd, const char *path, unsigned flags, struct mount_attr *a)
{
        if (setattr_disabled)
                return -ENOSYS;
        if (syscall(SYS_mount_setattr, dirfd, path, flags, a, sizeof *a) < 0)
                return -errno;
        return 0;
}

int mount_clone_tree(int dirfd, const char *path, bool recursive)
{
        unsigned flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (recursive ? AT_RECURSIVE : 0);
        int fd;

        if (!path || !*path) {
                path = "";
                flags |= AT_EMPTY_PATH;
        }
        fd = (int)syscall(SYS_open_tree, dirfd, path, flags);
        if (fd < 0)
                return -errno;
        return fd;
}

int mount_set_tree_attr(int fd, unsigned attr)
{
        struct mount_attr a = {
                .attr_set = attr,
                .propagation = MS_PRIVATE,
        };

        return do_mount_setattr(fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &a);
}

int mount_attach_tree(int fd, const char *path)
{
        if (syscall(SYS_move_mount, fd, "", AT_FDCWD, path, MOVE_MOUNT_F_EMPTY_PATH) < 0)
                return -errno;
        return 0;
}

unsigned long mount_attr_to_ms_flags(unsigned attr)
{
        unsigned long f = 0;

        if (attr & MOUNT_ATTR_RDONLY)
                f |= MS_RDONLY;
        if (attr & MOUNT_ATTR_NOSUID)
                f |= MS_NOSUID;
        if (attr & MOUNT_ATTR_NODEV)
                f |= MS_NODEV;
        if (attr & MOUNT_ATTR_NOEXEC)
                f |= MS_NOEXEC;
        return f;
}

int mount_remount_subtree(const char *path, unsigned long ms_flags)
{
        _cleanup_(mountinfo_table_done) MountInfoTable t = {};
        bool found = false;
        int r;

        r = mountinfo_read(&t);
        if (r < 0)
                return r;

        for (size_t i = 0; i < t.n; i++) {
                const MountInfo *m = &t.entries[i];
                unsigned long flags;

                if (!path_is_at_or_below(m->mount_point, path))
                        continue;
                flags = mountinfo_options_to_flags(m->options) | ms_flags;
                if (mount(NULL, m->mount_point, NULL, MS_REMOUNT | MS_BIND | flags, NULL) < 0) {
                        /* A mount point listed below ours but hidden by a later mount on top of an
                         * ancestor cannot be reached (and so needs nothing). */
                        if (errno == ENOENT)
                                continue;
                        return -errno;
                }
                found = true;
        }
        return found ? 0 : -ENOENT;
}

int mount_set_path_attr(const char *path, unsigned attr, bool recursive)
{
        struct mount_attr a = {
                .attr_set = attr,
        };
        int r;

        r = do_mount_setattr(AT_FDCWD, path, recursive ? AT_RECURSIVE : 0, &a);
        if (r != -ENOSYS)
                return r;
        if (recursive)
                return mount_remount_subtree(path, mount_attr_to_ms_flags(attr));

        _cleanup_(mountinfo_table_done) MountInfoTable t = {};
        unsigned long flags = 0;

        /* The last entry at this path is the one on top, which a remount by path reaches. */
        r = mountinfo_read(&t);
        if (r < 0)
                return r;
        for (size_t i = 0; i < t.n; i++)
                if (streq(t.entries[i].mount_point, path))
                        flags = mountinfo_options_to_flags(t.entries[i].options);
        if (mount(NULL, path, NULL, MS_REMOUNT | MS_BIND | flags | mount_attr_to_ms_flags(attr), NULL) < 0)
                return -errno;
        return 0;
}

int mount_mkdir_p(const char *path, mode_t mode)
{
        char buf[PATH_MAX];
        size_t n;

        if (!path || path[0] != '/')
                return -EINVAL;
        n = strlen(path);
        if (n >= sizeof buf)
                return -ENAMETOOLONG;
        memcpy(buf, path, n + 1);

        for (char *p = buf + 1;; p++) {
                if (*p != '/' && *p != '\0')
                        continue;
                char saved = *p;
                struct stat st;

                *p = '\0';
                if (lstat(buf, &st) >= 0) {
                        if (!S_ISDIR(st.st_mode))
                                return -ENOTDIR;
                } else if (errno != ENOENT)
                        return -errno;
                else if (mkdir(buf, mode) < 0 && errno != EEXIST)
                        return -errno;
                *p = saved;
                if (saved == '\0')
                        break;
        }
        return 0;
}

int mount_touch(const char *path, mode_t mode)
{
        int fd;

        fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW, mode);
        if (fd < 0)
                return -errno;
        (void)safe_close(fd);
        return 0;
}

bool path_is_normalized_absolute(const char *p)
{
        size_t n;

        if (!p || p[0] != '/')
                return false;
        n = strlen(p);
        if (n >= PATH_MAX)
                return false;
        if (n == 1)
                return true;
        if (p[n - 1] == '/')
                return false;
        for (const char *c = p; *c;) {
                const char *s = c + 1, *e = strchrnul(s, '/');
                size_t l = (size_t)(e - s);

                if (l == 0 || (l == 1 && s[0] == '.') || (l == 2 && s[0] == '.' && s[1] == '.'))
                        return false;
                c = e;
        }
        return true;
}
