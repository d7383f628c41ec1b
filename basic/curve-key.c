/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "curve-key.h"

static const char z85_alphabet[] =
        "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";

bool curve_key_is_z85(const char *s)
{
        if (!s || strlen(s) != CURVE_KEY_Z85_LEN)
                return false;
        for (const char *p = s; *p; p++)
                if (!strchr(z85_alphabet, *p))
                        return false;
        return true;
}

int curve_file_field(const char *text, const char *name, char **ret)
{
        size_t name_len = strlen(name);

        for (const char *line = text; line && *line;) {
                const char *end = strchr(line, '\n'), *p = line, *v, *ve;

                if (!end)
                        end = line + strlen(line);
                while (p < end && isspace((unsigned char)*p))
                        p++;
                if (p < end && *p != '#' && (size_t)(end - p) > name_len &&
                    strncmp(p, name, name_len) == 0) {
                        v = p + name_len;
                        while (v < end && (*v == ' ' || *v == '\t'))
                                v++;
                        if (v < end && *v == '=') {
                                v++;
                                ve = end;
                                while (v < ve && isspace((unsigned char)*v))
                                        v++;
                                while (ve > v && isspace((unsigned char)ve[-1]))
                                        ve--;
                                *ret = strndup(v, (size_t)(ve - v));
                                return *ret ? 0 : -ENOMEM;
                        }
                }
                line = *end ? end + 1 : NULL;
        }
        return -ENOENT;
}

int curve_file_key(const char *text, const char *name, char ret[CURVE_KEY_Z85_SIZE])
{
        char *v = NULL;
        int r;

        r = curve_file_field(text, name, &v);
        if (r < 0)
                return r;
        if (!curve_key_is_z85(v)) {
                free(v);
                return -EINVAL;
        }
        memcpy(ret, v, CURVE_KEY_Z85_SIZE);
        free(v);
        return 0;
}
