/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* top: the agents as a table refreshed each second (full screen, keys to sort, q to quit), or once. CPU % is
 * the CPU time an agent used between two samples over the time between them. */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "ctl-output.h"
#include "ctl.h"
#include "parse-util.h"
#include "string-util.h"
#include "time-util.h"

#define TOP_INTERVAL_MS 1000

typedef struct TopRow {
        const DescartesAgent *agent;
        bool has_cpu;
        double cpu_percent; /* over the last interval */
        uint64_t memory;
        uint64_t uptime_s;
} TopRow;

typedef struct TopSample {
        DescartesAgentList *list;
        uint64_t at_usec; /* CLOCK_MONOTONIC */
} TopSample;

static int option_once(CtlArgs *a, const char *arg, CtlParse *p)
{
        a->once = true;
        return 0;
}

static int option_sort(CtlArgs *a, const char *arg, CtlParse *p)
{
        static const char *const keys[] = {"cpu", "memory", "name", "uptime"};

        for (size_t i = 0; i < ELEMENTSOF(keys); i++)
                if (streq(arg, keys[i])) {
                        a->top_sort = keys[i][0];
                        return 0;
                }
        return ctl_fail(p, -EINVAL, "--sort: \"%s\" is not a key (cpu, memory, name, uptime)", arg);
}

static const CtlOption options[] = {
        {"once", 0, false, option_once},
        {"sort", 0, true, option_sort},
        {},
};

static void terminal_restore(void);

static int oom(void)
{
        terminal_restore();
        fprintf(stderr, "descartesctl top: out of memory\n");
        return 1;
}

static int sample_take(Ctl *c, TopSample *ret)
{
        DescartesListArgs args = DESCARTES_LIST_ARGS_INIT;
        DescartesError e;

        descartes_agent_list_unref(ret->list);
        ret->list = NULL;
        if (descartes_list(c->client, &args, &ret->list, &e) < 0) {
                terminal_restore(); /* the message must stay on the screen */
                return ctl_report(&e, "cannot list agents");
        }
        ret->at_usec = now_usec(CLOCK_MONOTONIC);
        return 0;
}

static bool cpu_usec_of(const DescartesAgentList *l, const char *id, uint64_t *ret)
{
        for (size_t i = 0; i < descartes_agent_list_get_size(l); i++) {
                const DescartesAgent *a = descartes_agent_list_get(l, i);

                if (streq_ptr(descartes_agent_get_id(a), id))
                        return descartes_agent_get_usage(a, ret, NULL, NULL, NULL);
        }
        return false;
}

static char sort_key;

static int row_compare(const void *x, const void *y)
{
        const TopRow *a = x, *b = y;
        const char *na = descartes_agent_get_name(a->agent) ?: descartes_agent_get_id(a->agent) ?: "";
        const char *nb = descartes_agent_get_name(b->agent) ?: descartes_agent_get_id(b->agent) ?: "";

        switch (sort_key) {
        case 'm':
                if (a->memory != b->memory)
                        return a->memory < b->memory ? 1 : -1;
                break;
        case 'u':
                if (a->uptime_s != b->uptime_s)
                        return a->uptime_s < b->uptime_s ? 1 : -1;
                break;
        case 'n':
                break;
        default: {
                double ca = a->has_cpu ? a->cpu_percent : -1, cb = b->has_cpu ? b->cpu_percent : -1;

                if (ca != cb)
                        return ca < cb ? 1 : -1;
                break;
        }
        }
        return strcmp(na, nb);
}

/* The rows of now, CPU % against prev (NULL: none yet). */
static TopRow *rows_make(const TopSample *now, const TopSample *prev, size_t *ret_n)
{
        size_t n = descartes_agent_list_get_size(now->list);
        uint64_t wall_ns = now_ns(CLOCK_REALTIME);
        TopRow *rows = calloc(n + 1, sizeof *rows);

        if (!rows)
                return NULL;
        for (size_t i = 0; i < n; i++) {
                const DescartesAgent *a = descartes_agent_list_get(now->list, i);
                uint64_t cpu = 0, before = 0, started;
                bool has_usage;

                rows[i].agent = a;
                has_usage = descartes_agent_get_usage(a, &cpu, &rows[i].memory, NULL, NULL);
                if (prev && now->at_usec > prev->at_usec && has_usage &&
                    cpu_usec_of(prev->list, descartes_agent_get_id(a), &before) && cpu >= before) {
                        rows[i].has_cpu = true;
                        rows[i].cpu_percent =
                                100.0 * (double)(cpu - before) / (double)(now->at_usec - prev->at_usec);
                }
                if (descartes_agent_get_started_ns(a, &started) && wall_ns > started)
                        rows[i].uptime_s = (wall_ns - started) / 1000000000;
        }
        *ret_n = n;
        return rows;
}

static void format_uptime(uint64_t s, char *buf, size_t n)
{
        if (s < 60)
                (void)snprintf(buf, n, "%" PRIu64 "s", s);
        else if (s < 3600)
                (void)snprintf(buf, n, "%" PRIu64 "m%02" PRIu64 "s", s / 60, s % 60);
        else if (s < 86400)
                (void)snprintf(buf, n, "%" PRIu64 "h%02" PRIu64 "m", s / 3600, s % 3600 / 60);
        else
                (void)snprintf(buf, n, "%" PRIu64 "d%02" PRIu64 "h", s / 86400, s % 86400 / 3600);
}

/* The table, at most max_rows agents (0: all), each line ending with eol. */
static void table_print(FILE *f, TopRow *rows, size_t n, char key, size_t max_rows, const char *eol)
{
        sort_key = key;
        qsort(rows, n, sizeof *rows, row_compare);
        fprintf(f, "%-*s  %-9s  %-9s  %6s  %-19s  %6s  %8s  %s%s", CTL_SHORT_ID_LEN, "ID", "STATE", "HEALTH",
                "CPU%", "MEMORY/MAX", "PIDS", "UPTIME", "NAME", eol);
        for (size_t i = 0; i < n && (max_rows == 0 || i < max_rows); i++) {
                const DescartesAgent *a = rows[i].agent;
                char cpu[16] = "-", mem[FORMAT_SIZE_MAX] = "-", max[FORMAT_SIZE_MAX] = "-",
                     memcol[2 * FORMAT_SIZE_MAX + 2], pids[24] = "-", up[32] = "-",
                     name[DESCARTES_NAME_MAX + 1];
                uint64_t limit, pids_current, started;
                DescartesAgentHealth health;
                const char *h = descartes_agent_get_health(a, &health)
                                        ? descartes_agent_health_to_string(health)
                                        : "-";

                if (rows[i].has_cpu)
                        (void)snprintf(cpu, sizeof cpu, "%.1f", rows[i].cpu_percent);
                if (descartes_agent_get_usage(a, NULL, NULL, NULL, &pids_current)) {
                        if (format_size(rows[i].memory, mem, sizeof mem) < 0)
                                (void)snprintf(mem, sizeof mem, "%" PRIu64, rows[i].memory);
                        (void)snprintf(pids, sizeof pids, "%" PRIu64, pids_current);
                }
                if (descartes_agent_get_limit_memory(a, &limit) && format_size(limit, max, sizeof max) < 0)
                        (void)snprintf(max, sizeof max, "%" PRIu64, limit);
                (void)snprintf(memcol, sizeof memcol, "%s/%s", mem, max);
                if (descartes_agent_get_started_ns(a, &started))
                        format_uptime(rows[i].uptime_s, up, sizeof up);
                (void)snprintf(name, sizeof name, "%s", descartes_agent_get_name(a) ?: "-");
                ctl_sanitize(name);
                fprintf(f, "%-*.*s  %-9s  %-9s  %6s  %-19s  %6s  %8s  %s%s", CTL_SHORT_ID_LEN,
                        CTL_SHORT_ID_LEN, descartes_agent_get_id(a) ?: "-",
                        descartes_state_to_string(descartes_agent_get_state(a)) ?: "?", h, cpu, memcol, pids,
                        up, name, eol);
        }
}

static int run_once(Ctl *c)
{
        TopSample a = {}, b = {};
        _cleanup_free_ TopRow *rows = NULL;
        size_t n = 0;
        int r;

        r = sample_take(c, &a);
        if (r == 0) {
                (void)poll(NULL, 0, TOP_INTERVAL_MS);
                r = sample_take(c, &b);
        }
        if (r == 0) {
                rows = rows_make(&b, &a, &n);
                if (rows)
                        table_print(stdout, rows, n, c->args->top_sort, 0, "\n");
                else
                        r = oom();
        }
        descartes_agent_list_unref(a.list);
        descartes_agent_list_unref(b.list);
        return r;
}

/* The terminal as it was, put back on every way out: the loop's end, exit() (atexit) and the signals that
 * end us (they only set a flag; the loop sees it). */
static struct termios saved_termios;
static bool terminal_taken;
static volatile sig_atomic_t top_quit;

static void terminal_restore(void)
{
        if (!terminal_taken)
                return;
        terminal_taken = false;
        (void)tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_termios);
        fputs("\033[?25h\033[?1049l", stdout);
        (void)fflush(stdout);
}

static void on_signal(int sig)
{
        top_quit = 1;
}

static int terminal_take(void)
{
        struct termios raw;
        struct sigaction sa = {.sa_handler = on_signal};

        if (tcgetattr(STDIN_FILENO, &saved_termios) < 0)
                return -errno;
        raw = saved_termios;
        raw.c_lflag &= ~(ICANON | ECHO);
        raw.c_cc[VMIN] = 0;
        raw.c_cc[VTIME] = 0;
        raw.c_cc[VSUSP] = _POSIX_VDISABLE; /* a stopped top would leave the terminal raw */
        (void)sigemptyset(&sa.sa_mask);
        (void)sigaction(SIGINT, &sa, NULL);
        (void)sigaction(SIGTERM, &sa, NULL);
        (void)sigaction(SIGHUP, &sa, NULL);
        if (atexit(terminal_restore) != 0 || tcsetattr(STDIN_FILENO, TCSAFLUSH, &raw) < 0)
                return -errno ?: -ENOMEM;
        terminal_taken = true;
        fputs("\033[?1049h\033[?25l", stdout);
        return 0;
}

static const char *sort_name(char key)
{
        return key == 'm' ? "memory" : key == 'n' ? "name" : key == 'u' ? "uptime" : "cpu";
}

static int run_screen(Ctl *c)
{
        TopSample prev = {}, now = {};
        char key = c->args->top_sort ?: 'c';
        int r = 0;

        if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
                fprintf(stderr, "descartesctl top: needs a terminal; use --once for a table to read\n");
                return 2;
        }
        r = terminal_take();
        if (r < 0) {
                terminal_restore();
                fprintf(stderr, "descartesctl top: cannot set up the terminal: %s\n", strerror(-r));
                return 1;
        }
        while (!top_quit) {
                _cleanup_free_ TopRow *rows = NULL;
                struct winsize ws = {};
                struct pollfd p = {.fd = STDIN_FILENO, .events = POLLIN};
                uint64_t deadline;
                size_t n = 0;

                r = sample_take(c, &now);
                if (r != 0)
                        break;
                rows = rows_make(&now, prev.list ? &prev : NULL, &n);
                if (!rows) {
                        r = oom();
                        break;
                }
                if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) < 0 || ws.ws_row < 3)
                        ws.ws_row = 24;
                /* home, clear; lines end with "clear to the end of line" and \r\n (no output processing) */
                fputs("\033[H\033[2J", stdout);
                printf("descartesctl top: %zu agents, sorted by %s   keys: c cpu, m memory, n name, u "
                       "uptime, q "
                       "quit\r\n\r\n",
                       n, sort_name(key));
                table_print(stdout, rows, n, key, ws.ws_row - 3, "\033[K\r\n");
                (void)fflush(stdout);
                descartes_agent_list_unref(prev.list);
                prev = now;
                now = (TopSample){};

                deadline = now_usec(CLOCK_MONOTONIC) + TOP_INTERVAL_MS * 1000ULL;
                while (!top_quit) {
                        uint64_t t = now_usec(CLOCK_MONOTONIC);
                        char ch;

                        if (t >= deadline)
                                break;
                        if (poll(&p, 1, (int)((deadline - t) / 1000) + 1) <= 0)
                                continue;
                        if (read(STDIN_FILENO, &ch, 1) != 1)
                                continue;
                        if (ch == 'q' || ch == 'Q' || ch == 3 /* ^C, should ISIG be off */) {
                                top_quit = 1;
                        } else if (strchr("cmnu", ch)) {
                                key = ch;
                                break; /* redraw now, sorted anew */
                        }
                }
        }
        descartes_agent_list_unref(prev.list);
        descartes_agent_list_unref(now.list);
        terminal_restore();
        return r;
}

static int run(Ctl *c)
{
        return c->args->once ? run_once(c) : run_screen(c);
}

const CtlVerb ctl_verbs_top[] = {
        {
                .name = "top",
                .rank = 25,
                .summary = "  top [--once] [--sort KEY]   agents' CPU, memory and pids, refreshed each "
                           "second\n",
                .help = "Usage: descartesctl top [--once] [--sort cpu|memory|name|uptime]\n"
                        "\n"
                        "Show the agents that have not ended as a full-screen table refreshed each second:\n"
                        "ID, STATE, HEALTH, CPU% (the CPU time used over the last second, 100 = one CPU),\n"
                        "MEMORY/MAX (in use, and its limit), PIDS, UPTIME and NAME. Keys: c sort by CPU,\n"
                        "m by memory, n by name, u by uptime, q (or Ctrl-C) quits; the terminal is put\n"
                        "back as it was. Rows past the window's height are left out.\n"
                        "\n"
                        "--once prints the table once for scripts, from two samples 1 s apart (CPU%\n"
                        "over that second; \"-\" for an agent absent from the first).\n",
                .options = options,
                .arguments = ctl_arguments_none,
                .run = run,
        },
        {},
};
