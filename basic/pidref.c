/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cleanup.h"
#include "fd-util.h"
#include "pidref.h"

int pidref_set_pid(PidRef *p, pid_t pid)
{
        int fd;

        if (pid <= 0)
                return -ESRCH;
        fd = pidfd_open(pid, 0);
        if (fd < 0)
                return -errno;
        pidref_done(p);
        p->pid = pid;
        p->fd = fd;
        return 0;
}

void pidref_done(PidRef *p)
{
        if (!p)
                return;
        p->fd = safe_close(p->fd);
        p->pid = 0;
}

int pidref_kill(const PidRef *p, int sig)
{
        if (!pidref_is_set(p) || p->fd < 0)
                return -ESRCH;
        if (pidfd_send_signal(p->fd, sig, NULL, 0) < 0)
                return -errno;
        return 0;
}

int pidref_has_exited(const PidRef *p)
{
        struct pollfd pfd = {.fd = p->fd, .events = POLLIN};
        int r = poll(&pfd, 1, 0);

        if (r < 0)
                return -errno;
        return r > 0;
}
