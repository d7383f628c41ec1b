/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "ctl.h"

void ctl_help_main(FILE *f)
{
        fputs("Usage: descartesctl [GLOBAL OPTIONS] COMMAND [OPTIONS] [ARGS...]\n"
              "\n"
              "Drive descartesd, the supervisor of AI agents.\n"
              "\n"
              "Commands:\n",
              f);
        for (const CtlVerb *const *v = ctl_verb_list(); *v; v++)
                if (!(*v)->hidden)
                        fputs((*v)->summary, f);
        fputs("\n"
              "AGENT is an agent id, a unique name, or a unique prefix of an id.\n"
              "\n"
              "Global options (before or after the command):\n"
              "  -H, --host ENDPOINT         control endpoint (default $DESCARTES_HOST, else\n"
              "                              " DESCARTES_DEFAULT_CONTROL_ENDPOINT ")\n"
              "      --events ENDPOINT       obsolete and ignored: events come over the control endpoint\n"
              "      --server-key KEY|FILE   a tcp:// daemon's public key, or its .pub file (default\n"
              "                              $DESCARTES_SERVER_KEY); tcp always uses CURVE\n"
              "      --key FILE              your secret key file for tcp:// (default\n"
              "                              $DESCARTES_CLIENT_KEY, else ~/.config/descartes/client.key,\n"
              "                              made by descartesctl keygen)\n"
              "  -o, --output table|json     output format; json is one object per line, stable for "
              "scripts\n"
              "      --timeout DURATION      request timeout (default 5s; 30s for the requests that wait\n"
              "                              for an agent: spawn, stop, kill, rm, ...); for spawn give\n"
              "                              it before the command\n"
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
              "  With spawn --wait or --attach: the agent's own exit code, 128+N when signal N ended it;\n"
              "  with exec: the command's, likewise.\n",
              f);
}

void ctl_help_verb(const CtlVerb *v, FILE *f)
{
        if (!v) {
                ctl_help_main(f);
                return;
        }
        fputs(v->help, f);
        fputs("\nGlobal options: -H/--host, --events, --server-key, --key, -o/--output, --timeout, "
              "-h/--help "
              "(see descartesctl --help, which also lists the exit codes).\n",
              f);
}
