/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* JSON text to a free-form value (msgpack), for the action channel's lines (the agent writes JSON) and for
 * descartesctl's --json. Two passes over json_read(): the first counts the members of every container
 * (msgpack writes the count first), the second writes. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "json-reader.h"
#include "proto-internal.h"

typedef struct Conv {
        /* the member of the top-level object to convert, NULL: the whole text */
        const char *member;
        bool found;
        unsigned depth;       /* of the text */
        unsigned active_from; /* depth at which the converted value started, 0: outside it */
        bool armed;           /* the next value is the member's */

        /* pass 1: counts[i] of the i-th container converted; pass 2: read back in the same order */
        size_t *counts;
        size_t n_counts, allocated;
        size_t *open;   /* per depth: index into counts of the open container */
        size_t n_open;  /* entries of open: deeper containers are refused */
        size_t next;    /* pass 2: the next container's index */
        ProtoWriter *w; /* NULL in pass 1 */
} Conv;

static bool conv_active(Conv *c)
{
        return c->active_from > 0;
}

/* A value starts: is it part of what we convert? It counts as a member of its container. */
static int value_start(Conv *c, bool container)
{
        if (!c->member && c->depth == 0 && !conv_active(c))
                c->active_from = 1;
        else if (c->armed) {
                c->armed = false;
                c->found = true;
                c->active_from = c->depth + 1;
        } else if (conv_active(c) && c->depth >= c->active_from && !c->w)
                c->counts[c->open[c->depth]]++;
        if (!conv_active(c))
                return 0;
        if (!container && c->depth + 1 == c->active_from)
                c->active_from = 0; /* a scalar: done once written by the caller */
        return 1;
}

static int conv_begin(void *userdata, bool map)
{
        Conv *c = userdata;
        int act = value_start(c, true);

        c->depth++;
        if (c->depth >= c->n_open)
                return -E2BIG; /* json_read's bound is checked after this call: never index past open */
        if (!act)
                return 0;
        if (!c->w) {
                if (c->n_counts == c->allocated) {
                        size_t n = MAX(c->allocated * 2, (size_t)16);
                        size_t *p = realloc(c->counts, n * sizeof *p);
                        if (!p)
                                return -ENOMEM;
                        c->counts = p;
                        c->allocated = n;
                }
                c->counts[c->n_counts] = 0;
                c->open[c->depth] = c->n_counts++;
                return 0;
        }
        if (c->next >= c->n_counts)
                return -EBADMSG;
        if (map)
                proto_write_map(c->w, c->counts[c->next++]);
        else
                proto_write_array(c->w, c->counts[c->next++]);
        return 0;
}

static int conv_begin_object(void *userdata)
{
        return conv_begin(userdata, true);
}

static int conv_begin_array(void *userdata)
{
        return conv_begin(userdata, false);
}

static int conv_end(void *userdata)
{
        Conv *c = userdata;

        if (conv_active(c) && c->depth == c->active_from)
                c->active_from = 0;
        c->depth--;
        return 0;
}

static int conv_key(void *userdata, const char *s, size_t n)
{
        Conv *c = userdata;

        if (c->member && !conv_active(c) && c->depth == 1 && strlen(c->member) == n &&
            memcmp(c->member, s, n) == 0) {
                if (c->found || c->armed)
                        return -EBADMSG; /* a key given twice */
                c->armed = true;
                return 0;
        }
        if (!conv_active(c))
                return 0;
        /* a key is not a value: map counts are of key-value pairs, counted at the value */
        if (c->w)
                proto_write_text(c->w, s, n);
        return 0;
}

static int conv_string(void *userdata, const char *s, size_t n)
{
        Conv *c = userdata;

        if (value_start(c, false) && c->w)
                proto_write_text(c->w, s, n);
        return 0;
}

static int conv_number(void *userdata, const char *text, bool integer)
{
        Conv *c = userdata;
        char *end;

        if (!value_start(c, false) || !c->w)
                return 0;
        errno = 0;
        if (integer && text[0] == '-') {
                long long v = strtoll(text, &end, 10);
                if (errno == 0 && *end == 0) {
                        proto_write_i64(c->w, v);
                        return 0;
                }
        } else if (integer) {
                unsigned long long v = strtoull(text, &end, 10);
                if (errno == 0 && *end == 0) {
                        proto_write_u64(c->w, v);
                        return 0;
                }
        }
        /* a fraction, an exponent, or an integer beyond 64 bits */
        errno = 0;
        double d = strtod(text, &end);
        if (*end != 0)
                return -EBADMSG;
        proto_write_double(c->w, d);
        return 0;
}

static int conv_boolean(void *userdata, bool v)
{
        Conv *c = userdata;

        if (value_start(c, false) && c->w)
                proto_write_bool(c->w, v);
        return 0;
}

static int conv_null(void *userdata)
{
        Conv *c = userdata;

        if (value_start(c, false) && c->w)
                proto_write_nil(c->w);
        return 0;
}

static const JsonReaderOps conv_ops = {
        .begin_object = conv_begin_object,
        .end_object = conv_end,
        .begin_array = conv_begin_array,
        .end_array = conv_end,
        .key = conv_key,
        .string = conv_string,
        .number = conv_number,
        .boolean = conv_boolean,
        .null = conv_null,
};

int proto_value_from_json(const char *text, size_t n, const char *member, ProtoValue *ret)
{
        _cleanup_free_ size_t *open = NULL;
        Conv c = {.member = member};
        ProtoWriter w;
        void *buf;
        size_t len;
        int r;

        if (!text || !ret)
                return -EINVAL;
        /* the levels of the value plus the object around a member */
        open = calloc(PROTO_VALUE_DEPTH_MAX + 2, sizeof *open);
        if (!open)
                return -ENOMEM;
        c.open = open;
        c.n_open = PROTO_VALUE_DEPTH_MAX + 2;
        r = json_read(text, n, PROTO_VALUE_DEPTH_MAX + (member ? 1 : 0), &conv_ops, &c);
        if (r < 0)
                goto finish;
        if (!c.found && member) {
                r = -ENOENT;
                goto finish;
        }
        proto_writer_init(&w);
        c = (Conv){.member = member,
                   .counts = c.counts,
                   .n_counts = c.n_counts,
                   .open = open,
                   .n_open = PROTO_VALUE_DEPTH_MAX + 2,
                   .w = &w};
        r = json_read(text, n, PROTO_VALUE_DEPTH_MAX + (member ? 1 : 0), &conv_ops, &c);
        if (r < 0) {
                proto_writer_done(&w);
                goto finish;
        }
        r = proto_writer_finish(&w, &buf, &len);
        if (r < 0)
                goto finish;
        if (len > PROTO_VALUE_MAX) {
                free(buf);
                r = -E2BIG;
                goto finish;
        }
        /* what any value must be */
        r = proto_scan(buf, len, PROTO_VALUE_DEPTH_MAX, NULL);
        if (r < 0) {
                free(buf);
                goto finish;
        }
        *ret = (ProtoValue){.data = buf, .size = len};
        r = 0;
finish:
        free(c.counts);
        return r;
}
