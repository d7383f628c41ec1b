/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "child-exec.h"
#include "cleanup.h"
#include "fd-util.h"
#include "log.h"
#include "shim-exec.h"
#include "time-util.h"

/* Per stream, once the command has exited: what a grandchild may keep writing is not waited for. */
#define EXEC_DRAIN_MAX (1024 * 1024)

struct ShimExec {
        uint64_t cookie;
        pid_t pid;
        int out_fd[2]; /* read ends of its stdout and stderr, -EBADF at EOF */
        uint8_t kept[2][SHIM_EXEC_OUTPUT_MAX];
        size_t n_kept[2];
        uint64_t total[2];
        uint64_t deadline_ns; /* CLOCK_MONOTONIC */
        bool timed_out;
        bool exited;
        int status;
};

typedef struct ExecChild {
        const ShimAgentConfig *config;
        int agent_pidfd;
} ExecChild;

static ShimExec *exec_free(ShimExec *x)
{
        if (!x)
                return NULL;
        for (unsigned i = 0; i < 2; i++)
                safe_close(x->out_fd[i]);
        free(x);
        return NULL;
}

static int send_refusal(uint64_t cookie, ShimStage stage, int error, int status, ShimExecSend send,
                        void *userdata)
{
        ShimMsgExecDone m = {
                .h = {.type = SHIM_MSG_EXEC_DONE, .size = sizeof m},
                .cookie = cookie,
                .status = status,
                .error = error > 0 ? error : EIO,
                .stage = stage,
        };

        send(userdata, &m, sizeof m);
        return -m.error;
}

/* In the child, as the agent's own prepare: first the agent's cgroup namespace (the shim has none of its
 * own: see shim-agent.c), then everything shim_prepare_agent() does for the agent. */
static int exec_prepare(void *userdata, int *ret_stage)
{
        const ExecChild *x = userdata;
        ShimStage stage = SHIM_STAGE_SHIM;
        int r;

        if (setns(x->agent_pidfd, CLONE_NEWCGROUP) < 0) {
                *ret_stage = SHIM_STAGE_CLONE;
                return -errno;
        }
        r = shim_prepare_agent(x->config, &stage);
        *ret_stage = (int)stage;
        return r;
}

int shim_exec_parse_argv(char *block, size_t n, char ***ret)
{
        size_t argc = 0;
        char **v;

        if (n == 0 || block[n - 1] != 0 || block[0] == 0)
                return -EINVAL;
        for (size_t i = 0; i < n; i++)
                if (block[i] == 0)
                        argc++;
        if (argc > SHIM_EXEC_ARGC_MAX)
                return -E2BIG;
        v = calloc(argc + 1, sizeof *v);
        if (!v)
                return -ENOMEM;
        for (size_t i = 0, k = 0; i < n; i += strlen(block + i) + 1)
                v[k++] = block + i;
        *ret = v;
        return 0;
}

int shim_exec_spawn(const ShimAgentConfig *config, bool tty, int agent_pidfd, char **argv, PidRef *ret,
                    ShimExecFailure *ret_failure)
{
        ShimOptions o = *config->options;
        ShimAgentConfig c = *config;
        ChildExecFailure f = {};
        int r;

        /* a controlling terminal only for a terminal of its own, whatever the agent has */
        o.tty = tty;
        c.options = &o;
        ExecChild child = {.config = &c, .agent_pidfd = agent_pidfd};
        /* Into payload/ like the agent; no cgroup namespace of its own: it joins the agent's in prepare. */
        ChildExec ce = {
                .cgroup_fd = SHIM_FD_PAYLOAD_CG,
                .path = NULL, /* argv[0] in the agent's PATH */
                .argv = argv,
                .envp = c.env,
                .fds = c.stdio,
                .n_fds = 3,
                .prepare = exec_prepare,
                .userdata = &child,
        };
        r = child_exec_spawn(&ce, ret, &f);
        if (r < 0) {
                ret_failure->stage =
                        f.step == CHILD_EXEC_PREPARE && f.stage >= 0 && f.stage < _SHIM_STAGE_MAX
                                ? (ShimStage)f.stage
                        : f.step == CHILD_EXEC_EXEC  ? SHIM_STAGE_EXEC
                        : f.step == CHILD_EXEC_CLONE ? SHIM_STAGE_CLONE
                                                     : SHIM_STAGE_SHIM;
                ret_failure->error = f.error;
                ret_failure->status = f.status;
        }
        return r;
}

static int free_slot(ShimExecTable *t)
{
        for (int i = 0; i < SHIM_EXEC_MAX; i++)
                if (!t->slot[i])
                        return i;
        return -EBUSY;
}

int shim_exec_start(ShimExecTable *t, const ShimAgentConfig *agent, int agent_pidfd, const ShimMsg *m,
                    ShimExecSend send, void *userdata)
{
        _cleanup_close_pair_ int out[2] = {-EBADF, -EBADF}, err[2] = {-EBADF, -EBADF},
                                 in[2] = {-EBADF, -EBADF};
        _cleanup_free_ char *block = NULL;
        _cleanup_free_ char **argv = NULL;
        ShimExecFailure f = {};
        PidRef pr = PIDREF_NULL;
        ShimExec *x;
        int slot, r;

        if (m->data_size > SHIM_EXEC_ARGV_MAX || m->data2_size > SHIM_EXEC_STDIN_MAX ||
            m->exec.timeout_ms == 0 || m->exec.timeout_ms > SHIM_EXEC_TIMEOUT_MAX)
                return send_refusal(m->exec.cookie, SHIM_STAGE_SHIM, EINVAL, -1, send, userdata);
        slot = free_slot(t);
        if (slot < 0)
                return send_refusal(m->exec.cookie, SHIM_STAGE_SHIM, EBUSY, -1, send, userdata);
        block = malloc(m->data_size + 1);
        if (!block)
                return send_refusal(m->exec.cookie, SHIM_STAGE_SHIM, ENOMEM, -1, send, userdata);
        memcpy(block, m->data, m->data_size);
        r = shim_exec_parse_argv(block, m->data_size, &argv);
        if (r < 0)
                return send_refusal(m->exec.cookie, SHIM_STAGE_SHIM, -r, -1, send, userdata);

        /* nonblocking on our ends only: the command's ends block as the agent's do */
        if (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0 || fd_set_nonblock(out[0], 1) < 0 ||
            fd_set_nonblock(err[0], 1) < 0)
                return send_refusal(m->exec.cookie, SHIM_STAGE_STDIO, errno, -1, send, userdata);
        if (m->data2_size > 0) {
                /* the data fits the pipe's buffer (64 KiB): written whole now, then closed */
                if (pipe2(in, O_CLOEXEC) < 0 || fd_set_nonblock(in[1], 1) < 0)
                        return send_refusal(m->exec.cookie, SHIM_STAGE_STDIO, errno, -1, send, userdata);
                if (write(in[1], m->data2, m->data2_size) != (ssize_t)m->data2_size)
                        return send_refusal(m->exec.cookie, SHIM_STAGE_STDIO, errno ?: EAGAIN, -1, send,
                                            userdata);
                in[1] = safe_close(in[1]);
        } else {
                in[0] = open("/dev/null", O_RDONLY | O_CLOEXEC | O_NOCTTY);
                if (in[0] < 0)
                        return send_refusal(m->exec.cookie, SHIM_STAGE_STDIO, errno, -1, send, userdata);
        }

        ShimAgentConfig c = *agent;
        c.stdio[0] = in[0];
        c.stdio[1] = out[1];
        c.stdio[2] = err[1];
        r = shim_exec_spawn(&c, false, agent_pidfd, argv, &pr, &f);
        if (r < 0)
                return send_refusal(m->exec.cookie, f.stage, f.error, f.status, send, userdata);
        (void)safe_close(pr.fd); /* reaped by pid, as the agent */

        x = calloc(1, sizeof *x);
        if (!x) {
                /* it runs: it must not run unseen */
                (void)kill(-pr.pid, SIGKILL);
                (void)kill(pr.pid, SIGKILL);
                return send_refusal(m->exec.cookie, SHIM_STAGE_SHIM, ENOMEM, -1, send, userdata);
        }
        x->cookie = m->exec.cookie;
        x->pid = pr.pid;
        x->out_fd[0] = TAKE_FD(out[0]);
        x->out_fd[1] = TAKE_FD(err[0]);
        x->deadline_ns = now_ns(CLOCK_MONOTONIC) + m->exec.timeout_ms * NSEC_PER_MSEC;
        x->status = -1;
        t->slot[slot] = x;
        log_debug("Command of EXEC %llu started as pid %d.", (unsigned long long)x->cookie, (int)x->pid);
        return 0;
}

static void read_stream(ShimExec *x, unsigned i, size_t max)
{
        uint8_t scratch[4096];
        size_t done = 0;

        while (x->out_fd[i] >= 0 && done < max) {
                size_t room = SHIM_EXEC_OUTPUT_MAX - x->n_kept[i];
                uint8_t *dst = room > 0 ? x->kept[i] + x->n_kept[i] : scratch;
                ssize_t k = read(x->out_fd[i], dst, room > 0 ? room : sizeof scratch);

                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0 && errno == EAGAIN)
                        return;
                if (k <= 0) {
                        x->out_fd[i] = safe_close(x->out_fd[i]);
                        return;
                }
                if (room > 0)
                        x->n_kept[i] += (size_t)k;
                x->total[i] += (uint64_t)k;
                done += (size_t)k;
        }
}

size_t shim_exec_poll_fill(ShimExecTable *t, struct pollfd *p)
{
        size_t n = 0;

        for (unsigned s = 0; s < SHIM_EXEC_MAX; s++)
                for (unsigned i = 0; t->slot[s] && i < 2; i++)
                        if (t->slot[s]->out_fd[i] >= 0)
                                p[n++] = (struct pollfd){.fd = t->slot[s]->out_fd[i], .events = POLLIN};
        return n;
}

void shim_exec_poll_handle(ShimExecTable *t, const struct pollfd *p, size_t n)
{
        for (size_t k = 0; k < n; k++) {
                if (!p[k].revents)
                        continue;
                for (unsigned s = 0; s < SHIM_EXEC_MAX; s++)
                        for (unsigned i = 0; t->slot[s] && i < 2; i++)
                                if (t->slot[s]->out_fd[i] == p[k].fd)
                                        read_stream(t->slot[s], i, 64 * 1024);
        }
}

int shim_exec_timeout(ShimExecTable *t)
{
        uint64_t now = now_ns(CLOCK_MONOTONIC), next = UINT64_MAX;

        for (unsigned s = 0; s < SHIM_EXEC_MAX; s++) {
                ShimExec *x = t->slot[s];

                if (!x || x->exited || x->timed_out)
                        continue;
                if (now >= x->deadline_ns) {
                        /* its process group (child-exec.h made it a session leader), and itself should it
                         * have left the group */
                        log_debug("Command of EXEC %llu timed out, killing it.",
                                  (unsigned long long)x->cookie);
                        (void)kill(-x->pid, SIGKILL);
                        (void)kill(x->pid, SIGKILL);
                        x->timed_out = true;
                        continue;
                }
                next = MIN(next, x->deadline_ns);
        }
        if (next == UINT64_MAX)
                return -1;
        return (int)MIN((next - now + NSEC_PER_MSEC - 1) / NSEC_PER_MSEC, (uint64_t)INT32_MAX);
}

bool shim_exec_reaped(ShimExecTable *t, pid_t pid, int status)
{
        for (unsigned s = 0; s < SHIM_EXEC_MAX; s++)
                if (t->slot[s] && t->slot[s]->pid == pid && !t->slot[s]->exited) {
                        t->slot[s]->exited = true;
                        t->slot[s]->status = status;
                        return true;
                }
        return false;
}

void shim_exec_flush_done(ShimExecTable *t, ShimExecSend send, void *userdata)
{
        for (unsigned s = 0; s < SHIM_EXEC_MAX; s++) {
                ShimExec *x = t->slot[s];
                _cleanup_free_ uint8_t *buf = NULL;
                ShimMsgExecDone m;

                if (!x || !x->exited)
                        continue;
                /* what it wrote before it exited is in the pipes now */
                for (unsigned i = 0; i < 2; i++)
                        read_stream(x, i, EXEC_DRAIN_MAX);
                m = (ShimMsgExecDone){
                        .h = {.type = SHIM_MSG_EXEC_DONE,
                              .size = (uint32_t)(sizeof m + x->n_kept[0] + x->n_kept[1])},
                        .cookie = x->cookie,
                        .status = x->status,
                        .timed_out = x->timed_out,
                        .stdout_bytes = x->total[0],
                        .stderr_bytes = x->total[1],
                        .stdout_size = (uint32_t)x->n_kept[0],
                        .stderr_size = (uint32_t)x->n_kept[1],
                };
                buf = malloc(m.h.size);
                if (buf) {
                        memcpy(buf, &m, sizeof m);
                        memcpy(buf + sizeof m, x->kept[0], x->n_kept[0]);
                        memcpy(buf + sizeof m + x->n_kept[0], x->kept[1], x->n_kept[1]);
                        send(userdata, buf, m.h.size);
                } else
                        (void)send_refusal(x->cookie, SHIM_STAGE_SHIM, ENOMEM, x->status, send, userdata);
                t->slot[s] = exec_free(x);
        }
}
