/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* descartesd: the agent supervisor. Parses options, blocks signals, and runs the Manager's loop. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "analyzer.h"
#include "config.h"
#include "log-journal.h"
#include "log.h"
#include "manager.h"
#include "string-util.h"

static const char *arg_config_path = DESCARTES_CONFIG_PATH;
static bool arg_config_given;
static int arg_log_level = -1; /* -1: the configuration's log_level */
static Config arg_overrides;   /* options given on the command line win over the config file */

static void help(void)
{
        printf("Usage: descartesd [OPTIONS]\n\n"
               "Runs AI agents in sandboxes and serves the descartes control protocol over ZeroMQ.\n\n"
               "  --state-dir DIR     agent records and logs (default " DESCARTES_DEFAULT_STATE_DIR ")\n"
               "  --runtime-dir DIR   sockets and the lock (default " DESCARTES_DEFAULT_RUNTIME_DIR ")\n"
               "  --control ENDPOINT  control endpoint (default ipc://RUNTIME_DIR/control)\n"
               "  --events ENDPOINT   obsolete and ignored (events come over the control endpoint)\n"
               "  --cgroup-driver systemd|cgroupfs\n"
               "                      who makes agents' cgroups (default: systemd under systemd)\n"
               "  --cgroup-root DIR   cgroup v2 directory to manage, cgroupfs (default: our own cgroup)\n"
               "  --config FILE       configuration (default " DESCARTES_CONFIG_PATH ")\n"
               "  --shim PATH         the descartes-shim binary (default " DESCARTES_SHIM_PATH ")\n"
               "  --policy-dir DIR    policies: DIR/seccomp/NAME.json (default " DESCARTES_POLICY_DIR ")\n"
               "  --log-level LEVEL   debug, info (default), notice, warning, err, crit, alert, emerg;\n"
               "                      wins over log_level in the configuration\n"
               "  --debug             the same as --log-level debug\n"
               "  -h, --help          this help\n"
               "  --version           the version\n");
}

static int parse_argv(int argc, char *argv[], char **ret_shim)
{
        enum {
                ARG_STATE = 0x100,
                ARG_RUNTIME,
                ARG_CONTROL,
                ARG_EVENTS,
                ARG_CGROUP,
                ARG_CGROUP_DRIVER,
                ARG_CONFIG,
                ARG_SHIM,
                ARG_POLICY_DIR,
                ARG_DEBUG,
                ARG_LOG_LEVEL,
                ARG_VERSION
        };
        static const struct option options[] = {
                {"state-dir", required_argument, NULL, ARG_STATE},
                {"runtime-dir", required_argument, NULL, ARG_RUNTIME},
                {"control", required_argument, NULL, ARG_CONTROL},
                {"events", required_argument, NULL, ARG_EVENTS},
                {"cgroup-root", required_argument, NULL, ARG_CGROUP},
                {"cgroup-driver", required_argument, NULL, ARG_CGROUP_DRIVER},
                {"config", required_argument, NULL, ARG_CONFIG},
                {"shim", required_argument, NULL, ARG_SHIM},
                {"policy-dir", required_argument, NULL, ARG_POLICY_DIR},
                {"debug", no_argument, NULL, ARG_DEBUG},
                {"log-level", required_argument, NULL, ARG_LOG_LEVEL},
                {"help", no_argument, NULL, 'h'},
                {"version", no_argument, NULL, ARG_VERSION},
                {},
        };
        char **field;
        int c;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
                switch (c) {
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        printf("descartesd %s (protocol %d)\n", DESCARTES_VERSION,
                               DESCARTES_PROTOCOL_VERSION);
                        return 0;
                case ARG_DEBUG:
                        arg_log_level = LOG_DEBUG;
                        log_set_max_level(LOG_DEBUG);
                        continue;
                case ARG_LOG_LEVEL:
                        arg_log_level = log_level_from_string(optarg);
                        if (arg_log_level < 0) {
                                log_error("--log-level: \"%s\" is not a level (debug, info, notice, "
                                          "warning, err, "
                                          "crit, alert, emerg).",
                                          optarg);
                                return -EINVAL;
                        }
                        log_set_max_level(arg_log_level);
                        continue;
                case ARG_CONFIG:
                        arg_config_path = optarg;
                        arg_config_given = true;
                        continue;
                case ARG_STATE:
                        field = &arg_overrides.state_dir;
                        break;
                case ARG_RUNTIME:
                        field = &arg_overrides.runtime_dir;
                        break;
                case ARG_CONTROL:
                        field = &arg_overrides.control;
                        break;
                case ARG_EVENTS:
                        field = &arg_overrides.events;
                        break;
                case ARG_CGROUP:
                        field = &arg_overrides.cgroup_root;
                        break;
                case ARG_CGROUP_DRIVER:
                        field = &arg_overrides.cgroup_driver;
                        break;
                case ARG_SHIM:
                        field = ret_shim;
                        break;
                case ARG_POLICY_DIR:
                        if (optarg[0] != '/') {
                                log_error("--policy-dir must be an absolute path.");
                                return -EINVAL;
                        }
                        field = &arg_overrides.policy_dir;
                        break;
                case '?':
                        return -EINVAL;
                default:
                        return -EINVAL;
                }
                free(*field);
                /* analyzer false positive: the override owns the copy (a pointer stored through a pointer,
                 * lost by the analyzer) */
                ANALYZER_IGNORE_LEAK_BEGIN
                *field = strdup(optarg);
                if (!*field)
                        return log_oom();
                ANALYZER_IGNORE_END
        }
        if (optind < argc) {
                log_error("Unexpected argument \"%s\"; see descartesd --help.", argv[optind]);
                return -EINVAL;
        }
        return 1;
}

static int apply_overrides(Config *c)
{
        char **pairs[][2] = {
                {&c->state_dir, &arg_overrides.state_dir},
                {&c->runtime_dir, &arg_overrides.runtime_dir},
                {&c->control, &arg_overrides.control},
                {&c->events, &arg_overrides.events},
                {&c->cgroup_root, &arg_overrides.cgroup_root},
                {&c->policy_dir, &arg_overrides.policy_dir},
                {&c->cgroup_driver, &arg_overrides.cgroup_driver},
        };

        for (size_t i = 0; i < ELEMENTSOF(pairs); i++) {
                if (!*pairs[i][1])
                        continue;
                free(*pairs[i][0]);
                /* analyzer false positive: the override owns the copy (a pointer stored through a parameter,
                 * lost by the analyzer) */
                ANALYZER_IGNORE_LEAK_BEGIN
                *pairs[i][0] = strdup(*pairs[i][1]);
                if (!*pairs[i][0])
                        return -ENOMEM;
                ANALYZER_IGNORE_END
        }
        return 0;
}

/* Builds the configuration: defaults, then the file, then the command line. Used at start and on SIGHUP. */
int descartesd_load_config(Config *ret, Failure *ret_failure)
{
        _cleanup_(config_done) Config c = {};
        int r;

        config_init_defaults(&c);
        r = config_load_file(&c, arg_config_path, !arg_config_given, ret_failure);
        if (r < 0)
                return r;
        r = apply_overrides(&c);
        if (r < 0)
                return r;
        if (arg_log_level >= 0)
                c.log_level = arg_log_level;
        if (!c.state_dir && !(c.state_dir = strdup(DESCARTES_DEFAULT_STATE_DIR)))
                return -ENOMEM;
        if (!c.runtime_dir && !(c.runtime_dir = strdup(DESCARTES_DEFAULT_RUNTIME_DIR)))
                return -ENOMEM;
        if (!c.control && asprintf_safe(&c.control, "ipc://%s/control", c.runtime_dir) < 0)
                return -ENOMEM;
        /* analyzer false positive: the strings moved to *ret with the struct; the analyzer loses them in the
         * copy */
        ANALYZER_IGNORE_LEAK_BEGIN
        *ret = c;
        c = (Config){};
        ANALYZER_IGNORE_END
        return 0;
}

int main(int argc, char *argv[])
{
        _cleanup_(manager_freep) Manager *m = NULL;
        _cleanup_(config_done) Config config = {};
        _cleanup_free_ char *shim = NULL;
        Failure fail = {};
        sigset_t mask;
        int r;

        log_set_ident("descartesd");
        /* under systemd each line an entry with its fields; "<N>" lines on stderr if the journal refuses one
         */
        if (log_stderr_is_journal()) {
                log_set_journal_prefix(1);
                log_set_sink(log_journal_sink);
        }

        r = parse_argv(argc, argv, &shim);
        if (r <= 0)
                return r < 0 ? 2 : 0;

        if (geteuid() != 0) {
                log_error("descartesd must run as root: it creates cgroups and namespaces for agents.");
                return 1;
        }

        /* libzmq's I/O threads inherit the mask: block before the context exists, or they would take the
         * signals that sd-event waits for. */
        sigemptyset(&mask);
        sigaddset(&mask, SIGCHLD);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        sigaddset(&mask, SIGPIPE);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return log_error_errno(-errno, "Failed to block signals: %m"), 1;

        r = descartesd_load_config(&config, &fail);
        if (r < 0) {
                log_error_errno(r, "Invalid configuration: %s",
                                failure_is_set(&fail) ? fail.msg : strerror(-r));
                return 1;
        }

        log_set_max_level(config.log_level);
        r = manager_new(&config, shim ?: DESCARTES_SHIM_PATH, &m);
        if (r < 0)
                return 1; /* manager_new logged why */
        r = manager_run(m);
        config_done(&arg_overrides);
        return r < 0 ? 1 : 0;
}
