/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* JSON from the field tables: the wire's keys in the wire's order, the wire's values (times stay
 * nanoseconds, sizes bytes), enums by name; an absent optional field is null, or left out where its row says
 * PROTO_F_JSON_OMIT. This is what `descartesctl -o json` prints. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "proto-json.h"
#include "proto-type.h"

#define CAT(obj, off, T) ((const T *)((const uint8_t *)(obj) + (off)))

static int value_write(JsonWriter *w, const msgpack_object *o, unsigned depth)
{
        int r;

        if (depth > PROTO_DEPTH_MAX)
                return -EINVAL;
        switch (o->type) {
        case MSGPACK_OBJECT_NIL:
                json_writer_null(w);
                return 0;
        case MSGPACK_OBJECT_BOOLEAN:
                json_writer_bool(w, o->via.boolean);
                return 0;
        case MSGPACK_OBJECT_POSITIVE_INTEGER:
                json_writer_uint(w, o->via.u64);
                return 0;
        case MSGPACK_OBJECT_NEGATIVE_INTEGER:
                json_writer_int(w, o->via.i64);
                return 0;
        case MSGPACK_OBJECT_FLOAT32:
        case MSGPACK_OBJECT_FLOAT64:
                json_writer_double(w, o->via.f64);
                return 0;
        case MSGPACK_OBJECT_STR:
                json_writer_string_n(w, o->via.str.ptr, o->via.str.size);
                return 0;
        case MSGPACK_OBJECT_BIN:
                json_writer_string_n(w, o->via.bin.ptr, o->via.bin.size);
                return 0;
        case MSGPACK_OBJECT_EXT:
                json_writer_null(w);
                return 0;
        case MSGPACK_OBJECT_ARRAY:
                json_writer_array_begin(w);
                for (uint32_t i = 0; i < o->via.array.size; i++) {
                        r = value_write(w, &o->via.array.ptr[i], depth + 1);
                        if (r < 0)
                                return r;
                }
                json_writer_array_end(w);
                return 0;
        case MSGPACK_OBJECT_MAP:
                json_writer_object_begin(w);
                for (uint32_t i = 0; i < o->via.map.size; i++) {
                        const msgpack_object *k = &o->via.map.ptr[i].key;

                        if (k->type == MSGPACK_OBJECT_STR) {
                                json_writer_value_key_n(w, k->via.str.ptr, k->via.str.size);
                        } else { /* a non-string key: its JSON text becomes the key */
                                _cleanup_free_ char *text = NULL;
                                size_t size = 0;
                                FILE *f = open_memstream(&text, &size);
                                JsonWriter kw;

                                if (!f)
                                        return -ENOMEM;
                                json_writer_init(&kw, f);
                                r = value_write(&kw, k, depth + 1);
                                if (fclose(f) != 0)
                                        return -ENOMEM;
                                if (r < 0)
                                        return r;
                                json_writer_value_key_n(w, text, size);
                        }
                        r = value_write(w, &o->via.map.ptr[i].val, depth + 1);
                        if (r < 0)
                                return r;
                }
                json_writer_object_end(w);
                return 0;
        default:
                return -EINVAL;
        }
}

/* Values were validated when they were made; this still refuses bytes that are not one object. */
static int with_value(const ProtoValue *v, JsonWriter *w)
{
        ProtoUnpacked u = {};
        ProtoError e;
        int r;

        if (!v || !v->data || v->size > PROTO_VALUE_MAX)
                return -EINVAL;
        r = proto_unpack(v->data, v->size, &u, &e);
        if (r < 0)
                return -EINVAL;
        r = value_write(w, &u.u.data, 1);
        proto_unpacked_done(&u);
        return r;
}

static int to_string(int (*write)(JsonWriter *w, const void *a, const void *b), const void *a, const void *b,
                     char **ret)
{
        _cleanup_free_ char *text = NULL;
        size_t size = 0;
        JsonWriter w;
        FILE *f;
        int r;

        if (!ret)
                return -EINVAL;
        f = open_memstream(&text, &size);
        if (!f)
                return -ENOMEM;
        json_writer_init(&w, f);
        r = write(&w, a, b);
        if (fclose(f) != 0)
                return -ENOMEM;
        if (r < 0)
                return r;
        *ret = TAKE_PTR(text);
        return 0;
}

static int write_value_cb(JsonWriter *w, const void *a, const void *b)
{
        (void)b;
        return with_value(a, w);
}

int proto_value_to_json(const ProtoValue *v, char **ret)
{
        if (!v || !v->data || !ret || v->size > PROTO_VALUE_MAX)
                return -EINVAL;
        return to_string(write_value_cb, v, NULL, ret);
}

static void write_field(JsonWriter *w, const ProtoField *f, const void *obj)
{
        const void *p = CAT(obj, f->offset, uint8_t);

        json_writer_key(w, f->key);
        switch (f->kind) {
        case PROTO_KIND_STR:
                json_writer_string(w, *(char *const *)p);
                break;
        case PROTO_KIND_TEXT:
                json_writer_string_n(w, *(char *const *)p, *CAT(obj, f->aux, size_t));
                break;
        case PROTO_KIND_U64:
                json_writer_uint(w, *(const uint64_t *)p);
                break;
        case PROTO_KIND_U32:
                json_writer_uint(w, *(const uint32_t *)p);
                break;
        case PROTO_KIND_INT:
                json_writer_int(w, *(const int *)p);
                break;
        case PROTO_KIND_I64:
                json_writer_int(w, *(const int64_t *)p);
                break;
        case PROTO_KIND_BOOL:
                json_writer_bool(w, *(const bool *)p);
                break;
        case PROTO_KIND_DOUBLE:
                json_writer_double(w, *(const double *)p);
                break;
        case PROTO_KIND_ENUM: {
                int v = *(const int *)p;
                json_writer_string(w, v >= 0 && v < f->enum_names->n ? f->enum_names->names[v] : NULL);
                break;
        }
        case PROTO_KIND_BIN: {
                const ProtoBytes *b = p;
                json_writer_string_n(w, b->data ? (const char *)b->data : "", b->size);
                break;
        }
        case PROTO_KIND_VALUE: {
                const ProtoValue *v = p;
                if (!v->data || with_value(v, w) < 0)
                        json_writer_null(w);
                break;
        }
        case PROTO_KIND_STRV: {
                char *const *l = *(char **const *)p;
                size_t n = *CAT(obj, f->aux, size_t);

                json_writer_array_begin(w);
                for (size_t i = 0; l && i < n; i++)
                        json_writer_string(w, l[i]);
                json_writer_array_end(w);
                break;
        }
        case PROTO_KIND_STR_MAP: {
                const ProtoStrMap *m = p;

                json_writer_object_begin(w);
                for (size_t i = 0; i < m->n_pairs; i++)
                        json_writer_kv_string(w, m->pairs[i].key, m->pairs[i].value);
                json_writer_object_end(w);
                break;
        }
        case PROTO_KIND_OBJECT:
                proto_json_write(w, f->type, p);
                break;
        case PROTO_KIND_ARRAY: {
                const uint8_t *a = *(const uint8_t *const *)p;
                size_t n = *CAT(obj, f->aux, size_t);

                json_writer_array_begin(w);
                for (size_t i = 0; a && i < n; i++)
                        proto_json_write(w, f->type, a + i * f->type->size);
                json_writer_array_end(w);
                break;
        }
        default: /* CUSTOM: its codec writes it */
                break;
        }
}

static bool json_absent(const ProtoField *f, const void *obj)
{
        if (f->has >= 0)
                return !*CAT(obj, f->has, bool);
        if (f->kind == PROTO_KIND_VALUE)
                return !CAT(obj, f->offset, ProtoValue)->data;
        if (f->kind == PROTO_KIND_BIN)
                return !CAT(obj, f->offset, ProtoBytes)->data;
        if (f->kind == PROTO_KIND_BOOL && (f->flags & PROTO_F_JSON_OMIT)) /* a flag shown only when set */
                return !*CAT(obj, f->offset, bool);
        return false; /* a NULL string is written as null by the string writer */
}

void proto_json_write_fields(JsonWriter *w, const ProtoType *t, const void *obj)
{
        if (t->codec) {
                if (t->codec->json)
                        t->codec->json(w, obj);
                return;
        }
        for (size_t i = 0; i < t->n_fields; i++) {
                const ProtoField *f = &t->fields[i];

                if (f->kind == PROTO_KIND_CUSTOM) {
                        if (f->codec->json)
                                f->codec->json(w, obj);
                        continue;
                }
                if (json_absent(f, obj)) {
                        if (!(f->flags & PROTO_F_JSON_OMIT)) {
                                json_writer_key(w, f->key);
                                json_writer_null(w);
                        }
                        continue;
                }
                write_field(w, f, obj);
        }
}

int proto_json_write(JsonWriter *w, const ProtoType *t, const void *obj)
{
        if (!w || !t || !obj)
                return -EINVAL;
        json_writer_object_begin(w);
        proto_json_write_fields(w, t, obj);
        json_writer_object_end(w);
        return 0;
}

static int write_type_cb(JsonWriter *w, const void *a, const void *b)
{
        return proto_json_write(w, a, b);
}

int proto_agent_info_to_json(const ProtoAgentInfo *i, char **ret)
{
        if (!i)
                return -EINVAL;
        return to_string(write_type_cb, &proto_agent_info_type, i, ret);
}

int proto_event_to_json(const ProtoEvent *e, char **ret)
{
        if (!e)
                return -EINVAL;
        return to_string(write_type_cb, &proto_event_type, e, ret);
}

int proto_reply_result_to_json(const ProtoReply *r, char **ret)
{
        const ProtoOpInfo *i = r ? proto_op_info(r->op) : NULL;

        if (!i || !r->ok)
                return -EINVAL;
        return to_string(write_type_cb, i->result, &r->result, ret);
}
