/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent-cgroup.h"
#include "fd-util.h"
#include "identity-resolve.h"
#include "log.h"
#include "mount-util.h"
#include "sandbox-setup.h"
#include "seccomp-cache.h"
#include "string-util.h"
#include "uid-pool.h"
#include "userns.h"

#define DEFAULT_POLICY "default"

void agent_sandbox_done(AgentSandbox *sb)
{
        free(sb->user);
        free(sb->workspace);
        seccomp_bpf_unref(sb->seccomp);
        *sb = (AgentSandbox){};
}

static void log_names(const char *policy, const char *what, char *const *names)
{
        char buf[1024];
        size_t n = 0;

        buf[0] = 0;
        for (char *const *p = names; p && *p && n + 1 < sizeof buf; p++) {
                int k = snprintf(buf + n, sizeof buf - n, "%s%s", n ? " " : "", *p);
                if (k < 0)
                        break;
                n = MIN(n + (size_t)k, sizeof buf - 1);
        }
        log_warning("Seccomp policy %s: %s were skipped: %s", policy, what, buf);
}

static void log_skipped(const char *policy, const SeccompBpf *bpf)
{
        if (bpf->unknown_syscalls)
                log_names(policy, "syscalls this libseccomp does not know", bpf->unknown_syscalls);
        if (bpf->skipped_arches)
                log_names(policy, "architectures", bpf->skipped_arches);
}

/* The filter of a policy: compiled once per policy text, logged the first time. On failure *ret_failure
 * says why, without the policy's name (the callers name it their way). */
static int sandbox_policy(Manager *m, const char *policy, SeccompBpf **ret, Failure *ret_failure)
{
        _cleanup_free_ char *error = NULL;
        int r = seccomp_cache_get_policy(m->seccomp_cache, m->config.policy_dir, policy, ret, &error);

        if (r < 0)
                return failure_set(ret_failure, r,
                                   r == -ENOMEM ? PROTO_ERROR_INTERNAL : PROTO_ERROR_BAD_REQUEST, "%s",
                                   error ?: strerror(-r));
        if (r == 1) {
                log_info("Seccomp policy %s compiled (%zu instructions).", policy, (*ret)->n_insns);
                log_skipped(policy, *ret);
        }
        return r;
}

static ProtoLimits default_limits(const Config *c)
{
        ProtoLimits l = {};

        l.has_cpu = c->default_cpu_milli > 0;
        l.cpu_millicores = c->default_cpu_milli;
        l.has_memory = c->default_memory > 0;
        l.memory = c->default_memory;
        l.has_swap = l.has_memory; /* memory.swap.max 0 goes with every memory limit */
        l.has_pids = c->default_pids > 0;
        l.pids = c->default_pids;
        return l;
}

/* A subordinate id file (/etc/subuid, /etc/subgid: NAME:START:COUNT lines) whose ranges meet [lo, hi]: the
 * first such line in *ret_line. 0 when none (or no file), 1 when one does. */
static int subid_overlap(const char *path, uint32_t lo, uint32_t hi, char *ret_line, size_t n)
{
        _cleanup_free_ char *text = NULL;
        int r;

        r = read_file_at(AT_FDCWD, path, 1024 * 1024, &text, NULL);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        for (char *line = text, *next; line && *line; line = next) {
                unsigned long long start, count;
                char *colon;

                next = strchr(line, '\n');
                if (next)
                        *next++ = 0;
                colon = strchr(line, ':');
                if (!colon || sscanf(colon + 1, "%llu:%llu", &start, &count) != 2 || count == 0)
                        continue;
                if (start <= hi && lo <= start + count - 1) {
                        (void)snprintf(ret_line, n, "%s", line);
                        return 1;
                }
        }
        return 0;
}

/* agent_uids: clear of every subordinate id range, then the pool of claims in the state dir. */
static int setup_uid_pool(Manager *m)
{
        const Config *c = &m->config;
        static const char *const files[] = {"/etc/subuid", "/etc/subgid"};
        char line[256];
        int r;

        if (c->agent_uid_min == 0)
                return 0;
        for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                r = subid_overlap(files[i], c->agent_uid_min, c->agent_uid_max, line, sizeof line);
                if (r < 0)
                        return log_error_errno(r, "Cannot read %s: %m", files[i]);
                if (r > 0) {
                        log_error("The configuration's agent_uids %u-%u overlaps the subordinate ids of %s "
                                  "(\"%s\"): agents would share ids with another user's containers. Choose "
                                  "another range, or agent_uids = none.",
                                  (unsigned)c->agent_uid_min, (unsigned)c->agent_uid_max, files[i], line);
                        return -EINVAL;
                }
        }
        r = uid_pool_new(m->state_fd, c->agent_uid_min, c->agent_uid_max, m->record_sync, &m->uid_pool);
        if (r < 0)
                return log_error_errno(r, "Cannot open %s/%s: %m", c->state_dir, UID_POOL_DIR);
        log_info("A root caller's agents run as uids of their own, from %u to %u.",
                 (unsigned)c->agent_uid_min, (unsigned)c->agent_uid_max);
        return 0;
}

int sandbox_setup_check(Manager *m)
{
        _cleanup_(seccomp_bpf_unrefp) SeccompBpf *bpf = NULL;
        Failure fail = {};
        ProtoLimits l = default_limits(&m->config);
        const char *missing;
        int r;

        r = seccomp_cache_new(SECCOMP_CACHE_ENTRIES_DEFAULT, &m->seccomp_cache);
        if (r < 0)
                return log_oom();
        r = sandbox_policy(m, DEFAULT_POLICY, &bpf, &fail);
        if (r < 0)
                return log_error_errno(r, "Cannot load the default seccomp policy from %s: %s",
                                       m->config.policy_dir ?: DESCARTES_POLICY_DIR, fail.msg);
        /* A default limit the host cannot enforce must not vanish silently: refuse to start. */
        missing = agent_cgroup_missing_controller(m->cgroup, &l);
        if (missing) {
                log_error("The configuration sets default limits (default_cpu/default_memory/default_pids) "
                          "that need the %s controller, which %s does not offer: remove them or run on a "
                          "host whose cgroup v2 has it.",
                          missing, m->cgroup->path);
                return -EOPNOTSUPP;
        }
        return setup_uid_pool(m);
}

/* error may be 0: the refusal is ours, no system call reported it */
#define REFUSE(error, code, ...) return failure_set(ret_failure, (error), (code), __VA_ARGS__)

static int check_workspace(const char *path, uid_t caller_uid, Failure *ret_failure)
{
        _cleanup_close_ int fd = -EBADF;
        struct stat st;

        if (!path_is_normalized_absolute(path) || streq(path, "/"))
                REFUSE(0, PROTO_ERROR_BAD_REQUEST,
                       "workspace must be a normalized absolute path other than /");
        /* a first, friendly check; the shim checks again on the directory it binds, without symlinks */
        fd = open(path, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                REFUSE(-errno, PROTO_ERROR_BAD_REQUEST, "workspace %s: %s", path, strerror(errno));
        if (fstat(fd, &st) < 0)
                REFUSE(-errno, PROTO_ERROR_BAD_REQUEST, "workspace %s: %s", path, strerror(errno));
        if (caller_uid != 0 && st.st_uid != caller_uid)
                REFUSE(0, PROTO_ERROR_PERMISSION_DENIED, "workspace %s does not belong to uid %u", path,
                       (unsigned)caller_uid);
        return 0;
}

/* Whether the workspace's file system lets us idmap it, before any agent is started: a detached clone,
 * idmapped and dropped. */
static int check_idmap(const char *path, uid_t uid, Failure *ret_failure)
{
        _cleanup_close_ int fd = -EBADF, tree = -EBADF, userns = -EBADF;
        struct stat st;
        int r;

        fd = open(path, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0 || fstat(fd, &st) < 0)
                REFUSE(-errno, PROTO_ERROR_BAD_REQUEST, "workspace %s: %s", path, strerror(errno));
        tree = mount_clone_tree(fd, NULL, true);
        if (tree < 0)
                REFUSE(tree, PROTO_ERROR_UNENFORCEABLE, "workspace %s: cannot clone its mount: %s", path,
                       strerror(-tree));
        r = userns_new_idmap(st.st_uid, uid, st.st_gid, uid, &userns);
        if (r < 0)
                REFUSE(r, PROTO_ERROR_UNENFORCEABLE,
                       "workspace %s: cannot make the user namespace of an idmapped mount: %s", path,
                       strerror(-r));
        r = userns_idmap_tree(tree, userns);
        if (r < 0)
                REFUSE(r, PROTO_ERROR_UNENFORCEABLE,
                       "workspace %s: its file system cannot be idmapped (%s). A root caller's agents run "
                       "as "
                       "uids of their own (agent_uids) and write a workspace they do not own only through "
                       "an "
                       "idmapped mount: use a file system that supports them (ext4, xfs, btrfs, tmpfs since "
                       "Linux 6.3), name a `user` to run as, or set agent_uids = none.",
                       path, strerror(-r));
        return 0;
}

/* Who a root caller's agent with a named `user`, or any other caller's agent, runs as: from the user
 * database, into sb's uid, gid and user. */
static int resolve_user(Manager *m, uid_t caller_uid, const ProtoSpawnArgs *args, AgentSandbox *sb,
                        Failure *ret_failure)
{
        _cleanup_(identity_done) Identity id = {};
        const char *user = args->user;
        int r;

        if (!user && caller_uid == 0)
                user = m->config.agent_user;
        r = identity_resolve(caller_uid, user, m->config.allow_root, NULL, &id);
        if (r == -EPERM) {
                if (caller_uid != 0)
                        REFUSE(r, PROTO_ERROR_PERMISSION_DENIED, "uid %u may only run agents as itself",
                               (unsigned)caller_uid);
                REFUSE(r, PROTO_ERROR_PERMISSION_DENIED, "agents may not run as root (allow_root is off)");
        }
        if (r == -ESRCH) {
                if (!args->user)
                        REFUSE(r, PROTO_ERROR_UNENFORCEABLE,
                               "the agent user %s does not exist on this host (scripts/setup creates it)",
                               user ?: IDENTITY_DEFAULT_USER);
                REFUSE(r, PROTO_ERROR_BAD_REQUEST, "no such user: %s", args->user);
        }
        if (r == -EINVAL || r == -ERANGE)
                REFUSE(r, PROTO_ERROR_BAD_REQUEST, "invalid user \"%s\"", user ?: "");
        if (r < 0)
                REFUSE(r, PROTO_ERROR_INTERNAL, "cannot resolve the agent's user: %s", strerror(-r));
        sb->uid = id.uid;
        sb->gid = id.gid;
        sb->user = TAKE_PTR(id.name);
        return 0;
}

int sandbox_resolve(Manager *m, uid_t caller_uid, const ProtoSpawnArgs *args, AgentSandbox *ret,
                    Failure *ret_failure)
{
        _cleanup_(agent_sandbox_done) AgentSandbox sb = {.workspace_owner = (uid_t)-1};
        Failure policy_fail = {};
        int r;

        if (!args->user && caller_uid == 0 && m->uid_pool) {
                /* a uid of its own, claimed at spawn: no passwd entry, gid = uid */
                sb.dynamic_uid = true;
                sb.uid = (uid_t)-1;
                sb.gid = (gid_t)-1;
        } else {
                r = resolve_user(m, caller_uid, args, &sb, ret_failure);
                if (r < 0)
                        return r;
        }

        if (args->workspace) {
                r = check_workspace(args->workspace, caller_uid, ret_failure);
                if (r < 0)
                        return r;
                if (sb.dynamic_uid) {
                        r = check_idmap(args->workspace, m->config.agent_uid_min, ret_failure);
                        if (r < 0)
                                return r;
                        sb.workspace_idmap = true;
                }
                sb.workspace = strdup(args->workspace);
                if (!sb.workspace)
                        REFUSE(-ENOMEM, PROTO_ERROR_INTERNAL, "out of memory");
                sb.workspace_owner = caller_uid == 0 ? (uid_t)-1 : caller_uid;
        }

        /* a path is read by root: only root may name one */
        if (args->policy && caller_uid != 0 && strchr(args->policy, '/'))
                REFUSE(0, PROTO_ERROR_PERMISSION_DENIED, "only root may name a policy by path");
        r = sandbox_policy(m, args->policy ?: DEFAULT_POLICY, &sb.seccomp, &policy_fail);
        if (r == -ENOMEM)
                REFUSE(-ENOMEM, PROTO_ERROR_INTERNAL, "out of memory");
        if (r < 0)
                REFUSE(r, policy_fail.code, "policy %s: %s", args->policy ?: DEFAULT_POLICY,
                       policy_fail.msg);

        *ret = sb;
        sb = (AgentSandbox){};
        return 0;
}
