/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "fd-util.h"
#include "memfd-util.h"

int memfd_new_sealed(const char *name, const void *data, size_t n, int *ret_fd)
{
        _cleanup_close_ int fd = -EBADF;
        int r;

        fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
        if (fd < 0)
                return negative_errno();
        if (n > 0) {
                r = loop_write(fd, data, n);
                if (r < 0)
                        return r;
        }
        if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0)
                return negative_errno();
        *ret_fd = TAKE_FD(fd);
        return 0;
}

int memfd_read_sealed(int fd, size_t max, void **ret, size_t *ret_size)
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
        if ((uint64_t)st.st_size > max)
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
        *ret = TAKE_PTR(buf);
        *ret_size = size;
        return 0;
}
