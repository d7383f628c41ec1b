/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* 64-bit FNV-1a: a cache key and a checksum against torn or garbled files, not a defence against an
 * adversary (callers that key on it compare the bytes too). */
static inline uint64_t fnv1a64(const void *data, size_t n)
{
        const unsigned char *p = data;
        uint64_t h = UINT64_C(0xcbf29ce484222325);

        for (size_t i = 0; i < n; i++) {
                h ^= p[i];
                h *= UINT64_C(0x100000001b3);
        }
        return h;
}
