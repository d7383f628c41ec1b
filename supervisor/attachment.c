/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#include "agent-log.h"
#include "agent.h"
#include "attachment.h"
#include "cleanup.h"
#include "curve-key.h"
#include "log.h"
#include "output-log.h"
#include "zmq-source.h"

/* Records the replay looks back over at most (each may be a single keystroke's echo). */
#define REPLAY_RECORDS_MAX 65536

struct Attachment {
        Manager *manager;
        Attachment *next, *prev;
        Envelope *envelope; /* frames in front of each push: the routing id first */
        char id[PROTO_ID_MAX + 1];
        Agent *agent;
        ExecTty *exec; /* a command's terminal (exec-tty.h), NULL: the agent's own */
        uid_t uid;
        bool read_only;
        char curve_key[CURVE_KEY_Z85_SIZE]; /* "" : an ipc connection */
        uint64_t seq;                       /* the last record accounted for (pushed or told lost) */
        uint64_t skip;                      /* bytes of record seq + 1 the replay leaves out */
        OutputLogReader *reader;            /* positioned after seq (and pend), NULL: open it there */
        bool blocked;                       /* its queue was full: retried by the timer */
        /* the next push: built from the log, kept until sent */
        uint8_t batch[PROTO_ATTACH_PUSH_MAX];
        size_t batch_len;
        uint64_t batch_seq;
        bool batch_ready;
        /* a record read but not in a batch yet (it did not fit, or it follows a hole) */
        uint8_t pend[PROTO_ATTACH_PUSH_MAX];
        size_t pend_len;
        uint64_t pend_seq;
        bool has_pend;
};

static bool same_route(const Attachment *t, const void *route, size_t size)
{
        return t->envelope->n_frames > 0 && t->envelope->sizes[0] == size &&
               memcmp(t->envelope->frames[0], route, size) == 0;
}

size_t attachment_count_agent(Manager *m, const Agent *a)
{
        size_t n = 0;

        for (Attachment *t = m->attachments; t; t = t->next)
                n += t->agent == a && !t->exec;
        return n;
}

static int send_stream(Agent *a, bool on)
{
        ShimMsgTtyStream msg = {.h = {.type = SHIM_MSG_TTY_STREAM, .size = sizeof msg}, .on = on};

        return shim_link_send(a, &msg, sizeof msg);
}

static void attachment_free(Attachment *t)
{
        Manager *m;
        Agent *a;

        if (!t)
                return;
        m = t->manager;
        a = t->agent;
        if (t->prev)
                t->prev->next = t->next;
        else if (m->attachments == t)
                m->attachments = t->next;
        if (t->next)
                t->next->prev = t->prev;
        m->n_attachments--;
        /* the shim stops telling of output nobody is attached to (a command's terminal always tells) */
        if (!t->exec && attachment_count_agent(m, a) == 0 && a->shim.version >= 4 &&
            send_stream(a, false) < 0)
                log_agent_debug(a, "Cannot tell its shim to stop streaming.");
        output_log_reader_free(t->reader);
        envelope_free(t->envelope);
        free(t);
}

static size_t count_uid(Manager *m, uid_t uid)
{
        size_t n = 0;

        for (Attachment *t = m->attachments; t; t = t->next)
                n += t->uid == uid;
        return n;
}

Attachment *attachment_find_by_route(Manager *m, const void *route, size_t size)
{
        for (Attachment *t = m->attachments; t; t = t->next)
                if (same_route(t, route, size))
                        return t;
        return NULL;
}

Agent *attachment_agent(const Attachment *t)
{
        return t->agent;
}

ExecTty *attachment_exec(const Attachment *t)
{
        return t->exec;
}

/* The log the attachment reads: its command's, or its agent's. A new fd, or -errno. */
static int open_log_dir(Agent *a, const ExecTty *x)
{
        int tmp = -EBADF, fd;

        if (x)
                return exec_tty_open_dir(a, x);
        fd = agent_state_dir(a, &tmp);
        if (fd < 0)
                return fd;
        if (tmp >= 0)
                return tmp;
        fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
        return fd < 0 ? -errno : fd;
}

/* The newest record the shim told of. */
static uint64_t told_seq(const Attachment *t)
{
        return t->exec ? t->exec->last_seq : t->agent->tty_last_seq;
}

bool attachment_read_only(const Attachment *t)
{
        return t->read_only;
}

/* Where a replay of about `bytes` of the newest output starts: *ret_seq the record before it and *ret_skip
 * the bytes of the first record left out. One pass over the log, keeping the sizes of the newest records. */
static int replay_start(Agent *a, const ExecTty *x, uint64_t bytes, uint64_t *ret_seq, uint64_t *ret_skip)
{
        _cleanup_(output_log_reader_freep) OutputLogReader *r = NULL;
        _cleanup_free_ uint64_t *seqs = NULL;
        _cleanup_free_ uint32_t *lens = NULL;
        _cleanup_close_ int fd = -EBADF;
        size_t n = 0, head = 0;
        uint64_t last = 0, sum = 0;
        OutputRecordHeader h;
        int q;

        fd = open_log_dir(a, x);
        if (fd == -ENOENT && x) {
                /* a command just started: its shim has not made its log yet */
                *ret_seq = *ret_skip = 0;
                return 0;
        }
        if (fd < 0)
                return fd;
        q = output_log_reader_open(fd, &r);
        if (q < 0)
                return q;
        seqs = calloc(REPLAY_RECORDS_MAX, sizeof *seqs);
        lens = calloc(REPLAY_RECORDS_MAX, sizeof *lens);
        if (!seqs || !lens)
                return -ENOMEM;
        while ((q = output_log_reader_next(r, &h, NULL)) > 0) {
                seqs[head] = h.seq;
                lens[head] = h.len;
                head = (head + 1) % REPLAY_RECORDS_MAX;
                n = MIN(n + 1, (size_t)REPLAY_RECORDS_MAX);
                last = h.seq;
        }
        if (q < 0 && q != -EBADMSG)
                return q;
        *ret_seq = last;
        *ret_skip = 0;
        /* newest first, until the bytes are there */
        for (size_t i = 0; i < n && sum < bytes; i++) {
                size_t k = (head + REPLAY_RECORDS_MAX - 1 - i) % REPLAY_RECORDS_MAX;
                *ret_seq = seqs[k] - 1;
                sum += lens[k];
                *ret_skip = sum > bytes ? sum - bytes : 0;
        }
        return 0;
}

int attachment_check_room(Manager *m, const Envelope *env, uid_t uid)
{
        Attachment *old =
                env && env->n_frames > 0 ? attachment_find_by_route(m, env->frames[0], env->sizes[0]) : NULL;
        /* the attachment it replaces does not count against the caps */
        size_t total = m->n_attachments - (old ? 1 : 0);
        size_t mine = count_uid(m, uid) - (old && old->uid == uid ? 1 : 0);

        if (uid != 0 && mine >= PROTO_ATTACHMENTS_PER_USER_MAX)
                return -EUSERS;
        if (total >= PROTO_ATTACHMENTS_MAX)
                return -ENFILE;
        return 0;
}

int attachment_add(Manager *m, const AttachmentRequest *req, uint64_t *ret_seq)
{
        const Envelope *env = req->envelope;
        Attachment *old, *t;
        uint64_t seq = 0, skip = 0;
        int r;

        if (!env || env->n_frames == 0 || !req->id || strlen(req->id) > PROTO_ID_MAX || !req->agent ||
            (req->curve_key && strlen(req->curve_key) > CURVE_KEY_Z85_LEN))
                return -EINVAL;
        old = attachment_find_by_route(m, env->frames[0], env->sizes[0]);
        r = attachment_check_room(m, env, req->uid);
        if (r < 0)
                return r;

        if (req->has_since_seq)
                seq = req->since_seq > 0 ? req->since_seq - 1 : 0;
        else {
                r = replay_start(req->agent, req->exec, req->replay, &seq, &skip);
                if (r < 0)
                        return r;
        }

        t = calloc(1, sizeof *t);
        if (!t)
                return -ENOMEM;
        r = envelope_new((const void *const *)env->frames, env->sizes, env->n_frames, &t->envelope);
        if (r < 0) {
                free(t);
                return r;
        }
        t->manager = m;
        strcpy(t->id, req->id);
        if (req->curve_key)
                strcpy(t->curve_key, req->curve_key);
        t->agent = req->agent;
        t->exec = req->exec;
        t->uid = req->uid;
        t->read_only = req->read_only;
        t->seq = seq;
        t->skip = skip;

        if (old)
                attachment_free(old);
        t->next = m->attachments;
        if (m->attachments)
                m->attachments->prev = t;
        m->attachments = t;
        m->n_attachments++;
        if (!t->exec && attachment_count_agent(m, t->agent) == 1 && send_stream(t->agent, true) < 0)
                log_agent_debug(t->agent, "Cannot ask its shim to stream; output comes with its notices.");
        *ret_seq = seq;
        return 0;
}

int attachment_remove_by_route(Manager *m, const void *route, size_t route_size)
{
        Attachment *t = attachment_find_by_route(m, route, route_size);

        if (!t)
                return -ENOENT;
        attachment_free(t);
        return 0;
}

/* Sends one push: 0, -EAGAIN when the connection cannot take it now, -EHOSTUNREACH when it is gone, or
 * another -errno. */
static int send_push(Attachment *t, const ProtoPush *p)
{
        const void *parts[ENVELOPE_FRAMES_MAX + 1];
        size_t sizes[ENVELOPE_FRAMES_MAX + 1];
        _cleanup_free_ void *body = NULL;
        size_t len = 0;
        int r;

        r = proto_push_encode(p, &body, &len);
        if (r < 0)
                return r;
        for (size_t i = 0; i < t->envelope->n_frames; i++) {
                parts[i] = t->envelope->frames[i];
                sizes[i] = t->envelope->sizes[i];
        }
        parts[t->envelope->n_frames] = body;
        sizes[t->envelope->n_frames] = len;
        r = zmq_send_parts(t->manager->control, parts, sizes, t->envelope->n_frames + 1);
        return r == -ENOBUFS ? -EAGAIN : r;
}

static int push_lost(Attachment *t, uint64_t from, uint64_t to)
{
        ProtoPush p = {.sub = t->id, .prev_seq = t->seq, .has_lost = true, .lost = {.from = from, .to = to}};
        int r = send_push(t, &p);

        if (r >= 0)
                t->seq = to;
        return r;
}

static int open_reader(Attachment *t)
{
        _cleanup_close_ int fd = open_log_dir(t->agent, t->exec);
        int r;

        /* the reader keeps a descriptor of its own while the attachment lasts */
        if (fd < 0)
                return fd;
        r = output_log_reader_open(fd, &t->reader);
        if (r < 0)
                return r;
        return output_log_reader_seek_seq(t->reader, t->seq + 1);
}

/* Reads the next record after `after` into t->pend: 1, 0 at the end of the log, or -errno. */
static int read_record(Attachment *t, uint64_t after, bool *reopened)
{
        for (;;) {
                OutputRecordHeader h;
                const void *data;
                int r;

                if (!t->reader) {
                        r = open_reader(t);
                        if (r < 0) {
                                t->reader = output_log_reader_free(t->reader);
                                return r;
                        }
                        *reopened = true;
                }
                r = output_log_reader_next(t->reader, &h, &data);
                if ((r == 0 || r == -EBADMSG) && !*reopened && told_seq(t) > after) {
                        /* the shim told of more than this reader sees (rotations faster than it followed,
                         * or a record it could not read): a new reader from our place */
                        t->reader = output_log_reader_free(t->reader);
                        continue;
                }
                if (r == -EBADMSG) {
                        /* what can be read ends here for now; the next pump opens it anew */
                        t->reader = output_log_reader_free(t->reader);
                        return 0;
                }
                if (r <= 0)
                        return r;
                if (h.seq <= after)
                        continue;
                if (h.len > PROTO_ATTACH_PUSH_MAX)
                        return -EBADMSG;
                memcpy(t->pend, data, h.len);
                t->pend_len = h.len;
                t->pend_seq = h.seq;
                t->has_pend = true;
                return 1;
        }
}

/* Builds the next push from the log (t->batch, ready when it advances the place): 0, or -errno. Records
 * the log no longer holds are told first, as `lost`. */
static int fill_batch(Attachment *t)
{
        uint64_t seq = t->seq;
        bool reopened = false;
        size_t n = 0;
        int r;

        for (;;) {
                uint64_t skip = 0;

                if (!t->has_pend || t->pend_seq <= seq) {
                        t->has_pend = false;
                        r = read_record(t, seq, &reopened);
                        if (r < 0 && n == 0)
                                return r;
                        if (r <= 0)
                                break;
                }
                if (t->pend_seq > seq + 1) {
                        if (n > 0)
                                break; /* the batch ends before the hole */
                        r = push_lost(t, seq + 1, t->pend_seq - 1);
                        if (r < 0)
                                return r;
                        seq = t->seq;
                }
                if (t->skip > 0 && n == 0)
                        skip = MIN(t->skip, (uint64_t)t->pend_len);
                if (n + t->pend_len - skip > PROTO_ATTACH_PUSH_MAX)
                        break; /* the next push starts with it */
                memcpy(t->batch + n, t->pend + skip, t->pend_len - skip);
                n += t->pend_len - skip;
                seq = t->pend_seq;
                t->skip = 0;
                t->has_pend = false;
        }
        t->batch_len = n;
        t->batch_seq = seq;
        t->batch_ready = seq > t->seq;
        return 0;
}

/* Sends what follows the attachment's place: 0 when all went, -EAGAIN when the queue is full (the push
 * waits in t->batch), -EHOSTUNREACH when the connection is gone, another -errno when the log cannot be
 * read. */
static int pump_one(Attachment *t)
{
        for (;;) {
                ProtoPush p = {.sub = t->id, .has_output = true};
                int r;

                if (!t->batch_ready) {
                        r = fill_batch(t);
                        if (r < 0)
                                return r;
                        if (!t->batch_ready)
                                return 0;
                }
                /* after fill_batch: a `lost` it pushed has moved the place */
                p.prev_seq = t->seq;
                p.output = (ProtoAttachOutput){.seq = t->batch_seq,
                                               .data = {.data = t->batch, .size = t->batch_len}};
                r = send_push(t, &p);
                if (r < 0)
                        return r;
                t->manager->stats.attach_pushed++;
                t->seq = t->batch_seq;
                t->batch_ready = false;
        }
}

static int on_retry(sd_event_source *source, uint64_t usec, void *userdata)
{
        Manager *m = userdata;
        Attachment *next;

        m->attachment_retry = sd_event_source_disable_unref(m->attachment_retry);
        for (Attachment *t = m->attachments; t; t = next) {
                next = t->next;
                if (t->blocked)
                        attachments_pump_agent(m, t->agent);
        }
        return 0;
}

static void arm_retry(Manager *m)
{
        int r;

        if (m->attachment_retry)
                return;
        r = sd_event_add_time_relative(m->event, &m->attachment_retry, CLOCK_MONOTONIC,
                                       ATTACHMENT_RETRY_USEC, 5 * USEC_PER_MSEC, on_retry, m);
        if (r < 0) {
                log_warning_errno(r, "Cannot arm the retry of blocked attachments: %m");
                return;
        }
        (void)sd_event_source_set_description(m->attachment_retry, "attachment-retry");
}

/* After a push failed: ends the attachment when its connection is gone (true), else notes a full queue. */
static bool handle_result(Attachment *t, int r)
{
        Manager *m = t->manager;

        if (r == -EHOSTUNREACH) {
                log_debug("Attachment %s ended: its connection is gone.", t->id);
                m->stats.attachments_dropped++;
                attachment_free(t);
                return true;
        }
        /* a full queue, or a log that could not be read now (opened while the shim rotates it, say): tried
         * again on the timer, from the same place */
        if (r < 0 && r != -EAGAIN)
                log_agent_debug_errno(t->agent, r,
                                      "Cannot send its output to attachment %s, trying again: %m", t->id);
        if (r == -EAGAIN && !t->blocked)
                m->stats.attach_blocked++;
        t->blocked = r < 0;
        if (t->blocked)
                arm_retry(m);
        return false;
}

void attachments_pump_agent(Manager *m, Agent *a)
{
        Attachment *next;

        for (Attachment *t = m->attachments; t; t = next) {
                next = t->next;
                if (t->agent == a && !t->exec)
                        (void)handle_result(t, pump_one(t));
        }
}

void attachments_pump_exec(Manager *m, Agent *a, ExecTty *x)
{
        Attachment *next;

        for (Attachment *t = m->attachments; t; t = next) {
                next = t->next;
                if (t->agent == a && t->exec == x)
                        (void)handle_result(t, pump_one(t));
        }
}

/* Its last push: what it has not had yet, as far as its queue takes it, then closed. */
static void close_attachment(Attachment *t, const ProtoAttachClosed *closed)
{
        ProtoPush p = {.sub = t->id, .has_closed = true, .closed = *closed};

        if (handle_result(t, pump_one(t)))
                return;
        p.prev_seq = t->seq;
        (void)send_push(t, &p);
        attachment_free(t);
}

void attachments_exec_ended(Manager *m, Agent *a, ExecTty *x)
{
        ProtoAttachClosed closed = {.reason = (char *)"exited"};
        Attachment *next;

        if (x->status >= 0 && WIFEXITED(x->status)) {
                closed.has_exit_code = true;
                closed.exit_code = WEXITSTATUS(x->status);
        } else if (x->status >= 0 && WIFSIGNALED(x->status)) {
                closed.has_signal = true;
                closed.signal = WTERMSIG(x->status);
        }
        for (Attachment *t = m->attachments; t; t = next) {
                next = t->next;
                if (t->agent == a && t->exec == x)
                        close_attachment(t, &closed);
        }
}

void attachments_agent_ended(Manager *m, Agent *a)
{
        Attachment *next;

        for (Attachment *t = m->attachments; t; t = next) {
                next = t->next;
                /* its commands' terminals too: they end with it */
                if (t->agent == a)
                        close_attachment(t, &(ProtoAttachClosed){.reason = (char *)"ended"});
        }
}

void attachments_heartbeat(Manager *m)
{
        Attachment *next;

        for (Attachment *t = m->attachments; t; t = next) {
                ProtoPush p = {.sub = t->id, .prev_seq = t->seq, .has_output = true};
                static const uint8_t empty[1];

                next = t->next;
                if (t->blocked)
                        continue;
                p.output = (ProtoAttachOutput){.seq = t->seq, .data = {.data = (uint8_t *)empty, .size = 0}};
                (void)handle_result(t, send_push(t, &p));
        }
}

void attachments_recheck_keys(Manager *m, bool (*key_valid)(Manager *m, const char *key, uid_t uid))
{
        Attachment *next;

        for (Attachment *t = m->attachments; t; t = next) {
                next = t->next;
                if (!t->curve_key[0] || key_valid(m, t->curve_key, t->uid))
                        continue;
                log_info("Ending the attachment of remote client key %s: it is no longer in the allow list "
                         "for uid %u.",
                         t->curve_key, (unsigned)t->uid);
                attachment_free(t);
        }
}

void attachments_free_all(Manager *m)
{
        while (m->attachments)
                attachment_free(m->attachments);
        m->attachment_retry = sd_event_source_disable_unref(m->attachment_retry);
}
