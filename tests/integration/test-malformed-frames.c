/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Malformed frames from a raw ZeroMQ client get error replies, and the daemon keeps serving. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "cleanup.h"
#include "itest-util.h"
#include "proto.h"

typedef struct Frame {
        const char *what;
        const uint8_t *data;
        size_t size;
        ProtoErrorCode code;
} Frame;

static void *raw_connect(ITest *t, void **ret_ctx)
{
        void *ctx = zmq_ctx_new(), *s;
        int linger = 0, timeout = 5000;

        assert_non_null(ctx);
        s = zmq_socket(ctx, ZMQ_DEALER);
        assert_non_null(s);
        assert_int_equal(zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger), 0);
        assert_int_equal(zmq_setsockopt(s, ZMQ_RCVTIMEO, &timeout, sizeof timeout), 0);
        assert_int_equal(zmq_connect(s, t->h->control), 0);
        *ret_ctx = ctx;
        return s;
}

/* sends [empty][body] and returns the decoded reply (an error reply decodes for any op) */
static void roundtrip(void *s, const void *body, size_t size, ProtoReply *ret)
{
        char buf[65536];
        ProtoError perr;
        int n;

        assert_int_equal(zmq_send(s, "", 0, ZMQ_SNDMORE), 0);
        assert_int_equal(zmq_send(s, body, size, 0), (int)size);
        n = zmq_recv(s, buf, sizeof buf, 0);
        assert_int_equal(n, 0); /* the empty delimiter comes back */
        n = zmq_recv(s, buf, sizeof buf, 0);
        if (n < 0)
                fail_msg("no reply within 5 s");
        assert_int_equal(proto_reply_decode(buf, (size_t)n, PROTO_OP_HEALTH, ret, &perr), 0);
}

static void test_malformed_frames(void **state)
{
        ITest *t = *state;
        void *ctx, *s = raw_connect(t, &ctx);
        static const uint8_t not_msgpack[] = {0xc1, 0xc1, 0xc1};
        static const uint8_t not_a_map[] = {0x93, 0x01, 0x02, 0x03};
        static const uint8_t huge_count[] = {0xdf, 0xff, 0xff, 0xff, 0xff};
        static const uint8_t truncated[] = {0x84, 0xa1, 'v', 0x01, 0xa2, 'i', 'd'};
        /* {v:2, id:"x", op:"health"} */
        static const uint8_t bad_version[] = {0x83, 0xa1, 'v',  0x02, 0xa2, 'i', 'd', 0xa1, 'x', 0xa2,
                                              'o',  'p',  0xa6, 'h',  'e',  'a', 'l', 't',  'h'};
        /* {v:1, id:"x", op:"explode"} */
        static const uint8_t unknown_op[] = {0x83, 0xa1, 'v',  0x01, 0xa2, 'i', 'd', 0xa1, 'x', 0xa2,
                                             'o',  'p',  0xa7, 'e',  'x',  'p', 'l', 'o',  'd', 'e'};
        /* {v:1, id:"x"} : no op */
        static const uint8_t missing_op[] = {0x82, 0xa1, 'v', 0x01, 0xa2, 'i', 'd', 0xa1, 'x'};
        /* {v:1, id:"x", op:"get", args:{agent: 5}} : wrong type */
        static const uint8_t wrong_type[] = {0x84, 0xa1, 'v',  0x01, 0xa2, 'i', 'd',  0xa1, 'x', 0xa2,
                                             'o',  'p',  0xa3, 'g',  'e',  't', 0xa4, 'a',  'r', 'g',
                                             's',  0x81, 0xa5, 'a',  'g',  'e', 'n',  't',  0x05};
        const Frame frames[] = {
                {"empty body", (const uint8_t *)"", 0, PROTO_ERROR_BAD_REQUEST},
                {"not msgpack", not_msgpack, sizeof not_msgpack, PROTO_ERROR_BAD_REQUEST},
                {"not a map", not_a_map, sizeof not_a_map, PROTO_ERROR_BAD_REQUEST},
                {"huge declared count", huge_count, sizeof huge_count, PROTO_ERROR_BAD_REQUEST},
                {"truncated", truncated, sizeof truncated, PROTO_ERROR_BAD_REQUEST},
                {"wrong version", bad_version, sizeof bad_version, PROTO_ERROR_UNSUPPORTED_VERSION},
                {"unknown op", unknown_op, sizeof unknown_op, PROTO_ERROR_UNKNOWN_OP},
                {"missing op", missing_op, sizeof missing_op, PROTO_ERROR_BAD_REQUEST},
                {"wrong type", wrong_type, sizeof wrong_type, PROTO_ERROR_BAD_REQUEST},
        };

        for (size_t i = 0; i < sizeof frames / sizeof frames[0]; i++) {
                ProtoReply r = {};
                roundtrip(s, frames[i].data, frames[i].size, &r);
                if (r.ok || r.error_code != frames[i].code)
                        fail_msg("%s: got %s, want %s", frames[i].what,
                                 r.ok ? "ok" : proto_error_code_to_string(r.error_code),
                                 proto_error_code_to_string(frames[i].code));
                proto_reply_done(&r);
        }

        /* a multipart message with too many frames, and random garbage, are dropped or answered */
        for (int i = 0; i < 20; i++)
                (void)zmq_send(s, "junk", 4, ZMQ_SNDMORE);
        (void)zmq_send(s, "junk", 4, 0);
        {
                char buf[256];
                int timeout = 300;
                (void)zmq_setsockopt(s, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
                while (zmq_recv(s, buf, sizeof buf, 0) >= 0)
                        ; /* whatever came back for the junk */
                timeout = 5000;
                (void)zmq_setsockopt(s, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
        }

        /* and the daemon still serves, on this socket and on a fresh client */
        {
                ProtoRequest req = {.id = (char *)"after-junk", .op = PROTO_OP_HEALTH};
                _cleanup_free_ void *buf = NULL;
                size_t len;
                ProtoReply r = {};

                assert_int_equal(proto_request_encode(&req, &buf, &len), 0);
                roundtrip(s, buf, len, &r);
                assert_true(r.ok);
                assert_string_equal(r.id, "after-junk");
                proto_reply_done(&r);
        }
        {
                ProtoHealthResult h = {};
                DescartesError err = {};
                assert_int_equal(wire_health(t->c, &h, &err), 0);
                assert_int_equal(h.protocol, 1);
                proto_health_result_done(&h);
        }
        zmq_close(s);
        zmq_ctx_term(ctx);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_malformed_frames),
        };
        return cmocka_run_group_tests(tests, itest_setup, itest_teardown);
}
