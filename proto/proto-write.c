/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdlib.h>
#include <string.h>

#include "proto-internal.h"

static int writer_callback(void *data, const char *p, size_t n)
{
        ProtoWriter *w = data;

        if (w->error < 0)
                return -1;
        if (n > (size_t)PROTO_MESSAGE_MAX - w->len) {
                w->error = -EMSGSIZE;
                return -1;
        }
        if (w->len + n > w->allocated) {
                size_t a = MAX(w->allocated * 2, (size_t)256);
                uint8_t *b;

                while (a < w->len + n)
                        a *= 2;
                a = MIN(a, (size_t)PROTO_MESSAGE_MAX);
                b = realloc(w->buf, a);
                if (!b) {
                        w->error = -ENOMEM;
                        return -1;
                }
                w->buf = b;
                w->allocated = a;
        }
        if (n > 0)
                memcpy(w->buf + w->len, p, n);
        w->len += n;
        return 0;
}

void proto_writer_init(ProtoWriter *w)
{
        *w = (ProtoWriter){};
        msgpack_packer_init(&w->pk, w, writer_callback);
}

void proto_writer_fail(ProtoWriter *w, int r)
{
        if (w->error == 0)
                w->error = r;
}

int proto_writer_finish(ProtoWriter *w, void **ret_buf, size_t *ret_len)
{
        int r = w->error;

        if (r < 0) {
                proto_writer_done(w);
                return r;
        }
        if (w->len == 0) {
                proto_writer_done(w);
                return -EINVAL;
        }
        *ret_buf = w->buf;
        *ret_len = w->len;
        w->buf = NULL;
        w->len = w->allocated = 0;
        return 0;
}

void proto_writer_done(ProtoWriter *w)
{
        free(w->buf);
        w->buf = NULL;
        w->len = w->allocated = 0;
}

void proto_write_str(ProtoWriter *w, const char *s)
{
        size_t n;

        if (!s) {
                proto_writer_fail(w, -EINVAL);
                return;
        }
        n = strlen(s);
        (void)msgpack_pack_str(&w->pk, n);
        (void)msgpack_pack_str_body(&w->pk, s, n);
}

void proto_write_key(ProtoWriter *w, const char *s)
{
        proto_write_str(w, s);
}

void proto_write_text(ProtoWriter *w, const char *p, size_t n)
{
        if (!p && n > 0) {
                proto_writer_fail(w, -EINVAL);
                return;
        }
        (void)msgpack_pack_str(&w->pk, n);
        if (n > 0)
                (void)msgpack_pack_str_body(&w->pk, p, n);
}

void proto_write_u64(ProtoWriter *w, uint64_t v)
{
        (void)msgpack_pack_uint64(&w->pk, v);
}

void proto_write_i64(ProtoWriter *w, int64_t v)
{
        (void)msgpack_pack_int64(&w->pk, v);
}

void proto_write_bool(ProtoWriter *w, bool v)
{
        (void)(v ? msgpack_pack_true(&w->pk) : msgpack_pack_false(&w->pk));
}

void proto_write_double(ProtoWriter *w, double v)
{
        (void)msgpack_pack_double(&w->pk, v);
}

void proto_write_bin(ProtoWriter *w, const void *p, size_t n)
{
        if (!p && n > 0) {
                proto_writer_fail(w, -EINVAL);
                return;
        }
        (void)msgpack_pack_bin(&w->pk, n);
        if (n > 0)
                (void)msgpack_pack_bin_body(&w->pk, p, n);
}

void proto_write_map(ProtoWriter *w, size_t n)
{
        if (n > UINT32_MAX) {
                proto_writer_fail(w, -E2BIG);
                return;
        }
        (void)msgpack_pack_map(&w->pk, n);
}

void proto_write_array(ProtoWriter *w, size_t n)
{
        if (n > UINT32_MAX) {
                proto_writer_fail(w, -E2BIG);
                return;
        }
        (void)msgpack_pack_array(&w->pk, n);
}

void proto_write_nil(ProtoWriter *w)
{
        (void)msgpack_pack_nil(&w->pk);
}

/* Values were validated when they were made (decoded or built), so their bytes go out as they are. */
void proto_write_value(ProtoWriter *w, const ProtoValue *v)
{
        if (!v->data || v->size == 0) {
                proto_writer_fail(w, -EINVAL);
                return;
        }
        (void)writer_callback(w, (const char *)v->data, v->size);
}

void proto_write_strv(ProtoWriter *w, char *const *l, size_t n)
{
        proto_write_array(w, n);
        for (size_t i = 0; i < n; i++)
                proto_write_str(w, l ? l[i] : NULL);
}

void proto_write_str_map(ProtoWriter *w, const ProtoStrMap *m)
{
        proto_write_map(w, m->n_pairs);
        for (size_t i = 0; i < m->n_pairs; i++) {
                proto_write_str(w, m->pairs[i].key);
                proto_write_str(w, m->pairs[i].value);
        }
}
