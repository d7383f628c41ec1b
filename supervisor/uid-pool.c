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

#include <uuid/uuid.h>

#include "agent-record.h"
#include "fd-util.h"
#include "log.h"
#include "record-sync.h"
#include "string-util.h"
#include "uid-pool.h"

#define CLAIM_MAX    128          /* bytes of an agent id in a claim file */
#define RESERVED_TAG "@reserved " /* a claim made ahead: the tag, then the boot id */

typedef struct Reserved {
        uid_t uid;
        bool in_use;         /* a claim made ahead, not handed out yet */
        bool queued;         /* its flush was queued: the slot is reused once the thread has set durable */
        atomic_bool durable; /* set by the flush thread once it is on disk */
} Reserved;

struct UidPool {
        int state_fd;     /* borrowed */
        int dir_fd;       /* STATE/uids */
        RecordSync *sync; /* borrowed */
        uint32_t min, max;
        uint32_t next;    /* where the next claim starts looking: ids are handed out in turn */
        char boot_id[40]; /* empty when unknown: then nothing is claimed ahead */
        Reserved reserve[UID_RESERVE];
};

/* The boot id as /proc shows it (a lowercase uuid), or "" when it cannot be read. */
static void read_boot_id(char buf[static 37])
{
        uint8_t id[16];

        buf[0] = 0;
        if (boot_id_read(id) >= 0)
                uuid_unparse_lower(id, buf);
}

int uid_pool_new(int state_fd, uint32_t min, uint32_t max, RecordSync *sync, UidPool **ret)
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
        p->sync = sync;
        p->min = p->next = min;
        p->max = max;
        read_boot_id(p->boot_id);
        *ret = TAKE_PTR(p);
        return 0;
}

static void uid_name(uid_t uid, char name[static 16])
{
        (void)snprintf(name, 16, "%u", (unsigned)uid);
}

UidPool *uid_pool_free(UidPool *p)
{
        if (!p)
                return NULL;
        for (size_t i = 0; i < UID_RESERVE; i++)
                if (p->reserve[i].in_use) {
                        char name[16];

                        uid_name(p->reserve[i].uid, name);
                        (void)unlinkat(p->dir_fd, name, 0);
                }
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

static bool reserve_holds(UidPool *p, uid_t uid)
{
        for (size_t i = 0; i < UID_RESERVE; i++)
                if (p->reserve[i].in_use && p->reserve[i].uid == uid)
                        return true;
        return false;
}

/* 1 when the claim file of uid holds, 0 when there is none (or it no longer holds: it is deleted then). */
static int claim_check(UidPool *p, uid_t uid)
{
        _cleanup_free_ char *id = NULL, *agent = NULL;
        const char *boot;
        char name[16];
        struct stat st;
        int r;

        uid_name(uid, name);
        r = read_file_at(p->dir_fd, name, CLAIM_MAX, &id, NULL);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        id[strcspn(id, "\n")] = 0;
        boot = startswith(id, RESERVED_TAG);
        if (boot) {
                /* ours, or made before a reboot that may have lost the id written over it: held */
                if (reserve_holds(p, uid) || !p->boot_id[0] || !streq(boot, p->boot_id))
                        return 1;
                /* a daemon of this boot made it ahead and ended: no agent ever ran as this uid */
                if (unlinkat(p->dir_fd, name, 0) < 0 && errno != ENOENT)
                        return -errno;
                return 0;
        }
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
        return claim_check(p, uid);
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

/* A claim file holding content on the next free uid, written (not flushed); its fd in *ret_fd. */
static int claim_make(UidPool *p, const char *content, uid_t *ret_uid, int *ret_fd)
{
        uint64_t span = (uint64_t)p->max - p->min + 1;

        for (uint64_t i = 0; i < span; i++) {
                uid_t uid = p->next;
                char name[16];
                int fd, r;

                p->next = p->next == p->max ? p->min : p->next + 1;
                r = claim_check(p, uid);
                if (r < 0)
                        return r;
                if (r > 0 || in_userdb(uid))
                        continue;
                uid_name(uid, name);
                fd = openat(p->dir_fd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
                if (fd < 0) {
                        if (errno == EEXIST)
                                continue;
                        return -errno;
                }
                r = loop_write(fd, content, strlen(content));
                if (r < 0) {
                        safe_close(fd);
                        (void)unlinkat(p->dir_fd, name, 0);
                        return r;
                }
                *ret_uid = uid;
                *ret_fd = fd;
                return 0;
        }
        return -EUSERS;
}

/* fsync of the claim file and of uids/, here. */
static int claim_flush(UidPool *p, uid_t uid, int fd)
{
        _cleanup_close_ int own = -EBADF;
        char name[16];

        if (fd < 0) {
                uid_name(uid, name);
                fd = own = openat(p->dir_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
                if (fd < 0)
                        return -errno;
        }
        if (fsync(fd) < 0 || fsync(p->dir_fd) < 0)
                return -errno;
        return 0;
}

/* Tops the claims made ahead up to UID_RESERVE, their flushes queued on the thread. A full range or an error
 * only means that the next spawns flush claims of their own. */
static void reserve_fill(UidPool *p)
{
        char content[64];

        if (!p->boot_id[0])
                return;
        (void)snprintf(content, sizeof content, RESERVED_TAG "%s", p->boot_id);
        for (size_t i = 0; i < UID_RESERVE; i++) {
                Reserved *res = &p->reserve[i];
                int fd, dirfd, r;

                /* a slot handed out before its flush returned (flushed here instead) waits for the thread */
                if (res->in_use || (res->queued && !atomic_load(&res->durable)))
                        continue;
                r = claim_make(p, content, &res->uid, &fd);
                if (r < 0) {
                        if (r != -EUSERS)
                                log_debug_errno(
                                        r, "Cannot claim a uid ahead, the next spawn claims its own: %m");
                        return;
                }
                dirfd = fcntl(p->dir_fd, F_DUPFD_CLOEXEC, 3);
                if (dirfd < 0) {
                        char name[16];

                        uid_name(res->uid, name);
                        safe_close(fd);
                        (void)unlinkat(p->dir_fd, name, 0);
                        return;
                }
                res->in_use = res->queued = true;
                atomic_store(&res->durable, false);
                record_sync_queue_notify(p->sync, fd, dirfd, &res->durable);
        }
}

/* A claim of its own for the agent id, flushed here: 0, or -EUSERS with every uid held. */
static int claim_own(UidPool *p, const char *id, uid_t *ret)
{
        char name[16];
        uid_t uid;
        int fd, r;

        r = claim_make(p, id, &uid, &fd);
        if (r < 0)
                return r;
        r = claim_flush(p, uid, fd);
        safe_close(fd);
        if (r < 0) {
                uid_name(uid, name);
                (void)unlinkat(p->dir_fd, name, 0);
                return r;
        }
        *ret = uid;
        return 0;
}

/* A claim made ahead and on disk (flushed here if need be: flush_here), NULL when there is none. */
static Reserved *reserve_pick(UidPool *p, bool flush_here)
{
        for (size_t i = 0; i < UID_RESERVE; i++) {
                Reserved *res = &p->reserve[i];

                if (!res->in_use)
                        continue;
                if (atomic_load(&res->durable) || (flush_here && claim_flush(p, res->uid, -EBADF) >= 0))
                        return res;
        }
        return NULL;
}

int uid_pool_claim(UidPool *p, const char *id, uid_t *ret)
{
        Reserved *res = reserve_pick(p, false);
        char name[16];
        int r;

        if (!res) {
                r = claim_own(p, id, ret);
                /* -EUSERS: the range's last free uids may be claims made ahead whose flush is under way */
                if (r != -EUSERS || !(res = reserve_pick(p, true))) {
                        if (r >= 0)
                                reserve_fill(p);
                        return r;
                }
        }
        /* the claim made ahead holds the uid until the id replaces it, and after a crash too */
        uid_name(res->uid, name);
        r = write_file_replace_at(p->dir_fd, name, id, strlen(id), 0600, false);
        if (r < 0)
                return r;
        res->in_use = false;
        *ret = res->uid;
        reserve_fill(p);
        return 0;
}
