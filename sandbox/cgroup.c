/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "cgroup.h"
#include "fd-util.h"
#include "string-table.h"
#include "string-util.h"

#define CGROUP_ATTR_MAX    (64U * 1024U)
#define PROC_MOUNTINFO_MAX (16U * 1024U * 1024U)

static const char *const cgroup_part_table[_CGROUP_PART_MAX] = {
        [CGROUP_PART_AGENT] = "agent",
        [CGROUP_PART_SHIM] = "shim",
        [CGROUP_PART_PAYLOAD] = "payload",
};

DEFINE_STRING_TABLE(cgroup_part, CgroupPart, _CGROUP_PART_MAX, _CGROUP_PART_INVALID)

int cgroup_read_attr(int cgroup_fd, const char *attr, char **ret)
{
        return read_file_at(cgroup_fd, attr, CGROUP_ATTR_MAX, ret, NULL);
}

int cgroup_write_attr(int cgroup_fd, const char *attr, const char *value)
{
        return write_string_file_at(cgroup_fd, attr, value);
}

int cgroup_attach_pid(int cgroup_fd, pid_t pid)
{
        char buf[32];

        if (pid < 0)
                return -EINVAL;
        (void)snprintf(buf, sizeof buf, "%d", (int)pid);
        return cgroup_write_attr(cgroup_fd, "cgroup.procs", buf);
}

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

static int read_controllers(int fd, CgroupMask *ret)
{
        _cleanup_free_ char *text = NULL;
        int r;

        r = cgroup_read_attr(fd, "cgroup.controllers", &text);
        if (r < 0)
                return r;
        return cgroup_parse_controllers(text, ret);
}

CgroupRoot *cgroup_root_free(CgroupRoot *root)
{
        if (!root)
                return NULL;
        (void)safe_close(root->fd);
        free(root->path);
        free(root);
        return NULL;
}

static int default_root_path(char **ret)
{
        _cleanup_free_ char *mount = NULL, *mount_root = NULL, *own = NULL;
        size_t n;
        int r;

        r = cgroup_find_mount(&mount, &mount_root);
        if (r < 0)
                return r;
        r = cgroup_get_own_path(&own);
        if (r < 0)
                return r;
        /* After cgroup_root_setup() we live in ROOT/supervisor: ROOT is still the parent. */
        n = strlen(own);
        if (n > strlen("/supervisor") && streq(own + n - strlen("/supervisor"), "/supervisor"))
                own[n - strlen("/supervisor")] = 0;
        return cgroup_path_in_mount(mount, mount_root, own, ret);
}

int cgroup_root_open(const char *override_path, CgroupRoot **ret)
{
        _cleanup_(cgroup_root_freep) CgroupRoot *root = NULL;
        struct statfs sfs;
        int r;

        if (override_path && override_path[0] != '/')
                return -EINVAL;
        root = calloc(1, sizeof *root);
        if (!root)
                return -ENOMEM;
        root->fd = -EBADF;
        if (override_path) {
                root->path = strdup(override_path);
                if (!root->path)
                        return -ENOMEM;
        } else {
                r = default_root_path(&root->path);
                if (r < 0)
                        return r;
        }
        root->fd = open(root->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (root->fd < 0)
                return -errno;
        if (fstatfs(root->fd, &sfs) < 0)
                return -errno;
        if (sfs.f_type != CGROUP2_SUPER_MAGIC)
                return -EMEDIUMTYPE;
        /* Only the hierarchy's real root lacks cgroup.type; its subtree_control belongs to the host. */
        if (faccessat(root->fd, "cgroup.type", F_OK, 0) < 0)
                return errno == ENOENT ? -EPERM : -errno;
        r = read_controllers(root->fd, &root->available);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(root);
        return 0;
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
        return cgroup_write_attr(dirfd, attr, value);
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

int cgroup_root_contains_self(const CgroupRoot *root)
{
        _cleanup_free_ char *self = NULL;
        size_t n = strlen(root->path);
        int r;

        r = cgroup_self_path(&self);
        if (r < 0)
                return r;
        return strncmp(self, root->path, n) == 0 && (self[n] == 0 || self[n] == '/');
}

int cgroup_root_setup(CgroupRoot *root)
{
        int r;

        /* Under systemd with Delegate=yes ROOT is our own unit's cgroup and we must leave it for a leaf.
         * When ROOT is elsewhere (a separate unit holding the agents, so that restarting the daemon's unit
         * never meets a cgroup with controllers enabled: systemd < 254 would fail the start with
         * 219/CGROUP), we stay where we are. */
        r = cgroup_root_contains_self(root);
        if (r < 0)
                return r;
        if (r > 0) {
                r = mkdir_cgroup_at(root->fd, "supervisor");
                if (r < 0)
                        return r;
                /* "0" moves the writing process with all its threads; ROOT must hold no process before
                 * controllers can be enabled in its subtree_control (EBUSY otherwise). */
                r = cgroup_write_attr(root->fd, "supervisor/cgroup.procs", "0");
                if (r < 0)
                        return r;
        }
        r = enable_controllers_at(root->fd, ".", root->available);
        if (r < 0)
                return r;
        r = mkdir_cgroup_at(root->fd, "agents");
        if (r < 0)
                return r;
        return enable_controllers_at(root->fd, "agents", root->available);
}

int cgroup_root_check_limits(const CgroupRoot *root, const CgroupLimits *l, const char **ret_missing)
{
        return cgroup_limits_check(l, root->available, ret_missing);
}

CgroupAgent *cgroup_agent_free(CgroupAgent *a)
{
        if (!a)
                return NULL;
        for (CgroupPart p = 0; p < _CGROUP_PART_MAX; p++)
                (void)safe_close(a->fds[p]);
        free(a->tenant);
        free(a->id);
        free(a->rel_path);
        free(a->path);
        free(a);
        return NULL;
}

static int rmdir_ignore_gone(int dirfd, const char *path)
{
        if (unlinkat(dirfd, path, AT_REMOVEDIR) < 0 && errno != ENOENT)
                return -errno;
        return 0;
}

/* Removes the agent's directories bottom-up, then the tenant's if that was the last agent. */
static int agent_rmdir(int root_fd, const char *tenant, const char *rel_path)
{
        _cleanup_free_ char *shim = NULL, *payload = NULL, *tenant_rel = NULL;
        int r;

        if (asprintf_safe(&shim, "%s/shim", rel_path) < 0 ||
            asprintf_safe(&payload, "%s/payload", rel_path) < 0 ||
            asprintf_safe(&tenant_rel, "agents/%s", tenant) < 0)
                return -ENOMEM;
        r = rmdir_ignore_gone(root_fd, shim);
        if (r < 0)
                return r;
        r = rmdir_ignore_gone(root_fd, payload);
        if (r < 0)
                return r;
        r = rmdir_ignore_gone(root_fd, rel_path);
        if (r < 0)
                return r;
        /* Other agents of the tenant keep its directory busy. */
        if (unlinkat(root_fd, tenant_rel, AT_REMOVEDIR) < 0 && errno != ENOENT && errno != EBUSY &&
            errno != ENOTEMPTY)
                return -errno;
        return 0;
}

static int agent_new(CgroupRoot *root, const char *tenant, const char *id, bool create, CgroupAgent **ret)
{
        _cleanup_(cgroup_agent_freep) CgroupAgent *a = NULL;
        _cleanup_free_ char *tenant_rel = NULL;
        bool created = false;
        int r;

        if (!cgroup_name_is_valid(tenant) || !cgroup_name_is_valid(id))
                return -EINVAL;
        a = calloc(1, sizeof *a);
        if (!a)
                return -ENOMEM;
        for (CgroupPart p = 0; p < _CGROUP_PART_MAX; p++)
                a->fds[p] = -EBADF;
        a->tenant = strdup(tenant);
        a->id = strdup(id);
        if (!a->tenant || !a->id)
                return -ENOMEM;
        if (asprintf_safe(&tenant_rel, "agents/%s", tenant) < 0 ||
            asprintf_safe(&a->rel_path, "%s/a-%s", tenant_rel, id) < 0 ||
            asprintf_safe(&a->path, "%s/%s", root->path, a->rel_path) < 0)
                return -ENOMEM;

        if (create) {
                r = mkdir_cgroup_at(root->fd, tenant_rel);
                if (r < 0)
                        return r;
                r = enable_controllers_at(root->fd, tenant_rel, root->available);
                if (r < 0)
                        goto fail;
                if (mkdirat(root->fd, a->rel_path, 0755) < 0) {
                        r = -errno;
                        goto fail;
                }
                created = true;
                r = enable_controllers_at(root->fd, a->rel_path, root->available);
                if (r < 0)
                        goto fail;
        }

        a->fds[CGROUP_PART_AGENT] = openat(root->fd, a->rel_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (a->fds[CGROUP_PART_AGENT] < 0) {
                r = -errno;
                goto fail;
        }
        for (CgroupPart p = CGROUP_PART_SHIM; p < _CGROUP_PART_MAX; p++) {
                if (create && mkdirat(a->fds[CGROUP_PART_AGENT], cgroup_part_table[p], 0755) < 0) {
                        r = -errno;
                        goto fail;
                }
                a->fds[p] = openat(a->fds[CGROUP_PART_AGENT], cgroup_part_table[p],
                                   O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (a->fds[p] < 0) {
                        r = -errno;
                        goto fail;
                }
        }
        r = read_controllers(a->fds[CGROUP_PART_AGENT], &a->controllers);
        if (r < 0)
                goto fail;
        /* An OOM kill takes the whole payload, never a random part of it; the shim (oom_score_adj -1000, in
         * its own leaf) survives to report it. */
        if (create && (a->controllers & CGROUP_MASK(CGROUP_CONTROLLER_MEMORY))) {
                r = cgroup_write_attr(a->fds[CGROUP_PART_PAYLOAD], "memory.oom.group", "1");
                if (r < 0 && r != -ENOENT)
                        goto fail;
        }

        *ret = TAKE_PTR(a);
        return 0;

fail:
        if (create) {
                if (created)
                        (void)agent_rmdir(root->fd, tenant, a->rel_path);
                else
                        (void)rmdir_ignore_gone(root->fd, tenant_rel);
        }
        return r;
}

int cgroup_agent_create(CgroupRoot *root, const char *tenant, const char *id, CgroupAgent **ret)
{
        return agent_new(root, tenant, id, true, ret);
}

int cgroup_agent_open(CgroupRoot *root, const char *tenant, const char *id, CgroupAgent **ret)
{
        return agent_new(root, tenant, id, false, ret);
}

int cgroup_agent_remove(CgroupRoot *root, CgroupAgent *a)
{
        CgroupEvents ev;
        int r;

        /* Refuse before removing anything: rmdir of the leaves one by one could leave half an agent. */
        r = cgroup_read_events(a->fds[CGROUP_PART_AGENT], &ev);
        if (r < 0 && r != -ENOENT)
                return r;
        if (r >= 0 && ev.populated)
                return -EBUSY;
        return agent_rmdir(root->fd, a->tenant, a->rel_path);
}

int cgroup_agent_fd(const CgroupAgent *a, CgroupPart part)
{
        if (part < 0 || part >= _CGROUP_PART_MAX)
                return -EINVAL;
        return a->fds[part];
}

int cgroup_agent_events_path(const CgroupAgent *a, CgroupPart part, char **ret)
{
        if (part < 0 || part >= _CGROUP_PART_MAX)
                return -EINVAL;
        if (part == CGROUP_PART_AGENT)
                return asprintf_safe(ret, "%s/cgroup.events", a->path);
        return asprintf_safe(ret, "%s/%s/cgroup.events", a->path, cgroup_part_table[part]);
}

typedef struct LimitFile {
        const char *attr;
        uint64_t value;
        bool cpu;
} LimitFile;

int cgroup_agent_set_limits(CgroupAgent *a, const CgroupLimits *l, const char **ret_missing)
{
        const LimitFile files[] = {
                {"cpu.max", l->cpu_millicpus, true},    {"memory.swap.max", l->memory_swap_max, false},
                {"memory.high", l->memory_high, false}, {"memory.max", l->memory_max, false},
                {"pids.max", l->pids_max, false},
        };
        char values[ELEMENTSOF(files)][CGROUP_FORMAT_MAX];
        int r;

        r = cgroup_limits_check(l, a->controllers, ret_missing);
        if (r < 0)
                return r;
        /* Format all first: a bad value writes nothing. */
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
                r = cgroup_write_attr(a->fds[CGROUP_PART_AGENT], files[i].attr, values[i]);
                /* The controller is there but not this file (memory.swap.max without swap accounting):
                 * the limit cannot be enforced either. */
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

int cgroup_agent_freeze(CgroupAgent *a)
{
        return cgroup_write_attr(a->fds[CGROUP_PART_PAYLOAD], "cgroup.freeze", "1");
}

int cgroup_agent_thaw(CgroupAgent *a)
{
        return cgroup_write_attr(a->fds[CGROUP_PART_PAYLOAD], "cgroup.freeze", "0");
}

int cgroup_agent_kill(CgroupAgent *a)
{
        int r = cgroup_write_attr(a->fds[CGROUP_PART_AGENT], "cgroup.kill", "1");
        return r == -ENOENT ? -EOPNOTSUPP : r;
}

int cgroup_agent_attach_pid(CgroupAgent *a, CgroupPart part, pid_t pid)
{
        if (part < 0 || part >= _CGROUP_PART_MAX)
                return -EINVAL;
        return cgroup_attach_pid(a->fds[part], pid);
}

int cgroup_read_keyed(int cgroup_fd, const char *attr, const char *key, uint64_t *ret)
{
        _cleanup_free_ char *text = NULL;
        int r;

        r = cgroup_read_attr(cgroup_fd, attr, &text);
        if (r < 0)
                return r;
        return cgroup_parse_keyed(text, key, ret);
}

int cgroup_read_value(int cgroup_fd, const char *attr, uint64_t *ret)
{
        _cleanup_free_ char *text = NULL;
        int r;

        r = cgroup_read_attr(cgroup_fd, attr, &text);
        if (r < 0)
                return r;
        return cgroup_parse_value(text, ret);
}

int cgroup_read_events(int cgroup_fd, CgroupEvents *ret)
{
        _cleanup_free_ char *text = NULL;
        uint64_t populated, frozen;
        int r;

        r = cgroup_read_attr(cgroup_fd, "cgroup.events", &text);
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
        *ret = (CgroupEvents){.populated = populated == 1, .frozen = frozen == 1};
        return 0;
}

int cgroup_agent_read_events(const CgroupAgent *a, CgroupPart part, CgroupEvents *ret)
{
        if (part < 0 || part >= _CGROUP_PART_MAX)
                return -EINVAL;
        return cgroup_read_events(a->fds[part], ret);
}

int cgroup_read_cpu_stat(int cgroup_fd, CgroupCpuStat *ret)
{
        _cleanup_free_ char *text = NULL;
        CgroupCpuStat s;
        int r;

        r = cgroup_read_attr(cgroup_fd, "cpu.stat", &text);
        if (r < 0)
                return r;
        r = cgroup_parse_keyed(text, "usage_usec", &s.usage_usec);
        if (r >= 0)
                r = cgroup_parse_keyed(text, "user_usec", &s.user_usec);
        if (r >= 0)
                r = cgroup_parse_keyed(text, "system_usec", &s.system_usec);
        if (r < 0)
                return r;
        *ret = s;
        return 0;
}

int cgroup_read_memory_current(int cgroup_fd, uint64_t *ret)
{
        return cgroup_read_value(cgroup_fd, "memory.current", ret);
}

int cgroup_read_memory_peak(int cgroup_fd, uint64_t *ret)
{
        return cgroup_read_value(cgroup_fd, "memory.peak", ret);
}

int cgroup_read_memory_events(int cgroup_fd, CgroupMemoryEvents *ret)
{
        _cleanup_free_ char *text = NULL;
        CgroupMemoryEvents e;
        int r;

        r = cgroup_read_attr(cgroup_fd, "memory.events", &text);
        if (r < 0)
                return r;
        r = cgroup_parse_keyed(text, "high", &e.high);
        if (r >= 0)
                r = cgroup_parse_keyed(text, "max", &e.max);
        if (r >= 0)
                r = cgroup_parse_keyed(text, "oom", &e.oom);
        if (r >= 0)
                r = cgroup_parse_keyed(text, "oom_kill", &e.oom_kill);
        if (r < 0)
                return r;
        *ret = e;
        return 0;
}

int cgroup_read_pids_current(int cgroup_fd, uint64_t *ret)
{
        return cgroup_read_value(cgroup_fd, "pids.current", ret);
}

int cgroup_read_pids_events_max(int cgroup_fd, uint64_t *ret)
{
        return cgroup_read_keyed(cgroup_fd, "pids.events", "max", ret);
}

int cgroup_agent_read_pids_refused(const CgroupAgent *a, uint64_t *ret)
{
        uint64_t agent, payload = 0, shim = 0;
        int r;

        /* Before the hierarchical pids.events (kernel commit 73e75e6fc352, later than Debian 12's 6.1) a
         * fork refused by AGENT/pids.max is counted in the FORKING task's cgroup, payload/ or shim/, and
         * AGENT/ stays at 0; after it, AGENT/ counts it too. Whichever says more is the count. */
        r = cgroup_read_pids_events_max(a->fds[CGROUP_PART_AGENT], &agent);
        if (r < 0)
                return r;
        (void)cgroup_read_pids_events_max(a->fds[CGROUP_PART_PAYLOAD], &payload);
        (void)cgroup_read_pids_events_max(a->fds[CGROUP_PART_SHIM], &shim);
        *ret = MAX(agent, payload + shim);
        return 0;
}
