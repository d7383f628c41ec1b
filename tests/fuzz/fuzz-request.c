/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer: proto_request_decode() on arbitrary bytes; whatever decodes must re-encode to a fixed point. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        ProtoRequest a = {}, b = {};
        ProtoError err;
        void *buf = NULL, *buf2 = NULL, *ebuf = NULL;
        size_t len = 0, len2 = 0, elen = 0;

        if (proto_request_decode(data, size, &a, &err) < 0) {
                /* what the daemon answers to a refused request */
                if (proto_error_reply_encode(&err, &ebuf, &elen) < 0)
                        abort();
                free(ebuf);
                return 0;
        }
        if (proto_request_encode(&a, &buf, &len) < 0)
                abort();
        if (proto_request_decode(buf, len, &b, &err) < 0)
                abort();
        if (proto_request_encode(&b, &buf2, &len2) < 0 || len != len2 || memcmp(buf, buf2, len) != 0)
                abort();
        free(buf);
        free(buf2);
        proto_request_done(&a);
        proto_request_done(&b);
        return 0;
}
