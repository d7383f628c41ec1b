/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A process is a pid plus its pidfd, never a bare pid: signals go through the pidfd, so a recycled pid
 * can never be hit. */

#include <stdbool.h>
#include <sys/types.h>

typedef struct PidRef {
        pid_t pid;
        int fd; /* pidfd, or -EBADF */
} PidRef;

#define PIDREF_NULL ((PidRef){.pid = 0, .fd = -EBADF})

static inline bool pidref_is_set(const PidRef *p)
{
        return p && p->pid > 0;
}

/* Opens a pidfd for pid. */
int pidref_set_pid(PidRef *p, pid_t pid);
void pidref_done(PidRef *p);
int pidref_kill(const PidRef *p, int sig);
/* 1 if the process has exited (pidfd readable), 0 if alive. */
int pidref_has_exited(const PidRef *p);
