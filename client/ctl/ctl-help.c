/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "ctl-args.h"

void ctl_help_main(FILE *f)
{
        fputs("Usage: descartesctl [GLOBAL OPTIONS] COMMAND [OPTIONS] [ARGS...]\n"
              "\n"
              "Drive descartesd, the supervisor of AI agents.\n"
              "\n"
              "Commands:\n"
              "  health                      the daemon's version, uptime, agents per state, host\n"
              "  ps [-a] [--label K=V] [--state S]   list agents\n"
              "  spawn [OPTIONS] -- CMD [ARGS...]    start an agent, print its id\n"
              "  inspect AGENT               every field of an agent\n"
              "  pause AGENT                 freeze an agent\n"
              "  resume AGENT                thaw an agent\n"
              "  stop [--grace DURATION] AGENT   SIGTERM, then kill after the grace period\n"
              "  kill AGENT                  kill every process of an agent at once\n"
              "  signal AGENT SIG            send a signal (TERM, SIGUSR1, 15, ...)\n"
              "  stdin [--close] AGENT       send this program's stdin to the agent's\n"
              "  logs [OPTIONS] AGENT        print an agent's stored output\n"
              "  events [AGENT]              print events as they happen\n"
              "  rm AGENT...                 remove ended agents and their output\n"
              "  shutdown [--stop-agents]    make descartesd exit (agents keep running unless\n"
              "                              --stop-agents); root and the admin group only\n"
              "\n"
              "AGENT is an agent id, a unique name, or a unique prefix of an id.\n"
              "\n"
              "Global options (before or after the command):\n"
              "  -H, --host ENDPOINT         control endpoint (default $DESCARTES_HOST, else\n"
              "                              " DESCARTES_DEFAULT_CONTROL_ENDPOINT ")\n"
              "      --events ENDPOINT       events endpoint (default $DESCARTES_EVENTS, else derived:\n"
              "                              ipc://DIR/control -> ipc://DIR/events)\n"
              "  -o, --output table|json     output format; json is one object per line, stable for "
              "scripts\n"
              "      --timeout DURATION      request timeout (default 5s, 30s for spawn/stop/kill/rm);\n"
              "                              for spawn give it before the command\n"
              "  -h, --help                  help (also COMMAND --help)\n"
              "      --version               print the version\n"
              "\n"
              "Units: sizes 512M, 1.5G (binary); durations 500ms, 10s, 1h30m; CPU 0.5, 2, 150%.\n"
              "\n"
              "Exit status:\n"
              "   0  success\n"
              "   1  other failure\n"
              "   2  usage error (bad command line, ambiguous agent prefix)\n"
              "   3  cannot reach descartesd\n"
              "   4  timeout (no answer in time, or the operation timed out in the daemon)\n"
              "   5  not found (no such agent)\n"
              "   6  conflict (the agent's state does not allow it, or the name is taken)\n"
              "   7  permission denied (by the daemon, or on its socket)\n"
              "   8  spawn failed\n"
              "   9  unenforceable (a limit or sandbox setting this host cannot enforce)\n"
              "  10  limit exceeded (quota or rate limit)\n"
              "  11  bad request (or unsupported protocol version, unknown op)\n"
              "  12  internal error in the daemon, or a reply that cannot be read\n"
              "  13  busy (try again)\n"
              "  With spawn --wait or --attach: the agent's own exit code, 128+N when signal N ended it.\n",
              f);
}

static const char *const command_help[_CTL_COMMAND_MAX] = {
        [CTL_COMMAND_HEALTH] =
                "Usage: descartesctl health\n"
                "\n"
                "Print the daemon's version, protocol, uptime, agents per state, host and cgroup\n"
                "information.\n",
        [CTL_COMMAND_PS] =
                "Usage: descartesctl ps [-a] [--label K=V]... [--state STATE]\n"
                "\n"
                "List agents: ID (first 12 characters), NAME, STATE, REASON/EXIT, CREATED, COMMAND.\n"
                "\n"
                "  -a, --all            include ended agents (exited, failed)\n"
                "      --label K=V      only agents with this label (repeatable: all must match)\n"
                "      --state STATE    only agents in STATE (starting, running, pausing, paused,\n"
                "                       resuming, stopping, exited, failed)\n",
        [CTL_COMMAND_SPAWN] =
                "Usage: descartesctl spawn [OPTIONS] -- CMD [ARGS...]\n"
                "\n"
                "Start an agent and print its id alone on stdout.\n"
                "\n"
                "  --name NAME          a unique name\n"
                "  --label K=V          a label (repeatable)\n"
                "  --env K=V            an environment variable (repeatable); --env K passes this\n"
                "                       program's value of K\n"
                "  --env-inherit        start from this program's whole environment\n"
                "                       Without it the agent's environment is only the --env\n"
                "                       variables plus, unless given, PATH=" CTL_DEFAULT_PATH "\n"
                "                       TERM=" CTL_DEFAULT_TERM "; descartesd sets HOME in the workspace\n"
                "  --cwd DIR            working directory (absolute)\n"
                "  --workspace DIR      host directory mounted read-write for the agent (absolute)\n"
                "  --cpu AMOUNT         CPU limit: 0.5, 2, 150%\n"
                "  --memory SIZE        memory limit: 512M, 2G\n"
                "  --swap SIZE          swap limit\n"
                "  --pids N             maximum number of processes\n"
                "  --timeout DURATION   maximum runtime of the agent, then it is stopped\n"
                "  --net none|host      network: none (default) or the host's\n"
                "  --policy NAME        sandbox policy\n"
                "  --user USER          user name or uid to run as\n"
                "  -i, --stdin          keep the agent's stdin open for `descartesctl stdin`\n"
                "  --wait               wait until the agent ends; exit with its code (128+N for\n"
                "                       signal N)\n"
                "  --attach             stream the agent's output until it ends, then exit like --wait\n",
        [CTL_COMMAND_INSPECT] = "Usage: descartesctl inspect AGENT\n\nPrint every field of an agent.\n",
        [CTL_COMMAND_PAUSE] = "Usage: descartesctl pause AGENT\n\nFreeze every process of an agent.\n",
        [CTL_COMMAND_RESUME] = "Usage: descartesctl resume AGENT\n\nThaw a paused agent.\n",
        [CTL_COMMAND_STOP] =
                "Usage: descartesctl stop [--grace DURATION] AGENT\n"
                "\n"
                "Send SIGTERM, wait the grace period (default: the daemon's), then kill the agent.\n",
        [CTL_COMMAND_KILL] = "Usage: descartesctl kill AGENT\n\nKill every process of an agent at once.\n",
        [CTL_COMMAND_SIGNAL] = "Usage: descartesctl signal AGENT SIG\n"
                               "\n"
                               "Send a signal, by name (TERM, SIGUSR1) or number, to the agent.\n",
        [CTL_COMMAND_STDIN] =
                "Usage: descartesctl stdin [--close] AGENT\n"
                "\n"
                "Send this program's stdin to the agent's stdin (the agent must have been spawned\n"
                "with -i), in chunks of at most 1 MiB.\n"
                "\n"
                "  --close    close the agent's stdin after everything was sent\n",
        [CTL_COMMAND_LOGS] =
                "Usage: descartesctl logs [OPTIONS] AGENT\n"
                "\n"
                "Print an agent's stored output: stdout lines to stdout, stderr lines to stderr.\n"
                "\n"
                "  --stream stdout|stderr|both   which stream (default both)\n"
                "  --tail N                      only the last N lines\n"
                "  -f, --follow                  keep printing new output until the agent has\n"
                "                                ended and everything is printed\n"
                "  --raw                         the bytes as written, without line handling\n"
                "  --grep REGEX                  only lines matching a PCRE2 pattern\n"
                "\n"
                "With -o json, one object per line: {seq, ts_ns, stream, text} (or {stream, data}\n"
                "with --raw).\n",
        [CTL_COMMAND_EVENTS] =
                "Usage: descartesctl events [AGENT]\n"
                "\n"
                "Print events as they happen, one line each (with -o json one object per line),\n"
                "for every agent or only AGENT's. Missed events are replayed from the daemon.\n",
        [CTL_COMMAND_RM] =
                "Usage: descartesctl rm AGENT...\n\nRemove ended agents with their records and output.\n",
        [CTL_COMMAND_SHUTDOWN] =
                "Usage: descartesctl shutdown [--stop-agents]\n"
                "\n"
                "Make descartesd exit. Its agents keep running under their shims, and a restarted\n"
                "daemon re-adopts them; with --stop-agents it stops them first (SIGTERM, the grace\n"
                "period, then kill). For root and members of the daemon's admin group.\n",
};

void ctl_help_command(CtlCommand c, FILE *f)
{
        if (c < 0 || c >= _CTL_COMMAND_MAX) {
                ctl_help_main(f);
                return;
        }
        fputs(command_help[c], f);
        fputs("\nGlobal options: -H/--host, --events, -o/--output, --timeout, -h/--help "
              "(see descartesctl --help, which also lists the exit codes).\n",
              f);
}
