/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The daemon's half of the shim handshake (shim-contract.h): which version to speak with a shim. In the
 * contract library so that the fuzz target and the version tests reach it without the daemon. */

#include <stddef.h>
#include <stdint.h>

#include "shim-contract.h"

/* The range a HELLO of n bytes says its shim speaks; a version 1 HELLO has no min_version. */
void shim_version_range(const ShimMsgHello *hello, size_t n, uint32_t *ret_min, uint32_t *ret_max);
/* The highest version in both [peer_min, peer_max] and ours; -EPROTONOSUPPORT when they do not meet. */
int shim_version_negotiate(uint32_t peer_min, uint32_t peer_max, uint32_t *ret);
