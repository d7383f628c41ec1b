/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "ctl-args.h"
#include "ctl-exit.h"

typedef struct Ctl {
        const CtlArgs *args;
        DescartesClient *client;
        /* A subscription to every event opened before a spawn --wait/--attach, so that an agent that ends at
         * once cannot publish its end before we listen (a SUB socket joins some time after it connects).
         * The next wait or stream takes it over. */
        DescartesSubscription *presubscribed;
} Ctl;

/* Runs the parsed command; returns the process exit code. Errors are reported on stderr here. */
int ctl_run(Ctl *c);

/* Prints "descartesctl: CONTEXT: MESSAGE" (just the message for transport errors) and returns the exit code
 * for e. */
int ctl_report(const DescartesError *e, const char *context_fmt, ...) __attribute__((format(printf, 2, 3)));

/* Turns an AGENT argument into an agent id (a full id is taken as it is; names and prefixes through a list
 * of every agent). Returns 0 or an exit code, reported. */
int ctl_resolve(Ctl *c, const char *ref, char **ret_id);

/* Streams output of agent `id`: lines or raw, once or following until the agent has ended. On success
 * returns 0 and, when ret_final is not NULL, the agent's final record (follow mode only). */
typedef struct CtlStreamOptions {
        ProtoStream stream;
        bool raw;
        bool follow;
        bool has_tail;
        uint64_t tail;
        const char *grep;
        bool json;
} CtlStreamOptions;

int ctl_stream_output(Ctl *c, const char *id, const CtlStreamOptions *o, ProtoAgentInfo *ret_final);

/* Waits until agent `id` has ended; *ret is its final record. Returns 0 or an exit code, reported. */
int ctl_wait_agent(Ctl *c, const char *id, ProtoAgentInfo *ret);
