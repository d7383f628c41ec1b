/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Data handed to a child as a sealed memfd (the shim's options, the agent's environment): once sealed nobody
 * can change its bytes or size, so the reader may trust the size it sees and read at leisure. */

#include <stddef.h>

/* A new memfd named name (CLOEXEC) holding the n bytes of data, sealed against writes, growing, shrinking
 * and further seals. */
int memfd_new_sealed(const char *name, const void *data, size_t n, int *ret_fd);

/* Reads all of fd, which must be a memfd sealed at least against writes, growing and shrinking (-EPERM if
 * not), of at most max bytes (-E2BIG beyond). *ret is allocated (at least one byte) and owned by the caller.
 * The fd is left open. */
int memfd_read_sealed(int fd, size_t max, void **ret, size_t *ret_size);
