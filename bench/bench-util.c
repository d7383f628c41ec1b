/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "bench-util.h"
#include "cleanup.h"

double bench_now_us(void)
{
        struct timespec ts;

        (void)clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

int bench_parse_long(const char *s, long min, long max, long *ret)
{
        char *end;
        long v;

        if (!s || !*s)
                return -EINVAL;
        errno = 0;
        v = strtol(s, &end, 10);
        if (*end)
                return -EINVAL;
        if (errno == ERANGE || v < min || v > max)
                return -ERANGE;
        *ret = v;
        return 0;
}

static int cmp_double(const void *a, const void *b)
{
        double x = *(const double *)a, y = *(const double *)b;

        return (x > y) - (x < y);
}

double bench_quantile(const double *sorted, size_t n, double q)
{
        size_t rank = (size_t)ceil(q * (double)n);

        return sorted[rank == 0 ? 0 : (rank < n ? rank : n) - 1];
}

void bench_print_stats(const char *name, double *v, size_t n)
{
        if (n == 0)
                return;
        qsort(v, n, sizeof(double), cmp_double);
        printf(" %s_med=%.1f %s_p99=%.1f %s_min=%.1f %s_max=%.1f %s_n=%zu", name, bench_quantile(v, n, 0.5),
               name, bench_quantile(v, n, 0.99), name, v[0], name, v[n - 1], name, n);
}

void bench_sleep_ms(long ms)
{
        struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};

        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

/* Processes in the cgroup tree at path (every cgroup.procs below it, itself included). */
long bench_cgroup_count_procs(const char *path)
{
        _cleanup_closedir_ DIR *d = opendir(path);
        _cleanup_fclose_ FILE *f = NULL;
        char p[4096];
        long n = 0;
        int c;

        if (!d)
                return -errno;
        (void)snprintf(p, sizeof p, "%s/cgroup.procs", path);
        f = fopen(p, "re");
        if (!f)
                return -errno;
        while ((c = fgetc(f)) != EOF)
                n += c == '\n';
        for (struct dirent *de; (de = readdir(d));) {
                long k;

                if (de->d_type != DT_DIR || de->d_name[0] == '.')
                        continue;
                (void)snprintf(p, sizeof p, "%s/%s", path, de->d_name);
                k = bench_cgroup_count_procs(p);
                if (k < 0)
                        return k;
                n += k;
        }
        return n;
}
