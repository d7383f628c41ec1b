/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "mount-util.h"
#include "mount-view.h"
#include "mountinfo.h"
#include "string-util.h"
#include "userns.h"

#define STAGING_ROOT "root"
#define MASK_ATTR    (MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC)

/* /run and /var/run (a link to /run on most hosts, masked once then) hold the host's service sockets:
 * a unix socket on a read-only mount still accepts connections, so only a mask keeps them out of reach. */
static const char *const default_masks[] = {"/home", "/root", "/run", "/var/run"};
static const char *const dev_nodes[] = {"null", "zero", "full", "random", "urandom", "tty"};
static const char *const proc_readonly[] = {"sys", "sysrq-trigger", "irq", "bus", "fs"};
static const struct {
        const char *name;
        const char *target;
} dev_symlinks[] = {
        {"fd", "/proc/self/fd"},       {"stdin", "/proc/self/fd/0"}, {"stdout", "/proc/self/fd/1"},
        {"stderr", "/proc/self/fd/2"}, {"ptmx", "pts/ptmx"},
};

typedef struct Mask {
        char *path; /* canonical host path */
        bool is_dir;
        bool mounted; /* a tmpfs of ours is at its view path, to be made read-only */
} Mask;

typedef struct Keep {
        char *path; /* canonical host path, under a mask */
        bool is_dir;
        char *link; /* a symbolic link at path, made again in the mask with this target; NULL: a bind */
        int tree;   /* detached clone of path (a bind) */
} Keep;

typedef struct ViewState {
        const MountViewSpec *spec;
        const char *target;  /* the workspace in the view */
        char root[PATH_MAX]; /* staging/root: the new root while it is built */
        char *workspace;     /* canonical host path */
        int workspace_fd;    /* O_PATH of the workspace */
        int workspace_tree;  /* detached clone of it */
        int root_tree;       /* detached clone of the host root */
        int sys_tree;        /* detached clone of the host's /sys, in case a fresh sysfs is refused */
        int dev_trees[ELEMENTSOF(dev_nodes)];
        Mask masks[MOUNT_VIEW_MASKS_MAX];
        size_t n_masks;
        Keep keeps[MOUNT_VIEW_KEEPS_MAX];
        size_t n_keeps;
        const char *step;
} ViewState;

static void view_state_done(ViewState *s)
{
        free(s->workspace);
        (void)safe_close(s->workspace_fd);
        (void)safe_close(s->workspace_tree);
        (void)safe_close(s->root_tree);
        (void)safe_close(s->sys_tree);
        for (size_t i = 0; i < ELEMENTSOF(s->dev_trees); i++)
                (void)safe_close(s->dev_trees[i]);
        for (size_t i = 0; i < s->n_masks; i++)
                free(s->masks[i].path);
        for (size_t i = 0; i < s->n_keeps; i++) {
                free(s->keeps[i].path);
                free(s->keeps[i].link);
                (void)safe_close(s->keeps[i].tree);
        }
}

static int join3(char *buf, size_t n, const char *a, const char *b, const char *c)
{
        int k = snprintf(buf, n, "%s%s%s", a, b, c);

        if (k < 0 || (size_t)k >= n)
                return -ENAMETOOLONG;
        return 0;
}

/* The view path of an in-view absolute path, in buf (root + path). */
static int view_path(const ViewState *s, const char *path, char *buf, size_t n)
{
        return join3(buf, n, s->root, streq(path, "/") ? "" : path, "");
}

static int view_path2(const ViewState *s, const char *a, const char *b, char *buf, size_t n)
{
        return join3(buf, n, s->root, a, b);
}

static int spec_check(const MountViewSpec *spec)
{
        if (!spec || !spec->workspace || spec->workspace[0] != '/')
                return -EINVAL;
        if (spec->workspace_target &&
            (!path_is_normalized_absolute(spec->workspace_target) || streq(spec->workspace_target, "/")))
                return -EINVAL;
        if (!spec->workspace_target && streq(spec->workspace, "/"))
                return -EINVAL;
        if (spec->cwd && !path_is_normalized_absolute(spec->cwd))
                return -EINVAL;
        if (spec->tmp_size == 0)
                return -EINVAL;
        if (spec->staging_dir && spec->staging_dir[0] != '/')
                return -EINVAL;
        for (const char *const *m = (const char *const *)spec->mask_paths; m && *m; m++)
                if ((*m)[0] != '/')
                        return -EINVAL;
        for (const char *const *k = (const char *const *)spec->keep_paths; k && *k; k++)
                if ((*k)[0] != '/')
                        return -EINVAL;
        return 0;
}

/* Opens the canonical workspace refusing symlinks on the way, so that whoever owns a directory on the path
 * cannot swap in a link to somewhere else between the check and the bind. */
static int workspace_open(ViewState *s)
{
        const MountViewSpec *spec = s->spec;
        struct open_how how = {
                .flags = O_PATH | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW,
                .resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
        };
        struct stat st;
        int fd;

        s->workspace = realpath(spec->workspace, NULL);
        if (!s->workspace)
                return -errno;
        if (streq(s->workspace, "/"))
                return -EINVAL;

        fd = (int)syscall(SYS_openat2, AT_FDCWD, s->workspace, &how, sizeof how);
        if (fd < 0 && errno == ENOSYS)
                fd = open(s->workspace, O_PATH | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return -errno;
        s->workspace_fd = fd;

        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISDIR(st.st_mode))
                return -ENOTDIR;
        if (spec->workspace_owner != (uid_t)-1 && st.st_uid != spec->workspace_owner)
                return -EPERM;

        s->workspace_tree = mount_clone_tree(fd, NULL, true);
        if (s->workspace_tree < 0)
                return s->workspace_tree;
        if (spec->workspace_idmap) {
                _cleanup_close_ int userns = -EBADF;
                int r;

                s->step = "workspace-idmap";
                r = userns_new_idmap(st.st_uid, spec->workspace_uid, st.st_gid, spec->workspace_gid,
                                     &userns);
                if (r < 0)
                        return r;
                r = userns_idmap_tree(s->workspace_tree, userns);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int mask_add(ViewState *s, const char *path)
{
        char *canon;
        struct stat st;

        if (!path)
                return 0;
        if (path[0] != '/')
                return -EINVAL;
        canon = realpath(path, NULL);
        if (!canon)
                return errno == ENOENT || errno == ENOTDIR ? 0 : -errno;
        if (streq(canon, "/") || stat(canon, &st) < 0) {
                int r = streq(canon, "/") ? -EINVAL : -errno;
                free(canon);
                return r;
        }
        for (size_t i = 0; i < s->n_masks; i++)
                if (streq(s->masks[i].path, canon)) {
                        free(canon);
                        return 0;
                }
        if (s->n_masks >= MOUNT_VIEW_MASKS_MAX) {
                free(canon);
                return -E2BIG;
        }
        s->masks[s->n_masks++] = (Mask){.path = canon, .is_dir = S_ISDIR(st.st_mode)};
        return 0;
}

static int masks_resolve(ViewState *s)
{
        const MountViewSpec *spec = s->spec;
        int r;

        for (size_t i = 0; i < ELEMENTSOF(default_masks); i++) {
                r = mask_add(s, default_masks[i]);
                if (r < 0)
                        return r;
        }
        r = mask_add(s, spec->runtime_dir);
        if (r < 0)
                return r;
        r = mask_add(s, spec->state_dir);
        if (r < 0)
                return r;
        for (char *const *m = spec->mask_paths; m && *m; m++) {
                r = mask_add(s, *m);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* The mask a canonical path lies strictly under, or NULL. */
static const Mask *mask_covering(const ViewState *s, const char *path)
{
        for (size_t i = 0; i < s->n_masks; i++) {
                const char *rest = startswith(path, s->masks[i].path);

                if (s->masks[i].is_dir && rest && rest[0] == '/')
                        return &s->masks[i];
        }
        return NULL;
}

static int keep_add(ViewState *s, char *path, bool is_dir, char *link)
{
        for (size_t i = 0; i < s->n_keeps; i++)
                if (streq(s->keeps[i].path, path)) {
                        free(path);
                        free(link);
                        return 0;
                }
        if (s->n_keeps >= MOUNT_VIEW_KEEPS_MAX) {
                free(path);
                free(link);
                return -E2BIG;
        }
        s->keeps[s->n_keeps++] = (Keep){.path = path, .is_dir = is_dir, .link = link, .tree = -EBADF};
        return 0;
}

/* A kept path that is itself a symbolic link under a mask (NixOS's /run/current-system): the link is made
 * again in the mask. *path is the link's canonical place. */
static int keep_link(ViewState *s, const char *path)
{
        _cleanup_free_ char *copy = strdup(path), *dir = NULL, *place = NULL, *target = NULL;
        char *slash = copy ? strrchr(copy, '/') : NULL;
        struct stat st;
        ssize_t n;

        if (!copy)
                return -ENOMEM;
        if (!slash || !slash[1])
                return 0;
        *slash = 0;
        dir = realpath(copy[0] ? copy : "/", NULL);
        if (!dir)
                return errno == ENOENT || errno == ENOTDIR ? 0 : -errno;
        if (asprintf_safe(&place, "%s/%s", streq(dir, "/") ? "" : dir, slash + 1) < 0)
                return -ENOMEM;
        if (lstat(place, &st) < 0)
                return errno == ENOENT ? 0 : -errno;
        if (!S_ISLNK(st.st_mode) || !mask_covering(s, place))
                return 0;
        target = calloc(1, PATH_MAX);
        if (!target)
                return -ENOMEM;
        n = readlink(place, target, PATH_MAX - 1);
        if (n < 0)
                return -errno;
        return keep_add(s, TAKE_PTR(place), false, TAKE_PTR(target));
}

/* A kept path shows read-only through the mask that covers it (resolv.conf in /run/systemd/resolve).
 * Symlinks are followed in the host, so a link names what it points to; a link that is itself under a mask
 * is made again there too. Only files and directories are bound: a socket is what the masks are for. Paths
 * that do not exist or lie under no mask are skipped. */
static int keeps_resolve(ViewState *s)
{
        for (char *const *k = s->spec->keep_paths; k && *k; k++) {
                _cleanup_free_ char *canon = NULL;
                struct stat st;
                int r;

                r = keep_link(s, *k);
                if (r < 0)
                        return r;
                canon = realpath(*k, NULL);
                if (!canon) {
                        if (errno == ENOENT || errno == ENOTDIR)
                                continue;
                        return -errno;
                }
                if (stat(canon, &st) < 0)
                        return -errno;
                if ((!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) || !mask_covering(s, canon))
                        continue;
                r = keep_add(s, TAKE_PTR(canon), S_ISDIR(st.st_mode), NULL);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Clones what the view takes from the host before anything is mounted over the host's paths. */
static int clone_sources(ViewState *s)
{
        char path[64];
        int r;

        s->root_tree = mount_clone_tree(AT_FDCWD, "/", true);
        if (s->root_tree < 0)
                return s->root_tree;
        s->sys_tree = mount_clone_tree(AT_FDCWD, "/sys", true);
        if (s->sys_tree < 0 && s->sys_tree != -ENOENT)
                return s->sys_tree;
        for (size_t i = 0; i < ELEMENTSOF(dev_nodes); i++) {
                r = join3(path, sizeof path, "/dev/", dev_nodes[i], "");
                if (r < 0)
                        return r;
                s->dev_trees[i] = mount_clone_tree(AT_FDCWD, path, false);
                if (s->dev_trees[i] == -ENOENT) /* a host without it: the view has none either */
                        continue;
                if (s->dev_trees[i] < 0)
                        return s->dev_trees[i];
        }
        for (size_t i = 0; i < s->n_keeps; i++) {
                if (s->keeps[i].link)
                        continue;
                s->keeps[i].tree = mount_clone_tree(AT_FDCWD, s->keeps[i].path, s->keeps[i].is_dir);
                if (s->keeps[i].tree < 0)
                        return s->keeps[i].tree;
        }
        return 0;
}

/* A detached tree gets its attributes before it is attached; a kernel without mount_setattr gets them by
 * remount once it is. */
static int tree_attach_with_attr(int fd, const char *path, unsigned attr, bool recursive)
{
        bool later = false;
        int r;

        r = mount_set_tree_attr(fd, attr);
        if (r == -ENOSYS)
                later = true;
        else if (r < 0)
                return r;
        r = mount_attach_tree(fd, path);
        if (r < 0)
                return r;
        if (later)
                return mount_set_path_attr(path, attr, recursive);
        return 0;
}

static int staging_setup(ViewState *s)
{
        const char *staging = s->spec->staging_dir ?: "/tmp";
        int k;

        k = snprintf(s->root, sizeof s->root, "%s/" STAGING_ROOT, streq(staging, "/") ? "" : staging);
        if (k < 0 || (size_t)k >= sizeof s->root)
                return -ENAMETOOLONG;
        if (mount("descartes-staging", staging, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
                  "mode=0700,size=64k,nr_inodes=16") < 0)
                return -errno;
        if (mkdir(s->root, 0755) < 0)
                return -errno;
        return tree_attach_with_attr(s->root_tree, s->root,
                                     MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, true);
}

/* Lazily unmounts everything stacked at path (the host's mounts cloned there), keeping the directory. */
static int detach_all(const char *path)
{
        for (unsigned i = 0; i < 64; i++)
                if (umount2(path, MNT_DETACH | UMOUNT_NOFOLLOW) < 0)
                        return errno == EINVAL ? 0 : -errno;
        return -EBUSY;
}

static int setup_proc(ViewState *s)
{
        char path[PATH_MAX], sub[PATH_MAX];
        int r;

        r = view_path(s, "/proc", path, sizeof path);
        if (r < 0)
                return r;
        r = detach_all(path);
        if (r < 0)
                return r;
        if (mount("proc", path, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
                return -errno;
        for (size_t i = 0; i < ELEMENTSOF(proc_readonly); i++) {
                r = join3(sub, sizeof sub, path, "/", proc_readonly[i]);
                if (r < 0)
                        return r;
                if (access(sub, F_OK) < 0)
                        continue;
                if (mount(sub, sub, NULL, MS_BIND | MS_REC, NULL) < 0)
                        return -errno;
                r = mount_set_path_attr(
                        sub, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC,
                        true);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int setup_sys(ViewState *s)
{
        char path[PATH_MAX];
        int r;

        r = view_path(s, "/sys", path, sizeof path);
        if (r < 0)
                return r;
        if (access(path, F_OK) < 0)
                return 0;
        /* The kernel refuses the same superblock mounted twice on one mount point (EBUSY), and without a
         * network namespace of our own a fresh sysfs is the host's superblock again: detach the clone first.
         */
        r = detach_all(path);
        if (r < 0)
                return r;
        /* That superblock is read-write, and asking for MS_RDONLY on it would be EBUSY too: read-only is
         * made per mount. Where a fresh sysfs is refused, the host's comes back, read-only like the root. */
        if (mount("sysfs", path, "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0) {
                if (errno != EPERM && errno != EACCES)
                        return -errno;
                r = tree_attach_with_attr(
                        s->sys_tree, path,
                        MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC, true);
                if (r < 0)
                        return r;
                s->sys_tree = safe_close(s->sys_tree);
                return 0;
        }
        return mount_set_path_attr(
                path, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC, false);
}

static int setup_dev(ViewState *s)
{
        char dev[PATH_MAX], path[PATH_MAX], opts[64];
        int r;

        r = view_path(s, "/dev", dev, sizeof dev);
        if (r < 0)
                return r;
        r = detach_all(dev);
        if (r < 0)
                return r;
        if (mount("tmpfs", dev, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
                  "mode=0755,size=64k,nr_inodes=64") < 0)
                return -errno;

        for (size_t i = 0; i < ELEMENTSOF(dev_nodes); i++) {
                if (s->dev_trees[i] < 0)
                        continue;
                r = join3(path, sizeof path, dev, "/", dev_nodes[i]);
                if (r < 0)
                        return r;
                r = mount_touch(path, 0644);
                if (r < 0)
                        return r;
                r = tree_attach_with_attr(s->dev_trees[i], path, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC,
                                          false);
                if (r < 0)
                        return r;
                s->dev_trees[i] = safe_close(s->dev_trees[i]);
        }

        r = join3(path, sizeof path, dev, "/pts", "");
        if (r < 0)
                return r;
        if (mkdir(path, 0755) < 0)
                return -errno;
        if (mount("devpts", path, "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620") <
            0)
                return -errno;

        r = join3(path, sizeof path, dev, "/shm", "");
        if (r < 0)
                return r;
        (void)snprintf(opts, sizeof opts, "mode=1777,size=%" PRIu64, s->spec->tmp_size);
        if (mkdir(path, 0755) < 0)
                return -errno;
        if (mount("shm", path, "tmpfs", MS_NOSUID | MS_NODEV, opts) < 0)
                return -errno;

        for (size_t i = 0; i < ELEMENTSOF(dev_symlinks); i++) {
                r = join3(path, sizeof path, dev, "/", dev_symlinks[i].name);
                if (r < 0)
                        return r;
                if (symlink(dev_symlinks[i].target, path) < 0)
                        return -errno;
        }

        return mount_set_path_attr(
                dev, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC, false);
}

static int setup_tmp(ViewState *s)
{
        char path[PATH_MAX], opts[64];
        int r;

        r = view_path(s, "/tmp", path, sizeof path);
        if (r < 0)
                return r;
        r = detach_all(path);
        if (r < 0)
                return r;
        (void)snprintf(opts, sizeof opts, "mode=1777,size=%" PRIu64, s->spec->tmp_size);
        if (mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV, opts) < 0)
                return -errno;
        return 0;
}

/* Covers the view path: an empty tmpfs (left writable until masks_seal(), so that a mount point for the
 * workspace can be made in it; returns 1) over a directory, /dev/null read-only over anything else. */
static int mask_one(ViewState *s, const char *path, bool is_dir)
{
        char null[PATH_MAX];
        struct stat st;
        int r;

        if (lstat(path, &st) < 0)
                return errno == ENOENT ? 0 : -errno; /* under an earlier mask */
        if (is_dir && S_ISDIR(st.st_mode)) {
                if (mount("descartes-mask", path, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
                          "mode=0755,size=64k,nr_inodes=1024") < 0)
                        return -errno;
                return 1;
        }
        if (S_ISDIR(st.st_mode) || S_ISLNK(st.st_mode))
                return -ENOTDIR;
        r = view_path(s, "/dev/null", null, sizeof null);
        if (r < 0)
                return r;
        if (mount(null, path, NULL, MS_BIND, NULL) < 0)
                return -errno;
        /* Not nodev: this is a device node, which must stay usable to read as empty. */
        return mount_set_path_attr(path, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC, false);
}

static int masks_apply(ViewState *s)
{
        char path[PATH_MAX];
        int r;

        for (size_t i = 0; i < s->n_masks; i++) {
                Mask *m = &s->masks[i];

                if (streq(m->path, s->workspace)) /* the workspace is shown on purpose */
                        continue;
                r = view_path(s, m->path, path, sizeof path);
                if (r < 0)
                        return r;
                r = mask_one(s, path, m->is_dir);
                if (r < 0)
                        return r;
                m->mounted = r > 0;
        }
        return 0;
}

/* Binds each kept path read-only at its place inside its mask, while the masks are still writable for the
 * mount points. */
static int keeps_apply(ViewState *s)
{
        char path[PATH_MAX];
        int r;

        for (size_t i = 0; i < s->n_keeps; i++) {
                Keep *k = &s->keeps[i];

                r = view_path(s, k->path, path, sizeof path);
                if (r < 0)
                        return r;
                if (k->link) {
                        char *slash = strrchr(path, '/');

                        *slash = 0;
                        r = mount_mkdir_p(path, 0755);
                        *slash = '/';
                        if (r < 0)
                                return r;
                        if (symlink(k->link, path) < 0 && errno != EEXIST)
                                return -errno;
                        continue;
                }
                if (k->is_dir)
                        r = mount_mkdir_p(path, 0755);
                else {
                        char *slash = strrchr(path, '/');

                        *slash = 0;
                        r = mount_mkdir_p(path, 0755);
                        *slash = '/';
                        if (r >= 0)
                                r = mount_touch(path, 0644);
                }
                if (r < 0)
                        return r;
                r = tree_attach_with_attr(k->tree, path, MASK_ATTR, k->is_dir);
                if (r < 0)
                        return r;
                k->tree = safe_close(k->tree);
        }
        return 0;
}

/* Runs before the workspace is bound, so that each path still leads to our own tmpfs and never to a mount
 * of the host's inside the workspace. Per-mount read-only: no superblock is touched. */
static int masks_seal(ViewState *s)
{
        char path[PATH_MAX];
        int r;

        for (size_t i = 0; i < s->n_masks; i++) {
                if (!s->masks[i].mounted)
                        continue;
                r = view_path(s, s->masks[i].path, path, sizeof path);
                if (r < 0)
                        return r;
                r = mount_set_path_attr(path, MASK_ATTR, false);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Extra masks inside the workspace also cover the same files at the workspace's place in the view. */
static int masks_apply_in_workspace(ViewState *s)
{
        char path[PATH_MAX];
        int r;

        for (size_t i = 0; i < s->n_masks; i++) {
                const char *rest = startswith(s->masks[i].path, s->workspace);

                if (!rest || rest[0] != '/')
                        continue;
                r = view_path2(s, s->target, rest, path, sizeof path);
                if (r < 0)
                        return r;
                r = mask_one(s, path, s->masks[i].is_dir);
                if (r > 0)
                        r = mount_set_path_attr(path, MASK_ATTR, false);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* The workspace's mount point, made inside a mask or /tmp where it lies under one. */
static int workspace_mountpoint(ViewState *s)
{
        char path[PATH_MAX];
        int r;

        r = view_path(s, s->target, path, sizeof path);
        if (r < 0)
                return r;
        r = mount_mkdir_p(path, 0755);
        if (r == -EROFS) /* not under a mask nor /tmp: the host root has no such directory */
                return -ENOENT;
        return r;
}

static int workspace_attach(ViewState *s)
{
        char path[PATH_MAX];
        int r;

        r = view_path(s, s->target, path, sizeof path);
        if (r < 0)
                return r;
        if (s->spec->workspace_tmpfs_size > 0) {
                char opts[128];

                (void)snprintf(opts, sizeof opts, "mode=0700,size=%" PRIu64 ",uid=%u,gid=%u",
                               s->spec->workspace_tmpfs_size, (unsigned)s->spec->workspace_uid,
                               (unsigned)s->spec->workspace_gid);
                if (mount("descartes-workspace", path, "tmpfs", MS_NOSUID | MS_NODEV, opts) < 0)
                        return -errno;
                s->workspace_tree = safe_close(s->workspace_tree);
                return 0;
        }
        r = tree_attach_with_attr(s->workspace_tree, path, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, true);
        if (r < 0)
                return r;
        s->workspace_tree = safe_close(s->workspace_tree);
        return 0;
}

static int enter_root(ViewState *s)
{
        if (chdir(s->root) < 0)
                return -errno;
        /* The old root ends up stacked on top of the new one and is detached at once (pivot_root(2)). */
        if (syscall(SYS_pivot_root, ".", ".") < 0)
                return -errno;
        if (umount2(".", MNT_DETACH) < 0)
                return -errno;
        if (chdir("/") < 0)
                return -errno;
        return 0;
}

#define STEP(name, expr)                                                                                    \
        do {                                                                                                \
                s.step = (name);                                                                            \
                r = (expr);                                                                                 \
                if (r < 0)                                                                                  \
                        goto fail;                                                                          \
        } while (0)

int mount_view_setup(const MountViewSpec *spec, const char **ret_failed_step)
{
        _cleanup_(view_state_done) ViewState s = {
                .spec = spec,
                .workspace_fd = -EBADF,
                .workspace_tree = -EBADF,
                .root_tree = -EBADF,
                .sys_tree = -EBADF,
        };
        int r;

        for (size_t i = 0; i < ELEMENTSOF(s.dev_trees); i++)
                s.dev_trees[i] = -EBADF;

        STEP("arguments", spec_check(spec));
        s.target = spec->workspace_target ?: spec->workspace;
        if (!spec->workspace_target && !path_is_normalized_absolute(spec->workspace))
                STEP("arguments", -EINVAL);

        /* Nothing we mount may propagate back to the host's namespace. */
        STEP("make-private", RET_NERRNO(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL)));
        STEP("workspace", workspace_open(&s));
        STEP("masks", masks_resolve(&s));
        STEP("keep", keeps_resolve(&s));
        STEP("clone", clone_sources(&s));
        STEP("root", staging_setup(&s));
        STEP("proc", setup_proc(&s));
        STEP("sys", setup_sys(&s));
        STEP("dev", setup_dev(&s));
        STEP("tmp", setup_tmp(&s));
        STEP("mask", masks_apply(&s));
        STEP("keep", keeps_apply(&s));
        STEP("workspace-bind", workspace_mountpoint(&s));
        STEP("mask", masks_seal(&s));
        STEP("workspace-bind", workspace_attach(&s));
        STEP("mask", masks_apply_in_workspace(&s));
        STEP("pivot_root", enter_root(&s));
        STEP("cwd", RET_NERRNO(chdir(spec->cwd ?: s.target)));
        return 0;

fail:
        if (ret_failed_step)
                *ret_failed_step = s.step;
        return r;
}

int mount_view_home(const char *workspace_target, char **ret)
{
        if (!path_is_normalized_absolute(workspace_target))
                return -EINVAL;
        return asprintf_safe(ret, "%s/" MOUNT_VIEW_HOME_DIR,
                             streq(workspace_target, "/") ? "" : workspace_target);
}
