/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* descartesd's pure pieces on literals: the config parser, the ZAP address parser, the agent state table,
 * the reply cache, the event ring, and the cgroup/proc text parsers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <unistd.h>

#include <cmocka.h>

#include "agent-capacity.h"
#include "agent-state.h"
#include "busy-hold.h"
#include "cleanup.h"
#include "config.h"
#include "curve-keys.h"
#include "fd-util.h"
#include "event-ring.h"
#include "record-sync.h"
#include "request-cache.h"
#include "string-util.h"
#include "tenant-ledger.h"
#include "zap.h"

/* Two descriptors per agent after the daemon's 64 and 1536 of headroom; two processes per agent; the least
 * binds. */
/* Three times RECORD_SYNC_FDS_MAX records queued at once: those past the bound are closed at once (a syncfs
 * covers them), the others once flushed; every fd given is closed when freeing returns. */
static void test_record_sync(void **state)
{
        char dir[] = "/tmp/test-record-sync.XXXXXX";
        int fds[3 * RECORD_SYNC_FDS_MAX][2];
        RecordSync *s = NULL;
        _cleanup_close_ int dfd = -EBADF;

        assert_non_null(mkdtemp(dir));
        dfd = open(dir, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
        assert_true(dfd >= 0);
        assert_int_equal(record_sync_new(dfd, &s), 0);
        for (size_t i = 0; i < ELEMENTSOF(fds); i++) {
                char name[32];

                (void)snprintf(name, sizeof name, "r%zu", i);
                fds[i][0] = openat(dfd, name, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
                fds[i][1] = fcntl(dfd, F_DUPFD_CLOEXEC, 3);
                assert_true(fds[i][0] >= 0 && fds[i][1] >= 0);
                assert_int_equal(write(fds[i][0], "x", 1), 1);
                record_sync_queue(s, fds[i][0], fds[i][1]);
        }
        s = record_sync_free(s);
        assert_null(s);
        for (size_t i = 0; i < ELEMENTSOF(fds); i++)
                for (int k = 0; k < 2; k++)
                        assert_true(fcntl(fds[i][k], F_GETFD) < 0);
        for (size_t i = 0; i < ELEMENTSOF(fds); i++) {
                char name[32];

                (void)snprintf(name, sizeof name, "r%zu", i);
                assert_int_equal(unlinkat(dfd, name, 0), 0);
        }
        assert_int_equal(rmdir(dir), 0);
}

static void test_agent_capacity(void **state)
{
        AgentCapacity c = agent_capacity(65536, 4096, 4194304, 192724);

        assert_int_equal(c.by_fds, (65536 - 64 - 1536) / 2);
        assert_int_equal(c.by_pids, 192724 / 2);
        assert_int_equal(c.agents, 4096);
        assert_int_equal(c.bound, AGENT_CAPACITY_CONFIG);
        c = agent_capacity(20000, 1000000, 32768, 192724);
        assert_int_equal(c.agents, 9200);
        assert_int_equal(c.bound, AGENT_CAPACITY_FDS);
        c = agent_capacity(1048576, 1000000, 32768, 0);
        assert_int_equal(c.agents, 16384);
        assert_int_equal(c.bound, AGENT_CAPACITY_PIDS);
        /* a limit below the daemon's own needs allows none; unknown kernel limits bind nothing */
        c = agent_capacity(1000, 10, 0, 0);
        assert_int_equal(c.agents, 0);
        assert_int_equal(c.by_pids, UINT64_MAX);
}

static void test_config_parse(void **state)
{
        Config c;
        Failure err = {};

        config_init_defaults(&c);
        assert_int_equal(c.output_scan_budget, 8ULL * 1024 * 1024);
        assert_int_equal(c.output_time_budget_usec, 20000);
        assert_int_equal(config_parse(&c,
                                      "# comment\n\n"
                                      "stop_grace = 2s\n"
                                      "  heartbeat_interval=500ms  \n"
                                      "max_agents = 12\n"
                                      "default_memory = 512M\n"
                                      "max_cpu = 1.5\n"
                                      "default_pids = max\n"
                                      "stop_agents_on_exit = yes\n"
                                      "admin_group = wheel\n"
                                      "output_scan_budget = 64K\n"
                                      "output_time_budget = 0\n"
                                      "listen = tcp://10.0.0.1:7700  tcp://[::1]:7700\n"
                                      "curve_secret_key = /etc/descartes/curve/server.key\n"
                                      "curve_clients_dir = /etc/descartes/curve/clients\n"
                                      "; other comment\n",
                                      &err),
                         0);
        assert_false(failure_is_set(&err));
        assert_int_equal(c.stop_grace_usec, 2000000);
        assert_int_equal(c.heartbeat_usec, 500000);
        assert_int_equal(c.max_agents, 12);
        assert_int_equal(c.default_memory, 512ULL * 1024 * 1024);
        assert_int_equal(c.max_cpu_milli, 1500);
        assert_int_equal(c.default_pids, 0);
        assert_true(c.stop_agents_on_exit);
        assert_string_equal(c.admin_group, "wheel");
        assert_int_equal(c.output_scan_budget, 64 * 1024);
        assert_int_equal(c.output_time_budget_usec, 0);
        /* the sandbox's block */
        assert_int_equal(c.agent_uid_min, CONFIG_AGENT_UID_MIN_DEFAULT);
        assert_int_equal(c.agent_uid_max, CONFIG_AGENT_UID_MAX_DEFAULT);
        assert_string_equal(c.mask_keep, "/etc/resolv.conf");
        assert_int_equal(config_parse(&c, "agent_uids = 200000000-200000099\nmask_keep = /a /b/c\n", &err),
                         0);
        assert_int_equal(c.agent_uid_min, 200000000);
        assert_int_equal(c.agent_uid_max, 200000099);
        assert_string_equal(c.mask_keep, "/a /b/c");
        assert_int_equal(config_parse(&c, "agent_uids = 1000-1000\n", &err), 0);
        assert_int_equal(c.agent_uid_min, 1000);
        assert_int_equal(c.agent_uid_max, 1000);
        assert_int_equal(config_parse(&c, "agent_uids = none\nmask_keep =\n", &err), 0);
        assert_int_equal(c.agent_uid_min, 0);
        assert_int_equal(c.agent_uid_max, 0);
        assert_string_equal(c.mask_keep, "");
        assert_int_equal(config_parse(&c, "agent_uids =\n", &err), 0);
        assert_int_equal(c.agent_uid_min, 0);
        assert_string_equal(c.curve_secret_key, "/etc/descartes/curve/server.key");
        assert_string_equal(c.curve_clients_dir, "/etc/descartes/curve/clients");
        {
                _cleanup_strv_free_ char **l = NULL;
                assert_int_equal(config_split_listen(c.listen, &l), 0);
                assert_int_equal(strv_length(l), 2);
                assert_string_equal(l[0], "tcp://10.0.0.1:7700");
                assert_string_equal(l[1], "tcp://[::1]:7700");
        }
        config_done(&c);
}

static void test_config_request_rate(void **state)
{
        Config c;
        Failure err = {};

        config_init_defaults(&c);
        assert_int_equal(c.request_rate, 1000);
        assert_int_equal(c.request_burst, 2000);
        assert_int_equal(config_parse(&c, "request_rate = 50\nrequest_burst = 5\n", &err), 0);
        assert_int_equal(c.request_rate, 50);
        assert_int_equal(c.request_burst, 5);
        assert_int_equal(config_parse(&c, "request_rate = max\n", &err), 0);
        assert_int_equal(c.request_rate, 0);
        assert_true(config_parse(&c, "request_burst = 0\n", &err) < 0);
        config_done(&c);
}

static void expand_is(const Backend *b, const char *task, const char *model, const char *sp,
                      const char *const *want)
{
        const char *values[_BACKEND_PLACEHOLDER_MAX] = {task, model, sp};
        _cleanup_strv_free_ char **argv = NULL;
        Failure f = {};
        size_t n = 0;

        assert_int_equal(backend_expand(b, values, &argv, &n, &f), 0);
        for (size_t i = 0; i < n; i++) {
                assert_non_null(want[i]);
                assert_string_equal(argv[i], want[i]);
        }
        assert_null(want[n]);
        assert_null(argv[n]);
}

/* backend.NAME templates: words, quotes, placeholders, bracket groups, .env; what a request may not do. */
static void test_config_backends(void **state)
{
        Config c;
        Failure err = {};
        const Backend *b;
        const char *values[_BACKEND_PLACEHOLDER_MAX] = {};
        _cleanup_strv_free_ char **argv = NULL;
        size_t n = 0;

        config_init_defaults(&c);
        assert_int_equal(
                config_parse(&c,
                             "backend.claude = claude -p {task} [ --model {model} ] "
                             "[ --append-system-prompt {system_prompt} ]\n"
                             "backend.claude.env = ANTHROPIC_API_KEY X_2\n"
                             "backend.q = \"/opt/my tool\" \"say \\\"{task}\\\"\" --m={model} {{x}}\n",
                             &err),
                0);
        b = backend_table_find(&c.backends, "claude");
        assert_non_null(b);
        assert_int_equal(b->n_env, 2);
        assert_string_equal(b->env[1], "X_2");
        expand_is(b, "fix the build", NULL, NULL,
                  (const char *const[]){"claude", "-p", "fix the build", NULL});
        expand_is(b, "t", "m", "be {brief}",
                  (const char *const[]){"claude", "-p", "t", "--model", "m", "--append-system-prompt",
                                        "be {brief}", NULL});
        b = backend_table_find(&c.backends, "q");
        assert_non_null(b);
        expand_is(b, "hi there", "m1", NULL,
                  (const char *const[]){"/opt/my tool", "say \"hi there\"", "--m=m1", "{x}", NULL});
        /* a needed value missing, a value with no place: bad_request naming it */
        values[BACKEND_MODEL] = "m";
        assert_int_equal(backend_expand(b, values, &argv, &n, &err), -EINVAL);
        assert_int_equal(err.code, PROTO_ERROR_BAD_REQUEST);
        assert_non_null(strstr(err.msg, "backend q needs a task"));
        values[BACKEND_TASK] = "t";
        values[BACKEND_SYSTEM_PROMPT] = "s";
        assert_int_equal(backend_expand(b, values, &argv, &n, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "backend q takes no system_prompt"));
        assert_null(backend_table_find(&c.backends, "nosuch"));
        /* reloaded as a whole: a key given again replaces its value */
        assert_int_equal(config_parse(&c, "backend.q = /bin/true\n", &err), 0);
        assert_int_equal(backend_table_find(&c.backends, "q")->n_words, 1);

        static const char *const bad[] = {
                "backend.x = {task}\n",                       /* no program */
                "backend.x = /bin/a {nope}\n",                /* unknown placeholder */
                "backend.x = /bin/a {task\n",                 /* unclosed brace */
                "backend.x = /bin/a }\n",                     /* lone brace */
                "backend.x = /bin/a [ {task}\n",              /* unclosed group */
                "backend.x = /bin/a [ [ {task} ] ]\n",        /* nested groups */
                "backend.x = /bin/a [ ]\n",                   /* empty group */
                "backend.x = /bin/a ]\n",                     /* ] without [ */
                "backend.x = /bin/a \"unterminated\n",        /* quote */
                "backend.x = \n",                             /* empty */
                "backend.x.env = 1BAD\nbackend.x = /bin/a\n", /* variable name */
                "backend.x.other = /bin/a\n",                 /* unknown sub-key */
                "backend..env = A\n",                         /* empty name */
                "backend.a.b.env = A\n",                      /* a dot in the name */
                "backend.y.env = A\n",                        /* env without a template */
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                Config d;

                config_init_defaults(&d);
                if (config_parse(&d, bad[i], &err) >= 0)
                        fail_msg("accepted: %s", bad[i]);
                config_done(&d);
        }
        config_done(&c);
}

/* The token bucket on explicit clock values: burst at once, then `rate` per second, a retry hint that is the
 * time to the next token, separate buckets per uid, and denied counts. */
static void test_tenant_ledger(void **state)
{
        TenantLedger *l = NULL;
        const TenantEntry *e;
        uint64_t retry = 0, t = 1000 * 1000 * 1000;

        assert_int_equal(tenant_ledger_new(&l), 0);
        for (int i = 0; i < 5; i++)
                assert_int_equal(tenant_ledger_take(l, 1001, 10, 5, t, &retry), 0);
        assert_int_equal(tenant_ledger_take(l, 1001, 10, 5, t, &retry), -EBUSY);
        assert_int_equal(retry, 100 * 1000); /* 10 per second: the next one in 100 ms */
        /* another tenant has its own bucket */
        assert_int_equal(tenant_ledger_take(l, 1002, 10, 5, t, &retry), 0);
        /* 40 ms later: still none, 60 ms to go */
        assert_int_equal(tenant_ledger_take(l, 1001, 10, 5, t + 40000, &retry), -EBUSY);
        assert_int_equal(retry, 60 * 1000);
        assert_int_equal(tenant_ledger_take(l, 1001, 10, 5, t + 100000, &retry), 0);
        assert_int_equal(tenant_ledger_take(l, 1001, 10, 5, t + 100000, &retry), -EBUSY);
        /* a long quiet time fills it up to the burst, no more */
        for (int i = 0; i < 5; i++)
                assert_int_equal(tenant_ledger_take(l, 1001, 10, 5, t + 3600ULL * 1000 * 1000, &retry), 0);
        assert_int_equal(tenant_ledger_take(l, 1001, 10, 5, t + 3600ULL * 1000 * 1000, &retry), -EBUSY);
        /* rate 0: no limit */
        for (int i = 0; i < 100; i++)
                assert_int_equal(tenant_ledger_take(l, 1003, 0, 1, t, &retry), 0);

        tenant_ledger_count(l, 1002, TENANT_DENIED_PERMISSION);
        tenant_ledger_count(l, 1002, TENANT_DENIED_HIDDEN_AGENT);
        tenant_ledger_count(l, 1002, TENANT_DENIED_NOT_FOUND);
        e = tenant_ledger_get(l, 1001);
        assert_non_null(e);
        assert_int_equal(e->denied[TENANT_DENIED_RATE], 4);
        assert_int_equal(tenant_entry_denied_attempts(e), 4);
        e = tenant_ledger_get(l, 1002);
        assert_non_null(e);
        /* not_found alone is no attempt at anyone's agent: the counts say which were */
        assert_int_equal(tenant_entry_denied_attempts(e), 2);
        assert_null(tenant_ledger_get(l, 1004));

        /* the refusals' bucket: as large and as fast as the requests' one, and apart from it */
        for (int i = 0; i < 5; i++)
                assert_int_equal(tenant_ledger_take_refusal(l, 1005, 10, 5, t), 0);
        assert_int_equal(tenant_ledger_take_refusal(l, 1005, 10, 5, t), -EBUSY);
        assert_int_equal(tenant_ledger_take(l, 1005, 10, 5, t, &retry), 0);
        assert_int_equal(tenant_ledger_take_refusal(l, 1005, 10, 5, t + 100000), 0);
        assert_int_equal(tenant_ledger_take_refusal(l, 1005, 10, 5, t + 100000), -EBUSY);
        assert_int_equal(tenant_ledger_take_refusal(l, 1006, 0, 1, t), 0);
        tenant_ledger_free(l);
}

typedef struct HeldSent {
        size_t n;
        char order[8];
} HeldSent;

static void held_sent(void *userdata, const Envelope *env, const void *body, size_t size)
{
        HeldSent *s = userdata;

        assert_int_equal(env->n_frames, 1);
        assert_int_equal(size, 1);
        if (s->n < sizeof s->order)
                s->order[s->n] = *(const char *)body;
        s->n++;
}

static int hold_one(BusyHold *h, uid_t uid, char tag, uint64_t now)
{
        const void *frame = "rid";
        size_t frame_size = 3;
        _cleanup_(envelope_freep) Envelope *env = NULL;
        _cleanup_free_ char *body = malloc(1);
        int r;

        assert_non_null(body);
        *body = tag;
        assert_int_equal(envelope_new(&frame, &frame_size, 1, &env), 0);
        r = busy_hold_add(h, uid, &env, (void **)&body, 1, now);
        if (r >= 0) {
                assert_null(env); /* taken */
                assert_null(body);
        }
        return r;
}

static void test_busy_hold(void **state)
{
        sd_event *e = NULL;
        BusyHold *h = NULL;
        HeldSent sent = {};
        uint64_t now;

        assert_int_equal(sd_event_new(&e), 0);
        assert_int_equal(busy_hold_new(e, held_sent, &sent, &h), 0);
        assert_true(sd_event_now(e, CLOCK_MONOTONIC, &now) >= 0); /* 1: the loop has not run yet */
        assert_int_equal(hold_one(h, 1001, 'a', now), 0);
        assert_int_equal(hold_one(h, 1002, 'b', now), 0);
        /* one caller holds at most BUSY_HOLD_PER_CALLER; the others are not limited by it */
        for (int i = 1; i < BUSY_HOLD_PER_CALLER; i++)
                assert_int_equal(hold_one(h, 1001, 'c', now), 0);
        assert_int_equal(hold_one(h, 1001, 'x', now), -ENOSPC);
        assert_int_equal(hold_one(h, 1003, 'd', now), 0);
        assert_int_equal(busy_hold_count(h), BUSY_HOLD_PER_CALLER + 2);
        /* nothing goes out before its time, everything at it, in order */
        assert_true(sd_event_run(e, 0) >= 0);
        assert_int_equal(sent.n, 0);
        while (sent.n < BUSY_HOLD_PER_CALLER + 2)
                assert_true(sd_event_run(e, UINT64_MAX) > 0);
        assert_memory_equal(sent.order, "abcccccc", 8);
        assert_int_equal(busy_hold_count(h), 0);
        assert_int_equal(busy_hold_total(h), BUSY_HOLD_PER_CALLER + 2);
        /* emptied, a caller may hold again; what is still held when freed is freed unsent */
        assert_int_equal(hold_one(h, 1001, 'e', now), 0);
        busy_hold_free(h);
        assert_int_equal(sent.n, BUSY_HOLD_PER_CALLER + 2);
        sd_event_unref(e);
}

static void test_config_errors(void **state)
{
        static const struct {
                const char *text, *expect;
        } cases[] = {
                {"nokey\n", "line 1: expected"},
                {"\n\nfoo = 1\n", "line 3: unknown key \"foo\""},
                {"stop_grace = soon\n", "line 1: stop_grace: \"soon\" is not a duration"},
                {"max_agents = 0\n", "max_agents"},
                {"max_agents = -3\n", "max_agents"},
                {"allow_root = maybe\n", "yes or no"},
                {"output_cap = 0\n", "output_cap"},
                {"output_scan_budget = 0\n", "output_scan_budget"},
                {"agent_uids = 0-100\n", "agent_uids"},
                {"agent_uids = 60000-61184\n", "not 0, 61184-65519"},
                {"agent_uids = 65519-65600\n", "agent_uids"},
                {"agent_uids = 65534-65534\n", "agent_uids"},
                {"agent_uids = 65535-70000\n", "agent_uids"},
                {"agent_uids = 90000-70000\n", "agent_uids"},
                {"agent_uids = 70000\n", "agent_uids"},
                {"agent_uids = 70000-\n", "agent_uids"},
                {"agent_uids = -5-70000\n", "agent_uids"},
                {"agent_uids = 70000-4294967295\n", "agent_uids"},
                {"agent_uids = 70000-4294967296\n", "agent_uids"},
                {"agent_uids = 70000-80000x\n", "agent_uids"},
                {"mask_keep = etc/resolv.conf\n", "mask_keep"},
                /* ipc belongs to `control`; listen is tcp (with CURVE) only */
                {"listen = ipc:///run/x\n", "tcp://HOST:PORT"},
                {"listen = tcp://a:1 udp://b:2\n", "tcp://HOST:PORT"},
                {"listen = tcp://\n", "tcp://HOST:PORT"},
                {"curve_secret_key = server.key\n", "an absolute path"},
                {"curve_clients_dir = clients\n", "an absolute path"},
        };

        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                Config c;
                Failure err = {};
                config_init_defaults(&c);
                assert_int_equal(config_parse(&c, cases[i].text, &err), -EINVAL);
                assert_true(failure_is_set(&err));
                if (!strstr(err.msg, cases[i].expect))
                        fail_msg("\"%s\": message \"%s\" lacks \"%s\"", cases[i].text, err.msg,
                                 cases[i].expect);
                config_done(&c);
        }
}

/* Group membership of the tenant in test_tenant_quota: "descartes" and gid 50. */
static bool fake_in_group(const char *group, void *userdata)
{
        return streq(group, "descartes") || streq(group, "50");
}

static void test_tenant_quota(void **state)
{
        Config c;
        Failure err = {};
        TenantQuota q;
        CgroupLimits l;
        char buf[TENANT_QUOTA_FORMAT_MAX];

        config_init_defaults(&c);
        assert_int_equal(config_parse(&c,
                                      "quota.default = cpu=4 memory=8G pids=2048 agents=64\n"
                                      "quota.group.other = memory=1G\n"
                                      "quota.group.descartes = memory=4G swap=1G agents=8\n"
                                      "quota.group.50 = cpu=0.1\n"
                                      "quota.user.alice = cpu=1.5 agents=max\n"
                                      "quota.user.1002 = agents=0\n"
                                      "quota.user.alice = cpu=1 agents=max\n",
                                      &err),
                         0);
        /* a key given twice replaces its rule */
        assert_int_equal(c.quotas.n_rules, 6);

        /* field by field: user, then the first group rule it is in, then the default */
        tenant_quota_pick(&c.quotas, 1001, "alice", fake_in_group, NULL, &q);
        assert_int_equal(q.value[TENANT_QUOTA_CPU], 1000);
        assert_string_equal(q.from[TENANT_QUOTA_CPU], "quota.user.alice");
        assert_int_equal(q.value[TENANT_QUOTA_AGENTS], TENANT_QUOTA_UNLIMITED);
        assert_int_equal(q.value[TENANT_QUOTA_MEMORY], 4ULL << 30);
        assert_string_equal(q.from[TENANT_QUOTA_MEMORY], "quota.group.descartes");
        assert_int_equal(q.value[TENANT_QUOTA_SWAP], 1ULL << 30);
        assert_int_equal(q.value[TENANT_QUOTA_PIDS], 2048);
        assert_string_equal(q.from[TENANT_QUOTA_PIDS], "quota.default");

        /* a user rule by uid; agents=0 is a quota (no agent at all) */
        tenant_quota_pick(&c.quotas, 1002, "bob", NULL, NULL, &q);
        assert_true(q.has[TENANT_QUOTA_AGENTS]);
        assert_int_equal(q.value[TENANT_QUOTA_AGENTS], 0);
        /* no group: the default's memory, and swap 0 with it */
        assert_int_equal(q.value[TENANT_QUOTA_MEMORY], 8ULL << 30);
        assert_true(q.has[TENANT_QUOTA_SWAP]);
        assert_int_equal(q.value[TENANT_QUOTA_SWAP], 0);

        /* root: user rules only */
        tenant_quota_pick(&c.quotas, 0, "root", fake_in_group, NULL, &q);
        for (TenantQuotaField f = 0; f < _TENANT_QUOTA_MAX; f++)
                assert_false(q.has[f]);

        /* kernel limits: "max" and missing fields lift where the controller is, else are left alone */
        tenant_quota_pick(&c.quotas, 1001, "alice", fake_in_group, NULL, &q);
        l = tenant_quota_cgroup_limits(&q, CGROUP_MASK(CGROUP_CONTROLLER_CPU));
        assert_int_equal(l.cpu_millicpus, 1000);
        assert_int_equal(l.memory_max, 4ULL << 30);
        assert_int_equal(l.memory_high, CGROUP_LIMIT_UNSET);
        assert_int_equal(tenant_quota_unenforceable(&q, CGROUP_MASK(CGROUP_CONTROLLER_CPU)),
                         TENANT_QUOTA_MEMORY);
        assert_int_equal(tenant_quota_unenforceable(&q, CGROUP_MASK_ALL), _TENANT_QUOTA_INVALID);
        q.value[TENANT_QUOTA_CPU] = TENANT_QUOTA_UNLIMITED;
        l = tenant_quota_cgroup_limits(&q, CGROUP_MASK_ALL);
        assert_int_equal(l.cpu_millicpus, CGROUP_LIMIT_INFINITY);
        assert_int_equal(tenant_quota_format(TENANT_QUOTA_MEMORY, 512ULL << 20, buf, sizeof buf), 0);
        assert_string_equal(buf, "512M");
        assert_int_equal(tenant_quota_format(TENANT_QUOTA_AGENTS, TENANT_QUOTA_UNLIMITED, buf, sizeof buf),
                         0);
        assert_string_equal(buf, "max");
        config_done(&c);
}

static void test_tenant_quota_errors(void **state)
{
        static const char *const bad[] = {
                "quota.users.alice = cpu=1\n",   "quota.user. = cpu=1\n",     "quota.user.a/b = cpu=1\n",
                "quota.default = cpu\n",         "quota.default = cpu=0\n",   "quota.default = cpu=0.001\n",
                "quota.default = memory=0\n",    "quota.default = pids=-1\n", "quota.default = gpus=1\n",
                "quota.default = cpu=1 cpu=2\n",
        };

        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
                Config c;
                Failure err = {};

                config_init_defaults(&c);
                assert_int_equal(config_parse(&c, bad[i], &err), -EINVAL);
                if (!strstr(err.msg, "quota"))
                        fail_msg("\"%s\": message \"%s\" lacks \"quota\"", bad[i], err.msg);
                config_done(&c);
        }
}

static void test_curve_key_files(void **state)
{
        char key[CURVE_KEY_Z85_SIZE];
        char *v = NULL;

        /* Z85 has '=' and '#': the value is everything after the first '=' */
        assert_int_equal(curve_file_key("# c\n  public-key =  rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7 \n",
                                        "public-key", key),
                         0);
        assert_string_equal(key, "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7");
        assert_int_equal(
                curve_file_key("public-key = JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6\n", "public-key", key),
                0);
        assert_int_equal(curve_file_key("public-key = short\n", "public-key", key), -EINVAL);
        assert_int_equal(curve_file_key("public-key = rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7~\n",
                                        "public-key", key),
                         -EINVAL);
        assert_int_equal(curve_file_key("#public-key = rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7\n",
                                        "public-key", key),
                         -ENOENT);
        assert_int_equal(curve_file_key("public-keys = rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7\n",
                                        "public-key", key),
                         -ENOENT);
        assert_int_equal(curve_file_field("tenant=alice", "tenant", &v), 0);
        assert_string_equal(v, "alice");
        free(v);
        assert_false(curve_key_is_z85("rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf "));
}

/* The daemon's side: a secret key others may read is refused, the allow list skips what does not
 * parse. */
static void test_curve_keys_load(void **state)
{
        char dir[] = "/tmp/descartes-curve-test-XXXXXX", path[256], clients[256];
        char public[CURVE_KEY_Z85_SIZE], secret[CURVE_KEY_Z85_SIZE], cpub[CURVE_KEY_Z85_SIZE],
                csec[CURVE_KEY_Z85_SIZE];
        _cleanup_free_ char *text = NULL, *c1 = NULL, *c2 = NULL;
        CurveKeys *k = NULL;

        if (geteuid() != 0)
                skip(); /* the files must be root's */
        assert_non_null(mkdtemp(dir));
        assert_int_equal(zmq_curve_keypair(public, secret), 0);
        assert_int_equal(zmq_curve_keypair(cpub, csec), 0);
        (void)snprintf(path, sizeof path, "%s/server.key", dir);
        (void)snprintf(clients, sizeof clients, "%s/clients", dir);
        assert_int_equal(asprintf_safe(&text, "public-key = %s\nsecret-key = %s\n", public, secret), 0);
        assert_int_equal(write_file_replace_at(AT_FDCWD, path, text, strlen(text), 0640, false), 0);
        assert_int_equal(mkdir(clients, 0755), 0);
        assert_int_equal(asprintf_safe(&c1, "public-key = %s\ntenant = 4242\n", cpub), 0);
        assert_int_equal(asprintf_safe(&c2, "public-key = %s\ntenant = no-such-user-xyz\n", public), 0);
        (void)snprintf(path + strlen(dir), sizeof path - strlen(dir), "/clients/a.client");
        assert_int_equal(write_file_replace_at(AT_FDCWD, path, c1, strlen(c1), 0644, false), 0);
        (void)snprintf(path + strlen(dir), sizeof path - strlen(dir), "/server.key");

        assert_int_equal(curve_keys_load(path, clients, &k), -EPERM); /* mode 0640 */
        assert_int_equal(chmod(path, 0600), 0);
        (void)snprintf(path + strlen(dir), sizeof path - strlen(dir), "/clients/b.client");
        assert_int_equal(write_file_replace_at(AT_FDCWD, path, c2, strlen(c2), 0644, false), 0);
        (void)snprintf(path + strlen(dir), sizeof path - strlen(dir), "/clients/c.client");
        assert_int_equal(write_file_replace_at(AT_FDCWD, path, c1, strlen(c1), 0644, false), 0); /* twice */
        (void)snprintf(path + strlen(dir), sizeof path - strlen(dir), "/server.key");
        assert_int_equal(curve_keys_load(path, clients, &k), 0);
        assert_string_equal(k->public_key, public);
        assert_int_equal(k->n_clients, 1); /* b: unknown tenant; c: the same key as a */
        assert_non_null(curve_keys_find(k, cpub));
        assert_int_equal(curve_keys_find(k, cpub)->uid, 4242);
        assert_null(curve_keys_find(k, public));
        curve_keys_free(k);
        assert_int_equal(rm_rf_at(AT_FDCWD, dir), 0);
}

static void test_zap_parse_peer_uid(void **state)
{
        uid_t uid = 7;

        assert_int_equal(zap_parse_peer_uid("localhost:1000:1000:4242", 24, &uid), 0);
        assert_int_equal(uid, 1000);
        assert_int_equal(zap_parse_peer_uid(":0:0:1", 6, &uid), 0);
        assert_int_equal(uid, 0);
        /* the host part may hold colons: split from the right */
        assert_int_equal(zap_parse_peer_uid("a:b:c:65534:65534:1", 19, &uid), 0);
        assert_int_equal(uid, 65534);
        /* the length is honoured, no NUL needed */
        assert_int_equal(zap_parse_peer_uid("h:5:6:7garbage", 7, &uid), 0);
        assert_int_equal(uid, 5);
        uid = 9;
        assert_int_equal(zap_parse_peer_uid("127.0.0.1", 9, &uid), -EINVAL);
        assert_int_equal(zap_parse_peer_uid("h::1:2", 6, &uid), -EINVAL);
        assert_int_equal(zap_parse_peer_uid("h:x1:1:2", 8, &uid), -EINVAL);
        assert_int_equal(zap_parse_peer_uid("h:-1:1:2", 8, &uid), -EINVAL);
        assert_int_equal(zap_parse_peer_uid("h:4294967295:1:2", 16, &uid), -ERANGE);
        assert_int_equal(zap_parse_peer_uid("h:99999999999:1:2", 17, &uid), -EINVAL);
        assert_int_equal(uid, 9);
}

static void test_state_table(void **state)
{
        assert_int_equal(agent_state_next(PROTO_STATE_STARTING, AGENT_EVENT_STARTED), PROTO_STATE_RUNNING);
        assert_int_equal(agent_state_next(PROTO_STATE_STARTING, AGENT_EVENT_SPAWN_FAILED),
                         PROTO_STATE_FAILED);
        assert_int_equal(agent_state_next(PROTO_STATE_STARTING, AGENT_EVENT_EXITED), PROTO_STATE_FAILED);
        assert_int_equal(agent_state_next(PROTO_STATE_STARTING, AGENT_EVENT_PAUSE), _PROTO_STATE_INVALID);
        assert_int_equal(agent_state_next(PROTO_STATE_RUNNING, AGENT_EVENT_PAUSE), PROTO_STATE_PAUSING);
        assert_int_equal(agent_state_next(PROTO_STATE_RUNNING, AGENT_EVENT_RESUME), _PROTO_STATE_INVALID);
        assert_int_equal(agent_state_next(PROTO_STATE_PAUSING, AGENT_EVENT_FROZEN), PROTO_STATE_PAUSED);
        assert_int_equal(agent_state_next(PROTO_STATE_PAUSING, AGENT_EVENT_PAUSE), _PROTO_STATE_INVALID);
        assert_int_equal(agent_state_next(PROTO_STATE_PAUSED, AGENT_EVENT_PAUSE), _PROTO_STATE_INVALID);
        assert_int_equal(agent_state_next(PROTO_STATE_PAUSED, AGENT_EVENT_RESUME), PROTO_STATE_RESUMING);
        assert_int_equal(agent_state_next(PROTO_STATE_RESUMING, AGENT_EVENT_THAWED), PROTO_STATE_RUNNING);
        assert_int_equal(agent_state_next(PROTO_STATE_PAUSED, AGENT_EVENT_STOP), PROTO_STATE_STOPPING);
        assert_int_equal(agent_state_next(PROTO_STATE_STOPPING, AGENT_EVENT_EXITED), PROTO_STATE_EXITED);
        assert_int_equal(agent_state_next(PROTO_STATE_STOPPING, AGENT_EVENT_PAUSE), _PROTO_STATE_INVALID);
        assert_int_equal(agent_state_next(PROTO_STATE_RUNNING, AGENT_EVENT_EXITED), PROTO_STATE_EXITED);
        /* every live state ends; adoption follows the cgroup's freezer */
        assert_int_equal(agent_state_next(PROTO_STATE_PAUSED, AGENT_EVENT_EXITED), PROTO_STATE_EXITED);
        assert_int_equal(agent_state_next(PROTO_STATE_RUNNING, AGENT_EVENT_SPAWN_FAILED),
                         PROTO_STATE_FAILED);
        assert_int_equal(agent_state_next(PROTO_STATE_RUNNING, AGENT_EVENT_SEEN_FROZEN), PROTO_STATE_PAUSED);
        assert_int_equal(agent_state_next(PROTO_STATE_PAUSED, AGENT_EVENT_SEEN_THAWED), PROTO_STATE_RUNNING);
        assert_int_equal(agent_state_next(PROTO_STATE_PAUSED, AGENT_EVENT_SEEN_FREEZING),
                         PROTO_STATE_PAUSING);
        assert_int_equal(agent_state_next(PROTO_STATE_RUNNING, AGENT_EVENT_SEEN_THAWING),
                         PROTO_STATE_RESUMING);
        assert_int_equal(agent_state_next(PROTO_STATE_STOPPING, AGENT_EVENT_SEEN_FROZEN),
                         _PROTO_STATE_INVALID);
        /* ended agents accept nothing */
        for (int e = 0; e < _AGENT_EVENT_MAX; e++) {
                assert_int_equal(agent_state_next(PROTO_STATE_EXITED, e), _PROTO_STATE_INVALID);
                assert_int_equal(agent_state_next(PROTO_STATE_FAILED, e), _PROTO_STATE_INVALID);
                assert_non_null(agent_event_to_string(e));
        }
        /* out of range */
        assert_int_equal(agent_state_next(_PROTO_STATE_MAX, AGENT_EVENT_STOP), _PROTO_STATE_INVALID);
        assert_int_equal(agent_state_next(PROTO_STATE_RUNNING, _AGENT_EVENT_MAX), _PROTO_STATE_INVALID);
        assert_int_equal(agent_state_next(PROTO_STATE_RUNNING, -1), _PROTO_STATE_INVALID);
        assert_true(agent_state_is_ended(PROTO_STATE_FAILED));
        assert_false(agent_state_is_ended(PROTO_STATE_STOPPING));
}

static Envelope *env(const char *routing)
{
        const void *frames[2] = {routing, ""};
        size_t sizes[2] = {strlen(routing), 0};
        Envelope *e = NULL;

        assert_int_equal(envelope_new(frames, sizes, 2, &e), 0);
        return e;
}

static void test_request_cache(void **state)
{
        RequestCache *c = NULL;
        CacheEntry *e = NULL, *f = NULL;
        Envelope *w;
        size_t len;

        assert_int_equal(request_cache_new(2, 100, &c), 0);
        assert_int_equal(request_cache_lookup(c, 1000, "a", 0, &e), 0);
        assert_int_equal(request_cache_add(c, 1000, "a", 0, &e), 0);
        cache_entry_add_waiter(e, env("r1"));
        /* a repeat while pending waits for the same reply */
        assert_int_equal(request_cache_lookup(c, 1000, "a", 1, &f), 1);
        assert_ptr_equal(e, f);
        assert_false(cache_entry_is_done(f));
        cache_entry_add_waiter(f, env("r2"));
        /* the same id from another uid is another request */
        assert_int_equal(request_cache_lookup(c, 1001, "a", 1, &f), 0);

        request_cache_complete(c, e, strdup("reply"), 5, 100);
        w = cache_entry_pop_waiter(e);
        assert_non_null(w);
        assert_memory_equal(w->frames[0], "r1", 2);
        envelope_free(w);
        w = cache_entry_pop_waiter(e);
        assert_memory_equal(w->frames[0], "r2", 2);
        assert_int_equal(w->n_frames, 2);
        assert_int_equal(w->sizes[1], 0);
        envelope_free(w);
        assert_null(cache_entry_pop_waiter(e));

        assert_int_equal(request_cache_lookup(c, 1000, "a", 99, &f), 1);
        assert_true(cache_entry_is_done(f));
        assert_memory_equal(cache_entry_reply(f, &len), "reply", 5);
        assert_int_equal(len, 5);
        /* expired */
        assert_int_equal(request_cache_lookup(c, 1000, "a", 100, &f), 0);
        assert_int_equal(request_cache_size(c), 0);

        /* bounded: pending entries are never evicted, answered ones are, oldest first */
        assert_int_equal(request_cache_add(c, 1, "p1", 0, &e), 0);
        assert_int_equal(request_cache_add(c, 1, "p2", 0, &f), 0);
        assert_int_equal(request_cache_add(c, 1, "p3", 0, &e), -EBUSY);
        request_cache_complete(c, f, NULL, 0, 1000);
        assert_int_equal(request_cache_add(c, 1, "p3", 0, &e), 0);
        assert_int_equal(request_cache_lookup(c, 1, "p2", 0, &f), 0);
        assert_int_equal(request_cache_lookup(c, 1, "p1", 0, &f), 1);
        assert_int_equal(request_cache_size(c), 2);
        request_cache_free(c);

        /* bounded in bytes: older answers go first, and an answer over the bound is not kept */
        assert_int_equal(request_cache_new(10, 10, &c), 0);
        assert_int_equal(request_cache_add(c, 1, "x", 0, &e), 0);
        request_cache_complete(c, e, strdup("123456"), 6, 1000);
        assert_int_equal(request_cache_add(c, 1, "y", 0, &f), 0);
        request_cache_complete(c, f, strdup("abcdef"), 6, 1000);
        assert_int_equal(request_cache_lookup(c, 1, "x", 0, &e), 0);
        assert_int_equal(request_cache_lookup(c, 1, "y", 0, &f), 1);
        assert_int_equal(request_cache_add(c, 1, "z", 0, &e), 0);
        request_cache_complete(c, e, strdup("0123456789abc"), 13, 1000);
        assert_int_equal(request_cache_lookup(c, 1, "z", 0, &e), 0);
        assert_int_equal(request_cache_size(c), 0);
        request_cache_free(c);
}

static void push(EventRing *r, uint64_t seq, const char *agent)
{
        ProtoEvent e = {
                .seq = seq, .ts_ns = seq * 10, .kind = PROTO_EVENT_STATUS_CHANGED, .agent = (char *)agent};
        assert_int_equal(event_ring_push(r, &e), 0);
}

/* One caller's requests never take another's room: its pending ones are bounded, its old answers go
 * first, and root passes a cache full of others' pending requests. */
static void test_request_cache_shares(void **state)
{
        RequestCache *c = NULL;
        CacheEntry *e, *f, *keep;
        char id[16];

        (void)state;
        assert_int_equal(request_cache_new(8, 1000, &c), 0);
        request_cache_set_uid_limits(c, 4, 2, 10);

        /* 2 pending per caller, then busy, for that caller only */
        assert_int_equal(request_cache_add(c, 1000, "a1", 0, &e), 0);
        assert_int_equal(request_cache_add(c, 1000, "a2", 0, &f), 0);
        assert_int_equal(request_cache_add(c, 1000, "a3", 0, &keep), -EBUSY);
        assert_int_equal(request_cache_add(c, 1001, "b1", 0, &keep), 0);
        request_cache_complete(c, keep, strdup("b"), 1, 1000);

        /* answered ones free the pending slot; past 4 entries the caller's own oldest answer goes */
        request_cache_complete(c, e, strdup("1"), 1, 1000);
        request_cache_complete(c, f, strdup("2"), 1, 1000);
        for (int i = 0; i < 6; i++) {
                snprintf(id, sizeof id, "n%d", i);
                assert_int_equal(request_cache_add(c, 1000, id, 0, &e), 0);
                request_cache_complete(c, e, strdup("x"), 1, 1000);
        }
        assert_int_equal(request_cache_lookup(c, 1001, "b1", 0, &e), 1);
        assert_int_equal(request_cache_lookup(c, 1000, "a1", 0, &e), 0);
        assert_int_equal(request_cache_lookup(c, 1000, "n5", 0, &e), 1);

        /* bytes: past 10 bytes of answers a caller loses its own oldest, the other caller's stays */
        assert_int_equal(request_cache_add(c, 1000, "big", 0, &e), 0);
        request_cache_complete(c, e, strdup("123456789"), 9, 1000);
        assert_int_equal(request_cache_lookup(c, 1000, "big", 0, &e), 1);
        assert_int_equal(request_cache_lookup(c, 1000, "n4", 0, &e), 0);
        assert_int_equal(request_cache_lookup(c, 1001, "b1", 0, &e), 1);
        request_cache_free(c);

        /* the whole cache pending: others are refused, root is not */
        assert_int_equal(request_cache_new(4, 1000, &c), 0);
        request_cache_set_uid_limits(c, 2, 2, 0);
        assert_int_equal(request_cache_add(c, 1, "p1", 0, &e), 0);
        assert_int_equal(request_cache_add(c, 1, "p2", 0, &e), 0);
        assert_int_equal(request_cache_add(c, 2, "p1", 0, &e), 0);
        assert_int_equal(request_cache_add(c, 2, "p2", 0, &e), 0);
        assert_int_equal(request_cache_add(c, 3, "p1", 0, &e), -EBUSY);
        assert_int_equal(request_cache_add(c, 0, "p1", 0, &e), 0);
        assert_int_equal(request_cache_add(c, 0, "p2", 0, &e), 0);
        assert_int_equal(request_cache_add(c, 0, "p3", 0, &e), -EBUSY);
        assert_int_equal(request_cache_size(c), 6);
        request_cache_free(c);
}

static void test_event_ring(void **state)
{
        EventRing *r = NULL;
        ProtoEventsResult res = {};
        ProtoEvent dup = {.seq = 3};

        assert_int_equal(event_ring_new(4, 1024, &r), 0);
        assert_int_equal(event_ring_query(r, 0, 0, NULL, &res), 0);
        assert_int_equal(res.n_events, 0);
        assert_int_equal(res.oldest_seq, 0);
        assert_int_equal(res.next_seq, 1);
        proto_events_result_done(&res);

        for (uint64_t s = 1; s <= 6; s++)
                push(r, s, s % 2 ? "x" : NULL);
        assert_int_equal(event_ring_push(r, &dup), -EINVAL);
        assert_int_equal(event_ring_size(r), 4);

        assert_int_equal(event_ring_query(r, 0, 0, NULL, &res), 0);
        assert_int_equal(res.oldest_seq, 3);
        assert_int_equal(res.n_events, 4);
        assert_int_equal(res.events[0].seq, 3);
        assert_string_equal(res.events[0].agent, "x");
        assert_null(res.events[1].agent);
        assert_int_equal(res.next_seq, 7);
        proto_events_result_done(&res);

        assert_int_equal(event_ring_query(r, 5, 1, NULL, &res), 0);
        assert_int_equal(res.n_events, 1);
        assert_int_equal(res.events[0].seq, 5);
        assert_int_equal(res.next_seq, 6);
        proto_events_result_done(&res);

        assert_int_equal(event_ring_query(r, 50, 0, NULL, &res), 0);
        assert_int_equal(res.n_events, 0);
        assert_int_equal(res.next_seq, 50);
        proto_events_result_done(&res);
        event_ring_free(r);

        /* bounded by data bytes too */
        uint8_t blob[16] = {0x80};
        ProtoEvent big = {.seq = 1, .kind = PROTO_EVENT_HEARTBEAT, .data = {blob, 6}};
        assert_int_equal(event_ring_new(100, 10, &r), 0);
        assert_int_equal(event_ring_push(r, &big), 0);
        big.seq = 2;
        assert_int_equal(event_ring_push(r, &big), 0);
        assert_int_equal(event_ring_size(r), 1);
        big.seq = 3;
        big.data.size = 11;
        assert_int_equal(event_ring_push(r, &big), -E2BIG);
        assert_int_equal(event_ring_query(r, 0, 0, NULL, &res), 0);
        assert_int_equal(res.n_events, 1);
        assert_int_equal(res.events[0].seq, 2);
        proto_events_result_done(&res);
        event_ring_free(r);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_agent_capacity),
                cmocka_unit_test(test_config_parse),
                cmocka_unit_test(test_config_errors),
                cmocka_unit_test(test_tenant_quota),
                cmocka_unit_test(test_tenant_quota_errors),
                cmocka_unit_test(test_zap_parse_peer_uid),
                cmocka_unit_test(test_state_table),
                cmocka_unit_test(test_curve_key_files),
                cmocka_unit_test(test_curve_keys_load),
                cmocka_unit_test(test_request_cache),
                cmocka_unit_test(test_request_cache_shares),
                cmocka_unit_test(test_config_request_rate),
                cmocka_unit_test(test_config_backends),
                cmocka_unit_test(test_tenant_ledger),
                cmocka_unit_test(test_busy_hold),
                cmocka_unit_test(test_record_sync),
                cmocka_unit_test(test_event_ring),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
