/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The host's CPU count, memory and load, from /proc. */

#include "proto.h"

int host_info_read(ProtoHostInfo *ret);
/* Parsers, on text. */
int host_info_parse_meminfo(const char *text, uint64_t *ret_total, uint64_t *ret_available);
int host_info_parse_loadavg(const char *text, double *ret1, double *ret5, double *ret15);
