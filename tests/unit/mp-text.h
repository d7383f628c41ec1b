/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Test helper: msgpack from a compact text, so that tests read as literals:
 *   {v: 1, id: "r1", op: "get", args: {agent: "a"}}
 * maps {k: v}, arrays [a, b], strings "..." or '...' with \0 \n \" \\ \xNN escapes, bin b"...", integers,
 * floats (with a '.'), true, false, nil; bare words as map keys. Returns 0 and a malloc'd buffer, or -EINVAL. */

#include <stddef.h>

int mp_text(const char *text, void **ret_buf, size_t *ret_len);
