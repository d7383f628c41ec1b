/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json-reader.h"

typedef struct Reader {
        const char *p, *end;
        char *scratch; /* unescaped strings: never longer than the text */
        const JsonReaderOps *ops;
        void *userdata;
} Reader;

#define CALL(r, fn, ...) ((r)->ops->fn ? (r)->ops->fn((r)->userdata, ##__VA_ARGS__) : 0)

static void skip_space(Reader *r)
{
        while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r'))
                r->p++;
}

static int hex4(const char *p, uint32_t *ret)
{
        uint32_t v = 0;

        for (unsigned i = 0; i < 4; i++) {
                char c = p[i];
                v <<= 4;
                if (c >= '0' && c <= '9')
                        v |= (uint32_t)(c - '0');
                else if (c >= 'a' && c <= 'f')
                        v |= (uint32_t)(c - 'a' + 10);
                else if (c >= 'A' && c <= 'F')
                        v |= (uint32_t)(c - 'A' + 10);
                else
                        return -EBADMSG;
        }
        *ret = v;
        return 0;
}

static size_t utf8_put(char *out, uint32_t cp)
{
        if (cp < 0x80) {
                out[0] = (char)cp;
                return 1;
        }
        if (cp < 0x800) {
                out[0] = (char)(0xc0 | (cp >> 6));
                out[1] = (char)(0x80 | (cp & 0x3f));
                return 2;
        }
        if (cp < 0x10000) {
                out[0] = (char)(0xe0 | (cp >> 12));
                out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
                out[2] = (char)(0x80 | (cp & 0x3f));
                return 3;
        }
        out[0] = (char)(0xf0 | (cp >> 18));
        out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
        out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
        out[3] = (char)(0x80 | (cp & 0x3f));
        return 4;
}

/* At the opening quote: the unescaped string in r->scratch, its length in *ret_n. */
static int read_string(Reader *r, size_t *ret_n)
{
        size_t n = 0;

        r->p++;
        for (;;) {
                if (r->p >= r->end)
                        return -EBADMSG;
                unsigned char c = (unsigned char)*r->p;
                if (c == '"') {
                        r->p++;
                        *ret_n = n;
                        return 0;
                }
                if (c < 0x20)
                        return -EBADMSG;
                if (c != '\\') {
                        r->scratch[n++] = (char)c;
                        r->p++;
                        continue;
                }
                if (r->end - r->p < 2)
                        return -EBADMSG;
                char e = r->p[1];
                r->p += 2;
                switch (e) {
                case '"':
                case '\\':
                case '/':
                        r->scratch[n++] = e;
                        break;
                case 'b':
                        r->scratch[n++] = '\b';
                        break;
                case 'f':
                        r->scratch[n++] = '\f';
                        break;
                case 'n':
                        r->scratch[n++] = '\n';
                        break;
                case 'r':
                        r->scratch[n++] = '\r';
                        break;
                case 't':
                        r->scratch[n++] = '\t';
                        break;
                case 'u': {
                        uint32_t cp, lo;
                        if (r->end - r->p < 4 || hex4(r->p, &cp) < 0)
                                return -EBADMSG;
                        r->p += 4;
                        if (cp >= 0xdc00 && cp <= 0xdfff)
                                return -EBADMSG;
                        if (cp >= 0xd800 && cp <= 0xdbff) {
                                if (r->end - r->p < 6 || r->p[0] != '\\' || r->p[1] != 'u' ||
                                    hex4(r->p + 2, &lo) < 0 || lo < 0xdc00 || lo > 0xdfff)
                                        return -EBADMSG;
                                r->p += 6;
                                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                        }
                        /* at most 4 bytes out for 6 or 12 bytes in: the scratch never overflows */
                        n += utf8_put(r->scratch + n, cp);
                        break;
                }
                default:
                        return -EBADMSG;
                }
        }
}

static bool is_digit(char c)
{
        return c >= '0' && c <= '9';
}

static int read_number(Reader *r)
{
        const char *s = r->p;
        char text[JSON_READER_NUMBER_MAX + 1];
        bool integer = true;

        if (r->p < r->end && *r->p == '-')
                r->p++;
        if (r->p >= r->end || !is_digit(*r->p))
                return -EBADMSG;
        if (*r->p == '0')
                r->p++;
        else
                while (r->p < r->end && is_digit(*r->p))
                        r->p++;
        if (r->p < r->end && *r->p == '.') {
                integer = false;
                r->p++;
                if (r->p >= r->end || !is_digit(*r->p))
                        return -EBADMSG;
                while (r->p < r->end && is_digit(*r->p))
                        r->p++;
        }
        if (r->p < r->end && (*r->p == 'e' || *r->p == 'E')) {
                integer = false;
                r->p++;
                if (r->p < r->end && (*r->p == '+' || *r->p == '-'))
                        r->p++;
                if (r->p >= r->end || !is_digit(*r->p))
                        return -EBADMSG;
                while (r->p < r->end && is_digit(*r->p))
                        r->p++;
        }
        if ((size_t)(r->p - s) > JSON_READER_NUMBER_MAX)
                return -EBADMSG;
        memcpy(text, s, (size_t)(r->p - s));
        text[r->p - s] = 0;
        return CALL(r, number, text, integer);
}

static int read_word(Reader *r, const char *word)
{
        size_t n = strlen(word);

        if ((size_t)(r->end - r->p) < n || memcmp(r->p, word, n) != 0)
                return -EBADMSG;
        r->p += n;
        return 0;
}

/* One scalar, or the opening of a container (then *ret_open is '{' or '['). */
static int read_value_start(Reader *r, char *ret_open)
{
        size_t n;
        int k;

        *ret_open = 0;
        skip_space(r);
        if (r->p >= r->end)
                return -EBADMSG;
        switch (*r->p) {
        case '{':
        case '[':
                *ret_open = *r->p++;
                return *ret_open == '{' ? CALL(r, begin_object) : CALL(r, begin_array);
        case '"':
                k = read_string(r, &n);
                return k < 0 ? k : CALL(r, string, r->scratch, n);
        case 't':
                k = read_word(r, "true");
                return k < 0 ? k : CALL(r, boolean, true);
        case 'f':
                k = read_word(r, "false");
                return k < 0 ? k : CALL(r, boolean, false);
        case 'n':
                k = read_word(r, "null");
                return k < 0 ? k : CALL(r, null);
        default:
                return read_number(r);
        }
}

int json_read(const char *text, size_t n, unsigned max_depth, const JsonReaderOps *ops, void *userdata)
{
        /* the kind of each open container: a bit per level, 1 for an object */
        uint8_t *stack = NULL;
        unsigned depth = 0;
        char open;
        int k;

        Reader r = {.p = text, .end = text + n, .ops = ops, .userdata = userdata};
        r.scratch = malloc(n + 1);
        stack = malloc(max_depth + 1);
        if (!r.scratch || !stack) {
                free(r.scratch);
                free(stack);
                return -ENOMEM;
        }

        /* value: a scalar ends it; a container pushes a level, then members follow until it closes */
        k = read_value_start(&r, &open);
        for (;;) {
                if (k < 0)
                        break;
                if (open) {
                        if (depth >= max_depth) {
                                k = -ELOOP;
                                break;
                        }
                        stack[depth++] = open == '{';
                        skip_space(&r);
                        /* an empty container closes at once */
                        if (r.p < r.end && *r.p == (open == '{' ? '}' : ']')) {
                                r.p++;
                                depth--;
                                k = open == '{' ? CALL(&r, end_object) : CALL(&r, end_array);
                                open = 0;
                                continue;
                        }
                        goto member;
                }
                /* after a value: the end of the text, a comma, or the close of its container */
                skip_space(&r);
                if (depth == 0) {
                        k = r.p == r.end ? 0 : -EBADMSG;
                        break;
                }
                if (r.p >= r.end) {
                        k = -EBADMSG;
                        break;
                }
                if (*r.p == ',') {
                        r.p++;
                        goto member;
                }
                if (*r.p != (stack[depth - 1] ? '}' : ']')) {
                        k = -EBADMSG;
                        break;
                }
                r.p++;
                depth--;
                k = stack[depth] ? CALL(&r, end_object) : CALL(&r, end_array);
                open = 0;
                continue;
        member:
                if (stack[depth - 1]) {
                        size_t kn;
                        skip_space(&r);
                        if (r.p >= r.end || *r.p != '"') {
                                k = -EBADMSG;
                                break;
                        }
                        k = read_string(&r, &kn);
                        if (k >= 0)
                                k = CALL(&r, key, r.scratch, kn);
                        if (k < 0)
                                break;
                        skip_space(&r);
                        if (r.p >= r.end || *r.p != ':') {
                                k = -EBADMSG;
                                break;
                        }
                        r.p++;
                }
                k = read_value_start(&r, &open);
        }
        free(r.scratch);
        free(stack);
        return k;
}
