/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The daemon's half of identity.h: who an agent runs as, from the user database (NSS). The rules are at the
 * top of identity.h. Not for the static shim, whose identity comes resolved in its options. */

#include <stdbool.h>
#include <sys/types.h>

#include "identity.h"

/* One passwd entry, as the user database hands it over: name and home are allocated and owned by the
 * receiver. */
typedef struct IdentityPasswd {
        uid_t uid;
        gid_t gid;
        char *name;
        char *home;
} IdentityPasswd;

/* The user database: each lookup returns 0 and fills *ret, -ESRCH when there is no such entry, or another
 * -errno. Tests inject their own; identity_userdb_system uses getpwuid_r/getpwnam_r. */
typedef struct IdentityUserDb {
        int (*by_uid)(void *userdata, uid_t uid, IdentityPasswd *ret);
        int (*by_name)(void *userdata, const char *name, IdentityPasswd *ret);
        void *userdata;
} IdentityUserDb;

extern const IdentityUserDb identity_userdb_system;

/* user: NULL (the default for the caller), a name, or a decimal uid. db: NULL for identity_userdb_system.
 * -EINVAL: malformed user; -ESRCH: no such user; -EPERM: not allowed for this caller. */
int identity_resolve(uid_t caller_uid, const char *user, bool allow_root, const IdentityUserDb *db,
                     Identity *ret);
