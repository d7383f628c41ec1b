/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "cgroup-driver.h"
#include "cgroup-util.h"
#include "string-table.h"

static const char *const cgroup_part_table[_CGROUP_PART_MAX] = {
        [CGROUP_PART_AGENT] = "agent",
        [CGROUP_PART_SHIM] = "shim",
        [CGROUP_PART_PAYLOAD] = "payload",
};

DEFINE_STRING_TABLE(cgroup_part, CgroupPart, _CGROUP_PART_MAX, _CGROUP_PART_INVALID)

static const char *const cgroup_counter_limit_table[_CGROUP_COUNTER_MAX] = {
        [CGROUP_COUNTER_MEMORY_HIGH] = "memory.high",
        [CGROUP_COUNTER_MEMORY_MAX] = "memory.max",
        [CGROUP_COUNTER_PIDS_MAX] = "pids.max",
};

DEFINE_TO_STRING(cgroup_counter_limit, CgroupCounter, _CGROUP_COUNTER_MAX)

CgroupBackend *cgroup_backend_free(CgroupBackend *b)
{
        if (b)
                b->ops->free(b);
        return NULL;
}

int cgroup_backend_setup(CgroupBackend *b)
{
        if (!b)
                return -EINVAL;
        return b->ops->setup(b);
}

const char *cgroup_backend_path(const CgroupBackend *b)
{
        return b ? b->path : NULL;
}

CgroupMask cgroup_backend_controllers(const CgroupBackend *b)
{
        return b ? b->controllers : 0;
}

int cgroup_backend_check_limits(const CgroupBackend *b, const CgroupLimits *l, const char **ret_missing)
{
        if (!b || !l)
                return -EINVAL;
        return cgroup_limits_check(l, b->controllers, ret_missing);
}

int cgroup_backend_watch_fd(CgroupBackend *b)
{
        if (!b)
                return -EINVAL;
        return b->ops->watch_fd(b);
}

int cgroup_backend_dispatch(CgroupBackend *b)
{
        if (!b)
                return -EINVAL;
        return b->ops->dispatch(b);
}

int cgroup_backend_create(CgroupBackend *b, uid_t owner, const char *id, const CgroupLimits *l,
                          const char **ret_missing, CgroupHandle **ret)
{
        CgroupLimits none = CGROUP_LIMITS_UNSET;

        if (!b || !ret || !cgroup_name_is_valid(id))
                return -EINVAL;
        if (!b->ops->create)
                return -EWOULDBLOCK;
        return b->ops->create(b, owner, id, l ?: &none, ret_missing, ret);
}

int cgroup_backend_open(CgroupBackend *b, uid_t owner, const char *id, CgroupHandle **ret)
{
        if (!b || !ret || !cgroup_name_is_valid(id))
                return -EINVAL;
        return b->ops->open(b, owner, id, ret);
}

int cgroup_backend_create_async(CgroupBackend *b, uid_t owner, const char *id, const CgroupLimits *tenant,
                                const CgroupLimits *l, CgroupCreatedFn fn, void *userdata,
                                CgroupHandle **ret, CgroupCreation **ret_pending,
                                CgroupCreateError *ret_error)
{
        CgroupLimits none = CGROUP_LIMITS_UNSET;
        CgroupCreateError e = {};
        int r;

        if (!b || !fn || !ret || !ret_pending || !ret_error || !cgroup_name_is_valid(id))
                return -EINVAL;
        *ret = NULL;
        *ret_pending = NULL;
        *ret_error = e;
        if (b->ops->create_async) {
                r = b->ops->create_async(b, owner, id, tenant, l ?: &none, fn, userdata, ret_pending,
                                         ret_error);
                if (r < 0 && ret_error->error == 0)
                        ret_error->error = r;
                return r;
        }
        /* no one else to wait for: both steps at once */
        if (tenant) {
                r = b->ops->tenant_limits(b, owner, true, tenant, &e.missing);
                if (r < 0) {
                        e.error = r;
                        e.tenant = true;
                        *ret_error = e;
                        return r;
                }
        }
        r = b->ops->create(b, owner, id, l ?: &none, &e.missing, ret);
        if (r < 0) {
                e.error = r;
                *ret_error = e;
                return r;
        }
        return 0;
}

void cgroup_creation_cancel(CgroupCreation *c)
{
        if (c)
                c->backend->ops->creation_cancel(c);
}

int cgroup_backend_tenant_prepare(CgroupBackend *b, uid_t owner, const CgroupLimits *l,
                                  const char **ret_missing)
{
        if (!b || !l)
                return -EINVAL;
        return b->ops->tenant_limits(b, owner, true, l, ret_missing);
}

int cgroup_backend_tenant_set_limits(CgroupBackend *b, uid_t owner, const CgroupLimits *l,
                                     const char **ret_missing)
{
        if (!b || !l)
                return -EINVAL;
        return b->ops->tenant_limits(b, owner, false, l, ret_missing);
}

int cgroup_backend_tenant_read_usage(CgroupBackend *b, uid_t owner, CgroupUsage *ret)
{
        if (!b || !ret)
                return -EINVAL;
        return b->ops->tenant_read_usage(b, owner, ret);
}

CgroupHandle *cgroup_handle_free(CgroupHandle *h)
{
        if (h)
                h->backend->ops->handle_free(h);
        return NULL;
}

int cgroup_handle_remove(CgroupHandle *h)
{
        if (!h)
                return -EINVAL;
        return h->backend->ops->remove(h);
}

const char *cgroup_handle_path(const CgroupHandle *h)
{
        return h ? h->path : NULL;
}

static bool part_ok(CgroupPart part)
{
        return part >= 0 && part < _CGROUP_PART_MAX;
}

int cgroup_handle_spawn_fd(const CgroupHandle *h, CgroupPart part)
{
        if (!h || (part != CGROUP_PART_SHIM && part != CGROUP_PART_PAYLOAD))
                return -EINVAL;
        return h->backend->ops->spawn_fd(h, part);
}

int cgroup_handle_set_limits(CgroupHandle *h, const CgroupLimits *l, const char **ret_missing)
{
        if (!h || !l)
                return -EINVAL;
        return h->backend->ops->set_limits(h, l, ret_missing);
}

int cgroup_handle_freeze(CgroupHandle *h)
{
        if (!h)
                return -EINVAL;
        return h->backend->ops->freeze(h, true);
}

int cgroup_handle_thaw(CgroupHandle *h)
{
        if (!h)
                return -EINVAL;
        return h->backend->ops->freeze(h, false);
}

int cgroup_handle_freezer_open(CgroupHandle *h)
{
        if (!h)
                return -EINVAL;
        return h->backend->ops->freezer_open(h);
}

int cgroup_freezer_read(int fd)
{
        char buf[256];
        ssize_t n;
        uint64_t frozen;
        int r;

        n = pread(fd, buf, sizeof buf - 1, 0);
        if (n < 0)
                return -errno;
        buf[n] = 0;
        /* "frozen" exists since Linux 5.2; without it nothing is ever frozen (as in read_state) */
        r = cgroup_parse_keyed(buf, "frozen", &frozen);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        return frozen > 1 ? -EBADMSG : (int)frozen;
}

int cgroup_handle_kill(CgroupHandle *h)
{
        if (!h)
                return -EINVAL;
        return h->backend->ops->kill(h);
}

int cgroup_handle_read_usage(CgroupHandle *h, CgroupUsage *ret)
{
        if (!h || !ret)
                return -EINVAL;
        return h->backend->ops->read_usage(h, ret);
}

int cgroup_handle_read_state(CgroupHandle *h, CgroupState *ret)
{
        if (!h || !ret)
                return -EINVAL;
        return h->backend->ops->read_state(h, ret);
}

int cgroup_handle_read_counters(CgroupHandle *h, CgroupCounters *ret)
{
        if (!h || !ret)
                return -EINVAL;
        return h->backend->ops->read_counters(h, ret);
}

int cgroup_handle_list_pids(CgroupHandle *h, CgroupPart part, pid_t **ret, size_t *ret_n)
{
        if (!h || !part_ok(part) || !ret || !ret_n)
                return -EINVAL;
        return h->backend->ops->list_pids(h, part, ret, ret_n);
}

int cgroup_handle_has_pid(CgroupHandle *h, CgroupPart part, pid_t pid)
{
        _cleanup_free_ pid_t *pids = NULL;
        size_t n = 0;
        int r;

        if (pid <= 0)
                return -EINVAL;
        r = cgroup_handle_list_pids(h, part, &pids, &n);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++)
                if (pids[i] == pid)
                        return 1;
        return 0;
}

int cgroup_handle_attach_pid(CgroupHandle *h, CgroupPart part, pid_t pid)
{
        if (!h || !part_ok(part) || pid < 0)
                return -EINVAL;
        return h->backend->ops->attach_pid(h, part, pid);
}

int cgroup_handle_watch(CgroupHandle *h, CgroupWatchFn fn, void *userdata)
{
        if (!h || !fn)
                return -EINVAL;
        h->watch_fn = fn;
        h->watch_userdata = userdata;
        return h->backend->ops->watch(h);
}
