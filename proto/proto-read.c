/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyzer.h"
#include "proto-internal.h"
#include "string-util.h"

static const char *type_name(const msgpack_object *o)
{
        switch (o->type) {
        case MSGPACK_OBJECT_NIL:
                return "nil";
        case MSGPACK_OBJECT_BOOLEAN:
                return "boolean";
        case MSGPACK_OBJECT_POSITIVE_INTEGER:
        case MSGPACK_OBJECT_NEGATIVE_INTEGER:
                return "integer";
        case MSGPACK_OBJECT_FLOAT32:
        case MSGPACK_OBJECT_FLOAT64:
                return "float";
        case MSGPACK_OBJECT_STR:
                return "string";
        case MSGPACK_OBJECT_ARRAY:
                return "array";
        case MSGPACK_OBJECT_MAP:
                return "map";
        case MSGPACK_OBJECT_BIN:
                return "binary";
        case MSGPACK_OBJECT_EXT:
                return "extension";
        default:
                return "unknown";
        }
}

static int wrong_type(const msgpack_object *o, const char *key, const char *want, ProtoError *e)
{
        if (!*key)
                key = "message";
        return proto_error_set(e, PROTO_ERROR_BAD_REQUEST, "%s: expected %s, got %s", key, want,
                               type_name(o));
}

int proto_read_map(const msgpack_object *o, const char *key, ProtoError *e)
{
        if (o->type != MSGPACK_OBJECT_MAP)
                return wrong_type(o, key, "map", e);
        for (uint32_t i = 0; i < o->via.map.size; i++)
                if (o->via.map.ptr[i].key.type != MSGPACK_OBJECT_STR)
                        return proto_error_set(e, PROTO_ERROR_BAD_REQUEST,
                                               "%s: map key of type %s, expected string", key,
                                               type_name(&o->via.map.ptr[i].key));
        return 0;
}

static bool key_is(const msgpack_object *k, const char *key)
{
        size_t n = strlen(key);
        return k->type == MSGPACK_OBJECT_STR && k->via.str.size == n && memcmp(k->via.str.ptr, key, n) == 0;
}

int proto_map_get(const msgpack_object *map, const char *mapname, const char *key,
                  const msgpack_object **ret, ProtoError *e)
{
        const msgpack_object *found = NULL;

        for (uint32_t i = 0; i < map->via.map.size; i++) {
                if (!key_is(&map->via.map.ptr[i].key, key))
                        continue;
                if (found)
                        return proto_error_set(e, PROTO_ERROR_BAD_REQUEST, "%s%s%s: duplicate key", mapname,
                                               *mapname ? "." : "", key);
                found = &map->via.map.ptr[i].val;
        }
        *ret = found;
        return found ? 1 : 0;
}

int proto_map_need(const msgpack_object *map, const char *mapname, const char *key,
                   const msgpack_object **ret, ProtoError *e)
{
        int r = proto_map_get(map, mapname, key, ret, e);
        if (r == 0)
                return proto_error_set(e, PROTO_ERROR_BAD_REQUEST, "missing required key %s%s%s", mapname,
                                       *mapname ? "." : "", key);
        return r;
}

int proto_read_str(const msgpack_object *o, const char *key, size_t min, size_t max, char **ret,
                   ProtoError *e)
{
        char *s;

        if (o->type != MSGPACK_OBJECT_STR)
                return wrong_type(o, key, "string", e);
        if (o->via.str.size < min || o->via.str.size > max)
                return proto_error_set(e, PROTO_ERROR_BAD_REQUEST,
                                       "%s: string of %" PRIu32 " bytes, allowed %zu..%zu", key,
                                       o->via.str.size, min, max);
        if (o->via.str.size > 0 && memchr(o->via.str.ptr, 0, o->via.str.size))
                return proto_error_set(e, PROTO_ERROR_BAD_REQUEST, "%s: string contains a NUL byte", key);
        s = strndup(o->via.str.ptr, o->via.str.size);
        if (!s)
                return proto_error_set(e, PROTO_ERROR_INTERNAL, "out of memory");
        *ret = s;
        /* analyzer false positive: *ret owns s; the analyzer loses a pointer stored through a parameter */
        ANALYZER_IGNORE_LEAK_BEGIN
        return 0;
        ANALYZER_IGNORE_END
}

int proto_read_text(const msgpack_object *o, const char *key, size_t max, char **ret, size_t *ret_size,
                    ProtoError *e)
{
        char *s;

        if (o->type != MSGPACK_OBJECT_STR)
                return wrong_type(o, key, "string", e);
        if (o->via.str.size > max)
                return proto_error_set(e, PROTO_ERROR_BAD_REQUEST,
                                       "%s: string of %" PRIu32 " bytes exceeds %zu", key, o->via.str.size,
                                       max);
        s = malloc((size_t)o->via.str.size + 1);
        if (!s)
                return proto_error_set(e, PROTO_ERROR_INTERNAL, "out of memory");
        if (o->via.str.size > 0)
                memcpy(s, o->via.str.ptr, o->via.str.size);
        s[o->via.str.size] = 0;
        *ret = s;
        *ret_size = o->via.str.size;
        return 0;
}

int proto_read_u64(const msgpack_object *o, const char *key, uint64_t min, uint64_t max, uint64_t *ret,
                   ProtoError *e)
{
        if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
                return proto_error_set(e, PROTO_ERROR_BAD_REQUEST,
                                       "%s: %" PRIi64 " is out of range %" PRIu64 "..%" PRIu64, key,
                                       o->via.i64, min, max);
        if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
                return wrong_type(o, key, "integer", e);
        if (o->via.u64 < min || o->via.u64 > max)
                return proto_error_set(e, PROTO_ERROR_BAD_REQUEST,
                                       "%s: %" PRIu64 " is out of range %" PRIu64 "..%" PRIu64, key,
                                       o->via.u64, min, max);
        *ret = o->via.u64;
        return 0;
}

int proto_read_i64(const msgpack_object *o, const char *key, int64_t min, int64_t max, int64_t *ret,
                   ProtoError *e)
{
        int64_t v;

        if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
                if (o->via.u64 > INT64_MAX)
                        return proto_error_set(e, PROTO_ERROR_BAD_REQUEST, "%s: %" PRIu64 " is out of range",
                                               key, o->via.u64);
                v = (int64_t)o->via.u64;
        } else if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
                v = o->via.i64;
        else
                return wrong_type(o, key, "integer", e);
        if (v < min || v > max)
                return proto_error_set(e, PROTO_ERROR_BAD_REQUEST,
                                       "%s: %" PRIi64 " is out of range %" PRIi64 "..%" PRIi64, key, v, min,
                                       max);
        *ret = v;
        return 0;
}

int proto_read_int(const msgpack_object *o, const char *key, int min, int max, int *ret, ProtoError *e)
{
        int64_t v;
        int r = proto_read_i64(o, key, min, max, &v, e);
        if (r < 0)
                return r;
        *ret = (int)v;
        return 0;
}

int proto_read_bool(const msgpack_object *o, const char *key, bool *ret, ProtoError *e)
{
        if (o->type != MSGPACK_OBJECT_BOOLEAN)
                return wrong_type(o, key, "boolean", e);
        *ret = o->via.boolean;
        return 0;
}

int proto_read_double(const msgpack_object *o, const char *key, double *ret, ProtoError *e)
{
        switch (o->type) {
        case MSGPACK_OBJECT_FLOAT32:
        case MSGPACK_OBJECT_FLOAT64:
                *ret = o->via.f64;
                return 0;
        case MSGPACK_OBJECT_POSITIVE_INTEGER:
                *ret = (double)o->via.u64;
                return 0;
        case MSGPACK_OBJECT_NEGATIVE_INTEGER:
                *ret = (double)o->via.i64;
                return 0;
        default:
                return wrong_type(o, key, "number", e);
        }
}

int proto_read_bin(const msgpack_object *o, const char *key, size_t max, ProtoBytes *ret, ProtoError *e)
{
        uint8_t *d;

        if (o->type != MSGPACK_OBJECT_BIN)
                return wrong_type(o, key, "binary", e);
        if (o->via.bin.size > max)
                return proto_error_set(e, PROTO_ERROR_BAD_REQUEST, "%s: %" PRIu32 " bytes exceed %zu", key,
                                       o->via.bin.size, max);
        /* One spare byte so that an empty but present value still has a non-NULL pointer. */
        d = malloc((size_t)o->via.bin.size + 1);
        if (!d)
                return proto_error_set(e, PROTO_ERROR_INTERNAL, "out of memory");
        if (o->via.bin.size > 0)
                memcpy(d, o->via.bin.ptr, o->via.bin.size);
        *ret = (ProtoBytes){.data = d, .size = o->via.bin.size};
        return 0;
}

/* Enum names are short: anything longer is unknown without copying it. */
#define ENUM_NAME_MAX 32

static int read_word(const msgpack_object *o, const char *key, char buf[static ENUM_NAME_MAX + 1],
                     ProtoError *e)
{
        if (o->type != MSGPACK_OBJECT_STR)
                return wrong_type(o, key, "string", e);
        if (o->via.str.size > ENUM_NAME_MAX ||
            (o->via.str.size > 0 && memchr(o->via.str.ptr, 0, o->via.str.size)))
                return proto_error_set(e, PROTO_ERROR_BAD_REQUEST, "%s: unknown value", key);
        memcpy(buf, o->via.str.ptr, o->via.str.size);
        buf[o->via.str.size] = 0;
        return 0;
}

/* An unknown name is bad_request naming the key, or, when lenient, reads as lenient_value: error codes added
 * by a newer daemon must not make its replies unreadable (they read as internal). */
int proto_read_enum(const msgpack_object *o, const char *key, const ProtoEnumNames *names, bool lenient,
                    int lenient_value, int *ret, ProtoError *e)
{
        char buf[ENUM_NAME_MAX + 1];
        int r;

        if (lenient && o->type == MSGPACK_OBJECT_STR &&
            (o->via.str.size > ENUM_NAME_MAX ||
             (o->via.str.size > 0 && memchr(o->via.str.ptr, 0, o->via.str.size)))) {
                *ret = lenient_value;
                return 0;
        }
        r = read_word(o, key, buf, e);
        if (r < 0)
                return r;
        for (int i = 0; i < names->n; i++)
                if (names->names[i] && streq(names->names[i], buf)) {
                        *ret = i;
                        return 0;
                }
        if (lenient) {
                *ret = lenient_value;
                return 0;
        }
        return proto_error_set(e, PROTO_ERROR_BAD_REQUEST, "%s: unknown value \"%s\"", key, buf);
}

int proto_read_strv(const msgpack_object *o, const char *key, size_t max_n, size_t max_len, size_t max_total,
                    bool nonempty, char ***ret, size_t *ret_n, ProtoError *e)
{
        _cleanup_strv_free_ char **l = NULL;
        size_t total = 0, n;

        if (o->type != MSGPACK_OBJECT_ARRAY)
                return wrong_type(o, key, "array", e);
        n = o->via.array.size;
        if (n > max_n)
                return proto_error_set(e, PROTO_ERROR_BAD_REQUEST, "%s: %zu entries exceed %zu", key, n,
                                       max_n);
        l = calloc(n + 1, sizeof(char *));
        if (!l)
                return proto_error_set(e, PROTO_ERROR_INTERNAL, "out of memory");
        for (size_t i = 0; i < n; i++) {
                const msgpack_object *x = &o->via.array.ptr[i];
                int r;

                if (x->type == MSGPACK_OBJECT_STR) {
                        total += x->via.str.size;
                        if (total > max_total)
                                return proto_error_set(e, PROTO_ERROR_BAD_REQUEST,
                                                       "%s: more than %zu bytes in all", key, max_total);
                }
                r = proto_read_str(x, key, nonempty ? 1 : 0, max_len, &l[i], e);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(l);
        *ret_n = n;
        /* analyzer false positive: *ret owns l and its strings; the analyzer loses a pointer stored through
         * a parameter */
        ANALYZER_IGNORE_LEAK_BEGIN
        return 0;
        ANALYZER_IGNORE_END
}

static int cmp_pair_ptr(const void *a, const void *b)
{
        const ProtoStrPair *x = *(const ProtoStrPair *const *)a, *y = *(const ProtoStrPair *const *)b;
        return strcmp(x->key, y->key);
}

int proto_read_str_map(const msgpack_object *o, const char *key, size_t max_n, size_t max_key,
                       size_t max_value, size_t max_total, ProtoStrMap *ret, ProtoError *e)
{
        _cleanup_(proto_str_map_done) ProtoStrMap m = {};
        _cleanup_free_ const ProtoStrPair **sorted = NULL;
        size_t total = 0, n;
        int r;

        r = proto_read_map(o, key, e);
        if (r < 0)
                return r;
        n = o->via.map.size;
        if (n > max_n)
                return proto_error_set(e, PROTO_ERROR_BAD_REQUEST, "%s: %zu pairs exceed %zu", key, n,
                                       max_n);
        if (n == 0) {
                *ret = (ProtoStrMap){};
                return 0;
        }
        m.pairs = calloc(n, sizeof(ProtoStrPair));
        if (!m.pairs)
                return proto_error_set(e, PROTO_ERROR_INTERNAL, "out of memory");
        for (size_t i = 0; i < n; i++) {
                const msgpack_object_kv *kv = &o->via.map.ptr[i];
                ProtoStrPair *p = &m.pairs[i];

                m.n_pairs = i + 1;
                total += kv->key.via.str.size;
                if (kv->val.type == MSGPACK_OBJECT_STR)
                        total += kv->val.via.str.size;
                if (total > max_total)
                        return proto_error_set(e, PROTO_ERROR_BAD_REQUEST, "%s: more than %zu bytes in all",
                                               key, max_total);
                r = proto_read_str(&kv->key, key, 1, max_key, &p->key, e);
                if (r < 0)
                        return r;
                r = proto_read_str(&kv->val, key, 0, max_value, &p->value, e);
                if (r < 0)
                        return r;
        }

        sorted = calloc(n, sizeof(ProtoStrPair *));
        if (!sorted)
                return proto_error_set(e, PROTO_ERROR_INTERNAL, "out of memory");
        for (size_t i = 0; i < n; i++)
                sorted[i] = &m.pairs[i];
        qsort(sorted, n, sizeof(ProtoStrPair *), cmp_pair_ptr);
        for (size_t i = 1; i < n; i++)
                if (streq(sorted[i - 1]->key, sorted[i]->key))
                        return proto_error_set(e, PROTO_ERROR_BAD_REQUEST, "%s: duplicate key \"%s\"", key,
                                               sorted[i]->key);

        *ret = m;
        m = (ProtoStrMap){};
        return 0;
}

int proto_read_value(const msgpack_object *o, const char *key, bool want_map, ProtoValue *ret, ProtoError *e)
{
        ProtoWriter w;
        void *buf;
        size_t len;
        int r;

        if (want_map && o->type != MSGPACK_OBJECT_MAP)
                return wrong_type(o, key, "map", e);

        /* The objects were checked by the pre-scan; re-packing gives the shortest encoding of the same
         * value. */
        proto_writer_init(&w);
        if (msgpack_pack_object(&w.pk, *o) < 0 && w.error == 0)
                proto_writer_fail(&w, -ENOMEM);
        if (w.error == 0 && w.len > PROTO_VALUE_MAX)
                proto_writer_fail(&w, -EMSGSIZE);
        r = proto_writer_finish(&w, &buf, &len);
        if (r == -EMSGSIZE)
                return proto_error_set(e, PROTO_ERROR_BAD_REQUEST, "%s: value larger than %d bytes", key,
                                       PROTO_VALUE_MAX);
        if (r < 0)
                return proto_error_set(e, PROTO_ERROR_INTERNAL, "out of memory");
        *ret = (ProtoValue){.data = buf, .size = len};
        return 0;
}

void proto_key_name(char buf[static PROTO_KEYNAME_MAX], const char *mapname, const char *key)
{
        (void)snprintf(buf, PROTO_KEYNAME_MAX, "%s%s%s", mapname, *mapname ? "." : "", key);
}
