/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer: proto_event_decode() on arbitrary bytes; whatever decodes must re-encode to a fixed point and
 * format a topic; decoded twice, it renders the same JSON. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto-json.h"
#include "proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        ProtoEvent a = {}, b = {};
        ProtoError err;
        void *buf = NULL, *buf2 = NULL;
        char *topic = NULL, *ja = NULL, *jb = NULL;
        size_t len = 0, len2 = 0;

        if (proto_event_decode(data, size, &a, &err) < 0)
                return 0;
        if (proto_event_encode(&a, &buf, &len) < 0)
                abort();
        if (proto_event_decode(buf, len, &b, &err) < 0)
                abort();
        if (proto_event_encode(&b, &buf2, &len2) < 0 || len != len2 || memcmp(buf, buf2, len) != 0)
                abort();
        /* ids with a '.' are refused; every other decoded event has a topic */
        if (proto_event_topic(a.agent, a.kind, &topic) < 0 && !(a.agent && strchr(a.agent, '.')))
                abort();
        if (proto_event_to_json(&a, &ja) < 0 || proto_event_to_json(&b, &jb) < 0 || strcmp(ja, jb) != 0)
                abort();
        free(ja);
        free(jb);
        free(topic);
        free(buf);
        free(buf2);
        proto_event_done(&a);
        proto_event_done(&b);
        return 0;
}
