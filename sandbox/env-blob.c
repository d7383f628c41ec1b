/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "analyzer.h"
#include "cleanup.h"
#include "env-blob.h"
#include "fd-util.h"
#include "string-util.h"

static bool entry_valid(const char *s, size_t len)
{
        const char *eq = memchr(s, '=', len);

        return eq && eq != s;
}

int env_blob_export(char *const *env, int *ret_fd)
{
        _cleanup_close_ int fd = -EBADF;
        size_t n = 0, size = 0;
        int r;

        for (char *const *e = env; e && *e; e++) {
                size_t len = strlen(*e);
                if (!entry_valid(*e, len))
                        return -EINVAL;
                if (++n > ENV_BLOB_ENTRIES_MAX || len + 1 > ENV_BLOB_SIZE_MAX - size)
                        return -E2BIG;
                size += len + 1;
        }

        fd = memfd_create("descartes-env", MFD_CLOEXEC | MFD_ALLOW_SEALING);
        if (fd < 0)
                return negative_errno();
        for (char *const *e = env; e && *e; e++) {
                r = loop_write(fd, *e, strlen(*e) + 1);
                if (r < 0)
                        return r;
        }
        if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0)
                return negative_errno();
        *ret_fd = TAKE_FD(fd);
        return 0;
}

int env_blob_parse(const char *data, size_t size, char ***ret)
{
        _cleanup_strv_free_ char **l = NULL;
        size_t n = 0, i = 0;

        if (size > ENV_BLOB_SIZE_MAX)
                return -E2BIG;
        /* The last entry must be terminated too: nothing may trail it. */
        if (size > 0 && data[size - 1] != 0)
                return -EBADMSG;
        for (size_t k = 0; k < size; k++)
                n += data[k] == 0;
        if (n > ENV_BLOB_ENTRIES_MAX)
                return -E2BIG;

        l = calloc(n + 1, sizeof(char *));
        if (!l)
                return -ENOMEM;
        for (const char *p = data, *end = data + size; p < end; p += strlen(p) + 1) {
                /* terminated: the last byte is a NUL */
                size_t len = strlen(p);
                if (len == 0 || !entry_valid(p, len))
                        return -EBADMSG;
                /* analyzer false positive: l owns the copy and strv_free() frees every element, a loop the
                 * analyzer does not follow */
                ANALYZER_IGNORE_LEAK_BEGIN
                l[i] = strdup(p);
                if (!l[i++])
                        return -ENOMEM;
                ANALYZER_IGNORE_END
        }
        *ret = TAKE_PTR(l);
        return 0;
}

int env_blob_read_fd(int fd, char ***ret)
{
        const int need = F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE;
        _cleanup_free_ char *buf = NULL;
        struct stat st;
        size_t size, done = 0;
        int seals;

        /* Sealed: the size read here is the size for good, and nobody can change the bytes under us. */
        seals = fcntl(fd, F_GET_SEALS);
        if (seals < 0)
                return errno == EINVAL ? -EPERM : negative_errno();
        if ((seals & need) != need)
                return -EPERM;
        if (fstat(fd, &st) < 0)
                return negative_errno();
        if (!S_ISREG(st.st_mode) || st.st_size < 0)
                return -EBADMSG;
        if ((uint64_t)st.st_size > ENV_BLOB_SIZE_MAX)
                return -E2BIG;
        size = (size_t)st.st_size;

        buf = malloc(size ?: 1);
        if (!buf)
                return -ENOMEM;
        while (done < size) {
                ssize_t k = pread(fd, buf + done, size - done, (off_t)done);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return negative_errno();
                if (k == 0)
                        return -EBADMSG;
                done += (size_t)k;
        }
        return env_blob_parse(buf, size, ret);
}
