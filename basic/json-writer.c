/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "json-writer.h"

void json_writer_init(JsonWriter *w, FILE *f)
{
        *w = (JsonWriter){.f = f};
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), or 0 if it is not one. */
static size_t utf8_sequence_length(const unsigned char *s, size_t n)
{
        uint32_t cp;
        size_t len;

        if (s[0] < 0x80)
                return 1;
        if (s[0] >= 0xc2 && s[0] <= 0xdf)
                len = 2, cp = s[0] & 0x1f;
        else if (s[0] >= 0xe0 && s[0] <= 0xef)
                len = 3, cp = s[0] & 0x0f;
        else if (s[0] >= 0xf0 && s[0] <= 0xf4)
                len = 4, cp = s[0] & 0x07;
        else
                return 0;
        if (n < len)
                return 0;
        for (size_t i = 1; i < len; i++) {
                if ((s[i] & 0xc0) != 0x80)
                        return 0;
                cp = (cp << 6) | (s[i] & 0x3f);
        }
        if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
            (cp >= 0xd800 && cp <= 0xdfff))
                return 0;
        return len;
}

void json_write_escaped(FILE *f, const char *str, size_t n)
{
        const unsigned char *s = (const unsigned char *)str;
        size_t i = 0;

        fputc('"', f);
        while (i < n) {
                unsigned char ch = s[i];
                size_t len;

                switch (ch) {
                case '"':
                        fputs("\\\"", f);
                        i++;
                        continue;
                case '\\':
                        fputs("\\\\", f);
                        i++;
                        continue;
                case '\b':
                        fputs("\\b", f);
                        i++;
                        continue;
                case '\f':
                        fputs("\\f", f);
                        i++;
                        continue;
                case '\n':
                        fputs("\\n", f);
                        i++;
                        continue;
                case '\r':
                        fputs("\\r", f);
                        i++;
                        continue;
                case '\t':
                        fputs("\\t", f);
                        i++;
                        continue;
                default:
                        break;
                }
                if (ch < 0x20) {
                        fprintf(f, "\\u%04x", ch);
                        i++;
                        continue;
                }
                len = utf8_sequence_length(s + i, n - i);
                if (len == 0) {
                        fputs("\\ufffd", f);
                        i++;
                        continue;
                }
                fwrite(s + i, 1, len, f);
                i += len;
        }
        fputc('"', f);
}

static void json_value_prefix(JsonWriter *w)
{
        if (w->after_key) {
                w->after_key = false;
                return;
        }
        if (w->need_comma[w->depth])
                fputc(',', w->f);
        w->need_comma[w->depth] = true;
}

static void json_open(JsonWriter *w, char c)
{
        json_value_prefix(w);
        fputc(c, w->f);
        if (w->depth >= JSON_DEPTH_MAX) {
                w->overflow++;
                return;
        }
        w->depth++;
        w->need_comma[w->depth] = false;
}

static void json_close(JsonWriter *w, char c)
{
        if (w->overflow > 0)
                w->overflow--;
        else if (w->depth > 0)
                w->depth--;
        w->after_key = false;
        fputc(c, w->f);
}

void json_writer_object_begin(JsonWriter *w)
{
        json_open(w, '{');
}

void json_writer_object_end(JsonWriter *w)
{
        json_close(w, '}');
}

void json_writer_array_begin(JsonWriter *w)
{
        json_open(w, '[');
}

void json_writer_array_end(JsonWriter *w)
{
        json_close(w, ']');
}

void json_writer_value_key_n(JsonWriter *w, const char *key, size_t n)
{
        json_value_prefix(w);
        json_write_escaped(w->f, key, n);
        fputc(':', w->f);
        w->after_key = true;
}

void json_writer_key(JsonWriter *w, const char *key)
{
        json_writer_value_key_n(w, key, strlen(key));
}

void json_writer_string_n(JsonWriter *w, const char *s, size_t n)
{
        json_value_prefix(w);
        json_write_escaped(w->f, s, n);
}

void json_writer_string(JsonWriter *w, const char *s)
{
        if (!s) {
                json_writer_null(w);
                return;
        }
        json_writer_string_n(w, s, strlen(s));
}

void json_writer_uint(JsonWriter *w, uint64_t v)
{
        json_value_prefix(w);
        fprintf(w->f, "%" PRIu64, v);
}

void json_writer_int(JsonWriter *w, int64_t v)
{
        json_value_prefix(w);
        fprintf(w->f, "%" PRId64, v);
}

void json_writer_double(JsonWriter *w, double v)
{
        if (!isfinite(v)) {
                json_writer_null(w);
                return;
        }
        json_value_prefix(w);
        fprintf(w->f, "%.17g", v);
}

void json_writer_bool(JsonWriter *w, bool v)
{
        json_value_prefix(w);
        fputs(v ? "true" : "false", w->f);
}

void json_writer_null(JsonWriter *w)
{
        json_value_prefix(w);
        fputs("null", w->f);
}

void json_writer_raw(JsonWriter *w, const char *json)
{
        json_value_prefix(w);
        fputs(json, w->f);
}

void json_writer_kv_string(JsonWriter *w, const char *key, const char *s)
{
        json_writer_key(w, key);
        json_writer_string(w, s);
}

void json_writer_kv_uint(JsonWriter *w, const char *key, uint64_t v)
{
        json_writer_key(w, key);
        json_writer_uint(w, v);
}

void json_writer_kv_int(JsonWriter *w, const char *key, int64_t v)
{
        json_writer_key(w, key);
        json_writer_int(w, v);
}

void json_writer_kv_bool(JsonWriter *w, const char *key, bool v)
{
        json_writer_key(w, key);
        json_writer_bool(w, v);
}
