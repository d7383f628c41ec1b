/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The trace of one spawn: CLOCK_MONOTONIC stamps of each hop in the daemon and in the shim (its STARTED
 * carries its own), written as one debug line once the spawn is answered. bench/trace-spawn.sh joins it with
 * the client's send and receive and prints where the time goes. */

#include <stdint.h>

#include "shim-contract.h"

typedef struct Agent Agent;

/* The daemon's hops, ns. */
typedef struct SpawnTrace {
        uint64_t arrived_ns;   /* the request read and decoded */
        uint64_t launch_ns;    /* state dirs, record and cgroups done: the shim is started */
        uint64_t shim_exec_ns; /* the shim's execve done (its error pipe closed) */
        uint64_t spawned_ns;   /* watches set, the record written: back in the loop */
        uint64_t started_ns;   /* the shim's STARTED read */
        uint64_t replied_ns;   /* the spawn's reply handed to the socket */
} SpawnTrace;

/* At debug level: "spawn-trace ID arrived=NS launch=NS ... replied=NS" (0: not known, e.g. an older shim).
 */
void spawn_trace_log(const Agent *a, const ShimStartTrace *shim);
