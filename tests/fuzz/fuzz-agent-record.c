/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer: proto_agent_info_decode() on arbitrary bytes (the daemon reads its agent records back with it
 * at restore); whatever decodes must re-encode, decode again to the same record, and re-encode to the same
 * bytes, and render as JSON. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto-json.h"
#include "proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        ProtoAgentInfo a = {}, b = {};
        ProtoError err;
        void *buf = NULL, *buf2 = NULL;
        char *json = NULL, *json2 = NULL;
        size_t len = 0, len2 = 0;

        if (proto_agent_info_decode(data, size, &a, &err) < 0)
                return 0;
        if (proto_agent_info_encode(&a, &buf, &len) < 0)
                abort();
        if (proto_agent_info_decode(buf, len, &b, &err) < 0)
                abort();
        if (proto_agent_info_encode(&b, &buf2, &len2) < 0 || len != len2 || memcmp(buf, buf2, len) != 0)
                abort();
        /* decode -> encode -> decode is the same record: its JSON says so field by field */
        if (proto_agent_info_to_json(&a, &json) < 0 || proto_agent_info_to_json(&b, &json2) < 0 ||
            strcmp(json, json2) != 0)
                abort();
        free(json);
        free(json2);
        free(buf);
        free(buf2);
        proto_agent_info_done(&a);
        proto_agent_info_done(&b);
        return 0;
}
