/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The daemon's side of an agent's sandbox: who it runs as, which directory it may write, and which seccomp
 * filter it gets, decided from the request and the configuration before anything is created. The shim
 * builds it (supervisor/shim/shim-prepare.h). */

#include <stdbool.h>
#include <sys/types.h>

#include "failure.h"
#include "manager.h"
#include "proto.h"
#include "seccomp-bpf.h"

typedef struct AgentSandbox {
        uid_t uid; /* the agent runs as uid:gid, no supplementary groups */
        gid_t gid;
        char *user;            /* the passwd name, NULL without an entry */
        char *workspace;       /* a directory the caller named; NULL: STATE/agents/ID/work */
        uid_t workspace_owner; /* what the shim checks on the named workspace; (uid_t)-1: no check */
        SeccompBpf *seccomp;   /* the compiled policy */
        /* a root caller's agent without `user`, with agent_uids set: uid and gid are claimed from the pool
         * at spawn (uid_pool_claim), and a named workspace is idmapped to them */
        bool dynamic_uid;
        bool workspace_idmap;
} AgentSandbox;

void agent_sandbox_done(AgentSandbox *sb);

/* At start: the seccomp cache and the default policy compiled once (unknown names logged), and the default
 * limits of the configuration checked against the controllers the cgroup root has. Logs what fails. */
int sandbox_setup_check(Manager *m);

/* Validates the sandbox part of a spawn request by caller_uid. On failure fills *ret_failure (the reply's
 * code and message) and returns its error. */
int sandbox_resolve(Manager *m, uid_t caller_uid, const ProtoSpawnArgs *args, AgentSandbox *ret,
                    Failure *ret_failure);
