/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "fd-util.h"
#include "proc-util.h"

#define PROC_MEMINFO_MAX (1024U * 1024U)
#define PROC_SMALL_MAX   (64U * 1024U)

/* The start of the line whose text begins with key (then ':'), or NULL. */
static const char *find_line(const char *text, const char *key)
{
        size_t k = strlen(key);

        for (const char *p = text; p && *p;) {
                if (strncmp(p, key, k) == 0 && p[k] == ':')
                        return p + k + 1;
                p = strchr(p, '\n');
                if (p)
                        p++;
        }
        return NULL;
}

static int meminfo_bytes(const char *text, const char *key, uint64_t *ret)
{
        const char *v = find_line(text, key);
        unsigned long long kb;
        char *end;

        if (!v)
                return -ENOENT;
        kb = strtoull(v, &end, 10);
        if (end == v)
                return -EBADMSG;
        *ret = (uint64_t)kb * 1024;
        return 0;
}

int proc_parse_meminfo(const char *text, uint64_t *ret_total, uint64_t *ret_available)
{
        uint64_t total, avail;
        int r;

        if (!text)
                return -EINVAL;
        r = meminfo_bytes(text, "MemTotal", &total);
        if (r < 0)
                return r;
        r = meminfo_bytes(text, "MemAvailable", &avail);
        if (r < 0)
                return r;
        *ret_total = total;
        *ret_available = avail;
        return 0;
}

int proc_read_meminfo(uint64_t *ret_total, uint64_t *ret_available)
{
        _cleanup_free_ char *text = NULL;
        int r;

        r = read_file_at(AT_FDCWD, "/proc/meminfo", PROC_MEMINFO_MAX, &text, NULL);
        if (r < 0)
                return r;
        return proc_parse_meminfo(text, ret_total, ret_available);
}

int proc_parse_loadavg(const char *text, double *ret1, double *ret5, double *ret15)
{
        double a, b, c;

        if (!text)
                return -EINVAL;
        if (sscanf(text, "%lf %lf %lf", &a, &b, &c) != 3)
                return -EBADMSG;
        *ret1 = a;
        *ret5 = b;
        *ret15 = c;
        return 0;
}

int proc_read_loadavg(double *ret1, double *ret5, double *ret15)
{
        _cleanup_free_ char *text = NULL;
        int r;

        r = read_file_at(AT_FDCWD, "/proc/loadavg", 4096, &text, NULL);
        if (r < 0)
                return r;
        return proc_parse_loadavg(text, ret1, ret5, ret15);
}

int proc_stat_parse_start_ticks(const char *text, uint64_t *ret)
{
        const char *p;
        unsigned long long v;
        char *end;

        if (!text)
                return -EINVAL;
        /* comm is whatever the process named itself: the last ')' ends it */
        p = strrchr(text, ')');
        if (!p)
                return -EBADMSG;
        p++;
        /* after comm: field 3 (state) is the first; starttime is field 22 */
        for (int field = 3; field < 22; field++) {
                while (*p == ' ')
                        p++;
                if (!*p)
                        return -EBADMSG;
                while (*p && *p != ' ')
                        p++;
        }
        while (*p == ' ')
                p++;
        if (!isdigit((unsigned char)*p))
                return -EBADMSG;
        errno = 0;
        v = strtoull(p, &end, 10);
        if (errno != 0 || (*end && *end != ' ' && *end != '\n'))
                return -EBADMSG;
        *ret = v;
        return 0;
}

static int read_pid_file(pid_t pid, const char *name, size_t max, char **ret)
{
        char path[64];
        int r;

        if (pid <= 0)
                return -EINVAL;
        (void)snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, name);
        r = read_file_at(AT_FDCWD, path, max, ret, NULL);
        return r == -ENOENT ? -ESRCH : r;
}

int proc_pid_start_ticks(pid_t pid, uint64_t *ret)
{
        _cleanup_free_ char *text = NULL;
        int r;

        r = read_pid_file(pid, "stat", 4096, &text);
        if (r < 0)
                return r;
        return proc_stat_parse_start_ticks(text, ret);
}

int proc_status_parse_nspid(const char *text, pid_t *ret)
{
        const char *p;
        long last = -1;

        if (!text)
                return -EINVAL;
        p = find_line(text, "NSpid");
        if (!p)
                return -ENOENT;
        /* one pid per nested namespace, outermost first */
        while (*p && *p != '\n') {
                char *end;
                long v;

                if (*p == ' ' || *p == '\t') {
                        p++;
                        continue;
                }
                errno = 0;
                v = strtol(p, &end, 10);
                if (end == p || errno != 0 || v <= 0 ||
                    (*end && *end != ' ' && *end != '\t' && *end != '\n'))
                        return -EBADMSG;
                last = v;
                p = end;
        }
        if (last <= 0)
                return -EBADMSG;
        *ret = (pid_t)last;
        return 0;
}

int proc_pid_nspid(pid_t pid, pid_t *ret)
{
        _cleanup_free_ char *text = NULL;
        int r;

        r = read_pid_file(pid, "status", PROC_SMALL_MAX, &text);
        if (r < 0)
                return r;
        return proc_status_parse_nspid(text, ret);
}
