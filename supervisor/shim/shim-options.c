/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* ShimOptions (shim-contract.h): the one encoder (the daemon) and the one decoder (the shim).
 *
 * The blob: a header (magic, the writer's contract version), then the fields one after another, in the order
 * below, native byte order (both ends run on one host). A u32 or u64 is its bytes; a string is a u32 of its
 * length + 1 (0 for none) and its bytes without a NUL; a string list is a u32 count and its strings. Fields
 * are only ever appended: a reader stops after the ones it knows and ignores the rest. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "cleanup.h"
#include "memfd-util.h"
#include "shim-contract.h"
#include "string-util.h"

#define SHIM_OPTIONS_MAGIC 0x4f4d4953u /* "SIMO" little-endian */

enum {
        FLAG_STDIN_PIPE = 1u << 0,
        FLAG_LOOPBACK = 1u << 1,
        FLAG_SANDBOX = 1u << 2,
        FLAG_SECCOMP = 1u << 3,
};

void shim_options_done(ShimOptions *o)
{
        if (!o)
                return;
        free(o->id);
        free(o->hostname);
        free(o->listen_path);
        free(o->cwd);
        strv_free(o->argv);
        free(o->workspace);
        strv_free(o->mask_paths);
        strv_free(o->keep_paths);
        free(o->home);
        *o = SHIM_OPTIONS_INIT;
}

static bool id_valid(const char *s)
{
        size_t n = s ? strlen(s) : 0;

        if (n == 0 || n > SHIM_ID_MAX)
                return false;
        for (const char *p = s; *p; p++)
                if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-", *p))
                        return false;
        return true;
}

bool shim_hostname_is_valid(const char *s)
{
        size_t n = strlen(s);

        if (n == 0 || n > HOST_NAME_MAX || s[0] == '-' || s[0] == '.')
                return false;
        for (const char *p = s; *p; p++)
                if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-", *p))
                        return false;
        return true;
}

static bool path_ok(const char *s, size_t max)
{
        return s[0] == '/' && strlen(s) < max;
}

int shim_options_validate(const ShimOptions *o)
{
        struct sockaddr_un sa;
        size_t n_masks = 0, n_keeps = 0;

        if (!o || !id_valid(o->id) || !o->argv || !o->argv[0])
                return -EINVAL;
        if ((o->hostname && !shim_hostname_is_valid(o->hostname)) ||
            (o->listen_path && !path_ok(o->listen_path, sizeof sa.sun_path)) ||
            (o->cwd && !path_ok(o->cwd, PATH_MAX)))
                return -EINVAL;
        if (o->output_cap != 0 && (o->output_cap < SHIM_OUTPUT_CAP_MIN || o->output_cap > SHIM_SIZE_MAX))
                return -EINVAL;
        if (strv_length(o->argv) > SHIM_ARGV_MAX)
                return -EINVAL;
        if (o->tty && o->stdin_pipe)
                return -EINVAL;
        for (char *const *m = o->mask_paths; m && *m; m++)
                if (!path_ok(*m, PATH_MAX) || ++n_masks > SHIM_MASK_PATHS_MAX)
                        return -EINVAL;
        for (char *const *k = o->keep_paths; k && *k; k++)
                if (!path_ok(*k, PATH_MAX) || ++n_keeps > SHIM_KEEP_PATHS_MAX)
                        return -EINVAL;

        if (!o->sandbox)
                /* everything or nothing: a half-given sandbox is refused rather than run with defaults */
                return o->workspace || o->uid != (uid_t)-1 || o->gid != (gid_t)-1 || o->tmp_size > 0 ||
                                       o->workspace_tmpfs_size > 0 || n_masks > 0 || n_keeps > 0 ||
                                       o->home || o->seccomp || o->workspace_idmap ||
                                       o->workspace_owner != (uid_t)-1
                               ? -EINVAL
                               : 0;
        /* (uid_t)-1 is "no change" to setresuid: never an identity */
        if (!o->workspace || !path_ok(o->workspace, PATH_MAX) || o->uid == (uid_t)-1 ||
            o->gid == (gid_t)-1 || o->tmp_size == 0 || o->tmp_size > SHIM_SIZE_MAX ||
            (o->home && !path_ok(o->home, PATH_MAX)))
                return -EINVAL;
        return 0;
}

typedef struct Writer {
        uint8_t *buf;
        size_t size, allocated;
        int error;
} Writer;

static void put(Writer *w, const void *p, size_t n)
{
        if (w->error)
                return;
        if (n > SHIM_OPTIONS_SIZE_MAX - w->size) {
                w->error = -E2BIG;
                return;
        }
        if (w->size + n > w->allocated) {
                size_t a = MAX(w->allocated * 2, w->size + n + 256);
                uint8_t *b = realloc(w->buf, a);
                if (!b) {
                        w->error = -ENOMEM;
                        return;
                }
                w->buf = b;
                w->allocated = a;
        }
        if (n > 0)
                memcpy(w->buf + w->size, p, n);
        w->size += n;
}

static void put_u32(Writer *w, uint32_t v)
{
        put(w, &v, sizeof v);
}

static void put_u64(Writer *w, uint64_t v)
{
        put(w, &v, sizeof v);
}

static void put_str(Writer *w, const char *s)
{
        size_t n = s ? strlen(s) : 0;

        if (n >= SHIM_OPTIONS_SIZE_MAX) {
                w->error = w->error ?: -E2BIG;
                return;
        }
        put_u32(w, s ? (uint32_t)n + 1 : 0);
        put(w, s, n);
}

static void put_strv(Writer *w, char *const *l)
{
        put_u32(w, (uint32_t)strv_length(l));
        for (char *const *p = l; p && *p; p++)
                put_str(w, *p);
}

int shim_options_encode(const ShimOptions *o, uint8_t **ret, size_t *ret_size)
{
        Writer w = {};
        int r;

        r = shim_options_validate(o);
        if (r < 0)
                return r;
        put_u32(&w, SHIM_OPTIONS_MAGIC);
        put_u32(&w, SHIM_PROTOCOL_VERSION);
        /* the fields of the first form */
        put_str(&w, o->id);
        put_str(&w, o->hostname);
        put_str(&w, o->listen_path);
        put_str(&w, o->cwd);
        put_u64(&w, o->output_cap);
        put_u32(&w, (o->stdin_pipe ? FLAG_STDIN_PIPE : 0) | (o->loopback ? FLAG_LOOPBACK : 0) |
                            (o->sandbox ? FLAG_SANDBOX : 0) | (o->seccomp ? FLAG_SECCOMP : 0));
        put_strv(&w, o->argv);
        put_u32(&w, o->uid);
        put_u32(&w, o->gid);
        put_u32(&w, o->workspace_owner);
        put_str(&w, o->workspace);
        put_u64(&w, o->tmp_size);
        put_u64(&w, o->workspace_tmpfs_size);
        put_strv(&w, o->mask_paths);
        put_str(&w, o->home);
        put_strv(&w, o->keep_paths);
        put_u32(&w, o->workspace_idmap);
        put_u32(&w, o->tty);
#if SHIM_MSG_TEST_TAIL > 0
        /* a field from the future, which a release shim must skip */
        for (unsigned i = 0; i < SHIM_MSG_TEST_TAIL; i++)
                put(&w, &(uint8_t){0xa5}, 1);
#endif
        if (w.error) {
                free(w.buf);
                return w.error;
        }
        *ret = w.buf;
        *ret_size = w.size;
        return 0;
}

typedef struct Reader {
        const uint8_t *p;
        size_t left;
        int error;
} Reader;

static void get(Reader *r, void *out, size_t n)
{
        if (r->error || n > r->left) {
                r->error = r->error ?: -EBADMSG;
                memset(out, 0, n);
                return;
        }
        memcpy(out, r->p, n);
        r->p += n;
        r->left -= n;
}

static uint32_t get_u32(Reader *r)
{
        uint32_t v;

        get(r, &v, sizeof v);
        return v;
}

static uint64_t get_u64(Reader *r)
{
        uint64_t v;

        get(r, &v, sizeof v);
        return v;
}

static char *get_str(Reader *r)
{
        uint32_t n = get_u32(r);
        char *s;

        if (r->error || n == 0)
                return NULL;
        n--;
        if (n > r->left || memchr(r->p, 0, n)) {
                r->error = -EBADMSG;
                return NULL;
        }
        s = strndup((const char *)r->p, n);
        if (!s) {
                r->error = -ENOMEM;
                return NULL;
        }
        r->p += n;
        r->left -= n;
        return s;
}

static char **get_strv(Reader *r, size_t max)
{
        _cleanup_strv_free_ char **l = NULL;
        uint32_t n = get_u32(r);

        if (r->error)
                return NULL;
        /* each string takes at least its 4-byte length: a count the blob cannot hold is refused before the
         * allocation */
        if (n > max || n > r->left / sizeof(uint32_t)) {
                r->error = -EBADMSG;
                return NULL;
        }
        l = calloc((size_t)n + 1, sizeof(char *));
        if (!l) {
                r->error = -ENOMEM;
                return NULL;
        }
        for (uint32_t i = 0; i < n; i++) {
                l[i] = get_str(r);
                if (!l[i]) {
                        r->error = r->error ?: -EBADMSG; /* no holes in a list */
                        return NULL;
                }
        }
        return n > 0 ? TAKE_PTR(l) : NULL;
}

int shim_options_decode(const void *buf, size_t n, ShimOptions *ret)
{
        _cleanup_(shim_options_done) ShimOptions o = SHIM_OPTIONS_INIT;
        Reader r = {.p = buf, .left = n};
        uint32_t flags;
        int k;

        if (!buf)
                return -EBADMSG;
        if (n > SHIM_OPTIONS_SIZE_MAX)
                return -E2BIG;
        if (get_u32(&r) != SHIM_OPTIONS_MAGIC)
                return -EBADMSG;
        o.version = get_u32(&r);
        o.id = get_str(&r);
        o.hostname = get_str(&r);
        o.listen_path = get_str(&r);
        o.cwd = get_str(&r);
        o.output_cap = get_u64(&r);
        flags = get_u32(&r);
        o.stdin_pipe = flags & FLAG_STDIN_PIPE;
        o.loopback = flags & FLAG_LOOPBACK;
        o.sandbox = flags & FLAG_SANDBOX;
        o.seccomp = flags & FLAG_SECCOMP;
        o.argv = get_strv(&r, SHIM_ARGV_MAX);
        o.uid = get_u32(&r);
        o.gid = get_u32(&r);
        o.workspace_owner = get_u32(&r);
        o.workspace = get_str(&r);
        o.tmp_size = get_u64(&r);
        o.workspace_tmpfs_size = get_u64(&r);
        o.mask_paths = get_strv(&r, SHIM_MASK_PATHS_MAX);
        o.home = get_str(&r);
        if (o.version >= 3) {
                o.keep_paths = get_strv(&r, SHIM_KEEP_PATHS_MAX);
                o.workspace_idmap = get_u32(&r) != 0;
        }
        /* a shim older than the terminal (the test build of the previous version) ignores it, as a shim of
         * that release would */
        if (o.version >= 4 && SHIM_PROTOCOL_VERSION >= 4)
                o.tty = get_u32(&r) != 0;
        /* fields appended by a later version would be read here; r.left bytes of them are ignored */
        if (r.error)
                return r.error;
        if (o.version < SHIM_PROTOCOL_VERSION_MIN)
                return -EBADMSG;
        k = shim_options_validate(&o);
        if (k < 0)
                return k;
        *ret = o;
        o = SHIM_OPTIONS_INIT;
        return 0;
}

int shim_options_export(const ShimOptions *o, int *ret_fd)
{
        _cleanup_free_ uint8_t *buf = NULL;
        size_t size;
        int r;

        r = shim_options_encode(o, &buf, &size);
        if (r < 0)
                return r;
        return memfd_new_sealed("descartes-shim-options", buf, size, ret_fd);
}

int shim_options_read_fd(int fd, ShimOptions *ret)
{
        _cleanup_free_ void *buf = NULL;
        size_t size;
        int r;

        r = memfd_read_sealed(fd, SHIM_OPTIONS_SIZE_MAX, &buf, &size);
        if (r < 0)
                return r;
        return shim_options_decode(buf, size, ret);
}
