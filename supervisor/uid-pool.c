/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fd-util.h"
#include "log.h"
#include "string-util.h"
#include "uid-pool.h"

#define CLAIM_MAX 128 /* bytes of an agent id in a claim file */

struct UidPool {
        int state_fd; /* borrowed */
        int dir_fd;   /* STATE/uids */
        uint32_t min, max;
        uint32_t next; /* where the next claim starts looking: ids are handed out in turn */
};

int uid_pool_new(int state_fd, uint32_t min, uint32_t max, UidPool **ret)
{
        _cleanup_free_ UidPool *p = calloc(1, sizeof *p);

        if (min == 0 || min > max)
                return -EINVAL;
        if (!p)
                return -ENOMEM;
        if (mkdirat(state_fd, UID_POOL_DIR, 0700) < 0 && errno != EEXIST)
                return -errno;
        p->dir_fd = openat(state_fd, UID_POOL_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (p->dir_fd < 0)
                return -errno;
        p->state_fd = state_fd;
        p->min = p->next = min;
        p->max = max;
        *ret = TAKE_PTR(p);
        return 0;
}

UidPool *uid_pool_free(UidPool *p)
{
        if (!p)
                return NULL;
        safe_close(p->dir_fd);
        free(p);
        return NULL;
}

/* Whether the trash still has files of the agent: an entry "ID." followed by anything. */
static int trash_has(UidPool *p, const char *id)
{
        _cleanup_closedir_ DIR *d = NULL;
        size_t n = strlen(id);
        int fd;

        fd = openat(p->state_fd, "trash", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return errno == ENOENT ? 0 : -errno;
        d = fdopendir(fd);
        if (!d) {
                safe_close(fd);
                return -errno;
        }
        for (struct dirent *de; (de = readdir(d));)
                if (strncmp(de->d_name, id, n) == 0 && de->d_name[n] == '.')
                        return 1;
        return 0;
}

/* 1 when the claim file of uid holds, 0 when there is none (or it no longer holds: it is deleted then). */
static int claim_check(UidPool *p, const char *name)
{
        _cleanup_free_ char *id = NULL, *agent = NULL;
        struct stat st;
        int r;

        r = read_file_at(p->dir_fd, name, CLAIM_MAX, &id, NULL);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        id[strcspn(id, "\n")] = 0;
        /* an id that cannot name a directory of agents/ is no agent's: held, so that nothing is reused on
         * the word of a file we cannot read */
        if (!id[0] || strchr(id, '/') || streq(id, ".") || streq(id, ".."))
                return 1;
        if (asprintf_safe(&agent, "agents/%s", id) < 0)
                return -ENOMEM;
        if (fstatat(p->state_fd, agent, &st, AT_SYMLINK_NOFOLLOW) >= 0)
                return 1;
        if (errno != ENOENT)
                return -errno;
        r = trash_has(p, id);
        if (r != 0)
                return r;
        if (unlinkat(p->dir_fd, name, 0) < 0 && errno != ENOENT)
                return -errno;
        return 0;
}

int uid_pool_is_held(UidPool *p, uid_t uid)
{
        char name[16];

        (void)snprintf(name, sizeof name, "%u", (unsigned)uid);
        return claim_check(p, name);
}

/* A uid or gid the user database knows is someone's: never ours to hand out. */
static bool in_userdb(uid_t uid)
{
        char buf[4096];
        struct passwd pw, *pwp = NULL;
        struct group gr, *grp = NULL;

        if (getpwuid_r(uid, &pw, buf, sizeof buf, &pwp) == ERANGE || pwp)
                return true;
        if (getgrgid_r((gid_t)uid, &gr, buf, sizeof buf, &grp) == ERANGE || grp)
                return true;
        return false;
}

int uid_pool_claim(UidPool *p, const char *id, uid_t *ret)
{
        uint64_t span = (uint64_t)p->max - p->min + 1;

        for (uint64_t i = 0; i < span; i++) {
                uid_t uid = p->next;
                char name[16];
                int fd, r;

                p->next = p->next == p->max ? p->min : p->next + 1;
                (void)snprintf(name, sizeof name, "%u", (unsigned)uid);
                r = claim_check(p, name);
                if (r < 0)
                        return r;
                if (r > 0 || in_userdb(uid))
                        continue;
                fd = openat(p->dir_fd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
                if (fd < 0) {
                        if (errno == EEXIST)
                                continue;
                        return -errno;
                }
                r = loop_write(fd, id, strlen(id));
                if (r >= 0 && fsync(fd) < 0)
                        r = -errno;
                safe_close(fd);
                if (r < 0) {
                        (void)unlinkat(p->dir_fd, name, 0);
                        return r;
                }
                *ret = uid;
                return 0;
        }
        return -EUSERS;
}
