/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <unistd.h>

#include "cleanup.h"
#include "fd-util.h"
#include "runtime-lock.h"

int runtime_lock_take(const char *runtime_dir, int *ret_holder)
{
        _cleanup_close_ int dfd = -EBADF, fd = -EBADF;
        char buf[32];
        int n;

        dfd = open(runtime_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return -errno;
        fd = openat(dfd, "descartesd.lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return -errno;
        if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
                if (errno != EWOULDBLOCK)
                        return -errno;
                if (ret_holder) {
                        ssize_t k = pread(fd, buf, sizeof buf - 1, 0);
                        *ret_holder = k > 0 ? (buf[k] = 0, atoi(buf)) : 0;
                }
                return -EBUSY;
        }
        n = snprintf(buf, sizeof buf, "%d\n", (int)getpid());
        if (ftruncate(fd, 0) < 0 || pwrite(fd, buf, (size_t)n, 0) != n)
                return -errno;
        return TAKE_FD(fd);
}
