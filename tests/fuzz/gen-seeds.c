/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Writes the fuzz seed corpora from the round-trip samples: DIR/request/, DIR/reply/, DIR/event/,
 * DIR/agent-record/.
 * Usage: proto-fuzz-seeds tests/fuzz/corpus */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "proto-samples.h"
#include "string-util.h"

static int write_seed(const char *dir, const char *kind, const char *name, const void *buf, size_t len)
{
        _cleanup_free_ char *path = NULL;
        _cleanup_close_ int fd = -EBADF;

        if (asprintf_safe(&path, "%s/%s/%s.msgpack", dir, kind, name) < 0)
                return -ENOMEM;
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0)
                return -errno;
        if (write(fd, buf, len) != (ssize_t)len)
                return -EIO;
        return 0;
}

static int make_dir(const char *dir, const char *kind)
{
        _cleanup_free_ char *path = NULL;

        if (asprintf_safe(&path, "%s/%s", dir, kind) < 0)
                return -ENOMEM;
        if (mkdir(path, 0755) < 0 && errno != EEXIST)
                return -errno;
        return 0;
}

int main(int argc, char *argv[])
{
        const char *dir;
        unsigned n = 0;
        int r;

        if (argc != 2) {
                fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
                return EXIT_FAILURE;
        }
        dir = argv[1];
        if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
                fprintf(stderr, "cannot create %s: %s\n", dir, strerror(errno));
                return EXIT_FAILURE;
        }
        if (make_dir(dir, "request") < 0 || make_dir(dir, "reply") < 0 || make_dir(dir, "event") < 0 ||
            make_dir(dir, "agent-record") < 0) {
                fprintf(stderr, "cannot create the corpus directories under %s\n", dir);
                return EXIT_FAILURE;
        }

        for (ProtoOp op = 0; op < _PROTO_OP_MAX; op++)
                for (unsigned v = 0;; v++) {
                        _cleanup_(proto_request_done) ProtoRequest q = {};
                        _cleanup_(proto_reply_done) ProtoReply p = {};
                        _cleanup_free_ void *buf = NULL, *buf2 = NULL;
                        char name[64];
                        size_t len, len2;
                        bool any = false;

                        if (sample_request(op, v, &q) == 0) {
                                any = true;
                                (void)snprintf(name, sizeof(name), "%s-%u", proto_op_to_string(op), v);
                                r = proto_request_encode(&q, &buf, &len);
                                if (r >= 0)
                                        r = write_seed(dir, "request", name, buf, len);
                                if (r < 0)
                                        goto fail;
                                n++;
                        }
                        if (sample_reply(op, v, &p) == 0) {
                                any = true;
                                (void)snprintf(name, sizeof(name), "%s-%u", proto_op_to_string(op), v);
                                r = proto_reply_encode(&p, &buf2, &len2);
                                if (r >= 0)
                                        r = write_seed(dir, "reply", name, buf2, len2);
                                if (r < 0)
                                        goto fail;
                                n++;
                        }
                        if (!any)
                                break;
                }

        for (ProtoEventKind k = 0; k < _PROTO_EVENT_KIND_MAX; k++)
                for (unsigned v = 0; v < 2; v++) {
                        _cleanup_(proto_event_done) ProtoEvent e = {};
                        _cleanup_free_ void *buf = NULL;
                        char name[64];
                        size_t len;

                        if (sample_event(k, v, &e) < 0)
                                continue;
                        (void)snprintf(name, sizeof(name), "%s-%u", proto_event_kind_to_string(k), v);
                        r = proto_event_encode(&e, &buf, &len);
                        if (r >= 0)
                                r = write_seed(dir, "event", name, buf, len);
                        if (r < 0)
                                goto fail;
                        n++;
                }
        for (int full = 0; full <= 1; full++) {
                _cleanup_(proto_agent_info_done) ProtoAgentInfo i = {};
                _cleanup_free_ void *buf = NULL;
                size_t len;

                r = sample_agent_info(full, &i);
                if (r >= 0)
                        r = proto_agent_info_encode(&i, &buf, &len);
                if (r >= 0)
                        r = write_seed(dir, "agent-record", full ? "full" : "minimal", buf, len);
                if (r < 0)
                        goto fail;
                n++;
        }
        fprintf(stderr, "wrote %u seeds under %s\n", n, dir);
        return EXIT_SUCCESS;
fail:
        fprintf(stderr, "writing seeds failed: %s\n", strerror(-r));
        return EXIT_FAILURE;
}
