/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The peer of a CLI start: the least a ZeroMQ client of descartesd does in one process.
 *
 *   bench-zmq-start ENDPOINT
 *
 * One context, one DEALER connected to ENDPOINT, one `health` request (msgpack written by hand, no library
 * but libzmq) and its reply, then close and exit. No arguments parsed, nothing printed, no reply decoded:
 * hyperfine runs it beside `descartesctl health` and `true` (bench/cli-start.sh), so that what descartesctl
 * costs beyond it is ours and what it costs beyond `true` is libzmq's. Exit 0 when a reply came. */

#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#define REPLY_MAX 65536

int main(int argc, char **argv)
{
        char req[64], id[24], reply[REPLY_MAX];
        void *ctx, *s;
        int n, idlen, timeout = 10000, ok = 0, len = 0;

        if (argc != 2) {
                fprintf(stderr, "usage: bench-zmq-start ENDPOINT\n");
                return 2;
        }
        /* a fresh id per process: the daemon answers a repeated id from its reply cache */
        idlen = snprintf(id, sizeof id, "s%d", (int)getpid());
        /* {v: 1, id: ID, op: "health"} */
        n = 0;
        req[n++] = (char)0x83;
        memcpy(req + n, "\xa1v\x01\xa2id", 6), n += 6;
        req[n++] = (char)(0xa0 | idlen);
        memcpy(req + n, id, (size_t)idlen), n += idlen;
        memcpy(req + n, "\xa2op\xa6health", 10), n += 10;

        ctx = zmq_ctx_new();
        s = ctx ? zmq_socket(ctx, ZMQ_DEALER) : NULL;
        if (!s)
                return 1;
        (void)zmq_setsockopt(s, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
        (void)zmq_setsockopt(s, ZMQ_LINGER, &(int){0}, sizeof(int));
        if (zmq_connect(s, argv[1]) == 0 && zmq_send(s, "", 0, ZMQ_SNDMORE) == 0 &&
            zmq_send(s, req, (size_t)n, 0) == n) {
                int more = 1, frames = 0;
                size_t sz = sizeof more;

                /* the delimiter, then the body */
                while (more && (len = zmq_recv(s, reply, sizeof reply, 0)) >= 0 &&
                       zmq_getsockopt(s, ZMQ_RCVMORE, &more, &sz) == 0)
                        frames++;
                /* the body says ok: true */
                ok = frames == 2 && !more && len <= (int)sizeof reply &&
                     memmem(reply, (size_t)len, "\xa2ok\xc3", 4);
        }
        if (!ok)
                fprintf(stderr, "bench-zmq-start: no reply from %s: %s\n", argv[1],
                        zmq_strerror(zmq_errno()));
        (void)zmq_close(s);
        (void)zmq_ctx_term(ctx);
        return ok ? 0 : 1;
}
