/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Commands of exec on a terminal of their own (`attach` with exec_argv; the shim's EXEC_TTY,
 * shim-contract.h): the daemon's record of each, per agent. Each is named by its exec id under its agent
 * (the EXEC_TTY cookie: unique for the agent, also across daemon restarts). Its output is an output log of
 * its own, STATE/agents/ID/exec/EXEC_ID, which attachments read as they read the agent's (attachment.h).
 *
 * A command runs until it exits or its agent ends, attached or not. Its end (EXEC_DONE) closes its
 * attachments with its exit code; the record stays, so that a client coming back gets the rest of its output
 * and its code, until PROTO_EXEC_TTYS_ENDED_MAX newer ones of the agent have ended (then its directory is
 * removed) or the agent is removed. A daemon that restarts learns the running ones (and those that ended
 * while it was away) from the shim's EXEC_TTY_LIST after the handshake; until then `known` is false. The
 * ended records of an earlier daemon are forgotten then, and their directories removed. */

#include <stdbool.h>
#include <stdint.h>

#include "failure.h"
#include "manager.h"
#include "shim-contract.h"

typedef struct ExecTty {
        struct ExecTty *next;
        uint64_t id;       /* the EXEC_TTY cookie */
        uint64_t last_seq; /* the newest record of its log the shim told of */
        bool ended;
        int status; /* its wait status once ended; -1: it did not start, or its end is unknown */
} ExecTty;

typedef struct ExecTtys {
        ExecTty *list; /* newest first */
        bool known;    /* the shim's EXEC_TTY_LIST came on this connection (or the agent started under it) */
} ExecTtys;

/* The shim protocol version with EXEC_TTY. */
#define SHIM_VERSION_EXEC_TTY 5

/* Starts argv (NULL-terminated) on a terminal of rows x cols (0: 24x80) in the agent's sandbox: the new
 * record in *ret, or -errno with *ret_failure (conflict: not running, shim too old or away; limit_exceeded:
 * PROTO_EXEC_TTYS_MAX running). */
int exec_tty_start(Agent *a, char *const *argv, uint32_t rows, uint32_t cols, ExecTty **ret,
                   Failure *ret_failure);
ExecTty *exec_tty_find(Agent *a, uint64_t id);
/* Its log directory, opened (O_DIRECTORY): the caller closes it. */
int exec_tty_open_dir(Agent *a, const ExecTty *x);
int exec_tty_send_input(Agent *a, const ExecTty *x, const void *data, size_t size);
int exec_tty_send_resize(Agent *a, const ExecTty *x, uint32_t rows, uint32_t cols);

/* From the shim: EXEC_TTY_OUTPUT, EXEC_DONE (true when it was a terminal's), EXEC_TTY_LIST. */
void exec_tty_output(Agent *a, const ShimMsgExecTtyOutput *m);
bool exec_tty_done(Agent *a, const ShimMsg *m);
void exec_tty_list(Agent *a, const ShimMsg *m);
/* The shim's connection is gone: the next one's list tells what runs. */
void exec_ttys_unknown(Agent *a);
/* Frees the records (the agent is freed; its state dir goes with it). */
void exec_ttys_free(Agent *a);
