/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Who an agent runs as, in two halves: resolution (identity-resolve.h, identity-resolve.c,
 * in the daemon before any fork; it uses NSS) and application (identity_apply() here, in the agent child of
 * the static shim: no NSS, no allocation).
 *
 * Resolution (identity_resolve()):
 *   - a non-root caller's agents run as the caller: uid and primary gid from the passwd entry. A uid without
 * a passwd entry runs with gid IDENTITY_NOGROUP (65534, the kernel's overflow gid) rather than gid = uid: a
 * gid equal to the uid may be a real group with privileges (uid 27 would get gid 27 "sudo" on Debian).
 *     Naming another user is -EPERM.
 *   - a root caller's agents run as IDENTITY_DEFAULT_USER ("descartes-agent"; -ESRCH if it does not exist)
 *     unless `user` names another, by name or numeric uid (a number without a passwd entry gets
 *     IDENTITY_NOGROUP as above).
 *   - uid 0 is -EPERM unless allow_root (the config's allow_root).
 * An agent never keeps supplementary groups.
 *
 * Application (identity_apply(), in the forked agent child, which is single-threaded: raw syscalls, no NSS,
 * no allocation): setgroups(0) -> setresgid -> setresuid, each verified. */

#include <stdbool.h>
#include <sys/types.h>

#include "cleanup.h"

#define IDENTITY_DEFAULT_USER "descartes-agent"
#define IDENTITY_NOGROUP      ((gid_t)65534)
#define IDENTITY_NAME_MAX     256

typedef struct Identity {
        uid_t uid;
        gid_t gid;
        char *name; /* the passwd name, NULL without an entry */
        char *home; /* the passwd home directory, NULL without one; informational (HOME is the workspace's)
                     */
} Identity;

void identity_done(Identity *id);

/* A decimal uid ("1000"): 0 and *ret set; -EINVAL if s is not one (names are anything else), -ERANGE if it
 * is too big or the reserved (uid_t)-1. */
int identity_parse_uid(const char *s, uid_t *ret);
/* Whether s is acceptable as a user name to look up (non-empty, bounded, printable, no '/' or ':'). */
bool identity_name_is_valid(const char *s);

/* In the agent child, as root: drop supplementary groups, then gid, then uid, and verify them. Uses raw
 * syscalls: glibc's setxid wrappers broadcast to a thread list that a child of clone3 must not trust. */
int identity_apply(const Identity *id);
