/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Field tables: one ProtoType per model struct, one ProtoField per wire key. The generic codec
 * (proto-codec.c) encodes, decodes and frees any struct from its table, proto-json.c renders it. A row says
 * where the value lives (offsetof), how it travels (kind), whether it is there (presence flag, or NULL /
 * empty), and what a decoder accepts (bounds). Rows are in wire order: encoders write them in it, decoders
 * read them in it (so the first bad key of a message is the one reported). */

#include <sys/types.h>

#include "proto-json.h"
#include "proto-internal.h"

typedef enum ProtoKind {
        PROTO_KIND_STR,     /* char *, min..max bytes */
        PROTO_KIND_TEXT,    /* char * that may hold NULs, its length a size_t at .aux; max bytes */
        PROTO_KIND_U64,     /* uint64_t, min..max */
        PROTO_KIND_U32,     /* uint32_t, min..max */
        PROTO_KIND_INT,     /* int, min..max (signed: .smin/.smax) */
        PROTO_KIND_I64,     /* int64_t */
        PROTO_KIND_BOOL,    /* bool */
        PROTO_KIND_DOUBLE,  /* double */
        PROTO_KIND_ENUM,    /* an int-sized enum named on the wire by .enum_names (.max set: values from it
                             * up are never sent) */
        PROTO_KIND_BIN,     /* ProtoBytes, at most max bytes */
        PROTO_KIND_VALUE,   /* ProtoValue (a map when PROTO_F_MAP) */
        PROTO_KIND_STRV,    /* char ** (NULL-terminated), its count a size_t at .aux; at most max entries,
                             * min 1: no empty entry */
        PROTO_KIND_STR_MAP, /* ProtoStrMap */
        PROTO_KIND_OBJECT,  /* a nested map described by .type; with offset 0 and a PROTO_INLINE_TYPE, a
                             * map on the wire whose fields are kept flat in the C struct */
        PROTO_KIND_ARRAY,   /* an array of .type structs: pointer at offset, count a size_t at .aux */
        PROTO_KIND_CUSTOM,  /* .codec does it all (the few shapes no row describes) */
} ProtoKind;

enum {
        PROTO_F_REQUIRED = 1 << 0,     /* decode: the key must be there; encode: it always is */
        PROTO_F_OMIT_EMPTY = 1 << 1,   /* encode: false, empty list/map, object with no field: left out */
        PROTO_F_NONEMPTY = 1 << 2,     /* a list with at least one entry ("%s: empty") */
        PROTO_F_MAP = 1 << 3,          /* VALUE: must be a map */
        PROTO_F_NIL = 1 << 4,          /* VALUE: a NULL one is encoded as nil */
        PROTO_F_JSON_OMIT = 1 << 5,    /* JSON: an absent field (a false BOOL) is left out instead of null */
        PROTO_F_CHECK_ENCODE = 1 << 6, /* .check says what the structure must be (one of two keys): the
                                          encoder runs it too, and refuses what it refuses (-EINVAL) */
};

typedef struct ProtoField ProtoField;

/* The rare shapes: a custom row encodes its key(s) itself. */
typedef struct ProtoCodec {
        size_t (*count)(const void *obj);                /* keys it writes */
        void (*encode)(ProtoWriter *w, const void *obj); /* keys and values */
        int (*decode)(const msgpack_object *map, const char *mapname, void *obj, ProtoError *e);
        void (*free)(void *obj);
        void (*json)(JsonWriter *w, const void *obj); /* keys and values */
} ProtoCodec;

struct ProtoField {
        const char *key;
        ProtoKind kind;
        unsigned flags;
        size_t offset;
        ssize_t has; /* offset of the bool presence flag, or -1 */
        size_t aux;  /* count (STRV, ARRAY) or length (TEXT) offset */
        uint64_t min, max;
        int64_t smin, smax;
        size_t max_len;   /* STRV, STR_MAP: bytes per entry (STR_MAP: per key) */
        size_t max_value; /* STR_MAP: bytes per value */
        size_t max_total; /* STRV, STR_MAP: bytes in all */
        const ProtoEnumNames *enum_names;
        const struct ProtoType *type;
        const ProtoCodec *codec;
        /* The upper bound depends on fields read before (output limit and tail in raw mode). */
        uint64_t (*max_of)(const void *obj);
        /* Runs after the field is read (present or not): the checks that need more than a bound. */
        int (*check)(const void *obj, const char *mapname, ProtoError *e);
};

struct ProtoType {
        const char *name;
        size_t size;
        const ProtoField *fields;
        size_t n_fields;
        const ProtoCodec *codec; /* a whole-map codec instead of fields (stats) */
};

/* A row for member m of struct T under wire key k; PROTO_OPT names its presence flag h. */
#define PROTO_ROW(T, m, k, kind_, ...)                                                                      \
        {                                                                                                   \
                .key = (k), .kind = PROTO_KIND_##kind_, .offset = offsetof(T, m), .has = -1, __VA_ARGS__    \
        }
#define PROTO_OPT(T, m, h, k, kind_, ...)                                                                   \
        {                                                                                                   \
                .key = (k), .kind = PROTO_KIND_##kind_, .offset = offsetof(T, m),                           \
                .has = (ssize_t)offsetof(T, h), __VA_ARGS__                                                 \
        }
#define PROTO_CUSTOM(k, c)                                                                                  \
        {                                                                                                   \
                .key = (k), .kind = PROTO_KIND_CUSTOM, .has = -1, .codec = &(c)                             \
        }
#define PROTO_TYPE(n, T, f)                                                                                 \
        {                                                                                                   \
                .name = (n), .size = sizeof(T), .fields = (f), .n_fields = ELEMENTSOF(f)                    \
        }
/* A map on the wire whose fields are kept flat in the parent struct (offset 0, rows with its offsets). */
#define PROTO_INLINE_TYPE(n, f)                                                                             \
        {                                                                                                   \
                .name = (n), .size = 0, .fields = (f), .n_fields = ELEMENTSOF(f)                            \
        }

/* ---- the generic codec (proto-codec.c) ---- */

/* The fields of t in obj, without the map header. */
size_t proto_type_count(const ProtoType *t, const void *obj);
void proto_type_write_fields(ProtoWriter *w, const ProtoType *t, const void *obj);
/* A map header and the fields. */
void proto_type_write(ProtoWriter *w, const ProtoType *t, const void *obj);
/* Reads the fields of t from map (already checked to be a map); errors name "mapname.key". */
int proto_type_read_fields(const msgpack_object *map, const char *mapname, const ProtoType *t, void *obj,
                           ProtoError *e);
/* Checks that o is a map, then reads it. */
int proto_type_read(const msgpack_object *o, const char *name, const ProtoType *t, void *obj, ProtoError *e);
/* Frees what t's fields own in obj, without zeroing it. */
void proto_type_free_fields(const ProtoType *t, void *obj);
/* Frees and zeroes obj. */
void proto_type_free(const ProtoType *t, void *obj);
/* buf as exactly one message of type t (pre-scanned, then read from the root map). */
int proto_type_decode(const void *buf, size_t len, const ProtoType *t, void *ret, ProtoError *ret_err);
int proto_type_encode(const ProtoType *t, const void *obj, void **ret_buf, size_t *ret_len);

/* ---- JSON (proto-json.c): the wire's keys and values; an absent field is null (or left out: JSON_OMIT) */

void proto_json_write_fields(JsonWriter *w, const ProtoType *t, const void *obj);

/* ---- the tables (proto-types.c, proto-ops.c) ---- */

extern const ProtoEnumNames proto_state_names, proto_reason_names, proto_event_kind_names,
        proto_stream_names, proto_output_mode_names, proto_net_names, proto_error_code_names,
        proto_health_names, proto_on_unhealthy_names;

extern const ProtoType proto_empty_type, proto_limits_type, proto_usage_type, proto_agent_info_type,
        proto_event_type, proto_selector_type, proto_health_check_type;
