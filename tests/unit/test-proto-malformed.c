/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Walks tests/malformed/: every NN-what.CODE.bin frame must be refused as a request with error CODE (and as a
 * reply and an event too, without crashing). */
#include <dirent.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "fd-util.h"
#include "proto.h"
#include "string-util.h"

#ifndef MALFORMED_DIR
#error "MALFORMED_DIR must be set by the build"
#endif

static int read_all(int dirfd, const char *name, uint8_t **ret, size_t *ret_len)
{
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ uint8_t *buf = NULL;
        struct stat st;
        size_t done = 0;

        fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0)
                return -errno;
        buf = malloc((size_t)st.st_size + 1);
        if (!buf)
                return -ENOMEM;
        while (done < (size_t)st.st_size) {
                ssize_t n = read(fd, buf + done, (size_t)st.st_size - done);
                if (n < 0)
                        return -errno;
                if (n == 0)
                        break;
                done += (size_t)n;
        }
        *ret = TAKE_PTR(buf);
        *ret_len = done;
        return 0;
}

static void test_corpus(void **state)
{
        _cleanup_closedir_ DIR *d = opendir(MALFORMED_DIR);
        struct dirent *de;
        unsigned n = 0;

        assert_non_null(d);
        while ((de = readdir(d))) {
                _cleanup_free_ uint8_t *buf = NULL;
                _cleanup_free_ char *code = NULL;
                _cleanup_(proto_request_done) ProtoRequest req = {};
                _cleanup_(proto_reply_done) ProtoReply rep = {};
                _cleanup_(proto_event_done) ProtoEvent ev = {};
                const char *end, *dot;
                ProtoError err;
                size_t len = 0;
                int r;

                end = strstr(de->d_name, ".bin");
                if (!end || end[4] != 0)
                        continue;
                dot = memrchr(de->d_name, '.', (size_t)(end - de->d_name));
                assert_non_null(dot);
                code = strndup(dot + 1, (size_t)(end - dot - 1));
                assert_non_null(code);
                assert_true(proto_error_code_from_string(code) >= 0);

                assert_int_equal(read_all(dirfd(d), de->d_name, &buf, &len), 0);
                r = proto_request_decode(buf, len, &req, &err);
                if (r >= 0 || !streq(proto_error_code_to_string(err.code), code))
                        fail_msg("%s: got %d %s \"%s\"", de->d_name, r, proto_error_code_to_string(err.code),
                                 err.msg);
                /* The same bytes as the other message kinds: refused, never a crash. */
                assert_true(proto_reply_decode(buf, len, PROTO_OP_SPAWN, &rep, &err) < 0);
                assert_true(proto_event_decode(buf, len, &ev, &err) < 0);
                n++;
        }
        assert_true(n >= 30);
        print_message("%u malformed frames checked\n", n);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_corpus),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
