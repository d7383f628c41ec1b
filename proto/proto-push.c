/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the daemon pushes on a subscribed connection: {v, sub, prev_seq, event} or {v, sub, prev_seq, lost}.
 * A reply always has `ok`, a push never: `sub` tells them apart. */
#include "proto-type.h"

static const ProtoField lost_fields[] = {
        PROTO_ROW(ProtoLostRange, from, "from", U64, .flags = PROTO_F_REQUIRED, .min = 1, .max = UINT64_MAX),
        PROTO_ROW(ProtoLostRange, to, "to", U64, .flags = PROTO_F_REQUIRED, .min = 1, .max = UINT64_MAX),
};
static const ProtoType lost_type = PROTO_TYPE("lost", ProtoLostRange, lost_fields);

static const ProtoField attach_output_fields[] = {
        PROTO_ROW(ProtoAttachOutput, seq, "seq", U64, .flags = PROTO_F_REQUIRED, .max = UINT64_MAX),
        PROTO_ROW(ProtoAttachOutput, data, "data", BIN, .flags = PROTO_F_REQUIRED,
                  .max = PROTO_ATTACH_PUSH_MAX),
};
static const ProtoType attach_output_type = PROTO_TYPE("output", ProtoAttachOutput, attach_output_fields);

static const ProtoField attach_closed_fields[] = {
        PROTO_ROW(ProtoAttachClosed, reason, "reason", STR, .flags = PROTO_F_REQUIRED, .min = 1,
                  .max = PROTO_SHORT_STRING_MAX),
        PROTO_OPT(ProtoAttachClosed, exit_code, has_exit_code, "exit_code", INT, .smin = 0, .smax = 255),
        PROTO_OPT(ProtoAttachClosed, signal, has_signal, "signal", INT, .smin = 1, .smax = 64),
};
static const ProtoType attach_closed_type = PROTO_TYPE("closed", ProtoAttachClosed, attach_closed_fields);

static const ProtoField push_fields[] = {
        PROTO_ROW(ProtoPush, v, "v", U32, .flags = PROTO_F_REQUIRED, .min = PROTO_VERSION,
                  .max = PROTO_VERSION),
        PROTO_ROW(ProtoPush, sub, "sub", STR, .flags = PROTO_F_REQUIRED, .min = 1, .max = PROTO_ID_MAX),
        PROTO_ROW(ProtoPush, prev_seq, "prev_seq", U64, .flags = PROTO_F_REQUIRED, .max = UINT64_MAX),
        PROTO_OPT(ProtoPush, event, has_event, "event", OBJECT, .type = &proto_event_type),
        PROTO_OPT(ProtoPush, lost, has_lost, "lost", OBJECT, .type = &lost_type),
        PROTO_OPT(ProtoPush, output, has_output, "output", OBJECT, .type = &attach_output_type),
        PROTO_OPT(ProtoPush, closed, has_closed, "closed", OBJECT, .type = &attach_closed_type),
};

static unsigned push_kinds(const ProtoPush *p)
{
        return (unsigned)p->has_event + p->has_lost + p->has_output + p->has_closed;
}
static const ProtoType push_type = PROTO_TYPE("push", ProtoPush, push_fields);

int proto_push_encode(const ProtoPush *p, void **ret_buf, size_t *ret_len)
{
        ProtoPush c;

        if (!p || !p->sub || push_kinds(p) != 1)
                return -EINVAL;
        c = *p;
        if (c.v == 0)
                c.v = PROTO_VERSION;
        return proto_type_encode(&push_type, &c, ret_buf, ret_len);
}

int proto_push_decode(const void *buf, size_t len, ProtoPush *ret, ProtoError *ret_err)
{
        int r;

        r = proto_type_decode(buf, len, &push_type, ret, ret_err);
        if (r < 0)
                return r;
        if (push_kinds(ret) != 1) {
                proto_push_done(ret);
                return proto_error_set(ret_err, PROTO_ERROR_BAD_REQUEST,
                                       "a push carries exactly one of event, lost, output and closed");
        }
        if (ret->has_lost && ret->lost.from > ret->lost.to) {
                proto_push_done(ret);
                return proto_error_set(ret_err, PROTO_ERROR_BAD_REQUEST, "lost: from is after to");
        }
        return 0;
}

bool proto_message_is_push(const void *buf, size_t len)
{
        _cleanup_(proto_unpacked_done) ProtoUnpacked u = {};
        const msgpack_object *x;
        ProtoError e;

        if (proto_unpack(buf, len, &u, &e) < 0 || u.u.data.type != MSGPACK_OBJECT_MAP)
                return false;
        return proto_map_get(&u.u.data, "", "sub", &x, &e) > 0;
}

void proto_push_done(ProtoPush *p)
{
        proto_type_free(&push_type, p);
}
