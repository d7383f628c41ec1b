/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "analyzer.h"
#include "string-util.h"

size_t strv_length(char *const *l)
{
        size_t n = 0;
        if (l)
                while (l[n])
                        n++;
        return n;
}

int strv_copy(char *const *l, char ***ret)
{
        size_t n = strv_length(l);
        _cleanup_strv_free_ char **c = calloc(n + 1, sizeof(char *));

        if (!c)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                /* analyzer false positive: c owns the copy and strv_free() frees every element, a loop the
                 * analyzer does not follow */
                ANALYZER_IGNORE_LEAK_BEGIN
                c[i] = strdup(l[i]);
                if (!c[i])
                        return -ENOMEM;
                ANALYZER_IGNORE_END
        }
        *ret = TAKE_PTR(c);
        return 0;
}

int strv_extend(char ***l, const char *s)
{
        size_t n = strv_length(*l);
        _cleanup_free_ char *d = strdup(s);
        char **nl;

        if (!d)
                return -ENOMEM;
        nl = realloc(*l, (n + 2) * sizeof(char *));
        if (!nl)
                return -ENOMEM;
        nl[n] = TAKE_PTR(d);
        nl[n + 1] = NULL;
        *l = nl;
        return 0;
}

bool strv_contains(char *const *l, const char *s)
{
        for (size_t i = 0; l && l[i]; i++)
                if (streq(l[i], s))
                        return true;
        return false;
}

int strndup_checked(const char *s, size_t n, char **ret)
{
        char *d;

        if (n > 0 && memchr(s, 0, n))
                return -EINVAL;
        d = malloc(n + 1);
        if (!d)
                return -ENOMEM;
        if (n > 0)
                memcpy(d, s, n);
        d[n] = 0;
        *ret = d;
        return 0;
}

int asprintf_safe(char **ret, const char *fmt, ...)
{
        va_list ap;
        char *s;
        int r;

        va_start(ap, fmt);
        r = vasprintf(&s, fmt, ap);
        va_end(ap);
        if (r < 0)
                return -ENOMEM;
        *ret = s;
        return 0;
}
