/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Remote clients: the daemon's CURVE key pair and the allow list of client keys, each mapped to a tenant.
 *
 * `listen` names tcp:// endpoints; they are bound on the control ROUTER with ZMQ_CURVE_SERVER and the ZAP
 * domain ZAP_DOMAIN_CURVE (libzmq copies a socket's options into a listener when it binds, so the ipc
 * endpoint bound before keeps NULL and the domain ZAP_DOMAIN). The ZAP handler (zap.c) looks the client's
 * public key up here and answers with the tenant's uid as User-Id: from there on a remote caller is that
 * uid, with every rule an ipc caller of that uid meets.
 *
 * The secret key file must be a regular file owned by root and not readable by group or others. The allow
 * list is a directory of NAME.client files ("public-key = Z85", "tenant = USER-OR-UID"); a file that does
 * not parse, a tenant that does not resolve or a key listed twice is skipped with a warning. SIGHUP loads
 * both again: a removed key cannot connect any more and its open connections are refused at their next
 * request (the ZAP handler tags each CURVE connection with its key, see zap.c); a changed secret key rebinds
 * the tcp endpoints, which closes their open connections. */

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "curve-key.h"

typedef struct Manager Manager;

typedef struct CurveClient {
        char public_key[CURVE_KEY_Z85_SIZE];
        uid_t uid;
        char *name; /* the file's NAME, for the log */
} CurveClient;

typedef struct CurveKeys {
        char secret_key[CURVE_KEY_Z85_SIZE];
        char public_key[CURVE_KEY_Z85_SIZE];
        CurveClient *clients;
        size_t n_clients;
} CurveKeys;

/* Loads the secret key file and the allow list directory. Errors are logged: -EPERM for a secret key file
 * others may read, -EINVAL for one that does not parse. */
int curve_keys_load(const char *secret_key_path, const char *clients_dir, CurveKeys **ret);
CurveKeys *curve_keys_free(CurveKeys *k);
static inline void curve_keys_freep(CurveKeys **k)
{
        if (*k)
                curve_keys_free(*k);
}

/* The client whose public key is key (40 Z85 characters), or NULL. */
const CurveClient *curve_keys_find(const CurveKeys *k, const char *key);

/* Loads the keys when `listen` names endpoints, before any socket exists. Refuses, with a logged reason,
 * tcp without curve_secret_key and curve_clients_dir (plain tcp), and keys that do not load. */
int curve_listen_prepare(Manager *m);
/* Binds the `listen` endpoints on the control socket with CURVE; the ipc endpoint must be bound already. */
int curve_listen_bind(Manager *m);
/* SIGHUP: loads the keys again; on failure keeps the current ones (logged). */
void curve_keys_reload(Manager *m);
