/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include "cleanup.h"
#include "config.h"
#include "curve-keys.h"
#include "fd-util.h"
#include "log.h"
#include "manager.h"
#include "string-util.h"
#include "subscription.h"
#include "zap.h"

#define CURVE_CLIENTS_MAX 65536

CurveKeys *curve_keys_free(CurveKeys *k)
{
        if (!k)
                return NULL;
        for (size_t i = 0; i < k->n_clients; i++)
                free(k->clients[i].name);
        free(k->clients);
        /* the secret key should not linger in freed memory */
        explicit_bzero(k->secret_key, sizeof k->secret_key);
        free(k);
        return NULL;
}

const CurveClient *curve_keys_find(const CurveKeys *k, const char *key)
{
        if (!k)
                return NULL;
        for (size_t i = 0; i < k->n_clients; i++)
                if (streq(k->clients[i].public_key, key))
                        return &k->clients[i];
        return NULL;
}

/* Root's file (or directory) that nobody else may change (and, for a secret, read). */
static int check_owner_mode(const struct stat *st, const char *path, mode_t forbidden, const char *what)
{
        if (st->st_uid != 0) {
                log_error("%s %s is owned by uid %u, not root: run chown root %s.", what, path,
                          (unsigned)st->st_uid, path);
                return -EPERM;
        }
        if (st->st_mode & forbidden) {
                log_error("%s %s has mode %04o: group or others may %s it. Run chmod %s %s.", what, path,
                          (unsigned)(st->st_mode & 07777), forbidden & 044 ? "read" : "change",
                          forbidden & 044 ? "600" : "go-w", path);
                return -EPERM;
        }
        return 0;
}

static int load_secret(const char *path, CurveKeys *k)
{
        _cleanup_close_ int fd = -EBADF;
        char text[CURVE_KEY_FILE_MAX + 1];
        struct stat st;
        ssize_t n;
        int r;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW);
        if (fd < 0)
                return log_error_errno(
                        -errno,
                        "Cannot open curve_secret_key %s: %m. Make a key pair with descartesctl "
                        "keygen --out PREFIX and set curve_secret_key = PREFIX.key.",
                        path);
        if (fstat(fd, &st) < 0)
                return log_error_errno(-errno, "Cannot stat curve_secret_key %s: %m", path);
        if (!S_ISREG(st.st_mode)) {
                log_error("curve_secret_key %s is not a regular file.", path);
                return -EINVAL;
        }
        r = check_owner_mode(&st, path, 077, "The secret key file");
        if (r < 0)
                return r;
        n = loop_read(fd, text, sizeof text);
        if (n < 0)
                return log_error_errno((int)n, "Cannot read curve_secret_key %s: %m", path);
        if ((size_t)n > CURVE_KEY_FILE_MAX) {
                log_error("curve_secret_key %s is longer than %d bytes: not a key file.", path,
                          CURVE_KEY_FILE_MAX);
                return -EINVAL;
        }
        text[n] = 0;
        r = curve_file_key(text, "secret-key", k->secret_key);
        explicit_bzero(text, sizeof text);
        if (r == -ENOMEM)
                return log_oom();
        if (r < 0) {
                log_error("curve_secret_key %s has no \"secret-key = KEY\" line with a key of 40 Z85 "
                          "characters (descartesctl keygen writes one).",
                          path);
                return -EINVAL;
        }
        if (zmq_curve_public(k->public_key, k->secret_key) < 0)
                return log_error_errno(-errno, "Cannot derive the public key from %s: %m", path);
        return 0;
}

static int resolve_tenant(const char *tenant, uid_t *ret)
{
        char buf[4096];
        struct passwd pw, *pwp = NULL;
        char *end;

        if (tenant[0] >= '0' && tenant[0] <= '9') {
                unsigned long long v;

                errno = 0;
                v = strtoull(tenant, &end, 10);
                if (errno || *end || v >= UINT32_MAX)
                        return -EINVAL;
                *ret = (uid_t)v;
                return 0;
        }
        if (getpwnam_r(tenant, &pw, buf, sizeof buf, &pwp) != 0 || !pwp)
                return -ESRCH;
        *ret = pwp->pw_uid;
        return 0;
}

/* One NAME.client file: 0 and *ret filled, or < 0 with a warning logged (the file is skipped). */
static int load_client(int dirfd, const char *dir, const char *file, CurveClient *ret)
{
        _cleanup_free_ char *text = NULL, *tenant = NULL;
        struct stat st;
        int r;

        /* the directory is root's and nobody else may change it: what we stat is what we read */
        if (fstatat(dirfd, file, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return log_warning_errno(-errno, "Skipping client key %s/%s: %m", dir, file);
        if (!S_ISREG(st.st_mode))
                return 0; /* not a key: nothing to say */
        if (st.st_uid != 0 || (st.st_mode & 022)) {
                log_warning(
                        "Skipping client key %s/%s: it must be root's and not writable by group or others "
                        "(owner uid %u, mode %04o).",
                        dir, file, (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
                return -EPERM;
        }
        r = read_file_at(dirfd, file, CURVE_KEY_FILE_MAX, &text, NULL);
        if (r < 0)
                return log_warning_errno(r, "Skipping client key %s/%s: cannot read it: %m", dir, file);
        r = curve_file_key(text, "public-key", ret->public_key);
        if (r < 0) {
                log_warning("Skipping client key %s/%s: it has no \"public-key = KEY\" line with a key of "
                            "40 Z85 "
                            "characters.",
                            dir, file);
                return -EINVAL;
        }
        r = curve_file_field(text, "tenant", &tenant);
        if (r < 0) {
                log_warning("Skipping client key %s/%s: it has no \"tenant = USER\" line.", dir, file);
                return -EINVAL;
        }
        r = resolve_tenant(tenant, &ret->uid);
        if (r < 0) {
                log_warning("Skipping client key %s/%s: tenant \"%s\" is neither a user nor a uid.", dir,
                            file, tenant);
                return r;
        }
        ret->name = strndup(file, strlen(file) - strlen(".client"));
        return ret->name ? 0 : log_oom();
}

static int load_clients(const char *dir, CurveKeys *k)
{
        _cleanup_closedir_ DIR *d = NULL;
        struct stat st;
        struct dirent *de;
        int r;

        d = opendir(dir);
        if (!d)
                return log_error_errno(-errno,
                                       "Cannot open curve_clients_dir %s: %m. Create it (root's, mode 0755) "
                                       "with one NAME.client file per client key.",
                                       dir);
        if (fstat(dirfd(d), &st) < 0)
                return log_error_errno(-errno, "Cannot stat %s: %m", dir);
        r = check_owner_mode(&st, dir, 022, "curve_clients_dir");
        if (r < 0)
                return r;
        while ((errno = 0, de = readdir(d))) {
                size_t len = strlen(de->d_name);
                CurveClient c = {};

                if (de->d_name[0] == '.' || len <= strlen(".client") ||
                    !streq(de->d_name + len - strlen(".client"), ".client"))
                        continue;
                if (load_client(dirfd(d), dir, de->d_name, &c) < 0 || !c.name)
                        continue;
                if (curve_keys_find(k, c.public_key)) {
                        log_warning("Skipping client key %s/%s: its key is listed already.", dir,
                                    de->d_name);
                        free(c.name);
                        continue;
                }
                if (k->n_clients >= CURVE_CLIENTS_MAX) {
                        log_warning("More than %d client keys in %s: skipping the rest.", CURVE_CLIENTS_MAX,
                                    dir);
                        free(c.name);
                        break;
                }
                CurveClient *n = realloc(k->clients, (k->n_clients + 1) * sizeof *n);
                if (!n) {
                        free(c.name);
                        return log_oom();
                }
                k->clients = n;
                k->clients[k->n_clients++] = c;
        }
        if (errno != 0)
                return log_error_errno(-errno, "Cannot read %s: %m", dir);
        return 0;
}

int curve_keys_load(const char *secret_key_path, const char *clients_dir, CurveKeys **ret)
{
        _cleanup_(curve_keys_freep) CurveKeys *k = calloc(1, sizeof *k);
        int r;

        if (!k)
                return log_oom();
        r = load_secret(secret_key_path, k);
        if (r < 0)
                return r;
        r = load_clients(clients_dir, k);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(k);
        return 0;
}

static int set_curve_options(void *sock, bool server, const char *secret_key)
{
        int on = server;
        const char *domain = server ? ZAP_DOMAIN_CURVE : ZAP_DOMAIN;

        if (zmq_setsockopt(sock, ZMQ_CURVE_SERVER, &on, sizeof on) < 0 ||
            zmq_setsockopt(sock, ZMQ_ZAP_DOMAIN, domain, strlen(domain)) < 0)
                return -errno;
        if (server && zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, secret_key, CURVE_KEY_Z85_LEN) < 0)
                return -errno;
        return 0;
}

/* Binds every `listen` endpoint with the current secret key; the socket's options are back to NULL and the
 * ipc domain afterwards, so that nothing bound later gets CURVE by accident. */
static int bind_tcp(Manager *m, char **endpoints)
{
        int r;

        r = set_curve_options(m->control, true, m->curve_keys->secret_key);
        if (r < 0)
                return log_error_errno(r, "Cannot enable CURVE on the control socket: %m");
        for (size_t i = 0; endpoints[i]; i++) {
                char bound[256];
                size_t len = sizeof bound;

                if (zmq_bind(m->control, endpoints[i]) < 0) {
                        r = log_error_errno(-errno, "Cannot bind the remote endpoint %s: %m", endpoints[i]);
                        break;
                }
                /* a port 0 binds an ephemeral port: remember the endpoint libzmq actually bound */
                if (zmq_getsockopt(m->control, ZMQ_LAST_ENDPOINT, bound, &len) < 0)
                        (void)snprintf(bound, sizeof bound, "%s", endpoints[i]);
                if (strv_extend(&m->listen_bound, bound) < 0) {
                        r = log_oom();
                        break;
                }
                log_info("Listening on %s for remote clients (CURVE, server key %s).", bound,
                         m->curve_keys->public_key);
        }
        if (set_curve_options(m->control, false, NULL) < 0 && r >= 0)
                r = log_error_errno(-errno, "Cannot reset the control socket's options: %m");
        return r;
}

int curve_listen_prepare(Manager *m)
{
        _cleanup_strv_free_ char **endpoints = NULL;
        int r;

        r = config_split_listen(m->config.listen, &endpoints);
        if (r < 0)
                return log_error_errno(r, "listen = %s: %m", m->config.listen ?: "");
        if (!endpoints[0])
                return 0;
        if (!m->config.curve_secret_key || !m->config.curve_clients_dir) {
                log_error(
                        "listen names tcp endpoints (%s) but curve_secret_key and curve_clients_dir are not "
                        "both set: plain tcp is refused, as anyone who reaches the port could drive the "
                        "daemon. Set both (see descartesd(8), \"Remote clients\").",
                        m->config.listen);
                return -EINVAL;
        }
        r = curve_keys_load(m->config.curve_secret_key, m->config.curve_clients_dir, &m->curve_keys);
        if (r < 0)
                return r;
        if (m->curve_keys->n_clients == 0)
                log_warning("No client keys in %s: no remote client can connect yet.",
                            m->config.curve_clients_dir);
        else
                log_info("%zu remote client keys from %s.", m->curve_keys->n_clients,
                         m->config.curve_clients_dir);
        return 0;
}

int curve_listen_bind(Manager *m)
{
        _cleanup_strv_free_ char **endpoints = NULL;
        int r;

        if (!m->curve_keys)
                return 0;
        r = config_split_listen(m->config.listen, &endpoints);
        if (r < 0)
                return log_error_errno(r, "listen = %s: %m", m->config.listen ?: "");
        return bind_tcp(m, endpoints);
}

void curve_keys_reload(Manager *m)
{
        _cleanup_(curve_keys_freep) CurveKeys *k = NULL;
        _cleanup_strv_free_ char **endpoints = TAKE_PTR(m->listen_bound);
        bool rebind;
        int r;

        if (!m->curve_keys) {
                m->listen_bound = TAKE_PTR(endpoints);
                return; /* no tcp endpoint: `listen` applies at the next start */
        }
        if (!m->config.curve_secret_key || !m->config.curve_clients_dir) {
                log_warning(
                        "curve_secret_key or curve_clients_dir was removed from the configuration; keeping "
                        "the keys loaded at start.");
                m->listen_bound = TAKE_PTR(endpoints);
                return;
        }
        r = curve_keys_load(m->config.curve_secret_key, m->config.curve_clients_dir, &k);
        if (r < 0 || !k) {
                log_warning("Keeping the remote client keys loaded before (see the error above).");
                m->listen_bound = TAKE_PTR(endpoints);
                return;
        }
        rebind = !streq(k->secret_key, m->curve_keys->secret_key);
        log_info("%zu remote client keys from %s (were %zu).", k->n_clients, m->config.curve_clients_dir,
                 m->curve_keys->n_clients);
        curve_keys_free(m->curve_keys);
        m->curve_keys = TAKE_PTR(k);
        subscriptions_recheck_keys(m);
        if (!rebind) {
                m->listen_bound = TAKE_PTR(endpoints);
                return;
        }
        /* a listener keeps the options it was bound with: a new secret key needs new listeners (their
         * connections close with them) */
        log_info("The secret key changed: binding the remote endpoints again.");
        for (size_t i = 0; endpoints && endpoints[i]; i++)
                if (zmq_unbind(m->control, endpoints[i]) < 0)
                        log_warning_errno(-errno, "Cannot unbind %s: %m", endpoints[i]);
        if (bind_tcp(m, endpoints) < 0)
                log_error("Some remote endpoints could not be bound again (see above).");
}
