/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The generic codec: encode, decode and free any model struct from its field table (proto-type.h).
 *
 * Encoders trust the caller for semantics but never emit what the other side's decoder must refuse for
 * structure: a NULL required string, an unknown enum value or a count over its bound fails with -EINVAL or
 * -E2BIG, a message over PROTO_MESSAGE_MAX with -EMSGSIZE. Decoders check every type and bound through the
 * readers of proto-read.c, reject duplicate keys of the rows they look up, and ignore unknown keys. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto-type.h"
#include "string-util.h"

#define AT(obj, off, T)  ((T *)((uint8_t *)(obj) + (off)))
#define CAT(obj, off, T) ((const T *)((const uint8_t *)(obj) + (off)))

static bool field_present(const ProtoField *f, const void *obj)
{
        bool omit = f->flags & PROTO_F_OMIT_EMPTY, required = f->flags & PROTO_F_REQUIRED;

        if (f->has >= 0)
                return *CAT(obj, f->has, bool);
        switch (f->kind) {
        case PROTO_KIND_STR:
                return required || *CAT(obj, f->offset, char *);
        case PROTO_KIND_BIN:
                return required || CAT(obj, f->offset, ProtoBytes)->data;
        case PROTO_KIND_VALUE:
                return required || (f->flags & PROTO_F_NIL) || CAT(obj, f->offset, ProtoValue)->data;
        case PROTO_KIND_BOOL:
                return !omit || *CAT(obj, f->offset, bool);
        case PROTO_KIND_STRV:
                return !omit || *CAT(obj, f->aux, size_t) > 0;
        case PROTO_KIND_STR_MAP:
                return !omit || CAT(obj, f->offset, ProtoStrMap)->n_pairs > 0;
        case PROTO_KIND_OBJECT:
                return !omit || proto_type_count(f->type, CAT(obj, f->offset, uint8_t)) > 0;
        default:
                return true;
        }
}

size_t proto_type_count(const ProtoType *t, const void *obj)
{
        size_t n = 0;

        if (t->codec)
                return t->codec->count(obj);
        for (size_t i = 0; i < t->n_fields; i++) {
                const ProtoField *f = &t->fields[i];

                if (f->kind == PROTO_KIND_CUSTOM)
                        n += f->codec->count(obj);
                else
                        n += field_present(f, obj);
        }
        return n;
}

static void check_count(ProtoWriter *w, size_t n, uint64_t max)
{
        if (max > 0 && n > max)
                proto_writer_fail(w, -E2BIG);
}

static void write_field(ProtoWriter *w, const ProtoField *f, const void *obj)
{
        const void *p = CAT(obj, f->offset, uint8_t);

        switch (f->kind) {
        case PROTO_KIND_STR:
                proto_write_str(w, *(char *const *)p);
                break;
        case PROTO_KIND_TEXT:
                check_count(w, *CAT(obj, f->aux, size_t), f->max);
                proto_write_text(w, *(char *const *)p, *CAT(obj, f->aux, size_t));
                break;
        case PROTO_KIND_U64:
                proto_write_u64(w, *(const uint64_t *)p);
                break;
        case PROTO_KIND_U32:
                proto_write_u64(w, *(const uint32_t *)p);
                break;
        case PROTO_KIND_INT:
                proto_write_i64(w, *(const int *)p);
                break;
        case PROTO_KIND_I64:
                proto_write_i64(w, *(const int64_t *)p);
                break;
        case PROTO_KIND_BOOL:
                proto_write_bool(w, *(const bool *)p);
                break;
        case PROTO_KIND_DOUBLE:
                proto_write_double(w, *(const double *)p);
                break;
        case PROTO_KIND_ENUM: {
                int v = *(const int *)p;
                /* .max, when set, bounds what may be sent below the names (a line's stream is never both) */
                int n = f->max > 0 ? (int)f->max : f->enum_names->n;

                if (v < 0 || v >= n || !f->enum_names->names[v])
                        proto_writer_fail(w, -EINVAL);
                else
                        proto_write_str(w, f->enum_names->names[v]);
                break;
        }
        case PROTO_KIND_BIN: {
                const ProtoBytes *b = p;

                check_count(w, b->size, f->max);
                proto_write_bin(w, b->data ?: (const uint8_t *)"", b->size);
                break;
        }
        case PROTO_KIND_VALUE: {
                const ProtoValue *v = p;

                if (!v->data && (f->flags & PROTO_F_NIL))
                        proto_write_nil(w);
                else
                        proto_write_value(w, v);
                break;
        }
        case PROTO_KIND_STRV: {
                size_t n = *CAT(obj, f->aux, size_t);

                if ((f->flags & PROTO_F_NONEMPTY) && n == 0)
                        proto_writer_fail(w, -EINVAL);
                check_count(w, n, f->max);
                proto_write_strv(w, *(char **const *)p, n);
                break;
        }
        case PROTO_KIND_STR_MAP:
                check_count(w, ((const ProtoStrMap *)p)->n_pairs, f->max);
                proto_write_str_map(w, p);
                break;
        case PROTO_KIND_OBJECT:
                proto_type_write(w, f->type, p);
                break;
        case PROTO_KIND_ARRAY: {
                const uint8_t *a = *(const uint8_t *const *)p;
                size_t n = *CAT(obj, f->aux, size_t);

                check_count(w, n, f->max);
                proto_write_array(w, n);
                for (size_t i = 0; i < n; i++)
                        proto_type_write(w, f->type, a + i * f->type->size);
                break;
        }
        default: /* CUSTOM: its codec writes it */
                break;
        }
}

void proto_type_write_fields(ProtoWriter *w, const ProtoType *t, const void *obj)
{
        if (t->codec) {
                t->codec->encode(w, obj);
                return;
        }
        for (size_t i = 0; i < t->n_fields; i++) {
                const ProtoField *f = &t->fields[i];

                if (f->kind == PROTO_KIND_CUSTOM) {
                        f->codec->encode(w, obj);
                        continue;
                }
                if ((f->flags & PROTO_F_CHECK_ENCODE) && f->check) {
                        ProtoError e;

                        proto_error_init(&e);
                        if (f->check(obj, t->name, &e) < 0)
                                proto_writer_fail(w, -EINVAL);
                }
                if (!field_present(f, obj))
                        continue;
                proto_write_key(w, f->key);
                write_field(w, f, obj);
        }
}

void proto_type_write(ProtoWriter *w, const ProtoType *t, const void *obj)
{
        proto_write_map(w, proto_type_count(t, obj));
        proto_type_write_fields(w, t, obj);
}

static int read_array(const msgpack_object *o, const char *name, const ProtoField *f, void *obj,
                      ProtoError *e)
{
        size_t *n = AT(obj, f->aux, size_t);
        uint8_t **a = AT(obj, f->offset, uint8_t *);
        char elem[PROTO_KEYNAME_MAX + 2];
        int r;

        if (o->type != MSGPACK_OBJECT_ARRAY)
                return proto_error_set(e, PROTO_ERROR_BAD_REQUEST, "%s: expected array", name);
        if (o->via.array.size > f->max)
                return proto_error_set(e, PROTO_ERROR_BAD_REQUEST, "%s: %" PRIu32 " entries exceed %" PRIu64,
                                       name, o->via.array.size, f->max);
        if (o->via.array.size == 0)
                return 0;
        *a = calloc(o->via.array.size, f->type->size);
        if (!*a)
                return proto_error_set(e, PROTO_ERROR_INTERNAL, "out of memory");
        (void)snprintf(elem, sizeof elem, "%s[]", name);
        for (uint32_t i = 0; i < o->via.array.size; i++) {
                (*n)++; /* counted first: a half-read element is freed with the rest */
                r = proto_type_read(&o->via.array.ptr[i], elem, f->type, *a + i * f->type->size, e);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int read_value(const msgpack_object *o, const char *name, const ProtoField *f, void *obj,
                      ProtoError *e)
{
        void *p = AT(obj, f->offset, uint8_t);
        uint64_t u;
        int64_t i;
        int r;

        switch (f->kind) {
        case PROTO_KIND_STR:
                return proto_read_str(o, name, f->min, f->max, p, e);
        case PROTO_KIND_TEXT:
                return proto_read_text(o, name, f->max, p, AT(obj, f->aux, size_t), e);
        case PROTO_KIND_U64:
                return proto_read_u64(o, name, f->min, f->max_of ? f->max_of(obj) : f->max, p, e);
        case PROTO_KIND_U32:
                r = proto_read_u64(o, name, f->min, f->max, &u, e);
                if (r >= 0)
                        *(uint32_t *)p = (uint32_t)u;
                return r;
        case PROTO_KIND_INT:
                return proto_read_int(o, name, (int)f->smin, (int)f->smax, p, e);
        case PROTO_KIND_I64:
                r = proto_read_i64(o, name, f->smin, f->smax, &i, e);
                if (r >= 0)
                        *(int64_t *)p = i;
                return r;
        case PROTO_KIND_BOOL:
                return proto_read_bool(o, name, p, e);
        case PROTO_KIND_DOUBLE:
                return proto_read_double(o, name, p, e);
        case PROTO_KIND_ENUM:
                return proto_read_enum(o, name, f->enum_names, false, 0, p, e);
        case PROTO_KIND_BIN:
                return proto_read_bin(o, name, f->max, p, e);
        case PROTO_KIND_VALUE:
                return proto_read_value(o, name, f->flags & PROTO_F_MAP, p, e);
        case PROTO_KIND_STRV: {
                char ***l = p;
                size_t *n = AT(obj, f->aux, size_t);

                r = proto_read_strv(o, name, f->max, f->max_len, f->max_total, f->min > 0, l, n, e);
                if (r < 0)
                        return r;
                if ((f->flags & PROTO_F_NONEMPTY) && *n == 0)
                        return proto_error_set(e, PROTO_ERROR_BAD_REQUEST, "%s: empty", name);
                if ((f->flags & PROTO_F_OMIT_EMPTY) && *n == 0) /* absent and empty mean the same */
                        *l = strv_free(*l);
                return 0;
        }
        case PROTO_KIND_STR_MAP:
                return proto_read_str_map(o, name, f->max, f->max_len, f->max_value, f->max_total, p, e);
        case PROTO_KIND_OBJECT:
                return proto_type_read(o, name, f->type, p, e);
        case PROTO_KIND_ARRAY:
                return read_array(o, name, f, obj, e);
        default: /* CUSTOM: its codec writes it */
                break;
        }
        return proto_error_set(e, PROTO_ERROR_INTERNAL, "%s: no reader", name);
}

int proto_type_read_fields(const msgpack_object *map, const char *mapname, const ProtoType *t, void *obj,
                           ProtoError *e)
{
        int r;

        if (t->codec)
                return t->codec->decode(map, mapname, obj, e);
        for (size_t i = 0; i < t->n_fields; i++) {
                const ProtoField *f = &t->fields[i];

                if (f->kind == PROTO_KIND_CUSTOM)
                        r = f->codec->decode(map, mapname, obj, e);
                else {
                        const msgpack_object *o;

                        r = f->flags & PROTO_F_REQUIRED ? proto_map_need(map, mapname, f->key, &o, e)
                                                        : proto_map_get(map, mapname, f->key, &o, e);
                        if (r > 0) {
                                char name[PROTO_KEYNAME_MAX];

                                proto_key_name(name, mapname, f->key);
                                r = read_value(o, name, f, obj, e);
                                if (r >= 0 && f->has >= 0)
                                        *AT(obj, f->has, bool) = true;
                        }
                }
                if (r < 0)
                        return r;
                if (f->check) {
                        r = f->check(obj, mapname, e);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

int proto_type_read(const msgpack_object *o, const char *name, const ProtoType *t, void *obj, ProtoError *e)
{
        int r = proto_read_map(o, name, e);
        if (r < 0)
                return r;
        return proto_type_read_fields(o, name, t, obj, e);
}

void proto_type_free_fields(const ProtoType *t, void *obj)
{
        if (t->codec) {
                t->codec->free(obj);
                return;
        }
        for (size_t i = 0; i < t->n_fields; i++) {
                const ProtoField *f = &t->fields[i];
                void *p = AT(obj, f->offset, uint8_t);

                switch (f->kind) {
                case PROTO_KIND_STR:
                case PROTO_KIND_TEXT:
                        free(*(char **)p);
                        *(char **)p = NULL;
                        break;
                case PROTO_KIND_BIN:
                        proto_bytes_done(p);
                        break;
                case PROTO_KIND_VALUE:
                        proto_value_done(p);
                        break;
                case PROTO_KIND_STRV:
                        *(char ***)p = strv_free(*(char ***)p);
                        *AT(obj, f->aux, size_t) = 0;
                        break;
                case PROTO_KIND_STR_MAP:
                        proto_str_map_done(p);
                        break;
                case PROTO_KIND_OBJECT:
                        proto_type_free_fields(f->type, p);
                        break;
                case PROTO_KIND_ARRAY: {
                        uint8_t *a = *(uint8_t **)p;
                        size_t *n = AT(obj, f->aux, size_t);

                        for (size_t k = 0; k < *n; k++)
                                proto_type_free_fields(f->type, a + k * f->type->size);
                        free(a);
                        *(uint8_t **)p = NULL;
                        *n = 0;
                        break;
                }
                case PROTO_KIND_CUSTOM:
                        if (f->codec->free)
                                f->codec->free(obj);
                        break;
                default:
                        break;
                }
        }
}

void proto_type_free(const ProtoType *t, void *obj)
{
        if (!obj)
                return;
        proto_type_free_fields(t, obj);
        memset(obj, 0, t->size);
}

int proto_type_decode(const void *buf, size_t len, const ProtoType *t, void *ret, ProtoError *ret_err)
{
        _cleanup_(proto_unpacked_done) ProtoUnpacked u = {};
        ProtoError scratch;
        ProtoError *e = ret_err ?: &scratch;
        int r;

        proto_error_init(e);
        if (!ret)
                return proto_error_set(e, PROTO_ERROR_INTERNAL, "no result");
        memset(ret, 0, t->size);

        r = proto_unpack(buf, len, &u, e);
        if (r < 0)
                return r;
        r = proto_type_read(&u.u.data, "", t, ret, e);
        if (r < 0)
                proto_type_free(t, ret);
        return r;
}

int proto_type_encode(const ProtoType *t, const void *obj, void **ret_buf, size_t *ret_len)
{
        ProtoWriter w;

        if (!obj || !ret_buf || !ret_len)
                return -EINVAL;
        proto_writer_init(&w);
        proto_type_write(&w, t, obj);
        return proto_writer_finish(&w, ret_buf, ret_len);
}
