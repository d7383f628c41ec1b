/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Shared by the proto/ sources only: the raw pre-scan, msgpack object readers and writers. */

#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cleanup.h"
#include "proto.h"

/* Walks buf as exactly one msgpack object without allocating: every declared string, bin, ext, array and map
 * size is checked against the bytes left, nesting against max_depth (the outermost container is depth 1),
 * objects against PROTO_OBJECTS_MAX, and nothing may follow the object. Returns the number of objects, or
 * -EBADMSG with e filled. */
int proto_scan(const uint8_t *buf, size_t len, unsigned max_depth, ProtoError *e);

/* One-shot unpack of a whole message, after proto_scan() with PROTO_DEPTH_MAX accepted it; the objects point
 * into buf. */
typedef struct ProtoUnpacked {
        msgpack_unpacked u;
        bool initialized;
} ProtoUnpacked;
int proto_unpack(const void *buf, size_t len, ProtoUnpacked *ret, ProtoError *e);
void proto_unpacked_done(ProtoUnpacked *p);

/* ---- readers: each checks the type and bound, names `key` in its error, and returns 0 or a -errno from
 * proto_error_set() ---- */

/* Checks that o is a map whose keys are all strings. */
int proto_read_map(const msgpack_object *o, const char *key, ProtoError *e);
/* 0 and *ret = NULL when map has no such key, 1 and *ret when it has exactly one, -EBADMSG on a duplicate.
 */
int proto_map_get(const msgpack_object *map, const char *mapname, const char *key,
                  const msgpack_object **ret, ProtoError *e);
/* Like proto_map_get(), but a missing key is an error. */
int proto_map_need(const msgpack_object *map, const char *mapname, const char *key,
                   const msgpack_object **ret, ProtoError *e);

int proto_read_str(const msgpack_object *o, const char *key, size_t min, size_t max, char **ret,
                   ProtoError *e);
/* A string that may hold NUL bytes (output line text); still NUL-terminated. */
int proto_read_text(const msgpack_object *o, const char *key, size_t max, char **ret, size_t *ret_size,
                    ProtoError *e);
int proto_read_u64(const msgpack_object *o, const char *key, uint64_t min, uint64_t max, uint64_t *ret,
                   ProtoError *e);
int proto_read_i64(const msgpack_object *o, const char *key, int64_t min, int64_t max, int64_t *ret,
                   ProtoError *e);
int proto_read_int(const msgpack_object *o, const char *key, int min, int max, int *ret, ProtoError *e);
int proto_read_bool(const msgpack_object *o, const char *key, bool *ret, ProtoError *e);
/* A float32/float64, or an integer taken as one. */
int proto_read_double(const msgpack_object *o, const char *key, double *ret, ProtoError *e);
int proto_read_bin(const msgpack_object *o, const char *key, size_t max, ProtoBytes *ret, ProtoError *e);
/* A string naming one of an enum's values (see proto_read_enum() in proto-read.c). */
typedef struct ProtoEnumNames {
        const char *const *names;
        int n;
} ProtoEnumNames;
int proto_read_enum(const msgpack_object *o, const char *key, const ProtoEnumNames *names, bool lenient,
                    int lenient_value, int *ret, ProtoError *e);
/* An array of 0..max_n strings of 0..max_len bytes each (non-empty ones when nonempty), max_total bytes in
 * all; *ret is NULL-terminated. */
int proto_read_strv(const msgpack_object *o, const char *key, size_t max_n, size_t max_len, size_t max_total,
                    bool nonempty, char ***ret, size_t *ret_n, ProtoError *e);
/* A map of string to string, keys non-empty and unique. */
int proto_read_str_map(const msgpack_object *o, const char *key, size_t max_n, size_t max_key,
                       size_t max_value, size_t max_total, ProtoStrMap *ret, ProtoError *e);
/* Any value (a map when want_map), re-packed into a ProtoValue of at most PROTO_VALUE_MAX bytes. */
int proto_read_value(const msgpack_object *o, const char *key, bool want_map, ProtoValue *ret,
                     ProtoError *e);

#define PROTO_KEYNAME_MAX 128
/* "mapname.key" ("key" at the top level): how errors name a value. */
void proto_key_name(char buf[static PROTO_KEYNAME_MAX], const char *mapname, const char *key);

/* ---- writers: a growable buffer behind a msgpack_packer; errors are sticky and checked once at the end
 * ---- */

typedef struct ProtoWriter {
        msgpack_packer pk;
        uint8_t *buf;
        size_t len;
        size_t allocated;
        int error;
} ProtoWriter;

void proto_writer_init(ProtoWriter *w);
/* Hands out the buffer, or returns the first error (-ENOMEM, -EMSGSIZE past PROTO_MESSAGE_MAX). */
int proto_writer_finish(ProtoWriter *w, void **ret_buf, size_t *ret_len);
void proto_writer_done(ProtoWriter *w);
/* Makes the writer fail with r (the first error wins). */
void proto_writer_fail(ProtoWriter *w, int r);

void proto_write_str(ProtoWriter *w, const char *s);
void proto_write_key(ProtoWriter *w, const char *s);
void proto_write_u64(ProtoWriter *w, uint64_t v);
void proto_write_i64(ProtoWriter *w, int64_t v);
void proto_write_bool(ProtoWriter *w, bool v);
void proto_write_double(ProtoWriter *w, double v);
void proto_write_bin(ProtoWriter *w, const void *p, size_t n);
void proto_write_text(ProtoWriter *w, const char *p, size_t n);
void proto_write_map(ProtoWriter *w, size_t n);
void proto_write_array(ProtoWriter *w, size_t n);
void proto_write_nil(ProtoWriter *w);
void proto_write_value(ProtoWriter *w, const ProtoValue *v);
void proto_write_strv(ProtoWriter *w, char *const *l, size_t n);
void proto_write_str_map(ProtoWriter *w, const ProtoStrMap *m);

/* An error map {code, msg, agent?, retry_after_ms?} (error replies, failed batch items); agent NULL and
 * retry_after_ms 0 leave them out. */
void proto_write_error_map(ProtoWriter *w, ProtoErrorCode code, const char *msg, const char *agent,
                           uint64_t retry_after_ms);
int proto_read_error_map(const msgpack_object *o, const char *key, ProtoErrorCode *ret_code, char **ret_msg,
                         ProtoError *e);
