/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer: proto_reply_decode() on arbitrary bytes, read as the reply of every op in turn; whatever
 * decodes must re-encode to a fixed point, and a result decoded twice renders the same JSON (every field of
 * the op's table survived the round trip). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto-json.h"
#include "proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        for (ProtoOp op = 0; op < _PROTO_OP_MAX; op++) {
                ProtoReply a = {}, b = {};
                ProtoError err;
                void *buf = NULL, *buf2 = NULL;
                size_t len = 0, len2 = 0;

                if (proto_reply_decode(data, size, op, &a, &err) < 0)
                        continue;
                if (proto_reply_encode(&a, &buf, &len) < 0)
                        abort();
                if (proto_reply_decode(buf, len, op, &b, &err) < 0)
                        abort();
                if (proto_reply_encode(&b, &buf2, &len2) < 0 || len != len2 || memcmp(buf, buf2, len) != 0)
                        abort();
                if (a.ok) {
                        char *ja = NULL, *jb = NULL;

                        if (proto_reply_result_to_json(&a, &ja) < 0 ||
                            proto_reply_result_to_json(&b, &jb) < 0 || strcmp(ja, jb) != 0)
                                abort();
                        free(ja);
                        free(jb);
                }
                free(buf);
                free(buf2);
                proto_reply_done(&a);
                proto_reply_done(&b);
        }
        return 0;
}
