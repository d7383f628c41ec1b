/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>
#include <time.h>

#define NSEC_PER_USEC UINT64_C(1000)
#define NSEC_PER_MSEC UINT64_C(1000000)
#define NSEC_PER_SEC  UINT64_C(1000000000)
#define USEC_PER_MSEC UINT64_C(1000)
#define USEC_PER_SEC  UINT64_C(1000000)

/* Nanoseconds on the given clock (CLOCK_REALTIME for wall times on the wire, CLOCK_MONOTONIC for spans). */
static inline uint64_t now_ns(clockid_t clock)
{
        struct timespec ts;
        (void)clock_gettime(clock, &ts);
        return (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

static inline uint64_t now_usec(clockid_t clock)
{
        return now_ns(clock) / NSEC_PER_USEC;
}
