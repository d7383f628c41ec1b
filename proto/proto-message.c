/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The envelopes: a request {v, id, op, args} and a reply {v, id, ok, data | err}. What is inside args and
 * data is the op's field table (its registry row); this file only reads and writes what surrounds it. */
#include <string.h>

#include "proto-type.h"
#include "string-util.h"

static const msgpack_object empty_map = {.type = MSGPACK_OBJECT_MAP};

static const ProtoType *args_type(ProtoOp op)
{
        const ProtoOpInfo *i = proto_op_info(op);
        return i ? i->args : NULL;
}

static const ProtoType *result_type(ProtoOp op)
{
        const ProtoOpInfo *i = proto_op_info(op);
        return i ? i->result : NULL;
}

int proto_request_encode(const ProtoRequest *r, void **ret_buf, size_t *ret_len)
{
        ProtoWriter w;

        if (!r || !ret_buf || !ret_len || !r->id || !args_type(r->op))
                return -EINVAL;
        if (r->id[0] == 0 || strlen(r->id) > PROTO_ID_MAX)
                return -EINVAL;
        proto_writer_init(&w);
        proto_write_map(&w, 4);
        proto_write_key(&w, "v");
        proto_write_u64(&w, r->v == 0 ? PROTO_VERSION : r->v);
        proto_write_key(&w, "id");
        proto_write_str(&w, r->id);
        proto_write_key(&w, "op");
        proto_write_str(&w, proto_op_to_string(r->op));
        proto_write_key(&w, "args");
        proto_type_write(&w, args_type(r->op), &r->args);
        return proto_writer_finish(&w, ret_buf, ret_len);
}

/* The id is read before anything else can fail, so that even a refused request gets its answer matched. */
static void peek_id(const msgpack_object *root, ProtoError *e)
{
        e->has_id = false; /* the scan's guess gives way to the real read */
        e->id[0] = 0;
        for (uint32_t i = 0; i < root->via.map.size; i++) {
                const msgpack_object_kv *kv = &root->via.map.ptr[i];

                if (kv->key.type != MSGPACK_OBJECT_STR || kv->key.via.str.size != 2 ||
                    memcmp(kv->key.via.str.ptr, "id", 2) != 0)
                        continue;
                if (e->has_id) { /* a duplicate: which one would the client match? neither */
                        e->has_id = false;
                        e->id[0] = 0;
                        return;
                }
                if (kv->val.type != MSGPACK_OBJECT_STR || kv->val.via.str.size < 1 ||
                    kv->val.via.str.size > PROTO_ID_MAX ||
                    memchr(kv->val.via.str.ptr, 0, kv->val.via.str.size))
                        return;
                memcpy(e->id, kv->val.via.str.ptr, kv->val.via.str.size);
                e->id[kv->val.via.str.size] = 0;
                e->has_id = true;
        }
}

static int read_version(const msgpack_object *root, ProtoError *e)
{
        const msgpack_object *x;
        int r;

        r = proto_map_need(root, "", "v", &x, e);
        if (r < 0)
                return r;
        if (x->type != MSGPACK_OBJECT_POSITIVE_INTEGER && x->type != MSGPACK_OBJECT_NEGATIVE_INTEGER)
                return proto_error_set(e, PROTO_ERROR_BAD_REQUEST, "v: expected integer");
        if (x->type == MSGPACK_OBJECT_NEGATIVE_INTEGER || x->via.u64 != PROTO_VERSION)
                return proto_error_set(e, PROTO_ERROR_UNSUPPORTED_VERSION,
                                       "protocol version not supported; this side speaks %d", PROTO_VERSION);
        return 0;
}

int proto_request_decode(const void *buf, size_t len, ProtoRequest *ret, ProtoError *ret_err)
{
        _cleanup_(proto_unpacked_done) ProtoUnpacked u = {};
        _cleanup_(proto_request_done) ProtoRequest req = {.op = _PROTO_OP_INVALID};
        const msgpack_object *root, *x, *args = &empty_map;
        ProtoError scratch;
        ProtoError *e = ret_err ?: &scratch;
        char opname[33] = {};
        int r;

        proto_error_init(e);
        if (!ret)
                return proto_error_set(e, PROTO_ERROR_INTERNAL, "no result");
        *ret = (ProtoRequest){};

        r = proto_unpack(buf, len, &u, e);
        if (r < 0)
                return r;
        root = &u.u.data;
        if (root->type == MSGPACK_OBJECT_MAP)
                peek_id(root, e); /* before any check of the keys: an integer key is answered with the id */
        r = proto_read_map(root, "", e);
        if (r < 0)
                return r;

        r = proto_map_need(root, "", "id", &x, e);
        if (r < 0)
                return r;
        r = proto_read_str(x, "id", 1, PROTO_ID_MAX, &req.id, e);
        if (r < 0)
                return r;

        r = read_version(root, e);
        if (r < 0)
                return r;
        req.v = PROTO_VERSION;

        r = proto_map_need(root, "", "op", &x, e);
        if (r < 0)
                return r;
        if (x->type != MSGPACK_OBJECT_STR)
                return proto_error_set(e, PROTO_ERROR_BAD_REQUEST, "op: expected string");
        if (x->via.str.size < sizeof(opname) && !memchr(x->via.str.ptr, 0, x->via.str.size)) {
                memcpy(opname, x->via.str.ptr, x->via.str.size);
                req.op = proto_op_from_string(opname);
        }
        if (req.op < 0)
                return opname[0] ? proto_error_set(e, PROTO_ERROR_UNKNOWN_OP, "unknown op \"%s\"", opname)
                                 : proto_error_set(e, PROTO_ERROR_UNKNOWN_OP, "unknown op");
        e->op = req.op;

        r = proto_map_get(root, "", "args", &x, e);
        if (r < 0)
                return r;
        if (r > 0) {
                r = proto_read_map(x, "args", e);
                if (r < 0)
                        return r;
                args = x;
        }
        r = proto_type_read_fields(args, "args", args_type(req.op), &req.args, e);
        if (r < 0)
                return r;

        *ret = req;
        req = (ProtoRequest){};
        return 0;
}

void proto_request_peek_id(const void *buf, size_t len, char ret_id[static PROTO_ID_MAX + 1])
{
        ProtoError e;

        proto_error_init(&e);
        (void)proto_scan(buf, len, PROTO_DEPTH_MAX, &e);
        memcpy(ret_id, e.has_id ? e.id : "", e.has_id ? strlen(e.id) + 1 : 1);
}

void proto_request_done(ProtoRequest *r)
{
        if (!r)
                return;
        free(r->id);
        if (args_type(r->op))
                proto_type_free_fields(args_type(r->op), &r->args);
        *r = (ProtoRequest){};
}

/* ---- replies ---- */

void proto_write_error_map(ProtoWriter *w, ProtoErrorCode code, const char *msg, const char *agent,
                           uint64_t retry_after_ms)
{
        proto_write_map(w, 2 + !!agent + !!retry_after_ms);
        proto_write_key(w, "code");
        if (proto_error_code_to_string(code))
                proto_write_str(w, proto_error_code_to_string(code));
        else
                proto_writer_fail(w, -EINVAL);
        proto_write_key(w, "msg");
        proto_write_str(w, msg ?: "");
        if (agent) {
                proto_write_key(w, "agent");
                proto_write_str(w, agent);
        }
        if (retry_after_ms) {
                proto_write_key(w, "retry_after_ms");
                proto_write_u64(w, retry_after_ms);
        }
}

int proto_read_error_map(const msgpack_object *o, const char *key, ProtoErrorCode *ret_code, char **ret_msg,
                         ProtoError *e)
{
        const msgpack_object *x;
        char name[PROTO_KEYNAME_MAX];
        int code, r;

        r = proto_read_map(o, key, e);
        if (r < 0)
                return r;
        r = proto_map_need(o, key, "code", &x, e);
        if (r < 0)
                return r;
        proto_key_name(name, key, "code");
        /* error codes added by a newer daemon must not make its replies unreadable: they read as internal */
        r = proto_read_enum(x, name, &proto_error_code_names, true, PROTO_ERROR_INTERNAL, &code, e);
        if (r < 0)
                return r;
        *ret_code = code;
        r = proto_map_need(o, key, "msg", &x, e);
        if (r < 0)
                return r;
        proto_key_name(name, key, "msg");
        return proto_read_str(x, name, 0, PROTO_ERROR_MSG_MAX, ret_msg, e);
}

static int encode_reply(const char *id, bool ok, ProtoErrorCode code, const char *msg, const ProtoReply *r,
                        void **ret_buf, size_t *ret_len)
{
        ProtoWriter w;

        if (!ret_buf || !ret_len || strlen(id) > PROTO_ID_MAX)
                return -EINVAL;
        if (ok && !result_type(r->op))
                return -EINVAL;
        proto_writer_init(&w);
        proto_write_map(&w, 4);
        proto_write_key(&w, "v");
        proto_write_u64(&w, PROTO_VERSION);
        proto_write_key(&w, "id");
        proto_write_str(&w, id);
        proto_write_key(&w, "ok");
        proto_write_bool(&w, ok);
        if (ok) {
                proto_write_key(&w, "data");
                proto_type_write(&w, result_type(r->op), &r->result);
        } else {
                proto_write_key(&w, "err");
                proto_write_error_map(&w, code, msg, r ? r->error_agent : NULL,
                                      r ? r->error_retry_after_ms : 0);
        }
        return proto_writer_finish(&w, ret_buf, ret_len);
}

int proto_reply_encode(const ProtoReply *r, void **ret_buf, size_t *ret_len)
{
        if (!r)
                return -EINVAL;
        if (!r->ok && r->error_msg && strlen(r->error_msg) > PROTO_ERROR_MSG_MAX)
                return -E2BIG;
        if (!r->ok && r->error_agent && strlen(r->error_agent) > PROTO_AGENT_ID_MAX)
                return -E2BIG;
        return encode_reply(r->id ?: "", r->ok, r->error_code, r->error_msg, r, ret_buf, ret_len);
}

int proto_error_reply_encode(const ProtoError *err, void **ret_buf, size_t *ret_len)
{
        if (!err)
                return -EINVAL;
        return encode_reply(err->has_id ? err->id : "", false, err->code, err->msg, NULL, ret_buf, ret_len);
}

int proto_reply_decode(const void *buf, size_t len, ProtoOp expected_op, ProtoReply *ret,
                       ProtoError *ret_err)
{
        _cleanup_(proto_unpacked_done) ProtoUnpacked u = {};
        _cleanup_(proto_reply_done) ProtoReply rep = {};
        const msgpack_object *root, *x;
        ProtoError scratch;
        ProtoError *e = ret_err ?: &scratch;
        int r;

        proto_error_init(e);
        if (!ret)
                return proto_error_set(e, PROTO_ERROR_INTERNAL, "no result");
        *ret = (ProtoReply){};
        if (!result_type(expected_op))
                return proto_error_set(e, PROTO_ERROR_INTERNAL, "invalid expected op");
        e->op = expected_op;

        r = proto_unpack(buf, len, &u, e);
        if (r < 0)
                return r;
        root = &u.u.data;
        r = proto_read_map(root, "", e);
        if (r < 0)
                return r;

        r = proto_map_need(root, "", "id", &x, e);
        if (r < 0)
                return r;
        r = proto_read_str(x, "id", 0, PROTO_ID_MAX, &rep.id, e);
        if (r < 0)
                return r;
        if (rep.id[0]) {
                memcpy(e->id, rep.id, strlen(rep.id) + 1);
                e->has_id = true;
        }

        r = read_version(root, e);
        if (r < 0)
                return r;

        r = proto_map_need(root, "", "ok", &x, e);
        if (r < 0)
                return r;
        r = proto_read_bool(x, "ok", &rep.ok, e);
        if (r < 0)
                return r;
        rep.op = expected_op;

        if (!rep.ok) {
                const msgpack_object *err;

                r = proto_map_need(root, "", "err", &err, e);
                if (r < 0)
                        return r;
                r = proto_read_error_map(err, "err", &rep.error_code, &rep.error_msg, e);
                if (r < 0)
                        return r;
                r = proto_map_get(err, "err", "agent", &x, e);
                if (r < 0)
                        return r;
                if (r > 0) {
                        r = proto_read_str(x, "err.agent", 1, PROTO_AGENT_ID_MAX, &rep.error_agent, e);
                        if (r < 0)
                                return r;
                }
                r = proto_map_get(err, "err", "retry_after_ms", &x, e);
                if (r < 0)
                        return r;
                if (r > 0) {
                        r = proto_read_u64(x, "err.retry_after_ms", 1, PROTO_RETRY_AFTER_MS_MAX,
                                           &rep.error_retry_after_ms, e);
                        if (r < 0)
                                return r;
                }
        } else {
                r = proto_map_need(root, "", "data", &x, e);
                if (r < 0)
                        return r;
                r = proto_type_read(x, "data", result_type(expected_op), &rep.result, e);
                if (r < 0)
                        return r;
        }

        *ret = rep;
        rep = (ProtoReply){};
        return 0;
}

void proto_reply_done(ProtoReply *r)
{
        if (!r)
                return;
        free(r->id);
        free(r->error_msg);
        free(r->error_agent);
        if (r->ok && result_type(r->op))
                proto_type_free_fields(result_type(r->op), &r->result);
        *r = (ProtoReply){};
}
