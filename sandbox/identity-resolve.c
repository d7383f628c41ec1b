/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The daemon's half of identity.h: who an agent runs as, from the user database (NSS). Never linked into the
 * static shim. */
#include <errno.h>
#include <pwd.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "identity-resolve.h"
#include "string-util.h"

#define PASSWD_BUF_MAX (1024U * 1024U)

static void identity_passwd_done(IdentityPasswd *p)
{
        free(p->name);
        free(p->home);
        *p = (IdentityPasswd){};
}

static int passwd_copy(const struct passwd *pw, IdentityPasswd *ret)
{
        _cleanup_free_ char *name = NULL, *home = NULL;

        name = strdup(pw->pw_name);
        if (!name)
                return -ENOMEM;
        if (pw->pw_dir && pw->pw_dir[0] == '/') {
                home = strdup(pw->pw_dir);
                if (!home)
                        return -ENOMEM;
        }
        *ret = (IdentityPasswd){
                .uid = pw->pw_uid,
                .gid = pw->pw_gid,
                .name = TAKE_PTR(name),
                .home = TAKE_PTR(home),
        };
        return 0;
}

/* getpw*_r with a growing buffer; 0 with no entry means "not found", anything else is an error. */
static int system_lookup(bool by_name, const char *name, uid_t uid, IdentityPasswd *ret)
{
        size_t size = 1024;

        for (;;) {
                _cleanup_free_ char *buf = malloc(size);
                struct passwd pw, *result = NULL;
                int r;

                if (!buf)
                        return -ENOMEM;
                r = by_name ? getpwnam_r(name, &pw, buf, size, &result)
                            : getpwuid_r(uid, &pw, buf, size, &result);
                if (r == ERANGE && size < PASSWD_BUF_MAX) {
                        size *= 2;
                        continue;
                }
                /* glibc reports "no such entry" as 0 with a NULL result; some backends use ENOENT/ESRCH. */
                if (r == 0 && !result)
                        return -ESRCH;
                if (r == ENOENT || r == ESRCH)
                        return -ESRCH;
                if (r != 0)
                        return -r;
                return passwd_copy(result, ret);
        }
}

static int system_by_uid(void *userdata, uid_t uid, IdentityPasswd *ret)
{
        return system_lookup(false, NULL, uid, ret);
}

static int system_by_name(void *userdata, const char *name, IdentityPasswd *ret)
{
        return system_lookup(true, name, 0, ret);
}

const IdentityUserDb identity_userdb_system = {
        .by_uid = system_by_uid,
        .by_name = system_by_name,
};
/* Looks up a uid; an unknown uid is still an identity, with IDENTITY_NOGROUP (see identity.h). */
static int resolve_uid(const IdentityUserDb *db, uid_t uid, Identity *ret)
{
        IdentityPasswd pw = {};
        int r;

        r = db->by_uid(db->userdata, uid, &pw);
        if (r == -ESRCH) {
                *ret = (Identity){.uid = uid, .gid = IDENTITY_NOGROUP};
                return 0;
        }
        if (r < 0)
                return r;
        if (pw.uid != uid) { /* a database that answers for another uid is not to be trusted */
                identity_passwd_done(&pw);
                return -EIO;
        }
        *ret = (Identity){.uid = pw.uid, .gid = pw.gid, .name = pw.name, .home = pw.home};
        return 0;
}

static int resolve_name(const IdentityUserDb *db, const char *name, Identity *ret)
{
        IdentityPasswd pw = {};
        int r;

        r = db->by_name(db->userdata, name, &pw);
        if (r < 0)
                return r;
        *ret = (Identity){.uid = pw.uid, .gid = pw.gid, .name = pw.name, .home = pw.home};
        return 0;
}

int identity_resolve(uid_t caller_uid, const char *user, bool allow_root, const IdentityUserDb *db,
                     Identity *ret)
{
        _cleanup_(identity_done) Identity id = {};
        uid_t uid;
        int r;

        if (!db)
                db = &identity_userdb_system;
        if (caller_uid == (uid_t)-1)
                return -EINVAL;

        if (user) {
                r = identity_parse_uid(user, &uid);
                if (r == -ERANGE)
                        return r;
                if (r >= 0)
                        r = resolve_uid(db, uid, &id);
                else if (!identity_name_is_valid(user))
                        return -EINVAL;
                else
                        r = resolve_name(db, user, &id);
        } else if (caller_uid != 0)
                r = resolve_uid(db, caller_uid, &id);
        else
                r = resolve_name(db, IDENTITY_DEFAULT_USER, &id);
        if (r < 0)
                return r;

        if (id.uid == (uid_t)-1 || id.gid == (gid_t)-1)
                return -EINVAL;
        if (caller_uid != 0 && id.uid != caller_uid)
                return -EPERM;
        if (id.uid == 0 && !allow_root)
                return -EPERM;

        *ret = id;
        id = (Identity){};
        return 0;
}
