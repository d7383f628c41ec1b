/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* descartes-shim: PID 1 of one agent's pid namespace. It forks the agent into payload/, logs its output,
 * serves the daemon's control connection (and reconnections), forwards signals, reaps, and reports the
 * agent's end. Single-threaded, libc only. */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "env-blob.h"
#include "fd-util.h"
#include "log.h"
#include "mount-view.h"
#include "output-log.h"
#include "shim-action.h"
#include "shim-agent.h"
#include "shim-contract.h"
#include "shim-exec-tty.h"
#include "shim-exec.h"
#include "shim-tty.h"
#include "string-util.h"
#include "time-util.h"

#define NOTICE_INTERVAL_NS (100 * NSEC_PER_MSEC)
#define SEND_TIMEOUT_MS    5000
/* Per stream, when the agent has exited: what a grandchild may keep writing is not waited for. */
#define DRAIN_MAX          (1024 * 1024)
#define CONTROL_BATCH      64
#define SHORT_HOSTNAME_LEN 12

static ShimOptions arg_options = SHIM_OPTIONS_INIT; /* from SHIM_FD_OPTIONS */
static const char *arg_id;                          /* arg_options.id, once read */
static const char *arg_cwd = "/";
static const char *arg_hostname;
static char **agent_env; /* from SHIM_FD_ENV */
static char arg_default_hostname[SHORT_HOSTNAME_LEN + 1];

_Static_assert(SHIM_OUTPUT_CAP_MIN == OUTPUT_LOG_CAP_MIN,
               "the contract bounds the output cap as the log does");
_Static_assert(SHIM_MASK_PATHS_MAX <= MOUNT_VIEW_MASKS_MAX,
               "the contract bounds the masks as the view does");

/* The one big buffer: pipe reads and control messages, each consumed before the next use. */
static uint8_t buffer[SHIM_MSG_MAX];

typedef struct StdinChunk {
        struct StdinChunk *next;
        size_t len, off;
        uint8_t data[];
} StdinChunk;

typedef struct Shim {
        int signal_fd;
        int listen_fd;
        int conn_fd;
        uint32_t
                daemon_version; /* agreed in WELCOME on conn_fd; a daemon that sends none speaks version 1 */
        int out_fd[2];          /* read ends of the agent's stdout and stderr */
        int stdin_fd;           /* write end of the agent's stdin, -EBADF when closed or absent */
        StdinChunk *stdin_head, *stdin_tail;
        size_t stdin_queued;
        bool stdin_close_pending;
        bool stdin_cut; /* the last chunk was not wholly accepted: its request's next chunks are refused */

        OutputLogWriter *log;
        uint64_t notified_seq; /* first seq not announced yet */
        uint64_t stream_bytes[2];
        uint64_t lost_bytes;    /* read but not logged (log write errors) */
        uint64_t notified_lost; /* lost_bytes as last told to the daemon */
        uint64_t last_notice_ns;
        bool log_error_reported;

        ShimState state;
        pid_t agent_pid;
        uint64_t started_ns;
        ShimStartTrace trace; /* sent in STARTED */
        bool agent_exited;
        int agent_status;
        uint64_t ended_ns;

        SeccompBpf *filter; /* the agent's, mapped from SHIM_FD_SECCOMP */

        /* The commands of EXEC: started as the agent was (its start configuration, its cgroup namespace
         * through its pidfd). */
        ShimAgentConfig agent_config;
        int agent_pidfd;
        ShimExecTable execs;
        ShimExecTtyTable exec_ttys; /* commands of EXEC_TTY, each on a terminal of its own */

        /* with a terminal (ShimOptions.tty): out_fd[0] is its master, stdin_fd a dup of it */
        int tty_master;
        bool tty_stream;    /* the daemon on conn_fd asked for TTY_OUTPUT */
        ShimAction *action; /* the agent's action channel */
} Shim;

/* Everything we act upon comes from the options memfd, checked by its decoder; the command line is for `ps`
 * only. */
static int read_options(void)
{
        int r = shim_options_read_fd(SHIM_FD_OPTIONS, &arg_options);

        (void)close(SHIM_FD_OPTIONS);
        if (r < 0)
                return log_error_errno(r, "Invalid options on fd %d: %m", SHIM_FD_OPTIONS);
        arg_id = arg_options.id;
        log_debug("Options of agent %s from a daemon of shim protocol version %" PRIu32 ".", arg_id,
                  arg_options.version);
        if (arg_options.cwd)
                arg_cwd = arg_options.cwd;
        else if (arg_options.sandbox)
                arg_cwd = arg_options.workspace;
        arg_hostname = arg_options.hostname;
        if (!arg_hostname) {
                size_t i = 0;
                for (; i < SHORT_HOSTNAME_LEN && arg_id[i]; i++)
                        arg_default_hostname[i] = arg_id[i] == '_' ? '-' : arg_id[i];
                arg_default_hostname[i] = 0;
                if (!shim_hostname_is_valid(arg_default_hostname))
                        (void)strcpy(arg_default_hostname, "agent");
                arg_hostname = arg_default_hostname;
        }
        return 0;
}

/* The daemon execs us with a fixed environment; a loader or libc variable here means someone else's choice
 * reached a root process (or the daemon is broken). Either way, run nothing. */
static int check_own_environment(void)
{
        for (char **e = environ; e && *e; e++)
                if (startswith(*e, "LD_") || startswith(*e, "GLIBC_TUNABLES=")) {
                        const char *eq = strchr(*e, '=');
                        return log_error_errno(-EPERM, "Refusing to run with %.*s in the environment.",
                                               eq ? (int)MIN(eq - *e, 64) : 64, *e);
                }
        return 0;
}

/* The agent's environment, data on SHIM_FD_ENV: only its execve uses it (shim-agent.c). */
static int read_agent_environment(void)
{
        int r = env_blob_read_fd(SHIM_FD_ENV, &agent_env);

        (void)close(SHIM_FD_ENV);
        if (r < 0)
                return log_error_errno(r, "Invalid agent environment on fd %d: %m", SHIM_FD_ENV);
        return 0;
}

static void shim_drop_connection(Shim *s)
{
        if (s->conn_fd >= 0)
                log_debug("Control connection closed.");
        s->conn_fd = safe_close(s->conn_fd);
}

/* Critical messages wait (bounded) for room; an unresponsive daemon loses its connection and learns the
 * state from HELLO when it reconnects. */
static int shim_send(Shim *s, const void *msg, size_t n, bool critical)
{
#if SHIM_MSG_TEST_TAIL > 0
        uint8_t grown[256];
        ShimMsgHeader h;

        memcpy(&h, msg, sizeof h);
        if (!shim_msg_type_has_data(h.type) && n + SHIM_MSG_TEST_TAIL <= sizeof grown) {
                n = shim_msg_grow_for_test(grown, msg, n);
                msg = grown;
        }
#endif
        if (s->conn_fd < 0)
                return -ENOTCONN;
        for (;;) {
                ssize_t k = send(s->conn_fd, msg, n, MSG_DONTWAIT | MSG_NOSIGNAL);
                if (k >= 0) {
                        if ((size_t)k == n)
                                return 0;
                        shim_drop_connection(s);
                        return -EIO;
                }
                if (errno == EINTR)
                        continue;
                if (errno == EAGAIN && critical) {
                        struct pollfd p = {.fd = s->conn_fd, .events = POLLOUT};
                        int r = poll(&p, 1, SEND_TIMEOUT_MS);
                        if (r > 0)
                                continue;
                        log_warning("The daemon does not read its control connection; dropping it.");
                        shim_drop_connection(s);
                        return r < 0 ? -errno : -ETIMEDOUT;
                }
                if (errno == EAGAIN)
                        return -EAGAIN;
                int r = -errno;
                shim_drop_connection(s);
                return r;
        }
}

/* The action channel's messages: its state may wait for the next tick, answers wait (bounded) for room. */
static int shim_action_send(void *userdata, const void *msg, size_t n)
{
        ShimMsgHeader h;

        memcpy(&h, msg, sizeof h);
        return shim_send(userdata, msg, n, h.type != SHIM_MSG_ACTION_STATE);
}

static void shim_send_hello(Shim *s)
{
        ShimMsgHello m = {
                .h = {.type = SHIM_MSG_HELLO, .size = sizeof m},
                .version = SHIM_PROTOCOL_VERSION,
                .state = s->state,
                .agent_pid = s->state == SHIM_STATE_STARTING ? 0 : s->agent_pid,
                .stdin_open = s->stdin_fd >= 0 && !s->stdin_close_pending,
                .started_ns = s->started_ns,
                .next_seq = s->log ? output_log_writer_next_seq(s->log) : 1,
                .min_version = SHIM_PROTOCOL_VERSION_MIN,
        };

        if (shim_send(s, &m, sizeof m, true) >= 0 && s->log)
                s->notified_seq = m.next_seq; /* HELLO tells where the log stands */
}

static void shim_send_output(Shim *s)
{
        uint64_t next = output_log_writer_next_seq(s->log);
        ShimMsgOutput m = {
                .h = {.type = SHIM_MSG_OUTPUT, .size = sizeof m},
                .first_seq = s->notified_seq,
                .last_seq = next - 1,
                .stdout_bytes = s->stream_bytes[0],
                .stderr_bytes = s->stream_bytes[1],
                .dropped_bytes = output_log_writer_dropped_bytes(s->log) + s->lost_bytes,
        };

        /* output that could not be logged (a full disk) is news too: it is counted as dropped */
        if ((next == s->notified_seq && s->lost_bytes == s->notified_lost) || s->conn_fd < 0)
                return;
        if (shim_send(s, &m, sizeof m, false) >= 0) {
                s->notified_seq = next;
                s->notified_lost = s->lost_bytes;
                s->last_notice_ns = now_ns(CLOCK_MONOTONIC);
        }
}

/* Sends a due OUTPUT notice; returns the poll timeout until the next one is due (-1: none pending). */
static int shim_output_notice_timeout(Shim *s)
{
        uint64_t now, due;

        if (!s->log || s->conn_fd < 0 ||
            (output_log_writer_next_seq(s->log) == s->notified_seq && s->lost_bytes == s->notified_lost))
                return -1;
        now = now_ns(CLOCK_MONOTONIC);
        due = s->last_notice_ns + NOTICE_INTERVAL_NS;
        if (now >= due) {
                shim_send_output(s);
                return output_log_writer_next_seq(s->log) == s->notified_seq &&
                                       s->lost_bytes == s->notified_lost
                               ? -1
                               : (int)(NOTICE_INTERVAL_NS / NSEC_PER_MSEC);
        }
        return (int)((due - now + NSEC_PER_MSEC - 1) / NSEC_PER_MSEC);
}

/* Terminal output is told at once to a daemon that asked for it (not critical: a later notice covers it). */
static void shim_send_tty_output(Shim *s, uint64_t first_seq, uint64_t last_seq)
{
        ShimMsgTtyOutput m = {
                .h = {.type = SHIM_MSG_TTY_OUTPUT, .size = sizeof m},
                .first_seq = first_seq,
                .last_seq = last_seq,
        };

        if (s->tty_stream && s->daemon_version >= 4)
                (void)shim_send(s, &m, sizeof m, false);
}

/* Reads up to max bytes (or until the pipe is empty) from one of the agent's output pipes (or its terminal)
 * into the log. */
static void shim_read_stream(Shim *s, unsigned i, size_t max)
{
        size_t done = 0;

        while (s->out_fd[i] >= 0 && done < max) {
                uint64_t first_seq = output_log_writer_next_seq(s->log);
                ssize_t k = read(s->out_fd[i], buffer, MIN(sizeof buffer, max - done));
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        /* a terminal's master reads EIO once no slave is open: its end */
                        if (errno != EAGAIN)
                                s->out_fd[i] = safe_close(s->out_fd[i]);
                        return;
                }
                if (k == 0) {
                        s->out_fd[i] = safe_close(s->out_fd[i]);
                        return;
                }
                done += (size_t)k;
                s->stream_bytes[i] += (uint64_t)k;
                int r = output_log_append(s->log, i == 0 ? OUTPUT_STREAM_STDOUT : OUTPUT_STREAM_STDERR,
                                          buffer, (size_t)k, now_ns(CLOCK_REALTIME));
                if (r < 0) {
                        s->lost_bytes += (uint64_t)k;
                        if (!s->log_error_reported)
                                log_warning_errno(r, "Failed to write the output log, dropping output: %m");
                        s->log_error_reported = true;
                } else {
                        s->log_error_reported = false;
                        if (s->tty_master >= 0)
                                shim_send_tty_output(s, first_seq, output_log_writer_next_seq(s->log) - 1);
                }
        }
}

static void shim_stdin_free_queue(Shim *s)
{
        while (s->stdin_head) {
                StdinChunk *c = s->stdin_head;
                s->stdin_head = c->next;
                free(c);
        }
        s->stdin_tail = NULL;
        s->stdin_queued = 0;
}

static void shim_stdin_close(Shim *s)
{
        shim_stdin_free_queue(s);
        s->stdin_fd = safe_close(s->stdin_fd);
}

static void shim_stdin_flush(Shim *s)
{
        while (s->stdin_head && s->stdin_fd >= 0) {
                StdinChunk *c = s->stdin_head;
                ssize_t k = write(s->stdin_fd, c->data + c->off, c->len - c->off);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN)
                                return;
                        log_debug_errno(-errno, "Agent's stdin closed: %m");
                        shim_stdin_close(s);
                        return;
                }
                c->off += (size_t)k;
                s->stdin_queued -= (size_t)k;
                if (c->off == c->len) {
                        s->stdin_head = c->next;
                        if (!s->stdin_head)
                                s->stdin_tail = NULL;
                        free(c);
                }
        }
        if (!s->stdin_head && s->stdin_close_pending)
                shim_stdin_close(s);
}

/* The bytes accepted (a prefix of data: as many as the queue takes), or -errno. A request's later chunks are
 * refused once one of its chunks was cut, so what reaches the agent is always a prefix of what was sent. */
static int64_t shim_stdin_submit(Shim *s, const uint8_t *data, size_t n, bool close_after, bool continues)
{
        if (s->stdin_fd < 0 || s->stdin_close_pending)
                return -EPIPE;
        if (n > SHIM_STDIN_CHUNK_MAX)
                return -EMSGSIZE;
        if (continues && s->stdin_cut)
                return -EAGAIN;
        s->stdin_cut = false;
        if (s->stdin_queued + n > SHIM_STDIN_QUEUE_MAX) {
                n = SHIM_STDIN_QUEUE_MAX - s->stdin_queued;
                s->stdin_cut = true;
                close_after = false; /* the rest is still to come */
                if (n == 0)
                        return -EAGAIN;
        }
        if (n > 0) {
                StdinChunk *c = malloc(sizeof *c + n);
                if (!c)
                        return -ENOMEM;
                *c = (StdinChunk){.len = n};
                memcpy(c->data, data, n);
                if (s->stdin_tail)
                        s->stdin_tail->next = c;
                else
                        s->stdin_head = c;
                s->stdin_tail = c;
                s->stdin_queued += n;
        }
        if (close_after)
                s->stdin_close_pending = true;
        shim_stdin_flush(s);
        return (int64_t)n;
}

static void shim_handle_welcome(Shim *s, const ShimMsgWelcome *w)
{
        if (w->version < SHIM_PROTOCOL_VERSION_MIN || w->version > SHIM_PROTOCOL_VERSION) {
                log_warning("The daemon chose shim protocol version %" PRIu32 ", which this shim (%u..%u) "
                            "does not speak; ignoring it.",
                            w->version, SHIM_PROTOCOL_VERSION_MIN, SHIM_PROTOCOL_VERSION);
                return;
        }
        s->daemon_version = w->version;
        log_debug("Speaking shim protocol version %" PRIu32 " with the daemon.", w->version);
        if (s->action)
                shim_action_welcome(s->action, w->version);
        shim_exec_tty_welcome(&s->exec_ttys, w->version);
}

static void shim_exec_send(void *userdata, const void *msg, size_t n)
{
        (void)shim_send(userdata, msg, n, true);
}

static int shim_exec_tty_send(void *userdata, const void *msg, size_t n, bool critical)
{
        return shim_send(userdata, msg, n, critical);
}

static void shim_handle_exec_tty(Shim *s, const ShimMsg *m)
{
        if (s->state != SHIM_STATE_RUNNING || s->agent_exited || s->agent_pidfd < 0) {
                ShimMsgExecDone done = {
                        .h = {.type = SHIM_MSG_EXEC_DONE, .size = sizeof done},
                        .cookie = m->exec_tty.cookie,
                        .status = -1,
                        .error = ESRCH,
                };
                (void)shim_send(s, &done, sizeof done, true);
                return;
        }
        (void)shim_exec_tty_start(&s->exec_ttys, &s->agent_config, s->agent_pidfd, m);
}

static void shim_handle_exec(Shim *s, const ShimMsg *m)
{
        if (s->state != SHIM_STATE_RUNNING || s->agent_exited || s->agent_pidfd < 0) {
                ShimMsgExecDone done = {
                        .h = {.type = SHIM_MSG_EXEC_DONE, .size = sizeof done},
                        .cookie = m->exec.cookie,
                        .status = -1,
                        .error = ESRCH,
                };
                (void)shim_send(s, &done, sizeof done, true);
                return;
        }
        (void)shim_exec_start(&s->execs, &s->agent_config, s->agent_pidfd, m, shim_exec_send, s);
}

/* Messages may have grown at their end (shim-contract.h): the decoder takes the prefix we know. */
static void shim_handle_message(Shim *s, const uint8_t *buf, size_t n)
{
        ShimMsg m;
        int r;

        r = shim_msg_decode(buf, n, &m);
        if (r == -EOPNOTSUPP)
                return; /* unknown types are ignored */
        if (r < 0) {
                log_debug_errno(r, "Ignoring a malformed control message (%zu bytes): %m", n);
                return;
        }
        switch (m.type) {
        case SHIM_MSG_STDIN: {
                ShimMsgStdinAck ack = {
                        .h = {.type = SHIM_MSG_STDIN_ACK, .size = sizeof ack},
                        .cookie = m.stdin.cookie,
                        .result = shim_stdin_submit(s, m.data, m.data_size, m.stdin.close != 0,
                                                    m.stdin.continues == 1),
                };
                (void)shim_send(s, &ack, sizeof ack, true);
                break;
        }
        case SHIM_MSG_WELCOME:
                shim_handle_welcome(s, &m.welcome);
                break;
        case SHIM_MSG_EXEC:
                if (s->daemon_version >= 4) /* the version that has it */
                        shim_handle_exec(s, &m);
                break;
        case SHIM_MSG_EXEC_TTY:
                if (s->daemon_version >= 5) /* the version that has it */
                        shim_handle_exec_tty(s, &m);
                break;
        case SHIM_MSG_EXEC_TTY_INPUT:
                if (s->daemon_version >= 5)
                        shim_exec_tty_input(&s->exec_ttys, &m);
                break;
        case SHIM_MSG_EXEC_TTY_RESIZE:
                if (s->daemon_version >= 5)
                        shim_exec_tty_resize(&s->exec_ttys, &m);
                break;
        case SHIM_MSG_TTY_INPUT:
                /* no ack: a terminal takes keystrokes as they come, and drops what does not fit */
                if (s->tty_master >= 0)
                        (void)shim_stdin_submit(s, m.data, m.data_size, false, false);
                break;
        case SHIM_MSG_TTY_RESIZE:
                if (s->tty_master >= 0 &&
                    shim_tty_resize(s->tty_master, m.tty_resize.rows, m.tty_resize.cols) < 0)
                        log_debug("Ignoring the window size %" PRIu32 "x%" PRIu32 ".", m.tty_resize.rows,
                                  m.tty_resize.cols);
                break;
        case SHIM_MSG_TTY_STREAM:
                s->tty_stream = m.tty_stream.on == 1;
                break;
        case SHIM_MSG_ACTION:
                /* version 4: a daemon that agreed on less sends none */
                if (s->daemon_version >= 4 && s->action)
                        shim_action_handle(s->action, &m.action, m.data, m.data_size);
                break;
        case SHIM_MSG_SIGNAL:
                if (m.signal.signal <= 0 || m.signal.signal >= _NSIG) {
                        log_debug("Ignoring invalid signal %" PRIi32 ".", m.signal.signal);
                        return;
                }
                if (s->state == SHIM_STATE_RUNNING && !s->agent_exited &&
                    kill(s->agent_pid, m.signal.signal) < 0)
                        log_debug_errno(-errno, "Failed to signal the agent: %m");
                break;
        default:
                break; /* the daemon's own messages: not for us */
        }
}

static void shim_handle_control(Shim *s)
{
        for (unsigned i = 0; i < CONTROL_BATCH && s->conn_fd >= 0; i++) {
                ssize_t k = recv(s->conn_fd, buffer, sizeof buffer, MSG_DONTWAIT | MSG_TRUNC);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno != EAGAIN)
                                shim_drop_connection(s);
                        return;
                }
                if (k == 0) {
                        shim_drop_connection(s);
                        return;
                }
                if ((size_t)k > sizeof buffer) {
                        log_debug("Ignoring oversized control message (%zd bytes).", k);
                        continue;
                }
                shim_handle_message(s, buffer, (size_t)k);
        }
}

static void shim_handle_accept(Shim *s)
{
        struct ucred cred;
        socklen_t len = sizeof cred;
        int fd;

        fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd < 0) {
                if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
                        log_warning_errno(-errno, "Failed to accept a control connection: %m");
                return;
        }
        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 ||
            (cred.uid != 0 && cred.uid != geteuid())) {
                log_warning("Refusing a control connection from uid %u.", (unsigned)cred.uid);
                safe_close(fd);
                return;
        }
        shim_drop_connection(s);
        s->conn_fd = fd;
        s->daemon_version = 1;
        s->tty_stream = false; /* a new daemon asks for it when a client attaches */
        if (s->action)
                shim_action_reconnected(s->action);
        shim_exec_tty_reconnected(&s->exec_ttys);
        log_debug("Control connection from pid %d.", (int)cred.pid);
        shim_send_hello(s);
}

static int shim_listen(Shim *s)
{
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        struct stat st;
        mode_t old;
        int r;

        if (!arg_options.listen_path)
                return 0;
        strncpy(sa.sun_path, arg_options.listen_path, sizeof sa.sun_path - 1);
        /* A stale socket of a previous shim may sit there; anything else is not ours to remove. */
        if (lstat(arg_options.listen_path, &st) >= 0) {
                if (!S_ISSOCK(st.st_mode))
                        return log_error_errno(-EEXIST, "%s exists and is not a socket.",
                                               arg_options.listen_path);
                if (unlink(arg_options.listen_path) < 0)
                        return log_error_errno(-errno, "Failed to remove stale %s: %m",
                                               arg_options.listen_path);
        }
        s->listen_fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (s->listen_fd < 0)
                return log_error_errno(-errno, "Failed to create the listening socket: %m");
        old = umask(0177);
        r = bind(s->listen_fd, (struct sockaddr *)&sa, sizeof sa) < 0 ? -errno : 0;
        (void)umask(old);
        if (r < 0)
                return log_error_errno(r, "Failed to bind %s: %m", arg_options.listen_path);
        if (listen(s->listen_fd, 4) < 0)
                return log_error_errno(-errno, "Failed to listen on %s: %m", arg_options.listen_path);
        return 0;
}

static void shim_write_exit_record(const ShimExitRecord *rec)
{
        /* Atomic, not flushed: it must survive the daemon (the page cache does), not the host, whose crash
         * takes the agent with it; a flush here delayed every agent's end by two disk writes. */
        int r = write_file_replace_at(SHIM_FD_STATE_DIR, SHIM_EXIT_FILE, rec, sizeof *rec, 0644, false);
        if (r < 0)
                log_error_errno(r, "Failed to write the exit record: %m");
}

static void exit_record_set_status(ShimExitRecord *rec, int status)
{
        rec->code = -1;
        if (status < 0)
                return;
        if (WIFEXITED(status))
                rec->code = WEXITSTATUS(status);
        else if (WIFSIGNALED(status)) {
                rec->signal = WTERMSIG(status);
                rec->core_dumped = WCOREDUMP(status) ? 1 : 0;
        }
}

static void shim_send_exited(Shim *s, const ShimExitRecord *rec)
{
        ShimMsgExited m = {.h = {.type = SHIM_MSG_EXITED, .size = sizeof m}, .rec = *rec};

        s->state = SHIM_STATE_EXITED;
        shim_write_exit_record(rec);
        (void)shim_send(s, &m, sizeof m, true);
        if (arg_options.listen_path && s->listen_fd >= 0)
                (void)unlink(arg_options.listen_path);
}

static _noreturn_ void shim_fail_start(Shim *s, ShimStage stage, int error, int status)
{
        ShimExitRecord rec = {
                .magic = SHIM_EXIT_MAGIC,
                .version = SHIM_PROTOCOL_VERSION,
                .spawn_failed = 1,
                .stage = stage,
                .error = error,
                .ended_ns = now_ns(CLOCK_REALTIME),
        };
        ShimMsgSpawnFailed m = {
                .h = {.type = SHIM_MSG_SPAWN_FAILED, .size = sizeof m},
                .stage = stage,
                .error = error,
        };

        errno = error;
        log_error("Agent %s failed to start at stage %s: %m", arg_id ?: "(unknown)",
                  shim_stage_to_string(stage));
        exit_record_set_status(&rec, status);
        (void)shim_send(s, &m, sizeof m, true);
        shim_send_exited(s, &rec);
        _exit(EXIT_FAILURE);
}

static _noreturn_ void shim_finish(Shim *s)
{
        ShimExitRecord rec = {
                .magic = SHIM_EXIT_MAGIC,
                .version = SHIM_PROTOCOL_VERSION,
                .started_ns = s->started_ns,
                .ended_ns = s->ended_ns,
        };

        /* What is in the pipes now, and no more: a double-forked grandchild may hold them open forever. */
        for (unsigned i = 0; i < 2; i++)
                shim_read_stream(s, i, DRAIN_MAX);
        shim_send_output(s);
        exit_record_set_status(&rec, s->agent_status);
        shim_send_exited(s, &rec);
        s->log = output_log_writer_free(s->log);
        s->action = shim_action_free(s->action);
        shim_exec_tty_free_all(&s->exec_ttys);
        shim_stdin_free_queue(s);
        /* As PID 1 our exit makes the kernel SIGKILL whatever is left in the namespace. */
        _exit(EXIT_SUCCESS);
}

static void shim_reap(Shim *s)
{
        for (;;) {
                int status;
                pid_t pid = waitpid(-1, &status, WNOHANG);
                if (pid < 0 && errno == EINTR)
                        continue;
                if (pid <= 0)
                        return;
                if (pid == s->agent_pid && !s->agent_exited) {
                        s->agent_exited = true;
                        s->agent_status = status;
                        s->ended_ns = now_ns(CLOCK_REALTIME);
                } else if (!shim_exec_reaped(&s->execs, pid, status))
                        (void)shim_exec_tty_reaped(&s->exec_ttys, pid, status);
        }
}

static void shim_handle_signals(Shim *s)
{
        struct signalfd_siginfo si;

        for (;;) {
                ssize_t k = read(s->signal_fd, &si, sizeof si);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k != (ssize_t)sizeof si)
                        return;
                if (si.ssi_signo == SIGCHLD)
                        shim_reap(s);
                else if (s->state == SHIM_STATE_RUNNING && !s->agent_exited &&
                         kill(s->agent_pid, (int)si.ssi_signo) < 0)
                        log_debug_errno(-errno, "Failed to forward signal %u: %m", si.ssi_signo);
        }
}

static int shim_setup_signals(Shim *s)
{
        sigset_t mask;

        /* Blocked signals are queued even for a namespace's init, so signalfd sees them. */
        if (sigemptyset(&mask) < 0)
                return -errno;
        for (const int *sig = (const int[]){SIGCHLD, SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, 0};
             *sig; sig++)
                (void)sigaddset(&mask, *sig);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return -errno;
        if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
                return -errno;
        s->signal_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
        return s->signal_fd < 0 ? -errno : 0;
}

static int shim_setup_fds(Shim *s)
{
        int r;

        /* spawn's dup2 cleared CLOEXEC on the protocol fds; the agent must inherit none of them. */
        for (int fd = SHIM_FD_STATE_DIR; fd <= SHIM_FD_PAYLOAD_CG; fd++) {
                r = fd_set_cloexec(fd, 1);
                if (r < 0)
                        return log_error_errno(r, "fd %d is not open: %m", fd);
        }
        (void)fd_set_cloexec(SHIM_FD_SECCOMP, 1); /* the filter with ShimOptions.seccomp */
        if (fd_set_cloexec(SHIM_FD_CONTROL, 1) >= 0) {
                r = fd_set_nonblock(SHIM_FD_CONTROL, 1);
                if (r < 0)
                        return log_error_errno(r, "Failed to set up the control socket: %m");
                s->conn_fd = SHIM_FD_CONTROL;
        }
        return 0;
}

static int make_pipe(int ret[2], bool nonblock_read, bool nonblock_write)
{
        if (pipe2(ret, O_CLOEXEC) < 0)
                return -errno;
        if ((nonblock_read && fd_set_nonblock(ret[0], 1) < 0) ||
            (nonblock_write && fd_set_nonblock(ret[1], 1) < 0))
                return -errno;
        return 0;
}

static int shim_start_agent(Shim *s)
{
        _cleanup_close_pair_ int out[2] = {-EBADF, -EBADF}, err[2] = {-EBADF, -EBADF},
                                 in[2] = {-EBADF, -EBADF};
        _cleanup_close_ int action_fd = -EBADF;
        _cleanup_free_ char **env = NULL;
        ShimActionSink sink = {.send = shim_action_send, .userdata = s};
        ShimAgentStart st;
        int r;

        if (arg_options.tty) {
                /* the agent's stdio is the slave; we read and write the master (stdin_fd, a dup of it,
                 * keeps the stdin queue's own close apart from the reads) */
                r = shim_tty_open(arg_options.sandbox ? arg_options.uid : (uid_t)-1,
                                  arg_options.sandbox ? arg_options.gid : (gid_t)-1, &out[0], &in[0]);
                if (r >= 0) {
                        in[1] = fcntl(out[0], F_DUPFD_CLOEXEC, 3);
                        if (in[1] < 0)
                                r = -errno;
                }
                if (r < 0)
                        shim_fail_start(s, SHIM_STAGE_STDIO, -r, -1);
                s->tty_master = out[0];
        } else
                r = make_pipe(out, true, false);
        if (r >= 0 && !arg_options.tty)
                r = make_pipe(err, true, false);
        if (r >= 0 && arg_options.stdin_pipe)
                r = make_pipe(in, false, true);
        if (r >= 0 && !arg_options.stdin_pipe && !arg_options.tty) {
                in[0] = open("/dev/null", O_RDONLY | O_CLOEXEC | O_NOCTTY);
                if (in[0] < 0)
                        r = -errno;
        }
        if (r >= 0)
                r = shim_action_new(&sink, &s->action, &action_fd);
        if (r >= 0)
                r = shim_action_env(agent_env, &env);
        if (r < 0)
                shim_fail_start(s, SHIM_STAGE_STDIO, -r, -1);

        ShimAgentConfig c = {
                .options = &arg_options,
                .cwd = arg_cwd,
                .env = env,
                .stdio = {in[0], arg_options.tty ? in[0] : out[1], arg_options.tty ? in[0] : err[1]},
                .action_fd = action_fd,
                .filter = s->filter,
        };
        s->trace.agent_fork_ns = now_ns(CLOCK_MONOTONIC);
        r = shim_agent_start(&c, &st);
        if (r < 0)
                shim_fail_start(s, st.stage, st.error, st.status);
        s->trace.agent_exec_ns = now_ns(CLOCK_MONOTONIC);
        s->agent_config = c;
        s->agent_config.stdio[0] = s->agent_config.stdio[1] = s->agent_config.stdio[2] = -EBADF;
        /* a command of EXEC gets no action channel: the agent's own environment, without its fd's name */
        s->agent_config.env = agent_env;
        s->agent_config.action_fd = 0;
        s->agent_pidfd = st.pidfd;

        s->started_ns = now_ns(CLOCK_REALTIME);
        s->agent_pid = st.pid;
        s->state = SHIM_STATE_RUNNING;
        s->out_fd[0] = TAKE_FD(out[0]);
        s->out_fd[1] = TAKE_FD(err[0]);
        s->stdin_fd = TAKE_FD(in[1]);
        log_debug("Agent %s started as pid %d.", arg_id, (int)st.pid);
        return 0;
}

static _noreturn_ void shim_run(Shim *s)
{
        for (;;) {
                struct pollfd p[7 + 2 * SHIM_EXEC_MAX + SHIM_EXEC_TTY_MAX];
                int n = 0, i_sig, i_conn = -1, i_listen = -1, i_out[2] = {-1, -1}, i_in = -1, i_action = -1,
                    timeout, t, fd;
                size_t n_exec, n_tty;
                short events;

                timeout = shim_output_notice_timeout(s);
                t = shim_exec_timeout(&s->execs);
                if (t >= 0 && (timeout < 0 || t < timeout))
                        timeout = t;
                t = shim_action_tick(s->action);
                if (t >= 0 && (timeout < 0 || t < timeout))
                        timeout = t;
                fd = shim_action_poll_fd(s->action, &events);
                if (fd >= 0) {
                        i_action = n;
                        p[n++] = (struct pollfd){.fd = fd, .events = events};
                }
                i_sig = n;
                p[n++] = (struct pollfd){.fd = s->signal_fd, .events = POLLIN};
                for (unsigned i = 0; i < 2; i++)
                        if (s->out_fd[i] >= 0) {
                                i_out[i] = n;
                                p[n++] = (struct pollfd){.fd = s->out_fd[i], .events = POLLIN};
                        }
                if (s->stdin_fd >= 0 && s->stdin_head) {
                        i_in = n;
                        p[n++] = (struct pollfd){.fd = s->stdin_fd, .events = POLLOUT};
                }
                if (s->conn_fd >= 0) {
                        i_conn = n;
                        p[n++] = (struct pollfd){.fd = s->conn_fd, .events = POLLIN};
                }
                if (s->listen_fd >= 0) {
                        i_listen = n;
                        p[n++] = (struct pollfd){.fd = s->listen_fd, .events = POLLIN};
                }

                n_exec = shim_exec_poll_fill(&s->execs, p + n);
                n_tty = shim_exec_tty_poll_fill(&s->exec_ttys, p + n + n_exec);

                if (poll(p, (nfds_t)(n + n_exec + n_tty), timeout) < 0) {
                        if (errno == EINTR)
                                continue;
                        log_error_errno(-errno, "poll() failed: %m");
                        _exit(EXIT_FAILURE);
                }
                for (unsigned i = 0; i < 2; i++)
                        if (i_out[i] >= 0 && p[i_out[i]].revents)
                                shim_read_stream(s, i, sizeof buffer);
                shim_exec_poll_handle(&s->execs, p + n, n_exec);
                shim_exec_tty_poll_handle(&s->exec_ttys, p + n + n_exec, n_tty);
                if (p[i_sig].revents)
                        shim_handle_signals(s);
                if (s->agent_exited)
                        shim_finish(s);
                shim_exec_flush_done(&s->execs, shim_exec_send, s);
                shim_exec_tty_flush_done(&s->exec_ttys);
                if (i_in >= 0 && p[i_in].revents)
                        shim_stdin_flush(s);
                if (i_conn >= 0 && p[i_conn].revents && s->conn_fd == p[i_conn].fd)
                        shim_handle_control(s);
                if (i_listen >= 0 && p[i_listen].revents)
                        shim_handle_accept(s);
                if (i_action >= 0 && p[i_action].revents)
                        shim_action_io(s->action, p[i_action].revents);
        }
}

int main(void)
{
        Shim s = {
                .signal_fd = -EBADF,
                .listen_fd = -EBADF,
                .conn_fd = -EBADF,
                .daemon_version = 1,
                .out_fd = {-EBADF, -EBADF},
                .stdin_fd = -EBADF,
                .tty_master = -EBADF,
                .state = SHIM_STATE_STARTING,
                .agent_status = -1,
                .agent_pidfd = -EBADF,
        };
        ShimStage stage = SHIM_STAGE_SHIM;
        const char *step = NULL;
        int r;

        s.trace.main_ns = now_ns(CLOCK_MONOTONIC);
        log_set_ident("descartes-shim");
        s.exec_ttys = (ShimExecTtyTable){.send = shim_exec_tty_send, .userdata = &s};

        r = shim_setup_fds(&s);
        if (r < 0)
                shim_fail_start(&s, SHIM_STAGE_SHIM, -r, -1);
        r = shim_setup_signals(&s);
        if (r < 0)
                shim_fail_start(&s, SHIM_STAGE_SHIM, -r, -1);
        r = check_own_environment();
        if (r >= 0)
                r = read_options();
        if (r >= 0)
                r = read_agent_environment();
        if (r < 0) {
                shim_send_hello(&s);
                shim_fail_start(&s, SHIM_STAGE_SHIM, -r, -1);
        }
        r = output_log_writer_open(SHIM_FD_STATE_DIR, arg_options.output_cap ?: OUTPUT_LOG_DEFAULT_CAP,
                                   &s.log);
        if (r < 0) {
                log_error_errno(r, "Failed to open the output log: %m");
                shim_send_hello(&s);
                shim_fail_start(&s, SHIM_STAGE_SHIM, -r, -1);
        }
        s.notified_seq = output_log_writer_next_seq(s.log);
        shim_send_hello(&s);

        /* Before the mounts: the socket must be on the host's file system. */
        r = shim_listen(&s);
        if (r < 0)
                shim_fail_start(&s, SHIM_STAGE_SHIM, -r, -1);
        r = shim_prepare_namespace(&arg_options, arg_hostname, &s.filter, &stage, &step);
        if (r < 0) {
                if (step)
                        log_error_errno(r, "Building the mount view failed at step %s: %m", step);
                shim_fail_start(&s, stage, -r, -1);
        }
        s.trace.view_ns = now_ns(CLOCK_MONOTONIC);

        shim_start_agent(&s);
        s.trace.sent_ns = now_ns(CLOCK_MONOTONIC);
        ShimMsgStarted m = {
                .h = {.type = SHIM_MSG_STARTED, .size = sizeof m},
                .agent_pid = s.agent_pid,
                .started_ns = s.started_ns,
                .trace = s.trace,
        };
        (void)shim_send(&s, &m, sizeof m, true);
        shim_run(&s);
}
