/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* descartesctl's command line, parsed without side effects so that it can be tested on literal argv. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "descartes/descartes.h"

typedef enum CtlCommand {
        CTL_COMMAND_HEALTH,
        CTL_COMMAND_PS,
        CTL_COMMAND_SPAWN,
        CTL_COMMAND_INSPECT,
        CTL_COMMAND_PAUSE,
        CTL_COMMAND_RESUME,
        CTL_COMMAND_STOP,
        CTL_COMMAND_KILL,
        CTL_COMMAND_SIGNAL,
        CTL_COMMAND_STDIN,
        CTL_COMMAND_LOGS,
        CTL_COMMAND_EVENTS,
        CTL_COMMAND_RM,
        CTL_COMMAND_SHUTDOWN,
        _CTL_COMMAND_MAX,
        _CTL_COMMAND_INVALID = -EINVAL,
} CtlCommand;

typedef enum CtlFormat {
        CTL_FORMAT_TABLE,
        CTL_FORMAT_JSON,
        _CTL_FORMAT_MAX,
        _CTL_FORMAT_INVALID = -EINVAL,
} CtlFormat;

/* The environment an agent gets when --env-inherit is not given, before the --env options. */
#define CTL_DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define CTL_DEFAULT_TERM "dumb"

typedef struct CtlArgs {
        bool help;    /* -h: print help (of `command` when has_command) and exit 0 */
        bool version; /* --version */
        bool has_command;
        CtlCommand command;

        char *host;   /* -H/--host */
        char *events; /* --events */
        CtlFormat format;
        uint64_t timeout_usec; /* --timeout; 0: the library's per-op defaults */

        /* the AGENT arguments: one for most commands, one or more for rm, zero or one for events */
        char **agents;
        size_t n_agents;

        /* ps */
        bool all;
        ProtoStrMap labels;
        bool has_state;
        ProtoState state;

        /* spawn: spawn.env holds the --env pairs and the defaults, or the inherited environment */
        ProtoSpawnArgs spawn;
        bool wait;
        bool attach;

        /* stop */
        bool has_grace;
        uint64_t grace_ms;

        /* signal */
        int signal;

        /* stdin */
        bool close_stdin;

        /* logs */
        ProtoStream stream;
        bool has_tail;
        uint64_t tail;
        bool follow;
        bool raw;
        char *grep;

        /* shutdown */
        bool stop_agents;
} CtlArgs;

const char *ctl_command_to_string(CtlCommand c);
CtlCommand ctl_command_from_string(const char *s);

/* Parses argv (argv[0] is the program). environ is the CLI's own environment, used only by --env-inherit
 * and --env NAME (without '='). On a usage error returns -EINVAL and writes one sentence to errbuf; on
 * -ENOMEM likewise. *ret is filled even on failure (free with ctl_args_done()). */
int ctl_args_parse(int argc, char **argv, char **environ_, CtlArgs *ret, char *errbuf, size_t errbuf_size);
void ctl_args_done(CtlArgs *a);

/* Help texts. */
void ctl_help_main(FILE *f);
void ctl_help_command(CtlCommand c, FILE *f);
