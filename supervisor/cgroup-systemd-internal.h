/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Shared by the systemd driver's files: cgroup-systemd.c (the bus, the backend, the handles) and
 * cgroup-systemd-create.c (an agent's units created without waiting). */

#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "cgroup-driver.h"
#include "pidref.h"

#define SD_DEST  "org.freedesktop.systemd1"
#define SD_PATH  "/org/freedesktop/systemd1"
#define SD_IFACE "org.freedesktop.systemd1.Manager"
/* How long a unit's job may take (it is one cgroup and one move in systemd: milliseconds). */
#define JOB_TIMEOUT_USEC (10 * USEC_PER_SEC)
/* How long an agent's creation may take in all (a tenant's slice, then its scope), within the spawn
 * request's 30 s */
#define CREATE_TIMEOUT_USEC (25 * USEC_PER_SEC)
#define SLICE               "descartes.slice"

typedef struct SdCreation SdCreation;

typedef struct SdBackend {
        CgroupBackend base;
        CgroupBackend *fs; /* the cgroupfs driver on descartes.slice, once set up */
        sd_event *event;
        sd_bus *bus;
        char *holder;
        char *wait_job;        /* at setup: the job whose JobRemoved we wait for */
        char *wait_result;     /* its result, once removed */
        bool no_oom_policy;    /* systemd refused OOMPolicy= on a scope (before 253) */
        SdCreation *creations; /* under way */
} SdBackend;

/* An agent's creation under way: its tenant's slice started (or its limits set when it exists), then its
 * scope started with the holder in it; each step a call without waiting, then its job's JobRemoved. Without
 * id, the slice alone (cgroup_backend_tenant_prepare()). */
typedef enum CreationStep {
        STEP_SLICE,       /* StartTransientUnit of the tenant's slice, then its job */
        STEP_SLICE_PROPS, /* SetUnitProperties of the slice that existed */
        STEP_SCOPE,       /* StartTransientUnit of the scope, then its job */
} CreationStep;

struct SdCreation {
        CgroupCreation base;
        SdCreation *next, *prev;
        CreationStep step;
        uid_t owner;
        char *id, *slice, *unit, *description;
        bool has_tenant, oom_policy, scope_sent;
        CgroupLimits tenant, limits;
        PidRef holder;
        sd_bus_slot *slot; /* the call under way */
        char *job;         /* the job whose JobRemoved is awaited */
        sd_event_source *timer;
        uint64_t start_usec;
        CgroupCreatedFn fn;
        void *userdata;
};

typedef struct ScopeProps {
        const char *slice;
        pid_t holder;
        bool oom_policy;
        const CgroupLimits *limits;
} ScopeProps;

static inline SdBackend *sd_backend(CgroupBackend *b)
{
        return (SdBackend *)b;
}

/* in cgroup-systemd.c */
int sd_method_new(SdBackend *b, const char *member, sd_bus_message **ret);
int sd_start_transient_message(SdBackend *b, const char *unit, const char *description,
                               int (*append)(sd_bus_message *m, const void *userdata), const void *userdata,
                               sd_bus_message **ret);
int sd_set_properties_message(SdBackend *b, const char *unit, const CgroupLimits *l, sd_bus_message **ret);
int sd_append_limits_props(sd_bus_message *m, const void *userdata);
int sd_append_scope_props(sd_bus_message *m, const void *userdata);
int sd_stop_unit_async(SdBackend *b, const char *unit);
int sd_holder_start(SdBackend *b, PidRef *ret);
int sd_handle_new(SdBackend *b, const char *id, CgroupHandle *fs, CgroupHandle **ret);
int sd_tenant_slice(uid_t owner, char **ret);

/* in cgroup-systemd-create.c: without id, the tenant's slice alone (fn may then be NULL) */
int sd_creation_start(SdBackend *b, uid_t owner, const char *id, const CgroupLimits *tenant,
                      const CgroupLimits *l, CgroupCreatedFn fn, void *userdata, SdCreation **ret,
                      CgroupCreateError *ret_error);
int sd_create_async(CgroupBackend *bb, uid_t owner, const char *id, const CgroupLimits *tenant,
                    const CgroupLimits *l, CgroupCreatedFn fn, void *userdata, CgroupCreation **ret_pending,
                    CgroupCreateError *ret_error);
void sd_creation_cancel(CgroupCreation *cc);
/* JobRemoved of path: the creation waiting for it goes on */
void sd_creations_job_removed(SdBackend *b, const char *path, const char *result);
/* The connection is gone: every creation fails with error (why: the reason, for its message). */
void sd_creations_fail_all(SdBackend *b, int error, const char *why);
void sd_creations_cancel_all(SdBackend *b);
