/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Backends: named command templates for agent CLIs, from the config, so that a client asks for
 * `--backend claude --task "fix the build"` instead of spelling out the CLI's flags.
 *
 *   backend.claude     = claude -p {task} [--model {model}] [--append-system-prompt {system_prompt}]
 *   backend.claude.env = ANTHROPIC_API_KEY
 *
 * A template is words split at blanks; "double quotes" keep blanks in a word (\" and \\ inside them); a word
 * may hold placeholders ({task}, {model}, {system_prompt}; {{ and }} are literal braces), each replaced by
 * the request's value as it is, never split. Words between a standalone `[` and `]` are dropped together
 * when a placeholder in them has no value; outside brackets a missing value is an error, and so is a value
 * the template has no place for. `.env` names variables of the daemon's own environment (API keys: set them
 * in the unit, e.g. EnvironmentFile=) passed to the agent; their values are never stored in agent records or
 * logs. Pure: config.c parses, ops-agent.c expands. */

#include <stdbool.h>
#include <stddef.h>

#include "failure.h"
#include "proto.h"

typedef enum BackendPlaceholder {
        BACKEND_TASK,
        BACKEND_MODEL,
        BACKEND_SYSTEM_PROMPT,
        _BACKEND_PLACEHOLDER_MAX,
} BackendPlaceholder;

#define BACKENDS_MAX      64
#define BACKEND_WORDS_MAX 256
#define BACKEND_ENV_MAX   64

typedef struct Backend {
        char *name;
        char **words;    /* the template's words, placeholders unexpanded; NULL until `backend.NAME =` */
        unsigned *group; /* per word: 0 outside brackets, else the number of its bracket group */
        unsigned *uses;  /* per word: the placeholders it holds (1 << BackendPlaceholder) */
        size_t n_words;
        char **env; /* names of the daemon's environment variables passed through */
        size_t n_env;
} Backend;

typedef struct BackendTable {
        Backend *backends; /* in file order */
        size_t n;
} BackendTable;

const char *backend_placeholder_to_string(BackendPlaceholder p);

/* True for "backend.*" keys, which backend_table_set() takes. */
bool backend_key(const char *key);
/* Sets backend.NAME (the template) or backend.NAME.env. -EINVAL: a bad key or value, with *ret_expect
 * saying what was expected; -ENOMEM. */
int backend_table_set(BackendTable *t, const char *key, const char *value, const char **ret_expect);
/* -EINVAL with the first backend that has .env but no template named in *ret_name. */
int backend_table_check(const BackendTable *t, const char **ret_name);
void backend_table_done(BackendTable *t);
const Backend *backend_table_find(const BackendTable *t, const char *name);
/* Warns of each backend.NAME.env variable the daemon's environment lacks (its spawns would fail). */
void backend_table_log_missing_env(const BackendTable *t);

/* The argv of b for values[] (NULL: none given): a NULL-terminated strv in *ret. On a request that does not
 * fit the template (a missing value, a value with no place) fills f with bad_request and returns -EINVAL. */
int backend_expand(const Backend *b, const char *const values[_BACKEND_PLACEHOLDER_MAX], char ***ret,
                   size_t *ret_n, Failure *f);

/* Makes a spawn request's argv from its backend (args->has_backend) in t: the template filled, the variables
 * of backend.NAME.env from the daemon's environment added to args->env unless the request sets them. On a
 * refusal (unknown backend, a value missing or with no place, a variable the daemon lacks) fills f. */
int backend_apply(const BackendTable *t, ProtoSpawnArgs *args, Failure *f);
