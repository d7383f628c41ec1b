/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Every way a message can be wrong gets its documented error, never a crash. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "mp-text.h"
#include "proto-samples.h"
#include "proto.h"
#include "string-util.h"

static void *mfree_ptr(void *p)
{
        free(p);
        return NULL;
}

typedef struct Case {
        const char *text;
        int code; /* ProtoErrorCode, or -1 for "decodes" */
        const char *msg_part;
} Case;

#define OK  (-1)
#define BAD PROTO_ERROR_BAD_REQUEST
#define H   "v: 1, id: 'r1', "

static const Case request_cases[] = {
        {"[1, 2]", BAD, "expected map"},
        {"'get'", BAD, "expected map"},
        {"{id: 'r1', op: 'health'}", BAD, "missing required key v"},
        {"{v: '1', id: 'r1', op: 'health'}", BAD, "v: expected integer"},
        {"{v: 2, id: 'r1', op: 'health'}", PROTO_ERROR_UNSUPPORTED_VERSION, "version"},
        {"{v: 0, id: 'r1', op: 'health'}", PROTO_ERROR_UNSUPPORTED_VERSION, NULL},
        {"{v: -1, id: 'r1', op: 'health'}", PROTO_ERROR_UNSUPPORTED_VERSION, NULL},
        {"{v: 1, op: 'health'}", BAD, "missing required key id"},
        {"{v: 1, id: '', op: 'health'}", BAD, "id: string of 0 bytes"},
        {"{v: 1, id: 7, op: 'health'}", BAD, "id: expected string"},
        {"{v: 1, id: 'a\\0b', op: 'health'}", BAD, "NUL"},
        {"{v: 1, id: '01234567890123456789012345678901234567890123456789012345678901234', op: 'health'}",
         BAD, "id: string of 65 bytes"},
        {"{v: 1, id: '0123456789012345678901234567890123456789012345678901234567890123', op: 'health'}", OK},
        {"{" H "}", BAD, "missing required key op"},
        {"{" H "op: 'launch'}", PROTO_ERROR_UNKNOWN_OP, "launch"},
        {"{" H "op: 'GET'}", PROTO_ERROR_UNKNOWN_OP, NULL},
        {"{" H "op: 'get\\0'}", PROTO_ERROR_UNKNOWN_OP, NULL},
        {"{" H "op: 'a-very-long-op-name-that-is-longer-than-any-op'}", PROTO_ERROR_UNKNOWN_OP, NULL},
        {"{" H "op: 3}", BAD, "op: expected string"},
        {"{" H "op: 'health', args: []}", BAD, "args: expected map"},
        {"{" H "op: 'health'}", OK},
        {"{" H "op: 'health', args: {}, future: {x: [1, 2, {y: nil}]}}", OK},
        {"{" H "op: 'get', args: {agent: 'a', unknown_key: b'zz'}}", OK},
        {"{" H "op: 'get', args: {}}", BAD, "missing required key args.agent"},
        {"{" H "op: 'get'}", BAD, "missing required key args.agent"},
        {"{" H "op: 'get', args: {agent: ''}}", BAD, "args.agent"},
        {"{" H "op: 'get', args: {agent: 'x\\0y'}}", BAD, "NUL"},
        {"{" H "op: 'get', args: {agent: b'a'}}", BAD, "args.agent: expected string, got binary"},
        {"{" H "op: 'get', args: {agent: 'a', agent: 'b'}}", BAD, "duplicate key"},
        {"{" H "op: 'get', op: 'get', args: {agent: 'a'}}", BAD, "duplicate key"},
        {"{" H "op: 'get', 7: 1, args: {agent: 'a'}}", BAD, "map key of type integer"},
        /* agent: 1..128 bytes (an id, NAME or TENANT/NAME) */
        {"{" H "op: 'pause', args: {agent: "
         "'0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890"
         "12345678901234567890123456789012345679'}}",
         BAD, "args.agent"},
        {"{" H "op: 'pause', args: {agent: "
         "'0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890"
         "1234567890123456789012345678901234567'}}",
         OK},
        /* spawn */
        {"{" H "op: 'spawn', args: {argv: ['/bin/true']}}", OK},
        {"{" H "op: 'spawn', args: {}}", BAD, "missing required key args.argv"},
        {"{" H "op: 'spawn', args: {argv: []}}", BAD, "args.argv: empty"},
        {"{" H "op: 'spawn', args: {argv: '/bin/true'}}", BAD, "args.argv: expected array"},
        {"{" H "op: 'spawn', args: {argv: ['/bin/echo', 3]}}", BAD,
         "args.argv: expected string, got integer"},
        {"{" H "op: 'spawn', args: {argv: ['']}}", BAD, "argv[0] is empty"},
        {"{" H "op: 'spawn', args: {argv: ['/bin/echo', 'a\\0b']}}", BAD, "NUL"},
        {"{" H "op: 'spawn', args: {argv: ['x'], env: {'A=B': 'c'}}}", BAD, "'='"},
        {"{" H "op: 'spawn', args: {argv: ['x'], env: {A: 'c', B: 'd', A: 'e'}}}", BAD,
         "duplicate key \"A\""},
        {"{" H "op: 'spawn', args: {argv: ['x'], env: {'': 'c'}}}", BAD, "args.env"},
        {"{" H "op: 'spawn', args: {argv: ['x'], env: {A: 1}}}", BAD, "args.env: expected string"},
        {"{" H "op: 'spawn', args: {argv: ['x'], env: ['A=1']}}", BAD, "args.env: expected map"},
        {"{" H "op: 'spawn', args: {argv: ['x'], cwd: 'relative/dir'}}", BAD,
         "args.cwd: not an absolute path"},
        {"{" H "op: 'spawn', args: {argv: ['x'], workspace: ''}}", BAD, "args.workspace"},
        {"{" H "op: 'spawn', args: {argv: ['x'], name: '-bad'}}", BAD, "args.name"},
        {"{" H "op: 'spawn', args: {argv: ['x'], name: 'has space'}}", BAD, "args.name"},
        {"{" H "op: 'spawn', args: {argv: ['x'], name: 'ok_name-1.2'}}", OK},
        {"{" H "op: 'spawn', args: {argv: ['x'], limits: {memory: -1}}}", BAD, "args.limits.memory"},
        {"{" H "op: 'spawn', args: {argv: ['x'], limits: {cpu_millicores: 0}}}", BAD,
         "args.limits.cpu_millicores"},
        {"{" H "op: 'spawn', args: {argv: ['x'], limits: {cpu_millicores: 1.5}}}", BAD, "expected integer"},
        {"{" H "op: 'spawn', args: {argv: ['x'], limits: {pids: 0}}}", BAD, "args.limits.pids"},
        {"{" H "op: 'spawn', args: {argv: ['x'], limits: 5}}", BAD, "args.limits: expected map"},
        {"{" H "op: 'spawn', args: {argv: ['x'], net: 'bridge'}}", BAD,
         "args.net: unknown value \"bridge\""},
        {"{" H "op: 'spawn', args: {argv: ['x'], timeout_ms: 0}}", BAD, "args.timeout_ms"},
        {"{" H "op: 'spawn', args: {argv: ['x'], stdin: 'yes'}}", BAD, "args.stdin: expected boolean"},
        {"{" H "op: 'spawn', args: {argv: ['x'], labels: {k: 'v', '': 'w'}}}", BAD, "args.labels"},
        {"{" H "op: 'spawn', args: {argv: ['x'], policy: ''}}", BAD, "args.policy"},
        /* signal */
        {"{" H "op: 'signal', args: {agent: 'a', signal: 'TERM'}}", OK},
        {"{" H "op: 'signal', args: {agent: 'a', signal: 'SIGKILL'}}", OK},
        {"{" H "op: 'signal', args: {agent: 'a', signal: 9}}", OK},
        {"{" H "op: 'signal', args: {agent: 'a', signal: 'BOGUS'}}", BAD, "unknown signal"},
        {"{" H "op: 'signal', args: {agent: 'a', signal: 0}}", BAD, "args.signal"},
        {"{" H "op: 'signal', args: {agent: 'a', signal: 65}}", BAD, "args.signal"},
        {"{" H "op: 'signal', args: {agent: 'a', signal: -9}}", BAD, "args.signal"},
        {"{" H "op: 'signal', args: {agent: 'a', signal: 9.0}}", BAD, "args.signal: expected integer"},
        {"{" H "op: 'signal', args: {agent: 'a'}}", BAD, "missing required key args.signal"},
        /* stdin */
        {"{" H "op: 'stdin', args: {agent: 'a', data: b'hi\\0', close: true}}", OK},
        {"{" H "op: 'stdin', args: {agent: 'a', data: 'text'}}", BAD,
         "args.data: expected binary, got string"},
        {"{" H "op: 'stdin', args: {agent: 'a', close: 1}}", BAD, "args.close"},
        /* output */
        {"{" H "op: 'output', args: {agent: 'a', stream: 'all'}}", BAD, "args.stream: unknown value"},
        {"{" H "op: 'output', args: {agent: 'a', mode: 'json'}}", BAD, "args.mode"},
        {"{" H "op: 'output', args: {agent: 'a', tail: 5, offset: 1}}", BAD, "exclude"},
        {"{" H "op: 'output', args: {agent: 'a', mode: 'raw', grep: 'x'}}", BAD, "args.grep"},
        {"{" H "op: 'output', args: {agent: 'a', limit: 0}}", BAD, "args.limit"},
        {"{" H "op: 'output', args: {agent: 'a', limit: 65537}}", BAD, "args.limit"},
        {"{" H "op: 'output', args: {agent: 'a', mode: 'raw', limit: 65537}}", OK},
        {"{" H "op: 'output', args: {agent: 'a', cursor: ''}}", BAD, "args.cursor"},
        /* action */
        {"{" H "op: 'action', args: {agent: 'a', name: 'x', params: {k: [1, 2.5, nil, b'\\x01']}}}", OK},
        {"{" H "op: 'action', args: {agent: 'a', name: 'x', params: [1]}}", BAD,
         "args.params: expected map"},
        {"{" H "op: 'action', args: {agent: 'a', params: {}}}", BAD, "missing required key args.name"},
        {"{" H "op: 'action', args: {agent: 'a', name: 'x', params: {1: 2}}}", OK},
        /* batch */
        {"{" H "op: 'batch', args: {op: 'stop', agents: ['a', 'b'], args: {grace_ms: 5}}}", OK},
        {"{" H "op: 'batch', args: {op: 'kill', selector: {labels: {team: 'x'}}, fail_fast: true}}", OK},
        {"{" H "op: 'batch', args: {op: 'spawn', agents: ['a']}}", BAD, "args.op"},
        {"{" H "op: 'batch', args: {op: 'batch', agents: ['a']}}", BAD, "args.op"},
        {"{" H "op: 'batch', args: {op: 'nope', agents: ['a']}}", BAD, "args.op"},
        {"{" H "op: 'batch', args: {agents: ['a']}}", BAD, "missing required key args.op"},
        {"{" H "op: 'batch', args: {op: 'kill'}}", BAD, "exactly one of agents and selector"},
        {"{" H "op: 'batch', args: {op: 'kill', agents: ['a'], selector: {}}}", BAD, "exactly one"},
        {"{" H "op: 'batch', args: {op: 'kill', agents: []}}", BAD,
         "args: exactly one of agents and selector"},
        {"{" H "op: 'batch', args: {op: 'kill', agents: ['']}}", BAD, "args.agents"},
        {"{" H "op: 'batch', args: {op: 'signal', agents: ['a']}}", BAD, "missing required key args.signal"},
        {"{" H "op: 'batch', args: {op: 'signal', agents: ['a'], args: {signal: 'HUP'}}}", OK},
        {"{" H "op: 'batch', args: {op: 'kill', selector: {state: 'zombie'}}}", BAD, "args.selector.state"},
        {"{" H "op: 'batch', args: {op: 'kill', agents: ['a'], args: 1}}", BAD, "args.args: expected map"},
        /* list, events */
        {"{" H "op: 'list', args: {state: 'running', labels: {a: 'b'}, limit: 10, all: true}}", OK},
        {"{" H "op: 'list', args: {limit: 16385}}", BAD, "args.limit"},
        {"{" H "op: 'list', args: {all: nil}}", BAD, "args.all"},
        {"{" H "op: 'events', args: {since_seq: 18446744073709551615, limit: 10000}}", OK},
        {"{" H "op: 'events', args: {limit: 10001}}", BAD, "args.limit"},
        {"{" H "op: 'events', args: {since_seq: -1}}", BAD, "args.since_seq"},
        {"{" H "op: 'stats', args: {anything: 'goes'}}", OK},
};

static void decode_text_request(const char *text, int *ret_r, ProtoError *err)
{
        _cleanup_free_ void *buf = NULL;
        _cleanup_(proto_request_done) ProtoRequest req = {};
        size_t len;

        assert_int_equal(mp_text(text, &buf, &len), 0);
        *ret_r = proto_request_decode(buf, len, &req, err);
}

static void test_request_cases(void **state)
{
        for (size_t i = 0; i < ELEMENTSOF(request_cases); i++) {
                const Case *c = &request_cases[i];
                ProtoError err;
                int r;

                decode_text_request(c->text, &r, &err);
                if (c->code == OK) {
                        if (r < 0)
                                fail_msg("case %zu %s: %s", i, c->text, err.msg);
                        continue;
                }
                if (r >= 0)
                        fail_msg("case %zu %s: decoded", i, c->text);
                if ((int)err.code != c->code || (c->msg_part && !strstr(err.msg, c->msg_part)))
                        fail_msg("case %zu %s: got %s \"%s\"", i, c->text,
                                 proto_error_code_to_string(err.code), err.msg);
                assert_int_equal(r, proto_error_code_to_errno(err.code));
        }
}

static void test_error_carries_id(void **state)
{
        ProtoError err;
        int r;

        decode_text_request("{v: 9, id: 'keep-me', op: 'health'}", &r, &err);
        assert_int_equal(r, -EPROTONOSUPPORT);
        assert_true(err.has_id);
        assert_string_equal(err.id, "keep-me");

        decode_text_request("{v: 1, id: 'x1', op: 'teleport'}", &r, &err);
        assert_int_equal(r, -EOPNOTSUPP);
        assert_true(err.has_id);
        assert_string_equal(err.id, "x1");
        assert_int_equal(err.op, _PROTO_OP_INVALID);

        decode_text_request("{v: 1, id: 'x2', op: 'get', args: {agent: 5}}", &r, &err);
        assert_int_equal(r, -EBADMSG);
        assert_true(err.has_id);
        assert_int_equal(err.op, PROTO_OP_GET);

        decode_text_request("{v: 1, id: 5, op: 'get'}", &r, &err);
        assert_false(err.has_id);

        /* refused by the pre-scan or for its keys, with a readable id: the id still comes back */
        {
                char text[512];
                size_t p =
                        (size_t)snprintf(text, sizeof text,
                                         "{v: 1, id: 'deep-1', op: 'action', args: {agent: 'a', name: 'n', "
                                         "params: {x: ");
                for (int i = 0; i < 20; i++)
                        text[p++] = '[';
                for (int i = 0; i < 20; i++)
                        text[p++] = ']';
                snprintf(text + p, sizeof text - p, "}}}");
                decode_text_request(text, &r, &err);
                assert_int_equal(r, -EBADMSG);
                assert_non_null(strstr(err.msg, "nesting"));
                assert_true(err.has_id);
                assert_string_equal(err.id, "deep-1");
        }
        decode_text_request("{v: 1, id: 'intkey', op: 'get', 7: 'x'}", &r, &err);
        assert_int_equal(r, -EBADMSG);
        assert_true(err.has_id);
        assert_string_equal(err.id, "intkey");
        {
                /* {id: "many", x: [nil x 1,100,000]} */
                size_t n = 1100000, len = 1 + 3 + 5 + 2 + 5 + n;
                _cleanup_free_ uint8_t *buf = malloc(len);
                ProtoRequest req = {};
                size_t o = 0;

                assert_non_null(buf);
                buf[o++] = 0x82;
                memcpy(buf + o, "\xa2id\xa4many", 8);
                o += 8;
                memcpy(buf + o, "\xa1x", 2);
                o += 2;
                buf[o++] = 0xdd;
                buf[o++] = (uint8_t)(n >> 24);
                buf[o++] = (uint8_t)(n >> 16);
                buf[o++] = (uint8_t)(n >> 8);
                buf[o++] = (uint8_t)n;
                memset(buf + o, 0xc0, n);
                o += n;
                assert_true(proto_request_decode(buf, o, &req, &err) < 0);
                assert_non_null(strstr(err.msg, "objects"));
                assert_true(err.has_id);
                assert_string_equal(err.id, "many");
                (void)len;
        }
        decode_text_request("{v: 1, id: 'a', id: 'b', op: 'get'}", &r, &err);
        assert_int_equal(r, -EBADMSG);
        assert_false(err.has_id);
}

static void expect_raw(const void *buf, size_t len, const char *msg_part)
{
        _cleanup_(proto_request_done) ProtoRequest req = {};
        _cleanup_(proto_reply_done) ProtoReply rep = {};
        _cleanup_(proto_event_done) ProtoEvent ev = {};
        ProtoError err;

        assert_int_equal(proto_request_decode(buf, len, &req, &err), -EBADMSG);
        assert_int_equal(err.code, PROTO_ERROR_BAD_REQUEST);
        if (msg_part && !strstr(err.msg, msg_part))
                fail_msg("got \"%s\", expected \"%s\"", err.msg, msg_part);
        assert_int_equal(proto_reply_decode(buf, len, PROTO_OP_GET, &rep, &err), -EBADMSG);
        assert_int_equal(proto_event_decode(buf, len, &ev, &err), -EBADMSG);
}

static void test_structure(void **state)
{
        _cleanup_free_ uint8_t *big = NULL;

        expect_raw("", 0, "empty");
        expect_raw("\xc1", 1, "invalid msgpack byte");
        expect_raw("\xdd\xff\xff\xff\xff", 5, "declares 4294967295 elements");
        expect_raw("\xdd\x00\xff\xff\xff", 5, "array");
        expect_raw("\xdf\x7f\xff\xff\xff", 5, "map");
        expect_raw("\x81\xa4"
                   "args"
                   "\xdc\xff\xff",
                   9, "declares 65535");
        expect_raw("\xdb\xff\xff\xff\xff", 5, "truncated");
        expect_raw("\xc6\x00\x00\x00\x10"
                   "abc",
                   8, "truncated");
        expect_raw("\xc9\x7f\xff\xff\xff\x01", 6, "truncated");
        expect_raw("\xd9", 1, "truncated");
        expect_raw("\xcf\x00\x00", 3, "truncated");
        expect_raw("\x80\x00", 2, "trailing");
        expect_raw("\x80\x80", 2, "trailing");
        expect_raw("\x82\xa1v\x01", 4, "map at byte 0 declares 2 pairs, 3 bytes left");
        expect_raw("\x82\xa1v\x01\xa2id\xa1", 8, "truncated");

        /* A declared length past PROTO_MESSAGE_MAX is refused before a byte is read. */
        big = calloc(1, PROTO_MESSAGE_MAX + 1);
        assert_non_null(big);
        expect_raw(big, PROTO_MESSAGE_MAX + 1, "exceeds");
}

static void test_truncation_everywhere(void **state)
{
        _cleanup_(proto_request_done) ProtoRequest a = {};
        _cleanup_free_ void *buf = NULL;
        size_t len;

        assert_int_equal(sample_request(PROTO_OP_SPAWN, 1, &a), 0);
        assert_int_equal(proto_request_encode(&a, &buf, &len), 0);
        for (size_t n = 0; n < len; n++)
                expect_raw(buf, n, NULL);
}

static void test_depth(void **state)
{
        char text[512];
        size_t p;
        int r;
        ProtoError err;

        /* The top map is level 1 and args level 2, params level 3: 13 more levels are allowed in params. */
        for (int extra = 12; extra <= 14; extra++) {
                p = (size_t)snprintf(text, sizeof(text),
                                     "{" H "op: 'action', args: {agent: 'a', name: 'n', params: {x: ");
                for (int i = 0; i < extra; i++)
                        text[p++] = '[';
                for (int i = 0; i < extra; i++)
                        text[p++] = ']';
                p += (size_t)snprintf(text + p, sizeof(text) - p, "}}}");
                decode_text_request(text, &r, &err);
                if (extra <= 13)
                        assert_int_equal(r, 0);
                else {
                        assert_int_equal(r, -EBADMSG);
                        assert_non_null(strstr(err.msg, "nesting"));
                }
        }

        /* 40 levels: past msgpack-c's own 32 that would answer NOMEM; the pre-scan stops it first. */
        uint8_t deep[40];
        memset(deep, 0x91, sizeof(deep));
        deep[39] = 0xc0;
        expect_raw(deep, sizeof(deep), "nesting deeper than 16");
}

static void test_object_count(void **state)
{
        /* An array of 1,100,000 nils: each fits in the bytes, but there are too many objects. */
        size_t n = 1100000, len = 5 + n;
        _cleanup_free_ uint8_t *buf = malloc(len);

        assert_non_null(buf);
        buf[0] = 0xdd;
        buf[1] = (uint8_t)(n >> 24);
        buf[2] = (uint8_t)(n >> 16);
        buf[3] = (uint8_t)(n >> 8);
        buf[4] = (uint8_t)n;
        memset(buf + 5, 0xc0, n);
        expect_raw(buf, len, "objects");
}

static void test_big_fields(void **state)
{
        _cleanup_free_ char *text = NULL;
        _cleanup_free_ void *buf = NULL;
        _cleanup_(proto_request_done) ProtoRequest req = {};
        size_t len, p = 0;
        ProtoError err;

        text = malloc(4 * 1024 * 1024);
        assert_non_null(text);

        /* 4097 argv entries */
        p = (size_t)sprintf(text, "{" H "op: 'spawn', args: {argv: [");
        for (int i = 0; i < 4097; i++)
                p += (size_t)sprintf(text + p, "'a', ");
        strcpy(text + p, "]}}");
        assert_int_equal(mp_text(text, &buf, &len), 0);
        assert_int_equal(proto_request_decode(buf, len, &req, &err), -EBADMSG);
        assert_non_null(strstr(err.msg, "args.argv: 4097 entries exceed 4096"));
        buf = mfree_ptr(buf);

        /* 65 labels */
        p = (size_t)sprintf(text, "{" H "op: 'list', args: {labels: {");
        for (int i = 0; i < 65; i++)
                p += (size_t)sprintf(text + p, "k%d: 'v', ", i);
        strcpy(text + p, "}}}");
        assert_int_equal(mp_text(text, &buf, &len), 0);
        assert_int_equal(proto_request_decode(buf, len, &req, &err), -EBADMSG);
        assert_non_null(strstr(err.msg, "args.labels: 65 pairs exceed 64"));
        buf = mfree_ptr(buf);

        /* argv of 2 strings of 600 KiB: each below the entry bound, together above the total */
        p = (size_t)sprintf(text, "{" H "op: 'spawn', args: {argv: ['");
        memset(text + p, 'x', 600 * 1024);
        p += 600 * 1024;
        p += (size_t)sprintf(text + p, "', '");
        memset(text + p, 'y', 600 * 1024);
        p += 600 * 1024;
        strcpy(text + p, "']}}");
        assert_int_equal(mp_text(text, &buf, &len), 0);
        assert_int_equal(proto_request_decode(buf, len, &req, &err), -EBADMSG);
        assert_non_null(strstr(err.msg, "args.argv: more than 1048576 bytes in all"));
        buf = mfree_ptr(buf);

        /* stdin data of 1 MiB + 1 */
        p = (size_t)sprintf(text, "{" H "op: 'stdin', args: {agent: 'a', data: b'");
        memset(text + p, 'z', 1024 * 1024 + 1);
        p += 1024 * 1024 + 1;
        strcpy(text + p, "'}}");
        assert_int_equal(mp_text(text, &buf, &len), 0);
        assert_int_equal(proto_request_decode(buf, len, &req, &err), -EBADMSG);
        assert_non_null(strstr(err.msg, "args.data: 1048577 bytes exceed 1048576"));
        buf = mfree_ptr(buf);

        /* action params of 1 MiB + some */
        p = (size_t)sprintf(text, "{" H "op: 'action', args: {agent: 'a', name: 'n', params: {k: '");
        memset(text + p, 'q', 1024 * 1024);
        p += 1024 * 1024;
        strcpy(text + p, "'}}}");
        assert_int_equal(mp_text(text, &buf, &len), 0);
        assert_int_equal(proto_request_decode(buf, len, &req, &err), -EBADMSG);
        assert_non_null(strstr(err.msg, "args.params: value larger than"));
        buf = mfree_ptr(buf);

        /* label value of 1025 bytes */
        p = (size_t)sprintf(text, "{" H "op: 'list', args: {labels: {k: '");
        memset(text + p, 'v', 1025);
        p += 1025;
        strcpy(text + p, "'}}}");
        assert_int_equal(mp_text(text, &buf, &len), 0);
        assert_int_equal(proto_request_decode(buf, len, &req, &err), -EBADMSG);
        assert_non_null(strstr(err.msg, "args.labels"));
}

static void test_ext_values(void **state)
{
        ProtoError err;
        int r;
        /* fixext 1 inside free-form params is carried; where a string is due it is a type error */
        static const uint8_t ok_msg[] = {0x84, 0xa1, 'v',  0x01, 0xa2, 'i',  'd',  0xa1, 'r',  0xa2, 'o',
                                         'p',  0xa6, 'a',  'c',  't',  'i',  'o',  'n',  0xa4, 'a',  'r',
                                         'g',  's',  0x83, 0xa5, 'a',  'g',  'e',  'n',  't',  0xa1, 'a',
                                         0xa4, 'n',  'a',  'm',  'e',  0xa1, 'n',  0xa6, 'p',  'a',  'r',
                                         'a',  'm',  's',  0x81, 0xa1, 't',  0xd4, 0x05, 0x07};
        _cleanup_(proto_request_done) ProtoRequest req = {};

        assert_int_equal(proto_request_decode(ok_msg, sizeof(ok_msg), &req, &err), 0);
        assert_int_equal(req.args.action.params.size, 6);
        proto_request_done(&req);

        decode_text_request("{v: 1, id: 'r', op: 'get', args: {agent: 'a'}}", &r, &err);
        assert_int_equal(r, 0);
}

typedef struct ReplyCase {
        ProtoOp op;
        const char *text;
        int code;
        const char *msg_part;
} ReplyCase;

#define RH "v: 1, id: 'r1', ok: true, "

static const ReplyCase reply_cases[] = {
        {PROTO_OP_GET, "{v: 1, id: 'r1', ok: false, err: {code: 'not_found', msg: 'no'}}", OK},
        {PROTO_OP_GET, "{v: 1, id: 'r1', ok: false, err: {code: 'brand_new_code', msg: 'x'}}", OK},
        {PROTO_OP_GET, "{v: 1, id: 'r1', ok: false}", BAD, "missing required key err"},
        {PROTO_OP_GET, "{v: 1, id: 'r1', ok: false, err: {code: 'busy'}}", BAD,
         "missing required key err.msg"},
        {PROTO_OP_GET, "{v: 1, id: 'r1', ok: 1, data: {}}", BAD, "ok: expected boolean"},
        {PROTO_OP_GET, "{v: 2, id: 'r1', ok: true, data: {}}", PROTO_ERROR_UNSUPPORTED_VERSION, NULL},
        {PROTO_OP_GET, "{v: 1, ok: true, data: {}}", BAD, "missing required key id"},
        {PROTO_OP_GET, "{" RH "}", BAD, "missing required key data"},
        {PROTO_OP_GET, "{" RH "data: {}}", BAD, "missing required key data.agent"},
        {PROTO_OP_GET, "{" RH "data: {agent: {id: 'x'}}}", BAD, "missing required key data.agent.state"},
        {PROTO_OP_GET,
         "{" RH "data: {agent: {id: 'x', state: 'running', owner_uid: 0, labels: {}, argv: ['a'], "
         "created_ns: 1, limits: {}}}}",
         OK},
        {PROTO_OP_GET,
         "{" RH "data: {agent: {id: 'x', state: 'dancing', owner_uid: 0, labels: {}, argv: ['a'], "
         "created_ns: 1, limits: {}}}}",
         BAD, "data.agent.state: unknown value"},
        {PROTO_OP_GET,
         "{" RH "data: {agent: {id: 'x', state: 'running', owner_uid: -1, labels: {}, argv: ['a'], "
         "created_ns: 1, limits: {}}}}",
         BAD, "data.agent.owner_uid"},
        {PROTO_OP_GET,
         "{" RH "data: {agent: {id: 'x', state: 'exited', reason: 'bored', owner_uid: 0, labels: {}, "
         "argv: ['a'], created_ns: 1, limits: {}}}}",
         BAD, "data.agent.reason"},
        {PROTO_OP_GET,
         "{" RH "data: {agent: {id: 'x', state: 'running', owner_uid: 0, labels: {}, argv: [], "
         "created_ns: 1, limits: {}}}}",
         BAD, "data.agent.argv: empty"},
        {PROTO_OP_HEALTH, "{" RH "data: {agent: {}}}", BAD, "missing required key data.version"},
        {PROTO_OP_OUTPUT, "{" RH "data: {lines: [], data: b'', total: 0, has_more: false, dropped: 0}}", BAD,
         "exactly one of lines and data"},
        {PROTO_OP_OUTPUT, "{" RH "data: {data: b'\\0', total: 1, has_more: false, dropped: 0}}", OK},
        {PROTO_OP_OUTPUT, "{" RH "data: {data: b'', total: 0, has_more: true, partial: true, dropped: 0}}",
         OK},
        {PROTO_OP_OUTPUT, "{" RH "data: {data: b'', total: 0, has_more: true, partial: 1, dropped: 0}}", BAD,
         "data.partial"},
        {PROTO_OP_OUTPUT,
         "{" RH "data: {lines: [{seq: 1, ts_ns: 2, stream: 'both', text: 'x'}], total: 1, has_more: false, "
         "dropped: 0}}",
         BAD, "stdout or stderr"},
        {PROTO_OP_OUTPUT,
         "{" RH "data: {lines: [{seq: 1, ts_ns: 2, stream: 'stdout', text: 'x\\0y'}], total: 1, "
         "has_more: false, dropped: 0}}",
         OK},
        {PROTO_OP_STATS, "{" RH "data: {a: 1, b: -2}}", OK},
        {PROTO_OP_STATS, "{" RH "data: {a: 1, a: 2}}", BAD, "duplicate key"},
        {PROTO_OP_STATS, "{" RH "data: {a: 'x'}}", BAD, "expected integer"},
        {PROTO_OP_STATS, "{" RH "data: {a: 18446744073709551615}}", BAD, "out of range"},
        {PROTO_OP_STDIN, "{" RH "data: {written: -5}}", BAD, "data.written"},
        {PROTO_OP_ACTION, "{" RH "data: {result: nil}}", OK},
        {PROTO_OP_ACTION, "{" RH "data: {}}", BAD, "missing required key data.result"},
        {PROTO_OP_BATCH, "{" RH "data: {results: [{agent: 'a', ok: false}], ok_count: 0, failed_count: 1}}",
         BAD, "data.results[].err"},
        {PROTO_OP_EVENTS,
         "{" RH "data: {events: [{seq: 1, ts_ns: 1, kind: 'exploded'}], next_seq: 2, "
         "oldest_seq: 1}}",
         BAD, "data.events[].kind"},
        {PROTO_OP_EVENTS, "{" RH "data: {events: [], next_seq: 2}}", BAD, "data.oldest_seq"},
};

static void test_reply_cases(void **state)
{
        for (size_t i = 0; i < ELEMENTSOF(reply_cases); i++) {
                const ReplyCase *c = &reply_cases[i];
                _cleanup_free_ void *buf = NULL;
                _cleanup_(proto_reply_done) ProtoReply rep = {};
                ProtoError err;
                size_t len;
                int r;

                assert_int_equal(mp_text(c->text, &buf, &len), 0);
                r = proto_reply_decode(buf, len, c->op, &rep, &err);
                if (c->code == OK) {
                        if (r < 0)
                                fail_msg("reply case %zu: %s", i, err.msg);
                        continue;
                }
                if (r >= 0)
                        fail_msg("reply case %zu %s: decoded", i, c->text);
                if ((int)err.code != c->code || (c->msg_part && !strstr(err.msg, c->msg_part)))
                        fail_msg("reply case %zu: got %s \"%s\"", i, proto_error_code_to_string(err.code),
                                 err.msg);
        }

        /* a newer daemon's error code reads as internal, keeping the message */
        _cleanup_free_ void *buf = NULL;
        _cleanup_(proto_reply_done) ProtoReply rep = {};
        size_t len;
        assert_int_equal(
                mp_text("{v: 1, id: 'r1', ok: false, err: {code: 'brand_new_code', msg: 'x'}}", &buf, &len),
                0);
        assert_int_equal(proto_reply_decode(buf, len, PROTO_OP_GET, &rep, NULL), 0);
        assert_int_equal(rep.error_code, PROTO_ERROR_INTERNAL);
        assert_string_equal(rep.error_msg, "x");
}

static void test_event_cases(void **state)
{
        static const struct {
                const char *text;
                bool ok;
                const char *msg_part;
        } cases[] = {
                {"{seq: 1, ts_ns: 2, kind: 'heartbeat'}", true},
                {"{seq: 1, ts_ns: 2, kind: 'output', agent: 'a', data: {bytes: 5}, extra: 1}", true},
                {"{seq: 1, ts_ns: 2, kind: 'boom'}", false, "kind: unknown value"},
                {"{seq: -1, ts_ns: 2, kind: 'heartbeat'}", false, "seq"},
                {"{ts_ns: 2, kind: 'heartbeat'}", false, "missing required key seq"},
                {"{seq: 1, ts_ns: 2, kind: 'error', data: 'disk full'}", false, "data: expected map"},
                {"{seq: 1, ts_ns: 2, kind: 'exited', state: 'gone'}", false, "state"},
                {"{seq: 1, ts_ns: 2, kind: 'exited', agent: ''}", false, "agent"},
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ void *buf = NULL;
                _cleanup_(proto_event_done) ProtoEvent ev = {};
                ProtoError err;
                size_t len;
                int r;

                assert_int_equal(mp_text(cases[i].text, &buf, &len), 0);
                r = proto_event_decode(buf, len, &ev, &err);
                if (cases[i].ok) {
                        if (r < 0)
                                fail_msg("event case %zu: %s", i, err.msg);
                } else {
                        assert_int_equal(r, -EBADMSG);
                        if (!strstr(err.msg, cases[i].msg_part))
                                fail_msg("event case %zu: \"%s\"", i, err.msg);
                }
        }
}

static void test_encoder_refuses(void **state)
{
        _cleanup_(proto_request_done) ProtoRequest r = {};
        void *buf = NULL;
        size_t len = 0;

        /* spawn without argv; unknown op; reply with an unknown error code */
        r.id = strdup("x");
        r.op = PROTO_OP_SPAWN;
        assert_int_equal(proto_request_encode(&r, &buf, &len), -EINVAL);
        r.op = _PROTO_OP_MAX;
        assert_int_equal(proto_request_encode(&r, &buf, &len), -EINVAL);
        r.op = PROTO_OP_GET;
        assert_int_equal(proto_request_encode(&r, &buf, &len), -EINVAL); /* agent NULL */
        assert_null(buf);

        ProtoReply rep = {.id = (char *)"x",
                          .op = PROTO_OP_GET,
                          .ok = false,
                          .error_code = 99,
                          .error_msg = (char *)"m"};
        assert_int_equal(proto_reply_encode(&rep, &buf, &len), -EINVAL);
        assert_null(buf);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_request_cases),   cmocka_unit_test(test_error_carries_id),
                cmocka_unit_test(test_structure),       cmocka_unit_test(test_truncation_everywhere),
                cmocka_unit_test(test_depth),           cmocka_unit_test(test_object_count),
                cmocka_unit_test(test_big_fields),      cmocka_unit_test(test_ext_values),
                cmocka_unit_test(test_reply_cases),     cmocka_unit_test(test_event_cases),
                cmocka_unit_test(test_encoder_refuses),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
