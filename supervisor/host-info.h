/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The host's CPU count, memory and load (basic/proc-util.h), for health and heartbeats. */

#include "proto.h"

int host_info_read(ProtoHostInfo *ret);
