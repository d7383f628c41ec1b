/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Shared helpers of the integration tests: a harness per test group plus a libdescartes client on it (the
 * wire-level calls of descartes-wire.h, so that the tests read the protocol model). */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "descartes-wire.h"
#include "harness.h"

typedef struct ITest {
        Harness *h;
        DescartesClient *c;
        unsigned partial_replies; /* output replies cut short, seen by itest_output_lines() */
} ITest;

/* cmocka group setup/teardown: start a private daemon and a client; teardown cleans everything. Exits 77
 * (skipped) where the harness cannot run. */
int itest_setup(void **state);
/* The same with the daemon started as o says (itest_setup's small output budget is not implied). */
int itest_setup_with(const HarnessOptions *o, void **state);
int itest_teardown(void **state);

/* Spawns argv (NULL-terminated) through the library with PATH set; returns the new agent id (malloc'd). */
char *itest_spawn(ITest *t, bool open_stdin, const char *const *argv);
/* Waits until the agent is in a final state (exited or failed) and returns its info. */
void itest_wait_final(ITest *t, const char *id, unsigned timeout_ms, ProtoAgentInfo *ret);
/* Reads the whole output of one stream through the library in lines mode, paging with offset. */
char **itest_output_lines(ITest *t, const char *id, ProtoStream stream, size_t *ret_n);
/* Waits (10 s at most) until the agent has written a line on stdout: a shell agent that says "ready" after a
 * trap has set it, where a signal sent any earlier would end it. */
void itest_wait_ready(ITest *t, const char *id);
/* The agent's cgroup directory (absolute), from its info. */
char *itest_agent_cgroup(ITest *t, const char *id);
void itest_sleep_ms(unsigned ms);
