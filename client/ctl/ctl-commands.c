/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "ctl-commands.h"
#include "ctl-output.h"
#include "ctl-resolve.h"
#include "fd-util.h"
#include "json-writer.h"
#include "log.h"
#include "time-util.h"

static bool json_mode(const Ctl *c)
{
        return c->args->format == CTL_FORMAT_JSON;
}

int ctl_report(const DescartesError *e, const char *context_fmt, ...)
{
        char context[512];
        va_list ap;

        va_start(ap, context_fmt);
        (void)vsnprintf(context, sizeof context, context_fmt, ap);
        va_end(ap);
        switch (e->kind) {
        case DESCARTES_ERROR_UNREACHABLE:
        case DESCARTES_ERROR_ACCESS:
        case DESCARTES_ERROR_TIMEOUT:
                log_error("%s.", e->message);
                break;
        case DESCARTES_ERROR_DAEMON:
                log_error("%s: %s (%s).", context, e->message,
                          proto_error_code_to_string(e->code) ?: "error");
                break;
        default:
                log_error("%s: %s.", context, e->message[0] ? e->message : strerror(-e->error));
                break;
        }
        return ctl_exit_from_error(e);
}

int ctl_resolve(Ctl *c, const char *ref, char **ret_id)
{
        _cleanup_(proto_list_result_done) ProtoListResult list = {};
        ProtoListArgs args = {.all = true};
        DescartesError e;
        char err[512];
        int r;

        if (ctl_ref_is_uuid(ref)) {
                *ret_id = strdup(ref);
                return *ret_id ? 0 : (log_oom(), CTL_EXIT_FAILURE);
        }
        r = descartes_list(c->client, &args, &list, &e);
        if (r < 0)
                return ctl_report(&e, "cannot look up agent \"%s\"", ref);
        r = ctl_resolve_ref(list.agents, list.n_agents, ref, err, sizeof err);
        if (r == -ENOTUNIQ) {
                log_error("%s.", err);
                return CTL_EXIT_USAGE;
        }
        if (r < 0) {
                log_error("%s.", err[0] ? err : "invalid agent reference");
                return CTL_EXIT_NOT_FOUND;
        }
        *ret_id = strdup(list.agents[r].id);
        return *ret_id ? 0 : (log_oom(), CTL_EXIT_FAILURE);
}

static void print_agent_json(const ProtoAgentInfo *i)
{
        JsonWriter w;

        json_writer_init(&w, stdout);
        ctl_json_agent(&w, i);
        fputc('\n', stdout);
}

/* The result of an op on one agent: its id for people and shell scripts, its record with -o json. */
static void print_agent_result(const Ctl *c, const ProtoAgentInfo *i)
{
        if (json_mode(c))
                print_agent_json(i);
        else
                printf("%s\n", i->id ?: "");
}

static int cmd_health(Ctl *c)
{
        _cleanup_(proto_health_result_done) ProtoHealthResult h = {};
        DescartesError e;

        if (descartes_health(c->client, &h, &e) < 0)
                return ctl_report(&e, "health check failed");
        if (json_mode(c)) {
                JsonWriter w;
                json_writer_init(&w, stdout);
                ctl_json_health(&w, &h);
                fputc('\n', stdout);
        } else
                ctl_print_health(stdout, &h);
        return 0;
}

static int cmd_shutdown(Ctl *c)
{
        DescartesError e;

        if (descartes_shutdown(c->client, c->args->stop_agents, &e) < 0)
                return ctl_report(&e, "shutdown failed");
        if (!json_mode(c))
                printf("descartesd is exiting%s.\n",
                       c->args->stop_agents ? " after stopping its agents" : "; its agents keep running");
        return 0;
}

static int cmd_ps(Ctl *c)
{
        _cleanup_(proto_list_result_done) ProtoListResult list = {};
        const CtlArgs *a = c->args;
        ProtoListArgs args = {
                .has_state = a->has_state,
                .state = a->state,
                .labels = a->labels,
                .all = a->all || (a->has_state && descartes_state_is_final(a->state)),
        };
        DescartesError e;

        if (descartes_list(c->client, &args, &list, &e) < 0)
                return ctl_report(&e, "cannot list agents");
        if (json_mode(c)) {
                JsonWriter w;
                json_writer_init(&w, stdout);
                json_writer_array_begin(&w);
                for (size_t i = 0; i < list.n_agents; i++)
                        ctl_json_agent(&w, &list.agents[i]);
                json_writer_array_end(&w);
                fputc('\n', stdout);
        } else
                ctl_print_ps_table(stdout, list.agents, list.n_agents, now_ns(CLOCK_REALTIME));
        return 0;
}

static int cmd_spawn(Ctl *c)
{
        _cleanup_(proto_agent_info_done) ProtoAgentInfo info = {}, final = {};
        const CtlArgs *a = c->args;
        DescartesError e;
        int r;

        if ((a->wait || a->attach) && descartes_subscribe(c->client, NULL, &c->presubscribed, NULL) < 0)
                c->presubscribed = NULL; /* then the wait re-reads the state instead */
        if (descartes_spawn(c->client, &a->spawn, &info, &e) < 0) {
                c->presubscribed = descartes_subscription_free(c->presubscribed);
                return ctl_report(&e, "cannot spawn %s", a->spawn.argv[0]);
        }
        print_agent_result(c, &info);
        (void)fflush(stdout);
        if (!a->wait && !a->attach)
                return 0;

        if (a->attach) {
                CtlStreamOptions o = {
                        .stream = PROTO_STREAM_BOTH,
                        .raw = true,
                        .follow = true,
                        .json = json_mode(c),
                };
                r = ctl_stream_output(c, info.id, &o, &final);
        } else
                r = ctl_wait_agent(c, info.id, &final);
        if (r != 0)
                return r;
        if (json_mode(c))
                print_agent_json(&final);
        return ctl_exit_from_agent(&final);
}

static int cmd_inspect(Ctl *c, const char *id)
{
        _cleanup_(proto_agent_info_done) ProtoAgentInfo info = {};
        DescartesError e;

        if (descartes_get(c->client, id, &info, &e) < 0)
                return ctl_report(&e, "cannot inspect agent %s", id);
        if (json_mode(c))
                print_agent_json(&info);
        else
                ctl_print_inspect(stdout, &info);
        return 0;
}

static int cmd_agent_op(Ctl *c, const char *id)
{
        _cleanup_(proto_agent_info_done) ProtoAgentInfo info = {};
        const CtlArgs *a = c->args;
        const char *verb = ctl_command_to_string(a->command);
        DescartesError e;
        int r;

        switch (a->command) {
        case CTL_COMMAND_PAUSE:
                r = descartes_pause(c->client, id, &info, &e);
                break;
        case CTL_COMMAND_RESUME:
                r = descartes_resume(c->client, id, &info, &e);
                break;
        case CTL_COMMAND_STOP:
                r = descartes_stop(c->client, id,
                                   a->has_grace ? (int64_t)MIN(a->grace_ms, (uint64_t)INT64_MAX) : -1, &info,
                                   &e);
                break;
        case CTL_COMMAND_KILL:
                r = descartes_kill(c->client, id, &info, &e);
                break;
        case CTL_COMMAND_SIGNAL:
                r = descartes_signal(c->client, id, a->signal, &info, &e);
                break;
        case CTL_COMMAND_RM:
                r = descartes_remove(c->client, id, &info, &e);
                break;
        default:
                log_error("internal error: %s is not an agent operation.", verb);
                return CTL_EXIT_FAILURE;
        }
        if (r < 0)
                return ctl_report(&e, "cannot %s agent %s", a->command == CTL_COMMAND_RM ? "remove" : verb,
                                  id);
        if (!info.id) /* a daemon that answers remove with an empty record still removed `id` */
                printf("%s\n", id);
        else
                print_agent_result(c, &info);
        return 0;
}

static int cmd_stdin(Ctl *c, const char *id)
{
        _cleanup_free_ uint8_t *buf = malloc(PROTO_STDIN_DATA_MAX);
        uint64_t total = 0;
        DescartesError e;

        if (!buf)
                return log_oom(), CTL_EXIT_FAILURE;
        for (;;) {
                ssize_t n = loop_read(STDIN_FILENO, buf, PROTO_STDIN_DATA_MAX);
                size_t off = 0;
                unsigned idle = 0;

                if (n < 0) {
                        log_error_errno((int)n, "Cannot read stdin: %m.");
                        return CTL_EXIT_FAILURE;
                }
                if (n == 0)
                        break;
                while (off < (size_t)n) {
                        uint64_t written = 0;

                        if (descartes_stdin(c->client, id, buf + off, (size_t)n - off, false, &written, &e) <
                            0)
                                return ctl_report(&e, "cannot write to the stdin of agent %s", id);
                        if (written == 0) {
                                /* The agent's pipe is full: the daemon takes no more until it reads. */
                                struct timespec ts = {.tv_nsec = 50 * NSEC_PER_MSEC};
                                if (++idle > 1200) {
                                        log_error("Agent %s has not read its stdin for a minute; giving up.",
                                                  id);
                                        return CTL_EXIT_TIMEOUT;
                                }
                                (void)nanosleep(&ts, NULL);
                                continue;
                        }
                        idle = 0;
                        written = MIN(written, (uint64_t)n - off);
                        off += written;
                        total += written;
                }
        }
        if (c->args->close_stdin && descartes_stdin(c->client, id, NULL, 0, true, NULL, &e) < 0)
                return ctl_report(&e, "cannot close the stdin of agent %s", id);
        if (json_mode(c)) {
                JsonWriter w;
                json_writer_init(&w, stdout);
                json_writer_object_begin(&w);
                json_writer_kv_string(&w, "agent", id);
                json_writer_kv_uint(&w, "written", total);
                json_writer_kv_bool(&w, "closed", c->args->close_stdin);
                json_writer_object_end(&w);
                fputc('\n', stdout);
        }
        return 0;
}

static int cmd_logs(Ctl *c, const char *id)
{
        const CtlArgs *a = c->args;
        CtlStreamOptions o = {
                .stream = a->stream,
                .raw = a->raw,
                .follow = a->follow,
                .has_tail = a->has_tail,
                .tail = a->tail,
                .grep = a->grep,
                .json = json_mode(c),
        };

        return ctl_stream_output(c, id, &o, NULL);
}

static void print_event(const Ctl *c, const ProtoEvent *ev)
{
        if (json_mode(c)) {
                JsonWriter w;
                json_writer_init(&w, stdout);
                ctl_json_event(&w, ev);
                fputc('\n', stdout);
        } else
                ctl_print_event(stdout, ev);
}

/* Replays [from, to] with the events op after a gap in the live stream. */
static int replay_gap(Ctl *c, uint64_t from, uint64_t to)
{
        while (from <= to) {
                _cleanup_(proto_events_result_done) ProtoEventsResult res = {};
                DescartesError e;

                if (descartes_events(c->client, from, MIN(to - from + 1, (uint64_t)PROTO_EVENTS_MAX), &res,
                                     &e) < 0)
                        return ctl_report(&e, "cannot replay missed events %llu..%llu",
                                          (unsigned long long)from, (unsigned long long)to);
                if (res.oldest_seq > from)
                        log_warning("Events %llu..%llu are no longer held by descartesd and were lost.",
                                    (unsigned long long)from,
                                    (unsigned long long)MIN(res.oldest_seq - 1, to));
                for (size_t i = 0; i < res.n_events; i++)
                        if (res.events[i].seq >= from && res.events[i].seq <= to)
                                print_event(c, &res.events[i]);
                if (res.n_events == 0 || res.next_seq <= from)
                        break;
                from = res.next_seq;
        }
        return 0;
}

static int cmd_events(Ctl *c, const char *id)
{
        DescartesSubscription *sub = NULL;
        DescartesError e;
        int r = 0;

        if (descartes_subscribe(c->client, id, &sub, &e) < 0)
                return ctl_report(&e, "cannot subscribe to events");
        for (;;) {
                ProtoEvent ev = {};
                uint64_t from, to;

                r = descartes_subscription_next(sub, UINT64_MAX, &ev, &e);
                if (r < 0) {
                        r = ctl_report(&e, "cannot receive events");
                        break;
                }
                if (r == 0)
                        continue;
                r = 0;
                if (descartes_subscription_get_gap(sub, &from, &to) > 0)
                        r = replay_gap(c, from, to);
                print_event(c, &ev);
                proto_event_done(&ev);
                (void)fflush(stdout);
                if (r != 0 || ferror(stdout))
                        break;
        }
        descartes_subscription_free(sub);
        return r;
}

int ctl_run(Ctl *c)
{
        const CtlArgs *a = c->args;
        int r = 0, ret = 0;

        switch (a->command) {
        case CTL_COMMAND_HEALTH:
                return cmd_health(c);
        case CTL_COMMAND_PS:
                return cmd_ps(c);
        case CTL_COMMAND_SHUTDOWN:
                return cmd_shutdown(c);
        case CTL_COMMAND_SPAWN:
                return cmd_spawn(c);
        case CTL_COMMAND_EVENTS:
                if (a->n_agents > 0) {
                        _cleanup_free_ char *id = NULL;
                        r = ctl_resolve(c, a->agents[0], &id);
                        return r != 0 ? r : cmd_events(c, id);
                }
                return cmd_events(c, NULL);
        case CTL_COMMAND_INSPECT:
        case CTL_COMMAND_PAUSE:
        case CTL_COMMAND_RESUME:
        case CTL_COMMAND_STOP:
        case CTL_COMMAND_KILL:
        case CTL_COMMAND_SIGNAL:
        case CTL_COMMAND_STDIN:
        case CTL_COMMAND_LOGS:
        case CTL_COMMAND_RM:
                /* rm goes on after a failure and exits with the first failure's code */
                for (size_t i = 0; i < a->n_agents; i++) {
                        _cleanup_free_ char *id = NULL;

                        r = ctl_resolve(c, a->agents[i], &id);
                        if (r == 0) {
                                if (a->command == CTL_COMMAND_INSPECT)
                                        r = cmd_inspect(c, id);
                                else if (a->command == CTL_COMMAND_STDIN)
                                        r = cmd_stdin(c, id);
                                else if (a->command == CTL_COMMAND_LOGS)
                                        r = cmd_logs(c, id);
                                else
                                        r = cmd_agent_op(c, id);
                        }
                        if (r != 0 && ret == 0)
                                ret = r;
                }
                return ret;
        case _CTL_COMMAND_MAX:
        case _CTL_COMMAND_INVALID:
        default:
                log_error("No command given.");
                return CTL_EXIT_USAGE;
        }
}
