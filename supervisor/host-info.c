/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fd-util.h"
#include "host-info.h"
#include "string-util.h"

static int meminfo_kb(const char *text, const char *key, uint64_t *ret)
{
        size_t k = strlen(key);

        for (const char *p = text; p && *p;) {
                if (strncmp(p, key, k) == 0 && p[k] == ':') {
                        char *end;
                        unsigned long long v = strtoull(p + k + 1, &end, 10);
                        if (end == p + k + 1)
                                return -EBADMSG;
                        *ret = (uint64_t)v * 1024;
                        return 0;
                }
                p = strchr(p, '\n');
                if (p)
                        p++;
        }
        return -ENOENT;
}

int host_info_parse_meminfo(const char *text, uint64_t *ret_total, uint64_t *ret_available)
{
        uint64_t total, avail;
        int r;

        r = meminfo_kb(text, "MemTotal", &total);
        if (r < 0)
                return r;
        r = meminfo_kb(text, "MemAvailable", &avail);
        if (r < 0)
                return r;
        *ret_total = total;
        *ret_available = avail;
        return 0;
}

int host_info_parse_loadavg(const char *text, double *ret1, double *ret5, double *ret15)
{
        double a, b, c;

        if (sscanf(text, "%lf %lf %lf", &a, &b, &c) != 3)
                return -EBADMSG;
        *ret1 = a;
        *ret5 = b;
        *ret15 = c;
        return 0;
}

int host_info_read(ProtoHostInfo *ret)
{
        _cleanup_free_ char *mem = NULL, *load = NULL;
        ProtoHostInfo h = {};
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        int r;

        h.cpus = n > 0 ? (uint32_t)n : 1;
        r = read_file_at(AT_FDCWD, "/proc/meminfo", 1024 * 1024, &mem, NULL);
        if (r >= 0)
                (void)host_info_parse_meminfo(mem, &h.mem_total, &h.mem_available);
        r = read_file_at(AT_FDCWD, "/proc/loadavg", 4096, &load, NULL);
        if (r >= 0)
                (void)host_info_parse_loadavg(load, &h.load1, &h.load5, &h.load15);
        *ret = h;
        return 0;
}
