/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include <msgpack.h>

#include "cleanup.h"
#include "client-internal.h"
#include "json-writer.h"

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
                        } else {
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

int descartes_value_to_json(const DescartesValue *v, char **ret)
{
        _cleanup_free_ char *text = NULL;
        msgpack_unpacked u;
        size_t off = 0, size = 0;
        JsonWriter w;
        FILE *f;
        int r;

        if (!v || !v->data || !ret || v->size > PROTO_VALUE_MAX)
                return -EINVAL;
        msgpack_unpacked_init(&u);
        if (msgpack_unpack_next(&u, (const char *)v->data, v->size, &off) != MSGPACK_UNPACK_SUCCESS ||
            off != v->size) {
                msgpack_unpacked_destroy(&u);
                return -EINVAL;
        }
        f = open_memstream(&text, &size);
        if (!f) {
                msgpack_unpacked_destroy(&u);
                return -ENOMEM;
        }
        json_writer_init(&w, f);
        r = value_write(&w, &u.data, 1);
        msgpack_unpacked_destroy(&u);
        if (fclose(f) != 0)
                return -ENOMEM;
        if (r < 0)
                return r;
        *ret = TAKE_PTR(text);
        return 0;
}
