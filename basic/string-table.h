/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* enum <-> string from one table: `static const char *const foo_table[_FOO_MAX] = {[FOO_A] = "a", ...};`
 * then DEFINE_STRING_TABLE(foo, Foo, _FOO_MAX, _FOO_INVALID) defines foo_to_string() (NULL when out of
 * range) and foo_from_string() (`invalid` when unknown or NULL). A _STATIC variant keeps both in one file.
 */

#include "string-util.h"

#define _DEFINE_TO_STRING(scope, name, type, max)                                                           \
        scope const char *name##_to_string(type v)                                                          \
        {                                                                                                   \
                if ((int)v < 0 || (int)v >= (int)(max))                                                     \
                        return NULL;                                                                        \
                return name##_table[v];                                                                     \
        }

#define _DEFINE_STRING_TABLE(scope, name, type, max, invalid)                                               \
        _DEFINE_TO_STRING(scope, name, type, max)                                                           \
        scope type name##_from_string(const char *s)                                                        \
        {                                                                                                   \
                if (!s)                                                                                     \
                        return (invalid);                                                                   \
                for (int i = 0; i < (int)(max); i++)                                                        \
                        if (name##_table[i] && streq(name##_table[i], s))                                   \
                                return (type)i;                                                             \
                return (invalid);                                                                           \
        }

#define DEFINE_STRING_TABLE(name, type, max, invalid) _DEFINE_STRING_TABLE(, name, type, max, invalid)
#define DEFINE_STRING_TABLE_STATIC(name, type, max, invalid)                                                \
        _DEFINE_STRING_TABLE(static, name, type, max, invalid)
#define DEFINE_TO_STRING(name, type, max) _DEFINE_TO_STRING(, name, type, max)
