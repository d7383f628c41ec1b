/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>

#include "shim-version.h"

void shim_version_range(const ShimMsgHello *hello, size_t n, uint32_t *ret_min, uint32_t *ret_max)
{
        *ret_max = hello->version;
        /* a min above max is nonsense: the shim surely speaks the version it names */
        if (n >= offsetof(ShimMsgHello, min_version) + sizeof hello->min_version && hello->min_version > 0 &&
            hello->min_version <= hello->version)
                *ret_min = hello->min_version;
        else
                *ret_min = hello->version;
}

int shim_version_negotiate(uint32_t peer_min, uint32_t peer_max, uint32_t *ret)
{
        uint32_t v = peer_max < SHIM_PROTOCOL_VERSION ? peer_max : SHIM_PROTOCOL_VERSION;

        if (peer_min > peer_max || v < peer_min || v < SHIM_PROTOCOL_VERSION_MIN)
                return -EPROTONOSUPPORT;
        *ret = v;
        return 0;
}
