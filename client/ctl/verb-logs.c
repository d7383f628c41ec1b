/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "ctl.h"

static int option_stream(CtlArgs *a, const char *arg, CtlParse *p)
{
        if (descartes_stream_from_string(arg) < 0)
                return ctl_fail(p, -EINVAL, "--stream: \"%s\" is not stdout, stderr or both", arg);
        a->stream = descartes_stream_from_string(arg);
        return 0;
}

static int option_tail(CtlArgs *a, const char *arg, CtlParse *p)
{
        if (ctl_parse_u64(arg, &a->tail) < 0 || a->tail > DESCARTES_OUTPUT_LINES_MAX)
                return ctl_fail(p, -EINVAL, "--tail: \"%s\" is not a number of lines from 0 to %d", arg,
                                DESCARTES_OUTPUT_LINES_MAX);
        a->has_tail = true;
        return 0;
}

static int option_follow(CtlArgs *a, const char *arg, CtlParse *p)
{
        a->follow = true;
        return 0;
}

static int option_raw(CtlArgs *a, const char *arg, CtlParse *p)
{
        a->raw = true;
        return 0;
}

static int option_grep(CtlArgs *a, const char *arg, CtlParse *p)
{
        if (strlen(arg) == 0 || strlen(arg) > DESCARTES_GREP_MAX)
                return ctl_fail(p, -EINVAL, "--grep: a pattern has 1 to %d bytes", DESCARTES_GREP_MAX);
        return ctl_set_string(&a->grep, arg, p);
}

static const CtlOption options[] = {
        {"stream", 0, true, option_stream},    {"tail", 0, true, option_tail},
        {"follow", 'f', false, option_follow}, {"raw", 0, false, option_raw},
        {"grep", 0, true, option_grep},        {},
};

static int arguments(CtlArgs *a, char **args, size_t n_args, CtlParse *p)
{
        int r;

        r = ctl_arguments_one_agent(a, args, n_args, p);
        if (r < 0)
                return r;
        if (a->raw && a->grep)
                return ctl_fail(p, -EINVAL, "logs: --grep works on lines and cannot be used with --raw");
        return 0;
}

static int logs(Ctl *c, const char *id)
{
        const CtlArgs *a = c->args;
        CtlStreamOptions o = {
                .stream = a->stream,
                .raw = a->raw,
                .follow = a->follow,
                .has_tail = a->has_tail,
                .tail = a->tail,
                .grep = a->grep,
                .json = ctl_json_mode(c),
        };

        return ctl_stream_output(c, id, &o, NULL);
}

static int run(Ctl *c)
{
        return ctl_for_each_agent(c, logs);
}

const CtlVerb ctl_verbs_logs[] = {
        {
                .name = "logs",
                .rank = 110,
                .summary = "  logs [OPTIONS] AGENT        print an agent's stored output\n",
                .help = "Usage: descartesctl logs [OPTIONS] AGENT\n"
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
                .options = options,
                .arguments = arguments,
                .run = run,
        },
        {},
};
