/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* From a validated spawn request to a running shim: state and runtime dirs, cgroups with limits, the control
 * socketpair, shim_launch(), oom_score_adj, the child and cgroup watches. The reply waits for the shim's
 * STARTED (or SPAWN_FAILED / its exit).
 *
 * Two stages: agent_spawn() prepares everything the shim needs (a SpawnPlan) and asks for the cgroups; the
 * launch runs once they exist: at once with the cgroupfs driver, later from the event loop with the systemd
 * driver (its scope's job), which serves other requests meanwhile. A stop or kill before then abandons the
 * creation (agent_spawn_abort()). */
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>

#include "agent-cgroup.h"
#include "agent-log.h"
#include "agent-record.h"
#include "agent-watch.h"
#include "agent.h"
#include "events.h"
#include "fd-util.h"
#include "limit-watch.h"
#include "log.h"
#include "mount-view.h"
#include "sandbox-setup.h"
#include "shim-launch.h"
#include "string-util.h"
#include "time-util.h"
#include "uid-pool.h"

/* The agent's environment: the request's, plus HOME in the workspace unless it set one. shim_launch() hands
 * it to the shim as data for the agent's execve; the root shim itself never runs with it. */
static int build_env(const ProtoStrMap *env, const char *home, char ***ret)
{
        _cleanup_strv_free_ char **l = calloc(env->n_pairs + 2, sizeof(char *));
        size_t n = 0;

        if (!l)
                return -ENOMEM;
        for (size_t i = 0; i < env->n_pairs; i++)
                if (asprintf_safe(&l[n++], "%s=%s", env->pairs[i].key, env->pairs[i].value) < 0)
                        return -ENOMEM;
        if (home && !proto_str_map_get(env, "HOME") && asprintf_safe(&l[n++], "HOME=%s", home) < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(l);
        return 0;
}

/* STATE/agents/ID/work, the agent's own: inside its state dir, so that other agents never see it (the state
 * dir is masked) and remove takes it with the rest. With workspace_size (the default) the view mounts a
 * tmpfs of that size there, so the directory on disk stays empty: the agent's scratch space is bounded and
 * goes with the agent. */
static int make_workspace(Agent *a, int state_fd, uid_t uid, gid_t gid, char **ret)
{
        _cleanup_free_ char *path = NULL;

        if (asprintf_safe(&path, "%s/work", a->state_path) < 0)
                return -ENOMEM;
        if (mkdirat(state_fd, "work", 0700) < 0)
                return -errno;
        if (fchownat(state_fd, "work", uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
                return -errno;
        *ret = TAKE_PTR(path);
        return 0;
}

static int make_dir_at(const char *parent, const char *sub, const char *id, char **ret_path)
{
        _cleanup_free_ char *dir = NULL, *path = NULL;

        if (asprintf_safe(&dir, "%s/%s", parent, sub) < 0 || asprintf_safe(&path, "%s/%s", dir, id) < 0)
                return -ENOMEM;
        if (mkdir(dir, 0700) < 0 && errno != EEXIST)
                return -errno;
        if (mkdir(path, 0700) < 0)
                return -errno;
        *ret_path = TAKE_PTR(path);
        return 0;
}

/* error may be 0: the refusal is ours, no system call reported it */
#define FAIL(error, code, ...) return failure_set(ret_failure, (error), (code), __VA_ARGS__)

/* What the launch needs, made before the cgroups are asked for and kept while they are being made. */
struct SpawnPlan {
        CgroupCreation *creation; /* under way; NULL once done */
        AgentSandbox sb;          /* the request's, moved here */
        int state_fd;             /* STATE/agents/ID, open until the shim has it */
        char **env, **masks, **keeps;
        char *listen, *workspace, *home, *cwd;
        bool open_stdin, tty, loopback;
        uint64_t timeout_ms; /* 0: none */
};

static SpawnPlan *spawn_plan_free(SpawnPlan *p)
{
        if (!p)
                return NULL;
        cgroup_creation_cancel(p->creation);
        agent_sandbox_done(&p->sb);
        safe_close(p->state_fd);
        strv_free(p->env);
        strv_free(p->masks);
        strv_free(p->keeps);
        free(p->listen);
        free(p->workspace);
        free(p->home);
        free(p->cwd);
        free(p);
        return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(SpawnPlan *, spawn_plan_free);

void agent_spawn_plan_free(Agent *a)
{
        a->spawn_plan = spawn_plan_free(a->spawn_plan);
}

/* state_fd: STATE/agents/ID, taken over (closed on failure too). */
static int plan_prepare(Agent *a, const ProtoSpawnArgs *args, AgentSandbox *sb, int state_fd, uid_t uid,
                        gid_t gid, SpawnPlan **ret, Failure *ret_failure)
{
        Manager *m = a->manager;
        _cleanup_(spawn_plan_freep) SpawnPlan *p = NULL;
        _cleanup_strv_free_ char **masks = NULL;
        int r;

        p = calloc(1, sizeof *p);
        if (!p) {
                safe_close(state_fd);
                FAIL(-ENOMEM, PROTO_ERROR_INTERNAL, "out of memory");
        }
        p->state_fd = state_fd;
        if (asprintf_safe(&p->listen, "%s/shim.sock", a->runtime_path) < 0)
                FAIL(-ENOMEM, PROTO_ERROR_INTERNAL, "out of memory");
        if (sb->workspace)
                p->workspace = strdup(sb->workspace);
        else {
                r = make_workspace(a, p->state_fd, uid, gid, &p->workspace);
                if (r < 0)
                        FAIL(r, PROTO_ERROR_INTERNAL, "cannot create the agent's workspace: %s",
                             strerror(-r));
        }
        if (!p->workspace)
                FAIL(-ENOMEM, PROTO_ERROR_INTERNAL, "out of memory");
        r = mount_view_home(p->workspace, &p->home);
        if (r < 0)
                FAIL(r, PROTO_ERROR_INTERNAL, "cannot name the agent's HOME: %s", strerror(-r));
        r = config_split_paths(m->config.mask_paths, &masks);
        if (r < 0)
                FAIL(r, PROTO_ERROR_INTERNAL, "mask_paths: %s", strerror(-r));
        r = config_split_paths(m->config.mask_keep, &p->keeps);
        if (r < 0)
                FAIL(r, PROTO_ERROR_INTERNAL, "mask_keep: %s", strerror(-r));
        r = build_env(&args->env, p->home, &p->env);
        if (r < 0)
                FAIL(-ENOMEM, PROTO_ERROR_INTERNAL, "out of memory");

        r = strv_extend(&p->masks, m->config.runtime_dir);
        if (r >= 0)
                r = strv_extend(&p->masks, m->config.state_dir);
        for (char **mp = masks; r >= 0 && mp && *mp; mp++)
                r = strv_extend(&p->masks, *mp);
        if (r < 0 || (args->cwd && !(p->cwd = strdup(args->cwd))))
                FAIL(-ENOMEM, PROTO_ERROR_INTERNAL, "out of memory");
        p->open_stdin = args->open_stdin;
        p->tty = args->tty;
        p->loopback = !args->has_net || args->net == PROTO_NET_NONE;
        p->timeout_ms = args->has_timeout_ms ? args->timeout_ms : 0;
        p->sb = *sb;
        *sb = (AgentSandbox){};
        *ret = TAKE_PTR(p);
        return 0;
}

/* The agent's cgroups exist: its watches, then the shim. */
static int spawn_launch(Agent *a, const SpawnPlan *p, Failure *ret_failure)
{
        Manager *m = a->manager;
        const AgentSandbox *sb = &p->sb;
        _cleanup_close_pair_ int pair[2] = {-EBADF, -EBADF};
        _cleanup_close_ int log_fd = -EBADF, payload_fd = -EBADF, shim_fd = -EBADF, report_fd = -EBADF;
        SpawnStage stage = SPAWN_STAGE_PREPARE;
        PidRef shim = PIDREF_NULL;
        char buf[32];
        int r;

        a->info.cgroup = strdup(cgroup_handle_path(a->kernel.cg));
        if (!a->info.cgroup)
                FAIL(-ENOMEM, PROTO_ERROR_INTERNAL, "out of memory");
        a->end.oom_kills_at_start = agent_cgroup_oom_kills(a->kernel.cg, 0);
        r = agent_watch_cgroups(a);
        if (r < 0)
                FAIL(r, PROTO_ERROR_INTERNAL, "cannot watch the agent's cgroup: %s", strerror(-r));
        r = limit_watch_start(a, &a->kernel.limit_watch);
        if (r < 0)
                FAIL(r, PROTO_ERROR_INTERNAL, "cannot watch the agent's limits: %s", strerror(-r));

        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) < 0)
                FAIL(-errno, PROTO_ERROR_INTERNAL, "socketpair: %s", strerror(errno));
        log_fd = openat(p->state_fd, "shim.log", O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW,
                        0600);
        if (log_fd < 0)
                FAIL(-errno, PROTO_ERROR_INTERNAL, "cannot open shim.log: %s", strerror(errno));

        ShimOptions o = {
                .id = a->info.id,
                .listen_path = p->listen,
                .cwd = p->cwd ?: p->workspace,
                .output_cap = m->config.output_cap_bytes,
                .stdin_pipe = p->open_stdin,
                .tty = p->tty,
                .loopback = p->loopback,
                .argv = a->info.argv,
                .sandbox = true,
                .uid = a->info.uid,
                .gid = a->info.gid,
                .workspace = p->workspace,
                .workspace_owner = sb->workspace_owner,
                .tmp_size = m->config.tmp_size,
                /* the default workspace is bounded: a tenant cannot fill the state dir's file system */
                .workspace_tmpfs_size = sb->workspace ? 0 : m->config.workspace_size,
                .mask_paths = p->masks,
                .home = p->home,
                .seccomp = true,
                .keep_paths = p->keeps,
                .workspace_idmap = sb->workspace_idmap,
        };
        payload_fd = cgroup_handle_spawn_fd(a->kernel.cg, CGROUP_PART_PAYLOAD);
        if (payload_fd < 0)
                FAIL(payload_fd, PROTO_ERROR_INTERNAL, "cannot open the agent's payload cgroup: %s",
                     strerror(-payload_fd));
        shim_fd = cgroup_handle_spawn_fd(a->kernel.cg, CGROUP_PART_SHIM);
        if (shim_fd < 0)
                FAIL(shim_fd, PROTO_ERROR_INTERNAL, "cannot open the shim's cgroup: %s", strerror(-shim_fd));
        ShimLaunch l = {
                .shim_path = m->shim_path,
                .options = &o,
                .env = p->env,
                .seccomp_fd = sb->seccomp->fd,
                .log_fd = log_fd,
                .control_fd = pair[1],
                .state_dir_fd = p->state_fd,
                .payload_cgroup_fd = payload_fd,
                .shim_cgroup_fd = shim_fd,
        };
        a->spawn_trace.launch_ns = now_ns(CLOCK_MONOTONIC);
        /* the loop goes on while the shim starts: its report pipe tells how its execve went */
        r = shim_launch(&l, &shim, &report_fd, &stage);
        if (r < 0) {
                a->end.spawn_failed = true;
                FAIL(r, PROTO_ERROR_SPAWN_FAILED, "stage %s: %s", spawn_stage_to_string(stage) ?: "?",
                     strerror(-r));
        }
        a->shim.pid = shim;
        pair[1] = safe_close(pair[1]);
        r = agent_watch_shim_exec(a, TAKE_FD(report_fd));
        if (r < 0) {
                (void)pidref_kill(&a->shim.pid, SIGKILL);
                FAIL(r, PROTO_ERROR_INTERNAL, "cannot watch the shim's start: %s", strerror(-r));
        }
        a->stdin_open = p->open_stdin || p->tty; /* a terminal takes stdin too */

        /* the OOM killer must take the agent, not the shim that reports it (the shim resets it to 0 in the
         * agent's child before exec) */
        (void)snprintf(buf, sizeof buf, "/proc/%d/oom_score_adj", (int)a->shim.pid.pid);
        r = write_string_file_at(AT_FDCWD, buf, "-1000");
        if (r < 0) {
                /* e.g. in a container without CAP_SYS_RESOURCE: say it once */
                static bool warned = false;
                log_agent_full_errno(a, warned ? LOG_DEBUG : LOG_WARNING, r,
                                     "Failed to set the shim's oom_score_adj to -1000, ignoring: %m");
                warned = true;
        }

        /* the same exit path as for shims re-adopted after a restart (agent-watch.c) */
        r = agent_watch_shim(a);
        if (r < 0) {
                (void)pidref_kill(&a->shim.pid, SIGKILL);
                FAIL(r, PROTO_ERROR_INTERNAL, "cannot watch the shim: %s", strerror(-r));
        }
        r = shim_link_attach(a, pair[0]);
        if (r < 0) {
                (void)pidref_kill(&a->shim.pid, SIGKILL);
                FAIL(r, PROTO_ERROR_INTERNAL, "cannot watch the shim's socket: %s", strerror(-r));
        }
        pair[0] = -EBADF;

        if (p->timeout_ms > 0)
                (void)agent_arm_runtime_deadline(a,
                                                 now_usec(CLOCK_MONOTONIC) + p->timeout_ms * USEC_PER_MSEC);
        r = agent_record_save(a);
        if (r < 0)
                /* the caller ends the agent (its cgroup is killed): it never runs unrecorded */
                FAIL(r, PROTO_ERROR_INTERNAL,
                     "cannot write the agent's record in %s: %s (is the file system of the state directory "
                     "full?)",
                     a->state_path, strerror(-r));
        m->stats.agents_spawned++;
        log_agent_info(a, "Shim started as pid %d in %s; the agent runs as %s (uid %u, gid %u) in %s.",
                       (int)a->shim.pid.pid, a->info.cgroup,
                       sb->user
                               ?: sb->dynamic_uid ? "its own uid"
                                                  : "?",
                       (unsigned)a->info.uid, (unsigned)a->info.gid, p->workspace);
        a->spawn_trace.spawned_ns = now_ns(CLOCK_MONOTONIC);
        return 0;
}

void agent_spawn_failed(Agent *a, const Failure *fail, Call *c)
{
        Manager *m = a->manager;
        ProtoValue data = {};
        ProtoEventData d = {.error.msg = (char *)fail->msg};

        m->stats.agents_spawn_failed++;
        log_agent_warning(a, "Failed to spawn: %s", fail->msg);
        if (proto_event_data_encode(PROTO_EVENT_ERROR, &d, &data) >= 0)
                events_publish(m, PROTO_EVENT_ERROR, a, NULL, NULL, &data);
        proto_value_done(&data);
        /* the spawn request, or the one parked for STARTED, gets the failure itself */
        if (c)
                call_reply_failure(c, fail);
        else
                agent_notify(a, &(AgentNotice){.type = AGENT_NOTICE_SPAWN_FAILED, .failure = fail});
        a->end.spawn_failed = true;
        /* moved with TAKE_PTR: gcc 12's analyzer reports a plain strdup() into a->end as a leak */
        _cleanup_free_ char *msg = strdup(fail->msg);
        free(a->end.failed_msg);
        a->end.failed_msg = TAKE_PTR(msg);
        agent_finalize(a);
}

/* The driver made the agent's cgroups (or could not), from the event loop. */
static void on_cgroup_created(CgroupHandle *h, const CgroupCreateError *e, void *userdata)
{
        Agent *a = userdata;
        Failure fail = {};
        int r;

        a->spawn_plan->creation = NULL; /* it is gone */
        if (!h) {
                (void)agent_cgroup_failure(a->info.owner_uid, e, &fail);
                agent_spawn_plan_free(a);
                agent_spawn_failed(a, &fail, NULL);
                return;
        }
        a->kernel.cg = h;
        r = spawn_launch(a, a->spawn_plan, &fail);
        agent_spawn_plan_free(a);
        if (r < 0)
                agent_spawn_failed(a, &fail, NULL);
}

bool agent_spawn_abort(Agent *a)
{
        if (!a->spawn_plan)
                return false;
        log_agent_info(a, "Its cgroups were still being made: abandoned.");
        agent_spawn_plan_free(a);
        return true;
}

int agent_spawn(Agent *a, const ProtoSpawnArgs *args, AgentSandbox *sb, const CgroupLimits *tenant,
                Failure *ret_failure)
{
        Manager *m = a->manager;
        _cleanup_(spawn_plan_freep) SpawnPlan *p = NULL;
        _cleanup_close_ int state_fd = -EBADF;
        CgroupCreation *creation = NULL;
        uid_t uid = sb->uid;
        gid_t gid = sb->gid;
        int r;

        r = make_dir_at(m->config.state_dir, "agents", a->info.id, &a->state_path);
        if (r < 0)
                FAIL(r, PROTO_ERROR_INTERNAL, "cannot create the agent's state directory: %s", strerror(-r));
        /* open while spawning only (the plan keeps it): a running agent keeps no descriptor of its state dir
         */
        state_fd = open(a->state_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (state_fd < 0)
                FAIL(-errno, PROTO_ERROR_INTERNAL, "cannot open %s: %s", a->state_path, strerror(errno));
        if (sb->dynamic_uid) {
                /* claimed once STATE/agents/ID exists: the claim holds as long as that directory does */
                r = uid_pool_claim(m->uid_pool, a->info.id, &uid);
                if (r == -EUSERS)
                        FAIL(r, PROTO_ERROR_LIMIT_EXCEEDED,
                             "every uid of agent_uids (%u-%u) is taken by an agent or by files a removed "
                             "agent left; remove ended agents or widen the range",
                             (unsigned)m->config.agent_uid_min, (unsigned)m->config.agent_uid_max);
                if (r < 0)
                        FAIL(r, PROTO_ERROR_INTERNAL, "cannot claim a uid for the agent: %s", strerror(-r));
                gid = (gid_t)uid;
        }
        a->info.has_uid = a->info.has_gid = true;
        a->info.uid = uid;
        a->info.gid = gid;
        /* no agent may run without a record: a restarted daemon knows its agents only from them, so a
         * record that cannot be written (a full disk) refuses the spawn before anything runs */
        r = agent_record_save(a);
        if (r < 0)
                FAIL(r, PROTO_ERROR_INTERNAL,
                     "cannot write the agent's record in %s: %s (is the file system of the state directory "
                     "full?)",
                     a->state_path, strerror(-r));
        r = make_dir_at(m->config.runtime_dir, "agents", a->info.id, &a->runtime_path);
        if (r < 0)
                FAIL(r, PROTO_ERROR_INTERNAL, "cannot create the agent's runtime directory: %s",
                     strerror(-r));
        r = plan_prepare(a, args, sb, TAKE_FD(state_fd), uid, gid, &p, ret_failure);
        if (r < 0)
                return r;

        r = agent_cgroup_create(m->cgroup, a->info.owner_uid, a->info.id, tenant, &a->info.limits,
                                on_cgroup_created, a, &a->kernel.cg, &creation, ret_failure);
        if (r < 0)
                return r;
        if (r > 0) {
                /* launched by on_cgroup_created() */
                p->creation = creation;
                a->spawn_plan = TAKE_PTR(p);
                return 0;
        }
        return spawn_launch(a, p, ret_failure);
}
