/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "cleanup.h"

static inline bool streq(const char *a, const char *b)
{
        return strcmp(a, b) == 0;
}

static inline bool streq_ptr(const char *a, const char *b)
{
        if (!a || !b)
                return a == b;
        return strcmp(a, b) == 0;
}

/* Returns the rest of s after prefix, or NULL. */
static inline const char *startswith(const char *s, const char *prefix)
{
        size_t n = strlen(prefix);
        return strncmp(s, prefix, n) == 0 ? s + n : NULL;
}

size_t strv_length(char *const *l);
/* Deep copy of a NULL-terminated string array. */
int strv_copy(char *const *l, char ***ret);
/* Appends a copy of s, growing the array. */
int strv_extend(char ***l, const char *s);
bool strv_contains(char *const *l, const char *s);

/* Copies n bytes into a new NUL-terminated string; fails with -EINVAL if they contain a NUL. */
int strndup_checked(const char *s, size_t n, char **ret);
/* A new string from a printf format. */
int asprintf_safe(char **ret, const char *fmt, ...) _printf_(2, 3);
