/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer: JSON text from an agent's action channel (and descartesctl --json) to a value: the whole text,
 * and the `result` member as the daemon reads an answer. What converts must be a valid value that renders
 * back to JSON. */
#include <stdint.h>
#include <stdlib.h>

#include "proto-json.h"
#include "proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const uint8_t *data, size_t size, const char *member)
{
        ProtoValue v = {}, copy = {};
        char *json = NULL;

        if (proto_value_from_json((const char *)data, size, member, &v) < 0) {
                if (v.data)
                        abort();
                return;
        }
        if (proto_value_from_msgpack(v.data, v.size, &copy) < 0 || proto_value_to_json(&v, &json) < 0)
                abort();
        free(json);
        proto_value_done(&copy);
        proto_value_done(&v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        check(data, size, NULL);
        check(data, size, "result");
        return 0;
}
