/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* descartesd.conf: "key = value" lines, '#' comments, units in human form (512M, 10s, 0.5).
 * SIGHUP re-reads it; the keys marked (live) apply at once, the others at the next start. */

#include <stdbool.h>
#include <stdint.h>

#include "failure.h"
#include "backend.h"
#include "tenant-quota.h"

typedef struct Config {
        char *control;       /* control endpoint */
        char *events;        /* obsolete `events` endpoint: set only to warn that it is ignored */
        char *state_dir;     /* /var/lib/descartes */
        char *runtime_dir;   /* /run/descartes */
        char *cgroup_root;   /* NULL: the daemon's own cgroup (cgroupfs driver) */
        char *cgroup_driver; /* "systemd", "cgroupfs"; NULL: systemd under systemd, else cgroupfs */

        uint64_t stop_grace_usec;       /* (live) default grace of `stop` before cgroup.kill */
        uint64_t heartbeat_usec;        /* (live) heartbeat event period */
        uint64_t output_cap_bytes;      /* (live) per-agent output kept, oldest dropped first */
        uint64_t max_agents;            /* (live) agents alive or ended, host-wide */
        uint64_t max_agents_per_user;   /* (live) per tenant */
        uint64_t max_requests_per_user; /* (live) requests of one caller in progress at once */
        uint64_t request_rate;     /* (live) requests per second per caller uid, root exempt; 0 = no limit */
        uint64_t request_burst;    /* (live) requests a caller may send at once after a quiet time */
        uint64_t request_ttl_usec; /* (live) how long a reply is kept for a repeated request id */
        uint64_t retention_usec;   /* (live) ended agents are removed this long after they end; 0 = keep */
        uint64_t output_scan_budget;      /* (live) bytes of line text one `output` request scans */
        uint64_t output_time_budget_usec; /* (live) time one `output` request may take; 0 = unbounded */
        uint64_t max_connections; /* (live) to the control and event sockets; 0 = from the fd limit */
        uint64_t max_connections_per_user; /* (live) per peer uid, root exempt; 0 = no cap */

        uint64_t default_cpu_milli; /* (live) 0 = unlimited */
        uint64_t default_memory;    /* (live) bytes, 0 = unlimited */
        uint64_t default_pids;      /* (live) 0 = unlimited */
        uint64_t max_cpu_milli;     /* (live) 0 = no maximum */
        uint64_t max_memory;        /* (live) */
        uint64_t max_pids;          /* (live) */

        bool allow_root;          /* (live) agents may run as uid 0 */
        int log_level;            /* (live) LOG_INFO...; --log-level and --debug win over the file */
        bool stop_agents_on_exit; /* (live) stop agents when the daemon stops (default: they outlive it) */
        char *agent_user;         /* (live) the user a root caller's agents run as */
        char *admin_group;        /* (live) members see and control every agent */

        uint64_t tmp_size;       /* (live) bytes of an agent's private /tmp (and /dev/shm) */
        uint64_t workspace_size; /* (live) bytes of a default workspace (a tmpfs); 0 ("max"): a directory on
                                    disk */
        char *mask_paths; /* (live) more host paths hidden from agents, space-separated absolute paths */
        char *policy_dir; /* (live) seccomp policies: POLICY_DIR/seccomp/NAME.json; NULL: the build's */

        /* The sandbox's own keys (parsed by config_set_sandbox). */
        uint32_t agent_uid_min; /* agent_uids: a root caller's agents each get a uid (and gid) of this */
        uint32_t agent_uid_max; /* range; both 0 ("none"): they run as agent_user */
        char *mask_keep; /* (live) host paths kept readable inside the masks, space-separated absolute paths
                          */

        /* tenant quotas */
        TenantQuotaRules quotas; /* (live) quota.default, quota.group.NAME, quota.user.NAME */
        BackendTable backends;   /* (live) backend.NAME, backend.NAME.env */

        /* remote clients over tcp with CURVE (supervisor/curve-keys.c) */
        char *listen;            /* tcp:// endpoints, space-separated; NULL: none */
        char *curve_secret_key;  /* (live) the daemon's secret key file, root-only */
        char *curve_clients_dir; /* (live) the allow list: one NAME.client file per client key */

        /* the node_exporter textfile (supervisor/metrics-textfile.c), read at start */
        char *metrics_textfile;         /* NULL: none */
        uint64_t metrics_interval_usec; /* how often it is rewritten */
} Config;

/* The default agent_uids: above systemd's DynamicUser range (61184-65519), nobody (65534) and 65535,
 * below the subordinate ids useradd hands out (/etc/subuid, from 100000). */
#define CONFIG_AGENT_UID_MIN_DEFAULT 65536u
#define CONFIG_AGENT_UID_MAX_DEFAULT 99999u
#define CONFIG_MASK_KEEP_DEFAULT     "/etc/resolv.conf"
#define CONFIG_LISTEN_MAX            16

#define CONFIG_MASK_PATHS_MAX 64

void config_init_defaults(Config *c);
void config_done(Config *c);

/* Parses text; on error returns -EINVAL with the message "line N: ..." in *ret_failure. */
int config_parse(Config *c, const char *text, Failure *ret_failure);
/* Reads and parses a file; a missing file is not an error when `optional`. */
/* mask_paths as a NULL-terminated list (empty when v is NULL); -EINVAL if it does not check. */
int config_split_paths(const char *v, char ***ret);
/* listen as a NULL-terminated list of tcp:// endpoints; -EINVAL if it does not check. */
int config_split_listen(const char *v, char ***ret);
int config_load_file(Config *c, const char *path, bool optional, Failure *ret_failure);
/* agent_uids: "MIN-MAX" (inclusive, clear of the reserved ids) or "none"/"" (both 0); -EINVAL otherwise. */
int config_parse_uid_range(const char *v, uint32_t *ret_min, uint32_t *ret_max);
