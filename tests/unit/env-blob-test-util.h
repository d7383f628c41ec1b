/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Test blobs for the agent's environment memfd (sandbox/env-blob.h), good or malformed, shared by the
 * env-blob tests and the shim's. */

#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>

#include <cmocka.h>

#include "fd-util.h"

/* A memfd holding exactly data, sealed against writes, growing and shrinking as env_blob_export() does, or
 * not sealed at all. */
static inline int env_blob_test_memfd(const void *data, size_t n, bool seal)
{
        int fd = memfd_create("test-env", MFD_CLOEXEC | MFD_ALLOW_SEALING);

        assert_true(fd >= 0);
        assert_int_equal(loop_write(fd, data, n), 0);
        if (seal)
                assert_int_equal(fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE), 0);
        return fd;
}
