/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The floor of a CLI start: a client of descartesd with no library at all.
 *
 *   bench-zmtp-start ENDPOINT
 *
 * Speaks ZMTP 3.0 (the NULL mechanism, as a DEALER) by hand over the Unix socket of an ipc:// ENDPOINT:
 * its greeting, a READY command (and the daemon's), one `health` request (msgpack written by hand) and the
 * frames of the reply, then exit. It is what any client must do on the wire, so that beside bench-zmq-start
 * (the same with libzmq) and `true` it tells what loading and starting libzmq costs (bench/cli-start.sh). A
 * bench program only: no reconnect, no heartbeats, no bounds beyond its buffer. Exit 0 when a reply came. */

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define BUF_MAX    65536
#define TIMEOUT_MS 10000

static int write_all(int fd, const void *p, size_t n)
{
        const char *c = p;

        while (n > 0) {
                ssize_t k = write(fd, c, n);

                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0)
                        return -1;
                c += k, n -= (size_t)k;
        }
        return 0;
}

/* Reads through a buffer: a reply arrives in one or two reads. */
static int read_all(int fd, void *p, size_t n)
{
        static uint8_t in[BUF_MAX];
        static size_t pos, len;
        uint8_t *c = p;

        while (n > 0) {
                struct pollfd pfd = {.fd = fd, .events = POLLIN};
                size_t m = len - pos < n ? len - pos : n;
                ssize_t k;

                memcpy(c, in + pos, m);
                c += m, n -= m, pos += m;
                if (n == 0)
                        break;
                if (poll(&pfd, 1, TIMEOUT_MS) <= 0)
                        return -1;
                k = read(fd, in, sizeof in);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0)
                        return -1;
                pos = 0, len = (size_t)k;
        }
        return 0;
}

/* One frame: 0 and its flags and size (the body is read into buf when it fits), -1 on error. */
static int read_frame(int fd, uint8_t *flags, uint64_t *size, uint8_t *buf)
{
        uint8_t h[8];

        if (read_all(fd, flags, 1) < 0)
                return -1;
        if (*flags & 0x02) { /* LONG: 8 bytes of size, network order */
                if (read_all(fd, h, 8) < 0)
                        return -1;
                *size = 0;
                for (int i = 0; i < 8; i++)
                        *size = *size << 8 | h[i];
        } else {
                if (read_all(fd, h, 1) < 0)
                        return -1;
                *size = h[0];
        }
        if (*size > BUF_MAX)
                return -1;
        return read_all(fd, buf, (size_t)*size);
}

int main(int argc, char **argv)
{
        static const uint8_t ready[] = {
                0x04, 28,                                                    /* command, 28 bytes */
                5,    'R', 'E', 'A', 'D', 'Y',                               /* its name */
                11,   'S', 'o', 'c', 'k', 'e', 't', '-', 'T', 'y', 'p', 'e', /* a property */
                0,    0,   0,   6,   'D', 'E', 'A', 'L', 'E', 'R',
        };
        static uint8_t buf[BUF_MAX];
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        uint8_t greeting[64] = {0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0x7f, 3, 0, 'N', 'U', 'L', 'L'};
        uint8_t req[64], flags;
        uint64_t size;
        char id[24];
        int fd, n = 0, idlen;
        const char *path = argc == 2 ? argv[1] : NULL;

        if (!path || strncmp(path, "ipc://", 6) != 0 || strlen(path + 6) >= sizeof sa.sun_path) {
                fprintf(stderr, "usage: bench-zmtp-start ipc://PATH\n");
                return 2;
        }
        strcpy(sa.sun_path, path + 6);
        /* {v: 1, id: ID, op: "health"}, after an empty delimiter frame */
        idlen = snprintf(id, sizeof id, "z%d", (int)getpid());
        req[n++] = 0x01, req[n++] = 0; /* MORE, 0 bytes */
        req[n++] = 0x00, req[n++] = (uint8_t)(1 + 6 + 1 + idlen + 10);
        req[n++] = 0x83;
        memcpy(req + n, "\xa1v\x01\xa2id", 6), n += 6;
        req[n++] = (uint8_t)(0xa0 | idlen);
        memcpy(req + n, id, (size_t)idlen), n += idlen;
        memcpy(req + n, "\xa2op\xa6health", 10), n += 10;

        /* libzmq hangs up on a message that comes before its READY (sent after its ZAP verdict): wait */
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
            write_all(fd, greeting, sizeof greeting) < 0 || read_all(fd, buf, 64) < 0 || buf[0] != 0xff ||
            buf[10] < 3 || write_all(fd, ready, sizeof ready) < 0 ||
            read_frame(fd, &flags, &size, buf) < 0 || !(flags & 0x04) || size < 6 ||
            memcmp(buf, "\x05READY", 6) != 0 || write_all(fd, req, (size_t)n) < 0) {
                fprintf(stderr, "bench-zmtp-start: %s: handshake failed\n", path);
                return 1;
        }
        /* the reply: delimiter and body */
        do {
                if (read_frame(fd, &flags, &size, buf) < 0) {
                        fprintf(stderr, "bench-zmtp-start: %s: no reply\n", path);
                        return 1;
                }
        } while (flags & 0x05); /* a command, or a frame with MORE after it */
        (void)close(fd);
        if (!memmem(buf, (size_t)size, "\xa2ok\xc3", 4)) { /* ok: true */
                fprintf(stderr, "bench-zmtp-start: %s: the daemon refused the request\n", path);
                return 1;
        }
        return 0;
}
