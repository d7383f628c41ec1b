/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <errno.h>
#include <msgpack.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "mp-text.h"

typedef struct Parser {
        const char *p;
        msgpack_packer pk;
        msgpack_sbuffer sb;
} Parser;

static void skip_ws(Parser *x)
{
        while (*x->p && (isspace((unsigned char)*x->p) || *x->p == ','))
                x->p++;
}

static int parse_value(Parser *x, int depth);

static int parse_string(Parser *x, bool bin)
{
        char quote = *x->p++;
        char *buf = malloc(strlen(x->p) + 1);
        size_t n = 0;

        if (!buf)
                return -ENOMEM;
        while (*x->p && *x->p != quote) {
                char c = *x->p++;
                if (c == '\\') {
                        c = *x->p++;
                        switch (c) {
                        case '0':
                                c = 0;
                                break;
                        case 'n':
                                c = '\n';
                                break;
                        case 'x': {
                                char hex[3] = {x->p[0], x->p[0] ? x->p[1] : 0, 0};
                                c = (char)strtoul(hex, NULL, 16);
                                x->p += 2;
                                break;
                        }
                        case 0:
                                free(buf);
                                return -EINVAL;
                        default:
                                break;
                        }
                }
                buf[n++] = c;
        }
        if (*x->p != quote) {
                free(buf);
                return -EINVAL;
        }
        x->p++;
        if (bin) {
                msgpack_pack_bin(&x->pk, n);
                msgpack_pack_bin_body(&x->pk, buf, n);
        } else {
                msgpack_pack_str(&x->pk, n);
                msgpack_pack_str_body(&x->pk, buf, n);
        }
        free(buf);
        return 0;
}

/* Containers get a 5-byte header whose count starts at 0 and is patched once the elements are known. */
static int parse_container(Parser *x, int depth, bool map)
{
        char close = map ? '}' : ']';
        size_t hdr = x->sb.size;
        uint32_t n = 0;
        int r;

        if (map)
                msgpack_pack_map(&x->pk, 0x10000);
        else
                msgpack_pack_array(&x->pk, 0x10000);
        x->p++;
        for (;;) {
                skip_ws(x);
                if (*x->p == close) {
                        x->p++;
                        break;
                }
                if (!*x->p)
                        return -EINVAL;
                if (map) {
                        if (isalpha((unsigned char)*x->p) || *x->p == '_') {
                                const char *s = x->p;
                                while (isalnum((unsigned char)*x->p) || *x->p == '_')
                                        x->p++;
                                msgpack_pack_str(&x->pk, (size_t)(x->p - s));
                                msgpack_pack_str_body(&x->pk, s, (size_t)(x->p - s));
                        } else {
                                r = parse_value(x, depth + 1);
                                if (r < 0)
                                        return r;
                        }
                        skip_ws(x);
                        if (*x->p != ':')
                                return -EINVAL;
                        x->p++;
                }
                r = parse_value(x, depth + 1);
                if (r < 0)
                        return r;
                n++;
        }
        x->sb.data[hdr + 1] = (char)(n >> 24);
        x->sb.data[hdr + 2] = (char)(n >> 16);
        x->sb.data[hdr + 3] = (char)(n >> 8);
        x->sb.data[hdr + 4] = (char)n;
        return 0;
}

static int parse_value(Parser *x, int depth)
{
        skip_ws(x);
        if (depth > 100)
                return -EINVAL;
        switch (*x->p) {
        case '{':
                return parse_container(x, depth, true);
        case '[':
                return parse_container(x, depth, false);
        case '"':
        case '\'':
                return parse_string(x, false);
        default:
                break;
        }
        if (x->p[0] == 'b' && (x->p[1] == '"' || x->p[1] == '\'')) {
                x->p++;
                return parse_string(x, true);
        }
        if (strncmp(x->p, "true", 4) == 0) {
                x->p += 4;
                return msgpack_pack_true(&x->pk);
        }
        if (strncmp(x->p, "false", 5) == 0) {
                x->p += 5;
                return msgpack_pack_false(&x->pk);
        }
        if (strncmp(x->p, "nil", 3) == 0) {
                x->p += 3;
                return msgpack_pack_nil(&x->pk);
        }
        if (*x->p == '-' || isdigit((unsigned char)*x->p)) {
                const char *s = x->p;
                char *end;
                bool is_float = false;

                x->p++;
                while (isdigit((unsigned char)*x->p) || *x->p == '.' || *x->p == 'e') {
                        is_float |= *x->p == '.';
                        x->p++;
                }
                if (is_float)
                        return msgpack_pack_double(&x->pk, strtod(s, &end));
                if (*s == '-')
                        return msgpack_pack_int64(&x->pk, strtoll(s, &end, 10));
                return msgpack_pack_uint64(&x->pk, strtoull(s, &end, 10));
        }
        return -EINVAL;
}

int mp_text(const char *text, void **ret_buf, size_t *ret_len)
{
        Parser x = {.p = text};
        int r;

        msgpack_sbuffer_init(&x.sb);
        msgpack_packer_init(&x.pk, &x.sb, msgpack_sbuffer_write);
        r = parse_value(&x, 0);
        skip_ws(&x);
        if (r < 0 || *x.p) {
                msgpack_sbuffer_destroy(&x.sb);
                return -EINVAL;
        }
        *ret_buf = x.sb.data;
        *ret_len = x.sb.size;
        return 0;
}
