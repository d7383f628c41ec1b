/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cgroup-util.h"
#include "mountinfo.h"
#include "cleanup.h"
#include "string-table.h"
#include "string-util.h"

static const char *const cgroup_controller_table[_CGROUP_CONTROLLER_MAX] = {
        [CGROUP_CONTROLLER_CPU] = "cpu",
        [CGROUP_CONTROLLER_MEMORY] = "memory",
        [CGROUP_CONTROLLER_PIDS] = "pids",
        [CGROUP_CONTROLLER_IO] = "io",
};

DEFINE_TO_STRING(cgroup_controller, CgroupController, _CGROUP_CONTROLLER_MAX)

static CgroupController controller_from_mem(const char *s, size_t n)
{
        for (CgroupController c = 0; c < _CGROUP_CONTROLLER_MAX; c++)
                if (strlen(cgroup_controller_table[c]) == n && memcmp(cgroup_controller_table[c], s, n) == 0)
                        return c;
        return _CGROUP_CONTROLLER_INVALID;
}

CgroupController cgroup_controller_from_string(const char *s)
{
        if (!s)
                return _CGROUP_CONTROLLER_INVALID;
        return controller_from_mem(s, strlen(s));
}

int cgroup_mask_to_subtree_control(CgroupMask mask, char *buf, size_t n)
{
        size_t pos = 0;

        if (n == 0)
                return -ENOBUFS;
        buf[0] = 0;
        for (CgroupController c = 0; c < _CGROUP_CONTROLLER_MAX; c++) {
                if (!(mask & CGROUP_MASK(c)))
                        continue;
                int k = snprintf(buf + pos, n - pos, "%s+%s", pos > 0 ? " " : "",
                                 cgroup_controller_table[c]);
                if (k < 0)
                        return -EIO;
                if ((size_t)k >= n - pos)
                        return -ENOBUFS;
                pos += (size_t)k;
        }
        return 0;
}

CgroupMask cgroup_limits_required(const CgroupLimits *l)
{
        CgroupMask m = 0;

        if (l->cpu_millicpus != CGROUP_LIMIT_UNSET)
                m |= CGROUP_MASK(CGROUP_CONTROLLER_CPU);
        if (l->memory_max != CGROUP_LIMIT_UNSET || l->memory_high != CGROUP_LIMIT_UNSET ||
            l->memory_swap_max != CGROUP_LIMIT_UNSET)
                m |= CGROUP_MASK(CGROUP_CONTROLLER_MEMORY);
        if (l->pids_max != CGROUP_LIMIT_UNSET)
                m |= CGROUP_MASK(CGROUP_CONTROLLER_PIDS);
        return m;
}

int cgroup_limits_check(const CgroupLimits *l, CgroupMask available, const char **ret_missing)
{
        CgroupMask missing = cgroup_limits_required(l) & ~available;

        for (CgroupController c = 0; c < _CGROUP_CONTROLLER_MAX; c++)
                if (missing & CGROUP_MASK(c)) {
                        if (ret_missing)
                                *ret_missing = cgroup_controller_table[c];
                        return -EOPNOTSUPP;
                }
        return 0;
}

static int format_checked(char *buf, size_t n, int k)
{
        if (k < 0)
                return -EIO;
        if ((size_t)k >= n)
                return -ENOBUFS;
        return 0;
}

int cgroup_format_cpu_max(uint64_t millicpus, char *buf, size_t n)
{
        const uint64_t per_millicpu = CGROUP_CPU_PERIOD_USEC / 1000;

        if (millicpus == CGROUP_LIMIT_UNSET || millicpus == 0)
                return -EINVAL;
        if (millicpus == CGROUP_LIMIT_INFINITY)
                return format_checked(buf, n, snprintf(buf, n, "max %" PRIu64, CGROUP_CPU_PERIOD_USEC));
        if (millicpus > UINT64_MAX / per_millicpu || millicpus * per_millicpu < 1000)
                return -ERANGE;
        return format_checked(
                buf, n,
                snprintf(buf, n, "%" PRIu64 " %" PRIu64, millicpus * per_millicpu, CGROUP_CPU_PERIOD_USEC));
}

int cgroup_format_limit(uint64_t value, char *buf, size_t n)
{
        if (value == CGROUP_LIMIT_UNSET)
                return -EINVAL;
        if (value == CGROUP_LIMIT_INFINITY)
                return format_checked(buf, n, snprintf(buf, n, "max"));
        return format_checked(buf, n, snprintf(buf, n, "%" PRIu64, value));
}

static const char *line_end(const char *p)
{
        const char *e = strchr(p, '\n');
        return e ? e : p + strlen(p);
}

static bool field_eq(const char *f, size_t n, const char *s)
{
        return strlen(s) == n && memcmp(f, s, n) == 0;
}

static int mount_rank(const char *path)
{
        if (streq(path, "/sys/fs/cgroup"))
                return 0;
        if (streq(path, "/sys/fs/cgroup/unified"))
                return 1;
        return 2;
}

int cgroup_parse_mountinfo(const char *text, char **ret_mount, char **ret_root)
{
        _cleanup_(mountinfo_table_done) MountInfoTable t = {};
        const MountInfo *best = NULL;
        int best_rank = 3, r;

        if (!text)
                return -EINVAL;
        r = mountinfo_parse(text, &t);
        if (r < 0)
                return r;
        for (size_t i = 0; i < t.n; i++) {
                const MountInfo *m = &t.entries[i];
                int rank;

                if (!streq(m->fstype, "cgroup2"))
                        continue;
                if (m->mount_point[0] != '/' || m->root[0] != '/')
                        return -EBADMSG;
                rank = mount_rank(m->mount_point);
                if (rank < best_rank) {
                        best = m;
                        best_rank = rank;
                }
        }
        if (!best)
                return -ENOENT;
        _cleanup_free_ char *mount = strdup(best->mount_point), *root = strdup(best->root);
        if (!mount || !root)
                return -ENOMEM;
        *ret_mount = TAKE_PTR(mount);
        if (ret_root)
                *ret_root = TAKE_PTR(root);
        return 0;
}

int cgroup_path_in_mount(const char *mount, const char *mount_root, const char *cgroup, char **ret)
{
        const char *rest;
        char *path;

        if (!mount || !mount_root || !cgroup || mount[0] != '/' || mount_root[0] != '/' || cgroup[0] != '/')
                return -EINVAL;
        if (streq(mount_root, "/"))
                rest = cgroup;
        else {
                rest = startswith(cgroup, mount_root);
                if (!rest || (*rest != 0 && *rest != '/'))
                        return -ENOENT;
        }
        if (*rest == 0 || streq(rest, "/"))
                path = strdup(mount);
        else if (asprintf(&path, "%s%s", streq(mount, "/") ? "" : mount, rest) < 0)
                path = NULL;
        if (!path)
                return -ENOMEM;
        *ret = path;
        return 0;
}

int cgroup_parse_proc_self_cgroup(const char *text, char **ret_path)
{
        if (!text)
                return -EINVAL;
        for (const char *p = text; *p;) {
                const char *end = line_end(p), *path = startswith(p, "0::");

                if (path && path <= end) {
                        size_t n = (size_t)(end - path);
                        char *copy;

                        if (n == 0 || path[0] != '/')
                                return -EBADMSG;
                        /* Outside our cgroup namespace the kernel shows "/../..": not a path we can use. */
                        for (const char *c = path; c < end; c++)
                                if (*c == '/' && end - c >= 3 && c[1] == '.' && c[2] == '.' &&
                                    (end - c == 3 || c[3] == '/'))
                                        return -EBADMSG;
                        if (n >= 10 && memcmp(end - 10, " (deleted)", 10) == 0)
                                return -EBADMSG;
                        copy = strndup(path, n);
                        if (!copy)
                                return -ENOMEM;
                        *ret_path = copy;
                        return 0;
                }
                p = *end ? end + 1 : end;
        }
        return -ENOENT;
}

static int parse_value_mem(const char *s, size_t n, uint64_t *ret)
{
        uint64_t v = 0;

        if (field_eq(s, n, "max")) {
                *ret = UINT64_MAX;
                return 0;
        }
        if (n == 0)
                return -EBADMSG;
        for (size_t i = 0; i < n; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return -EBADMSG;
                unsigned d = (unsigned)(s[i] - '0');
                if (v > (UINT64_MAX - d) / 10)
                        return -ERANGE;
                v = v * 10 + d;
        }
        *ret = v;
        return 0;
}

int cgroup_parse_keyed(const char *text, const char *key, uint64_t *ret)
{
        size_t klen;

        if (!text || !key)
                return -EINVAL;
        klen = strlen(key);
        if (klen == 0 || strpbrk(key, " \n"))
                return -EINVAL;
        for (const char *p = text; *p;) {
                const char *end = line_end(p);

                if ((size_t)(end - p) > klen && memcmp(p, key, klen) == 0 && p[klen] == ' ')
                        return parse_value_mem(p + klen + 1, (size_t)(end - p - (ptrdiff_t)klen - 1), ret);
                p = *end ? end + 1 : end;
        }
        return -ENOENT;
}

int cgroup_parse_value(const char *text, uint64_t *ret)
{
        size_t n;

        if (!text)
                return -EINVAL;
        n = strlen(text);
        if (n > 0 && text[n - 1] == '\n')
                n--;
        return parse_value_mem(text, n, ret);
}

int cgroup_parse_procs(const char *text, pid_t **ret, size_t *ret_n)
{
        _cleanup_free_ pid_t *pids = NULL;
        size_t n = 0, cap = 0;

        if (!text || !ret || !ret_n)
                return -EINVAL;
        for (const char *p = text; *p;) {
                const char *end = line_end(p);
                uint64_t v;
                int r;

                r = parse_value_mem(p, (size_t)(end - p), &v);
                if (r < 0 || v == 0 || v == UINT64_MAX || v > INT32_MAX)
                        return -EBADMSG;
                if (n == cap) {
                        size_t c = cap ? cap * 2 : 16;
                        pid_t *m = reallocarray(pids, c, sizeof *pids);
                        if (!m)
                                return -ENOMEM;
                        pids = m;
                        cap = c;
                }
                pids[n++] = (pid_t)v;
                p = *end ? end + 1 : end;
        }
        *ret = TAKE_PTR(pids);
        *ret_n = n;
        return 0;
}

int cgroup_parse_controllers(const char *text, CgroupMask *ret)
{
        CgroupMask m = 0;

        if (!text)
                return -EINVAL;
        for (const char *p = text; *p;) {
                size_t n = strcspn(p, " \n");
                if (n > 0) {
                        CgroupController c = controller_from_mem(p, n);
                        if (c >= 0)
                                m |= CGROUP_MASK(c);
                }
                p += n;
                if (*p)
                        p++;
        }
        *ret = m;
        return 0;
}

bool cgroup_name_is_valid(const char *s)
{
        size_t n;

        if (!s)
                return false;
        n = strlen(s);
        if (n == 0 || n > CGROUP_NAME_MAX)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
                      (s[i] >= '0' && s[i] <= '9') || s[i] == '-' || s[i] == '_'))
                        return false;
        return true;
}
