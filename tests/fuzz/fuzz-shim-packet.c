/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer: the daemon-shim contract's decoders on arbitrary bytes. Either end may be the hostile one (an
 * agent that took over its shim's uid cannot, but a bug can), so every packet decoder both sides use, the
 * handshake's reading of a HELLO, and the shim's options decoder must take anything. What decodes must
 * survive a round trip. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "shim-contract.h"
#include "shim-version.h"
#include "string-util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_packet(const uint8_t *data, size_t size)
{
        ShimMsg m;
        uint32_t min, max, v;
        int r;

        r = shim_msg_decode(data, size, &m);
        if (r < 0)
                return;
        if (m.size != size || m.h.type != m.type || m.h.size != size)
                abort();
        if (m.type == SHIM_MSG_STDIN &&
            (m.data != data + sizeof(ShimMsgStdin) || m.data_size != size - sizeof(ShimMsgStdin)))
                abort();
        if (m.type == SHIM_MSG_HELLO) {
                shim_version_range(&m.hello, m.size, &min, &max);
                if (min > max)
                        abort();
                if (shim_version_negotiate(min, max, &v) >= 0 &&
                    (v < min || v > max || v < SHIM_PROTOCOL_VERSION_MIN || v > SHIM_PROTOCOL_VERSION))
                        abort();
        }
}

static void check_options(const uint8_t *data, size_t size)
{
        ShimOptions o = SHIM_OPTIONS_INIT, again = SHIM_OPTIONS_INIT;
        uint8_t *buf = NULL;
        size_t n;

        if (shim_options_decode(data, size, &o) < 0)
                return;
        /* what the shim accepts, the daemon could have sent */
        if (shim_options_encode(&o, &buf, &n) < 0 || shim_options_decode(buf, n, &again) < 0)
                abort();
        if (strcmp(o.id, again.id) != 0 || o.sandbox != again.sandbox || o.uid != again.uid ||
            o.tmp_size != again.tmp_size || strv_length(o.argv) != strv_length(again.argv))
                abort();
        free(buf);
        shim_options_done(&again);
        shim_options_done(&o);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        check_packet(data, size);
        check_options(data, size);
        return 0;
}
