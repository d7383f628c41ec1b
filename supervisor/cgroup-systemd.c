/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "cgroup-driver.h"
#include "cgroup-fs.h"
#include "cgroup-systemd-internal.h"
#include "cgroup-systemd.h"
#include "child-exec.h"
#include "fd-util.h"
#include "log.h"
#include "string-util.h"
#include "time-util.h"

typedef struct SdHandle {
        CgroupHandle base;
        CgroupHandle *fs;
        char *unit; /* descartes-ID.scope */
} SdHandle;

static const CgroupFsLayout units_layout = {
        .tenant_prefix = "descartes-u",
        .tenant_suffix = ".slice",
        .agent_prefix = "descartes-",
        .agent_suffix = ".scope/agent",
        .units = true,
};

static SdHandle *sd_handle(CgroupHandle *h)
{
        return (SdHandle *)h;
}

static const SdHandle *sd_handle_const(const CgroupHandle *h)
{
        return (const SdHandle *)h;
}

int cgroup_systemd_usable(void)
{
        /* systemd sets INVOCATION_ID for the processes of its units */
        return sd_booted() > 0 && getenv("INVOCATION_ID") ? 1 : 0;
}

/* ---- the bus ---- */

static int on_job_removed(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
        SdBackend *b = userdata;
        const char *path, *unit, *result;
        uint32_t id;

        (void)error;
        if (sd_bus_message_read(m, "uoss", &id, &path, &unit, &result) < 0)
                return 0;
        if (b->wait_job && !b->wait_result && streq(path, b->wait_job)) {
                b->wait_result = strdup(result);
                if (!b->wait_result)
                        return -ENOMEM;
                return 0;
        }
        sd_creations_job_removed(b, path, result);
        return 0;
}

/* sd-bus's own signal when the connection ends (systemd's daemon-reexec, a crash): the jobs awaited will
 * never be told; the calls under way get their error replies from sd-bus before it. */
static int on_disconnected(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
        SdBackend *b = userdata;

        (void)m;
        (void)error;
        log_warning("The connection to systemd was closed; it is opened again at the next request.");
        sd_creations_fail_all(b, -ECONNRESET, "the connection to systemd was lost before the job ended");
        return 0;
}

static int bus_connect(SdBackend *b)
{
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        sd_bus *bus = NULL;
        bool direct = true;
        int r;

        b->bus = sd_bus_flush_close_unref(b->bus);
        /* systemd's own socket, as systemctl uses it as root: no dbus-daemon needed */
        r = sd_bus_new(&bus);
        if (r < 0)
                return r;
        r = sd_bus_set_address(bus, "unix:path=/run/systemd/private");
        if (r >= 0)
                r = sd_bus_start(bus);
        if (r < 0) {
                bus = sd_bus_unref(bus);
                r = sd_bus_open_system(&bus);
                if (r < 0)
                        return r;
                direct = false;
        }
        b->bus = bus;
        /* installed before any call whose job we wait for, so that no JobRemoved can pass unseen; through
         * dbus-daemon the match rule also keeps every other signal of systemd away from us */
        r = sd_bus_match_signal(bus, NULL, SD_DEST, SD_PATH, SD_IFACE, "JobRemoved", on_job_removed, b);
        if (r < 0)
                return r;
        r = sd_bus_match_signal(bus, NULL, NULL, "/org/freedesktop/DBus/Local", "org.freedesktop.DBus.Local",
                                "Disconnected", on_disconnected, b);
        if (r < 0)
                return r;
        /* On systemd's private socket every signal comes unasked (a direct connection counts as
         * subscribed). On the system bus systemd sends its signals only while someone subscribed, and
         * then to every listener's match rules: subscribe only there. */
        if (!direct) {
                r = sd_bus_call_method(bus, SD_DEST, SD_PATH, SD_IFACE, "Subscribe", &error, NULL, NULL);
                if (r < 0 && !sd_bus_error_has_name(&error, "org.freedesktop.systemd1.AlreadySubscribed"))
                        return log_warning_errno(r, "Cannot subscribe to systemd's signals: %s",
                                                 error.message ?: strerror(-r));
        }
        if (b->event) {
                r = sd_bus_attach_event(bus, b->event, SD_EVENT_PRIORITY_NORMAL);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* The bus, connected again if systemd closed it (daemon-reexec). */
static int bus_get(SdBackend *b, sd_bus **ret)
{
        int r;

        if (!b->bus || sd_bus_is_open(b->bus) <= 0) {
                r = bus_connect(b);
                if (r < 0)
                        return r;
        }
        *ret = b->bus;
        return 0;
}

static int method_new(SdBackend *b, const char *member, sd_bus_message **ret)
{
        sd_bus *bus;
        int r;

        r = bus_get(b, &bus);
        if (r < 0)
                return r;
        return sd_bus_message_new_method_call(bus, ret, SD_DEST, SD_PATH, SD_IFACE, member);
}

/* Appends the set limits as unit properties (inside an open a(sv)). */
static int append_limits(sd_bus_message *m, const CgroupLimits *l)
{
        const struct {
                const char *name;
                uint64_t value;
                uint64_t scale;
        } props[] = {
                /* CPUQuotaPerSecUSec: usec per second, 1000 per millicpu */
                {"CPUQuotaPerSecUSec", l->cpu_millicpus, 1000},
                {"MemoryHigh", l->memory_high, 1},
                {"MemoryMax", l->memory_max, 1},
                {"MemorySwapMax", l->memory_swap_max, 1},
                {"TasksMax", l->pids_max, 1},
        };
        int r;

        for (size_t i = 0; i < ELEMENTSOF(props); i++) {
                uint64_t v = props[i].value;

                if (v == CGROUP_LIMIT_UNSET)
                        continue;
                v = v == CGROUP_LIMIT_INFINITY ? UINT64_MAX : v * props[i].scale;
                r = sd_bus_message_append(m, "(sv)", props[i].name, "t", v);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Sends a method call that returns a job, then waits for the job's end, the event loop with it: at setup
 * only, before the daemon serves anything (agents' units are created without waiting: SdCreation). */
static int call_job(SdBackend *b, sd_bus_message *m, const char *unit, sd_bus_error *error)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        uint64_t deadline;
        const char *job;
        int r;

        r = sd_bus_call(b->bus, m, JOB_TIMEOUT_USEC, error, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_read(reply, "o", &job);
        if (r < 0)
                return r;
        free(b->wait_result);
        b->wait_result = NULL;
        free(b->wait_job);
        b->wait_job = strdup(job);
        if (!b->wait_job)
                return -ENOMEM;
        deadline = now_usec(CLOCK_MONOTONIC) + JOB_TIMEOUT_USEC;
        for (;;) {
                uint64_t now;

                /* the JobRemoved signal came queued behind the reply, or comes later */
                r = sd_bus_process(b->bus, NULL);
                if (r < 0 || b->wait_result)
                        break;
                if (r > 0)
                        continue;
                now = now_usec(CLOCK_MONOTONIC);
                if (now >= deadline) {
                        r = -ETIMEDOUT;
                        break;
                }
                r = sd_bus_wait(b->bus, deadline - now);
                if (r < 0)
                        break;
        }
        free(b->wait_job);
        b->wait_job = NULL;
        if (r < 0)
                return log_warning_errno(r, "Waiting for systemd to start %s failed: %m", unit);
        r = streq(b->wait_result, "done") ? 0 : -EIO;
        if (r < 0)
                log_warning("systemd could not start %s: job %s.", unit, b->wait_result);
        free(b->wait_result);
        b->wait_result = NULL;
        return r;
}

static int on_stop_reply(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
        const sd_bus_error *e = sd_bus_message_get_error(m);

        (void)userdata;
        (void)error;
        if (e && !sd_bus_error_has_name(e, "org.freedesktop.systemd1.NoSuchUnit"))
                log_warning("Cannot stop an agent's scope: %s", e->message ?: e->name);
        return 0;
}

/* Stops a unit without waiting for it (nothing waits on its end). */
int sd_stop_unit_async(SdBackend *b, const char *unit)
{
        sd_bus *bus;
        int r;

        r = bus_get(b, &bus);
        if (r < 0)
                return r;
        return sd_bus_call_method_async(bus, NULL, SD_DEST, SD_PATH, SD_IFACE, "StopUnit", on_stop_reply,
                                        NULL, "ss", unit, "fail");
}

/* StartTransientUnit of unit with the properties append() adds (and a description). */
int sd_start_transient_message(SdBackend *b, const char *unit, const char *description,
                               int (*append)(sd_bus_message *m, const void *userdata), const void *userdata,
                               sd_bus_message **ret)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r;

        r = method_new(b, "StartTransientUnit", &m);
        if (r < 0)
                return r;
        r = sd_bus_message_append(m, "ss", unit, "fail");
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "(sv)");
        if (r >= 0)
                r = sd_bus_message_append(m, "(sv)", "Description", "s", description);
        if (r >= 0 && append)
                r = append(m, userdata);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        /* no auxiliary units */
        if (r >= 0)
                r = sd_bus_message_append(m, "a(sa(sv))", 0);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(m);
        return 0;
}

/* The same, waited for (setup). -EEXIST: the unit exists already. */
static int start_transient(SdBackend *b, const char *unit, const char *description,
                           int (*append)(sd_bus_message *m, const void *userdata), const void *userdata)
{
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r;

        r = sd_start_transient_message(b, unit, description, append, userdata, &m);
        if (r < 0)
                return r;
        r = call_job(b, m, unit, &error);
        if (sd_bus_error_has_name(&error, "org.freedesktop.systemd1.UnitExists"))
                return -EEXIST;
        if (r < 0 && sd_bus_error_is_set(&error))
                log_warning("systemd refused to start %s: %s", unit, error.message ?: error.name);
        return r;
}

int sd_set_properties_message(SdBackend *b, const char *unit, const CgroupLimits *l, sd_bus_message **ret)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r;

        r = method_new(b, "SetUnitProperties", &m);
        if (r < 0)
                return r;
        /* runtime: the unit is transient, its properties live in /run */
        r = sd_bus_message_append(m, "sb", unit, 1);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "(sv)");
        if (r >= 0)
                r = append_limits(m, l);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(m);
        return 0;
}

static int on_properties_reply(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
        const sd_bus_error *e = sd_bus_message_get_error(m);

        (void)userdata;
        (void)error;
        if (e)
                log_warning("systemd refused new limits of a unit of descartes: %s", e->message ?: e->name);
        return 0;
}

/* SetUnitProperties of limits without waiting: a refusal is logged (limits of live units: a reload). */
static int set_properties_async(SdBackend *b, const char *unit, const CgroupLimits *l)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r;

        r = sd_set_properties_message(b, unit, l, &m);
        if (r < 0)
                return r;
        return sd_bus_call_async(b->bus, NULL, m, on_properties_reply, NULL, JOB_TIMEOUT_USEC);
}

/* ---- the backend ---- */

static void sd_free(CgroupBackend *bb)
{
        SdBackend *b = sd_backend(bb);

        /* the daemon cancels its creations with its agents; a slice's alone may still be under way */
        sd_creations_cancel_all(b);
        cgroup_backend_free(b->fs);
        sd_bus_flush_close_unref(b->bus);
        sd_event_unref(b->event);
        free(b->holder);
        free(b->wait_job);
        free(b->wait_result);
        free(b->base.path);
        free(b);
}

static int append_slice_props(sd_bus_message *m, const void *userdata)
{
        (void)userdata;
        return 0;
}

static int sd_setup(CgroupBackend *bb)
{
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        SdBackend *b = sd_backend(bb);
        int r;

        r = start_transient(b, SLICE, "descartes agents", append_slice_props, NULL);
        if (r == -EEXIST) {
                /* a restarted daemon, or a descartes.slice file of the operator's */
                r = method_new(b, "StartUnit", &m);
                if (r >= 0)
                        r = sd_bus_message_append(m, "ss", SLICE, "replace");
                if (r >= 0)
                        r = call_job(b, m, SLICE, &error);
        }
        if (r < 0)
                return r;
        if (b->fs)
                return 0;
        return cgroup_fs_open_layout(b->base.path, &units_layout, &b->fs);
}

static int sd_watch_fd(CgroupBackend *bb)
{
        SdBackend *b = sd_backend(bb);

        return b->fs ? cgroup_backend_watch_fd(b->fs) : -ENOTCONN;
}

static int sd_dispatch(CgroupBackend *bb)
{
        SdBackend *b = sd_backend(bb);

        return b->fs ? cgroup_backend_dispatch(b->fs) : 0;
}

int sd_tenant_slice(uid_t owner, char **ret)
{
        return asprintf_safe(ret, "descartes-u%u.slice", (unsigned)owner);
}

int sd_append_limits_props(sd_bus_message *m, const void *userdata)
{
        return append_limits(m, userdata);
}

static int sd_tenant_limits(CgroupBackend *bb, uid_t owner, bool create, const CgroupLimits *l,
                            const char **ret_missing)
{
        SdBackend *b = sd_backend(bb);
        _cleanup_free_ char *slice = NULL, *dir = NULL;
        CgroupCreateError e = {};
        SdCreation *c;
        int r;

        if (!b->fs)
                return -ENOTCONN;
        r = cgroup_limits_check(l, b->base.controllers, ret_missing);
        if (r < 0)
                return r;
        if (sd_tenant_slice(owner, &slice) < 0 || asprintf_safe(&dir, "%s/%s", b->base.path, slice) < 0)
                return -ENOMEM;
        /* Neither waits for systemd: what fails is logged. A scope started later in the slice waits for the
         * slice's job (systemd orders a unit after its slice). */
        if (create)
                return sd_creation_start(b, owner, NULL, l, NULL, NULL, NULL, &c, &e);
        if (access(dir, F_OK) < 0)
                return -errno;
        return set_properties_async(b, slice, l);
}

static int sd_tenant_read_usage(CgroupBackend *bb, uid_t owner, CgroupUsage *ret)
{
        SdBackend *b = sd_backend(bb);

        return b->fs ? cgroup_backend_tenant_read_usage(b->fs, owner, ret) : -ENOTCONN;
}

/* ---- agents ---- */

static void on_fs_watch(CgroupHandle *fs, unsigned changes, void *userdata)
{
        SdHandle *h = userdata;

        (void)fs;
        h->base.watch_fn(&h->base, changes, h->base.watch_userdata);
}

int sd_handle_new(SdBackend *b, const char *id, CgroupHandle *fs, CgroupHandle **ret)
{
        SdHandle *h;

        h = calloc(1, sizeof *h);
        if (!h)
                return -ENOMEM;
        h->base.backend = &b->base;
        h->fs = fs;
        if (asprintf_safe(&h->unit, "descartes-%s.scope", id) < 0 || !(h->base.path = strdup(fs->path))) {
                free(h->unit);
                free(h);
                return -ENOMEM;
        }
        *ret = &h->base;
        return 0;
}

int sd_append_scope_props(sd_bus_message *m, const void *userdata)
{
        const ScopeProps *p = userdata;
        int r;

        r = sd_bus_message_append(m, "(sv)(sv)(sv)(sv)", "Slice", "s", p->slice, "Delegate", "b", 1, "PIDs",
                                  "au", 1, (uint32_t)p->holder,
                                  /* an ended agent's scope goes, whatever the agent's end */
                                  "CollectMode", "s", "inactive-or-failed");
        if (r < 0)
                return r;
        /* an OOM kill in the payload must not stop the scope (the shim reports it) */
        if (p->oom_policy && (r = sd_bus_message_append(m, "(sv)", "OOMPolicy", "s", "continue")) < 0)
                return r;
        return append_limits(m, p->limits);
}

/* descartes-cgroup-holder, started as a child of our own parent (PID 1 under systemd, which reaps it), so
 * that it outlives us and never becomes our zombie. */
int sd_holder_start(SdBackend *b, PidRef *ret)
{
        _cleanup_close_ int null_fd = -EBADF;
        char *argv[] = {b->holder, (char *)"--scope", NULL};
        char *envp[] = {NULL};
        ChildExecFailure f;
        int fds[3];

        null_fd = open("/dev/null", O_RDWR | O_CLOEXEC | O_NOCTTY);
        if (null_fd < 0)
                return -errno;
        fds[0] = fds[1] = null_fd;
        fds[2] = STDERR_FILENO;
        ChildExec c = {
                .clone_flags = CLONE_PARENT,
                .cgroup_fd = -EBADF,
                .path = b->holder,
                .argv = argv,
                .envp = envp,
                .fds = fds,
                .n_fds = ELEMENTSOF(fds),
        };
        return child_exec_spawn(&c, ret, &f);
}

static int sd_open(CgroupBackend *bb, uid_t owner, const char *id, CgroupHandle **ret)
{
        SdBackend *b = sd_backend(bb);
        CgroupHandle *fs;
        int r;

        if (!b->fs)
                return -ENOTCONN;
        r = cgroup_backend_open(b->fs, owner, id, &fs);
        if (r < 0)
                return r;
        r = sd_handle_new(b, id, fs, ret);
        if (r < 0)
                cgroup_handle_free(fs);
        return r;
}

static void sd_handle_free(CgroupHandle *hh)
{
        SdHandle *h = sd_handle(hh);

        cgroup_handle_free(h->fs);
        free(h->unit);
        free(h->base.path);
        free(h);
}

static int sd_remove(CgroupHandle *hh)
{
        SdHandle *h = sd_handle(hh);
        int r;

        r = cgroup_handle_remove(h->fs);
        if (r < 0)
                return r;
        /* the holder ends with its scope, and systemd removes the scope's cgroup */
        r = sd_stop_unit_async(sd_backend(hh->backend), h->unit);
        if (r < 0)
                log_warning_errno(r, "Cannot stop %s: %m", h->unit);
        return 0;
}

static int sd_spawn_fd(const CgroupHandle *h, CgroupPart part)
{
        return cgroup_handle_spawn_fd(sd_handle_const(h)->fs, part);
}

static int sd_set_limits(CgroupHandle *hh, const CgroupLimits *l, const char **ret_missing)
{
        SdHandle *h = sd_handle(hh);
        int r;

        r = cgroup_limits_check(l, hh->backend->controllers, ret_missing);
        if (r < 0)
                return r;
        return set_properties_async(sd_backend(hh->backend), h->unit, l);
}

static int sd_freeze(CgroupHandle *h, bool freeze)
{
        return freeze ? cgroup_handle_freeze(sd_handle(h)->fs) : cgroup_handle_thaw(sd_handle(h)->fs);
}

static int sd_freezer_open(CgroupHandle *h)
{
        return cgroup_handle_freezer_open(sd_handle(h)->fs);
}

static int sd_kill(CgroupHandle *h)
{
        return cgroup_handle_kill(sd_handle(h)->fs);
}

static int sd_read_usage(CgroupHandle *h, CgroupUsage *ret)
{
        return cgroup_handle_read_usage(sd_handle(h)->fs, ret);
}

static int sd_read_state(CgroupHandle *h, CgroupState *ret)
{
        return cgroup_handle_read_state(sd_handle(h)->fs, ret);
}

static int sd_read_counters(CgroupHandle *h, CgroupCounters *ret)
{
        return cgroup_handle_read_counters(sd_handle(h)->fs, ret);
}

static int sd_list_pids(CgroupHandle *h, CgroupPart part, pid_t **ret, size_t *ret_n)
{
        return cgroup_handle_list_pids(sd_handle(h)->fs, part, ret, ret_n);
}

static int sd_attach_pid(CgroupHandle *h, CgroupPart part, pid_t pid)
{
        return cgroup_handle_attach_pid(sd_handle(h)->fs, part, pid);
}

static int sd_watch(CgroupHandle *hh)
{
        SdHandle *h = sd_handle(hh);

        return cgroup_handle_watch(h->fs, on_fs_watch, h);
}

static const CgroupBackendOps sd_ops = {
        .free = sd_free,
        .setup = sd_setup,
        .watch_fd = sd_watch_fd,
        .dispatch = sd_dispatch,
        .create_async = sd_create_async,
        .creation_cancel = sd_creation_cancel,
        .open = sd_open,
        .tenant_limits = sd_tenant_limits,
        .tenant_read_usage = sd_tenant_read_usage,
        .handle_free = sd_handle_free,
        .remove = sd_remove,
        .spawn_fd = sd_spawn_fd,
        .set_limits = sd_set_limits,
        .freeze = sd_freeze,
        .freezer_open = sd_freezer_open,
        .kill = sd_kill,
        .read_usage = sd_read_usage,
        .read_state = sd_read_state,
        .read_counters = sd_read_counters,
        .list_pids = sd_list_pids,
        .attach_pid = sd_attach_pid,
        .watch = sd_watch,
};

int cgroup_systemd_open(sd_event *event, const char *holder, CgroupBackend **ret)
{
        _cleanup_(cgroup_backend_freep) CgroupBackend *bb = NULL;
        _cleanup_free_ char *mount = NULL, *text = NULL, *controllers = NULL;
        SdBackend *b;
        int r;

        if (!holder || !ret)
                return -EINVAL;
        b = calloc(1, sizeof *b);
        if (!b)
                return -ENOMEM;
        b->base.ops = &sd_ops;
        bb = &b->base;
        b->event = sd_event_ref(event);
        b->holder = strdup(holder);
        if (!b->holder)
                return -ENOMEM;
        r = cgroup_find_mount(&mount, NULL);
        if (r < 0)
                return r;
        if (asprintf_safe(&b->base.path, "%s/%s", mount, SLICE) < 0 ||
            asprintf_safe(&controllers, "%s/cgroup.controllers", mount) < 0)
                return -ENOMEM;
        /* what systemd can delegate: every controller of the hierarchy (it enables them down to a
         * Delegate=yes scope) */
        r = read_file_at(AT_FDCWD, controllers, 4096, &text, NULL);
        if (r < 0)
                return r;
        r = cgroup_parse_controllers(text, &b->base.controllers);
        if (r < 0)
                return r;
        r = bus_connect(b);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(bb);
        return 0;
}
