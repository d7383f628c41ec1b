/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Limits an agent runs into: inotify on AGENT/memory.events and AGENT/pids.events (re-read on every event),
 * a `limit_hit` event {limit: "memory.high"|"memory.max"|"pids.max", count} when a counter grows (at most
 * one per limit and second; the next one carries the count so far), and the counters the exit reason needs.
 * A cgroup without those files (a host without the memory or pids controller) is watched for nothing,
 * quietly. */

#include <stdbool.h>
#include <stdint.h>

typedef struct Agent Agent;
typedef struct LimitWatch LimitWatch;

int limit_watch_start(Agent *a, LimitWatch **ret);
LimitWatch *limit_watch_free(LimitWatch *w);

/* Re-reads both files and publishes what grew. */
void limit_watch_check(LimitWatch *w);

/* Since the start: pids.events max grew (a fork or clone was refused by pids.max). */
bool limit_watch_pids_hit(const LimitWatch *w);
