/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdlib.h>
#include <string.h>

#include "proto-internal.h"

int proto_value_from_msgpack(const void *buf, size_t len, ProtoValue *ret)
{
        uint8_t *d;
        int r;

        if (!buf || !ret)
                return -EINVAL;
        if (len > PROTO_VALUE_MAX)
                return -E2BIG;
        /* The deepest place a value travels is an event inside an events reply: level 5 of 16. */
        r = proto_scan(buf, len, PROTO_VALUE_DEPTH_MAX, NULL);
        if (r < 0)
                return r;
        d = malloc(len);
        if (!d)
                return -ENOMEM;
        memcpy(d, buf, len);
        *ret = (ProtoValue){.data = d, .size = len};
        return 0;
}

int proto_value_new_u64_map(const char *const *keys, const uint64_t *values, size_t n, ProtoValue *ret)
{
        ProtoWriter w;
        void *buf;
        size_t len;
        int r;

        if ((!keys || !values) && n > 0)
                return -EINVAL;
        if (!ret)
                return -EINVAL;
        proto_writer_init(&w);
        proto_write_map(&w, n);
        for (size_t i = 0; i < n; i++) {
                proto_write_key(&w, keys[i]);
                proto_write_u64(&w, values[i]);
        }
        r = proto_writer_finish(&w, &buf, &len);
        if (r < 0)
                return r;
        *ret = (ProtoValue){.data = buf, .size = len};
        return 0;
}

int proto_value_new_str_map(const char *key, const char *value, ProtoValue *ret)
{
        ProtoWriter w;
        void *buf;
        size_t len;
        int r;

        if (!key || !value || !ret)
                return -EINVAL;
        proto_writer_init(&w);
        proto_write_map(&w, 1);
        proto_write_key(&w, key);
        proto_write_str(&w, value);
        r = proto_writer_finish(&w, &buf, &len);
        if (r < 0)
                return r;
        if (len > PROTO_VALUE_MAX) {
                free(buf);
                return -E2BIG;
        }
        *ret = (ProtoValue){.data = buf, .size = len};
        return 0;
}

int proto_value_copy(const ProtoValue *v, ProtoValue *ret)
{
        uint8_t *d;

        if (!v || !ret)
                return -EINVAL;
        if (!v->data) {
                *ret = (ProtoValue){};
                return 0;
        }
        d = malloc(v->size);
        if (!d)
                return -ENOMEM;
        memcpy(d, v->data, v->size);
        *ret = (ProtoValue){.data = d, .size = v->size};
        return 0;
}

int proto_value_get_u64(const ProtoValue *v, const char *key, uint64_t *ret)
{
        _cleanup_(proto_unpacked_done) ProtoUnpacked u = {};
        const msgpack_object *o;
        int r;

        if (!v || !v->data || !key || !ret)
                return -EINVAL;
        r = proto_unpack(v->data, v->size, &u, NULL);
        if (r < 0)
                return r;
        r = proto_read_map(&u.u.data, "data", NULL);
        if (r < 0)
                return r;
        r = proto_map_get(&u.u.data, "data", key, &o, NULL);
        if (r < 0)
                return r;
        if (r == 0)
                return -ENOENT;
        return proto_read_u64(o, key, 0, UINT64_MAX, ret, NULL);
}
