/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* From a validated spawn request to a running shim: state and runtime dirs, cgroups with limits, the control
 * socketpair, shim_launch(), oom_score_adj, the child and cgroup watches. The reply waits for the shim's
 * STARTED (or SPAWN_FAILED / its exit). */
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

int agent_spawn(Agent *a, const ProtoSpawnArgs *args, const AgentSandbox *sb, const CgroupLimits *tenant,
                Failure *ret_failure)
{
        Manager *m = a->manager;
        _cleanup_close_pair_ int pair[2] = {-EBADF, -EBADF};
        _cleanup_close_ int log_fd = -EBADF, state_fd = -EBADF, payload_fd = -EBADF, shim_fd = -EBADF;
        _cleanup_strv_free_ char **env = NULL;
        _cleanup_free_ char *listen = NULL, *workspace = NULL, *home = NULL;
        _cleanup_strv_free_ char **masks = NULL, **all_masks = NULL, **keeps = NULL;
        SpawnStage stage = SPAWN_STAGE_PREPARE;
        PidRef shim = PIDREF_NULL;
        uid_t uid = sb->uid;
        gid_t gid = sb->gid;
        char buf[32];
        int r;

        r = make_dir_at(m->config.state_dir, "agents", a->info.id, &a->state_path);
        if (r < 0)
                FAIL(r, PROTO_ERROR_INTERNAL, "cannot create the agent's state directory: %s", strerror(-r));
        /* open while spawning only: a running agent keeps no descriptor of its state dir */
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
        if (asprintf_safe(&listen, "%s/shim.sock", a->runtime_path) < 0)
                FAIL(-ENOMEM, PROTO_ERROR_INTERNAL, "out of memory");

        r = agent_cgroup_create(m->cgroup, a->info.owner_uid, a->info.id, tenant, &a->info.limits,
                                &a->kernel.cg, ret_failure);
        if (r < 0)
                return r;
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
        log_fd = openat(state_fd, "shim.log", O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (log_fd < 0)
                FAIL(-errno, PROTO_ERROR_INTERNAL, "cannot open shim.log: %s", strerror(errno));
        if (sb->workspace)
                workspace = strdup(sb->workspace);
        else {
                r = make_workspace(a, state_fd, uid, gid, &workspace);
                if (r < 0)
                        FAIL(r, PROTO_ERROR_INTERNAL, "cannot create the agent's workspace: %s",
                             strerror(-r));
        }
        if (!workspace)
                FAIL(-ENOMEM, PROTO_ERROR_INTERNAL, "out of memory");
        r = mount_view_home(workspace, &home);
        if (r < 0)
                FAIL(r, PROTO_ERROR_INTERNAL, "cannot name the agent's HOME: %s", strerror(-r));
        r = config_split_paths(m->config.mask_paths, &masks);
        if (r < 0)
                FAIL(r, PROTO_ERROR_INTERNAL, "mask_paths: %s", strerror(-r));
        r = config_split_paths(m->config.mask_keep, &keeps);
        if (r < 0)
                FAIL(r, PROTO_ERROR_INTERNAL, "mask_keep: %s", strerror(-r));
        r = build_env(&args->env, home, &env);
        if (r < 0)
                FAIL(-ENOMEM, PROTO_ERROR_INTERNAL, "out of memory");

        r = strv_extend(&all_masks, m->config.runtime_dir);
        if (r >= 0)
                r = strv_extend(&all_masks, m->config.state_dir);
        for (char **mp = masks; r >= 0 && mp && *mp; mp++)
                r = strv_extend(&all_masks, *mp);
        if (r < 0)
                FAIL(-ENOMEM, PROTO_ERROR_INTERNAL, "out of memory");

        ShimOptions o = {
                .id = a->info.id,
                .listen_path = listen,
                .cwd = (char *)(args->cwd ?: workspace),
                .output_cap = m->config.output_cap_bytes,
                .stdin_pipe = args->open_stdin,
                .tty = args->tty,
                .loopback = !args->has_net || args->net == PROTO_NET_NONE,
                .argv = a->info.argv,
                .sandbox = true,
                .uid = uid,
                .gid = gid,
                .workspace = workspace,
                .workspace_owner = sb->workspace_owner,
                .tmp_size = m->config.tmp_size,
                /* the default workspace is bounded: a tenant cannot fill the state dir's file system */
                .workspace_tmpfs_size = sb->workspace ? 0 : m->config.workspace_size,
                .mask_paths = all_masks,
                .home = home,
                .seccomp = true,
                .keep_paths = keeps,
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
                .env = env,
                .seccomp_fd = sb->seccomp->fd,
                .log_fd = log_fd,
                .control_fd = pair[1],
                .state_dir_fd = state_fd,
                .payload_cgroup_fd = payload_fd,
                .shim_cgroup_fd = shim_fd,
        };
        a->spawn_trace.launch_ns = now_ns(CLOCK_MONOTONIC);
        r = shim_launch(&l, &shim, &stage);
        a->spawn_trace.shim_exec_ns = now_ns(CLOCK_MONOTONIC);
        if (r < 0) {
                a->end.spawn_failed = true;
                FAIL(r, PROTO_ERROR_SPAWN_FAILED, "stage %s: %s", spawn_stage_to_string(stage) ?: "?",
                     strerror(-r));
        }
        a->shim.pid = shim;
        pair[1] = safe_close(pair[1]);
        a->stdin_open = args->open_stdin || args->tty; /* a terminal takes stdin too */

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

        if (args->has_timeout_ms && args->timeout_ms > 0)
                (void)agent_arm_runtime_deadline(a, now_usec(CLOCK_MONOTONIC) +
                                                            args->timeout_ms * USEC_PER_MSEC);
        r = agent_record_save(a);
        if (r < 0)
                /* the caller ends the agent (its cgroup is killed): it never runs unrecorded */
                FAIL(r, PROTO_ERROR_INTERNAL,
                     "cannot write the agent's record in %s: %s (is the file system of the state directory "
                     "full?)",
                     a->state_path, strerror(-r));
        log_agent_info(a, "Shim started as pid %d in %s; the agent runs as %s (uid %u, gid %u) in %s.",
                       (int)a->shim.pid.pid, a->info.cgroup,
                       sb->user
                               ?: sb->dynamic_uid ? "its own uid"
                                                  : "?",
                       (unsigned)uid, (unsigned)gid, workspace);
        a->spawn_trace.spawned_ns = now_ns(CLOCK_MONOTONIC);
        return 0;
}
