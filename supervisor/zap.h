/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The ZAP handler (ZeroMQ RFC 27) that names every caller. On ipc, libzmq puts the peer's SO_PEERCRED
 * "uid:gid:pid" at the end of the ZAP request's address; we answer with User-Id = the uid, and the control
 * code reads it back from each request with zmq_msg_gets(msg, "User-Id"). Without a handler libzmq would
 * accept everyone anonymously: the sockets also set ZMQ_ZAP_ENFORCE_DOMAIN so that no handler means no
 * entry. ipc peers (domain ZAP_DOMAIN) must use NULL and have credentials. tcp peers (the `listen`
 * endpoints, domain ZAP_DOMAIN_CURVE, see curve-keys.h) must use CURVE with a key of the allow list: User-Id
 * is "UID/KEY" (the tenant's uid and the key in Z85), so that each request is checked against the allow list
 * as it is then: a key removed later is refused on the connections it already opened. */

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <zmq.h>

#include "zmq-source.h"

#define ZAP_ENDPOINT     "inproc://zeromq.zap.01"
#define ZAP_DOMAIN       "descartes"
#define ZAP_DOMAIN_CURVE "descartes-curve"

typedef struct Manager Manager;

/* Parses the uid out of a ZAP address "...:uid:gid:pid". */
int zap_parse_peer_uid(const char *address, size_t len, uid_t *ret);

/* The ZmqSource handler for the ZAP REP socket (userdata: the Manager). */
int zap_handle_request(ZmqSource *s, zmq_msg_t *parts, size_t n_parts, void *userdata);

/* Sets ZMQ_ZAP_DOMAIN and ZMQ_ZAP_ENFORCE_DOMAIN on a socket that accepts peers. */
int zap_protect_socket(void *zsock);

/* The caller's uid of a received message: its User-Id property, or on a CURVE connection the tenant its key
 * maps to now (-EKEYREVOKED when the key left the allow list). */
int zap_message_uid(Manager *m, zmq_msg_t *msg, uid_t *ret);
/* The CURVE public key (Z85) a tcp client's message came with, or NULL (ipc). */
const char *zap_message_curve_key(zmq_msg_t *msg);
