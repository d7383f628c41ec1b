/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <unistd.h>

#include "host-info.h"
#include "proc-util.h"

int host_info_read(ProtoHostInfo *ret)
{
        ProtoHostInfo h = {};
        long n = sysconf(_SC_NPROCESSORS_ONLN);

        h.cpus = n > 0 ? (uint32_t)n : 1;
        /* what cannot be read stays 0 */
        (void)proc_read_meminfo(&h.mem_total, &h.mem_available);
        (void)proc_read_loadavg(&h.load1, &h.load5, &h.load15);
        *ret = h;
        return 0;
}
