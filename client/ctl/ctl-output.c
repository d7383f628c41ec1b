/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cleanup.h"
#include "ctl-output.h"
#include "parse-util.h"
#include "proto-json.h"
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

void ctl_format_reason(const ProtoAgentInfo *i, char *buf, size_t n)
{
        const char *reason;

        if (!i->has_reason) {
                (void)snprintf(buf, n, "%s", "");
                return;
        }
        reason = proto_reason_to_string(i->reason) ?: "unknown";
        if (i->has_signal && i->signal > 0 && i->signal < _NSIG && sigabbrev_np(i->signal))
                (void)snprintf(buf, n, "%s (%s)", reason, sigabbrev_np(i->signal));
        else if (i->has_signal)
                (void)snprintf(buf, n, "%s (signal %d)", reason, i->signal);
        else if (i->has_exit_code)
                (void)snprintf(buf, n, "%s (%d)", reason, i->exit_code);
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

static const char *state_string(ProtoState s)
{
        return proto_state_to_string(s) ?: "unknown";
}

void ctl_print_ps_table(FILE *f, const ProtoAgentInfo *agents, size_t n, uint64_t now_ns)
{
        int w_name = 4, w_state = 5, w_reason = 11, w_created = 7;
        char buf[256];

        for (size_t i = 0; i < n; i++) {
                w_name = MAX(w_name, (int)MIN(strlen(agents[i].name ?: "-"), (size_t)PROTO_NAME_MAX));
                w_state = MAX(w_state, (int)strlen(state_string(agents[i].state)));
                ctl_format_reason(&agents[i], buf, sizeof buf);
                w_reason = MAX(w_reason, (int)strlen(buf));
                ctl_format_relative(agents[i].created_ns, now_ns, buf, sizeof buf);
                w_created = MAX(w_created, (int)strlen(buf));
        }
        fprintf(f, "%-*s  %-*s  %-*s  %-*s  %-*s  %s\n", CTL_SHORT_ID_LEN, "ID", w_name, "NAME", w_state,
                "STATE", w_reason, "REASON/EXIT", w_created, "CREATED", "COMMAND");
        for (size_t i = 0; i < n; i++) {
                char reason[128], created[64], command[CTL_COMMAND_WIDTH + 8];

                ctl_format_reason(&agents[i], reason, sizeof reason);
                ctl_sanitize(reason);
                ctl_format_relative(agents[i].created_ns, now_ns, created, sizeof created);
                ctl_format_command(agents[i].argv, CTL_COMMAND_WIDTH, command, sizeof command);
                fprintf(f, "%-*.*s  %-*s  %-*s  %-*s  %-*s  %s\n", CTL_SHORT_ID_LEN, CTL_SHORT_ID_LEN,
                        agents[i].id ?: "-", w_name, agents[i].name ?: "-", w_state,
                        state_string(agents[i].state), w_reason, reason, w_created, created, command);
        }
}

static void print_optional_u64(FILE *f, const char *label, bool has, uint64_t v)
{
        if (has)
                fprintf(f, "%-16s%" PRIu64 "\n", label, v);
}

void ctl_print_inspect(FILE *f, const ProtoAgentInfo *i)
{
        char buf[FORMAT_SIZE_MAX + FORMAT_DURATION_MAX + 64], ts[64];

        fprintf(f, "%-16s%s\n", "id:", i->id ?: "-");
        fprintf(f, "%-16s%s\n", "name:", i->name ?: "-");
        fprintf(f, "%-16s%s\n", "state:", state_string(i->state));
        if (i->has_reason) {
                ctl_format_reason(i, buf, sizeof buf);
                ctl_sanitize(buf);
                fprintf(f, "%-16s%s\n", "reason:", buf);
        }
        if (i->has_exit_code)
                fprintf(f, "%-16s%d\n", "exit_code:", i->exit_code);
        if (i->has_signal)
                fprintf(f, "%-16s%d (%s)\n", "signal:", i->signal,
                        i->signal > 0 && i->signal < _NSIG && sigabbrev_np(i->signal)
                                ? sigabbrev_np(i->signal)
                                : "?");
        fprintf(f, "%-16s%" PRIu32 "\n", "owner_uid:", i->owner_uid);
        if (i->has_pid)
                fprintf(f, "%-16s%d\n", "pid:", i->pid);
        fprintf(f, "%-16s", "argv:");
        for (size_t k = 0; k < i->n_argv && i->argv; k++) {
                fputc(k ? ' ' : '[', f);
                json_write_escaped(f, i->argv[k], strlen(i->argv[k]));
        }
        fprintf(f, "%s\n", i->n_argv ? "]" : "[]");
        fprintf(f, "%-16s", "labels:");
        for (size_t k = 0; k < i->labels.n_pairs; k++) {
                if (k)
                        fputc(' ', f);
                ctl_write_safe(f, i->labels.pairs[k].key);
                fputc('=', f);
                ctl_write_safe(f, i->labels.pairs[k].value);
        }
        fputc('\n', f);
        ctl_format_timestamp(i->created_ns, ts, sizeof ts);
        fprintf(f, "%-16s%s\n", "created:", ts);
        if (i->has_started_ns) {
                ctl_format_timestamp(i->started_ns, ts, sizeof ts);
                fprintf(f, "%-16s%s\n", "started:", ts);
        }
        if (i->has_ended_ns) {
                ctl_format_timestamp(i->ended_ns, ts, sizeof ts);
                fprintf(f, "%-16s%s\n", "ended:", ts);
        }
        print_optional_u64(f, "spawn_us:", i->has_spawn_us, i->spawn_us);
        if (i->cgroup)
                fprintf(f, "%-16s%s\n", "cgroup:", i->cgroup);
        if (i->limits.has_cpu && format_cpu(i->limits.cpu_millicores, buf, sizeof buf) >= 0)
                fprintf(f, "%-16s%s\n", "limit.cpu:", buf);
        if (i->limits.has_memory && format_size(i->limits.memory, buf, sizeof buf) >= 0)
                fprintf(f, "%-16s%s\n", "limit.memory:", buf);
        if (i->limits.has_swap && format_size(i->limits.swap, buf, sizeof buf) >= 0)
                fprintf(f, "%-16s%s\n", "limit.swap:", buf);
        print_optional_u64(f, "limit.pids:", i->limits.has_pids, i->limits.pids);
        if (i->has_usage) {
                print_optional_u64(f, "usage.cpu_usec:", true, i->usage.cpu_usec);
                print_optional_u64(f, "usage.memory:", true, i->usage.memory_current);
                print_optional_u64(f, "usage.mem_peak:", true, i->usage.memory_peak);
                print_optional_u64(f, "usage.pids:", true, i->usage.pids_current);
        }
}

void ctl_print_health(FILE *f, const ProtoHealthResult *h)
{
        fprintf(f, "version:     %s\n", h->version ?: "-");
        fprintf(f, "protocol:    %" PRIu32 "\n", h->protocol);
        fprintf(f, "uptime:      %" PRIu64 "s\n", h->uptime_s);
        fprintf(f, "agents:     ");
        for (int s = 0; s < _PROTO_STATE_MAX; s++)
                fprintf(f, " %s=%" PRIu64, state_string((ProtoState)s), h->agents[s]);
        fputc('\n', f);
        fprintf(f,
                "host:        %" PRIu32 " cpus, %" PRIu64 " of %" PRIu64
                " bytes available, load %.2f %.2f %.2f\n",
                h->host.cpus, h->host.mem_available, h->host.mem_total, h->host.load1, h->host.load5,
                h->host.load15);
        fprintf(f, "cgroup:      %s", h->cgroup_root ?: "-");
        for (size_t k = 0; k < h->n_cgroup_controllers && h->cgroup_controllers; k++)
                fprintf(f, "%s%s", k ? "," : " (", h->cgroup_controllers[k]);
        fprintf(f, "%s\n", h->n_cgroup_controllers ? ")" : " (no controllers)");
}

void ctl_print_event(FILE *f, const ProtoEvent *e)
{
        char ts[64];

        ctl_format_timestamp(e->ts_ns, ts, sizeof ts);
        fprintf(f, "%s %" PRIu64 " %s %s", ts, e->seq, e->agent ?: "host",
                proto_event_kind_to_string(e->kind) ?: "unknown");
        if (e->has_state)
                fprintf(f, " state=%s", state_string(e->state));
        if (e->has_reason)
                fprintf(f, " reason=%s", proto_reason_to_string(e->reason) ?: "unknown");
        if (e->data.data) {
                _cleanup_free_ char *json = NULL;
                if (descartes_value_to_json(&e->data, &json) >= 0)
                        fprintf(f, " %s", json);
        }
        fputc('\n', f);
}

/* -o json: the field tables render what the wire carries (proto-json.c); the CLI restates no schema. */
void ctl_json_agent(JsonWriter *w, const ProtoAgentInfo *i)
{
        (void)proto_json_write(w, &proto_agent_info_type, i);
}

void ctl_json_health(JsonWriter *w, const ProtoHealthResult *h)
{
        (void)proto_json_write(w, proto_op_info(PROTO_OP_HEALTH)->result, h);
}

void ctl_json_event(JsonWriter *w, const ProtoEvent *e)
{
        (void)proto_json_write(w, &proto_event_type, e);
}
