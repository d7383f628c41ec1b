/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The systemd driver's creation of an agent's units without blocking the event loop: each step a method call
 * with sd_bus_call_async(), then the JobRemoved signal of its job (the match is installed when the bus is
 * connected, before any call), a deadline for the whole creation, and on any failure the holder killed and
 * the scope stopped. */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cgroup-fs.h"
#include "cgroup-systemd-internal.h"
#include "log.h"
#include "string-util.h"
#include "time-util.h"

static void creation_free(SdCreation *c)
{
        SdBackend *b = sd_backend(c->base.backend);

        if (c->prev)
                c->prev->next = c->next;
        else if (b->creations == c)
                b->creations = c->next;
        if (c->next)
                c->next->prev = c->prev;
        sd_bus_slot_unref(c->slot);
        sd_event_source_disable_unref(c->timer);
        pidref_done(&c->holder);
        free(c->id);
        free(c->slice);
        free(c->unit);
        free(c->description);
        free(c->job);
        free(c);
}

/* Takes back what the creation started: its holder (the scope then has no process left, and systemd
 * collects it), its scope. */
static void creation_undo(SdCreation *c)
{
        SdBackend *b = sd_backend(c->base.backend);

        if (pidref_is_set(&c->holder))
                (void)pidref_kill(&c->holder, SIGKILL);
        /* a start job still queued is cancelled by the stop; a scope already gone is no error. Not on a
         * connection that is gone (we may be in its Disconnected callback, which must not reconnect): the
         * holder's end empties the scope then. */
        if (c->scope_sent && b->bus && sd_bus_is_open(b->bus) > 0 && sd_stop_unit_async(b, c->unit) < 0)
                log_warning("Cannot stop %s.", c->unit);
}

/* The end of a creation: the caller's callback (if any) with the handle or the error, the creation gone. */
static void creation_finish(SdCreation *c, CgroupHandle *h, const CgroupCreateError *e)
{
        CgroupCreatedFn fn = c->fn;
        void *userdata = c->userdata;

        creation_free(c);
        /* a slice alone has no one to tell: creation_fail() logged what failed */
        if (fn)
                fn(h, e, userdata);
}

static void creation_fail(SdCreation *c, int error, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
static void creation_fail(SdCreation *c, int error, const char *fmt, ...)
{
        CgroupCreateError e = {.error = error < 0 ? error : -EIO, .tenant = c->step != STEP_SCOPE};
        va_list ap;

        va_start(ap, fmt);
        (void)vsnprintf(e.msg, sizeof e.msg, fmt, ap);
        va_end(ap);
        log_warning("%s", e.msg);
        creation_undo(c);
        creation_finish(c, NULL, &e);
}

static int on_creation_reply(sd_bus_message *m, void *userdata, sd_bus_error *error);

static int creation_send(SdCreation *c, sd_bus_message *m)
{
        SdBackend *b = sd_backend(c->base.backend);

        c->slot = sd_bus_slot_unref(c->slot);
        return sd_bus_call_async(b->bus, &c->slot, m, on_creation_reply, c, JOB_TIMEOUT_USEC);
}

static int send_slice(SdCreation *c)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        SdBackend *b = sd_backend(c->base.backend);
        int r;

        c->step = STEP_SLICE;
        r = sd_start_transient_message(b, c->slice, "descartes agents of one tenant", sd_append_limits_props,
                                       &c->tenant, &m);
        return r < 0 ? r : creation_send(c, m);
}

static int send_slice_props(SdCreation *c)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r;

        c->step = STEP_SLICE_PROPS;
        r = sd_set_properties_message(sd_backend(c->base.backend), c->slice, &c->tenant, &m);
        return r < 0 ? r : creation_send(c, m);
}

static int send_scope(SdCreation *c)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        SdBackend *b = sd_backend(c->base.backend);
        int r;

        c->step = STEP_SCOPE;
        if (!pidref_is_set(&c->holder)) {
                r = sd_holder_start(b, &c->holder);
                if (r < 0)
                        return log_warning_errno(r, "Cannot start %s for %s: %m", b->holder, c->unit);
        }
        ScopeProps p = {.slice = c->slice,
                        .holder = c->holder.pid,
                        .oom_policy = c->oom_policy,
                        .limits = &c->limits};
        r = sd_start_transient_message(b, c->unit, c->description, sd_append_scope_props, &p, &m);
        if (r < 0)
                return r;
        r = creation_send(c, m);
        if (r >= 0)
                c->scope_sent = true;
        return r;
}

/* The next step after the slice: the scope, or the end for a slice alone. */
static void creation_slice_done(SdCreation *c)
{
        int r;

        if (!c->id) {
                creation_finish(c, NULL, NULL);
                return;
        }
        r = send_scope(c);
        if (r < 0)
                creation_fail(c, r, "Cannot ask systemd for %s: %s", c->unit, strerror(-r));
}

/* The scope's job is done: the agent's cgroups below it. */
static void creation_scope_done(SdCreation *c)
{
        SdBackend *b = sd_backend(c->base.backend);
        CgroupCreateError e = {};
        CgroupHandle *fs = NULL, *h = NULL;
        int r;

        /* from the request to the job's end; the event loop served other requests meanwhile (bench: the
         * spawn latency beside cgroupfs) */
        log_debug("%s started in %" PRIu64 " us.", c->unit, now_usec(CLOCK_MONOTONIC) - c->start_usec);
        r = cgroup_backend_create(b->fs, c->owner, c->id, &c->limits, &e.missing, &fs);
        if (r >= 0) {
                r = sd_handle_new(b, c->id, fs, &h);
                if (r < 0)
                        cgroup_handle_free(fs);
        }
        if (r < 0) {
                e.error = r;
                (void)snprintf(e.msg, sizeof e.msg, "cannot make the agent's cgroups in %s: %s", c->unit,
                               strerror(-r));
                creation_undo(c);
                creation_finish(c, NULL, &e);
                return;
        }
        /* the holder is the scope's now: it lives as long as the scope */
        pidref_done(&c->holder);
        creation_finish(c, h, NULL);
}

static void creation_job_removed(SdCreation *c, const char *result)
{
        free(c->job);
        c->job = NULL;
        if (!streq(result, "done")) {
                creation_fail(c, -EIO, "systemd's job to start %s ended with result '%s'",
                              c->step == STEP_SCOPE ? c->unit : c->slice, result);
                return;
        }
        if (c->step == STEP_SCOPE)
                creation_scope_done(c);
        else
                creation_slice_done(c);
}

static int on_creation_reply(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
        SdCreation *c = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(m);
        const char *unit = c->step == STEP_SCOPE ? c->unit : c->slice;
        const char *job;
        int r;

        (void)error;
        c->slot = sd_bus_slot_unref(c->slot);
        if (e && c->step == STEP_SLICE && sd_bus_error_has_name(e, "org.freedesktop.systemd1.UnitExists")) {
                /* a tenant with agents, or a restarted daemon: its limits as they are now */
                r = send_slice_props(c);
                if (r < 0)
                        creation_fail(c, r, "Cannot ask systemd for %s: %s", c->slice, strerror(-r));
                return 0;
        }
        if (c->step == STEP_SLICE_PROPS) {
                if (e)
                        creation_fail(c, -sd_bus_error_get_errno(e), "systemd refused the limits of %s: %s",
                                      c->slice, e->message ?: e->name);
                else
                        creation_slice_done(c);
                return 0;
        }
        if (e && c->step == STEP_SCOPE && c->oom_policy && e->message && strstr(e->message, "OOMPolicy")) {
                /* systemd before 253 has no OOMPolicy= for scopes (nor stops them on an OOM kill) */
                sd_backend(c->base.backend)->no_oom_policy = true;
                c->oom_policy = false;
                r = send_scope(c);
                if (r < 0)
                        creation_fail(c, r, "Cannot ask systemd for %s: %s", c->unit, strerror(-r));
                return 0;
        }
        if (e && c->step == STEP_SCOPE && sd_bus_error_has_name(e, "org.freedesktop.systemd1.UnitExists")) {
                /* not ours to stop */
                c->scope_sent = false;
                creation_fail(c, -EEXIST, "%s exists already", c->unit);
                return 0;
        }
        if (e) {
                creation_fail(c, -sd_bus_error_get_errno(e), "systemd could not start %s: %s", unit,
                              e->message ?: e->name);
                return 0;
        }
        r = sd_bus_message_read(m, "o", &job);
        if (r >= 0 && !(c->job = strdup(job)))
                r = -ENOMEM;
        if (r < 0)
                creation_fail(c, r, "Cannot read systemd's job for %s: %s", unit, strerror(-r));
        /* JobRemoved follows (on_job_removed): systemd sends it after this reply */
        return 0;
}

static int on_creation_timeout(sd_event_source *s, uint64_t usec, void *userdata)
{
        SdCreation *c = userdata;

        (void)s;
        (void)usec;
        creation_fail(c, -ETIMEDOUT, "systemd did not start %s within %u s",
                      c->step == STEP_SCOPE ? c->unit : c->slice,
                      (unsigned)(CREATE_TIMEOUT_USEC / USEC_PER_SEC));
        return 0;
}

void sd_creations_fail_all(SdBackend *b, int error, const char *why)
{
        /* each failure unlinks its creation; the calls under way had their error replies already */
        while (b->creations)
                creation_fail(b->creations, error, "%s: %s",
                              b->creations->step == STEP_SCOPE ? b->creations->unit : b->creations->slice,
                              why);
}

int sd_creation_start(SdBackend *b, uid_t owner, const char *id, const CgroupLimits *tenant,
                      const CgroupLimits *l, CgroupCreatedFn fn, void *userdata, SdCreation **ret,
                      CgroupCreateError *ret_error)
{
        SdCreation *c;
        int r;

        c = calloc(1, sizeof *c);
        if (!c)
                return -ENOMEM;
        c->base.backend = &b->base;
        c->holder = PIDREF_NULL;
        c->owner = owner;
        c->fn = fn;
        c->userdata = userdata;
        c->oom_policy = !b->no_oom_policy;
        c->start_usec = now_usec(CLOCK_MONOTONIC);
        c->has_tenant = tenant;
        c->tenant = tenant ? *tenant : (CgroupLimits)CGROUP_LIMITS_UNSET;
        c->limits = l ? *l : (CgroupLimits)CGROUP_LIMITS_UNSET;
        c->next = b->creations;
        if (c->next)
                c->next->prev = c;
        b->creations = c;
        if (sd_tenant_slice(owner, &c->slice) < 0 ||
            (id && (!(c->id = strdup(id)) || asprintf_safe(&c->unit, "descartes-%s.scope", id) < 0 ||
                    asprintf_safe(&c->description, "descartes agent %s", id) < 0))) {
                creation_free(c);
                return -ENOMEM;
        }
        r = sd_event_add_time_relative(b->event, &c->timer, CLOCK_MONOTONIC, CREATE_TIMEOUT_USEC, 0,
                                       on_creation_timeout, c);
        if (r < 0) {
                creation_free(c);
                return r;
        }
        /* the slice first when it gets limits, else the scope (its slice is started with it) */
        r = c->has_tenant ? send_slice(c) : send_scope(c);
        if (r < 0) {
                ret_error->error = r;
                ret_error->tenant = c->step != STEP_SCOPE;
                (void)snprintf(ret_error->msg, sizeof ret_error->msg, "cannot ask systemd for %s: %s",
                               c->step == STEP_SCOPE ? c->unit : c->slice, strerror(-r));
                creation_undo(c);
                creation_free(c);
                return r;
        }
        *ret = c;
        return 1;
}

int sd_create_async(CgroupBackend *bb, uid_t owner, const char *id, const CgroupLimits *tenant,
                    const CgroupLimits *l, CgroupCreatedFn fn, void *userdata, CgroupCreation **ret_pending,
                    CgroupCreateError *ret_error)
{
        SdBackend *b = sd_backend(bb);
        SdCreation *c;
        int r;

        if (!b->fs)
                return -ENOTCONN;
        if (tenant) {
                r = cgroup_limits_check(tenant, b->base.controllers, &ret_error->missing);
                if (r < 0) {
                        ret_error->tenant = true;
                        return r;
                }
        }
        r = cgroup_limits_check(l, b->base.controllers, &ret_error->missing);
        if (r < 0)
                return r;
        r = sd_creation_start(b, owner, id, tenant, l, fn, userdata, &c, ret_error);
        if (r < 0)
                return r;
        *ret_pending = &c->base;
        return 1;
}

void sd_creation_cancel(CgroupCreation *cc)
{
        SdCreation *c = (SdCreation *)cc;

        creation_undo(c);
        creation_free(c);
}

void sd_creations_job_removed(SdBackend *b, const char *path, const char *result)
{
        for (SdCreation *c = b->creations; c; c = c->next)
                if (c->job && streq(c->job, path)) {
                        creation_job_removed(c, result);
                        return;
                }
}

void sd_creations_cancel_all(SdBackend *b)
{
        while (b->creations)
                sd_creation_cancel(&b->creations->base);
}
