/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The shim's end of an agent's action channel (shim-contract.h, docs/agent-protocol.md): lines to the agent,
 * its answers matched to the actions in flight, held while no daemon asked for them (a daemon restarting).
 * Everything the agent writes is bounded and checked; a hostile agent can only lose its own answers. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "shim-contract.h"

typedef struct ShimAction ShimAction;

typedef struct ShimActionSink {
        /* sends one message to the daemon, if connected: 0 or -errno */
        int (*send)(void *userdata, const void *msg, size_t n);
        void *userdata;
} ShimActionSink;

/* A socketpair: the shim's end in *ret, the agent's (CLOEXEC) in *ret_agent_fd. */
int shim_action_new(const ShimActionSink *sink, ShimAction **ret, int *ret_agent_fd);
ShimAction *shim_action_free(ShimAction *a);

/* The agent's environment with DESCARTES_ACTION_FD=SHIM_ACTION_FD (any value it had replaced), in a new
 * array whose strings are env's (the array alone is freed). */
int shim_action_env(char *const *env, char ***ret);

/* The fd to poll and its events (0: nothing to poll). */
int shim_action_poll_fd(const ShimAction *a, short *ret_events);
/* Reads and writes the channel as revents says. */
void shim_action_io(ShimAction *a, short revents);

/* An ACTION from the daemon (data: the line for the agent). */
void shim_action_handle(ShimAction *a, const ShimMsgAction *m, const uint8_t *data, size_t n);
/* A new daemon connection: the actions in flight wait for it to ask for them again (answers are held). */
void shim_action_reconnected(ShimAction *a);
/* The daemon agreed on version (WELCOME): from 4 on it is told the channel's state. */
void shim_action_welcome(ShimAction *a, uint32_t version);

/* Drops the expired actions and sends a due state; the poll timeout until the next expiry (-1: none). */
int shim_action_tick(ShimAction *a);
