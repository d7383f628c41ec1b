/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The agent's environment on its way to the shim: data in a sealed memfd, never the shim's own environ (the
 * shim runs as root, and variables such as LD_PRELOAD or GLIBC_TUNABLES act on whoever is exec'd with them).
 * Only the agent's execve, after the privilege drop, uses it.
 *
 * The memfd holds the entries as "KEY=VALUE\0" one after another: every entry NUL-terminated, with a
 * non-empty key before its '=', nothing after the last NUL. An empty memfd is an empty environment. */

#include <stdbool.h>
#include <stddef.h>

/* Above what a valid spawn request can hold (proto-limits.h: 4096 pairs, 1 MiB of keys and values, plus
 * '=' and NUL each) with HOME added. */
#define ENV_BLOB_ENTRIES_MAX 8192
#define ENV_BLOB_SIZE_MAX    (2 * 1024 * 1024)

/* A new sealed memfd (CLOEXEC, no write, grow or shrink) holding env (NULL-terminated, may be NULL).
 * -EINVAL for an entry without '=' or with an empty key, -E2BIG beyond the bounds above. */
int env_blob_export(char *const *env, int *ret_fd);

/* Parses a blob as described above into a NULL-terminated list of copies. -EBADMSG when malformed, -E2BIG
 * beyond the bounds. */
int env_blob_parse(const char *data, size_t size, char ***ret);

/* Reads and parses the blob in fd, which must be a sealed memfd as env_blob_export() makes (-EPERM if not
 * sealed against writes, growing and shrinking). The fd is left open. */
int env_blob_read_fd(int fd, char ***ret);
