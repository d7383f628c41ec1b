/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "cleanup.h"

int fd_set_nonblock(int fd, int nonblock);
int fd_set_cloexec(int fd, int cloexec);

/* Write/read all of buf, retrying on EINTR and short writes. loop_read returns the bytes read (short on
 * EOF). */
int loop_write(int fd, const void *buf, size_t n);
ssize_t loop_read(int fd, void *buf, size_t n);

/* Reads a whole (small) file relative to dirfd (AT_FDCWD for a path), at most max bytes, NUL-terminated. */
int read_file_at(int dirfd, const char *path, size_t max, char **ret, size_t *ret_size);
/* Writes a string to an existing file (cgroup and proc attributes): one write(), no O_CREAT. */
int write_string_file_at(int dirfd, const char *path, const char *s);
/* Writes data to dir/path atomically: temp file, rename; with `sync`, an fsync of the file before the rename
 * and of the directory after it. Without them a reader still sees the old or the new content whole (rename
 * is atomic), and a process crash loses nothing; only a host crash may. */
int write_file_replace_at(int dirfd, const char *path, const void *data, size_t n, mode_t mode, bool sync);
/* The same without a new inode each time, for a file rewritten often: data goes into dir/spare (made once,
 * then truncated and reused) and renameat2(RENAME_EXCHANGE) swaps it with dir/path, so the old content
 * becomes the next spare. A reader of path sees the old or the new content whole, as above. The first write
 * (no path yet) and a file system without RENAME_EXCHANGE rename the spare into place instead. Creating and
 * freeing an inode per write is what this saves: on ext4 without a journal each new inode is found past
 * every inode freed in the last minute, a cost that grows with the rate of writes. No fsync. */
int write_file_exchange_at(int dirfd, const char *path, const char *spare, const void *data, size_t n,
                           mode_t mode);

/* mkdir -p: the last component with mode, missing parents with 0755. */
int mkdir_p(const char *path, mode_t mode);
/* rm -rf below and including path; does not cross mount points and never follows symlinks. */
int rm_rf_at(int dirfd, const char *path);
