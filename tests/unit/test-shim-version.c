/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The daemon-shim contract without a shim: the range a HELLO says, the version picked from two ranges, the
 * packet decoder both sides use, and the options codec (longer than a side knows: its prefix; shorter than
 * the oldest form, or out of bounds: refused). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cleanup.h"
#include "shim-contract.h"
#include "shim-version.h"
#include "string-util.h"

static void test_range_from_hello(void **state)
{
        ShimMsgHello h = {.version = 1, .min_version = 7}; /* min_version: garbage past a version 1 HELLO */
        uint32_t min, max;

        shim_version_range(&h, SHIM_MSG_HELLO_V1_SIZE, &min, &max);
        assert_int_equal(min, 1);
        assert_int_equal(max, 1);

        h = (ShimMsgHello){.version = 3, .min_version = 1};
        shim_version_range(&h, sizeof h, &min, &max);
        assert_int_equal(min, 1);
        assert_int_equal(max, 3);

        /* absent or nonsense: only `version` */
        h = (ShimMsgHello){.version = 2, .min_version = 0};
        shim_version_range(&h, sizeof h, &min, &max);
        assert_int_equal(min, 2);
        h = (ShimMsgHello){.version = 2, .min_version = 5};
        shim_version_range(&h, sizeof h, &min, &max);
        assert_int_equal(min, 2);
        assert_int_equal(max, 2);
}

static void test_negotiate(void **state)
{
        uint32_t v = 0;

        /* this daemon speaks SHIM_PROTOCOL_VERSION_MIN..SHIM_PROTOCOL_VERSION */
        assert_int_equal(shim_version_negotiate(1, 1, &v), 0);
        assert_int_equal(v, 1);
        assert_int_equal(shim_version_negotiate(1, SHIM_PROTOCOL_VERSION, &v), 0);
        assert_int_equal(v, SHIM_PROTOCOL_VERSION);
        /* a newer shim that still speaks ours: ours */
        assert_int_equal(shim_version_negotiate(1, SHIM_PROTOCOL_VERSION + 5, &v), 0);
        assert_int_equal(v, SHIM_PROTOCOL_VERSION);
        assert_int_equal(shim_version_negotiate(SHIM_PROTOCOL_VERSION, SHIM_PROTOCOL_VERSION + 1, &v), 0);
        assert_int_equal(v, SHIM_PROTOCOL_VERSION);

        v = 0;
        /* a shim that dropped ours, one older than we speak, and nonsense */
        assert_int_equal(shim_version_negotiate(SHIM_PROTOCOL_VERSION + 1, SHIM_PROTOCOL_VERSION + 2, &v),
                         -EPROTONOSUPPORT);
        assert_int_equal(shim_version_negotiate(0, 0, &v), -EPROTONOSUPPORT);
        assert_int_equal(shim_version_negotiate(3, 2, &v), -EPROTONOSUPPORT);
        assert_int_equal(v, 0);
}

/* n bytes of msg with `extra` bytes of a later version's fields appended, the size in its header grown. */
static size_t grow(uint8_t *buf, const void *msg, size_t n, size_t extra)
{
        ShimMsgHeader h;

        memcpy(buf, msg, n);
        memset(buf + n, 0xa5, extra);
        memcpy(&h, buf, sizeof h);
        h.size = (uint32_t)(n + extra);
        memcpy(buf, &h, sizeof h);
        return n + extra;
}

/* Both directions: a HELLO (shim -> daemon) and a SIGNAL (daemon -> shim) longer than this side knows are
 * taken for the fields it knows; a version 1 HELLO reads min_version 0; short, mis-sized and unknown packets
 * are told apart. */
static void test_msg_decode(void **state)
{
        ShimMsgHello hello = {.h = {.type = SHIM_MSG_HELLO, .size = sizeof hello},
                              .version = 2,
                              .state = SHIM_STATE_RUNNING,
                              .agent_pid = 2,
                              .next_seq = 9,
                              .min_version = 1};
        ShimMsgSignal sig = {.h = {.type = SHIM_MSG_SIGNAL, .size = sizeof sig}, .signal = 15};
        ShimMsgStdin in = {.h = {.type = SHIM_MSG_STDIN, .size = sizeof in + 3}, .cookie = 7, .close = 1};
        ShimMsgHeader unknown = {.type = 4242, .size = sizeof unknown};
        ShimMsgTtyInput tin = {.h = {.type = SHIM_MSG_TTY_INPUT, .size = sizeof tin + 1}};
        ShimMsgTtyResize resize = {
                .h = {.type = SHIM_MSG_TTY_RESIZE, .size = sizeof resize}, .rows = 50, .cols = 132};
        uint8_t buf[256];
        ShimMsg m;
        size_t n;

        n = grow(buf, &hello, sizeof hello, 40);
        assert_int_equal(shim_msg_decode(buf, n, &m), 0);
        assert_int_equal(m.type, SHIM_MSG_HELLO);
        assert_int_equal(m.size, n);
        assert_int_equal(m.hello.version, 2);
        assert_int_equal(m.hello.min_version, 1);
        assert_int_equal(m.hello.next_seq, 9);

        n = grow(buf, &hello, SHIM_MSG_HELLO_V1_SIZE, 0);
        assert_int_equal(shim_msg_decode(buf, n, &m), 0);
        assert_int_equal(m.hello.min_version, 0);
        assert_int_equal(m.hello.agent_pid, 2);
        n = grow(buf, &hello, SHIM_MSG_HELLO_V1_SIZE - 4, 0);
        assert_int_equal(shim_msg_decode(buf, n, &m), -EBADMSG);

        n = grow(buf, &sig, sizeof sig, 32);
        assert_int_equal(shim_msg_decode(buf, n, &m), 0);
        assert_int_equal(m.type, SHIM_MSG_SIGNAL);
        assert_int_equal(m.signal.signal, 15);
        n = grow(buf, &sig, sizeof sig - 1, 0);
        assert_int_equal(shim_msg_decode(buf, n, &m), -EBADMSG);

        /* STDIN's fixed part never grows: what follows it is data */
        memcpy(buf, &in, sizeof in);
        memcpy(buf + sizeof in, "abc", 3);
        assert_int_equal(shim_msg_decode(buf, sizeof in + 3, &m), 0);
        assert_int_equal(m.stdin.cookie, 7);
        assert_int_equal(m.data_size, 3);
        assert_memory_equal(m.data, "abc", 3);

        /* TTY_INPUT's likewise: its data starts at byte 16; TTY_RESIZE grows as any other */
        memcpy(buf, &tin, sizeof tin);
        memcpy(buf + sizeof tin, "\x03", 1);
        assert_int_equal(shim_msg_decode(buf, sizeof tin + 1, &m), 0);
        assert_int_equal(m.type, SHIM_MSG_TTY_INPUT);
        assert_int_equal(m.data_size, 1);
        assert_ptr_equal(m.data, buf + 16);
        n = grow(buf, &resize, sizeof resize, 24);
        assert_int_equal(shim_msg_decode(buf, n, &m), 0);
        assert_int_equal(m.tty_resize.rows, 50);
        assert_int_equal(m.tty_resize.cols, 132);
        n = grow(buf, &resize, sizeof resize - 1, 0);
        assert_int_equal(shim_msg_decode(buf, n, &m), -EBADMSG);

        n = grow(buf, &unknown, sizeof unknown, 16);
        assert_int_equal(shim_msg_decode(buf, n, &m), -EOPNOTSUPP);
        /* a header whose size is not the packet's */
        n = grow(buf, &sig, sizeof sig, 0);
        assert_int_equal(shim_msg_decode(buf, n + 1, &m), -EBADMSG);
        assert_int_equal(shim_msg_decode(buf, 4, &m), -EBADMSG);
}

static ShimOptions sample_options(void)
{
        static char *argv[] = {(char *)"sh", (char *)"-c", (char *)"echo hi", NULL};
        static char *masks[] = {(char *)"/run/descartes", (char *)"/var/lib/descartes", NULL};
        static char *keeps[] = {(char *)"/etc/resolv.conf", NULL};
        ShimOptions o = SHIM_OPTIONS_INIT;

        o.id = (char *)"agent-1";
        o.listen_path = (char *)"/run/descartes/agents/agent-1/shim.sock";
        o.output_cap = 1 << 20;
        o.stdin_pipe = true;
        o.loopback = true;
        o.argv = argv;
        o.sandbox = true;
        o.uid = 1000;
        o.gid = 1001;
        o.workspace = (char *)"/var/lib/descartes/agents/agent-1/work";
        o.tmp_size = 16 << 20;
        o.workspace_tmpfs_size = 256 << 20;
        o.mask_paths = masks;
        o.home = (char *)"/var/lib/descartes/agents/agent-1/work/.home";
        o.seccomp = true;
        o.keep_paths = keeps;
        o.workspace_idmap = true;
        return o;
}

static void assert_options_equal(const ShimOptions *a, const ShimOptions *b)
{
        assert_string_equal(a->id, b->id);
        assert_null(b->hostname);
        assert_null(b->cwd);
        assert_string_equal(a->listen_path, b->listen_path);
        assert_int_equal(a->output_cap, b->output_cap);
        assert_int_equal(a->stdin_pipe, b->stdin_pipe);
        assert_int_equal(a->loopback, b->loopback);
        assert_int_equal(strv_length(a->argv), strv_length(b->argv));
        for (size_t i = 0; a->argv[i]; i++)
                assert_string_equal(a->argv[i], b->argv[i]);
        assert_int_equal(a->sandbox, b->sandbox);
        assert_int_equal(a->uid, b->uid);
        assert_int_equal(a->gid, b->gid);
        assert_int_equal(a->workspace_owner, b->workspace_owner);
        assert_string_equal(a->workspace, b->workspace);
        assert_int_equal(a->tmp_size, b->tmp_size);
        assert_int_equal(a->workspace_tmpfs_size, b->workspace_tmpfs_size);
        assert_int_equal(strv_length(a->mask_paths), strv_length(b->mask_paths));
        for (size_t i = 0; a->mask_paths[i]; i++)
                assert_string_equal(a->mask_paths[i], b->mask_paths[i]);
        assert_string_equal(a->home, b->home);
        assert_int_equal(a->seccomp, b->seccomp);
        assert_int_equal(strv_length(a->keep_paths), strv_length(b->keep_paths));
        for (size_t i = 0; a->keep_paths && a->keep_paths[i]; i++)
                assert_string_equal(a->keep_paths[i], b->keep_paths[i]);
        assert_int_equal(a->workspace_idmap, b->workspace_idmap);
        assert_int_equal(a->tty, b->tty);
}

/* A blob from a later daemon (fields appended) is read for the fields this side knows; a blob cut anywhere
 * short of them is refused. */
static void test_options_round_trip_and_longer(void **state)
{
        ShimOptions o = sample_options(), d = SHIM_OPTIONS_INIT;
        _cleanup_free_ uint8_t *buf = NULL, *longer = NULL;
        size_t n;

        assert_int_equal(shim_options_encode(&o, &buf, &n), 0);
        assert_int_equal(shim_options_decode(buf, n, &d), 0);
        assert_int_equal(d.version, SHIM_PROTOCOL_VERSION);
        assert_options_equal(&o, &d);
        shim_options_done(&d);

        longer = malloc(n + 64);
        assert_non_null(longer);
        memcpy(longer, buf, n);
        memset(longer + n, 0xa5, 64);
        assert_int_equal(shim_options_decode(longer, n + 64, &d), 0);
        assert_options_equal(&o, &d);
        shim_options_done(&d);

        for (size_t k = 0; k < n; k++)
                assert_int_equal(shim_options_decode(buf, k, &d), -EBADMSG);
}

/* Version 4's terminal round-trips; a version 3 daemon's blob ends before it: no terminal. A terminal with
 * a stdin pipe is refused. */
static void test_options_tty(void **state)
{
        ShimOptions o = sample_options(), d = SHIM_OPTIONS_INIT;
        _cleanup_free_ uint8_t *buf = NULL;
        uint32_t v3 = 3;
        size_t n;

        o.stdin_pipe = false;
        o.tty = true;
        assert_int_equal(shim_options_encode(&o, &buf, &n), 0);
        assert_int_equal(shim_options_decode(buf, n, &d), 0);
        assert_options_equal(&o, &d);
        shim_options_done(&d);

        memcpy(buf + sizeof(uint32_t), &v3, sizeof v3); /* after the magic */
        assert_int_equal(shim_options_decode(buf, n - sizeof(uint32_t) - SHIM_MSG_TEST_TAIL, &d), 0);
        assert_int_equal(d.version, 3);
        assert_false(d.tty);
        shim_options_done(&d);

        o.stdin_pipe = true;
        assert_int_equal(shim_options_validate(&o), -EINVAL);
}

/* A version 2 daemon's blob ends before keep_paths and workspace_idmap: read as none. */
static void test_options_version_2(void **state)
{
        ShimOptions o = sample_options(), d = SHIM_OPTIONS_INIT;
        _cleanup_free_ uint8_t *buf = NULL;
        uint32_t v2 = 2;
        size_t n;

        o.keep_paths = NULL;
        o.workspace_idmap = false;
        assert_int_equal(shim_options_encode(&o, &buf, &n), 0);
        memcpy(buf + sizeof(uint32_t), &v2, sizeof v2); /* after the magic */
        /* version 3 appended an empty list (its count) and a u32 */
        assert_int_equal(shim_options_decode(buf, n - 2 * sizeof(uint32_t) - SHIM_MSG_TEST_TAIL, &d), 0);
        assert_int_equal(d.version, 2);
        assert_null(d.keep_paths);
        assert_false(d.workspace_idmap);
        assert_options_equal(&o, &d);
        shim_options_done(&d);
}

/* What the shim would refuse the daemon cannot encode: a half sandbox, bad names and paths, no command. */
static void test_options_refused(void **state)
{
        static char *empty[] = {NULL};
        static char *relative[] = {(char *)"tmp", NULL};
        _cleanup_free_ uint8_t *buf = NULL;
        ShimOptions o, d = SHIM_OPTIONS_INIT;
        size_t n;

        o = sample_options();
        o.id = (char *)"a/b";
        assert_int_equal(shim_options_encode(&o, &buf, &n), -EINVAL);
        o = sample_options();
        o.argv = empty;
        assert_int_equal(shim_options_validate(&o), -EINVAL);
        o = sample_options();
        o.hostname = (char *)"-x";
        assert_int_equal(shim_options_validate(&o), -EINVAL);
        o = sample_options();
        o.mask_paths = relative;
        assert_int_equal(shim_options_validate(&o), -EINVAL);
        o = sample_options();
        o.uid = (uid_t)-1;
        assert_int_equal(shim_options_validate(&o), -EINVAL);
        o = sample_options();
        o.tmp_size = 0;
        assert_int_equal(shim_options_validate(&o), -EINVAL);
        o = sample_options();
        o.output_cap = 10;
        assert_int_equal(shim_options_validate(&o), -EINVAL);
        o = sample_options();
        o.sandbox = false; /* the rest of the sandbox still given */
        assert_int_equal(shim_options_validate(&o), -EINVAL);

        /* a bad magic, and a list count the blob cannot hold */
        o = sample_options();
        assert_int_equal(shim_options_encode(&o, &buf, &n), 0);
        buf[0] ^= 1;
        assert_int_equal(shim_options_decode(buf, n, &d), -EBADMSG);
        buf[0] ^= 1;
        uint32_t huge = 0x7fffffff;
        size_t argv_at = 8 + 4 + strlen(o.id) + 4 + 4 + strlen(o.listen_path) + 4 + 8 + 4;
        memcpy(buf + argv_at, &huge, sizeof huge);
        assert_int_equal(shim_options_decode(buf, n, &d), -EBADMSG);
        assert_int_equal(shim_options_decode(NULL, 0, &d), -EBADMSG);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_range_from_hello),
                cmocka_unit_test(test_negotiate),
                cmocka_unit_test(test_msg_decode),
                cmocka_unit_test(test_options_round_trip_and_longer),
                cmocka_unit_test(test_options_version_2),
                cmocka_unit_test(test_options_tty),
                cmocka_unit_test(test_options_refused),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
