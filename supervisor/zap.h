/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The ZAP handler (ZeroMQ RFC 27) that names every caller. On ipc, libzmq puts the peer's SO_PEERCRED
 * "uid:gid:pid" at the end of the ZAP request's address; we answer with User-Id = the uid, and the control
 * code reads it back from each request with zmq_msg_gets(msg, "User-Id"). Without a handler libzmq would
 * accept everyone anonymously: the sockets also set ZMQ_ZAP_ENFORCE_DOMAIN so that no handler means no
 * entry. Only ipc peers with credentials are admitted (tcp with CURVE is not offered yet). */

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <zmq.h>

#include "zmq-source.h"

#define ZAP_ENDPOINT "inproc://zeromq.zap.01"
#define ZAP_DOMAIN   "descartes"

/* Parses the uid out of a ZAP address "...:uid:gid:pid". */
int zap_parse_peer_uid(const char *address, size_t len, uid_t *ret);

/* The ZmqSource handler for the ZAP REP socket (userdata unused). */
int zap_handle_request(ZmqSource *s, zmq_msg_t *parts, size_t n_parts, void *userdata);

/* Sets ZMQ_ZAP_DOMAIN and ZMQ_ZAP_ENFORCE_DOMAIN on a socket that accepts peers. */
int zap_protect_socket(void *zsock);

/* The caller's uid of a received message, from its User-Id property. */
int zap_message_uid(zmq_msg_t *msg, uid_t *ret);
