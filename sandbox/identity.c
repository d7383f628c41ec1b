/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The half of identity.h that runs in the agent child of the static shim: no NSS, no allocation. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "identity.h"

void identity_done(Identity *id)
{
        if (!id)
                return;
        free(id->name);
        free(id->home);
        *id = (Identity){};
}

int identity_parse_uid(const char *s, uid_t *ret)
{
        uint64_t v = 0;

        if (!s || !*s)
                return -EINVAL;
        for (const char *p = s; *p; p++) {
                if (*p < '0' || *p > '9')
                        return -EINVAL;
                if (p == s + 1 && s[0] == '0') /* no leading zeros: "007" is ambiguous at best */
                        return -EINVAL;
                v = v * 10 + (uint64_t)(*p - '0');
                if (v >= (uint64_t)(uid_t)-1)
                        return -ERANGE;
        }
        *ret = (uid_t)v;
        return 0;
}

bool identity_name_is_valid(const char *s)
{
        size_t n;

        if (!s)
                return false;
        n = strlen(s);
        if (n == 0 || n > IDENTITY_NAME_MAX)
                return false;
        if (s[0] == '-')
                return false;
        for (const char *p = s; *p; p++)
                if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f || *p == '/' || *p == ':')
                        return false;
        return true;
}
int identity_apply(const Identity *id)
{
        uid_t ru, eu, su;
        gid_t rg, eg, sg;

        if (!id || id->uid == (uid_t)-1 || id->gid == (gid_t)-1)
                return -EINVAL;

        /* Groups first: once the uid is not 0 we could no longer change them. */
        if (syscall(SYS_setgroups, 0, NULL) < 0)
                return -errno;
        if (syscall(SYS_setresgid, id->gid, id->gid, id->gid) < 0)
                return -errno;
        if (syscall(SYS_setresuid, id->uid, id->uid, id->uid) < 0)
                return -errno;

        if (getresgid(&rg, &eg, &sg) < 0)
                return -errno;
        if (getresuid(&ru, &eu, &su) < 0)
                return -errno;
        if (rg != id->gid || eg != id->gid || sg != id->gid || ru != id->uid || eu != id->uid ||
            su != id->uid)
                return -EPERM;
        if (getgroups(0, NULL) != 0)
                return -EPERM;
        return 0;
}
