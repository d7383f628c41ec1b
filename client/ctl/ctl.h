/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* descartesctl: a generic command line parser (ctl-args.c) over a table of verbs (ctl-verbs.c). A verb is
 * one row, a CtlVerb, in a verb file (verb-NAME.c, or a row of verb-agent-ops.c for a plain per-agent op):
 * its name, its line in the main help and its own help text, its options (a table the parser reads), how it
 * takes its positional arguments, and its run function. Parsing has no side effects, so that it can be
 * tested on literal argv; the CLI uses only the public libdescartes API (descartes.h). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "descartes/descartes.h"

typedef enum CtlFormat {
        CTL_FORMAT_TABLE,
        CTL_FORMAT_JSON,
        _CTL_FORMAT_MAX,
        _CTL_FORMAT_INVALID = -EINVAL,
} CtlFormat;

/* The environment an agent gets when --env-inherit is not given, before the --env options. */
#define CTL_DEFAULT_PATH     "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define CTL_DEFAULT_TERM     "dumb"
#define CTL_DEFAULT_TTY_TERM "xterm"

typedef struct CtlVerb CtlVerb;

/* What a spawn sends: the strings are owned here; env and labels are "KEY=VALUE" lists with one entry per
 * key (a later option replaces an earlier value in place). */
typedef struct CtlSpawn {
        char **argv;
        size_t n_argv;
        char **env;
        char **labels;
        char *name;
        char *cwd;
        char *workspace;
        char *policy;
        char *user;
        bool has_cpu;
        uint64_t cpu_millicores;
        bool has_memory;
        uint64_t memory;
        bool has_swap;
        uint64_t swap;
        bool has_pids;
        uint64_t pids;
        bool has_timeout_ms;
        uint64_t timeout_ms;
        bool has_net;
        DescartesNet net;
        bool open_stdin;
        char *backend; /* --backend and its values, instead of a command */
        char *task;
        char *model;
        char *system_prompt;
        bool tty;
        char *health_cmd; /* run as sh -c HEALTH_CMD */
        bool has_health_interval_ms;
        uint64_t health_interval_ms;
        bool has_health_timeout_ms;
        uint64_t health_timeout_ms;
        bool has_health_retries;
        uint64_t health_retries;
        bool has_idle_timeout_ms;
        uint64_t idle_timeout_ms;
        bool has_on_unhealthy;
        DescartesOnUnhealthy on_unhealthy;
} CtlSpawn;

/* The parsed command line: global options, then the values verbs' options set (named by option, so that
 * verbs taking the same option share its field). */
typedef struct CtlArgs {
        bool help;    /* -h: print help (of `verb` when set) and exit 0 */
        bool version; /* --version */
        const CtlVerb *verb;

        char *host;       /* -H/--host */
        char *events;     /* --events */
        char *server_key; /* --server-key: a tcp daemon's public key or its file */
        char *client_key; /* --key: our secret key file */
        char *keygen_out; /* keygen --out PREFIX */
        CtlFormat format;
        uint64_t timeout_usec; /* --timeout; 0: the library's per-op defaults */

        /* the AGENT arguments: one for most verbs, one or more for rm, zero or one for events */
        char **agents;
        size_t n_agents;

        bool all;      /* -a */
        bool usage;    /* --usage of ps */
        char **labels; /* --label of ps: "KEY=VALUE", one per key */
        bool has_state;
        DescartesState state;

        CtlSpawn spawn;
        bool env_inherit;
        bool wait;
        bool attach;

        bool has_grace;
        uint64_t grace_ms;

        int signal;

        bool close_stdin;

        char *action_name;    /* action AGENT NAME */
        char **action_params; /* --param "KEY=VALUE", one per key */
        char *action_json;    /* --json */
        bool has_action_timeout;
        uint64_t action_timeout_ms;

        DescartesStream stream;
        bool has_tail;
        uint64_t tail;
        bool follow;
        bool raw;
        char *grep;

        bool stop_agents;

        /* exec AGENT -- CMD... */
        char **exec_argv;
        bool exec_stdin; /* -i */
        bool has_exec_timeout;
        uint64_t exec_timeout_ms;
        char *detach_keys;       /* attach --detach-keys; NULL: CTL_DETACH_KEYS_DEFAULT */
        bool read_only;          /* attach --read-only */
        uint64_t attach_exec_id; /* attach --exec: a command's terminal */
        bool exec_tty;           /* exec -t */
        bool once;               /* top --once */
        char top_sort;           /* top --sort: 'c' cpu, 'm' memory, 'n' name, 'u' uptime; 0: cpu */

        char **complete_words; /* __complete WHAT [VERB] */
} CtlArgs;

/* The parser's state, handed to option and argument callbacks: the CLI's environment and the buffer for a
 * usage error. */
typedef struct CtlParse {
        char **environ_;
        char *errbuf;
        size_t errbuf_size;
} CtlParse;

/* Writes one sentence into p->errbuf and returns r. */
int ctl_fail(CtlParse *p, int r, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

typedef struct CtlOption {
        const char *name; /* the long option */
        int short_name;   /* 0: none */
        bool has_arg;
        /* Stores arg (NULL without has_arg) in a: 0, or a negative errno with p->errbuf filled. */
        int (*apply)(CtlArgs *a, const char *arg, CtlParse *p);
} CtlOption;

typedef struct Ctl Ctl;

typedef int (*CtlAgentOp)(DescartesClient *c, const char *agent, DescartesAgent **ret, DescartesError *e);

struct CtlVerb {
        const char *name;
        int rank;                 /* its place in the main help (verbs are listed by rank) */
        const char *summary;      /* its line(s) under "Commands:" in descartesctl --help */
        const char *help;         /* descartesctl VERB --help, before the global options line */
        const CtlOption *options; /* its own options, ending with a row without a name; NULL: none */
        bool own_timeout;         /* --timeout after the verb is one of its options, not the request's */
        bool stop_at_args;        /* the first positional argument ends the options (spawn's command) */
        bool hidden;              /* not in the main help (__complete, for the shell completions) */
        bool command_args;        /* its positional arguments are a command, not AGENTs (completions) */
        /* Takes the positional arguments (and checks the options together): 0 or -errno and p->errbuf. */
        int (*arguments)(CtlArgs *a, char **args, size_t n_args, CtlParse *p);
        /* Runs the verb; returns the process exit code (errors are reported on stderr). */
        int (*run)(Ctl *c);
        /* verb-agent-ops.c: the library call run on each AGENT, and its name in a failure */
        CtlAgentOp agent_op;
        const char *agent_op_what;
};

/* Every verb in the order of the main help, NULL-terminated. */
const CtlVerb *const *ctl_verb_list(void);
const CtlVerb *ctl_verb_from_string(const char *s);

/* Parses argv (argv[0] is the program). environ_ is the CLI's own environment, used only by --env-inherit
 * and --env NAME (without '='). On a usage error returns -EINVAL and writes one sentence to errbuf; on
 * -ENOMEM likewise. *ret is filled even on failure (free with ctl_args_done()). */
int ctl_args_parse(int argc, char **argv, char **environ_, CtlArgs *ret, char *errbuf, size_t errbuf_size);
void ctl_args_done(CtlArgs *a);

/* Prints the global options for the shell completions: one spelling per line, "WORD\tN" (N: 1 when it takes
 * an argument). */
void ctl_print_global_options(FILE *f);

/* Help texts. */
void ctl_help_main(FILE *f);
void ctl_help_verb(const CtlVerb *v, FILE *f);

/* ---- helpers for argument callbacks (ctl-args.c) ---- */

/* Exactly one AGENT, at least one, at most one. */
int ctl_arguments_one_agent(CtlArgs *a, char **args, size_t n_args, CtlParse *p);
int ctl_arguments_agents(CtlArgs *a, char **args, size_t n_args, CtlParse *p);
int ctl_arguments_none(CtlArgs *a, char **args, size_t n_args, CtlParse *p);
/* Appends AGENT arguments, checking their length. */
int ctl_set_agents(CtlArgs *a, char **args, size_t n_args, CtlParse *p);
/* "KEY=VALUE" into a list where KEY is unique: a later value replaces the earlier one in place. */
int ctl_parse_pair(const char *what, const char *s, size_t key_max, size_t value_max, char ***l,
                   CtlParse *p);
/* The value of KEY in such a list, or NULL. */
const char *ctl_pairs_get(char *const *l, const char *key);
int ctl_parse_u64(const char *s, uint64_t *ret);
int ctl_parse_duration_ms(const char *opt, const char *s, uint64_t *ret, CtlParse *p);
/* strdup()s arg into *field, replacing its value. */
int ctl_set_string(char **field, const char *arg, CtlParse *p);
/* --label K=V into a->labels. */
int ctl_option_label(CtlArgs *a, const char *arg, CtlParse *p);

/* ---- running ---- */

struct Ctl {
        const CtlArgs *args;
        DescartesClient *client;
        /* A subscription to every event opened before a spawn --wait/--attach, so that an agent that ends at
         * once cannot publish its end before we listen (a SUB socket joins some time after it connects).
         * The next wait or stream takes it over. */
        DescartesSubscription *presubscribed;
};

/* Runs the parsed verb; returns the process exit code. */
int ctl_run(Ctl *c);
/* For each AGENT argument: resolves it, then calls fn with its id. Goes on after a failure and returns the
 * first failure's code. */
int ctl_for_each_agent(Ctl *c, int (*fn)(Ctl *c, const char *id));

static inline bool ctl_json_mode(const Ctl *c)
{
        return c->args->format == CTL_FORMAT_JSON;
}

/* Prints "descartesctl: CONTEXT: MESSAGE" (just the message for transport errors) and returns the exit code
 * for e. */
int ctl_report(const DescartesError *e, const char *context_fmt, ...) __attribute__((format(printf, 2, 3)));

/* Turns an AGENT argument into an agent id (a full id is taken as it is; names and prefixes through a list
 * of every agent). Returns 0 or an exit code, reported. */
int ctl_resolve(Ctl *c, const char *ref, char **ret_id);

/* Prints a JSON text from one of the library's _to_json() functions as one line: 0, or an exit code. */
int ctl_print_json(int r, char *json);
#define CTL_PRINT_JSON(to_json, obj)                                                                        \
        ({                                                                                                  \
                char *_json = NULL;                                                                         \
                int _r = to_json((obj), &_json); /* before _json is read */                                 \
                ctl_print_json(_r, _json);                                                                  \
        })

/* The result of an op on one agent: its id for people and shell scripts, its record with -o json. */
int ctl_print_agent_result(const Ctl *c, const DescartesAgent *a);

/* Runs one op on agent `id` and prints its result; `what` names it in a failure ("cannot WHAT agent ID"). */
typedef int (*CtlAgentCall)(Ctl *c, const char *id, DescartesAgent **ret, DescartesError *e);
int ctl_agent_op(Ctl *c, const char *id, const char *what, CtlAgentCall call);

/* Streams output of agent `id`: lines or raw, once or following until the agent has ended. On success
 * returns 0 and, when ret_final is not NULL, the agent's final record (follow mode only). */
typedef struct CtlStreamOptions {
        DescartesStream stream;
        bool raw;
        bool follow;
        bool has_tail;
        uint64_t tail;
        const char *grep;
        bool json;
} CtlStreamOptions;

int ctl_stream_output(Ctl *c, const char *id, const CtlStreamOptions *o, DescartesAgent **ret_final);

/* Joins the terminal of agent `id` (attach, spawn -it) until the detach keys (CTL_DETACH_KEYS_DEFAULT
 * without args->detach_keys) or the agent's end; returns the exit code: 0 after a detach, the agent's (as
 * --wait) after its end. */
#define CTL_DETACH_KEYS_DEFAULT "ctrl-p,ctrl-q"
#define CTL_DETACH_KEYS_MAX     16
int ctl_attach_session(Ctl *c, const char *id);

/* A session on a terminal (ctl-session.c): the agent's (attach, spawn -it) or a command's (exec -t, attach
 * --exec). */
typedef struct CtlSession {
        const char *agent;            /* its id */
        const char *const *exec_argv; /* start this command on a terminal of its own (exec -t) */
        uint64_t exec_id;             /* or join the one started before with this id (attach --exec) */
        bool read_only;               /* no keys, no window size (attach --read-only) */
        bool input;                   /* keys are forwarded (the local terminal raw while they are) */
} CtlSession;
/* Until the detach keys or the end: 0 after a detach; at the end the agent's code (as --wait) or the
 * command's (128+N for signal N). */
int ctl_session_run(Ctl *c, const CtlSession *spec);
/* Parses a --detach-keys value ("ctrl-p,ctrl-q", "ctrl-@", "a,b": keys separated by commas) into at most
 * `max` bytes: their count, or -EINVAL. */
int ctl_parse_detach_keys(const char *s, uint8_t *ret, size_t max);
/* The --detach-keys option of attach, exec and spawn. */
int ctl_option_detach_keys(CtlArgs *a, const char *arg, CtlParse *p);

/* Waits until agent `id` has ended; *ret is its final record. Returns 0 or an exit code, reported. */
int ctl_wait_agent(Ctl *c, const char *id, DescartesAgent **ret);
