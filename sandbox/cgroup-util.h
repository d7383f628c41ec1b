/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* cgroup v2 without I/O: controller names, parsers for the kernel's text files, and the formatting of limit
 * files. Everything here works on strings, so that it is tested on literal samples. */

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The controllers descartes enables in its subtree, in the order written to cgroup.subtree_control. */
typedef enum CgroupController {
        CGROUP_CONTROLLER_CPU,
        CGROUP_CONTROLLER_MEMORY,
        CGROUP_CONTROLLER_PIDS,
        CGROUP_CONTROLLER_IO,
        _CGROUP_CONTROLLER_MAX,
        _CGROUP_CONTROLLER_INVALID = -EINVAL,
} CgroupController;

typedef unsigned CgroupMask;
#define CGROUP_MASK(c)  ((CgroupMask)1 << (c))
#define CGROUP_MASK_ALL (CGROUP_MASK(_CGROUP_CONTROLLER_MAX) - 1)

const char *cgroup_controller_to_string(CgroupController c);
CgroupController cgroup_controller_from_string(const char *s);

/* "+cpu +memory" for the controllers in mask ("" for none). */
int cgroup_mask_to_subtree_control(CgroupMask mask, char *buf, size_t n);
#define CGROUP_SUBTREE_CONTROL_MAX 64

/* Limits of one cgroup. CGROUP_LIMIT_UNSET leaves a file alone (and needs no controller);
 * CGROUP_LIMIT_INFINITY writes "max" (and needs the controller like any value). */
#define CGROUP_LIMIT_UNSET    UINT64_MAX
#define CGROUP_LIMIT_INFINITY (UINT64_MAX - 1)

typedef struct CgroupLimits {
        uint64_t cpu_millicpus;   /* cpu.max, 1000 = one CPU per period */
        uint64_t memory_max;      /* memory.max, bytes */
        uint64_t memory_high;     /* memory.high, bytes */
        uint64_t memory_swap_max; /* memory.swap.max, bytes */
        uint64_t pids_max;        /* pids.max */
} CgroupLimits;

#define CGROUP_LIMITS_UNSET                                                                                 \
        ((CgroupLimits){                                                                                    \
                .cpu_millicpus = CGROUP_LIMIT_UNSET,                                                        \
                .memory_max = CGROUP_LIMIT_UNSET,                                                           \
                .memory_high = CGROUP_LIMIT_UNSET,                                                          \
                .memory_swap_max = CGROUP_LIMIT_UNSET,                                                      \
                .pids_max = CGROUP_LIMIT_UNSET,                                                             \
        })

/* The controllers the set limits need. */
CgroupMask cgroup_limits_required(const CgroupLimits *l);
/* 0 if available covers every set limit, else -EOPNOTSUPP with *ret_missing (if non-NULL) naming the first
 * missing controller (a static string, e.g. "memory"); this output is written on that failure only. */
int cgroup_limits_check(const CgroupLimits *l, CgroupMask available, const char **ret_missing);

/* cpu.max for a share of CPUs: "QUOTA 100000" (a period of 100 ms), or "max 100000" for
 * CGROUP_LIMIT_INFINITY. -ERANGE below 10 millicpus: the kernel refuses quotas under 1 ms. */
#define CGROUP_CPU_PERIOD_USEC UINT64_C(100000)
int cgroup_format_cpu_max(uint64_t millicpus, char *buf, size_t n);
/* A byte or count limit: the decimal value, or "max" for CGROUP_LIMIT_INFINITY. */
int cgroup_format_limit(uint64_t value, char *buf, size_t n);
#define CGROUP_FORMAT_MAX 48

/* The mount point of the cgroup2 hierarchy in /proc/self/mountinfo text, octal escapes decoded, and (if
 * ret_root) the cgroup mounted there ("/" unless a subtree is bind-mounted, as in containers without a
 * cgroup namespace). Where there are several, /sys/fs/cgroup wins, then /sys/fs/cgroup/unified, then the
 * first. -ENOENT: none; -EBADMSG: a malformed line. */
int cgroup_parse_mountinfo(const char *text, char **ret_mount, char **ret_root);
/* The directory of cgroup (a /proc/self/cgroup path) under a mount of mount_root. -ENOENT: not below it. */
int cgroup_path_in_mount(const char *mount, const char *mount_root, const char *cgroup, char **ret);
/* The path of the "0::/path" line of /proc/PID/cgroup text. -ENOENT: no such line (a v1-only host);
 * -EBADMSG: a path that is not absolute, leaves the namespace ("/.."), or names a removed cgroup. */
int cgroup_parse_proc_self_cgroup(const char *text, char **ret_path);
/* The value of key in a flat-keyed file ("key value" lines: cgroup.events, memory.events, cpu.stat,
 * pids.events). "max" reads as UINT64_MAX. -ENOENT: no such key; -EBADMSG: a malformed value. */
int cgroup_parse_keyed(const char *text, const char *key, uint64_t *ret);
/* A single-value file (memory.current, pids.max): a decimal or "max" (UINT64_MAX), then an optional newline.
 */
int cgroup_parse_value(const char *text, uint64_t *ret);
/* The pids of cgroup.procs text, one decimal per line (*ret NULL when there is none). -EBADMSG: anything
 * else.
 */
int cgroup_parse_procs(const char *text, pid_t **ret, size_t *ret_n);
/* The known controllers named in cgroup.controllers / cgroup.subtree_control text; others are ignored. */
int cgroup_parse_controllers(const char *text, CgroupMask *ret);

/* An agent id or tenant name that is safe as one cgroup directory name: 1..64 characters of [A-Za-z0-9_-].
 * Interface files all contain a dot, so such a name never clashes with one. */
bool cgroup_name_is_valid(const char *s);
#define CGROUP_NAME_MAX 64
