/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Tenant quotas and the tenants op: the agent count of a tenant's quota (limit_exceeded naming the quota),
 * a quota changed live by SIGHUP, a quota the host cannot enforce (unenforceable, and said once in the log)
 * or, where it can, set on the tenant's cgroup; what a tenant and an admin see of the tenants. The kernel's
 * enforcement of cpu and memory quotas is shown by the vm suite (tests/vm/guest-quota.sh). */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "fd-util.h"
#include "itest-util.h"
#include "string-util.h"

#define TENANT_UID 65534

static const char *const sleeper[] = {"sleep", "600", NULL};

static int setup(void **state)
{
        return itest_setup_with(&(HarnessOptions){.extra_config = "quota.user.root = agents=2\n"
                                                                  "quota.user.65534 = agents=1 pids=64\n"},
                                state);
}

/* Rewrites the config file and reloads it. */
static void reconfigure(ITest *t, const char *text)
{
        _cleanup_free_ char *path = NULL;

        assert_int_equal(asprintf_safe(&path, "%s/descartesd.conf", t->h->tmpdir), 0);
        assert_int_equal(write_file_replace_at(AT_FDCWD, path, text, strlen(text), 0644, true), 0);
        assert_int_equal(kill(t->h->daemon_pid, SIGHUP), 0);
}

static const ProtoTenant *find_tenant(const ProtoTenantsResult *r, uint32_t uid)
{
        for (size_t i = 0; i < r->n_tenants; i++)
                if (r->tenants[i].uid == uid)
                        return &r->tenants[i];
        return NULL;
}

typedef struct AgentsQuota {
        ITest *t;
        uint64_t want;
} AgentsQuota;

static bool root_agents_quota_is(void *arg)
{
        AgentsQuota *q = arg;
        _cleanup_(proto_tenants_result_done) ProtoTenantsResult r = {};
        DescartesError e = {};
        const ProtoTenant *x;

        if (wire_tenants(q->t->c, &r, &e) < 0)
                return false;
        x = find_tenant(&r, 0);
        return x && x->quota.has_agents && x->quota.agents == q->want;
}

static int spawn_sleeper(ITest *t, DescartesError *e, char **ret_id)
{
        ProtoSpawnArgs a = {.argv = (char **)sleeper, .n_argv = 2};
        ProtoStrPair env[] = {{(char *)"PATH", (char *)"/usr/bin:/bin"}};
        ProtoAgentInfo info = {};
        int r;

        a.env.pairs = env;
        a.env.n_pairs = ELEMENTSOF(env);
        r = wire_spawn(t->c, &a, &info, e);
        if (r >= 0 && ret_id)
                *ret_id = strdup(info.id);
        proto_agent_info_done(&info);
        return r;
}

/* In a child as TENANT_UID in group descartes: its own tenants reply holds itself only. */
static int tenant_sees_itself(ITest *t)
{
        struct group *g = getgrnam("descartes");
        const char *path = t->h->control + strlen("ipc://");
        pid_t pid;
        int status = 0;

        if (!g)
                return 77;
        if (chmod(t->h->tmpdir, 0711) < 0 || chmod(t->h->runtime_dir, 0751) < 0 || chmod(path, 0660) < 0)
                return -errno;
        pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0) {
                ProtoTenantsResult r = {};
                DescartesClient *c = NULL;
                DescartesError e = {};
                gid_t gid = g->gr_gid;

                if (setgroups(1, &gid) < 0 || setgid(TENANT_UID) < 0 || setuid(TENANT_UID) < 0)
                        _exit(90);
                if (descartes_client_new(t->h->control, &c) < 0)
                        _exit(91);
                if (wire_tenants(c, &r, &e) < 0) {
                        fprintf(stderr, "tenant: tenants failed: %s\n", e.message);
                        _exit(92);
                }
                /* itself only, with the quota its user rule (by uid) names; no agent, so no cgroup */
                if (r.n_tenants != 1 || r.tenants[0].uid != TENANT_UID || r.tenants[0].agents != 0 ||
                    r.tenants[0].has_usage || !r.tenants[0].quota.has_agents ||
                    r.tenants[0].quota.agents != 1 || !r.tenants[0].quota.has_pids ||
                    r.tenants[0].quota.pids != 64 || r.tenants[0].quota.has_memory)
                        _exit(93);
                proto_tenants_result_done(&r);
                descartes_client_free(c);
                _exit(0);
        }
        if (waitpid(pid, &status, 0) < 0)
                return -errno;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void test_agent_count_and_reload(void **state)
{
        ITest *t = *state;
        _cleanup_(proto_tenants_result_done) ProtoTenantsResult r = {};
        _cleanup_free_ char *a = NULL, *b = NULL, *c = NULL;
        DescartesError e = {};
        const ProtoTenant *x;
        int k;

        assert_int_equal(spawn_sleeper(t, &e, &a), 0);
        assert_int_equal(spawn_sleeper(t, &e, &b), 0);
        /* the third is over root's agent count, and the message names the quota */
        assert_int_equal(spawn_sleeper(t, &e, NULL) < 0, true);
        assert_int_equal(e.code, DESCARTES_ERROR_CODE_LIMIT_EXCEEDED);
        assert_non_null(strstr(e.message, "agents=2 (quota.user.root)"));

        assert_int_equal(wire_tenants(t->c, &r, &e), 0);
        x = find_tenant(&r, 0);
        assert_non_null(x);
        assert_int_equal(x->agents, 2);
        assert_true(x->quota.has_agents);
        assert_int_equal(x->quota.agents, 2);
        assert_false(x->quota.has_cpu);
        assert_string_equal(x->user, "root");
        /* the tenant's cgroup exists while it has agents: its usage is read from it */
        assert_true(x->has_usage);

        /* descartesctl: a table row per tenant, and the protocol's shape with -o json */
        {
                _cleanup_free_ char *table = NULL, *json = NULL;

                assert_int_equal(harness_ctl(t->h, NULL, 0, &table, "tenants", NULL), 0);
                assert_non_null(strstr(table, "TENANT"));
                assert_non_null(strstr(table, "\nroot "));
                assert_non_null(strstr(table, " 2/2 "));
                assert_int_equal(harness_ctl(t->h, NULL, 0, &json, "-o", "json", "tenants", NULL), 0);
                assert_true(strncmp(json, "{\"tenants\":[", 12) == 0);
                assert_non_null(strstr(json, "\"quota\":{\"agents\":2}"));
        }

        k = tenant_sees_itself(t);
        if (k == 77)
                print_message("no group descartes here: the tenant's own view is not checked\n");
        else
                assert_int_equal(k, 0);

        /* live: a reload raises the count */
        reconfigure(t, "quota.user.root = agents=3\n");
        assert_int_equal(harness_wait_until(root_agents_quota_is, &(AgentsQuota){t, 3}, 10000), 0);
        assert_int_equal(spawn_sleeper(t, &e, &c), 0);

        assert_int_equal(wire_kill(t->c, a, NULL, &e), 0);
        assert_int_equal(wire_kill(t->c, b, NULL, &e), 0);
        assert_int_equal(wire_kill(t->c, c, NULL, &e), 0);
}

static bool log_has(Harness *h, const char *needle)
{
        _cleanup_free_ char *log = NULL;

        return read_file_at(AT_FDCWD, h->daemon_log, 16 << 20, &log, NULL) >= 0 && strstr(log, needle);
}

static bool has_controller(ITest *t, const char *name)
{
        _cleanup_(proto_health_result_done) ProtoHealthResult h = {};
        DescartesError e = {};

        assert_int_equal(wire_health(t->c, &h, &e), 0);
        for (size_t i = 0; i < h.n_cgroup_controllers; i++)
                if (streq(h.cgroup_controllers[i], name))
                        return true;
        return false;
}

static void test_memory_quota(void **state)
{
        ITest *t = *state;
        _cleanup_free_ char *id = NULL, *tenant_cg = NULL, *text = NULL;
        DescartesError e = {};

        reconfigure(t, "quota.user.root = memory=64M agents=4\n");
        assert_int_equal(harness_wait_until(root_agents_quota_is, &(AgentsQuota){t, 4}, 10000), 0);
        if (!has_controller(t, "memory")) {
                print_message("no memory controller here: the quota is unenforceable\n");
                assert_true(spawn_sleeper(t, &e, NULL) < 0);
                assert_int_equal(e.code, DESCARTES_ERROR_CODE_UNENFORCEABLE);
                assert_non_null(strstr(e.message, "memory=64M (quota.user.root)"));
                assert_non_null(strstr(e.message, "the memory controller is not available"));
                /* said in the log when the quota came */
                assert_true(log_has(
                        t->h,
                        "quota.user.root cannot be enforced on this host (memory: controller missing"));
                return;
        }
        /* an agent asking more than its tenant's quota is refused */
        {
                ProtoSpawnArgs a = {.argv = (char **)sleeper, .n_argv = 2};
                ProtoAgentInfo info = {};

                a.limits.has_memory = true;
                a.limits.memory = 128ULL << 20;
                assert_true(wire_spawn(t->c, &a, &info, &e) < 0);
                assert_int_equal(e.code, DESCARTES_ERROR_CODE_LIMIT_EXCEEDED);
                assert_non_null(strstr(e.message, "limits.memory exceeds the tenant quota"));
        }
        assert_int_equal(spawn_sleeper(t, &e, &id), 0);
        assert_int_equal(asprintf_safe(&tenant_cg, "%s/agents/u0/memory.max", t->h->cgroup_root), 0);
        assert_int_equal(read_file_at(AT_FDCWD, tenant_cg, 64, &text, NULL), 0);
        assert_string_equal(text, "67108864\n");
        assert_int_equal(wire_kill(t->c, id, NULL, &e), 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_agent_count_and_reload),
                cmocka_unit_test(test_memory_quota),
        };
        return cmocka_run_group_tests(tests, setup, itest_teardown);
}
