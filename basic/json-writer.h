/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A small streaming JSON writer: compact output, commas and nesting tracked for the caller. Strings are
 * taken as bytes: valid UTF-8 passes through, every invalid byte becomes U+FFFD, so that the output is
 * always valid JSON. Write errors are sticky in the FILE (check ferror()). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define JSON_DEPTH_MAX 64

typedef struct JsonWriter {
        FILE *f;
        unsigned depth;
        bool need_comma[JSON_DEPTH_MAX + 1];
        bool after_key;
        unsigned overflow; /* levels opened beyond JSON_DEPTH_MAX (their commas are not tracked) */
} JsonWriter;

void json_writer_init(JsonWriter *w, FILE *f);

/* Writes s[0..n) as a quoted, escaped JSON string. */
void json_write_escaped(FILE *f, const char *s, size_t n);

void json_writer_object_begin(JsonWriter *w);
void json_writer_object_end(JsonWriter *w);
void json_writer_array_begin(JsonWriter *w);
void json_writer_array_end(JsonWriter *w);
void json_writer_key(JsonWriter *w, const char *key);
/* A key of n bytes (escaped like a string). */
void json_writer_value_key_n(JsonWriter *w, const char *key, size_t n);
void json_writer_string(JsonWriter *w, const char *s); /* NULL writes null */
void json_writer_string_n(JsonWriter *w, const char *s, size_t n);
void json_writer_uint(JsonWriter *w, uint64_t v);
void json_writer_int(JsonWriter *w, int64_t v);
void json_writer_double(JsonWriter *w, double v); /* non-finite values write null */
void json_writer_bool(JsonWriter *w, bool v);
void json_writer_null(JsonWriter *w);
/* Inserts text that is already one JSON value. */
void json_writer_raw(JsonWriter *w, const char *json);

/* Convenience: key then value. */
void json_writer_kv_string(JsonWriter *w, const char *key, const char *s);
void json_writer_kv_uint(JsonWriter *w, const char *key, uint64_t v);
void json_writer_kv_int(JsonWriter *w, const char *key, int64_t v);
void json_writer_kv_bool(JsonWriter *w, const char *key, bool v);
