/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cleanup.h"
#include "ctl-output.h"
#include "json-writer.h"
#include "parse-util.h"
#include "time-util.h"

void ctl_format_relative(uint64_t then_ns, uint64_t now_ns, char *buf, size_t n)
{
        static const struct {
                uint64_t sec;
                const char *unit;
        } units[] = {
                {86400, "day"},
                {3600, "hour"},
                {60, "minute"},
                {1, "second"},
        };
        uint64_t d;

        if (then_ns == 0) {
                (void)snprintf(buf, n, "-");
                return;
        }
        d = now_ns > then_ns ? (now_ns - then_ns) / NSEC_PER_SEC : 0;
        if (d == 0) {
                (void)snprintf(buf, n, "just now");
                return;
        }
        for (size_t i = 0; i < ELEMENTSOF(units); i++)
                if (d >= units[i].sec) {
                        uint64_t v = d / units[i].sec;
                        (void)snprintf(buf, n, "%" PRIu64 " %s%s ago", v, units[i].unit, v == 1 ? "" : "s");
                        return;
                }
}

void ctl_format_reason(const DescartesAgent *a, char *buf, size_t n)
{
        DescartesReason r;
        const char *reason;
        int sig, code;

        if (!descartes_agent_get_reason(a, &r)) {
                (void)snprintf(buf, n, "%s", "");
                return;
        }
        reason = descartes_reason_to_string(r) ?: "unknown";
        if (descartes_agent_get_signal(a, &sig) && sig > 0 && sig < _NSIG && sigabbrev_np(sig))
                (void)snprintf(buf, n, "%s (%s)", reason, sigabbrev_np(sig));
        else if (descartes_agent_get_signal(a, &sig))
                (void)snprintf(buf, n, "%s (signal %d)", reason, sig);
        else if (descartes_agent_get_exit_code(a, &code))
                (void)snprintf(buf, n, "%s (%d)", reason, code);
        else
                (void)snprintf(buf, n, "%s", reason);
}

/* Bytes a terminal could take for a control sequence: C0 controls, DEL, and C1 controls as UTF-8 encodes
 * them (C2 80..9F; a raw 80..9F byte is a UTF-8 continuation byte, left alone). A tenant chooses argv, label
 * keys and values: none of it may drive the operator's terminal. */
static size_t terminal_control_len(const unsigned char *p)
{
        if (p[0] < 0x20 || p[0] == 0x7f)
                return 1;
        if (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f)
                return 2;
        return 0;
}

void ctl_write_safe(FILE *f, const char *s)
{
        for (const unsigned char *p = (const unsigned char *)(s ?: ""); *p;) {
                size_t k = terminal_control_len(p);
                if (k == 0) {
                        if (*p == '\\')
                                fputc('\\', f);
                        fputc(*p++, f);
                        continue;
                }
                for (; k > 0; k--)
                        fprintf(f, "\\x%02x", *p++);
        }
}

void ctl_sanitize(char *s)
{
        for (unsigned char *p = (unsigned char *)s; p && *p;) {
                size_t k = terminal_control_len(p);
                if (k == 0)
                        p++;
                for (; k > 0; k--)
                        *p++ = ' ';
        }
}

void ctl_format_command(char *const *argv, size_t width, char *buf, size_t n)
{
        size_t used = 0;

        if (n == 0)
                return;
        buf[0] = 0;
        for (size_t i = 0; argv && argv[i] && used + 1 < n; i++) {
                int w = snprintf(buf + used, n - used, "%s%s", i ? " " : "", argv[i]);
                if (w < 0)
                        break;
                used = MIN(used + (size_t)w, n - 1);
        }
        ctl_sanitize(buf);
        if (width >= 3 && used > width && width < n) {
                memcpy(buf + width - 3, "...", 3);
                buf[width] = 0;
        }
}

void ctl_format_timestamp(uint64_t ns, char *buf, size_t n)
{
        time_t t = (time_t)(ns / NSEC_PER_SEC);
        struct tm tm;

        if (ns == 0 || !gmtime_r(&t, &tm)) {
                (void)snprintf(buf, n, "-");
                return;
        }
        (void)snprintf(buf, n, "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ", tm.tm_year + 1900, tm.tm_mon + 1,
                       tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                       (unsigned)((ns % NSEC_PER_SEC) / NSEC_PER_MSEC));
}

static const char *state_string(DescartesState s)
{
        return descartes_state_to_string(s) ?: "unknown";
}

/* The CPU and MEM cells of ps --usage. */
static void format_usage(const DescartesAgent *a, char *cpu, size_t n_cpu, char *mem, size_t n_mem)
{
        uint64_t cpu_usec, memory;

        (void)snprintf(cpu, n_cpu, "-");
        (void)snprintf(mem, n_mem, "-");
        if (!descartes_agent_get_usage(a, &cpu_usec, &memory, NULL, NULL))
                return;
        (void)snprintf(cpu, n_cpu, "%.2f", (double)cpu_usec / 1e6);
        /* an ended agent's usage is final: its CPU time and peak, no memory in use */
        if (descartes_state_is_final(descartes_agent_get_state(a)))
                return;
        if (format_size(memory, mem, n_mem) < 0)
                (void)snprintf(mem, n_mem, "%" PRIu64, memory);
}

void ctl_print_ps_table(FILE *f, const DescartesAgentList *l, uint64_t now_ns, bool usage)
{
        size_t n = descartes_agent_list_get_size(l);
        int w_name = 4, w_state = 5, w_reason = 11, w_created = 7;
        char buf[256];

        for (size_t i = 0; i < n; i++) {
                const DescartesAgent *a = descartes_agent_list_get(l, i);
                const char *name = descartes_agent_get_name(a) ?: "-";

                w_name = MAX(w_name, (int)MIN(strlen(name), (size_t)DESCARTES_NAME_MAX));
                w_state = MAX(w_state, (int)strlen(state_string(descartes_agent_get_state(a))));
                ctl_format_reason(a, buf, sizeof buf);
                w_reason = MAX(w_reason, (int)strlen(buf));
                ctl_format_relative(descartes_agent_get_created_ns(a), now_ns, buf, sizeof buf);
                w_created = MAX(w_created, (int)strlen(buf));
        }
        fprintf(f, "%-*s  %-*s  %-*s  %-9s  %-*s  %-*s  %s%s\n", CTL_SHORT_ID_LEN, "ID", w_name, "NAME",
                w_state, "STATE", "HEALTH", w_reason, "REASON/EXIT", w_created, "CREATED",
                usage ? "     CPU s  MEM         " : "", "COMMAND");
        for (size_t i = 0; i < n; i++) {
                const DescartesAgent *a = descartes_agent_list_get(l, i);
                char reason[128], created[64], command[CTL_COMMAND_WIDTH + 8], cells[96] = "";
                char cpu[32], mem[FORMAT_SIZE_MAX];

                ctl_format_reason(a, reason, sizeof reason);
                ctl_sanitize(reason);
                ctl_format_relative(descartes_agent_get_created_ns(a), now_ns, created, sizeof created);
                ctl_format_command(descartes_agent_get_argv(a), CTL_COMMAND_WIDTH, command, sizeof command);
                DescartesAgentHealth health;
                const char *h = descartes_agent_get_health(a, &health)
                                        ? descartes_agent_health_to_string(health)
                                        : NULL;

                if (usage) {
                        format_usage(a, cpu, sizeof cpu, mem, sizeof mem);
                        (void)snprintf(cells, sizeof cells, "%10s  %-10s  ", cpu, mem);
                }
                fprintf(f, "%-*.*s  %-*s  %-*s  %-9s  %-*s  %-*s  %s%s\n", CTL_SHORT_ID_LEN,
                        CTL_SHORT_ID_LEN, descartes_agent_get_id(a) ?: "-", w_name,
                        descartes_agent_get_name(a) ?: "-", w_state,
                        state_string(descartes_agent_get_state(a)), h ?: "-", w_reason, reason, w_created,
                        created, cells, command);
        }
}

static void print_optional_u64(FILE *f, const char *label, bool has, uint64_t v)
{
        if (has)
                fprintf(f, "%-16s%" PRIu64 "\n", label, v);
}

void ctl_print_inspect(FILE *f, const DescartesAgent *a)
{
        char buf[FORMAT_SIZE_MAX + FORMAT_DURATION_MAX + 64], ts[64];
        char *const *argv = descartes_agent_get_argv(a);
        uint64_t v, usage[4];
        const char *s;
        uint32_t u;
        int i;

        fprintf(f, "%-16s%s\n", "id:", descartes_agent_get_id(a) ?: "-");
        fprintf(f, "%-16s%s\n", "name:", descartes_agent_get_name(a) ?: "-");
        fprintf(f, "%-16s%s\n", "state:", state_string(descartes_agent_get_state(a)));
        if (descartes_agent_get_reason(a, NULL)) {
                ctl_format_reason(a, buf, sizeof buf);
                ctl_sanitize(buf);
                fprintf(f, "%-16s%s\n", "reason:", buf);
        }
        if (descartes_agent_get_exit_code(a, &i))
                fprintf(f, "%-16s%d\n", "exit_code:", i);
        {
                DescartesAgentHealth health;

                if (descartes_agent_get_health(a, &health)) {
                        const char *why = descartes_agent_get_health_reason(a);
                        fprintf(f, "%-16s%s%s%s\n", "health:", descartes_agent_health_to_string(health),
                                why ? ": " : "", why ?: "");
                        if (descartes_agent_get_health_exit_code(a, &i))
                                fprintf(f, "%-16s%d (%" PRIu64 " failed in a row)\n", "health_check:", i,
                                        descartes_agent_get_health_failures(a));
                }
        }
        if (descartes_agent_get_signal(a, &i))
                fprintf(f, "%-16s%d (%s)\n", "signal:", i,
                        i > 0 && i < _NSIG && sigabbrev_np(i) ? sigabbrev_np(i) : "?");
        fprintf(f, "%-16s%" PRIu32 "\n", "owner_uid:", descartes_agent_get_owner_uid(a));
        if (descartes_agent_get_uid(a, &u))
                fprintf(f, "%-16s%" PRIu32 "\n", "uid:", u);
        if (descartes_agent_get_gid(a, &u))
                fprintf(f, "%-16s%" PRIu32 "\n", "gid:", u);
        if (descartes_agent_get_pid(a, &i))
                fprintf(f, "%-16s%d\n", "pid:", i);
        fprintf(f, "%-16s", "argv:");
        for (size_t k = 0; argv[k]; k++) {
                fputc(k ? ' ' : '[', f);
                json_write_escaped(f, argv[k], strlen(argv[k]));
        }
        fprintf(f, "%s\n", argv[0] ? "]" : "[]");
        fprintf(f, "%-16s", "labels:");
        for (size_t k = 0; (s = descartes_agent_get_label(a, k, NULL)); k++) {
                const char *value = NULL;

                (void)descartes_agent_get_label(a, k, &value);
                if (k)
                        fputc(' ', f);
                ctl_write_safe(f, s);
                fputc('=', f);
                ctl_write_safe(f, value);
        }
        fputc('\n', f);
        ctl_format_timestamp(descartes_agent_get_created_ns(a), ts, sizeof ts);
        fprintf(f, "%-16s%s\n", "created:", ts);
        if (descartes_agent_get_started_ns(a, &v)) {
                ctl_format_timestamp(v, ts, sizeof ts);
                fprintf(f, "%-16s%s\n", "started:", ts);
        }
        if (descartes_agent_get_ended_ns(a, &v)) {
                ctl_format_timestamp(v, ts, sizeof ts);
                fprintf(f, "%-16s%s\n", "ended:", ts);
        }
        if (descartes_agent_get_spawn_us(a, &v))
                print_optional_u64(f, "spawn_us:", true, v);
        if ((s = descartes_agent_get_cgroup(a)))
                fprintf(f, "%-16s%s\n", "cgroup:", s);
        if (descartes_agent_get_limit_cpu(a, &v) && format_cpu(v, buf, sizeof buf) >= 0)
                fprintf(f, "%-16s%s\n", "limit.cpu:", buf);
        if (descartes_agent_get_limit_memory(a, &v) && format_size(v, buf, sizeof buf) >= 0)
                fprintf(f, "%-16s%s\n", "limit.memory:", buf);
        if (descartes_agent_get_limit_swap(a, &v) && format_size(v, buf, sizeof buf) >= 0)
                fprintf(f, "%-16s%s\n", "limit.swap:", buf);
        if (descartes_agent_get_limit_pids(a, &v))
                print_optional_u64(f, "limit.pids:", true, v);
        if (descartes_agent_get_usage(a, &usage[0], &usage[1], &usage[2], &usage[3])) {
                print_optional_u64(f, "usage.cpu_usec:", true, usage[0]);
                print_optional_u64(f, "usage.memory:", true, usage[1]);
                print_optional_u64(f, "usage.mem_peak:", true, usage[2]);
                print_optional_u64(f, "usage.pids:", true, usage[3]);
        }
}

void ctl_print_health(FILE *f, const DescartesHealth *h)
{
        char *const *controllers = descartes_health_get_cgroup_controllers(h);
        double load[3];

        fprintf(f, "version:     %s\n", descartes_health_get_version(h) ?: "-");
        fprintf(f, "protocol:    %" PRIu32 "\n", descartes_health_get_protocol(h));
        fprintf(f, "uptime:      %" PRIu64 "s\n", descartes_health_get_uptime_s(h));
        fprintf(f, "agents:     ");
        for (int s = 0; s < _DESCARTES_STATE_MAX; s++)
                fprintf(f, " %s=%" PRIu64, state_string((DescartesState)s),
                        descartes_health_get_agents(h, (DescartesState)s));
        fputc('\n', f);
        descartes_health_get_host_load(h, &load[0], &load[1], &load[2]);
        fprintf(f,
                "host:        %" PRIu32 " cpus, %" PRIu64 " of %" PRIu64
                " bytes available, load %.2f %.2f %.2f\n",
                descartes_health_get_host_cpus(h), descartes_health_get_host_mem_available(h),
                descartes_health_get_host_mem_total(h), load[0], load[1], load[2]);
        fprintf(f, "cgroup:      %s", descartes_health_get_cgroup_root(h) ?: "-");
        for (size_t k = 0; controllers[k]; k++)
                fprintf(f, "%s%s", k ? "," : " (", controllers[k]);
        fprintf(f, "%s\n", controllers[0] ? ")" : " (no controllers)");
}

void ctl_print_event(FILE *f, const DescartesEvent *e)
{
        DescartesState state;
        DescartesReason reason;
        const void *data;
        size_t size;
        char ts[64];

        ctl_format_timestamp(descartes_event_get_ts_ns(e), ts, sizeof ts);
        fprintf(f, "%s %" PRIu64 " %s %s", ts, descartes_event_get_seq(e),
                descartes_event_get_agent(e) ?: "host",
                descartes_event_kind_to_string(descartes_event_get_kind(e)) ?: "unknown");
        if (descartes_event_get_state(e, &state))
                fprintf(f, " state=%s", state_string(state));
        if (descartes_event_get_reason(e, &reason))
                fprintf(f, " reason=%s", descartes_reason_to_string(reason) ?: "unknown");
        data = descartes_event_get_data(e, &size);
        if (data) {
                _cleanup_free_ char *json = NULL;
                if (descartes_msgpack_to_json(data, size, &json) >= 0)
                        fprintf(f, " %s", json);
        }
        fputc('\n', f);
}
