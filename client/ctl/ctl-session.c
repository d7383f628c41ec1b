/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* An interactive session on a terminal (attach, spawn -it, exec -t/-it): the local terminal goes raw while
 * keys are forwarded (restored on every way out: detach, the end, an error, a signal), the terminal's output
 * is written as it comes, keys go to it but for the detach sequence, and window size changes follow. The
 * one loop behind every verb that joins a terminal. */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <termios.h>
#include <unistd.h>

#include "cleanup.h"
#include "ctl-exit.h"
#include "ctl.h"
#include "fd-util.h"
#include "log.h"
#include "string-util.h"

#define INPUT_CHUNK 4096
/* How often the loop wakes with nothing to do: the attachment's silence check runs in its reads. */
#define IDLE_WAKE_MS 1000

int ctl_parse_detach_keys(const char *s, uint8_t *ret, size_t max)
{
        size_t n = 0;

        if (!s || !*s)
                return -EINVAL;
        for (const char *p = s;;) {
                const char *end = strchrnul(p, ',');
                size_t len = (size_t)(end - p);

                if (n >= max)
                        return -EINVAL;
                if (len == 1)
                        ret[n++] = (uint8_t)p[0];
                else if (len == 6 && strncmp(p, "ctrl-", 5) == 0) {
                        char k = p[5];
                        if (k >= 'a' && k <= 'z')
                                ret[n++] = (uint8_t)(k - 'a' + 1);
                        else if (k == '@')
                                ret[n++] = 0;
                        else if (k >= '[' && k <= '_')
                                ret[n++] = (uint8_t)(k - '[' + 27);
                        else
                                return -EINVAL;
                } else
                        return -EINVAL;
                if (!*end)
                        return (int)n;
                p = end + 1;
        }
}

int ctl_option_detach_keys(CtlArgs *a, const char *arg, CtlParse *p)
{
        uint8_t keys[CTL_DETACH_KEYS_MAX];

        if (ctl_parse_detach_keys(arg, keys, sizeof keys) <= 0)
                return ctl_fail(p, -EINVAL,
                                "--detach-keys: \"%s\" is not a key sequence (keys separated by commas: a "
                                "character or ctrl-KEY, e.g. ctrl-p,ctrl-q)",
                                arg);
        return ctl_set_string(&a->detach_keys, arg, p);
}

typedef struct Session {
        DescartesAttachment *att;
        const char *id;
        uint8_t keys[CTL_DETACH_KEYS_MAX];
        size_t n_keys;
        size_t matched;  /* bytes of the detach sequence typed so far (held back) */
        bool stdin_open; /* keys are forwarded */
        bool resize;     /* window sizes are forwarded */
        bool detached;
} Session;

/* The terminal's own settings, put back on every way out (atexit too: a path that exits directly). */
static struct termios saved_termios;
static bool termios_saved;

static void terminal_restore(void)
{
        if (termios_saved) {
                (void)tcsetattr(STDIN_FILENO, TCSADRAIN, &saved_termios);
                termios_saved = false;
        }
}

static int terminal_raw(void)
{
        struct termios t;

        if (!isatty(STDIN_FILENO))
                return 0;
        if (tcgetattr(STDIN_FILENO, &saved_termios) < 0)
                return -errno;
        t = saved_termios;
        cfmakeraw(&t);
        if (tcsetattr(STDIN_FILENO, TCSADRAIN, &t) < 0)
                return -errno;
        termios_saved = true;
        (void)atexit(terminal_restore);
        return 0;
}

static void window_size(uint32_t *rows, uint32_t *cols)
{
        struct winsize ws = {};

        *rows = *cols = 0;
        if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) < 0 && ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) < 0)
                return;
        *rows = ws.ws_row;
        *cols = ws.ws_col;
}

static int send_input(Session *s, const uint8_t *p, size_t n)
{
        DescartesError e;

        for (size_t off = 0; off < n;) {
                size_t k = MIN(n - off, (size_t)DESCARTES_ATTACH_INPUT_MAX);
                if (descartes_attachment_write(s->att, p + off, k, &e) < 0)
                        return ctl_report(&e, "cannot type into agent %s", s->id);
                off += k;
        }
        return 0;
}

/* Passes typed bytes on, but for the detach sequence: its prefix is held back until it either completes
 * (detach) or does not (then it goes too, as typed). */
static int handle_keys(Session *s, const uint8_t *buf, size_t n)
{
        size_t start = 0;
        int r;

        for (size_t i = 0; i < n; i++) {
                if (buf[i] == s->keys[s->matched]) {
                        /* what came before the sequence's first byte goes now */
                        if (s->matched == 0 && i > start) {
                                r = send_input(s, buf + start, i - start);
                                if (r != 0)
                                        return r;
                        }
                        s->matched++;
                        start = i + 1;
                        if (s->matched == s->n_keys) {
                                s->detached = true;
                                return 0;
                        }
                        continue;
                }
                if (s->matched > 0) {
                        /* not the sequence after all: the held bytes were keys */
                        r = send_input(s, s->keys, s->matched);
                        if (r != 0)
                                return r;
                        s->matched = 0;
                        start = i;
                        i--; /* this byte may start the sequence again */
                        continue;
                }
        }
        if (s->matched == 0 && start < n)
                return send_input(s, buf + start, n - start);
        return 0;
}

/* Writes what the agent's terminal wrote; 1 once the agent has ended, 0, or an exit code. */
static int drain_output(Session *s)
{
        for (;;) {
                const void *data;
                size_t size;
                DescartesError e;
                int r;

                r = descartes_attachment_read(s->att, 0, &data, &size, &e);
                if (r == -EPIPE)
                        return 1;
                if (r < 0)
                        return ctl_report(&e, "lost the terminal of agent %s", s->id);
                if (r == 0)
                        return 0;
                r = loop_write(STDOUT_FILENO, data, size);
                if (r < 0) {
                        log_error_errno(r, "Cannot write to stdout: %m");
                        return CTL_EXIT_FAILURE;
                }
        }
}

static int session_loop(Session *s, int sfd)
{
        int zfd = descartes_attachment_get_fd(s->att), r;
        uint8_t buf[INPUT_CHUNK];

        if (zfd < 0)
                return log_error_errno(zfd, "Cannot poll the attachment: %m"), CTL_EXIT_FAILURE;
        for (;;) {
                struct pollfd p[3] = {
                        {.fd = zfd, .events = POLLIN},
                        {.fd = sfd, .events = POLLIN},
                        {.fd = s->stdin_open ? STDIN_FILENO : -1, .events = POLLIN},
                };

                r = drain_output(s);
                if (r != 0)
                        return r;
                if (poll(p, 3, IDLE_WAKE_MS) < 0 && errno != EINTR)
                        return log_error_errno(-errno, "poll() failed: %m"), CTL_EXIT_FAILURE;
                if (p[1].revents) {
                        struct signalfd_siginfo si;
                        if (read(sfd, &si, sizeof si) == (ssize_t)sizeof si) {
                                uint32_t rows, cols;
                                DescartesError e;

                                if (si.ssi_signo != SIGWINCH)
                                        return 128 + (int)si.ssi_signo; /* the terminal is put back */
                                window_size(&rows, &cols);
                                if (!s->resize || rows == 0 || cols == 0)
                                        continue;
                                if (descartes_attachment_resize(s->att, rows, cols, &e) < 0)
                                        return ctl_report(&e, "cannot resize the terminal of agent %s",
                                                          s->id);
                        }
                }
                if (p[2].revents) {
                        ssize_t n = read(STDIN_FILENO, buf, sizeof buf);
                        if (n < 0 && errno != EINTR && errno != EAGAIN)
                                return log_error_errno(-errno, "Cannot read stdin: %m"), CTL_EXIT_FAILURE;
                        if (n == 0)
                                s->stdin_open = false; /* no more keys; the output goes on */
                        if (n > 0) {
                                r = handle_keys(s, buf, (size_t)n);
                                if (r != 0)
                                        return r;
                                if (s->detached)
                                        return 0;
                        }
                }
        }
}

static int final_code(Ctl *c, const char *id)
{
        _cleanup_(descartes_agent_unrefp) DescartesAgent *final = NULL;
        int r;

        r = ctl_wait_agent(c, id, &final);
        if (r != 0)
                return r;
        return ctl_exit_from_agent(final);
}

/* A command's end: its code, 128+N for signal N (as a shell reports it). */
static int exec_code(DescartesAttachment *att, const char *id)
{
        int code, sig;

        if (descartes_attachment_get_exit(att, &code, &sig) <= 0) {
                log_error("Agent %s ended, and the command with it.", id);
                return CTL_EXIT_FAILURE;
        }
        if (sig > 0)
                return 128 + sig;
        if (code < 0) {
                log_error("The command did not start in agent %s (descartesd's log says why).", id);
                return CTL_EXIT_FAILURE;
        }
        return code;
}

int ctl_session_run(Ctl *c, const CtlSession *spec)
{
        _cleanup_(descartes_attachment_freep) DescartesAttachment *att = NULL;
        DescartesAttachArgs args = DESCARTES_ATTACH_ARGS_INIT;
        const char *id = spec->agent;
        Session s = {.id = id, .stdin_open = spec->input, .resize = !spec->read_only};
        _cleanup_close_ int sfd = -EBADF;
        bool exec = spec->exec_argv || spec->exec_id > 0;
        sigset_t mask, old;
        DescartesError e;
        uint64_t exec_id;
        int k, r;

        k = ctl_parse_detach_keys(c->args->detach_keys ?: CTL_DETACH_KEYS_DEFAULT, s.keys, sizeof s.keys);
        if (k <= 0)
                return log_error("--detach-keys: \"%s\" is not a key sequence", c->args->detach_keys),
                       CTL_EXIT_USAGE;
        s.n_keys = (size_t)k;
        args.read_only = spec->read_only;
        args.exec_argv = spec->exec_argv;
        args.exec_id = spec->exec_id;
        if (!args.read_only)
                window_size(&args.rows, &args.cols);
        args.rows = MIN(args.rows, (uint32_t)DESCARTES_TTY_SIZE_MAX);
        args.cols = MIN(args.cols, (uint32_t)DESCARTES_TTY_SIZE_MAX);
        if (descartes_attach(c->client, id, &args, &att, &e) < 0)
                return spec->exec_argv ? ctl_report(&e, "cannot exec in agent %s", id)
                                       : ctl_report(&e, "cannot attach to agent %s", id);
        s.att = att;
        exec_id = descartes_attachment_get_exec_id(att);

        /* signals come through a signalfd, so that every one of them leaves through the restore below */
        (void)sigemptyset(&mask);
        for (const int *sig = (const int[]){SIGWINCH, SIGINT, SIGTERM, SIGHUP, SIGQUIT, 0}; *sig; sig++)
                (void)sigaddset(&mask, *sig);
        if (sigprocmask(SIG_BLOCK, &mask, &old) < 0)
                return log_error_errno(-errno, "Cannot block signals: %m"), CTL_EXIT_FAILURE;
        sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
        if (sfd < 0) {
                r = log_error_errno(-errno, "Cannot watch signals: %m");
                (void)sigprocmask(SIG_SETMASK, &old, NULL);
                return CTL_EXIT_FAILURE;
        }
        /* a closed stdout is an error of write() (then the terminal is put back), not a silent death */
        (void)signal(SIGPIPE, SIG_IGN);
        /* raw only while keys go through: without them the local terminal keeps its own ctrl-c */
        r = spec->input ? terminal_raw() : 0;
        if (r < 0) {
                (void)sigprocmask(SIG_SETMASK, &old, NULL);
                return log_error_errno(r, "Cannot put the terminal in raw mode: %m"), CTL_EXIT_FAILURE;
        }
        r = session_loop(&s, sfd);
        terminal_restore();
        (void)sigprocmask(SIG_SETMASK, &old, NULL);
        if (s.detached && exec) {
                log_info("Detached from exec %" PRIu64
                         " in agent %s; it goes on running (descartesctl attach "
                         "--exec %" PRIu64 " %s).",
                         exec_id, id, exec_id, id);
                return 0;
        }
        if (s.detached) {
                log_info("Detached from agent %s; it goes on running (descartesctl attach %s).", id, id);
                return 0;
        }
        if (r == 1 && exec)
                return exec_code(att, id);
        if (r == 1) {
                att = descartes_attachment_free(att);
                return final_code(c, id);
        }
        if (r != 0 && exec && exec_id > 0)
                log_info("The command goes on running in agent %s: descartesctl attach --exec %" PRIu64
                         " %s",
                         id, exec_id, id);
        return r;
}

int ctl_attach_session(Ctl *c, const char *id)
{
        return ctl_session_run(c, &(CtlSession){.agent = id,
                                                .read_only = c->args->read_only,
                                                .input = !c->args->read_only,
                                                .exec_id = c->args->attach_exec_id});
}
