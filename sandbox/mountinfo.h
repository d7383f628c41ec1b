/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* /proc/self/mountinfo (proc(5)), split from I/O so that the parser is tested on literal text:
 *
 *   36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue
 *   id parent major:minor root mount-point per-mount-options [optional...] - fstype source super-options
 *
 * The kernel escapes space, tab, newline and backslash as \ooo in the path-like fields; the parser decodes
 * them. */

#include <stdbool.h>
#include <stddef.h>

#include "cleanup.h"

#define MOUNTINFO_SIZE_MAX    (64U * 1024U * 1024U)
#define MOUNTINFO_ENTRIES_MAX 100000U

typedef struct MountInfo {
        int id;
        int parent_id;
        unsigned major;
        unsigned minor;
        char *root; /* the directory of the filesystem mounted here (bind mounts: not "/") */
        char *mount_point;
        char *options; /* per-mount: "rw,nosuid,relatime" */
        char *fstype;
        char *source;
        char *super_options; /* per-superblock */
} MountInfo;

typedef struct MountInfoTable {
        MountInfo *entries;
        size_t n;
} MountInfoTable;

/* Parses one line (n bytes, no newline needed). -EBADMSG on malformed input. */
int mountinfo_parse_line(const char *line, size_t n, MountInfo *ret);
void mount_info_done(MountInfo *m);

/* Parses the whole text; empty lines are skipped, any malformed line fails the whole parse (-EBADMSG), more
 * than MOUNTINFO_ENTRIES_MAX entries give -E2BIG. */
int mountinfo_parse(const char *text, MountInfoTable *ret);
void mountinfo_table_done(MountInfoTable *t);

/* Reads and parses /proc/self/mountinfo. */
int mountinfo_read(MountInfoTable *ret);

/* The MS_* flags that a bind remount must repeat to keep a mount's per-mount options (MS_RDONLY, MS_NOSUID,
 * MS_NODEV, MS_NOEXEC and the atime flags), from its per-mount option string. */
unsigned long mountinfo_options_to_flags(const char *options);

/* Whether path is prefix or lies below it, comparing whole components ("/a/bc" is not below "/a/b"). Both
 * absolute and without trailing slashes (except "/" itself). */
bool path_is_at_or_below(const char *path, const char *prefix);
