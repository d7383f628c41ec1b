/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The control socket to one agent's shim (shim-contract.h): SOCK_SEQPACKET, one message per
 * packet. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "adopt.h"
#include "agent-health.h"
#include "agent-log.h"
#include "agent.h"
#include "attachment.h"
#include "events.h"
#include "log.h"
#include "shim-version.h"
#include "spawn-trace.h"
#include "time-util.h"

#define SHIM_LINK_BATCH            32
#define OUTPUT_EVENT_INTERVAL_USEC (200 * USEC_PER_MSEC)

static int send_packet(Agent *a, const void *buf, size_t n);

/* New terminal output was logged: the attached clients get it now. */
static void tty_output(Agent *a, uint64_t last_seq)
{
        if (!a->info.tty)
                return;
        a->tty_last_seq = MAX(a->tty_last_seq, last_seq);
        attachments_pump_agent(a->manager, a);
}

static void publish_output(Agent *a)
{
        ProtoEventData d = {.output = {
                                    .seq_first = a->output.first_seq,
                                    .seq_last = a->output.last_seq,
                                    .bytes = a->output.bytes_pending,
                                    .stdout_bytes = a->output.stdout_bytes,
                                    .stderr_bytes = a->output.stderr_bytes,
                                    .dropped_bytes = a->output.dropped_bytes,
                            }};
        ProtoValue data = {};

        if (a->output.first_seq == 0)
                return;
        if (proto_event_data_encode(PROTO_EVENT_OUTPUT, &d, &data) >= 0)
                events_publish(a->manager, PROTO_EVENT_OUTPUT, a, NULL, NULL, &data);
        proto_value_done(&data);
        a->output.announced_seq = a->output.last_seq;
        a->output.first_seq = a->output.last_seq = a->output.bytes_pending = 0;
        a->output.last_publish_usec = now_usec(CLOCK_MONOTONIC);
}

static int on_output_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
        Agent *a = userdata;

        a->timers.output_timer = sd_event_source_disable_unref(a->timers.output_timer);
        publish_output(a);
        return 0;
}

static void handle_output(Agent *a, const ShimMsgOutput *o)
{
        uint64_t total_before = a->output.stdout_bytes + a->output.stderr_bytes;
        uint64_t now = now_usec(CLOCK_MONOTONIC);

        if (o->last_seq < o->first_seq) {
                /* nothing new was logged, only counted (output dropped: a full disk) */
                a->output.stdout_bytes = MAX(a->output.stdout_bytes, o->stdout_bytes);
                a->output.stderr_bytes = MAX(a->output.stderr_bytes, o->stderr_bytes);
                a->output.dropped_bytes = o->dropped_bytes;
                return;
        }
        if (a->output.first_seq == 0)
                a->output.first_seq = o->first_seq;
        a->output.last_seq = o->last_seq;
        if (o->stdout_bytes + o->stderr_bytes > total_before)
                a->output.bytes_pending += o->stdout_bytes + o->stderr_bytes - total_before;
        a->output.stdout_bytes = o->stdout_bytes;
        a->output.stderr_bytes = o->stderr_bytes;
        a->output.dropped_bytes = o->dropped_bytes;
        /* covers a TTY_OUTPUT the shim could not send */
        tty_output(a, o->last_seq);
        agent_health_output(a);

        if (now >= a->output.last_publish_usec + OUTPUT_EVENT_INTERVAL_USEC) {
                publish_output(a);
                return;
        }
        if (!a->timers.output_timer &&
            sd_event_add_time(a->manager->event, &a->timers.output_timer, CLOCK_MONOTONIC,
                              a->output.last_publish_usec + OUTPUT_EVENT_INTERVAL_USEC, 10 * USEC_PER_MSEC,
                              on_output_timer, a) >= 0)
                (void)sd_event_source_set_description(a->timers.output_timer, "agent-output-event");
}

static void handle_stdin_ack(Agent *a, const ShimMsgStdinAck *ack)
{
        if (ack->result == -EPIPE)
                a->stdin_open = false;
        agent_notify(a, &(AgentNotice){.type = AGENT_NOTICE_STDIN_ACK,
                                       .cookie = ack->cookie,
                                       .result = ack->result});
}

static void handle_action_reply(Agent *a, const ShimMsg *m)
{
        bool taken = false;

        agent_notify(a, &(AgentNotice){.type = AGENT_NOTICE_ACTION_REPLY,
                                       .cookie = m->action_reply.token,
                                       .result = m->action_reply.status,
                                       .data = (const char *)m->data,
                                       .size = m->data_size,
                                       .taken = &taken});
        if (!taken && m->action_reply.status == 0) {
                a->action.late++;
                log_agent_debug(a, "Dropped an action's answer that no request waits for (any more).");
        }
}

static void handle_started(Agent *a, const ShimMsgStarted *s)
{
        bool changed;

        a->spawn_trace.started_ns = now_ns(CLOCK_MONOTONIC);
        a->ns_pid = s->agent_pid;
        a->info.started_ns = s->started_ns ?: now_ns(CLOCK_REALTIME);
        a->info.has_started_ns = true;
        a->info.has_spawn_us = true;
        a->info.spawn_us = now_usec(CLOCK_MONOTONIC) - a->spawn_arrived_usec;
        metrics_histogram_observe(&a->manager->stats.spawn, a->info.spawn_us);
        changed = agent_state_set(a, AGENT_EVENT_STARTED) > 0;
        /* the reply first; its status_changed event and the record right after it */
        agent_notify(a, &(AgentNotice){.type = AGENT_NOTICE_STARTED});
        a->spawn_trace.replied_ns = now_ns(CLOCK_MONOTONIC);
        if (changed) {
                agent_state_publish(a, a->info.state);
                agent_save_record(a);
        }
        log_agent_info(a, "Running (pid %d in its namespace, %llu us after the request).", a->ns_pid,
                       (unsigned long long)a->info.spawn_us);
        spawn_trace_log(a, &s->trace);
        agent_health_start(a);
}

static void handle_spawn_failed(Agent *a, const ShimMsgSpawnFailed *f)
{
        ProtoValue data = {};
        char msg[256];

        a->end.spawn_failed = true;
        a->end.failed_stage = f->stage;
        a->end.failed_error = f->error;
        (void)snprintf(msg, sizeof msg, "stage %s: %s", shim_stage_to_string(f->stage), strerror(f->error));
        free(a->end.failed_msg);
        a->end.failed_msg = strdup(msg);
        if (proto_event_data_encode(PROTO_EVENT_ERROR, &(ProtoEventData){.error.msg = msg}, &data) >= 0)
                events_publish(a->manager, PROTO_EVENT_ERROR, a, NULL, NULL, &data);
        proto_value_done(&data);
        /* the agent has ended here: the state turns `failed` before the spawn is answered, not once the shim
         * has gone too (a client's `get` right after the reply sees what the reply said) */
        agent_finalize(a);
}

static int send_welcome(Agent *a, uint32_t version)
{
        ShimMsgWelcome msg = {
                .h = {.type = SHIM_MSG_WELCOME, .size = sizeof msg},
                .version = version,
        };

        return send_packet(a, &msg, sizeof msg);
}

static void handle_hello(Agent *a, const ShimMsgHello *msg, size_t n)
{
        Failure fail = {};
        uint32_t min, max, v;
        int r;

        shim_version_range(msg, n, &min, &max);
        r = shim_version_negotiate(min, max, &v);
        if (r < 0) {
                log_agent_error(
                        a,
                        "Its shim speaks shim protocol versions %" PRIu32 "..%" PRIu32
                        ", this descartesd %u..%u: no common version. The agent is left running and "
                        "watched, but it cannot be signalled or fed stdin through its shim; stop and "
                        "kill end it through its cgroup.",
                        min, max, SHIM_PROTOCOL_VERSION_MIN, SHIM_PROTOCOL_VERSION);
                a->manager->stats.shim_protocol_errors++;
                a->shim.version = 0;
                (void)failure_set(&fail, r, PROTO_ERROR_INTERNAL,
                                  "the agent's shim speaks no protocol version of this descartesd");
                agent_notify(a, &(AgentNotice){.type = AGENT_NOTICE_SPAWN_FAILED, .failure = &fail});
                shim_link_detach(a);
                return;
        }
        a->shim.version = v;
        if (a->adopted)
                /* test-shim-version greps this line */
                log_agent_info(a,
                               "speaking shim protocol version %" PRIu32 " with its shim (it speaks %" PRIu32
                               "..%" PRIu32 ", descartesd %u..%u).",
                               v, min, max, SHIM_PROTOCOL_VERSION_MIN, SHIM_PROTOCOL_VERSION);
        /* a version 1 shim has no WELCOME */
        if (v >= 2 && send_welcome(a, v) < 0)
                log_agent_debug(a, "Failed to send WELCOME to its shim.");
        /* a new connection starts without streaming: clients still attached want it back */
        if (v >= 4 && a->info.tty && attachment_count_agent(a->manager, a) > 0 &&
            shim_link_send(
                    a,
                    &(ShimMsgTtyStream){.h = {.type = SHIM_MSG_TTY_STREAM, .size = sizeof(ShimMsgTtyStream)},
                                        .on = 1},
                    sizeof(ShimMsgTtyStream)) < 0)
                log_agent_debug(a, "Failed to ask its shim to stream.");
        /* before the agent starts its stdin pipe does not exist yet: only a later HELLO (a reconnection)
         * tells its state */
        if (msg->state != SHIM_STATE_STARTING)
                a->stdin_open = msg->stdin_open;
        adopt_hello(a, msg);
        /* a re-adopted agent's checks resume (a no-op while it starts or once they run) */
        if (a->info.state != PROTO_STATE_STARTING)
                agent_health_start(a);
}

static int handle_packet(Agent *a, const void *buf, size_t n)
{
        ShimMsg m;
        int r;

        /* A message may have grown at its end (shim-contract.h): the decoder takes the fields we know, 0 for
         * those not sent. */
        r = shim_msg_decode(buf, n, &m);
        if (r == -EOPNOTSUPP)
                return 0; /* unknown types are ignored */
        if (r < 0)
                return r;

        switch (m.type) {
        case SHIM_MSG_HELLO:
                handle_hello(a, &m.hello, m.size);
                return 0;
        case SHIM_MSG_STARTED:
                handle_started(a, &m.started);
                return 0;
        case SHIM_MSG_SPAWN_FAILED:
                handle_spawn_failed(a, &m.spawn_failed);
                return 0;
        case SHIM_MSG_OUTPUT:
                handle_output(a, &m.output);
                return 0;
        case SHIM_MSG_STDIN_ACK:
                handle_stdin_ack(a, &m.stdin_ack);
                return 0;
        case SHIM_MSG_EXEC_DONE:
                if (agent_health_exec_done(a, &m))
                        return 0;
                if (a->shim.version >= SHIM_VERSION_EXEC_TTY && exec_tty_done(a, &m))
                        return 0;
                agent_notify(a, &(AgentNotice){.type = AGENT_NOTICE_EXEC_DONE,
                                               .cookie = m.exec_done.cookie,
                                               .exec_done = &m});
                return 0;
        case SHIM_MSG_TTY_OUTPUT:
                if (a->shim.version >= 4)
                        tty_output(a, m.tty_output.last_seq);
                return 0;
        case SHIM_MSG_ACTION_STATE:
                if (a->shim.version >= 4) {
                        a->action.ready = m.action_state.ready != 0;
                        a->action.shim_dropped = m.action_state.dropped;
                }
                return 0;
        case SHIM_MSG_ACTION_REPLY:
                handle_action_reply(a, &m);
                return 0;
        case SHIM_MSG_EXEC_TTY_OUTPUT:
                if (a->shim.version >= SHIM_VERSION_EXEC_TTY)
                        exec_tty_output(a, &m.exec_tty_output);
                return 0;
        case SHIM_MSG_EXEC_TTY_LIST:
                if (a->shim.version >= SHIM_VERSION_EXEC_TTY)
                        exec_tty_list(a, &m);
                return 0;
        case SHIM_MSG_EXITED:
                if (m.exited.rec.magic == SHIM_EXIT_MAGIC) {
                        a->end.exit_record = m.exited.rec;
                        a->end.have_exit_record = true;
                }
                publish_output(a);
                agent_finalize(a);
                return 0;
        default:
                return 0; /* the shim's own messages: not for us */
        }
}

/* Handles up to budget packets; 1 when there may be more. */
static int read_packets(Agent *a, int fd, unsigned budget)
{
        static uint8_t buf[SHIM_MSG_MAX];
        bool reset = false;

        for (; budget > 0; budget--) {
                ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT | MSG_TRUNC);
                int r;

                if (n < 0) {
                        if (errno == EAGAIN || errno == EINTR)
                                return 0;
                        /* A shim that exits before reading what we sent it last (a WELCOME to a shim whose
                         * agent ended at once) resets the connection; the kernel says so once, and what the
                         * shim sent before (STARTED, EXITED) is still queued behind it: read on. */
                        if (errno == ECONNRESET && !reset) {
                                reset = true;
                                continue;
                        }
                        log_agent_debug_errno(a, -errno, "Failed to read from its shim's socket: %m");
                        shim_link_detach(a);
                        return 0;
                }
                if (n == 0) {
                        /* the shim closed its end: it is exiting; its pidfd tells the rest */
                        shim_link_detach(a);
                        return 0;
                }
                if ((size_t)n > sizeof buf) {
                        a->manager->stats.shim_protocol_errors++;
                        continue;
                }
                r = handle_packet(a, buf, (size_t)n);
                if (r < 0) {
                        a->manager->stats.shim_protocol_errors++;
                        log_agent_debug_errno(a, r,
                                              "Failed to decode a message from its shim, ignoring: %m");
                }
                if (a->shim.control_fd < 0)
                        return 0;
        }
        return 1;
}

static int on_control(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        Agent *a = userdata;

        /* edge-triggered (shim_link_attach): a full batch leaves packets behind, so re-arm, which makes the
         * kernel look again and queue the socket behind the others that are ready */
        if (read_packets(a, fd, SHIM_LINK_BATCH) > 0 && a->shim.control_source == s)
                (void)sd_event_source_set_io_events(s, EPOLLIN | EPOLLET);
        return 0;
}

void shim_link_drain(Agent *a)
{
        /* bounded: a shim sends at most a few packets after its agent ended */
        for (unsigned i = 0; i < 64 && a->shim.control_fd >= 0 && !agent_state_is_ended(a->info.state); i++)
                if (read_packets(a, a->shim.control_fd, SHIM_LINK_BATCH) == 0)
                        break;
}

void shim_link_flush_output(Agent *a)
{
        a->timers.output_timer = sd_event_source_disable_unref(a->timers.output_timer);
        publish_output(a);
}

int shim_link_attach(Agent *a, int fd)
{
        /* room for a whole stdin request (PROTO_STDIN_DATA_MAX in SHIM_MSG_MAX packets, with the kernel's
         * per-packet overhead), so that its chunks are not refused by our own send buffer; memory is only
         * used while packets wait */
        int sndbuf = 4 * PROTO_STDIN_DATA_MAX;
        int r;

        if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof sndbuf) < 0)
                (void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);

        /* edge-triggered: thousands of shims that report at once (a stop of all) would otherwise each be
         * polled again on every turn of the loop until dispatched */
        r = sd_event_add_io(a->manager->event, &a->shim.control_source, fd, EPOLLIN | EPOLLET, on_control,
                            a);
        if (r < 0)
                return r;
        (void)sd_event_source_set_description(a->shim.control_source, "agent-shim-control");
        a->shim.control_fd = fd;
        return 0;
}

void shim_link_detach(Agent *a)
{
        a->shim.control_source = sd_event_source_disable_unref(a->shim.control_source);
        a->shim.control_fd = safe_close(a->shim.control_fd);
        a->shim.version = 0;
        a->action.ready = false; /* the next connection's ACTION_STATE tells */
        exec_ttys_unknown(a);    /* and its EXEC_TTY_LIST */
        a->timers.output_timer = sd_event_source_disable_unref(a->timers.output_timer);
}

static int send_packet(Agent *a, const void *buf, size_t n)
{
#if SHIM_MSG_TEST_TAIL > 0
        uint8_t grown[256];
        ShimMsgHeader h;

        memcpy(&h, buf, sizeof h);
        if (!shim_msg_type_has_data(h.type) && n + SHIM_MSG_TEST_TAIL <= sizeof grown) {
                n = shim_msg_grow_for_test(grown, buf, n);
                buf = grown;
        }
#endif
        if (a->shim.control_fd < 0)
                return -ENOTCONN;
        if (send(a->shim.control_fd, buf, n, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
                return -errno;
        return 0;
}

int shim_link_send(Agent *a, const void *msg, size_t n)
{
        return send_packet(a, msg, n);
}

int shim_link_send_tty_input(Agent *a, const void *data, size_t size)
{
        _cleanup_free_ uint8_t *buf = NULL;
        ShimMsgTtyInput msg = {.h = {.type = SHIM_MSG_TTY_INPUT, .size = (uint32_t)(sizeof msg + size)}};

        if (size > SHIM_STDIN_CHUNK_MAX)
                return -EMSGSIZE;
        buf = malloc(sizeof msg + size);
        if (!buf)
                return -ENOMEM;
        memcpy(buf, &msg, sizeof msg);
        memcpy(buf + sizeof msg, data, size);
        return send_packet(a, buf, sizeof msg + size);
}

int shim_link_send_signal(Agent *a, int sig)
{
        ShimMsgSignal msg = {
                .h = {.type = SHIM_MSG_SIGNAL, .size = sizeof msg},
                .signal = sig,
        };

        return send_packet(a, &msg, sizeof msg);
}

int shim_link_send_stdin(Agent *a, uint64_t cookie, const void *data, size_t size, bool close_after,
                         bool continues)
{
        _cleanup_free_ uint8_t *buf = NULL;
        ShimMsgStdin msg = {
                .h = {.type = SHIM_MSG_STDIN, .size = (uint32_t)(sizeof msg + size)},
                .cookie = cookie,
                .close = close_after,
                .continues = continues,
        };

        if (size > SHIM_STDIN_CHUNK_MAX)
                return -EMSGSIZE;
        buf = malloc(sizeof msg + size);
        if (!buf)
                return -ENOMEM;
        memcpy(buf, &msg, sizeof msg);
        if (size > 0)
                memcpy(buf + sizeof msg, data, size);
        return send_packet(a, buf, sizeof msg + size);
}

int shim_link_send_exec(Agent *a, uint64_t cookie, char *const *argv, const void *stdin_data,
                        size_t stdin_size, uint32_t timeout_ms)
{
        _cleanup_free_ uint8_t *buf = NULL;
        size_t argv_size = 0, off;
        ShimMsgExec msg;

        for (char *const *p = argv; *p; p++)
                argv_size += strlen(*p) + 1;
        if (argv_size > SHIM_EXEC_ARGV_MAX || stdin_size > SHIM_EXEC_STDIN_MAX)
                return -E2BIG;
        msg = (ShimMsgExec){
                .h = {.type = SHIM_MSG_EXEC, .size = (uint32_t)(sizeof msg + argv_size + stdin_size)},
                .cookie = cookie,
                .timeout_ms = timeout_ms,
                .argv_size = (uint32_t)argv_size,
                .stdin_size = (uint32_t)stdin_size,
        };
        buf = malloc(msg.h.size);
        if (!buf)
                return -ENOMEM;
        memcpy(buf, &msg, sizeof msg);
        off = sizeof msg;
        for (char *const *p = argv; *p; p++) {
                size_t n = strlen(*p) + 1;
                memcpy(buf + off, *p, n);
                off += n;
        }
        if (stdin_size > 0)
                memcpy(buf + off, stdin_data, stdin_size);
        return send_packet(a, buf, msg.h.size);
}

int shim_link_send_action(Agent *a, uint64_t token, uint32_t timeout_ms, uint32_t flags, const char *line,
                          size_t size)
{
        _cleanup_free_ uint8_t *buf = NULL;
        ShimMsgAction msg = {
                .h = {.type = SHIM_MSG_ACTION, .size = (uint32_t)(sizeof msg + size)},
                .token = token,
                .timeout_ms = timeout_ms,
                .flags = flags,
        };

        if (size > SHIM_ACTION_LINE_MAX)
                return -EMSGSIZE;
        buf = malloc(sizeof msg + size);
        if (!buf)
                return -ENOMEM;
        memcpy(buf, &msg, sizeof msg);
        if (size > 0)
                memcpy(buf + sizeof msg, line, size);
        return send_packet(a, buf, sizeof msg + size);
}
