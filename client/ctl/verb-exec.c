/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "ctl-exit.h"
#include "ctl.h"
#include "fd-util.h"
#include "log.h"
#include "string-util.h"

static int option_stdin(CtlArgs *a, const char *arg, CtlParse *p)
{
        a->exec_stdin = true;
        return 0;
}

static int option_timeout(CtlArgs *a, const char *arg, CtlParse *p)
{
        int r = ctl_parse_duration_ms("--timeout", arg, &a->exec_timeout_ms, p);

        if (r < 0)
                return r;
        if (a->exec_timeout_ms == 0 || a->exec_timeout_ms > DESCARTES_EXEC_TIMEOUT_MAX_MS)
                return ctl_fail(p, -EINVAL, "exec: --timeout is 1ms to 1h");
        a->has_exec_timeout = true;
        return 0;
}

static int option_tty(CtlArgs *a, const char *arg, CtlParse *p)
{
        a->exec_tty = true;
        return 0;
}

static const CtlOption options[] = {
        {"stdin", 'i', false, option_stdin},
        {"tty", 't', false, option_tty},
        {"timeout", 0, true, option_timeout},
        {"detach-keys", 0, true, ctl_option_detach_keys},
        {},
};

/* AGENT [--] CMD [ARGS...]: the options end at AGENT (stop_at_args), so a "--" after it is ours to drop. */
static int arguments(CtlArgs *a, char **args, size_t n_args, CtlParse *p)
{
        size_t first = 1, bytes = 0;
        int r;

        if (n_args == 0)
                return ctl_fail(p, -EINVAL,
                                "exec needs an agent and a command: exec AGENT -- CMD [ARGS...]");
        r = ctl_set_agents(a, args, 1, p);
        if (r < 0)
                return r;
        if (first < n_args && streq(args[first], "--"))
                first++;
        if (first >= n_args || args[first][0] == 0)
                return ctl_fail(p, -EINVAL, "exec needs a command: exec AGENT -- CMD [ARGS...]");
        if (n_args - first > DESCARTES_EXEC_ARGV_MAX)
                return ctl_fail(p, -EINVAL, "exec: at most %d arguments", DESCARTES_EXEC_ARGV_MAX);
        for (size_t i = first; i < n_args; i++) {
                bytes += strlen(args[i]) + 1;
                if (strv_extend(&a->exec_argv, args[i]) < 0)
                        return ctl_fail(p, -ENOMEM, "out of memory");
        }
        if (bytes > DESCARTES_EXEC_ARGV_BYTES_MAX)
                return ctl_fail(p, -EINVAL, "exec: the command is %zu bytes, more than %d", bytes,
                                DESCARTES_EXEC_ARGV_BYTES_MAX);
        /* the options are all read by now (they end at AGENT) */
        if (a->exec_tty && a->has_exec_timeout)
                return ctl_fail(
                        p, -EINVAL,
                        "exec: --timeout is for a command without a terminal; one on a terminal runs "
                        "until it exits (detach with the detach keys, end it from inside)");
        if (a->detach_keys && !(a->exec_tty && a->exec_stdin))
                return ctl_fail(p, -EINVAL, "exec: --detach-keys goes with -it (a terminal to type into)");
        return 0;
}

static void write_stream(const DescartesExec *x, DescartesStream stream, int fd, const char *name)
{
        uint64_t total = 0;
        size_t size = 0;
        const void *data = descartes_exec_get_output(x, stream, &size, &total);
        int r = data ? loop_write(fd, data, size) : 0;

        if (r < 0)
                log_warning_errno(r, "Cannot write the command's %s: %m.", name);
        if (total > size)
                log_warning("The command wrote %llu bytes to %s; the daemon keeps the first %zu.",
                            (unsigned long long)total, name, size);
}

static int exec_one(Ctl *c, const char *id)
{
        _cleanup_(descartes_exec_unrefp) DescartesExec *x = NULL;
        _cleanup_free_ uint8_t *input = NULL;
        DescartesExecArgs args = DESCARTES_EXEC_ARGS_INIT;
        DescartesError e;
        int code, sig;

        args.agent = id;
        args.argv = (const char *const *)c->args->exec_argv;
        args.has_timeout_ms = c->args->has_exec_timeout;
        args.timeout_ms = c->args->exec_timeout_ms;
        if (c->args->exec_stdin) {
                uint8_t extra;
                ssize_t n;

                input = malloc(DESCARTES_EXEC_STDIN_MAX);
                if (!input)
                        return log_oom(), CTL_EXIT_FAILURE;
                n = loop_read(STDIN_FILENO, input, DESCARTES_EXEC_STDIN_MAX);
                if (n < 0) {
                        log_error_errno((int)n, "Cannot read stdin: %m.");
                        return CTL_EXIT_FAILURE;
                }
                if ((size_t)n == DESCARTES_EXEC_STDIN_MAX && loop_read(STDIN_FILENO, &extra, 1) > 0) {
                        log_error("exec -i passes at most %d bytes of stdin; this one is longer.",
                                  DESCARTES_EXEC_STDIN_MAX);
                        return CTL_EXIT_USAGE;
                }
                args.stdin_data = input;
                args.stdin_size = (size_t)n;
        }
        if (descartes_exec(c->client, &args, &x, &e) < 0)
                return ctl_report(&e, "cannot exec in agent %s", id);

        if (ctl_json_mode(c)) {
                int r = CTL_PRINT_JSON(descartes_exec_to_json, x);
                if (r != 0)
                        return r;
        } else {
                fflush(stdout);
                write_stream(x, DESCARTES_STREAM_STDOUT, STDOUT_FILENO, "stdout");
                write_stream(x, DESCARTES_STREAM_STDERR, STDERR_FILENO, "stderr");
        }
        if (descartes_exec_get_timed_out(x))
                log_error("The command in agent %s was killed at its timeout.", id);
        /* its own code, 128+N for signal N: as a shell reports it */
        if (descartes_exec_get_exit_code(x, &code))
                return code;
        if (descartes_exec_get_signal(x, &sig))
                return 128 + sig;
        return CTL_EXIT_FAILURE;
}

/* -t: the command on a terminal of its own, this terminal joined to it (-i: keys too); the command's exit
 * code is ours. */
static int exec_tty(Ctl *c, const char *id)
{
        return ctl_session_run(c, &(CtlSession){.agent = id,
                                                .exec_argv = (const char *const *)c->args->exec_argv,
                                                .input = c->args->exec_stdin});
}

static int run(Ctl *c)
{
        return ctl_for_each_agent(c, c->args->exec_tty ? exec_tty : exec_one);
}

const CtlVerb ctl_verbs_exec[] = {
        {
                .name = "exec",
                .rank = 105,
                .summary = "  exec [-it] AGENT -- CMD...   run a command inside the agent's sandbox\n",
                .help = "Usage: descartesctl exec [-i] [--timeout DURATION] AGENT -- CMD [ARGS...]\n"
                        "       descartesctl exec -t [-i] [--detach-keys KEYS] AGENT -- CMD [ARGS...]\n"
                        "\n"
                        "Run CMD inside the running agent's sandbox: its namespaces (mounts, network,\n"
                        "processes), its cgroup, its uid and gid, no capabilities, its seccomp filter,\n"
                        "its environment and working directory. CMD is looked up in the agent's PATH.\n"
                        "Its stdout and stderr are printed when it has ended (the daemon keeps the\n"
                        "first 16 KiB of each); descartesctl exits with its exit code (128+N when\n"
                        "signal N ended it). A paused or ended agent is a conflict (exit 6).\n"
                        "\n"
                        "With -t CMD gets a terminal of its own, held by the agent's shim: its output\n"
                        "shows as it comes, your window size follows (the agent needs no --tty). With\n"
                        "-it it is interactive (a shell): your terminal goes raw, what you type goes to\n"
                        "CMD, and the detach keys leave it running (descartesctl attach --exec ID AGENT\n"
                        "joins it again, ID as printed). The session ends when CMD exits, with its exit\n"
                        "code. At most 4 commands on terminals run in one agent.\n"
                        "\n"
                        "  -i, --stdin          pass this program's stdin to CMD (without -t: at most\n"
                        "                       32 KiB, read first); without it CMD's stdin is /dev/null\n"
                        "                       (with -t: its terminal, nobody typing)\n"
                        "  -t, --tty            a terminal for CMD\n"
                        "  --timeout DURATION   kill CMD after DURATION (default 25s, at most 1h; not\n"
                        "                       with -t)\n"
                        "  --detach-keys KEYS   with -it: the detach sequence "
                        "(default " CTL_DETACH_KEYS_DEFAULT ")\n",
                .options = options,
                .own_timeout = true,
                .stop_at_args = true,
                .arguments = arguments,
                .run = run,
        },
        {},
};
