/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* For implementations of cgroup-backend.h only: a driver embeds CgroupBackend and CgroupHandle at the start
 * of its own structs, fills a CgroupBackendOps, and gives a constructor of its own (cgroup_fs_open()). The
 * public functions check arguments and dispatch; the driver may assume a valid part and non-NULL pointers.
 */

#include "cgroup-backend.h"

typedef struct CgroupBackendOps {
        void (*free)(CgroupBackend *b);
        int (*setup)(CgroupBackend *b);
        int (*watch_fd)(CgroupBackend *b);
        int (*dispatch)(CgroupBackend *b);
        /* a driver has create, create_async or both */
        int (*create)(CgroupBackend *b, uid_t owner, const char *id, const CgroupLimits *l,
                      const char **ret_missing, CgroupHandle **ret);
        int (*open)(CgroupBackend *b, uid_t owner, const char *id, CgroupHandle **ret);
        /* optional: a creation that waits for another process (cgroup_backend_create_async()); returns 1
         * with *ret_pending, or -errno with *ret_error */
        int (*create_async)(CgroupBackend *b, uid_t owner, const char *id, const CgroupLimits *tenant,
                            const CgroupLimits *l, CgroupCreatedFn fn, void *userdata,
                            CgroupCreation **ret_pending, CgroupCreateError *ret_error);
        void (*creation_cancel)(CgroupCreation *c);
        /* create: make the tenant's subtree when it is missing (else -ENOENT) */
        int (*tenant_limits)(CgroupBackend *b, uid_t owner, bool create, const CgroupLimits *l,
                             const char **ret_missing);
        int (*tenant_read_usage)(CgroupBackend *b, uid_t owner, CgroupUsage *ret);

        void (*handle_free)(CgroupHandle *h);
        int (*remove)(CgroupHandle *h);
        int (*spawn_fd)(const CgroupHandle *h, CgroupPart part);
        int (*set_limits)(CgroupHandle *h, const CgroupLimits *l, const char **ret_missing);
        int (*freeze)(CgroupHandle *h, bool freeze);
        int (*freezer_open)(CgroupHandle *h);
        int (*kill)(CgroupHandle *h);
        int (*read_usage)(CgroupHandle *h, CgroupUsage *ret);
        int (*read_state)(CgroupHandle *h, CgroupState *ret);
        int (*read_counters)(CgroupHandle *h, CgroupCounters *ret);
        int (*list_pids)(CgroupHandle *h, CgroupPart part, pid_t **ret, size_t *ret_n);
        int (*attach_pid)(CgroupHandle *h, CgroupPart part, pid_t pid);
        /* (re)arms the notifications for h->watch_fn; the driver calls the callback from dispatch */
        int (*watch)(CgroupHandle *h);
} CgroupBackendOps;

struct CgroupBackend {
        const CgroupBackendOps *ops;
        char *path;             /* absolute cgroup directory of the subtree */
        CgroupMask controllers; /* what agents get */
};

/* a driver's creation under way embeds it at its start */
struct CgroupCreation {
        CgroupBackend *backend;
};

struct CgroupHandle {
        CgroupBackend *backend;
        char *path; /* absolute cgroup directory of AGENT */
        CgroupWatchFn watch_fn;
        void *watch_userdata;
};
