/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "agent-cgroup.h"
#include "cleanup.h"
#include "fd-util.h"
#include "log.h"
#include "string-util.h"

#define CG_FILE_MAX (64 * 1024)

static const char *const wanted_controllers[] = {"cpu", "memory", "pids", "io"};

int cg_parse_keyed(const char *text, const char *key, uint64_t *ret)
{
        size_t klen = strlen(key);

        for (const char *p = text; p && *p;) {
                const char *nl = strchr(p, '\n');
                if (strncmp(p, key, klen) == 0 && p[klen] == ' ') {
                        const char *v = p + klen + 1;
                        char *end;
                        if (startswith(v, "max")) {
                                *ret = UINT64_MAX;
                                return 0;
                        }
                        if (*v < '0' || *v > '9')
                                return -EBADMSG;
                        errno = 0;
                        unsigned long long n = strtoull(v, &end, 10);
                        if (errno || (*end != '\n' && *end != 0 && *end != ' '))
                                return -EBADMSG;
                        *ret = n;
                        return 0;
                }
                p = nl ? nl + 1 : NULL;
        }
        return -ENOENT;
}

int cg_parse_value(const char *text, uint64_t *ret)
{
        char *end;

        if (startswith(text, "max")) {
                *ret = UINT64_MAX;
                return 0;
        }
        if (*text < '0' || *text > '9')
                return -EBADMSG;
        errno = 0;
        unsigned long long n = strtoull(text, &end, 10);
        if (errno || (*end != '\n' && *end != 0))
                return -EBADMSG;
        *ret = n;
        return 0;
}

int cg_write(int dirfd, const char *file, const char *value)
{
        return write_string_file_at(dirfd, file, value);
}

int cg_read_keyed(int dirfd, const char *file, const char *key, uint64_t *ret)
{
        _cleanup_free_ char *text = NULL;
        int r = read_file_at(dirfd, file, CG_FILE_MAX, &text, NULL);

        if (r < 0)
                return r;
        return cg_parse_keyed(text, key, ret);
}

int cg_read_value(int dirfd, const char *file, uint64_t *ret)
{
        _cleanup_free_ char *text = NULL;
        int r = read_file_at(dirfd, file, CG_FILE_MAX, &text, NULL);

        if (r < 0)
                return r;
        return cg_parse_value(text, ret);
}

int cg_read_first_pid(int dirfd, pid_t *ret)
{
        _cleanup_free_ char *text = NULL;
        int r = read_file_at(dirfd, "cgroup.procs", CG_FILE_MAX, &text, NULL);
        long v;

        if (r < 0)
                return r;
        if (!*text) {
                *ret = 0;
                return 0;
        }
        v = strtol(text, NULL, 10);
        if (v <= 0 || v > INT32_MAX)
                return -EBADMSG;
        *ret = (pid_t)v;
        return 0;
}

static int split_words(const char *text, char ***ret)
{
        _cleanup_strv_free_ char **l = calloc(1, sizeof(char *));
        _cleanup_free_ char *copy = strdup(text);
        char *save = NULL;
        int r;

        if (!l || !copy)
                return -ENOMEM;
        for (char *w = strtok_r(copy, " \n", &save); w; w = strtok_r(NULL, " \n", &save)) {
                r = strv_extend(&l, w);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(l);
        return 0;
}

static int read_controllers(int dirfd, char ***ret)
{
        _cleanup_free_ char *text = NULL;
        int r = read_file_at(dirfd, "cgroup.controllers", CG_FILE_MAX, &text, NULL);

        if (r < 0)
                return r;
        return split_words(text, ret);
}

/* Enables in dirfd's subtree_control the wanted controllers that `available` lists. */
static int enable_controllers(int dirfd, char *const *available, char ***ret_enabled)
{
        _cleanup_strv_free_ char **enabled = calloc(1, sizeof(char *));
        int r;

        if (!enabled)
                return -ENOMEM;
        for (size_t i = 0; i < ELEMENTSOF(wanted_controllers); i++) {
                char buf[32];
                if (!strv_contains(available, wanted_controllers[i]))
                        continue;
                (void)snprintf(buf, sizeof buf, "+%s", wanted_controllers[i]);
                r = cg_write(dirfd, "cgroup.subtree_control", buf);
                if (r < 0) {
                        log_warning_errno(r, "Cannot enable the %s controller for agents, ignoring: %m",
                                          wanted_controllers[i]);
                        continue;
                }
                r = strv_extend(&enabled, wanted_controllers[i]);
                if (r < 0)
                        return r;
        }
        if (ret_enabled)
                *ret_enabled = TAKE_PTR(enabled);
        return 0;
}

static int enable_list(int dirfd, char *const *list)
{
        for (char *const *c = list; c && *c; c++) {
                char buf[32];
                int r;
                (void)snprintf(buf, sizeof buf, "+%s", *c);
                r = cg_write(dirfd, "cgroup.subtree_control", buf);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int find_own_root(char **ret)
{
        _cleanup_free_ char *mountinfo = NULL, *self = NULL, *mount = NULL;
        int r;

        r = read_file_at(AT_FDCWD, "/proc/self/mountinfo", 4 * 1024 * 1024, &mountinfo, NULL);
        if (r < 0)
                return r;
        /* "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS ... - FSTYPE SOURCE SUPEROPTS" */
        for (char *line = mountinfo, *nl; line && *line; line = nl) {
                char *sep, *fields[5] = {}, *save = NULL;
                nl = strchr(line, '\n');
                if (nl)
                        *nl++ = 0;
                sep = strstr(line, " - ");
                if (!sep || !startswith(sep + 3, "cgroup2 "))
                        continue;
                *sep = 0;
                fields[0] = strtok_r(line, " ", &save);
                for (size_t i = 1; i < 5 && fields[i - 1]; i++)
                        fields[i] = strtok_r(NULL, " ", &save);
                if (!fields[4])
                        continue;
                if (!mount || streq(fields[4], "/sys/fs/cgroup")) {
                        free(mount);
                        mount = strdup(fields[4]);
                        if (!mount)
                                return -ENOMEM;
                }
        }
        if (!mount)
                return -ENOENT;
        r = read_file_at(AT_FDCWD, "/proc/self/cgroup", 64 * 1024, &self, NULL);
        if (r < 0)
                return r;
        for (char *line = self, *nl; line && *line; line = nl) {
                const char *p;
                nl = strchr(line, '\n');
                if (nl)
                        *nl++ = 0;
                p = startswith(line, "0::");
                if (!p)
                        continue;
                if (*p != '/' || strstr(p, "/.."))
                        return -EBADMSG;
                /* we may already sit in ROOT/supervisor after a re-exec */
                size_t n = strlen(p);
                if (n >= 11 && streq(p + n - 11, "/supervisor"))
                        n -= 11;
                return asprintf_safe(ret, "%s%.*s", mount, (int)n, streq(p, "/") ? "" : p);
        }
        return -ENOENT;
}

int agent_cgroup_root_setup(const char *override, AgentCgroupRoot **ret)
{
        _cleanup_(agent_cgroup_root_freep) AgentCgroupRoot *root = NULL;
        _cleanup_close_ int sup = -EBADF;
        struct statfs sfs;
        int r;

        root = calloc(1, sizeof *root);
        if (!root)
                return -ENOMEM;
        root->fd = root->agents_fd = -EBADF;
        if (override) {
                if (override[0] != '/')
                        return log_error_errno(SYNTHETIC_ERRNO(EINVAL), "--cgroup-root must be absolute: %s",
                                               override);
                root->path = strdup(override);
                if (!root->path)
                        return log_oom();
                if (mkdir(root->path, 0755) < 0 && errno != EEXIST)
                        return log_error_errno(-errno, "Cannot create cgroup %s: %m", root->path);
        } else {
                r = find_own_root(&root->path);
                if (r < 0)
                        return log_error_errno(r, "Cannot find our cgroup v2 directory: %m");
        }
        root->fd = open(root->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (root->fd < 0)
                return log_error_errno(-errno, "Cannot open cgroup %s: %m", root->path);
        if (fstatfs(root->fd, &sfs) < 0)
                return log_error_errno(-errno, "Cannot statfs %s: %m", root->path);
        if (sfs.f_type != CGROUP2_SUPER_MAGIC)
                return log_error_errno(SYNTHETIC_ERRNO(ENOTDIR), "%s is not in a cgroup v2 hierarchy.",
                                       root->path);

        if (mkdirat(root->fd, "supervisor", 0755) < 0 && errno != EEXIST)
                return log_error_errno(-errno, "Cannot create %s/supervisor: %m", root->path);
        sup = openat(root->fd, "supervisor", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (sup < 0)
                return log_error_errno(-errno, "Cannot open %s/supervisor: %m", root->path);
        /* "0" moves the whole process, libzmq's threads included */
        r = cg_write(sup, "cgroup.procs", "0");
        if (r < 0)
                return log_error_errno(r, "Cannot move descartesd into %s/supervisor: %m", root->path);

        r = read_controllers(root->fd, &root->controllers);
        if (r < 0)
                return log_error_errno(r, "Cannot read %s/cgroup.controllers: %m", root->path);
        r = enable_controllers(root->fd, root->controllers, &root->enabled);
        if (r < 0)
                return log_error_errno(r, "Cannot enable controllers in %s: %m", root->path);

        if (mkdirat(root->fd, "agents", 0755) < 0 && errno != EEXIST)
                return log_error_errno(-errno, "Cannot create %s/agents: %m", root->path);
        root->agents_fd = openat(root->fd, "agents", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (root->agents_fd < 0)
                return log_error_errno(-errno, "Cannot open %s/agents: %m", root->path);
        r = enable_list(root->agents_fd, root->enabled);
        if (r < 0)
                return log_error_errno(r, "Cannot enable controllers in %s/agents: %m", root->path);
        root->mount = NULL;
        *ret = TAKE_PTR(root);
        return 0;
}

AgentCgroupRoot *agent_cgroup_root_free(AgentCgroupRoot *r)
{
        if (!r)
                return NULL;
        safe_close(r->fd);
        safe_close(r->agents_fd);
        free(r->mount);
        free(r->path);
        strv_free(r->controllers);
        strv_free(r->enabled);
        free(r);
        return NULL;
}

bool agent_cgroup_root_has(const AgentCgroupRoot *r, const char *controller)
{
        return strv_contains(r->enabled, controller);
}

const char *agent_cgroup_missing_controller(const AgentCgroupRoot *r, const ProtoLimits *l)
{
        if (l->has_cpu && !agent_cgroup_root_has(r, "cpu"))
                return "cpu";
        if ((l->has_memory || l->has_swap) && !agent_cgroup_root_has(r, "memory"))
                return "memory";
        if (l->has_pids && !agent_cgroup_root_has(r, "pids"))
                return "pids";
        return NULL;
}

static int write_limits(int fd, const ProtoLimits *l)
{
        char buf[64];
        int r;

        if (l->has_cpu) {
                uint64_t quota = l->cpu_millicores * 100; /* period 100000 us: 1000 millicores = 100000 */
                if (quota < 1000)
                        quota = 1000; /* the kernel refuses quotas under 1 ms */
                (void)snprintf(buf, sizeof buf, "%" PRIu64 " 100000", quota);
                r = cg_write(fd, "cpu.max", buf);
                if (r < 0)
                        return r;
        }
        if (l->has_memory) {
                (void)snprintf(buf, sizeof buf, "%" PRIu64, l->memory);
                r = cg_write(fd, "memory.max", buf);
                if (r < 0)
                        return r;
                (void)cg_write(fd, "memory.oom.group", "1");
        }
        if (l->has_swap) {
                (void)snprintf(buf, sizeof buf, "%" PRIu64, l->swap);
                r = cg_write(fd, "memory.swap.max", buf);
                if (r < 0)
                        return r;
        }
        if (l->has_pids) {
                (void)snprintf(buf, sizeof buf, "%" PRIu64, l->pids);
                r = cg_write(fd, "pids.max", buf);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int open_or_make(int dirfd, const char *name)
{
        if (mkdirat(dirfd, name, 0755) < 0 && errno != EEXIST)
                return -errno;
        return RET_NERRNO(openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC));
}

int agent_cgroup_create(AgentCgroupRoot *r, uid_t owner, const char *id, const ProtoLimits *l,
                        char **ret_path, int *ret_agent_fd, int *ret_shim_fd, int *ret_payload_fd)
{
        _cleanup_close_ int tenant = -EBADF, agent = -EBADF, shim = -EBADF, payload = -EBADF;
        _cleanup_free_ char *path = NULL;
        char tname[32];
        int k;

        (void)snprintf(tname, sizeof tname, "u%u", (unsigned)owner);
        tenant = open_or_make(r->agents_fd, tname);
        if (tenant < 0)
                return tenant;
        k = enable_list(tenant, r->enabled);
        if (k < 0)
                return k;
        if (mkdirat(tenant, id, 0755) < 0)
                return -errno;
        agent = RET_NERRNO(openat(tenant, id, O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        if (agent < 0)
                return agent;
        k = write_limits(agent, l);
        if (k < 0)
                goto fail;
        shim = open_or_make(agent, "shim");
        if (shim < 0) {
                k = shim;
                goto fail;
        }
        payload = open_or_make(agent, "payload");
        if (payload < 0) {
                k = payload;
                goto fail;
        }
        if (asprintf_safe(&path, "%s/agents/%s/%s", r->path, tname, id) < 0) {
                k = -ENOMEM;
                goto fail;
        }
        *ret_path = TAKE_PTR(path);
        *ret_agent_fd = TAKE_FD(agent);
        *ret_shim_fd = TAKE_FD(shim);
        *ret_payload_fd = TAKE_FD(payload);
        return 0;
fail:
        (void)unlinkat(agent, "payload", AT_REMOVEDIR);
        (void)unlinkat(agent, "shim", AT_REMOVEDIR);
        (void)unlinkat(tenant, id, AT_REMOVEDIR);
        return k;
}

int agent_cgroup_remove(AgentCgroupRoot *r, uid_t owner, const char *id)
{
        _cleanup_close_ int tenant = -EBADF, agent = -EBADF;
        char tname[32];

        (void)snprintf(tname, sizeof tname, "u%u", (unsigned)owner);
        tenant = openat(r->agents_fd, tname, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (tenant < 0)
                return errno == ENOENT ? 0 : -errno;
        agent = openat(tenant, id, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (agent < 0)
                return errno == ENOENT ? 0 : -errno;
        if (unlinkat(agent, "payload", AT_REMOVEDIR) < 0 && errno != ENOENT)
                return -errno;
        if (unlinkat(agent, "shim", AT_REMOVEDIR) < 0 && errno != ENOENT)
                return -errno;
        if (unlinkat(tenant, id, AT_REMOVEDIR) < 0 && errno != ENOENT)
                return -errno;
        /* the tenant dir goes when its last agent does; EBUSY just means others remain */
        (void)unlinkat(r->agents_fd, tname, AT_REMOVEDIR);
        return 0;
}
