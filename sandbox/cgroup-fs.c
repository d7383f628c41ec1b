/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "cgroup-driver.h"
#include "cgroup-fs.h"
#include "fd-util.h"
#include "int-map.h"
#include "string-util.h"

#define CGROUP_ATTR_MAX    (64U * 1024U)
#define CGROUP_PROCS_MAX   (1024U * 1024U)
#define PROC_MOUNTINFO_MAX (16U * 1024U * 1024U)

typedef struct FsHandle FsHandle;

typedef struct FsBackend {
        CgroupBackend base;
        CgroupFsLayout layout;
        int fd;         /* ROOT, O_DIRECTORY */
        int inotify_fd; /* every watched handle's files; created with the first watch */
        FsHandle *watched;
        IntMap wds; /* a watch descriptor to the FsHandle that holds it */
} FsBackend;

/* The files whose changes a watch reports (limits: in the directory that holds the agent's limits, AGENT or
 * under units its parent). */
static const struct {
        CgroupPart part;
        bool limits;
        const char *file;
        CgroupChange change;
} watch_table[] = {
        {CGROUP_PART_AGENT, false, "cgroup.events", CGROUP_CHANGE_POPULATED},
        {CGROUP_PART_PAYLOAD, false, "cgroup.events", CGROUP_CHANGE_FROZEN},
        {CGROUP_PART_AGENT, true, "memory.events", CGROUP_CHANGE_COUNTERS},
        /* where the kernel notifies refused forks: see read_pids_refused() */
        {CGROUP_PART_AGENT, true, "pids.events", CGROUP_CHANGE_COUNTERS},
        {CGROUP_PART_PAYLOAD, false, "pids.events", CGROUP_CHANGE_COUNTERS},
};
#define WATCH_MAX ELEMENTSOF(watch_table)

/* A handle keeps no descriptor: each operation opens the directory it needs below ROOT's fd and closes it,
 * so that thousands of agents cost the daemon no descriptors (a few microseconds per operation instead). */
struct FsHandle {
        CgroupHandle base;
        char *tenant_rel; /* "agents/u1000", relative to ROOT */
        char *rel_path;   /* "agents/u1000/a-ID", relative to ROOT */
        /* where the limits are and the kernel counts their hits (memory.events, pids.events): AGENT, or
         * under units the unit's cgroup, its parent (relative to ROOT, and absolute) */
        char *limits_rel;
        char *limits_path;
        CgroupCounters last;    /* the counters read last: they stand once the cgroups are gone */
        CgroupMask controllers; /* the known controllers in AGENT/cgroup.controllers */
        int wd[WATCH_MAX];      /* -1: not watched (absent file) */
        bool watched;           /* linked in FsBackend.watched */
        FsHandle *watch_prev, *watch_next;
};

static const char *const part_dir[_CGROUP_PART_MAX] = {
        [CGROUP_PART_AGENT] = ".",
        [CGROUP_PART_SHIM] = "shim",
        [CGROUP_PART_PAYLOAD] = "payload",
};

static FsBackend *fs_backend(CgroupBackend *b)
{
        return (FsBackend *)b;
}

static FsHandle *fs_handle(CgroupHandle *h)
{
        return (FsHandle *)h;
}

static const FsHandle *fs_handle_const(const CgroupHandle *h)
{
        return (const FsHandle *)h;
}

/* The directory of a part (or, limits, where the limits are), opened now: the caller closes it. */
static int handle_open(const FsHandle *h, CgroupPart part, bool limits)
{
        const FsBackend *b = (const FsBackend *)h->base.backend;
        _cleanup_free_ char *rel = NULL;
        int fd;

        if (limits || part == CGROUP_PART_AGENT)
                fd = openat(b->fd, limits ? h->limits_rel : h->rel_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        else {
                if (asprintf_safe(&rel, "%s/%s", h->rel_path, part_dir[part]) < 0)
                        return -ENOMEM;
                fd = openat(b->fd, rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        }
        return fd < 0 ? -errno : fd;
}

/* ---- attribute I/O on a cgroup directory fd ---- */

static int read_attr(int cgroup_fd, const char *attr, char **ret)
{
        return read_file_at(cgroup_fd, attr, CGROUP_ATTR_MAX, ret, NULL);
}

static int write_attr(int cgroup_fd, const char *attr, const char *value)
{
        return write_string_file_at(cgroup_fd, attr, value);
}

/* One key of a flat-keyed file, or (key NULL) a single-value file; -ENOENT when either is absent. */
static int read_number(int cgroup_fd, const char *attr, const char *key, uint64_t *ret)
{
        _cleanup_free_ char *text = NULL;
        int r;

        r = read_attr(cgroup_fd, attr, &text);
        if (r < 0)
                return r;
        return key ? cgroup_parse_keyed(text, key, ret) : cgroup_parse_value(text, ret);
}

typedef struct Events {
        bool populated;
        bool frozen;
} Events;

static int read_events(int cgroup_fd, Events *ret)
{
        _cleanup_free_ char *text = NULL;
        uint64_t populated, frozen;
        int r;

        r = read_attr(cgroup_fd, "cgroup.events", &text);
        if (r < 0)
                return r;
        r = cgroup_parse_keyed(text, "populated", &populated);
        if (r < 0)
                return r == -ENOENT ? -EBADMSG : r;
        /* "frozen" exists since Linux 5.2; without it nothing is ever frozen. */
        r = cgroup_parse_keyed(text, "frozen", &frozen);
        if (r == -ENOENT)
                frozen = 0;
        else if (r < 0)
                return r;
        if (populated > 1 || frozen > 1)
                return -EBADMSG;
        *ret = (Events){.populated = populated == 1, .frozen = frozen == 1};
        return 0;
}

static int read_controllers(int fd, CgroupMask *ret)
{
        _cleanup_free_ char *text = NULL;
        int r;

        r = read_attr(fd, "cgroup.controllers", &text);
        if (r < 0)
                return r;
        return cgroup_parse_controllers(text, ret);
}

static int attach_pid(int cgroup_fd, pid_t pid)
{
        char buf[32];

        (void)snprintf(buf, sizeof buf, "%d", (int)pid);
        return write_attr(cgroup_fd, "cgroup.procs", buf);
}

/* Moves every process of one cgroup into another. */
static int move_procs(int from_fd, int to_fd)
{
        _cleanup_free_ char *text = NULL;
        _cleanup_free_ pid_t *pids = NULL;
        size_t n = 0;
        int r;

        r = read_file_at(from_fd, "cgroup.procs", CGROUP_PROCS_MAX, &text, NULL);
        if (r < 0)
                return r;
        r = cgroup_parse_procs(text, &pids, &n);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                r = attach_pid(to_fd, pids[i]);
                /* one that exited meanwhile */
                if (r < 0 && r != -ESRCH)
                        return r;
        }
        return 0;
}

/* ---- where we are ---- */

int cgroup_find_mount(char **ret_mount, char **ret_root)
{
        _cleanup_free_ char *text = NULL;
        int r;

        r = read_file_at(AT_FDCWD, "/proc/self/mountinfo", PROC_MOUNTINFO_MAX, &text, NULL);
        if (r < 0)
                return r;
        return cgroup_parse_mountinfo(text, ret_mount, ret_root);
}

int cgroup_get_own_path(char **ret_path)
{
        _cleanup_free_ char *text = NULL;
        int r;

        r = read_file_at(AT_FDCWD, "/proc/self/cgroup", CGROUP_ATTR_MAX, &text, NULL);
        if (r < 0)
                return r;
        return cgroup_parse_proc_self_cgroup(text, ret_path);
}

int cgroup_self_path(char **ret)
{
        _cleanup_free_ char *mount = NULL, *mount_root = NULL, *own = NULL;
        int r;

        r = cgroup_find_mount(&mount, &mount_root);
        if (r < 0)
                return r;
        r = cgroup_get_own_path(&own);
        if (r < 0)
                return r;
        return cgroup_path_in_mount(mount, mount_root, own, ret);
}

static bool ends_with_leaf(const char *path, const char *leaf)
{
        size_t n = strlen(path), k = strlen(leaf);

        return n > k + 1 && path[n - k - 1] == '/' && streq(path + n - k, leaf);
}

int cgroup_move_self_to_leaf(const char *leaf, char **ret_delegated)
{
        _cleanup_free_ char *self = NULL, *procs = NULL;
        _cleanup_close_ int fd = -EBADF;
        int r;

        if (!cgroup_name_is_valid(leaf))
                return -EINVAL;
        r = cgroup_self_path(&self);
        if (r < 0)
                return r;
        if (ends_with_leaf(self, leaf)) {
                /* a restart of the process: it is in its leaf already */
                self[strlen(self) - strlen(leaf) - 1] = 0;
        } else {
                fd = open(self, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (fd < 0)
                        return -errno;
                if (mkdirat(fd, leaf, 0755) < 0 && errno != EEXIST)
                        return -errno;
                if (asprintf_safe(&procs, "%s/cgroup.procs", leaf) < 0)
                        return -ENOMEM;
                /* "0": the writing process, with all its threads */
                r = write_attr(fd, procs, "0");
                if (r < 0)
                        return r;
        }
        if (ret_delegated)
                *ret_delegated = TAKE_PTR(self);
        return 0;
}

/* ---- the backend ---- */

static void fs_free(CgroupBackend *bb)
{
        FsBackend *b = fs_backend(bb);

        /* handles still watched keep their wds in an fd that goes now */
        for (FsHandle *h = b->watched; h; h = h->watch_next)
                h->watched = false;
        (void)safe_close(b->fd);
        (void)safe_close(b->inotify_fd);
        int_map_done(&b->wds);
        free(b->base.path);
        free(b);
}

static int default_root_path(char **ret)
{
        _cleanup_free_ char *mount = NULL, *mount_root = NULL, *own = NULL;
        int r;

        r = cgroup_find_mount(&mount, &mount_root);
        if (r < 0)
                return r;
        r = cgroup_get_own_path(&own);
        if (r < 0)
                return r;
        /* After setup we live in ROOT/supervisor: ROOT is still the parent. */
        if (ends_with_leaf(own, "supervisor"))
                own[strlen(own) - strlen("/supervisor")] = 0;
        return cgroup_path_in_mount(mount, mount_root, own, ret);
}

int cgroup_fs_contains_self(const CgroupBackend *b)
{
        _cleanup_free_ char *self = NULL;
        size_t n = strlen(b->path);
        int r;

        r = cgroup_self_path(&self);
        if (r < 0)
                return r;
        return strncmp(self, b->path, n) == 0 && (self[n] == 0 || self[n] == '/');
}

static int mkdir_cgroup_at(int dirfd, const char *path)
{
        if (mkdirat(dirfd, path, 0755) < 0 && errno != EEXIST)
                return -errno;
        return 0;
}

static int enable_controllers_at(int dirfd, const char *path, CgroupMask mask)
{
        char value[CGROUP_SUBTREE_CONTROL_MAX];
        _cleanup_free_ char *attr = NULL;
        int r;

        if (mask == 0)
                return 0;
        r = cgroup_mask_to_subtree_control(mask, value, sizeof value);
        if (r < 0)
                return r;
        r = asprintf_safe(&attr, "%s/cgroup.subtree_control", path);
        if (r < 0)
                return r;
        return write_attr(dirfd, attr, value);
}

static int fs_setup(CgroupBackend *bb)
{
        FsBackend *b = fs_backend(bb);
        int r;

        /* Under systemd with Delegate=yes ROOT is our own unit's cgroup and we must leave it for a leaf.
         * When ROOT is elsewhere (a separate unit holding the agents, so that restarting the daemon's unit
         * never meets a cgroup with controllers enabled: systemd < 254 would fail the start with
         * 219/CGROUP), we stay where we are. */
        r = cgroup_fs_contains_self(bb);
        if (r < 0)
                return r;
        if (r > 0) {
                r = mkdir_cgroup_at(b->fd, "supervisor");
                if (r < 0)
                        return r;
                /* "0" moves the writing process with all its threads; ROOT must hold no process before
                 * controllers can be enabled in its subtree_control (EBUSY otherwise). */
                r = write_attr(b->fd, "supervisor/cgroup.procs", "0");
                if (r < 0)
                        return r;
        }
        r = enable_controllers_at(b->fd, ".", b->base.controllers);
        if (r < 0)
                return r;
        r = mkdir_cgroup_at(b->fd, "agents");
        if (r < 0)
                return r;
        return enable_controllers_at(b->fd, "agents", b->base.controllers);
}

/* ---- watches ---- */

static void handle_unwatch(FsHandle *h)
{
        FsBackend *b = fs_backend(h->base.backend);

        for (size_t i = 0; i < WATCH_MAX; i++) {
                if (h->wd[i] >= 0 && h->watched) {
                        (void)inotify_rm_watch(b->inotify_fd, h->wd[i]);
                        /* two files of one handle may share a wd (a unit's limits dir): remove it once */
                        if (int_map_get(&b->wds, h->wd[i]) == h)
                                (void)int_map_remove(&b->wds, h->wd[i]);
                }
                h->wd[i] = -1;
        }
        if (!h->watched)
                return;
        if (h->watch_prev)
                h->watch_prev->watch_next = h->watch_next;
        else
                b->watched = h->watch_next;
        if (h->watch_next)
                h->watch_next->watch_prev = h->watch_prev;
        h->watch_prev = h->watch_next = NULL;
        h->watched = false;
}

static int fs_watch_fd(CgroupBackend *bb)
{
        FsBackend *b = fs_backend(bb);

        if (b->inotify_fd < 0) {
                b->inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
                if (b->inotify_fd < 0)
                        return -errno;
        }
        return b->inotify_fd;
}

static int fs_watch(CgroupHandle *hh)
{
        FsHandle *h = fs_handle(hh);
        FsBackend *b = fs_backend(hh->backend);
        int fd, r;

        handle_unwatch(h);
        fd = fs_watch_fd(hh->backend);
        if (fd < 0)
                return fd;
        h->watch_next = b->watched;
        if (b->watched)
                b->watched->watch_prev = h;
        b->watched = h;
        h->watched = true;
        for (size_t i = 0; i < WATCH_MAX; i++) {
                _cleanup_free_ char *path = NULL;

                if (asprintf_safe(&path, "%s/%s/%s", watch_table[i].limits ? h->limits_path : h->base.path,
                                  watch_table[i].limits ? "." : part_dir[watch_table[i].part],
                                  watch_table[i].file) < 0) {
                        r = -ENOMEM;
                        goto fail;
                }
                h->wd[i] = inotify_add_watch(fd, path, IN_MODIFY);
                if (h->wd[i] < 0) {
                        r = -errno;
                        h->wd[i] = -1;
                        /* a controller's file the cgroup lacks: nothing to count there */
                        if (r == -ENOENT && watch_table[i].change == CGROUP_CHANGE_COUNTERS)
                                continue;
                        goto fail;
                }
                r = int_map_put(&b->wds, h->wd[i], h);
                if (r < 0)
                        goto fail;
        }
        return 0;
fail:
        handle_unwatch(h);
        return r;
}

static FsHandle *find_watch(FsBackend *b, int wd, size_t *ret_index)
{
        FsHandle *h = int_map_get(&b->wds, wd);

        if (!h)
                return NULL;
        for (size_t i = 0; i < WATCH_MAX; i++)
                if (h->wd[i] == wd) {
                        *ret_index = i;
                        return h;
                }
        return NULL;
}

static int fs_dispatch(CgroupBackend *bb)
{
        FsBackend *b = fs_backend(bb);
        union {
                struct inotify_event ev;
                char raw[4096];
        } buf;

        if (b->inotify_fd < 0)
                return 0;
        for (;;) {
                ssize_t n = read(b->inotify_fd, &buf, sizeof buf);

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return errno == EAGAIN ? 0 : -errno;
                }
                for (char *p = buf.raw; p < buf.raw + n;) {
                        const struct inotify_event *e = (const struct inotify_event *)p;
                        size_t i;
                        FsHandle *h;

                        p += sizeof *e + e->len;
                        if (e->mask & IN_Q_OVERFLOW) {
                                /* lost events: everyone re-reads everything */
                                for (FsHandle *w = b->watched, *next; w; w = next) {
                                        next = w->watch_next;
                                        w->base.watch_fn(&w->base,
                                                         CGROUP_CHANGE_POPULATED | CGROUP_CHANGE_FROZEN |
                                                                 CGROUP_CHANGE_COUNTERS,
                                                         w->base.watch_userdata);
                                }
                                continue;
                        }
                        /* looked up again per event: a callback may have freed its handle */
                        h = find_watch(b, e->wd, &i);
                        if (!h)
                                continue;
                        if (e->mask & IN_IGNORED) {
                                /* the file went with its cgroup (removed behind our back) */
                                (void)int_map_remove(&b->wds, e->wd);
                                h->wd[i] = -1;
                                continue;
                        }
                        h->base.watch_fn(&h->base, watch_table[i].change, h->base.watch_userdata);
                }
        }
}

/* ---- agents ---- */

static void fs_handle_free(CgroupHandle *hh)
{
        FsHandle *h = fs_handle(hh);

        handle_unwatch(h);
        free(h->limits_rel);
        free(h->limits_path);
        free(h->tenant_rel);
        free(h->rel_path);
        free(h->base.path);
        free(h);
}

static int rmdir_ignore_gone(int dirfd, const char *path)
{
        if (unlinkat(dirfd, path, AT_REMOVEDIR) < 0 && errno != ENOENT)
                return -errno;
        return 0;
}

/* Removes the agent's directories bottom-up, then the tenant's if that was the last agent. Under a layout of
 * units AGENT and its parts only: the unit's cgroup and its tenant's are systemd's. */
static int agent_rmdir(const FsBackend *b, const char *tenant_rel, const char *rel_path)
{
        _cleanup_free_ char *shim = NULL, *payload = NULL;
        int r;

        if (asprintf_safe(&shim, "%s/shim", rel_path) < 0 ||
            asprintf_safe(&payload, "%s/payload", rel_path) < 0)
                return -ENOMEM;
        r = rmdir_ignore_gone(b->fd, shim);
        if (r < 0)
                return r;
        r = rmdir_ignore_gone(b->fd, payload);
        if (r < 0)
                return r;
        r = rmdir_ignore_gone(b->fd, rel_path);
        if (r < 0 || b->layout.units)
                return r;
        /* Other agents of the tenant keep its directory busy. */
        if (unlinkat(b->fd, tenant_rel, AT_REMOVEDIR) < 0 && errno != ENOENT && errno != EBUSY &&
            errno != ENOTEMPTY)
                return -errno;
        return 0;
}

static int tenant_rel_path(const FsBackend *b, uid_t owner, char **ret)
{
        return asprintf_safe(ret, "%s%u%s", b->layout.tenant_prefix, (unsigned)owner,
                             b->layout.tenant_suffix);
}

static int fs_set_limits(CgroupHandle *hh, const CgroupLimits *l, const char **ret_missing);

/* A unit's cgroup (AGENT's parent) starts with the processes systemd put there (a scope needs one): they go
 * to a leaf holder/ beside AGENT, then controllers are enabled below the unit. */
static int unit_prepare(FsBackend *b, const char *rel_path, CgroupMask *ret_controllers)
{
        _cleanup_free_ char *unit = strdup(rel_path);
        _cleanup_close_ int unit_fd = -EBADF, holder_fd = -EBADF;
        CgroupMask controllers;
        char *slash;
        int r;

        if (!unit)
                return -ENOMEM;
        slash = strrchr(unit, '/');
        if (!slash)
                return -EINVAL;
        *slash = 0;
        unit_fd = openat(b->fd, unit, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (unit_fd < 0)
                return -errno;
        r = mkdir_cgroup_at(unit_fd, "holder");
        if (r < 0)
                return r;
        holder_fd = openat(unit_fd, "holder", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (holder_fd < 0)
                return -errno;
        r = move_procs(unit_fd, holder_fd);
        if (r < 0)
                return r;
        r = read_controllers(unit_fd, &controllers);
        if (r < 0)
                return r;
        *ret_controllers = controllers;
        return enable_controllers_at(unit_fd, ".", controllers);
}

static int agent_new(FsBackend *b, uid_t owner, const char *id, const CgroupLimits *limits,
                     const char **ret_missing, CgroupHandle **ret)
{
        _cleanup_free_ FsHandle *h = NULL;
        int agent_fd = -EBADF; /* closed by hand: a cleanup after TAKE_PTR(h) misleads gcc's analyzer */
        bool create = limits != NULL, created = false;
        int r;

        h = calloc(1, sizeof *h);
        if (!h)
                return -ENOMEM;
        h->base.backend = &b->base;
        for (size_t i = 0; i < WATCH_MAX; i++)
                h->wd[i] = -1;
        if (tenant_rel_path(b, owner, &h->tenant_rel) < 0 ||
            asprintf_safe(&h->rel_path, "%s/%s%s%s", h->tenant_rel, b->layout.agent_prefix, id,
                          b->layout.agent_suffix) < 0 ||
            asprintf_safe(&h->base.path, "%s/%s", b->base.path, h->rel_path) < 0) {
                r = -ENOMEM;
                goto fail;
        }

        if (create && b->layout.units) {
                CgroupMask unit_controllers = 0;

                r = unit_prepare(b, h->rel_path, &unit_controllers);
                if (r < 0)
                        goto fail;
                if (mkdirat(b->fd, h->rel_path, 0755) < 0) {
                        r = -errno;
                        goto fail;
                }
                created = true;
                r = enable_controllers_at(b->fd, h->rel_path, unit_controllers);
                if (r < 0)
                        goto fail;
        }
        if (create && !b->layout.units) {
                r = mkdir_cgroup_at(b->fd, h->tenant_rel);
                if (r < 0)
                        goto fail;
                r = enable_controllers_at(b->fd, h->tenant_rel, b->base.controllers);
                if (r < 0)
                        goto fail;
                if (mkdirat(b->fd, h->rel_path, 0755) < 0) {
                        r = -errno;
                        goto fail;
                }
                created = true;
                r = enable_controllers_at(b->fd, h->rel_path, b->base.controllers);
                if (r < 0)
                        goto fail;
        }

        agent_fd = openat(b->fd, h->rel_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (agent_fd < 0) {
                r = -errno;
                goto fail;
        }
        for (CgroupPart p = CGROUP_PART_SHIM; p < _CGROUP_PART_MAX; p++) {
                if (create && mkdirat(agent_fd, part_dir[p], 0755) < 0) {
                        r = -errno;
                        goto fail;
                }
                created = true;
                /* an adopted agent's parts must be there too */
                if (faccessat(agent_fd, part_dir[p], F_OK, AT_SYMLINK_NOFOLLOW) < 0) {
                        r = -errno;
                        goto fail;
                }
        }
        r = read_controllers(agent_fd, &h->controllers);
        if (r < 0)
                goto fail;
        if (asprintf_safe(&h->limits_path, "%s", h->base.path) < 0 ||
            asprintf_safe(&h->limits_rel, "%s", h->rel_path) < 0) {
                r = -ENOMEM;
                goto fail;
        }
        if (b->layout.units) {
                *strrchr(h->limits_path, '/') = 0;
                *strrchr(h->limits_rel, '/') = 0;
        }
        if (create) {
                /* An OOM kill takes the whole payload, never a random part of it; the shim (oom_score_adj
                 * -1000, in its own leaf) survives to report it. */
                if (h->controllers & CGROUP_MASK(CGROUP_CONTROLLER_MEMORY)) {
                        r = write_attr(agent_fd, "payload/memory.oom.group", "1");
                        if (r < 0 && r != -ENOENT)
                                goto fail;
                }
                /* under units the limits are the unit's properties, set by its owner */
                r = b->layout.units ? 0 : fs_set_limits(&h->base, limits, ret_missing);
                if (r < 0)
                        goto fail;
        }

        (void)safe_close(agent_fd);
        *ret = &TAKE_PTR(h)->base;
        return 0;

fail:
        (void)safe_close(agent_fd);
        if (create && h->rel_path) {
                if (created)
                        (void)agent_rmdir(b, h->tenant_rel, h->rel_path);
                else if (h->tenant_rel && !b->layout.units)
                        (void)rmdir_ignore_gone(b->fd, h->tenant_rel);
        }
        free(h->limits_rel);
        free(h->limits_path);
        free(h->tenant_rel);
        free(h->rel_path);
        free(h->base.path);
        return r;
}

static int fs_create(CgroupBackend *b, uid_t owner, const char *id, const CgroupLimits *l,
                     const char **ret_missing, CgroupHandle **ret)
{
        return agent_new(fs_backend(b), owner, id, l, ret_missing, ret);
}

static int fs_open_agent(CgroupBackend *b, uid_t owner, const char *id, CgroupHandle **ret)
{
        return agent_new(fs_backend(b), owner, id, NULL, NULL, ret);
}

static int fs_remove(CgroupHandle *hh)
{
        FsHandle *h = fs_handle(hh);
        _cleanup_close_ int fd = -EBADF;
        Events ev;
        int r;

        /* Refuse before removing anything: rmdir of the leaves one by one could leave half an agent. */
        fd = handle_open(h, CGROUP_PART_AGENT, false);
        r = fd < 0 ? fd : read_events(fd, &ev);
        if (r < 0 && r != -ENOENT)
                return r;
        if (r >= 0 && ev.populated)
                return -EBUSY;
        r = agent_rmdir(fs_backend(hh->backend), h->tenant_rel, h->rel_path);
        if (r < 0)
                return r;
        handle_unwatch(h);
        return 0;
}

static int fs_spawn_fd(const CgroupHandle *h, CgroupPart part)
{
        return handle_open(fs_handle_const(h), part, false);
}

/* controllers: those the cgroup has (its cgroup.controllers): the files of others are not tried, which
 * saves `list` three failing opens per agent on a host without them */
static int read_usage_at(int fd, CgroupMask controllers, CgroupUsage *ret)
{
        bool memory = controllers & CGROUP_MASK(CGROUP_CONTROLLER_MEMORY);
        CgroupUsage u = {};

        /* cpu.stat exists without the cpu controller; the others need theirs */
        u.has_cpu = read_number(fd, "cpu.stat", "usage_usec", &u.cpu_usec) >= 0;
        u.has_memory_current = memory && read_number(fd, "memory.current", NULL, &u.memory_current) >= 0;
        u.has_memory_peak = memory && read_number(fd, "memory.peak", NULL, &u.memory_peak) >= 0;
        u.has_pids = (controllers & CGROUP_MASK(CGROUP_CONTROLLER_PIDS)) &&
                     read_number(fd, "pids.current", NULL, &u.pids_current) >= 0;
        *ret = u;
        return 0;
}

typedef struct LimitFile {
        const char *attr;
        uint64_t value;
        bool cpu;
} LimitFile;

/* Writes the set limits of l into the cgroup fd, whose controllers are given; formats all first, so that a
 * bad value writes nothing. */
static int write_limits(int fd, CgroupMask controllers, const CgroupLimits *l, const char **ret_missing)
{
        const LimitFile files[] = {
                {"cpu.max", l->cpu_millicpus, true},    {"memory.swap.max", l->memory_swap_max, false},
                {"memory.high", l->memory_high, false}, {"memory.max", l->memory_max, false},
                {"pids.max", l->pids_max, false},
        };
        char values[ELEMENTSOF(files)][CGROUP_FORMAT_MAX];
        int r;

        r = cgroup_limits_check(l, controllers, ret_missing);
        if (r < 0)
                return r;
        for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                if (files[i].value == CGROUP_LIMIT_UNSET)
                        continue;
                r = files[i].cpu ? cgroup_format_cpu_max(files[i].value, values[i], sizeof values[i])
                                 : cgroup_format_limit(files[i].value, values[i], sizeof values[i]);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                if (files[i].value == CGROUP_LIMIT_UNSET)
                        continue;
                r = write_attr(fd, files[i].attr, values[i]);
                /* The controller is there but not this file (memory.swap.max without swap accounting):
                 * a limit cannot be enforced either, while "max" holds already. */
                if (r == -ENOENT && files[i].value == CGROUP_LIMIT_INFINITY)
                        continue;
                if (r == -ENOENT) {
                        if (ret_missing)
                                *ret_missing = files[i].attr;
                        return -EOPNOTSUPP;
                }
                if (r < 0)
                        return r;
        }
        return 0;
}

static int fs_set_limits(CgroupHandle *hh, const CgroupLimits *l, const char **ret_missing)
{
        FsHandle *h = fs_handle(hh);
        _cleanup_close_ int fd = handle_open(h, CGROUP_PART_AGENT, false);

        if (fd < 0)
                return fd;
        return write_limits(fd, h->controllers, l, ret_missing);
}

/* ---- tenants ---- */

static int fs_tenant_limits(CgroupBackend *bb, uid_t owner, bool create, const CgroupLimits *l,
                            const char **ret_missing)
{
        FsBackend *b = fs_backend(bb);
        _cleanup_free_ char *rel = NULL;
        _cleanup_close_ int fd = -EBADF;
        bool created = false;
        CgroupMask controllers;
        int r;

        if (tenant_rel_path(b, owner, &rel) < 0)
                return -ENOMEM;
        if (create) {
                if (mkdirat(b->fd, rel, 0755) >= 0)
                        created = true;
                else if (errno != EEXIST)
                        return -errno;
                r = enable_controllers_at(b->fd, rel, b->base.controllers);
                if (r < 0)
                        goto fail;
        }
        fd = openat(b->fd, rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0) {
                r = -errno;
                goto fail;
        }
        r = read_controllers(fd, &controllers);
        if (r >= 0)
                r = write_limits(fd, controllers, l, ret_missing);
        if (r >= 0)
                return 0;
fail:
        if (created)
                (void)rmdir_ignore_gone(b->fd, rel);
        return r;
}

static int fs_tenant_read_usage(CgroupBackend *bb, uid_t owner, CgroupUsage *ret)
{
        FsBackend *b = fs_backend(bb);
        _cleanup_free_ char *rel = NULL;
        _cleanup_close_ int fd = -EBADF;

        if (tenant_rel_path(b, owner, &rel) < 0)
                return -ENOMEM;
        fd = openat(b->fd, rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        return read_usage_at(fd, CGROUP_MASK_ALL, ret);
}

/* PAYLOAD's file, opened in one openat below ROOT (no directory fd: a pause's few syscalls count). */
static int payload_file_open(const FsHandle *h, const char *file, int flags)
{
        const FsBackend *b = (const FsBackend *)h->base.backend;
        _cleanup_free_ char *rel = NULL;
        int fd;

        if (asprintf_safe(&rel, "%s/%s/%s", h->rel_path, part_dir[CGROUP_PART_PAYLOAD], file) < 0)
                return -ENOMEM;
        fd = openat(b->fd, rel, flags | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW);
        return fd < 0 ? -errno : fd;
}

static int fs_freeze(CgroupHandle *hh, bool freeze)
{
        _cleanup_close_ int fd = payload_file_open(fs_handle(hh), "cgroup.freeze", O_WRONLY);

        if (fd < 0)
                return fd;
        if (write(fd, freeze ? "1" : "0", 1) != 1)
                return -errno;
        return 0;
}

static int fs_freezer_open(CgroupHandle *hh)
{
        return payload_file_open(fs_handle(hh), "cgroup.events", O_RDONLY);
}

static int fs_kill(CgroupHandle *hh)
{
        _cleanup_close_ int fd = handle_open(fs_handle(hh), CGROUP_PART_AGENT, false);
        int r;

        if (fd < 0)
                return fd;
        r = write_attr(fd, "cgroup.kill", "1");
        return r == -ENOENT ? -EOPNOTSUPP : r;
}

static int fs_read_usage(CgroupHandle *hh, CgroupUsage *ret)
{
        _cleanup_close_ int fd = handle_open(fs_handle(hh), CGROUP_PART_AGENT, false);

        if (fd < 0)
                return fd;
        return read_usage_at(fd, fs_handle(hh)->controllers, ret);
}

static int fs_read_state(CgroupHandle *hh, CgroupState *ret)
{
        FsHandle *h = fs_handle(hh);
        _cleanup_close_ int agent_fd = -EBADF, payload_fd = -EBADF;
        uint64_t want = 0;
        Events agent, payload;
        int r;

        agent_fd = handle_open(h, CGROUP_PART_AGENT, false);
        if (agent_fd < 0)
                return agent_fd;
        r = read_events(agent_fd, &agent);
        if (r < 0)
                return r;
        payload_fd = handle_open(h, CGROUP_PART_PAYLOAD, false);
        if (payload_fd < 0)
                return payload_fd;
        r = read_events(payload_fd, &payload);
        if (r < 0)
                return r;
        /* cgroup.freeze exists since Linux 5.2, like "frozen" */
        r = read_number(payload_fd, "cgroup.freeze", NULL, &want);
        if (r < 0 && r != -ENOENT)
                return r;
        *ret = (CgroupState){
                .populated = agent.populated,
                .frozen = payload.frozen,
                .freeze_requested = want != 0,
        };
        return 0;
}

/* Forks refused by the agent's pids.max so far, wherever the running kernel counts them. */
static int read_pids_refused(const FsHandle *h, int limits_fd, uint64_t *ret)
{
        _cleanup_close_ int payload_fd = -EBADF, shim_fd = -EBADF;
        uint64_t agent, payload = 0, shim = 0;
        int r;

        /* Before the hierarchical pids.events (kernel commit 73e75e6fc352, later than Debian 12's 6.1) a
         * fork refused by AGENT/pids.max is counted in the FORKING task's cgroup, payload/ or shim/, and
         * AGENT/ stays at 0; after it, AGENT/ counts it too. Whichever says more is the count. */
        r = read_number(limits_fd, "pids.events", "max", &agent);
        if (r < 0)
                return r;
        payload_fd = handle_open(h, CGROUP_PART_PAYLOAD, false);
        if (payload_fd >= 0)
                (void)read_number(payload_fd, "pids.events", "max", &payload);
        shim_fd = handle_open(h, CGROUP_PART_SHIM, false);
        if (shim_fd >= 0)
                (void)read_number(shim_fd, "pids.events", "max", &shim);
        *ret = MAX(agent, payload + shim);
        return 0;
}

static int fs_read_counters(CgroupHandle *hh, CgroupCounters *ret)
{
        static const char *const memory_keys[_CGROUP_COUNTER_MAX] = {
                [CGROUP_COUNTER_MEMORY_HIGH] = "high",
                [CGROUP_COUNTER_MEMORY_MAX] = "max",
                [CGROUP_COUNTER_OOM_KILL] = "oom_kill",
        };
        FsHandle *h = fs_handle(hh);
        _cleanup_free_ char *text = NULL;
        _cleanup_close_ int limits_fd = handle_open(h, CGROUP_PART_AGENT, true);
        CgroupCounters c = {};

        /* a file the missing controller lacks leaves its counters absent, and so do cgroups gone */
        /* where the limits are: their hits are counted there (and above), never below */
        if (limits_fd >= 0 && read_attr(limits_fd, "memory.events", &text) >= 0)
                for (CgroupCounter k = 0; k < _CGROUP_COUNTER_MAX; k++)
                        if (memory_keys[k])
                                c.present[k] = cgroup_parse_keyed(text, memory_keys[k], &c.value[k]) >= 0;
        c.present[CGROUP_COUNTER_PIDS_MAX] =
                limits_fd >= 0 && read_pids_refused(h, limits_fd, &c.value[CGROUP_COUNTER_PIDS_MAX]) >= 0;
        /* Counters only grow. A unit's cgroup may go before the daemon reads the agent's end (systemd < 253
         * stops a scope on any OOM kill in it and prunes its cgroup): what was read stands. */
        for (CgroupCounter k = 0; k < _CGROUP_COUNTER_MAX; k++) {
                if (!h->last.present[k])
                        continue;
                c.value[k] = c.present[k] ? MAX(c.value[k], h->last.value[k]) : h->last.value[k];
                c.present[k] = true;
        }
        h->last = c;
        *ret = c;
        return 0;
}

static int fs_list_pids(CgroupHandle *hh, CgroupPart part, pid_t **ret, size_t *ret_n)
{
        _cleanup_free_ char *text = NULL;
        _cleanup_close_ int fd = handle_open(fs_handle(hh), part, false);
        int r;

        if (fd < 0)
                return fd;
        r = read_file_at(fd, "cgroup.procs", CGROUP_PROCS_MAX, &text, NULL);
        if (r < 0)
                return r;
        return cgroup_parse_procs(text, ret, ret_n);
}

static int fs_attach_pid(CgroupHandle *hh, CgroupPart part, pid_t pid)
{
        _cleanup_close_ int fd = handle_open(fs_handle(hh), part, false);

        if (fd < 0)
                return fd;
        return attach_pid(fd, pid);
}

static const CgroupBackendOps fs_ops = {
        .free = fs_free,
        .setup = fs_setup,
        .watch_fd = fs_watch_fd,
        .dispatch = fs_dispatch,
        .create = fs_create,
        .open = fs_open_agent,
        .tenant_limits = fs_tenant_limits,
        .tenant_read_usage = fs_tenant_read_usage,
        .handle_free = fs_handle_free,
        .remove = fs_remove,
        .spawn_fd = fs_spawn_fd,
        .set_limits = fs_set_limits,
        .freeze = fs_freeze,
        .freezer_open = fs_freezer_open,
        .kill = fs_kill,
        .read_usage = fs_read_usage,
        .read_state = fs_read_state,
        .read_counters = fs_read_counters,
        .list_pids = fs_list_pids,
        .attach_pid = fs_attach_pid,
        .watch = fs_watch,
};

static const CgroupFsLayout default_layout = {
        .tenant_prefix = "agents/u",
        .tenant_suffix = "",
        .agent_prefix = "a-",
        .agent_suffix = "",
};

int cgroup_fs_open(const char *override_path, CgroupBackend **ret)
{
        return cgroup_fs_open_layout(override_path, &default_layout, ret);
}

int cgroup_fs_open_layout(const char *override_path, const CgroupFsLayout *layout, CgroupBackend **ret)
{
        _cleanup_(cgroup_backend_freep) CgroupBackend *bb = NULL;
        FsBackend *b;
        struct statfs sfs;
        int r;

        if (!ret || !layout || (override_path && override_path[0] != '/'))
                return -EINVAL;
        b = calloc(1, sizeof *b);
        if (!b)
                return -ENOMEM;
        b->base.ops = &fs_ops;
        b->layout = *layout;
        b->fd = b->inotify_fd = -EBADF;
        bb = &b->base;
        if (override_path) {
                b->base.path = strdup(override_path);
                if (!b->base.path)
                        return -ENOMEM;
        } else {
                r = default_root_path(&b->base.path);
                if (r < 0)
                        return r;
        }
        b->fd = open(b->base.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (b->fd < 0)
                return -errno;
        if (fstatfs(b->fd, &sfs) < 0)
                return -errno;
        if (sfs.f_type != CGROUP2_SUPER_MAGIC)
                return -EMEDIUMTYPE;
        /* Only the hierarchy's real root lacks cgroup.type; its subtree_control belongs to the host. */
        if (faccessat(b->fd, "cgroup.type", F_OK, 0) < 0)
                return errno == ENOENT ? -EPERM : -errno;
        r = read_controllers(b->fd, &b->base.controllers);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(bb);
        return 0;
}
