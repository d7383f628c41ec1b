/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "string-util.h"

#include "ctl.h"

/* Parses a NULL-terminated literal argv (copied: getopt may permute it). */
static int parse_env(const char *const *argv, char **env, CtlArgs *a, char *err, size_t n)
{
        char *copy[64];
        int argc = 0;

        for (; argv[argc]; argc++) {
                assert_true(argc < 63);
                copy[argc] = (char *)argv[argc];
        }
        copy[argc] = NULL;
        return ctl_args_parse(argc, copy, env, a, err, n);
}

static int parse(const char *const *argv, CtlArgs *a, char *err, size_t n)
{
        static char *empty_env[] = {NULL};
        return parse_env(argv, empty_env, a, err, n);
}

#define PARSE_OK(a, ...)                                                                                    \
        do {                                                                                                \
                const char *const _argv[] = {"descartesctl", __VA_ARGS__, NULL};                            \
                char _err[512];                                                                             \
                int _r = parse(_argv, (a), _err, sizeof _err);                                              \
                if (_r < 0)                                                                                 \
                        fail_msg("parse failed (%d): %s", _r, _err);                                        \
        } while (0)

/* Expects a usage error whose message contains `needle`. */
static void expect_usage_error(const char *needle, const char *const *argv)
{
        CtlArgs a;
        char err[512];
        int r = parse(argv, &a, err, sizeof err);

        if (r != -EINVAL)
                fail_msg("expected -EINVAL for \"%s\"..., got %d", argv[1] ?: "", r);
        if (!strstr(err, needle))
                fail_msg("error \"%s\" does not mention \"%s\"", err, needle);
        ctl_args_done(&a);
}

#define EXPECT_ERROR(needle, ...)                                                                           \
        do {                                                                                                \
                const char *const _argv[] = {"descartesctl", __VA_ARGS__, NULL};                            \
                expect_usage_error((needle), _argv);                                                        \
        } while (0)

static void test_global_options(void **state)
{
        CtlArgs a;

        PARSE_OK(&a, "-H", "ipc:///tmp/x/control", "--events", "ipc:///tmp/x/events", "-o", "json",
                 "--timeout", "1500ms", "ps");
        assert_non_null(a.verb);
        assert_string_equal(a.verb->name, "ps");
        assert_string_equal(a.host, "ipc:///tmp/x/control");
        assert_string_equal(a.events, "ipc:///tmp/x/events");
        assert_int_equal(a.format, CTL_FORMAT_JSON);
        assert_int_equal(a.timeout_usec, 1500000);
        ctl_args_done(&a);

        /* global options after the command too */
        PARSE_OK(&a, "health", "--host=tcp://127.0.0.1:5555", "-o", "table", "--timeout", "2s");
        assert_string_equal(a.verb->name, "health");
        assert_string_equal(a.host, "tcp://127.0.0.1:5555");
        assert_int_equal(a.format, CTL_FORMAT_TABLE);
        assert_int_equal(a.timeout_usec, 2000000);
        ctl_args_done(&a);

        PARSE_OK(&a, "--help");
        assert_true(a.help);
        assert_null(a.verb);
        ctl_args_done(&a);

        /* CURVE keys for tcp://, before or after the command */
        PARSE_OK(&a, "-H", "tcp://h:7700", "--server-key", "/k/server.pub", "health", "--key", "/k/me.key");
        assert_string_equal(a.server_key, "/k/server.pub");
        assert_string_equal(a.client_key, "/k/me.key");
        ctl_args_done(&a);

        PARSE_OK(&a, "keygen", "--out", "/tmp/me");
        assert_string_equal(a.verb->name, "keygen");
        assert_string_equal(a.keygen_out, "/tmp/me");
        ctl_args_done(&a);
        EXPECT_ERROR("the prefix is empty", "keygen", "--out", "");

        PARSE_OK(&a, "logs", "--help");
        assert_true(a.help);
        assert_string_equal(a.verb->name, "logs");
        ctl_args_done(&a);

        EXPECT_ERROR("no command", "-o", "json");
        EXPECT_ERROR("unknown command \"frobnicate\"", "frobnicate");
        EXPECT_ERROR("not an output format", "-o", "yaml", "ps");
        EXPECT_ERROR("positive duration", "--timeout", "0", "ps");
        EXPECT_ERROR("positive duration", "ps", "--timeout", "soon");
        EXPECT_ERROR("needs a value", "ps", "--state");
        EXPECT_ERROR("unknown option", "ps", "--grace", "1s");
        EXPECT_ERROR("unknown option -x", "ps", "-x");
}

static void test_ps(void **state)
{
        CtlArgs a;

        PARSE_OK(&a, "ps");
        assert_false(a.all);
        assert_false(a.has_state);
        assert_int_equal(strv_length(a.labels), 0);
        ctl_args_done(&a);

        PARSE_OK(&a, "ps", "-a", "--label", "team=ml", "--label", "env=prod", "--label", "team=infra",
                 "--state", "paused");
        assert_true(a.all);
        assert_true(a.has_state);
        assert_int_equal(a.state, DESCARTES_STATE_PAUSED);
        assert_int_equal(strv_length(a.labels), 2);
        assert_string_equal(ctl_pairs_get(a.labels, "team"), "infra");
        assert_string_equal(ctl_pairs_get(a.labels, "env"), "prod");
        ctl_args_done(&a);

        EXPECT_ERROR("not a state", "ps", "--state", "sleeping");
        EXPECT_ERROR("KEY=VALUE", "ps", "--label", "novalue");
        EXPECT_ERROR("KEY=VALUE", "ps", "--label", "=v");
        EXPECT_ERROR("takes no arguments", "ps", "extra");
}

static void test_spawn(void **state)
{
        CtlArgs a;

        PARSE_OK(&a, "spawn", "--name", "worker-1", "--label", "a=b", "--env", "FOO=bar=baz", "--cwd",
                 "/srv", "--workspace", "/data/ws", "--cpu", "150%", "--memory", "512M", "--swap", "1G",
                 "--pids", "64", "--timeout", "1h30m", "--net", "host", "--policy", "strict", "--user",
                 "1000", "-i", "--wait", "--", "sh", "-c", "echo --name");
        assert_string_equal(a.verb->name, "spawn");
        assert_string_equal(a.spawn.name, "worker-1");
        assert_string_equal(ctl_pairs_get(a.spawn.labels, "a"), "b");
        assert_string_equal(ctl_pairs_get(a.spawn.env, "FOO"), "bar=baz");
        assert_string_equal(a.spawn.cwd, "/srv");
        assert_string_equal(a.spawn.workspace, "/data/ws");
        assert_true(a.spawn.has_cpu);
        assert_int_equal(a.spawn.cpu_millicores, 1500);
        assert_int_equal(a.spawn.memory, 512 * 1024 * 1024);
        assert_int_equal(a.spawn.swap, UINT64_C(1) << 30);
        assert_int_equal(a.spawn.pids, 64);
        assert_true(a.spawn.has_timeout_ms);
        assert_int_equal(a.spawn.timeout_ms, 90 * 60 * 1000);
        assert_int_equal(a.timeout_usec, 0); /* --timeout after spawn is the agent's */
        assert_true(a.spawn.has_net);
        assert_int_equal(a.spawn.net, DESCARTES_NET_HOST);
        assert_string_equal(a.spawn.policy, "strict");
        assert_string_equal(a.spawn.user, "1000");
        assert_true(a.spawn.open_stdin);
        assert_true(a.wait);
        assert_false(a.attach);
        assert_int_equal(a.spawn.n_argv, 3);
        assert_string_equal(a.spawn.argv[0], "sh");
        assert_string_equal(a.spawn.argv[2], "echo --name");
        assert_null(a.spawn.argv[3]);
        /* defaults filled in; no HOME: the daemon puts it in the workspace */
        assert_string_equal(ctl_pairs_get(a.spawn.env, "PATH"), CTL_DEFAULT_PATH);
        assert_null(ctl_pairs_get(a.spawn.env, "HOME"));
        assert_string_equal(ctl_pairs_get(a.spawn.env, "TERM"), CTL_DEFAULT_TERM);
        assert_int_equal(strv_length(a.spawn.env), 3);
        ctl_args_done(&a);

        /* the command's own options are not ours, even without "--" */
        PARSE_OK(&a, "--timeout", "3s", "spawn", "ls", "-l", "--all");
        assert_int_equal(a.timeout_usec, 3000000);
        assert_int_equal(a.spawn.n_argv, 3);
        assert_string_equal(a.spawn.argv[1], "-l");
        assert_string_equal(a.spawn.argv[2], "--all");
        assert_false(a.spawn.has_timeout_ms);
        assert_null(ctl_pairs_get(a.spawn.env, "HOME"));
        ctl_args_done(&a);

        /* --env overrides a default */
        PARSE_OK(&a, "spawn", "--env", "PATH=/opt/bin", "--attach", "--", "true");
        assert_string_equal(ctl_pairs_get(a.spawn.env, "PATH"), "/opt/bin");
        assert_int_equal(strv_length(a.spawn.env), 2); /* PATH and TERM */
        assert_true(a.attach);
        ctl_args_done(&a);

        EXPECT_ERROR("needs a command", "spawn", "--name", "x");
        EXPECT_ERROR("needs a command", "spawn", "--");
        EXPECT_ERROR("not a CPU amount", "spawn", "--cpu", "0", "--", "true");
        EXPECT_ERROR("not a size", "spawn", "--memory", "lots", "--", "true");
        EXPECT_ERROR("not a positive number", "spawn", "--pids", "0", "--", "true");
        EXPECT_ERROR("not a duration", "spawn", "--timeout", "forever", "--", "true");
        EXPECT_ERROR("not a network mode", "spawn", "--net", "bridge", "--", "true");
        EXPECT_ERROR("absolute path", "spawn", "--cwd", "relative/dir", "--", "true");
        EXPECT_ERROR("exclude each other", "spawn", "--wait", "--attach", "--", "true");
        EXPECT_ERROR("KEY=VALUE", "spawn", "--env", "=x", "--", "true");
        EXPECT_ERROR("command is empty", "spawn", "--", "");
}

static void test_spawn_env(void **state)
{
        static char e0[] = "HOME=/root", e1[] = "SECRET=hunter2", e2[] = "PATH=/usr/bin", e3[] = "BROKEN";
        char *env[] = {e0, e1, e2, e3, NULL};
        const char *const inherit[] = {"descartesctl", "spawn",   "--env", "X=1",  "--env-inherit",
                                       "--env",        "HOME=/w", "--",    "true", NULL};
        const char *const plain[] = {"descartesctl", "spawn", "--env", "SECRET", "--", "true", NULL};
        const char *const missing[] = {"descartesctl", "spawn", "--env", "NOPE", "--", "true", NULL};
        char err[512];
        CtlArgs a;

        /* without --env-inherit nothing of the CLI's environment leaks */
        PARSE_OK(&a, "spawn", "--", "true");
        assert_null(ctl_pairs_get(a.spawn.env, "SECRET"));
        ctl_args_done(&a);

        assert_int_equal(parse_env(inherit, env, &a, err, sizeof err), 0);
        assert_string_equal(ctl_pairs_get(a.spawn.env, "SECRET"), "hunter2");
        assert_string_equal(ctl_pairs_get(a.spawn.env, "PATH"), "/usr/bin");
        assert_string_equal(ctl_pairs_get(a.spawn.env, "HOME"), "/w"); /* --env wins over inherited */
        assert_string_equal(ctl_pairs_get(a.spawn.env, "X"), "1");
        assert_null(ctl_pairs_get(a.spawn.env, "TERM")); /* no defaults added to an inherited env */
        assert_int_equal(strv_length(a.spawn.env), 4);
        ctl_args_done(&a);

        /* --env NAME takes this program's value, explicitly */
        assert_int_equal(parse_env(plain, env, &a, err, sizeof err), 0);
        assert_string_equal(ctl_pairs_get(a.spawn.env, "SECRET"), "hunter2");
        ctl_args_done(&a);

        assert_int_equal(parse_env(missing, env, &a, err, sizeof err), -EINVAL);
        assert_non_null(strstr(err, "NOPE is not set"));
        ctl_args_done(&a);
}

/* spawn --tty, -it, attach and its detach keys. */
static void test_tty(void **state)
{
        static char t0[] = "TERM=screen-256color";
        char *env[] = {t0, NULL};
        const char *const it_argv[] = {"descartesctl", "spawn", "-it", "--", "sh", NULL};
        uint8_t keys[16];
        char err[512];
        CtlArgs a;

        PARSE_OK(&a, "spawn", "--tty", "--", "sh");
        assert_true(a.spawn.tty);
        assert_false(a.attach);
        assert_false(a.spawn.open_stdin);
        assert_string_equal(ctl_pairs_get(a.spawn.env, "TERM"), CTL_DEFAULT_TTY_TERM);
        ctl_args_done(&a);

        /* -it: a terminal joined at once; its stdin is the terminal, never a pipe too */
        assert_int_equal(parse_env(it_argv, env, &a, err, sizeof err), 0);
        assert_true(a.spawn.tty);
        assert_true(a.attach);
        assert_false(a.spawn.open_stdin);
        assert_string_equal(ctl_pairs_get(a.spawn.env, "TERM"), "screen-256color");
        ctl_args_done(&a);

        PARSE_OK(&a, "spawn", "-t", "--attach", "--detach-keys", "ctrl-a,d", "--", "sh");
        assert_true(a.attach);
        assert_string_equal(a.detach_keys, "ctrl-a,d");
        ctl_args_done(&a);
        EXPECT_ERROR("--detach-keys goes with -it", "spawn", "--detach-keys", "ctrl-a", "--", "sh");
        EXPECT_ERROR("exclude each other", "spawn", "-it", "--wait", "--", "sh");

        PARSE_OK(&a, "attach", "--read-only", "--detach-keys", "ctrl-x,ctrl-@", "fixer-1");
        assert_string_equal(a.verb->name, "attach");
        assert_true(a.read_only);
        assert_string_equal(a.agents[0], "fixer-1");
        ctl_args_done(&a);
        EXPECT_ERROR("not a key sequence", "attach", "--detach-keys", "ctrl-p,,ctrl-q", "x");
        EXPECT_ERROR("not a key sequence", "attach", "--detach-keys", "ctrl-1", "x");
        EXPECT_ERROR("exactly one agent", "attach");

        assert_int_equal(ctl_parse_detach_keys(CTL_DETACH_KEYS_DEFAULT, keys, sizeof keys), 2);
        assert_int_equal(keys[0], 0x10);
        assert_int_equal(keys[1], 0x11);
        assert_int_equal(ctl_parse_detach_keys("ctrl-@,ctrl-[,q", keys, sizeof keys), 3);
        assert_int_equal(keys[0], 0);
        assert_int_equal(keys[1], 0x1b);
        assert_int_equal(keys[2], 'q');
        assert_int_equal(ctl_parse_detach_keys("", keys, sizeof keys), -EINVAL);
        assert_int_equal(ctl_parse_detach_keys("ab", keys, sizeof keys), -EINVAL);
        assert_int_equal(ctl_parse_detach_keys("a,b,c", keys, 2), -EINVAL);
}

static void test_agent_commands(void **state)
{
        static const struct {
                const char *name;
        } one[] = {
                {"inspect"}, {"pause"}, {"resume"}, {"stop"}, {"kill"}, {"stdin"}, {"logs"},
        };
        CtlArgs a;

        for (size_t i = 0; i < sizeof one / sizeof one[0]; i++) {
                const char *const ok[] = {"descartesctl", one[i].name, "abc123", NULL};
                const char *const none[] = {"descartesctl", one[i].name, NULL};
                const char *const two[] = {"descartesctl", one[i].name, "a", "b", NULL};
                char err[512];

                assert_int_equal(parse(ok, &a, err, sizeof err), 0);
                assert_ptr_equal(a.verb, ctl_verb_from_string(one[i].name));
                assert_string_equal(a.verb->name, one[i].name);
                assert_int_equal(a.n_agents, 1);
                assert_string_equal(a.agents[0], "abc123");
                ctl_args_done(&a);
                expect_usage_error("exactly one agent", none);
                expect_usage_error("exactly one agent", two);
        }

        PARSE_OK(&a, "stop", "--grace", "2.5s", "web");
        assert_true(a.has_grace);
        assert_int_equal(a.grace_ms, 2500);
        ctl_args_done(&a);

        PARSE_OK(&a, "stdin", "web", "--close");
        assert_true(a.close_stdin);
        ctl_args_done(&a);

        PARSE_OK(&a, "rm", "a", "b", "c");
        assert_string_equal(a.verb->name, "rm");
        assert_int_equal(a.n_agents, 3);
        assert_string_equal(a.agents[2], "c");
        ctl_args_done(&a);
        EXPECT_ERROR("at least one agent", "rm");

        PARSE_OK(&a, "events");
        assert_int_equal(a.n_agents, 0);
        ctl_args_done(&a);
        PARSE_OK(&a, "events", "web");
        assert_int_equal(a.n_agents, 1);
        ctl_args_done(&a);
        EXPECT_ERROR("at most one agent", "events", "a", "b");

        EXPECT_ERROR("not an agent id", "inspect",
                     "0123456789012345678901234567890123456789012345678901234567890123456789"
                     "0123456789012345678901234567890123456789012345678901234567890");
        PARSE_OK(&a, "inspect", "alice/fixer-1");
        assert_string_equal(a.agents[0], "alice/fixer-1");
        ctl_args_done(&a);
}

static void test_signal(void **state)
{
        CtlArgs a;

        PARSE_OK(&a, "signal", "web", "TERM");
        assert_int_equal(a.signal, SIGTERM);
        assert_string_equal(a.agents[0], "web");
        ctl_args_done(&a);
        PARSE_OK(&a, "signal", "web", "sigusr1");
        assert_int_equal(a.signal, SIGUSR1);
        ctl_args_done(&a);
        PARSE_OK(&a, "signal", "web", "9");
        assert_int_equal(a.signal, 9);
        ctl_args_done(&a);
        PARSE_OK(&a, "signal", "web", "40");
        assert_int_equal(a.signal, 40);
        ctl_args_done(&a);

        EXPECT_ERROR("not a signal", "signal", "web", "NOPE");
        EXPECT_ERROR("not a signal", "signal", "web", "0");
        EXPECT_ERROR("not a signal", "signal", "web", "65");
        EXPECT_ERROR("unknown option -9", "signal", "web", "-9");
        EXPECT_ERROR("an agent and a signal", "signal", "web");
}

static void test_action(void **state)
{
        CtlArgs a;

        PARSE_OK(&a, "action", "web", "checkpoint", "--param", "path=/tmp/x", "-p", "n=1", "-p", "path=/y",
                 "--json", " {\"deep\": [1]}", "--timeout", "2m");
        assert_string_equal(a.agents[0], "web");
        assert_string_equal(a.action_name, "checkpoint");
        /* a later value of a key replaces the earlier one in place */
        assert_string_equal(a.action_params[0], "path=/y");
        assert_string_equal(a.action_params[1], "n=1");
        assert_null(a.action_params[2]);
        assert_string_equal(a.action_json, "{\"deep\": [1]}");
        assert_true(a.has_action_timeout);
        assert_int_equal(a.action_timeout_ms, 120000);
        ctl_args_done(&a);
        PARSE_OK(&a, "action", "web", "ping");
        assert_null(a.action_params);
        assert_null(a.action_json);
        assert_false(a.has_action_timeout);
        ctl_args_done(&a);

        EXPECT_ERROR("an agent and an action name", "action", "web");
        EXPECT_ERROR("an agent and an action name", "action", "web", "a", "b");
        EXPECT_ERROR("1..64 bytes", "action", "web",
                     "n12345678901234567890123456789012345678901234567890123456789012345");
        EXPECT_ERROR("KEY=VALUE", "action", "web", "ping", "--param", "novalue");
        EXPECT_ERROR("JSON object", "action", "web", "ping", "--json", "[1]");
        EXPECT_ERROR("between 1ms and 10m", "action", "web", "ping", "--timeout", "11m");
        EXPECT_ERROR("not a duration", "action", "web", "ping", "--timeout", "soon");
}

static void test_logs(void **state)
{
        CtlArgs a;

        PARSE_OK(&a, "logs", "web");
        assert_int_equal(a.stream, DESCARTES_STREAM_BOTH);
        assert_false(a.follow);
        assert_false(a.raw);
        assert_false(a.has_tail);
        assert_null(a.grep);
        ctl_args_done(&a);

        PARSE_OK(&a, "logs", "-f", "--stream", "stderr", "--tail", "100", "--grep", "err(or)?", "web");
        assert_true(a.follow);
        assert_int_equal(a.stream, DESCARTES_STREAM_STDERR);
        assert_true(a.has_tail);
        assert_int_equal(a.tail, 100);
        assert_string_equal(a.grep, "err(or)?");
        ctl_args_done(&a);

        PARSE_OK(&a, "logs", "--raw", "--follow", "web");
        assert_true(a.raw);
        assert_true(a.follow);
        ctl_args_done(&a);

        EXPECT_ERROR("not stdout, stderr or both", "logs", "--stream", "stdall", "web");
        EXPECT_ERROR("number of lines", "logs", "--tail", "-1", "web");
        EXPECT_ERROR("number of lines", "logs", "--tail", "99999999", "web");
        EXPECT_ERROR("cannot be used with --raw", "logs", "--raw", "--grep", "x", "web");
}

static void test_exec_and_health(void **state)
{
        CtlArgs a;
        char err[512];
        const char *const tty_argv[] = {"descartesctl", "exec", "-t", "web", "--", "sh", NULL};

        /* options end at AGENT; the "--" after it is dropped, the command's own options kept */
        PARSE_OK(&a, "exec", "-i", "--timeout", "2s", "web", "--", "ls", "-l", "--all");
        assert_true(a.exec_stdin);
        assert_true(a.has_exec_timeout);
        assert_int_equal(a.exec_timeout_ms, 2000);
        assert_int_equal(a.n_agents, 1);
        assert_string_equal(a.agents[0], "web");
        assert_int_equal(strv_length(a.exec_argv), 3);
        assert_string_equal(a.exec_argv[0], "ls");
        assert_string_equal(a.exec_argv[2], "--all");
        ctl_args_done(&a);
        PARSE_OK(&a, "exec", "web", "id", "-u");
        assert_int_equal(strv_length(a.exec_argv), 2);
        assert_false(a.exec_stdin);
        ctl_args_done(&a);
        EXPECT_ERROR("needs a command", "exec", "web");
        EXPECT_ERROR("needs a command", "exec", "web", "--");
        EXPECT_ERROR("needs an agent", "exec");
        EXPECT_ERROR("1ms to 1h", "exec", "--timeout", "2h", "web", "true");
        /* -t: a terminal for the command; -it with input */
        assert_int_equal(parse(tty_argv, &a, err, sizeof err), 0);
        assert_true(a.exec_tty);
        assert_false(a.exec_stdin);
        assert_int_equal(strv_length(a.exec_argv), 1);
        ctl_args_done(&a);
        PARSE_OK(&a, "exec", "-it", "--detach-keys", "ctrl-a,d", "web", "--", "sh");
        assert_true(a.exec_tty);
        assert_true(a.exec_stdin);
        assert_string_equal(a.detach_keys, "ctrl-a,d");
        ctl_args_done(&a);
        EXPECT_ERROR("--timeout is for a command without a terminal", "exec", "-t", "--timeout", "5s", "web",
                     "sh");
        EXPECT_ERROR("goes with -it", "exec", "-t", "--detach-keys", "ctrl-a", "web", "sh");
        EXPECT_ERROR("not a key sequence", "exec", "-it", "--detach-keys", "nonsense", "web", "sh");
        PARSE_OK(&a, "attach", "--exec", "42", "web");
        assert_int_equal(a.attach_exec_id, 42);
        ctl_args_done(&a);
        EXPECT_ERROR("not an exec id", "attach", "--exec", "0", "web");
        EXPECT_ERROR("not an exec id", "attach", "--exec", "x", "web");

        PARSE_OK(&a, "spawn", "--health-cmd", "test -f ok", "--health-interval", "10s", "--health-timeout",
                 "2s", "--health-retries", "5", "--idle-timeout", "1m", "--on-unhealthy", "stop", "--",
                 "sleep", "1");
        assert_string_equal(a.spawn.health_cmd, "test -f ok");
        assert_int_equal(a.spawn.health_interval_ms, 10000);
        assert_int_equal(a.spawn.health_timeout_ms, 2000);
        assert_int_equal(a.spawn.health_retries, 5);
        assert_int_equal(a.spawn.idle_timeout_ms, 60000);
        assert_true(a.spawn.has_on_unhealthy);
        assert_int_equal(a.spawn.on_unhealthy, DESCARTES_ON_UNHEALTHY_STOP);
        ctl_args_done(&a);
        EXPECT_ERROR("need --health-cmd or --idle-timeout", "spawn", "--on-unhealthy", "kill", "--", "true");
        EXPECT_ERROR("stop, kill or none", "spawn", "--health-cmd", "true", "--on-unhealthy", "restart",
                     "true");
        EXPECT_ERROR("1 to 100", "spawn", "--health-cmd", "true", "--health-retries", "0", "true");
        EXPECT_ERROR("at least 100 ms", "spawn", "--idle-timeout", "10ms", "true");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_global_options),
                cmocka_unit_test(test_ps),
                cmocka_unit_test(test_spawn),
                cmocka_unit_test(test_spawn_env),
                cmocka_unit_test(test_agent_commands),
                cmocka_unit_test(test_signal),
                cmocka_unit_test(test_action),
                cmocka_unit_test(test_logs),
                cmocka_unit_test(test_tty),
                cmocka_unit_test(test_exec_and_health),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
