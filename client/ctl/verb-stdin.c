/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "ctl-exit.h"
#include "ctl.h"
#include "fd-util.h"
#include "json-writer.h"
#include "log.h"
#include "time-util.h"

static int option_close(CtlArgs *a, const char *arg, CtlParse *p)
{
        a->close_stdin = true;
        return 0;
}

static const CtlOption options[] = {
        {"close", 0, false, option_close},
        {},
};

static int send_stdin(Ctl *c, const char *id)
{
        _cleanup_free_ uint8_t *buf = malloc(DESCARTES_STDIN_DATA_MAX);
        uint64_t total = 0;
        DescartesError e;

        if (!buf)
                return log_oom(), CTL_EXIT_FAILURE;
        for (;;) {
                ssize_t n = loop_read(STDIN_FILENO, buf, DESCARTES_STDIN_DATA_MAX);
                size_t off = 0;
                unsigned idle = 0;

                if (n < 0) {
                        log_error_errno((int)n, "Cannot read stdin: %m.");
                        return CTL_EXIT_FAILURE;
                }
                if (n == 0)
                        break;
                while (off < (size_t)n) {
                        uint64_t written = 0;

                        if (descartes_stdin(c->client, id, buf + off, (size_t)n - off, false, &written, &e) <
                            0)
                                return ctl_report(&e, "cannot write to the stdin of agent %s", id);
                        if (written == 0) {
                                /* The agent's pipe is full: the daemon takes no more until it reads. */
                                struct timespec ts = {.tv_nsec = 50 * NSEC_PER_MSEC};
                                if (++idle > 1200) {
                                        log_error("Agent %s has not read its stdin for a minute; giving up.",
                                                  id);
                                        return CTL_EXIT_TIMEOUT;
                                }
                                (void)nanosleep(&ts, NULL);
                                continue;
                        }
                        idle = 0;
                        written = MIN(written, (uint64_t)n - off);
                        off += written;
                        total += written;
                }
        }
        if (c->args->close_stdin && descartes_stdin(c->client, id, NULL, 0, true, NULL, &e) < 0)
                return ctl_report(&e, "cannot close the stdin of agent %s", id);
        if (ctl_json_mode(c)) {
                /* the CLI's own summary, not a protocol result */
                JsonWriter w;
                json_writer_init(&w, stdout);
                json_writer_object_begin(&w);
                json_writer_kv_string(&w, "agent", id);
                json_writer_kv_uint(&w, "written", total);
                json_writer_kv_bool(&w, "closed", c->args->close_stdin);
                json_writer_object_end(&w);
                fputc('\n', stdout);
        }
        return 0;
}

static int run(Ctl *c)
{
        return ctl_for_each_agent(c, send_stdin);
}

const CtlVerb ctl_verbs_stdin[] = {
        {
                .name = "stdin",
                .rank = 100,
                .summary = "  stdin [--close] AGENT       send this program's stdin to the agent's\n",
                .help = "Usage: descartesctl stdin [--close] AGENT\n"
                        "\n"
                        "Send this program's stdin to the agent's stdin (the agent must have been spawned\n"
                        "with -i), in chunks of at most 1 MiB.\n"
                        "\n"
                        "  --close    close the agent's stdin after everything was sent\n",
                .options = options,
                .arguments = ctl_arguments_one_agent,
                .run = run,
        },
        {},
};
