/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* CURVE for tcp endpoints: key files, the keys on the DEALER, and the handshake's verdict. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zmq.h>

#include "cleanup.h"
#include "client-internal.h"
#include "curve-key.h"
#include "fd-util.h"
#include "string-util.h"

#define HANDSHAKE_FAILED                                                                                    \
        (ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |                       \
         ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)
/* A wrong server key shows only as the daemon hanging up in the handshake (NO_DETAIL, EPIPE), as a daemon
 * that dies in one would: that many in a row, with no handshake succeeding between, is the key. */
#define HANDSHAKE_HANGUPS_MAX 3

static bool is_tcp(const char *endpoint)
{
        return startswith(endpoint, "tcp://") != NULL;
}

/* The default client key: $XDG_CONFIG_HOME/descartes/client.key or ~/.config/descartes/client.key. */
static int default_key_path(const char *suffix, char **ret)
{
        const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");

        if (xdg && xdg[0] == '/')
                return asprintf_safe(ret, "%s/%s%s", xdg, DESCARTES_DEFAULT_CLIENT_KEY, suffix);
        if (home && home[0] == '/')
                return asprintf_safe(ret, "%s/.config/%s%s", home, DESCARTES_DEFAULT_CLIENT_KEY, suffix);
        return -ENOENT;
}

static int read_key_file(const char *path, const char *what, bool secret, char **ret, DescartesError *e)
{
        _cleanup_close_ int fd = -EBADF;
        struct stat st;
        int r;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0) {
                r = -errno;
                return client_error_set(
                        e, DESCARTES_ERROR_LOCAL, r == -ENOENT ? -ENOENT : -EACCES, "%s %s: %s%s", what,
                        path, strerror(-r),
                        r == -ENOENT && !secret ? " (and it is not a key of 40 Z85 characters)" : "");
        }
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
                return client_error_set(e, DESCARTES_ERROR_LOCAL, -EINVAL, "%s %s is not a regular file",
                                        what, path);
        /* as ssh does: a secret others can read is no secret, refuse it before it is used */
        if (secret && (st.st_mode & 077))
                return client_error_set(e, DESCARTES_ERROR_LOCAL, -EACCES,
                                        "%s %s has mode %04o: group or others may read it; run chmod 600 %s",
                                        what, path, (unsigned)(st.st_mode & 07777), path);
        r = read_file_at(AT_FDCWD, path, CURVE_KEY_FILE_MAX, ret, NULL);
        if (r == -EFBIG)
                return client_error_set(e, DESCARTES_ERROR_LOCAL, -EINVAL,
                                        "%s %s is longer than %d bytes: not a key file", what, path,
                                        CURVE_KEY_FILE_MAX);
        if (r < 0)
                return client_error_set(e, DESCARTES_ERROR_LOCAL, r == -ENOMEM ? r : -EACCES,
                                        "cannot read %s %s: %s", what, path, strerror(-r));
        return 0;
}

static int load_key(const char *arg, const char *what, const char *field, bool secret, char ret[41],
                    DescartesError *e)
{
        _cleanup_free_ char *text = NULL;
        int r;

        if (!secret && curve_key_is_z85(arg)) {
                memcpy(ret, arg, CURVE_KEY_Z85_SIZE);
                return 0;
        }
        r = read_key_file(arg, what, secret, &text, e);
        if (r < 0)
                return r;
        if (!text) /* read_key_file() fills it whenever it returns 0 */
                return client_error_set(e, DESCARTES_ERROR_LOCAL, -EIO, "cannot read %s %s", what, arg);
        r = curve_file_key(text, field, ret);
        explicit_bzero(text, strlen(text));
        if (r == -ENOMEM)
                return client_error_set(e, DESCARTES_ERROR_LOCAL, r, "out of memory");
        if (r < 0)
                return client_error_set(e, DESCARTES_ERROR_LOCAL, -EINVAL,
                                        "%s %s has no \"%s = KEY\" line with a key of 40 Z85 characters",
                                        what, arg, field);
        return 0;
}

/* NULL arguments from the environment: $DESCARTES_SERVER_KEY; $DESCARTES_CLIENT_KEY, else the default file
 */
int descartes_client_set_curve(DescartesClient *c, const char *server_key, const char *client_key_file,
                               DescartesError *ret_err)
{
        /* zeroed: the analyzer cannot tell that load_key() fills them whenever it returns 0 */
        char server[CURVE_KEY_Z85_SIZE] = {}, public[CURVE_KEY_Z85_SIZE] = {},
             secret[CURVE_KEY_Z85_SIZE] = {};
        _cleanup_free_ char *def = NULL;
        int r;

        descartes_error_clear(ret_err);
        if (!c)
                return client_error_set(ret_err, DESCARTES_ERROR_LOCAL, -EINVAL, "no client");
        if (!server_key || !server_key[0])
                server_key = getenv(DESCARTES_ENV_SERVER_KEY);
        if (!client_key_file || !client_key_file[0])
                client_key_file = getenv(DESCARTES_ENV_CLIENT_KEY);
        if (!server_key || !server_key[0])
                return client_error_set(
                        ret_err, DESCARTES_ERROR_LOCAL, -EINVAL,
                        "%s needs CURVE keys: give the daemon's public key with --server-key "
                        "(or $%s) and your secret key file with --key (or $%s; descartesctl "
                        "keygen makes one)",
                        c->endpoint, DESCARTES_ENV_SERVER_KEY, DESCARTES_ENV_CLIENT_KEY);
        if (!client_key_file || !client_key_file[0]) {
                if (default_key_path("", &def) < 0 || access(def, F_OK) < 0)
                        return client_error_set(
                                ret_err, DESCARTES_ERROR_LOCAL, -EINVAL,
                                "%s needs your secret key file: give it with --key (or $%s), or "
                                "make the default one (%s) with descartesctl keygen",
                                c->endpoint, DESCARTES_ENV_CLIENT_KEY,
                                def ?: "~/.config/" DESCARTES_DEFAULT_CLIENT_KEY);
                client_key_file = def;
        }
        r = load_key(server_key, "server key", "public-key", false, server, ret_err);
        if (r < 0)
                return r;
        r = load_key(client_key_file, "client key file", "secret-key", true, secret, ret_err);
        if (r < 0)
                return r;
        if (zmq_curve_public(public, secret) < 0) {
                explicit_bzero(secret, sizeof secret);
                return client_error_set(ret_err, DESCARTES_ERROR_LOCAL, -EINVAL,
                                        "client key file %s: cannot derive its public key (%s)",
                                        client_key_file, zmq_strerror(errno));
        }
        memcpy(c->curve_server, server, sizeof server);
        memcpy(c->curve_public, public, sizeof public);
        memcpy(c->curve_secret, secret, sizeof secret);
        explicit_bzero(secret, sizeof secret);
        c->curve_set = true;
        return 0;
}

void client_curve_close(DescartesClient *c)
{
        if (c->curve_monitor) {
                (void)zmq_close(c->curve_monitor);
                c->curve_monitor = NULL;
        }
}

int client_curve_set_keys(DescartesClient *c, void *socket, DescartesError *e)
{
        int r;

        if (!is_tcp(c->endpoint))
                return 0;
        if (!c->curve_set) {
                r = descartes_client_set_curve(c, NULL, NULL, e);
                if (r < 0)
                        return r;
        }
        if (zmq_setsockopt(socket, ZMQ_CURVE_SERVERKEY, c->curve_server, CURVE_KEY_Z85_LEN) < 0 ||
            zmq_setsockopt(socket, ZMQ_CURVE_PUBLICKEY, c->curve_public, CURVE_KEY_Z85_LEN) < 0 ||
            zmq_setsockopt(socket, ZMQ_CURVE_SECRETKEY, c->curve_secret, CURVE_KEY_Z85_LEN) < 0)
                return client_error_set(e, DESCARTES_ERROR_LOCAL, negative_errno(),
                                        "cannot set the CURVE keys: %s (is libzmq built with CURVE?)",
                                        zmq_strerror(errno));
        return 0;
}

int client_curve_prepare(DescartesClient *c, void *socket, DescartesError *e)
{
        char endpoint[64];
        int one = 1, zero = 0, r;

        if (!is_tcp(c->endpoint))
                return 0;
        r = client_curve_set_keys(c, socket, e);
        if (r < 0)
                return r;

        /* libzmq retries a refused handshake for ever: watch it, so that a refusal is an answer */
        (void)snprintf(endpoint, sizeof endpoint, "inproc://descartes-curve-%p", socket);
        c->curve_hangups = 0;
        if (zmq_socket_monitor(socket, endpoint, HANDSHAKE_FAILED | ZMQ_EVENT_HANDSHAKE_SUCCEEDED) < 0 ||
            !(c->curve_monitor = zmq_socket(c->zmq_ctx, ZMQ_PAIR)) ||
            zmq_setsockopt(c->curve_monitor, ZMQ_LINGER, &zero, sizeof zero) < 0 ||
            zmq_setsockopt(c->curve_monitor, ZMQ_RCVHWM, &one, sizeof one) < 0 ||
            zmq_connect(c->curve_monitor, endpoint) < 0)
                return client_error_set(e, DESCARTES_ERROR_LOCAL, negative_errno(),
                                        "cannot watch the CURVE handshake: %s", zmq_strerror(errno));
        return 0;
}

int client_curve_check(DescartesClient *c, DescartesError *e)
{
        uint8_t head[6];
        uint16_t event = 0;
        uint32_t value = 0;
        int more = 0;
        size_t more_size = sizeof more;
        int n;

        /* [uint16 event, uint32 value][endpoint] */
        n = zmq_recv(c->curve_monitor, head, sizeof head, ZMQ_DONTWAIT);
        if (n < 0)
                return 0;
        while (zmq_getsockopt(c->curve_monitor, ZMQ_RCVMORE, &more, &more_size) == 0 && more) {
                char skip[1];
                if (zmq_recv(c->curve_monitor, skip, sizeof skip, ZMQ_DONTWAIT) < 0)
                        break;
        }
        if (n < (int)sizeof head)
                return 0;
        memcpy(&event, head, sizeof event);
        memcpy(&value, head + 2, sizeof value);
        if (event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)
                return client_error_set(e, DESCARTES_ERROR_ACCESS, -EACCES,
                                        "descartesd at %s refused this client's key %s (status %u): ask its "
                                        "administrator to add it to the daemon's curve_clients_dir",
                                        c->endpoint, c->curve_public, (unsigned)value);
        if (event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED)
                c->curve_hangups = 0;
        else if (event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL ||
                 (event == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL &&
                  ++c->curve_hangups >= HANDSHAKE_HANGUPS_MAX))
                return client_error_set(e, DESCARTES_ERROR_ACCESS, -EACCES,
                                        "the CURVE handshake with %s failed: is %s the daemon's public key "
                                        "(descartesd logs it at start)?",
                                        c->endpoint, c->curve_server);
        return 0;
}

int descartes_curve_keygen(const char *prefix, char ret_public[DESCARTES_CURVE_KEY_LEN + 1],
                           DescartesError *ret_err)
{
        _cleanup_free_ char *def = NULL, *key_path = NULL, *pub_path = NULL, *secret_text = NULL,
                            *public_text = NULL;
        char public[CURVE_KEY_Z85_SIZE], secret[CURVE_KEY_Z85_SIZE];
        _cleanup_close_ int kfd = -EBADF, pfd = -EBADF;
        int r;

        descartes_error_clear(ret_err);
        if (!prefix) {
                if (default_key_path("", &def) < 0)
                        return client_error_set(ret_err, DESCARTES_ERROR_LOCAL, -EINVAL,
                                                "neither $XDG_CONFIG_HOME nor $HOME is set: give a prefix");
                def[strlen(def) - strlen(".key")] = 0;
                *strrchr(def, '/') = 0;
                r = mkdir_p(def, 0700);
                if (r < 0)
                        return client_error_set(ret_err, DESCARTES_ERROR_LOCAL, r, "cannot create %s: %s",
                                                def, strerror(-r));
                def[strlen(def)] = '/';
                prefix = def;
        }
        if (!prefix[0] || asprintf_safe(&key_path, "%s.key", prefix) < 0 ||
            asprintf_safe(&pub_path, "%s.pub", prefix) < 0)
                return client_error_set(ret_err, DESCARTES_ERROR_LOCAL, prefix[0] ? -ENOMEM : -EINVAL,
                                        prefix[0] ? "out of memory" : "the prefix is empty");
        if (zmq_curve_keypair(public, secret) < 0)
                return client_error_set(ret_err, DESCARTES_ERROR_LOCAL, negative_errno(),
                                        "cannot make a CURVE key pair: %s (is libzmq built with CURVE?)",
                                        zmq_strerror(errno));
        if (asprintf_safe(&secret_text,
                          "# descartes CURVE secret key: keep it private (descartesctl --key)\n"
                          "public-key = %s\nsecret-key = %s\n",
                          public, secret) < 0 ||
            asprintf_safe(&public_text, "# descartes CURVE public key\npublic-key = %s\n", public) < 0) {
                explicit_bzero(secret, sizeof secret);
                return client_error_set(ret_err, DESCARTES_ERROR_LOCAL, -ENOMEM, "out of memory");
        }
        explicit_bzero(secret, sizeof secret);

        kfd = open(key_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (kfd < 0) {
                r = -errno;
                explicit_bzero(secret_text, strlen(secret_text));
                return client_error_set(ret_err, DESCARTES_ERROR_LOCAL, r, "cannot create %s: %s%s",
                                        key_path, strerror(-r),
                                        r == -EEXIST ? " (keygen never replaces a key)" : "");
        }
        /* the umask may have taken bits the public file needs; the secret's 0600 only loses bits */
        r = loop_write(kfd, secret_text, strlen(secret_text));
        explicit_bzero(secret_text, strlen(secret_text));
        if (r >= 0 && fsync(kfd) < 0)
                r = -errno;
        if (r < 0) {
                (void)unlink(key_path);
                return client_error_set(ret_err, DESCARTES_ERROR_LOCAL, r, "cannot write %s: %s", key_path,
                                        strerror(-r));
        }
        pfd = open(pub_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
        r = pfd < 0                 ? -errno
            : fchmod(pfd, 0644) < 0 ? -errno
                                    : loop_write(pfd, public_text, strlen(public_text));
        if (r < 0) {
                if (pfd >= 0)
                        (void)unlink(pub_path);
                (void)unlink(key_path);
                return client_error_set(ret_err, DESCARTES_ERROR_LOCAL, r, "cannot write %s: %s%s", pub_path,
                                        strerror(-r), r == -EEXIST ? " (keygen never replaces a key)" : "");
        }
        if (ret_public)
                memcpy(ret_public, public, sizeof public);
        return 0;
}
