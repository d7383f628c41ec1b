/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The agent child's privilege drop, in one call and in the one right order. */

#include <errno.h>

#include "identity.h"

typedef enum ConfineStage {
        CONFINE_STAGE_IDENTITY,     /* setgroups/setresgid/setresuid */
        CONFINE_STAGE_CAPABILITIES, /* bounding, ambient, securebits, the process sets, no_new_privs */
        _CONFINE_STAGE_MAX,
        _CONFINE_STAGE_INVALID = -EINVAL,
} ConfineStage;

const char *confine_stage_to_string(ConfineStage s);
ConfineStage confine_stage_from_string(const char *s);

/* libcap allocates: call this in a child forked from the single-threaded shim, never in a raw clone3 child
 * of a multithreaded process.
 *
 * Run as root (with CAP_SETPCAP, CAP_SETUID, CAP_SETGID) in the single-threaded agent child, after the mount
 * view and before seccomp and execve:
 *
 *   1. PR_CAPBSET_DROP of every capability   (needs CAP_SETPCAP: before the uid change)
 *   2. PR_CAP_AMBIENT_CLEAR_ALL
 *   3. securebits NOROOT, KEEP_CAPS off, NO_CAP_AMBIENT_RAISE, all locked (needs CAP_SETPCAP too)
 *   4. setgroups(0) -> setresgid -> setresuid, verified              (stage identity)
 *   5. permitted/effective/inheritable cleared, everything verified empty
 *   6. PR_SET_NO_NEW_PRIVS                    (before seccomp, which then needs no CAP_SYS_ADMIN)
 *
 * Returns 0, or -errno with *ret_failed_stage (if non-NULL) saying which stage failed. On failure the
 * process is half-dropped and must _exit() after reporting. */
int confine_drop_privileges(const Identity *id, ConfineStage *ret_failed_stage);
