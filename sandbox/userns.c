/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "fd-util.h"
#include "userns.h"

static int write_map(const char *pid, const char *file, unsigned from, unsigned to)
{
        char path[64], line[64];
        _cleanup_close_ int fd = -EBADF;
        int n;

        (void)snprintf(path, sizeof path, "/proc/%s/%s", pid, file);
        n = snprintf(line, sizeof line, "%u %u 1\n", from, to);
        fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        /* the kernel takes a map in one write */
        if (write(fd, line, (size_t)n) != n)
                return -errno;
        return 0;
}

int userns_new_idmap(uid_t from_uid, uid_t to_uid, gid_t from_gid, gid_t to_gid, int *ret_fd)
{
        _cleanup_close_pair_ int tell[2] = {-EBADF, -EBADF}, hold[2] = {-EBADF, -EBADF};
        char pid[32], path[64];
        ssize_t n;
        pid_t child;
        int fd, r;

        if (pipe2(tell, O_CLOEXEC) < 0 || pipe2(hold, O_CLOEXEC) < 0)
                return -errno;
        /* a fork into a new user namespace: fork() itself cannot ask for one */
        child = (pid_t)syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, NULL, NULL, NULL, NULL);
        if (child < 0)
                return -errno;
        if (child == 0) {
                char self[32];
                char c;
                /* Our pid as the /proc at hand counts it: the shim runs in a pid namespace of its own while
                 * /proc is still the host's, where its children have other numbers. */
                ssize_t k = readlink("/proc/self", self, sizeof self - 1);

                if (k <= 0 || write(tell[1], self, (size_t)k) != k)
                        _exit(1);
                (void)close(tell[1]);
                /* held until the parent has the namespace's fd and closes its end */
                (void)close(hold[1]);
                (void)read(hold[0], &c, 1);
                _exit(0);
        }
        tell[1] = safe_close(tell[1]);
        hold[0] = safe_close(hold[0]);
        n = read(tell[0], pid, sizeof pid - 1);
        if (n <= 0)
                r = n < 0 ? -errno : -ESRCH;
        else {
                pid[n] = 0;
                r = write_map(pid, "uid_map", (unsigned)from_uid, (unsigned)to_uid);
                if (r >= 0)
                        r = write_map(pid, "gid_map", (unsigned)from_gid, (unsigned)to_gid);
                if (r >= 0) {
                        (void)snprintf(path, sizeof path, "/proc/%s/ns/user", pid);
                        fd = open(path, O_RDONLY | O_CLOEXEC);
                        if (fd < 0)
                                r = -errno;
                        else
                                *ret_fd = fd;
                }
        }
        hold[1] = safe_close(hold[1]);
        while (waitpid(child, NULL, 0) < 0 && errno == EINTR)
                ;
        return r;
}

int userns_idmap_tree(int tree_fd, int userns_fd)
{
        struct mount_attr a = {
                .attr_set = MOUNT_ATTR_IDMAP,
                .userns_fd = (uint64_t)userns_fd,
        };

        if (syscall(SYS_mount_setattr, tree_fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &a, sizeof a) < 0)
                return -errno;
        return 0;
}
