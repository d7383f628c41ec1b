/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "fd-util.h"
#include "log.h"
#include "output-log.h"
#include "shim-exec-tty.h"
#include "shim-exec.h"
#include "shim-tty.h"
#include "time-util.h"

/* Once the command has exited: what a grandchild may keep writing is not waited for. */
#define EXEC_TTY_DRAIN_MAX (1024 * 1024)
#define EXEC_TTY_READ_MAX  (64 * 1024)

_Static_assert(SHIM_EXEC_TTY_LOG_CAP >= OUTPUT_LOG_CAP_MIN, "a log the writer takes");

struct ShimExecTty {
        uint64_t cookie;
        pid_t pid;
        int master; /* -EBADF once closed */
        OutputLogWriter *log;
        size_t n_in;
        uint8_t in[SHIM_EXEC_TTY_INPUT_MAX]; /* typed, not written yet */
        bool exited;
        int status;
};

static ShimExecTty *exec_tty_free(ShimExecTty *x)
{
        if (!x)
                return NULL;
        safe_close(x->master);
        output_log_writer_free(x->log);
        free(x);
        return NULL;
}

static int send_done(ShimExecTtyTable *t, uint64_t cookie, int status, ShimStage stage, int error)
{
        ShimMsgExecDone m = {
                .h = {.type = SHIM_MSG_EXEC_DONE, .size = sizeof m},
                .cookie = cookie,
                .status = status,
                .error = error,
                .stage = error ? stage : 0,
        };

        return t->send(t->userdata, &m, sizeof m, true);
}

static ShimExecTty *find(ShimExecTtyTable *t, uint64_t cookie)
{
        for (unsigned s = 0; s < SHIM_EXEC_TTY_MAX; s++)
                if (t->slot[s] && t->slot[s]->cookie == cookie)
                        return t->slot[s];
        return NULL;
}

/* STATE_DIR/exec/COOKIE, new and empty: the command's output log. */
static int open_log_dir(uint64_t cookie, int *ret)
{
        _cleanup_close_ int parent = -EBADF;
        char name[24];
        int fd;

        if (mkdirat(SHIM_FD_STATE_DIR, SHIM_EXEC_TTY_DIR, 0755) < 0 && errno != EEXIST)
                return -errno;
        parent = openat(SHIM_FD_STATE_DIR, SHIM_EXEC_TTY_DIR, O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (parent < 0)
                return -errno;
        (void)snprintf(name, sizeof name, "%" PRIu64, cookie);
        if (mkdirat(parent, name, 0755) < 0)
                return -errno; /* EEXIST: a cookie is never used twice */
        fd = openat(parent, name, O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return -errno;
        *ret = fd;
        return 0;
}

static void send_output(ShimExecTtyTable *t, ShimExecTty *x, uint64_t first_seq)
{
        ShimMsgExecTtyOutput m = {
                .h = {.type = SHIM_MSG_EXEC_TTY_OUTPUT, .size = sizeof m},
                .cookie = x->cookie,
                .first_seq = first_seq,
                .last_seq = output_log_writer_next_seq(x->log) - 1,
        };

        if (t->daemon_ready && m.last_seq >= first_seq)
                (void)t->send(t->userdata, &m, sizeof m, false);
}

/* Reads up to max bytes of the terminal into its log. */
static void read_master(ShimExecTtyTable *t, ShimExecTty *x, size_t max)
{
        static uint8_t buf[EXEC_TTY_READ_MAX];
        uint64_t first_seq = output_log_writer_next_seq(x->log);
        size_t done = 0;

        while (x->master >= 0 && done < max) {
                ssize_t k = read(x->master, buf, MIN(sizeof buf, max - done));
                int r;

                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0 && errno == EAGAIN)
                        break;
                if (k <= 0) {
                        /* EIO: no slave is open any more */
                        x->master = safe_close(x->master);
                        break;
                }
                done += (size_t)k;
                r = output_log_append(x->log, OUTPUT_STREAM_STDOUT, buf, (size_t)k, now_ns(CLOCK_REALTIME));
                if (r < 0)
                        log_debug_errno(r, "Dropping output of EXEC_TTY %" PRIu64 ": %m", x->cookie);
        }
        send_output(t, x, first_seq);
}

static void write_master(ShimExecTty *x)
{
        while (x->n_in > 0 && x->master >= 0) {
                ssize_t k = write(x->master, x->in, x->n_in);

                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return; /* EAGAIN: on POLLOUT; EIO: its end comes from the reaping */
                memmove(x->in, x->in + k, x->n_in - (size_t)k);
                x->n_in -= (size_t)k;
        }
}

int shim_exec_tty_start(ShimExecTtyTable *t, const ShimAgentConfig *agent, int agent_pidfd, const ShimMsg *m)
{
        _cleanup_close_ int master = -EBADF, slave = -EBADF, dir = -EBADF;
        _cleanup_(output_log_writer_freep) OutputLogWriter *log = NULL;
        _cleanup_free_ char *block = NULL;
        _cleanup_free_ char **argv = NULL;
        uint64_t cookie = m->exec_tty.cookie;
        ShimExecFailure f = {.status = -1};
        const ShimOptions *o = agent->options;
        PidRef pr = PIDREF_NULL;
        ShimExecTty *x;
        int slot = -1, r;

        if (cookie == 0 || find(t, cookie) || m->data_size > SHIM_EXEC_ARGV_MAX ||
            m->exec_tty.rows > SHIM_TTY_SIZE_MAX || m->exec_tty.cols > SHIM_TTY_SIZE_MAX)
                return send_done(t, cookie, -1, SHIM_STAGE_SHIM, EINVAL), -EINVAL;
        for (unsigned s = 0; s < SHIM_EXEC_TTY_MAX && slot < 0; s++)
                if (!t->slot[s])
                        slot = (int)s;
        if (slot < 0)
                return send_done(t, cookie, -1, SHIM_STAGE_SHIM, EBUSY), -EBUSY;
        block = malloc(m->data_size + 1);
        if (!block)
                return send_done(t, cookie, -1, SHIM_STAGE_SHIM, ENOMEM), -ENOMEM;
        memcpy(block, m->data, m->data_size);
        r = shim_exec_parse_argv(block, m->data_size, &argv);
        if (r < 0)
                return send_done(t, cookie, -1, SHIM_STAGE_SHIM, -r), r;

        r = open_log_dir(cookie, &dir);
        if (r >= 0)
                r = output_log_writer_open(dir, SHIM_EXEC_TTY_LOG_CAP, &log);
        if (r < 0)
                return send_done(t, cookie, -1, SHIM_STAGE_SHIM, -r), r;
        /* a terminal of the agent's devpts (the view we are in), its slave the agent's uid's */
        r = shim_tty_open(o->sandbox ? o->uid : (uid_t)-1, o->sandbox ? o->gid : (gid_t)-1, &master, &slave);
        if (r >= 0 && m->exec_tty.rows > 0 && m->exec_tty.cols > 0)
                r = shim_tty_resize(master, m->exec_tty.rows, m->exec_tty.cols);
        if (r < 0)
                return send_done(t, cookie, -1, SHIM_STAGE_STDIO, -r), r;

        ShimAgentConfig c = *agent;
        c.stdio[0] = c.stdio[1] = c.stdio[2] = slave;
        r = shim_exec_spawn(&c, true, agent_pidfd, argv, &pr, &f);
        if (r < 0)
                return send_done(t, cookie, f.status, f.stage, f.error), r;
        (void)safe_close(pr.fd); /* reaped by pid, as the agent */

        x = calloc(1, sizeof *x);
        if (!x) {
                /* it runs: it must not run unseen */
                (void)kill(-pr.pid, SIGKILL);
                (void)kill(pr.pid, SIGKILL);
                return send_done(t, cookie, -1, SHIM_STAGE_SHIM, ENOMEM), -ENOMEM;
        }
        x->cookie = cookie;
        x->pid = pr.pid;
        x->master = TAKE_FD(master);
        x->log = TAKE_PTR(log);
        x->status = -1;
        t->slot[slot] = x;
        log_debug("Command of EXEC_TTY %" PRIu64 " started as pid %d.", cookie, (int)x->pid);
        return 0;
}

void shim_exec_tty_input(ShimExecTtyTable *t, const ShimMsg *m)
{
        ShimExecTty *x = find(t, m->exec_tty_input.cookie);
        size_t n;

        if (!x || x->exited || x->master < 0 || m->data_size == 0)
                return;
        /* what does not fit is dropped, as a terminal drops what its reader does not take */
        n = MIN(m->data_size, (size_t)SHIM_EXEC_TTY_INPUT_MAX - x->n_in);
        memcpy(x->in + x->n_in, m->data, n);
        x->n_in += n;
        write_master(x);
}

void shim_exec_tty_resize(ShimExecTtyTable *t, const ShimMsg *m)
{
        ShimExecTty *x = find(t, m->exec_tty_resize.cookie);

        if (x && x->master >= 0 &&
            shim_tty_resize(x->master, m->exec_tty_resize.rows, m->exec_tty_resize.cols) < 0)
                log_debug("Ignoring the window size %" PRIu32 "x%" PRIu32 " for EXEC_TTY %" PRIu64 ".",
                          m->exec_tty_resize.rows, m->exec_tty_resize.cols, x->cookie);
}

size_t shim_exec_tty_poll_fill(ShimExecTtyTable *t, struct pollfd *p)
{
        size_t n = 0;

        for (unsigned s = 0; s < SHIM_EXEC_TTY_MAX; s++) {
                ShimExecTty *x = t->slot[s];

                if (x && x->master >= 0)
                        p[n++] = (struct pollfd){.fd = x->master,
                                                 .events = POLLIN | (x->n_in > 0 ? POLLOUT : 0)};
        }
        return n;
}

void shim_exec_tty_poll_handle(ShimExecTtyTable *t, const struct pollfd *p, size_t n)
{
        for (size_t k = 0; k < n; k++) {
                if (!p[k].revents)
                        continue;
                for (unsigned s = 0; s < SHIM_EXEC_TTY_MAX; s++) {
                        ShimExecTty *x = t->slot[s];

                        if (!x || x->master != p[k].fd)
                                continue;
                        if (p[k].revents & POLLOUT)
                                write_master(x);
                        if (p[k].revents & (POLLIN | POLLHUP | POLLERR))
                                read_master(t, x, EXEC_TTY_READ_MAX);
                }
        }
}

bool shim_exec_tty_reaped(ShimExecTtyTable *t, pid_t pid, int status)
{
        for (unsigned s = 0; s < SHIM_EXEC_TTY_MAX; s++)
                if (t->slot[s] && t->slot[s]->pid == pid && !t->slot[s]->exited) {
                        t->slot[s]->exited = true;
                        t->slot[s]->status = status;
                        return true;
                }
        return false;
}

void shim_exec_tty_flush_done(ShimExecTtyTable *t)
{
        for (unsigned s = 0; s < SHIM_EXEC_TTY_MAX; s++) {
                ShimExecTty *x = t->slot[s];

                if (!x || !x->exited || !x->log)
                        continue;
                /* what it wrote before it exited is in the terminal now, and no more is waited for */
                read_master(t, x, EXEC_TTY_DRAIN_MAX);
                x->master = safe_close(x->master);
                x->log = output_log_writer_free(x->log);
                log_debug("Command of EXEC_TTY %" PRIu64 " ended.", x->cookie);
                if (t->daemon_ready && send_done(t, x->cookie, x->status, SHIM_STAGE_SHIM, 0) >= 0)
                        t->slot[s] = exec_tty_free(x);
                /* else kept, ended, for the next connection's list */
        }
}

void shim_exec_tty_reconnected(ShimExecTtyTable *t)
{
        t->daemon_ready = false;
}

void shim_exec_tty_welcome(ShimExecTtyTable *t, uint32_t version)
{
        uint8_t buf[sizeof(ShimMsgExecTtyList) + SHIM_EXEC_TTY_MAX * sizeof(ShimExecTtyEntry)];
        ShimMsgExecTtyList m = {
                .h = {.type = SHIM_MSG_EXEC_TTY_LIST},
                .entry_size = sizeof(ShimExecTtyEntry),
        };

        t->daemon_ready = version >= 5;
        if (!t->daemon_ready)
                return;
        for (unsigned s = 0; s < SHIM_EXEC_TTY_MAX; s++) {
                ShimExecTty *x = t->slot[s];
                ShimExecTtyEntry e;

                if (!x)
                        continue;
                e = (ShimExecTtyEntry){
                        .cookie = x->cookie,
                        .ended = x->exited && !x->log,
                        .status = x->exited && !x->log ? x->status : 0,
                        .next_seq = x->log ? output_log_writer_next_seq(x->log) : 0,
                };
                memcpy(buf + sizeof m + m.n * sizeof e, &e, sizeof e);
                m.n++;
        }
        m.h.size = (uint32_t)(sizeof m + m.n * sizeof(ShimExecTtyEntry));
        memcpy(buf, &m, sizeof m);
        if (t->send(t->userdata, buf, m.h.size, true) < 0)
                return;
        /* the ended ones are told now */
        for (unsigned s = 0; s < SHIM_EXEC_TTY_MAX; s++)
                if (t->slot[s] && t->slot[s]->exited && !t->slot[s]->log)
                        t->slot[s] = exec_tty_free(t->slot[s]);
}

void shim_exec_tty_free_all(ShimExecTtyTable *t)
{
        for (unsigned s = 0; s < SHIM_EXEC_TTY_MAX; s++)
                t->slot[s] = exec_tty_free(t->slot[s]);
}
