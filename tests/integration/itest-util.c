/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cleanup.h"
#include "itest-util.h"
#include "string-util.h"

void itest_sleep_ms(unsigned ms)
{
        struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
        (void)nanosleep(&ts, NULL);
}

int itest_setup(void **state)
{
        /* a small output budget, so that long outputs come in cut-short parts that clients must follow */
        return itest_setup_with(&(HarnessOptions){.extra_config = "output_scan_budget = 64K"}, state);
}

int itest_setup_with(const HarnessOptions *o, void **state)
{
        const char *why = harness_skip_reason();
        ITest *t;
        int r;

        if (why) {
                fprintf(stderr, "SKIP: %s\n", why);
                exit(77);
        }
        t = calloc(1, sizeof *t);
        assert_non_null(t);
        r = harness_start_with(o, &t->h);
        if (r < 0) {
                fprintf(stderr, "harness_start failed: %s\n", strerror(-r));
                free(t);
                return -1;
        }
        assert_int_equal(descartes_client_new(t->h->control, &t->c), 0);
        *state = t;
        return 0;
}

int itest_teardown(void **state)
{
        ITest *t = *state;

        if (!t)
                return 0;
        descartes_client_free(t->c);
        harness_stop(t->h);
        free(t);
        return 0;
}

char *itest_spawn(ITest *t, bool open_stdin, const char *const *argv)
{
        ProtoSpawnArgs a = {};
        ProtoStrPair env[] = {
                {(char *)"PATH", (char *)"/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"},
                {(char *)"LANG", (char *)"C.UTF-8"},
        };
        ProtoAgentInfo info = {};
        DescartesError err = {};
        char *id;
        int r;

        a.argv = (char **)argv;
        a.n_argv = strv_length((char *const *)argv);
        a.env.pairs = env;
        a.env.n_pairs = ELEMENTSOF(env);
        a.open_stdin = open_stdin;
        r = wire_spawn(t->c, &a, &info, &err);
        if (r < 0)
                fprintf(stderr, "spawn %s failed: %s\n", argv[0], err.message);
        assert_int_equal(r, 0);
        assert_int_equal(info.state, PROTO_STATE_RUNNING);
        id = strdup(info.id);
        proto_agent_info_done(&info);
        return id;
}

void itest_wait_final(ITest *t, const char *id, unsigned timeout_ms, ProtoAgentInfo *ret)
{
        for (unsigned waited = 0;; waited += 20) {
                ProtoAgentInfo info = {};
                DescartesError err = {};

                assert_int_equal(wire_get(t->c, id, &info, &err), 0);
                if (descartes_state_is_final((DescartesState)info.state)) {
                        *ret = info;
                        return;
                }
                proto_agent_info_done(&info);
                if (waited >= timeout_ms)
                        fail_msg("agent %s did not end within %u ms", id, timeout_ms);
                itest_sleep_ms(20);
        }
}

char **itest_output_lines(ITest *t, const char *id, ProtoStream stream, size_t *ret_n)
{
        _cleanup_strv_free_ char **lines = NULL;
        _cleanup_free_ char *cursor = NULL;
        size_t n = 0, alloc = 0;

        /* follows cursors: a reply cut short at the daemon's work budget may hold no lines */
        for (;;) {
                ProtoOutputArgs a = {
                        .agent = (char *)id,
                        .has_stream = true,
                        .stream = stream,
                        .has_mode = true,
                        .mode = PROTO_OUTPUT_LINES,
                        .has_limit = true,
                        .limit = 20000,
                        .cursor = cursor,
                };
                ProtoOutputResult o = {};
                DescartesError err = {};
                int r = wire_output(t->c, &a, &o, &err);

                if (r < 0)
                        fail_msg("output of %s: %s", id, err.message);
                for (size_t i = 0; i < o.n_lines; i++) {
                        if (n + 2 > alloc) {
                                alloc = alloc ? alloc * 2 : 1024;
                                char **nl = realloc(lines, alloc * sizeof(char *));
                                assert_non_null(nl);
                                lines = nl;
                        }
                        lines[n++] = strndup(o.lines[i].text, o.lines[i].text_size);
                        lines[n] = NULL;
                }
                bool more = o.has_more && (o.n_lines > 0 || o.partial) && o.cursor;
                if (o.partial)
                        t->partial_replies++;
                free(cursor);
                cursor = TAKE_PTR(o.cursor);
                proto_output_result_done(&o);
                if (!more)
                        break;
        }
        if (!lines) {
                lines = calloc(1, sizeof(char *));
                assert_non_null(lines);
        }
        *ret_n = n;
        return TAKE_PTR(lines);
}

void itest_wait_ready(ITest *t, const char *id)
{
        for (int i = 0; i < 200; i++) {
                size_t n = 0;
                char **lines = itest_output_lines(t, id, PROTO_STREAM_STDOUT, &n);

                strv_free(lines);
                if (n > 0)
                        return;
                itest_sleep_ms(50);
        }
        fail_msg("agent %s never said it was ready", id);
}

char *itest_agent_cgroup(ITest *t, const char *id)
{
        ProtoAgentInfo info = {};
        DescartesError err = {};
        char *path = NULL;

        assert_int_equal(wire_get(t->c, id, &info, &err), 0);
        assert_non_null(info.cgroup);
        /* INFO.cgroup is the path inside the cgroup2 mount; the harness root sits in that mount */
        if (info.cgroup[0] == '/' && strncmp(info.cgroup, "/sys/fs/cgroup", 14) == 0)
                path = strdup(info.cgroup);
        else
                assert_true(asprintf_safe(&path, "/sys/fs/cgroup/unified%s", info.cgroup) >= 0);
        proto_agent_info_done(&info);
        return path;
}
