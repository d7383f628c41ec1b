/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A client built by test-installed-api against the installed descartes.h and libdescartes.so alone (no
 * source tree include path): it spawns an agent, waits for its end, and reads it back (get, output).
 * Usage: installed-api-client CONTROL-ENDPOINT. Exit 0 on success; the failed step on stderr otherwise. */
#define _POSIX_C_SOURCE 200809L /* nanosleep() under -std=c11 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <descartes/descartes.h>

#define FAIL(...)                                                                                           \
        do {                                                                                                \
                fprintf(stderr, __VA_ARGS__);                                                               \
                fputc('\n', stderr);                                                                        \
                return 1;                                                                                   \
        } while (0)

static int check(DescartesClient *c, DescartesAgent *spawned)
{
        __attribute__((cleanup(descartes_agent_unrefp))) DescartesAgent *a = NULL;
        __attribute__((cleanup(descartes_output_unrefp))) DescartesOutput *out = NULL;
        DescartesOutputArgs oargs = DESCARTES_OUTPUT_ARGS_INIT;
        const char *id = descartes_agent_get_id(spawned);
        DescartesReason reason;
        DescartesError e;
        char *json = NULL;
        int code = -1;

        for (int i = 0; i < 500; i++) { /* 10 s */
                struct timespec ts = {.tv_nsec = 20 * 1000 * 1000};

                a = descartes_agent_unref(a);
                if (descartes_get(c, id, &a, &e) < 0)
                        FAIL("get: %s", e.message);
                if (descartes_state_is_final(descartes_agent_get_state(a)))
                        break;
                nanosleep(&ts, NULL);
        }
        if (descartes_agent_get_state(a) != DESCARTES_STATE_EXITED)
                FAIL("the agent did not exit: %s", descartes_state_to_string(descartes_agent_get_state(a)));
        if (!descartes_agent_get_reason(a, &reason) || reason != DESCARTES_REASON_COMPLETED ||
            !descartes_agent_get_exit_code(a, &code) || code != 0)
                FAIL("the agent did not complete with 0 (exit code %d)", code);
        if (strcmp(descartes_agent_get_name(a) ?: "", "installed-api") != 0 ||
            strcmp(descartes_agent_get_argv(a)[0], "/bin/echo") != 0 ||
            strcmp(descartes_agent_get_label_value(a, "test") ?: "", "installed") != 0)
                FAIL("get gave another agent's record");
        if (descartes_agent_to_json(a, &json) < 0 || !strstr(json, "\"state\":\"exited\""))
                FAIL("agent_to_json: %s", json ?: "failed");
        free(json);

        oargs.agent = id;
        if (descartes_output(c, &oargs, &out, &e) < 0)
                FAIL("output: %s", e.message);
        if (descartes_output_get_n_lines(out) != 1)
                FAIL("output: %zu lines, expected 1", descartes_output_get_n_lines(out));
        if (strcmp(descartes_output_line_get_text(descartes_output_get_line(out, 0), NULL),
                   "hello from an installed client") != 0 ||
            descartes_output_line_get_stream(descartes_output_get_line(out, 0)) != DESCARTES_STREAM_STDOUT)
                FAIL("output: not the line the agent wrote");
        if (descartes_remove(c, id, NULL, &e) < 0)
                FAIL("remove: %s", e.message);
        return 0;
}

int main(int argc, char **argv)
{
        __attribute__((cleanup(descartes_client_freep))) DescartesClient *c = NULL;
        __attribute__((cleanup(descartes_agent_unrefp))) DescartesAgent *a = NULL;
        const char *cmd[] = {"/bin/echo", "hello from an installed client", NULL};
        const char *env[] = {"PATH=/usr/bin:/bin", NULL};
        const char *labels[] = {"test=installed", NULL};
        DescartesSpawnArgs args = DESCARTES_SPAWN_ARGS_INIT;
        DescartesError e;

        if (argc != 2)
                FAIL("usage: installed-api-client CONTROL-ENDPOINT");
        if (descartes_client_new(argv[1], &c) < 0)
                FAIL("client_new failed");
        args.argv = cmd;
        args.env = env;
        args.labels = labels;
        args.name = "installed-api";
        if (descartes_spawn(c, &args, &a, &e) < 0)
                FAIL("spawn: %s (%s)", e.message, descartes_error_kind_to_string(e.kind));
        return check(c, a);
}
