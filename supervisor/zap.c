/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "curve-keys.h"
#include "log.h"
#include "manager.h"
#include "string-util.h"
#include "zap.h"

#ifndef ZMQ_ZAP_ENFORCE_DOMAIN
#define ZMQ_ZAP_ENFORCE_DOMAIN 93 /* DRAFT in the header, honoured by libzmq 4.3 unconditionally */
#endif

static int parse_uid(const char *s, size_t n, uid_t *ret)
{
        uint64_t v = 0;

        if (n == 0 || n > 10)
                return -EINVAL;
        for (size_t i = 0; i < n; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return -EINVAL;
                v = v * 10 + (uint64_t)(s[i] - '0');
        }
        if (v >= UINT32_MAX) /* (uid_t)-1 is "no uid" */
                return -ERANGE;
        *ret = (uid_t)v;
        return 0;
}

int zap_parse_peer_uid(const char *address, size_t len, uid_t *ret)
{
        size_t colons[3], found = 0;

        /* split from the right: the host part may itself contain ':' */
        for (size_t i = len; i > 0 && found < 3; i--)
                if (address[i - 1] == ':')
                        colons[found++] = i - 1;
        if (found < 3)
                return -EINVAL;
        /* colons[2] < colons[1] < colons[0]: uid lies between colons[2] and colons[1] */
        return parse_uid(address + colons[2] + 1, colons[1] - colons[2] - 1, ret);
}

static int zap_reply(void *zsock, zmq_msg_t *request_id, const char *status, const char *text,
                     const char *user_id)
{
        const void *data[6] = {"1.0", zmq_msg_data(request_id), status, text, user_id, ""};
        size_t sizes[6] = {3, zmq_msg_size(request_id), strlen(status), strlen(text), strlen(user_id), 0};

        return zmq_send_parts(zsock, data, sizes, 6);
}

/* tcp: CURVE with a listed key; credentials = the client's 32-byte public key */
static int zap_handle_curve(Manager *m, void *zsock, zmq_msg_t *parts, size_t n)
{
        char key[CURVE_KEY_Z85_SIZE], user_id[16 + CURVE_KEY_Z85_SIZE];
        const CurveClient *c;

        if (zmq_msg_size(&parts[5]) != 5 || memcmp(zmq_msg_data(&parts[5]), "CURVE", 5) != 0)
                return zap_reply(zsock, &parts[1], "400", "tcp clients must use CURVE", "");
        if (n < 7 || zmq_msg_size(&parts[6]) != 32 || !zmq_z85_encode(key, zmq_msg_data(&parts[6]), 32))
                return zap_reply(zsock, &parts[1], "400", "malformed CURVE credentials", "");
        c = curve_keys_find(m->curve_keys, key);
        if (!c) {
                log_info("Refused a remote client from %.*s: its key %s is not in the allow list.",
                         (int)MIN(zmq_msg_size(&parts[3]), (size_t)64),
                         (const char *)zmq_msg_data(&parts[3]), key);
                return zap_reply(zsock, &parts[1], "400", "unknown client key", "");
        }
        log_debug("Remote client %s (%s) from %.*s is uid %u.", c->name, key,
                  (int)MIN(zmq_msg_size(&parts[3]), (size_t)64), (const char *)zmq_msg_data(&parts[3]),
                  (unsigned)c->uid);
        (void)snprintf(user_id, sizeof user_id, "%u/%s", (unsigned)c->uid, key);
        return zap_reply(zsock, &parts[1], "200", "OK", user_id);
}

int zap_handle_request(ZmqSource *s, zmq_msg_t *parts, size_t n, void *userdata)
{
        void *zsock = zmq_source_get_socket(s);
        char uidbuf[16];
        uid_t uid;
        int r;

        /* version, request id, domain, address, routing id, mechanism, credentials... */
        if (n < 6) {
                /* only libzmq itself talks here; still, a REP that never replies would stall for good */
                zmq_msg_t empty;
                zmq_msg_init(&empty);
                r = zap_reply(zsock, n >= 2 ? &parts[1] : &empty, "500", "malformed ZAP request", "");
                zmq_msg_close(&empty);
                return r < 0 ? r : -EBADMSG;
        }
        /* the domain is ours: set on each endpoint before it was bound */
        if (zmq_msg_size(&parts[2]) == strlen(ZAP_DOMAIN_CURVE) &&
            memcmp(zmq_msg_data(&parts[2]), ZAP_DOMAIN_CURVE, strlen(ZAP_DOMAIN_CURVE)) == 0)
                return zap_handle_curve(userdata, zsock, parts, n);
        if (zmq_msg_size(&parts[5]) != 4 || memcmp(zmq_msg_data(&parts[5]), "NULL", 4) != 0)
                return zap_reply(zsock, &parts[1], "400", "only local (ipc) clients are accepted", "");
        r = zap_parse_peer_uid(zmq_msg_data(&parts[3]), zmq_msg_size(&parts[3]), &uid);
        if (r < 0)
                return zap_reply(zsock, &parts[1], "400", "peer credentials unavailable", "");
        (void)snprintf(uidbuf, sizeof uidbuf, "%u", (unsigned)uid);
        return zap_reply(zsock, &parts[1], "200", "OK", uidbuf);
}

int zap_protect_socket(void *zsock)
{
        int one = 1;

        if (zmq_setsockopt(zsock, ZMQ_ZAP_DOMAIN, ZAP_DOMAIN, strlen(ZAP_DOMAIN)) < 0)
                return -errno;
        if (zmq_setsockopt(zsock, ZMQ_ZAP_ENFORCE_DOMAIN, &one, sizeof one) < 0)
                return -errno;
        return 0;
}

const char *zap_message_curve_key(zmq_msg_t *msg)
{
        const char *u = zmq_msg_gets(msg, "User-Id");
        const char *key = u ? strchr(u, '/') : NULL;

        return key ? key + 1 : NULL;
}

int zap_message_uid(Manager *m, zmq_msg_t *msg, uid_t *ret)
{
        const char *u = zmq_msg_gets(msg, "User-Id");
        const char *key = u ? strchr(u, '/') : NULL;

        if (key) {
                /* "UID/KEY", a CURVE connection: the allow list as it is now, as SIGHUP may have removed
                 * the key or changed its tenant */
                const CurveClient *c = curve_keys_find(m->curve_keys, key + 1);
                if (!c)
                        return -EKEYREVOKED;
                *ret = c->uid;
                return 0;
        }

        if (!u)
                return -EPERM;
        return parse_uid(u, strlen(u), ret);
}
