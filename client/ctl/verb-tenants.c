/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <inttypes.h>
#include <stdio.h>

#include "cleanup.h"
#include "ctl-output.h"
#include "ctl.h"
#include "parse-util.h"

/* A quota field as text, "max" for none. */
static void quota_text(const DescartesTenants *t, size_t i, DescartesQuota q,
                       int (*format)(uint64_t, char *, size_t), char *buf, size_t n)
{
        uint64_t v;

        (void)snprintf(buf, n, "max");
        if (descartes_tenants_get_quota(t, i, q, &v) && format(v, buf, n) < 0)
                (void)snprintf(buf, n, "%" PRIu64, v);
}

/* "USED/QUOTA", USED "-" when unknown */
static void cell(char *buf, size_t n, const char *used, const DescartesTenants *t, size_t i,
                 DescartesQuota q, int (*format)(uint64_t, char *, size_t))
{
        char quota[FORMAT_SIZE_MAX];

        quota_text(t, i, q, format, quota, sizeof quota);
        (void)snprintf(buf, n, "%s/%s", used, quota);
}

static int format_count(uint64_t v, char *buf, size_t n)
{
        return snprintf(buf, n, "%" PRIu64, v) < (int)n ? 0 : -ENOBUFS;
}

static int run(Ctl *c)
{
        _cleanup_(descartes_tenants_unrefp) DescartesTenants *t = NULL;
        DescartesError e;

        if (descartes_tenants(c->client, &t, &e) < 0)
                return ctl_report(&e, "cannot list the tenants");
        if (ctl_json_mode(c))
                return CTL_PRINT_JSON(descartes_tenants_to_json, t);
        printf("%-16s %10s %-12s %12s %-10s %-20s %-10s %-14s\n", "TENANT", "UID", "AGENTS", "CPU-TIME",
               "CPU", "MEMORY", "SWAP", "PIDS");
        for (size_t i = 0; i < descartes_tenants_get_size(t); i++) {
                char agents[64], count[24], cpu[FORMAT_CPU_MAX], mem[80],
                        memcur[FORMAT_SIZE_MAX] = "-", pids[64], pidcur[24] = "-", swap[FORMAT_SIZE_MAX],
                        time[32] = "-", name[24];
                const char *user = descartes_tenants_get_user(t, i);
                uint64_t cpu_usec, mem_current, pids_current;

                if (descartes_tenants_get_usage(t, i, &cpu_usec, &mem_current, NULL, &pids_current)) {
                        (void)snprintf(time, sizeof time, "%.3fs", (double)cpu_usec / 1e6);
                        if (format_size(mem_current, memcur, sizeof memcur) < 0)
                                (void)snprintf(memcur, sizeof memcur, "%" PRIu64, mem_current);
                        (void)snprintf(pidcur, sizeof pidcur, "%" PRIu64, pids_current);
                }
                (void)snprintf(count, sizeof count, "%" PRIu64, descartes_tenants_get_agents(t, i));
                cell(agents, sizeof agents, count, t, i, DESCARTES_QUOTA_AGENTS, format_count);
                quota_text(t, i, DESCARTES_QUOTA_CPU_MILLICORES, format_cpu, cpu, sizeof cpu);
                cell(mem, sizeof mem, memcur, t, i, DESCARTES_QUOTA_MEMORY, format_size);
                cell(pids, sizeof pids, pidcur, t, i, DESCARTES_QUOTA_PIDS, format_count);
                quota_text(t, i, DESCARTES_QUOTA_SWAP, format_size, swap, sizeof swap);
                (void)snprintf(name, sizeof name, "%" PRIu32, descartes_tenants_get_uid(t, i));
                /* the CPU quota is a rate, its use a total: the column shows the quota alone */
                printf("%-16s %10s %-12s %12s %-10s %-20s %-10s %-14s\n", user ?: name, name, agents, time,
                       cpu, mem, swap, pids);
        }
        return 0;
}

const CtlVerb ctl_verbs_tenants[] = {
        {
                .name = "tenants",
                .rank = 135,
                .summary = "  tenants                     each tenant's agents and use against its quota\n",
                .help = "Usage: descartesctl tenants\n"
                        "\n"
                        "Print each tenant (an owner uid): its agents alive, the CPU time, memory and\n"
                        "processes its agents use together (its cgroup agents/uUID/), each against the\n"
                        "tenant's quota (\"max\": none; the CPU column is the quota, in CPUs). Admins see\n"
                        "every tenant with agents, a tenant itself only. -o json prints the protocol's\n"
                        "{\"tenants\": [...]}.\n",
                .arguments = ctl_arguments_none,
                .run = run,
        },
        {},
};
