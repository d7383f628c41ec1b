/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>

#include "fd-util.h"
#include "mountinfo.h"
#include "string-util.h"

/* The next space-separated field of [*p, end), or -EBADMSG if there is none. Fields are separated by exactly
 * one space: the kernel escapes every space inside a field. */
static int next_field(const char **p, const char *end, const char **ret_start, size_t *ret_len)
{
        const char *s = *p, *e;

        if (s >= end || *s == ' ')
                return -EBADMSG;
        e = memchr(s, ' ', (size_t)(end - s));
        if (!e)
                e = end;
        else if (e + 1 == end) /* a separator with an empty last field after it */
                return -EBADMSG;
        *ret_start = s;
        *ret_len = (size_t)(e - s);
        *p = e < end ? e + 1 : end;
        return 0;
}

static int octal_digit(char c)
{
        return c >= '0' && c <= '7' ? c - '0' : -1;
}

/* Copies a field decoding \ooo escapes (fs/proc_namespace.c mangles " \t\n\\"); a backslash not followed by
 * three octal digits is kept as it is. */
static int field_unescape(const char *s, size_t n, char **ret)
{
        _cleanup_free_ char *buf = NULL;
        size_t j = 0;

        buf = malloc(n + 1);
        if (!buf)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                if (s[i] == '\0')
                        return -EBADMSG;
                /* the kernel escapes " \t\n\\" as \ooo (fs/proc_namespace.c, mangle()), a backslash too: a
                 * backslash without three octal digits after it is malformed */
                if (s[i] == '\\') {
                        if (n - i <= 3)
                                return -EBADMSG;
                        int a = octal_digit(s[i + 1]), b = octal_digit(s[i + 2]), c = octal_digit(s[i + 3]);
                        int v = a * 64 + b * 8 + c;

                        if (a < 0 || b < 0 || c < 0 || v == 0 || v > 255)
                                return -EBADMSG;
                        buf[j++] = (char)v;
                        i += 3;
                        continue;
                }
                buf[j++] = s[i];
        }
        buf[j] = '\0';
        *ret = TAKE_PTR(buf);
        return 0;
}

static int field_int(const char *s, size_t n, int *ret)
{
        int v = 0;

        if (n == 0 || n > 10)
                return -EBADMSG;
        for (size_t i = 0; i < n; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return -EBADMSG;
                if (v > (INT32_MAX - (s[i] - '0')) / 10)
                        return -EBADMSG;
                v = v * 10 + (s[i] - '0');
        }
        *ret = v;
        return 0;
}

static int field_devnum(const char *s, size_t n, unsigned *ret_major, unsigned *ret_minor)
{
        const char *colon = memchr(s, ':', n);
        int a, b, r;

        if (!colon)
                return -EBADMSG;
        r = field_int(s, (size_t)(colon - s), &a);
        if (r < 0)
                return r;
        r = field_int(colon + 1, n - (size_t)(colon - s) - 1, &b);
        if (r < 0)
                return r;
        *ret_major = (unsigned)a;
        *ret_minor = (unsigned)b;
        return 0;
}

void mount_info_done(MountInfo *m)
{
        if (!m)
                return;
        free(m->root);
        free(m->mount_point);
        free(m->options);
        free(m->fstype);
        free(m->source);
        free(m->super_options);
        *m = (MountInfo){};
}

/* A namespace file bind-mounted somewhere (ip netns add, a container runtime): the kernel shows its root
 * as "TYPE:[INODE]", e.g. "net:[4026532314]", not as a path. */
static bool is_nsfs_root(const MountInfo *m)
{
        const char *open = strchr(m->root, ':');
        size_t n = strlen(m->root);

        if (strcmp(m->fstype, "nsfs") != 0 || !open || open == m->root || open[1] != '[' || n < 4 ||
            m->root[n - 1] != ']')
                return false;
        for (const char *c = open + 2; c < m->root + n - 1; c++)
                if (*c < '0' || *c > '9')
                        return false;
        return open + 2 < m->root + n - 1;
}

int mountinfo_parse_line(const char *line, size_t n, MountInfo *ret)
{
        _cleanup_(mount_info_done) MountInfo m = {};
        const char *p = line, *end = line + n, *f;
        size_t fl;
        int r = 0;

        if (n > 0 && line[n - 1] == '\n')
                end--;

        if (next_field(&p, end, &f, &fl) < 0 || field_int(f, fl, &m.id) < 0)
                return -EBADMSG;
        if (next_field(&p, end, &f, &fl) < 0 || field_int(f, fl, &m.parent_id) < 0)
                return -EBADMSG;
        if (next_field(&p, end, &f, &fl) < 0 || field_devnum(f, fl, &m.major, &m.minor) < 0)
                return -EBADMSG;
        if (next_field(&p, end, &f, &fl) < 0 || (r = field_unescape(f, fl, &m.root)) < 0)
                return r == -ENOMEM ? r : -EBADMSG;
        if (next_field(&p, end, &f, &fl) < 0 || (r = field_unescape(f, fl, &m.mount_point)) < 0)
                return r == -ENOMEM ? r : -EBADMSG;
        if (next_field(&p, end, &f, &fl) < 0 || (r = strndup_checked(f, fl, &m.options)) < 0)
                return r == -ENOMEM ? r : -EBADMSG;

        /* Optional fields ("shared:1", "master:2", ...), zero or more, up to the lone "-". */
        for (;;) {
                if (next_field(&p, end, &f, &fl) < 0)
                        return -EBADMSG;
                if (fl == 1 && f[0] == '-')
                        break;
        }

        if (next_field(&p, end, &f, &fl) < 0 || (r = field_unescape(f, fl, &m.fstype)) < 0)
                return r == -ENOMEM ? r : -EBADMSG;
        if (next_field(&p, end, &f, &fl) < 0 || (r = field_unescape(f, fl, &m.source)) < 0)
                return r == -ENOMEM ? r : -EBADMSG;
        if (next_field(&p, end, &f, &fl) < 0 || (r = field_unescape(f, fl, &m.super_options)) < 0)
                return r == -ENOMEM ? r : -EBADMSG;
        if (p != end)
                return -EBADMSG;
        if (m.mount_point[0] != '/' || (m.root[0] != '/' && !is_nsfs_root(&m)))
                return -EBADMSG;

        *ret = m;
        m = (MountInfo){};
        return 0;
}

void mountinfo_table_done(MountInfoTable *t)
{
        if (!t)
                return;
        for (size_t i = 0; i < t->n; i++)
                mount_info_done(&t->entries[i]);
        free(t->entries);
        *t = (MountInfoTable){};
}

int mountinfo_parse(const char *text, MountInfoTable *ret)
{
        _cleanup_(mountinfo_table_done) MountInfoTable t = {};
        size_t alloc = 0;

        for (const char *p = text; *p;) {
                const char *nl = strchr(p, '\n');
                size_t n = nl ? (size_t)(nl - p) : strlen(p);
                int r;

                if (n > 0) {
                        if (t.n >= MOUNTINFO_ENTRIES_MAX)
                                return -E2BIG;
                        if (t.n == alloc) {
                                size_t na = alloc ? alloc * 2 : 32;
                                MountInfo *e = reallocarray(t.entries, na, sizeof *e);
                                if (!e)
                                        return -ENOMEM;
                                t.entries = e;
                                alloc = na;
                        }
                        r = mountinfo_parse_line(p, n, &t.entries[t.n]);
                        if (r < 0)
                                return r;
                        t.n++;
                }
                p += n;
                if (*p == '\n')
                        p++;
        }

        *ret = t;
        t = (MountInfoTable){};
        return 0;
}

int mountinfo_read(MountInfoTable *ret)
{
        _cleanup_free_ char *text = NULL;
        int r;

        r = read_file_at(AT_FDCWD, "/proc/self/mountinfo", MOUNTINFO_SIZE_MAX, &text, NULL);
        if (r < 0)
                return r;
        return mountinfo_parse(text, ret);
}

unsigned long mountinfo_options_to_flags(const char *options)
{
        static const struct {
                const char *name;
                unsigned long flag;
        } table[] = {
                {"ro", MS_RDONLY},         {"nosuid", MS_NOSUID},           {"nodev", MS_NODEV},
                {"noexec", MS_NOEXEC},     {"noatime", MS_NOATIME},         {"nodiratime", MS_NODIRATIME},
                {"relatime", MS_RELATIME}, {"strictatime", MS_STRICTATIME},
        };
        unsigned long flags = 0;

        for (const char *p = options; p && *p;) {
                size_t n = strcspn(p, ",");
                for (size_t i = 0; i < ELEMENTSOF(table); i++)
                        if (strlen(table[i].name) == n && strncmp(p, table[i].name, n) == 0)
                                flags |= table[i].flag;
                p += n;
                if (*p == ',')
                        p++;
        }
        return flags;
}

bool path_is_at_or_below(const char *path, const char *prefix)
{
        size_t n = strlen(prefix);

        if (streq(prefix, "/"))
                return path[0] == '/';
        if (strncmp(path, prefix, n) != 0)
                return false;
        return path[n] == '\0' || path[n] == '/';
}
