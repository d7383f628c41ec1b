/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "analyzer.h"
#include "cleanup.h"
#include "fd-util.h"
#include "json-reader.h"
#include "log.h"
#include "shim-action.h"
#include "string-util.h"
#include "time-util.h"

#define ACTION_ENV "DESCARTES_ACTION_FD"
/* The state goes to the daemon at once when the channel opens or closes; a changed count of dropped lines
 * at most this often (an agent writing junk costs the daemon no more than this). */
#define STATE_INTERVAL_NS   (100 * NSEC_PER_MSEC)
#define READ_BUDGET         (256 * 1024) /* bytes read from the agent per wakeup: the shim serves others */
#define ACTION_TOKEN_DIGITS 16

typedef struct Slot {
        bool used;
        bool claimed; /* the daemon on the current connection waits for the answer */
        uint64_t token;
        uint64_t expires_ns; /* CLOCK_MONOTONIC */
        char *held;          /* the agent's answer, not yet handed to a daemon */
        size_t held_size;
} Slot;

struct ShimAction {
        ShimActionSink sink;
        int fd; /* the shim's end, -EBADF once closed */
        bool ready;
        bool state_wanted; /* the daemon speaks version 4: it is told the state */
        bool state_dirty;
        bool sent_ready;        /* `ready` as last sent */
        uint64_t state_sent_ns; /* CLOCK_MONOTONIC, 0: send the next state at once */
        uint64_t dropped;

        Slot slots[SHIM_ACTION_INFLIGHT_MAX];
        size_t n_used;

        char in[SHIM_ACTION_LINE_MAX + 1]; /* a partial line from the agent */
        size_t in_len;
        bool in_skip; /* discarding the rest of an overlong line */

        char *out; /* lines for the agent, out[out_off..out_len) still to write */
        size_t out_len, out_off;
};

int shim_action_new(const ShimActionSink *sink, ShimAction **ret, int *ret_agent_fd)
{
        int pair[2];
        ShimAction *a;

        a = calloc(1, sizeof *a);
        if (!a)
                return -ENOMEM;
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) < 0) {
                int r = -errno;
                free(a);
                return r;
        }
        (void)fd_set_nonblock(pair[0], 1);
        a->sink = *sink;
        a->fd = pair[0];
        *ret = a;
        *ret_agent_fd = pair[1];
        return 0;
}

static void slot_free(ShimAction *a, Slot *s)
{
        free(s->held);
        *s = (Slot){};
        a->n_used--;
}

ShimAction *shim_action_free(ShimAction *a)
{
        if (!a)
                return NULL;
        for (size_t i = 0; i < SHIM_ACTION_INFLIGHT_MAX; i++)
                free(a->slots[i].held);
        safe_close(a->fd);
        free(a->out);
        free(a);
        return NULL;
}

int shim_action_env(char *const *env, char ***ret)
{
        static char entry[sizeof ACTION_ENV "=" + 12];
        size_t n = 0, k = 0;
        char **l;

        while (env && env[n])
                n++;
        l = calloc(n + 2, sizeof *l);
        if (!l)
                return -ENOMEM;
        (void)snprintf(entry, sizeof entry, "%s=%d", ACTION_ENV, SHIM_ACTION_FD);
        for (size_t i = 0; i < n; i++)
                if (!startswith(env[i], ACTION_ENV "="))
                        l[k++] = env[i];
        l[k] = entry;
        *ret = l;
        return 0;
}

static Slot *slot_find(ShimAction *a, uint64_t token)
{
        for (size_t i = 0; i < SHIM_ACTION_INFLIGHT_MAX; i++)
                if (a->slots[i].used && a->slots[i].token == token)
                        return &a->slots[i];
        return NULL;
}

static Slot *slot_new(ShimAction *a)
{
        for (size_t i = 0; i < SHIM_ACTION_INFLIGHT_MAX; i++)
                if (!a->slots[i].used) {
                        a->n_used++;
                        a->slots[i] = (Slot){.used = true};
                        return &a->slots[i];
                }
        return NULL;
}

static void note_dropped(ShimAction *a)
{
        a->dropped++;
        a->state_dirty = true;
}

/* Sends the state if it is due; the ms until it is (-1: nothing to send). */
static int send_state(ShimAction *a, uint64_t now)
{
        ShimMsgActionState m = {
                .h = {.type = SHIM_MSG_ACTION_STATE, .size = sizeof m},
                .ready = a->ready,
                .dropped = a->dropped,
        };
        uint64_t due = a->state_sent_ns == 0 || a->ready != a->sent_ready
                               ? 0
                               : a->state_sent_ns + STATE_INTERVAL_NS;

        if (!a->state_wanted || !a->state_dirty)
                return -1;
        if (now < due)
                return (int)((due - now + NSEC_PER_MSEC - 1) / NSEC_PER_MSEC);
        int r = a->sink.send(a->sink.userdata, &m, sizeof m);
        if (r >= 0) {
                a->state_dirty = false;
                a->sent_ready = a->ready;
                a->state_sent_ns = now;
                return -1;
        }
        if (r != -EAGAIN) {
                a->state_wanted = false; /* the connection is gone: the next one is told after its WELCOME */
                return -1;
        }
        return (int)(STATE_INTERVAL_NS / NSEC_PER_MSEC); /* no room now: try again */
}

static int send_status(ShimAction *a, uint64_t token, int status)
{
        ShimMsgActionReply m = {
                .h = {.type = SHIM_MSG_ACTION_REPLY, .size = sizeof m},
                .token = token,
                .status = status,
        };

        return a->sink.send(a->sink.userdata, &m, sizeof m);
}

/* Hands the held answer of s to the daemon; the slot goes once it has it. */
static void send_answer(ShimAction *a, Slot *s)
{
        static uint8_t buf[SHIM_MSG_MAX];
        ShimMsgActionReply m = {
                .h = {.type = SHIM_MSG_ACTION_REPLY, .size = (uint32_t)(sizeof m + s->held_size)},
                .token = s->token,
        };

        memcpy(buf, &m, sizeof m);
        memcpy(buf + sizeof m, s->held, s->held_size);
        if (a->sink.send(a->sink.userdata, buf, sizeof m + s->held_size) >= 0)
                slot_free(a, s);
        else
                s->claimed = false; /* no daemon has it: held for the next one that asks */
}

static void channel_close(ShimAction *a)
{
        if (a->fd < 0)
                return;
        log_debug("The agent closed its action channel.");
        a->fd = safe_close(a->fd);
        a->ready = false;
        a->state_dirty = true;
        free(a->out);
        a->out = NULL;
        a->out_len = a->out_off = 0;
        /* what the agent answered stays; the rest will never be answered */
        for (size_t i = 0; i < SHIM_ACTION_INFLIGHT_MAX; i++) {
                Slot *s = &a->slots[i];
                if (!s->used || s->held)
                        continue;
                if (s->claimed)
                        (void)send_status(a, s->token, -EPIPE);
                slot_free(a, s);
        }
}

static void flush_out(ShimAction *a)
{
        while (a->fd >= 0 && a->out_off < a->out_len) {
                ssize_t k = send(a->fd, a->out + a->out_off, a->out_len - a->out_off,
                                 MSG_DONTWAIT | MSG_NOSIGNAL);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno != EAGAIN)
                                channel_close(a);
                        return;
                }
                a->out_off += (size_t)k;
        }
        if (a->out_off == a->out_len)
                a->out_off = a->out_len = 0;
}

static int queue_line(ShimAction *a, const uint8_t *data, size_t n)
{
        if (a->out_len - a->out_off + n + 1 > SHIM_ACTION_QUEUE_MAX)
                return -EAGAIN;
        if (a->out_off > 0) {
                memmove(a->out, a->out + a->out_off, a->out_len - a->out_off);
                a->out_len -= a->out_off;
                a->out_off = 0;
        }
        char *p = realloc(a->out, a->out_len + n + 1);
        if (!p)
                return -ENOMEM;
        a->out = p;
        memcpy(a->out + a->out_len, data, n);
        a->out[a->out_len + n] = '\n';
        a->out_len += n + 1;
        flush_out(a);
        return 0;
}

void shim_action_handle(ShimAction *a, const ShimMsgAction *m, const uint8_t *data, size_t n)
{
        Slot *s = slot_find(a, m->token);
        int r;

        if (s) {
                /* a daemon asking again (it restarted, or its client resent): never delivered twice */
                s->claimed = true;
                if (s->held)
                        send_answer(a, s);
                return;
        }
        if (m->flags & SHIM_ACTION_RESUME)
                r = -ENOENT;
        else if (a->fd < 0)
                r = -EPIPE;
        else if (!a->ready)
                r = -ENOTCONN;
        else if (n == 0 || n > SHIM_ACTION_LINE_MAX || memchr(data, '\n', n))
                r = -EMSGSIZE;
        else if (a->n_used >= SHIM_ACTION_INFLIGHT_MAX)
                r = -EBUSY;
        else {
                r = queue_line(a, data, n);
                if (r >= 0 && a->fd < 0)
                        r = -EPIPE; /* closed while writing */
        }
        if (r < 0) {
                (void)send_status(a, m->token, r);
                return;
        }
        s = slot_new(a);
        s->token = m->token;
        s->claimed = true;
        s->expires_ns =
                now_ns(CLOCK_MONOTONIC) + ((uint64_t)m->timeout_ms + SHIM_ACTION_GRACE_MS) * NSEC_PER_MSEC;
}

void shim_action_reconnected(ShimAction *a)
{
        for (size_t i = 0; i < SHIM_ACTION_INFLIGHT_MAX; i++)
                a->slots[i].claimed = false;
        a->state_wanted = false;
}

void shim_action_welcome(ShimAction *a, uint32_t version)
{
        a->state_wanted = version >= 4;
        a->state_dirty = true;
        a->state_sent_ns = 0;
        (void)send_state(a, now_ns(CLOCK_MONOTONIC));
}

/* What one line of the agent says, read at its top level only. */
typedef struct LineInfo {
        unsigned depth;
        bool key_id, key_ready; /* the next value is that key's */
        bool has_id, id_valid, ready;
        uint64_t token;
} LineInfo;

static int line_container(void *userdata)
{
        LineInfo *l = userdata;

        l->key_id = l->key_ready = false;
        l->depth++;
        return 0;
}

static int line_end(void *userdata)
{
        LineInfo *l = userdata;

        l->depth--;
        return 0;
}

static int line_key(void *userdata, const char *s, size_t n)
{
        LineInfo *l = userdata;

        if (l->depth != 1)
                return 0;
        l->key_id = n == 2 && memcmp(s, "id", 2) == 0;
        l->key_ready = n == 5 && memcmp(s, "ready", 5) == 0;
        if (l->key_id && l->has_id)
                return -EBADMSG; /* two ids: which action does it answer? */
        return 0;
}

static int line_string(void *userdata, const char *s, size_t n)
{
        LineInfo *l = userdata;
        uint64_t v = 0;

        if (!l->key_id)
                goto done;
        l->has_id = true;
        if (n != ACTION_TOKEN_DIGITS)
                goto done;
        for (size_t i = 0; i < n; i++) {
                int d = s[i] >= '0' && s[i] <= '9'   ? s[i] - '0'
                        : s[i] >= 'a' && s[i] <= 'f' ? s[i] - 'a' + 10
                                                     : -1;
                if (d < 0)
                        goto done;
                v = (v << 4) | (uint64_t)d;
        }
        l->id_valid = true;
        l->token = v;
done:
        l->key_id = l->key_ready = false;
        return 0;
}

static int line_scalar(void *userdata)
{
        LineInfo *l = userdata;

        if (l->key_id)
                l->has_id = true; /* an id that is not a string answers nothing */
        l->key_id = l->key_ready = false;
        return 0;
}

static int line_boolean(void *userdata, bool v)
{
        LineInfo *l = userdata;

        if (l->key_ready && v)
                l->ready = true;
        return line_scalar(userdata);
}

static int line_number(void *userdata, const char *text, bool integer)
{
        return line_scalar(userdata);
}

static const JsonReaderOps line_ops = {
        .begin_object = line_container,
        .end_object = line_end,
        .begin_array = line_container,
        .end_array = line_end,
        .key = line_key,
        .string = line_string,
        .number = line_number,
        .boolean = line_boolean,
        .null = line_scalar,
};

static void handle_line(ShimAction *a, const char *line, size_t n)
{
        LineInfo l = {};
        Slot *s;

        /* an object, or nothing this side understands */
        if (n == 0 || line[strspn(line, " \t\r")] != '{' ||
            json_read(line, n, SHIM_ACTION_DEPTH_MAX, &line_ops, &l) < 0 || (!l.has_id && !l.ready)) {
                note_dropped(a);
                return;
        }
        if (l.ready && !a->ready) {
                a->ready = true;
                a->state_dirty = true;
                log_debug("The agent opened its action channel.");
        }
        if (!l.has_id)
                return;
        s = l.id_valid ? slot_find(a, l.token) : NULL;
        if (!s || s->held) {
                note_dropped(a); /* no such action in flight, or answered already */
                return;
        }
        char *copy = malloc(n);
        if (!copy) {
                note_dropped(a);
                return;
        }
        memcpy(copy, line, n);
        /* the slot (in a's array, freed by slot_free() or shim_action_free()) owns it; gcc 12's analyzer
         * loses a pointer stored into an array element reached through a parameter */
        ANALYZER_IGNORE_LEAK_BEGIN
        s->held = copy;
        s->held_size = n;
        if (s->claimed)
                send_answer(a, s);
        ANALYZER_IGNORE_END
}

/* The complete lines in a->in; keeps a partial one. */
static void split_lines(ShimAction *a)
{
        size_t start = 0;

        for (;;) {
                char *nl = memchr(a->in + start, '\n', a->in_len - start);
                if (!nl)
                        break;
                size_t end = (size_t)(nl - a->in);
                if (a->in_skip)
                        a->in_skip = false; /* the end of an overlong line, counted already */
                else {
                        *nl = 0; /* handle_line reads a NUL-terminated prefix too */
                        handle_line(a, a->in + start, end - start);
                }
                start = end + 1;
        }
        if (start > 0) {
                memmove(a->in, a->in + start, a->in_len - start);
                a->in_len -= start;
        }
        if (a->in_len == sizeof a->in) {
                /* SHIM_ACTION_LINE_MAX bytes and no newline: not a line of this protocol */
                if (!a->in_skip)
                        note_dropped(a);
                a->in_skip = true;
                a->in_len = 0;
        }
        if (a->in_skip)
                a->in_len = 0;
}

static void read_lines(ShimAction *a)
{
        size_t done = 0;

        while (a->fd >= 0 && done < READ_BUDGET) {
                ssize_t k = recv(a->fd, a->in + a->in_len, sizeof a->in - a->in_len, MSG_DONTWAIT);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno != EAGAIN)
                                channel_close(a);
                        return;
                }
                if (k == 0) {
                        channel_close(a);
                        return;
                }
                done += (size_t)k;
                a->in_len += (size_t)k;
                split_lines(a);
        }
}

int shim_action_poll_fd(const ShimAction *a, short *ret_events)
{
        if (!a || a->fd < 0)
                return -EBADF;
        *ret_events = POLLIN | (a->out_off < a->out_len ? POLLOUT : 0);
        return a->fd;
}

void shim_action_io(ShimAction *a, short revents)
{
        if (revents & POLLOUT)
                flush_out(a);
        if (revents & (POLLIN | POLLHUP | POLLERR))
                read_lines(a);
}

int shim_action_tick(ShimAction *a)
{
        uint64_t now = now_ns(CLOCK_MONOTONIC), next = UINT64_MAX;
        int timeout = -1, t;

        for (size_t i = 0; i < SHIM_ACTION_INFLIGHT_MAX && a->n_used > 0; i++) {
                Slot *s = &a->slots[i];
                if (!s->used)
                        continue;
                if (s->expires_ns <= now) {
                        if (s->held)
                                note_dropped(a); /* answered, but no daemon asked for it in time */
                        slot_free(a, s);
                        continue;
                }
                next = MIN(next, s->expires_ns);
        }
        t = send_state(a, now);
        if (next != UINT64_MAX)
                timeout = (int)MIN((next - now + NSEC_PER_MSEC - 1) / NSEC_PER_MSEC, (uint64_t)INT32_MAX);
        if (t >= 0)
                timeout = timeout < 0 ? t : MIN(timeout, t);
        return timeout;
}
