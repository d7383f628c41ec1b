/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer: config_parse() on arbitrary text (descartesd.conf is root's, but a parser that crashes on a
 * typo takes the daemon's reload down with it); on success every string is a real one. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char *text = malloc(size + 1);
        Failure fail = {};
        Config c;
        int r;

        if (!text)
                return 0;
        memcpy(text, data, size);
        text[size] = 0;
        config_init_defaults(&c);
        r = config_parse(&c, text, &fail);
        if (r >= 0 && failure_is_set(&fail))
                abort(); /* an error message only with an error */
        if (r >= 0 && (!c.agent_user || !c.admin_group))
                abort();
        config_done(&c);
        free(text);
        return 0;
}
