/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent-cgroup.h"
#include "analyzer.h"
#include "cgroup-fs.h"
#include "cgroup-systemd.h"
#include "cleanup.h"
#include "log.h"
#include "string-util.h"

static int open_cgroupfs(const char *override, CgroupBackend **ret)
{
        int k;

        /* a given root is ours to make (tests pass a fresh directory) */
        if (override && override[0] == '/' && mkdir(override, 0755) < 0 && errno != EEXIST)
                return log_error_errno(-errno, "Cannot create the cgroup %s: %m", override);
        k = cgroup_fs_open(override, ret);
        if (k == -EMEDIUMTYPE)
                return log_error_errno(k, "%s is not in a cgroup v2 hierarchy.",
                                       override ?: "Our own cgroup");
        if (k == -EPERM)
                return log_error_errno(
                        k, "descartesd runs in the root of the cgroup hierarchy, which it never "
                           "manages: start it under systemd (Delegate=yes) or pass --cgroup-root.");
        if (k < 0)
                return log_error_errno(k, "Cannot open the cgroup %s: %m", override ?: "of descartesd");
        k = cgroup_backend_setup(*ret);
        if (k < 0)
                return log_error_errno(k, "Cannot set up the cgroup subtree %s (supervisor/, agents/): %m",
                                       cgroup_backend_path(*ret));
        return 0;
}

static int on_cgroup_watch(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        AgentCgroupRoot *r = userdata;
        int k;

        k = cgroup_backend_dispatch(r->backend);
        if (k < 0)
                log_warning_errno(k, "Cannot read the notifications of the agents' cgroups: %m");
        return 0;
}

/* descartes-cgroup-holder: beside the daemon in a build tree, else where it is installed. */
static int holder_path(char **ret)
{
        _cleanup_free_ char *exe = NULL;
        char *slash;

        exe = realpath("/proc/self/exe", NULL);
        if (exe && (slash = strrchr(exe, '/'))) {
                *slash = 0;
                if (asprintf_safe(ret, "%s/descartes-cgroup-holder", exe) < 0)
                        return -ENOMEM;
                if (access(*ret, X_OK) >= 0)
                        return 0;
                free(*ret);
        }
        *ret = strdup(DESCARTES_HOLDER_PATH);
        return *ret ? 0 : -ENOMEM;
}

/* The systemd driver, or 0 with *ret NULL when there is no systemd to drive (the reason logged). */
static int open_systemd(const char *driver, sd_event *event, CgroupBackend **ret)
{
        _cleanup_free_ char *holder = NULL;
        int k;

        *ret = NULL;
        if (cgroup_systemd_usable() <= 0) {
                log_full(driver ? LOG_WARNING : LOG_INFO,
                         "%s: systemd does not run this host or descartesd is not one of its units; using "
                         "the cgroupfs driver.",
                         driver ? "cgroup_driver = systemd" : "No systemd");
                return 0;
        }
        k = holder_path(&holder);
        if (k < 0)
                return log_oom();
        k = cgroup_systemd_open(event, holder, ret);
        if (k < 0) {
                log_warning_errno(k, "Cannot reach systemd over D-Bus (%m); using the cgroupfs driver.");
                *ret = NULL;
        }
        return 0;
}

int agent_cgroup_root_setup(const char *driver, const char *override, sd_event *event, AgentCgroupRoot **ret)
{
        _cleanup_(agent_cgroup_root_freep) AgentCgroupRoot *r = NULL;
        int k, fd;

        if (driver && !streq(driver, "systemd") && !streq(driver, "cgroupfs"))
                return log_error_errno(-EINVAL, "cgroup_driver = %s: expected systemd or cgroupfs.", driver);
        r = calloc(1, sizeof *r);
        if (!r)
                return log_oom();
        /* the default: systemd's when it runs us; a given root means cgroupfs (the tests pass one) */
        if ((!driver && !override) || (driver && streq(driver, "systemd"))) {
                k = open_systemd(driver, event, &r->backend);
                if (k < 0)
                        return k;
        }
        if (r->backend) {
                r->driver = "systemd";
                if (override)
                        log_warning(
                                "cgroup_root %s ignored: it is the cgroupfs driver's, the systemd driver "
                                "places agents in descartes.slice.",
                                override);
                k = cgroup_backend_setup(r->backend);
                if (k < 0)
                        return log_error_errno(k, "Cannot start descartes.slice through systemd: %m");
        } else {
                r->driver = "cgroupfs";
                if (!driver && override)
                        log_info("cgroup_root is set: using the cgroupfs driver.");
                k = open_cgroupfs(override, &r->backend);
                if (k < 0)
                        return k;
        }
        /* analyzer false positives: r owns both (agent_cgroup_root_free, r's cleanup, frees them) */
        ANALYZER_IGNORE_LEAK_BEGIN
        r->path = strdup(cgroup_backend_path(r->backend));
        if (!r->path)
                return log_oom();
        r->enabled = calloc(1, sizeof(char *));
        if (!r->enabled)
                return log_oom();
        ANALYZER_IGNORE_END
        for (CgroupController c = 0; c < _CGROUP_CONTROLLER_MAX; c++)
                if ((cgroup_backend_controllers(r->backend) & CGROUP_MASK(c)) &&
                    strv_extend(&r->enabled, cgroup_controller_to_string(c)) < 0)
                        return log_oom();
        fd = cgroup_backend_watch_fd(r->backend);
        if (fd < 0)
                return log_error_errno(fd, "Cannot watch the agents' cgroups: %m");
        k = sd_event_add_io(event, &r->watch_source, fd, EPOLLIN, on_cgroup_watch, r);
        if (k < 0)
                return log_error_errno(k, "Cannot watch the agents' cgroups: %m");
        (void)sd_event_source_set_description(r->watch_source, "agent-cgroups");
        *ret = TAKE_PTR(r);
        return 0;
}

AgentCgroupRoot *agent_cgroup_root_free(AgentCgroupRoot *r)
{
        if (!r)
                return NULL;
        sd_event_source_disable_unref(r->watch_source);
        cgroup_backend_free(r->backend);
        free(r->path);
        strv_free(r->enabled);
        free(r);
        return NULL;
}

bool agent_cgroup_root_has(const AgentCgroupRoot *r, const char *controller)
{
        return strv_contains(r->enabled, controller);
}

CgroupLimits agent_cgroup_limits(const ProtoLimits *l)
{
        CgroupLimits c = CGROUP_LIMITS_UNSET;

        if (l->has_cpu)
                c.cpu_millicpus = MAX(l->cpu_millicores, (uint64_t)10); /* the kernel's 1 ms quota minimum */
        if (l->has_memory)
                c.memory_max = l->memory;
        if (l->has_swap)
                c.memory_swap_max = l->swap;
        if (l->has_pids)
                c.pids_max = l->pids;
        return c;
}

const char *agent_cgroup_missing_controller(const AgentCgroupRoot *r, const ProtoLimits *l)
{
        CgroupLimits c = agent_cgroup_limits(l);
        const char *missing = NULL;

        if (cgroup_backend_check_limits(r->backend, &c, &missing) < 0)
                return missing ?: "unknown";
        return NULL;
}

int agent_cgroup_failure(uid_t owner, const CgroupCreateError *e, Failure *ret_failure)
{
        const char *why = e->msg[0] ? e->msg : strerror(-e->error);

        if (e->tenant && e->error == -EOPNOTSUPP)
                return failure_set(ret_failure, e->error, PROTO_ERROR_UNENFORCEABLE,
                                   "the tenant quota of uid %u cannot be enforced here: %s is missing",
                                   (unsigned)owner, e->missing ?: "a controller");
        if (e->tenant)
                return failure_set(ret_failure, e->error, PROTO_ERROR_INTERNAL,
                                   "cannot set up the tenant cgroup of uid %u: %s", (unsigned)owner, why);
        if (e->error == -EOPNOTSUPP)
                return failure_set(ret_failure, e->error, PROTO_ERROR_UNENFORCEABLE,
                                   "the limits cannot be enforced here: %s is missing",
                                   e->missing ?: "a controller");
        return failure_set(ret_failure, e->error, PROTO_ERROR_INTERNAL,
                           "cannot create the agent's cgroup: %s", why);
}

int agent_cgroup_create(AgentCgroupRoot *r, uid_t owner, const char *id, const CgroupLimits *tenant,
                        const ProtoLimits *l, CgroupCreatedFn fn, void *userdata, CgroupHandle **ret,
                        CgroupCreation **ret_pending, Failure *ret_failure)
{
        CgroupLimits c = agent_cgroup_limits(l);
        CgroupCreateError e = {};
        int k;

        k = cgroup_backend_create_async(r->backend, owner, id, tenant, &c, fn, userdata, ret, ret_pending,
                                        &e);
        if (k < 0)
                return agent_cgroup_failure(owner, &e, ret_failure);
        return k;
}

int agent_cgroup_open(AgentCgroupRoot *r, uid_t owner, const char *id, CgroupHandle **ret)
{
        return cgroup_backend_open(r->backend, owner, id, ret);
}

void agent_cgroup_usage(CgroupHandle *h, ProtoUsage *ret)
{
        CgroupUsage u = {};

        (void)cgroup_handle_read_usage(h, &u);
        *ret = (ProtoUsage){
                .cpu_usec = u.has_cpu ? u.cpu_usec : 0,
                .memory_current = u.has_memory_current ? u.memory_current : 0,
                .memory_peak = u.has_memory_peak ? u.memory_peak : 0,
                .pids_current = u.has_pids ? u.pids_current : 0,
        };
}

uint64_t agent_cgroup_oom_kills(CgroupHandle *h, uint64_t fallback)
{
        CgroupCounters c;

        if (!h || cgroup_handle_read_counters(h, &c) < 0 || !c.present[CGROUP_COUNTER_OOM_KILL])
                return fallback;
        return c.value[CGROUP_COUNTER_OOM_KILL];
}
