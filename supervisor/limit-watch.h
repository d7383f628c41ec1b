/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Limits an agent runs into: the backend's counters (cgroup_handle_read_counters()) re-read whenever its
 * watch reports CGROUP_CHANGE_COUNTERS, a `limit_hit` event {limit: cgroup_counter_limit_to_string(), count}
 * when one grows (at most one per limit and second; the next one carries the count so far), and what the
 * exit reason needs. A counter the cgroup does not offer (a host without the memory or pids controller) is
 * watched for nothing, quietly. */

#include <stdbool.h>
#include <stdint.h>

#include "cgroup-backend.h"

typedef struct Agent Agent;
typedef struct LimitWatch LimitWatch;

/* Takes the counters now as the baseline. */
int limit_watch_start(Agent *a, LimitWatch **ret);
LimitWatch *limit_watch_free(LimitWatch *w);

/* Re-reads the counters and publishes what grew. */
void limit_watch_check(LimitWatch *w);

/* Since the start: the times the limit of counter k was hit (*ret), or false when it is not watched. */
bool limit_watch_count(const LimitWatch *w, CgroupCounter k, uint64_t *ret);

/* Since the start: a fork or clone was refused by the pids limit. */
bool limit_watch_pids_hit(const LimitWatch *w);
