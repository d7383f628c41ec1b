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
#include "memfd-util.h"
#include "string-util.h"

static bool entry_valid(const char *s, size_t len)
{
        const char *eq = memchr(s, '=', len);

        return eq && eq != s;
}

int env_blob_export(char *const *env, int *ret_fd)
{
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *buf = NULL;
        size_t n = 0, size = 0, off = 0;
        int r;

        for (char *const *e = env; e && *e; e++) {
                size_t len = strlen(*e);
                if (!entry_valid(*e, len))
                        return -EINVAL;
                if (++n > ENV_BLOB_ENTRIES_MAX || len + 1 > ENV_BLOB_SIZE_MAX - size)
                        return -E2BIG;
                size += len + 1;
        }

        /* one buffer: the memfd is written in one go and sealed */
        buf = malloc(size ?: 1);
        if (!buf)
                return -ENOMEM;
        for (char *const *e = env; e && *e; e++) {
                size_t len = strlen(*e) + 1;
                memcpy(buf + off, *e, len);
                off += len;
        }
        r = memfd_new_sealed("descartes-env", buf, size, &fd);
        if (r < 0)
                return r;
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
        _cleanup_free_ void *buf = NULL;
        size_t size;
        int r;

        r = memfd_read_sealed(fd, ENV_BLOB_SIZE_MAX, &buf, &size);
        if (r < 0)
                return r;
        return env_blob_parse(buf, size, ret);
}
