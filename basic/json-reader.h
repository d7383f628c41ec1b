/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A small bounded JSON reader (RFC 8259), event by event: the caller's callbacks see the values in text
 * order. No allocation but one scratch buffer for unescaped strings, no recursion, a nesting bound: made
 * for text from an agent (the shim, which links libc only) and from a user (descartesctl --json). Strings
 * are handed over unescaped (\u escapes as UTF-8, surrogate pairs joined; a lone surrogate is refused); raw
 * bytes >= 0x80 pass through unchecked. */

#include <stdbool.h>
#include <stddef.h>

typedef struct JsonReaderOps {
        /* Each returns 0 to go on or a negative errno, which json_read() returns. NULL: ignored. */
        int (*begin_object)(void *userdata);
        int (*end_object)(void *userdata);
        int (*begin_array)(void *userdata);
        int (*end_array)(void *userdata);
        int (*key)(void *userdata, const char *s, size_t n);
        int (*string)(void *userdata, const char *s, size_t n);
        /* text is the number as written (NUL-terminated); integer: no fraction and no exponent */
        int (*number)(void *userdata, const char *text, bool integer);
        int (*boolean)(void *userdata, bool v);
        int (*null)(void *userdata);
} JsonReaderOps;

#define JSON_READER_NUMBER_MAX 64 /* bytes of one number's text */

/* Reads exactly one JSON value from text[0..n) (whitespace around it allowed). 0, or -EBADMSG for text that
 * is not one JSON value, -ELOOP past max_depth levels of arrays and objects (the outermost is level 1),
 * -ENOMEM, or a callback's error. */
int json_read(const char *text, size_t n, unsigned max_depth, const JsonReaderOps *ops, void *userdata);
