/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "agent-health.h"
#include "agent-log.h"
#include "events.h"
#include "ops.h"
#include "string-util.h"
#include "time-util.h"

/* the shim kills a check at its timeout and answers; past this a check that never came back counts as failed
 */
#define CHECK_LOST_GRACE_USEC (5 * USEC_PER_SEC)

int agent_health_init(Agent *a, const ProtoHealthCheck *spawn)
{
        ProtoHealthCheck *h = &a->info.health_check;

        *h = *spawn;
        h->cmd = NULL;
        h->n_cmd = 0;
        if (spawn->n_cmd > 0) {
                if (strv_copy(spawn->cmd, &h->cmd) < 0)
                        return -ENOMEM;
                h->n_cmd = spawn->n_cmd;
        }
        if (h->n_cmd > 0) {
                if (!h->has_interval_ms)
                        h->interval_ms = PROTO_HEALTH_INTERVAL_DEFAULT_MS;
                if (!h->has_timeout_ms)
                        h->timeout_ms = PROTO_HEALTH_TIMEOUT_DEFAULT_MS;
                if (!h->has_retries)
                        h->retries = PROTO_HEALTH_RETRIES_DEFAULT;
                h->has_interval_ms = h->has_timeout_ms = h->has_retries = true;
        }
        h->has_on_unhealthy = true; /* none unless given */
        a->info.has_health_check = true;
        a->info.has_health = true;
        a->info.health = PROTO_HEALTH_STARTING;
        return 0;
}

static void act_on_unhealthy(Agent *a)
{
        int r = 0;

        if (a->health.acted || a->info.state != PROTO_STATE_RUNNING)
                return;
        switch (a->info.health_check.on_unhealthy) {
        case PROTO_ON_UNHEALTHY_STOP:
                log_agent_info(a, "Unhealthy: stopping it (on_unhealthy stop).");
                r = agent_stop(a, a->manager->config.stop_grace_usec);
                break;
        case PROTO_ON_UNHEALTHY_KILL:
                log_agent_info(a, "Unhealthy: killing it (on_unhealthy kill).");
                r = agent_kill(a);
                break;
        default:
                return;
        }
        a->health.acted = true;
        if (r < 0)
                log_agent_warning_errno(a, r, "Failed to act on its health: %m");
}

/* Sets the verdict; a change is published and saved, and unhealthy is acted upon. */
static void set_health(Agent *a, ProtoHealth health, const char *reason)
{
        ProtoHealth previous = a->info.health;
        ProtoValue data = {};

        free(a->info.health_last.reason);
        a->info.health_last.reason = reason ? strndup(reason, PROTO_HEALTH_REASON_MAX) : NULL;
        if (health == previous)
                return; /* health_last is saved with the next change */
        a->info.health = health;
        log_agent_info(a, "Health %s -> %s%s%s.", proto_health_to_string(previous),
                       proto_health_to_string(health), reason ? ": " : "", reason ?: "");
        if (proto_event_data_encode(PROTO_EVENT_HEALTH_CHANGED,
                                    &(ProtoEventData){.health_changed = {.health = health,
                                                                         .has_previous = true,
                                                                         .previous = previous,
                                                                         .reason = (char *)reason}},
                                    &data) >= 0)
                events_publish(a->manager, PROTO_EVENT_HEALTH_CHANGED, a, NULL, NULL, &data);
        proto_value_done(&data);
        agent_save_record(a);
        if (health == PROTO_HEALTH_UNHEALTHY)
                act_on_unhealthy(a);
}

/* The verdict from the command's failures in a row and the idle rule. */
static void judge(Agent *a, bool checked_ok)
{
        const ProtoHealthCheck *h = &a->info.health_check;
        char reason[PROTO_HEALTH_REASON_MAX];

        if (a->health.idle) {
                (void)snprintf(reason, sizeof reason, "no output for %llu ms",
                               (unsigned long long)h->idle_timeout_ms);
                set_health(a, PROTO_HEALTH_UNHEALTHY, reason);
                return;
        }
        if (h->n_cmd > 0 && a->info.health_last.failures >= h->retries) {
                if (a->info.health_last.has_exit_code)
                        (void)snprintf(reason, sizeof reason,
                                       "the check failed %llu times in a row (exit code %d)",
                                       (unsigned long long)a->info.health_last.failures,
                                       a->info.health_last.exit_code);
                else
                        (void)snprintf(reason, sizeof reason, "the check failed %llu times in a row%s",
                                       (unsigned long long)a->info.health_last.failures,
                                       a->info.health_last.timed_out ? " (timed out)" : "");
                set_health(a, PROTO_HEALTH_UNHEALTHY, reason);
                return;
        }
        /* healthy once a check passed (or, without a command, once it wrote output); a failure below the
         * retries keeps the verdict it had */
        if (checked_ok)
                set_health(a, PROTO_HEALTH_HEALTHY, NULL);
}

static int arm(Agent *a, sd_event_source **s, uint64_t usec, sd_event_time_handler_t handler,
               const char *what)
{
        int r;

        *s = sd_event_source_disable_unref(*s);
        r = sd_event_add_time(a->manager->event, s, CLOCK_MONOTONIC, usec, 10 * USEC_PER_MSEC, handler, a);
        if (r < 0) {
                log_agent_warning_errno(a, r, "Cannot arm its %s timer, its health is no longer checked: %m",
                                        what);
                return r;
        }
        (void)sd_event_source_set_description(*s, what);
        return 0;
}

static int on_check_timer(sd_event_source *s, uint64_t usec, void *userdata);

static void check_failed(Agent *a, const char *why)
{
        ProtoHealthLast *l = &a->info.health_last;

        l->ts_ns = now_ns(CLOCK_REALTIME);
        l->has_exit_code = false;
        l->timed_out = false;
        proto_bytes_done(&l->output);
        l->output.data = (uint8_t *)strdup(why);
        l->output.size = l->output.data ? strlen(why) : 0;
        l->failures++;
        a->info.has_health_last = true;
        judge(a, false);
}

static int on_check_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
        Agent *a = userdata;
        const ProtoHealthCheck *h = &a->info.health_check;
        uint64_t now = now_usec(CLOCK_MONOTONIC);
        Failure fail = {};
        int r;

        if (arm(a, &a->health.check_timer, now + h->interval_ms * USEC_PER_MSEC, on_check_timer,
                "agent-health-check") < 0)
                return 0;
        if (a->health.cookie != 0 &&
            now < a->health.sent_usec + h->timeout_ms * USEC_PER_MSEC + CHECK_LOST_GRACE_USEC)
                return 0; /* the previous check still runs (an interval shorter than its timeout) */
        if (a->health.cookie != 0) {
                /* the previous check has not come back, well past its timeout: its shim lost it */
                a->health.cookie = 0;
                check_failed(a, "the check did not come back from the agent's shim");
                return 0;
        }
        if (a->info.state != PROTO_STATE_RUNNING)
                return 0; /* paused (frozen), stopping: no check, no verdict */
        r = op_exec_check_shim(a, "run its health check", &fail);
        if (r < 0) {
                check_failed(a, fail.msg);
                return 0;
        }
        a->health.cookie = ++a->next_exec_cookie;
        a->health.sent_usec = now;
        r = shim_link_send_exec(a, a->health.cookie, h->cmd, NULL, 0, (uint32_t)h->timeout_ms);
        if (r < 0) {
                a->health.cookie = 0;
                check_failed(a, "the check could not be passed to the agent's shim");
        }
        return 0;
}

static int on_idle_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
        Agent *a = userdata;
        uint64_t now = now_usec(CLOCK_MONOTONIC),
                 idle = a->info.health_check.idle_timeout_ms * USEC_PER_MSEC;

        if (a->info.state != PROTO_STATE_RUNNING) {
                /* a frozen agent writes nothing: its idle time counts from its resume */
                a->health.last_output_usec = now;
                (void)arm(a, &a->health.idle_timer, now + idle, on_idle_timer, "agent-health-idle");
                return 0;
        }
        if (now < a->health.last_output_usec + idle) {
                (void)arm(a, &a->health.idle_timer, a->health.last_output_usec + idle, on_idle_timer,
                          "agent-health-idle");
                return 0;
        }
        a->health.idle_timer = sd_event_source_disable_unref(a->health.idle_timer);
        a->health.idle = true;
        a->info.health_last.ts_ns = now_ns(CLOCK_REALTIME);
        a->info.has_health_last = true;
        judge(a, false);
        return 0;
}

void agent_health_start(Agent *a)
{
        const ProtoHealthCheck *h = &a->info.health_check;
        uint64_t now = now_usec(CLOCK_MONOTONIC);

        if (!a->info.has_health_check || agent_state_is_ended(a->info.state))
                return;
        if (h->n_cmd > 0 && !a->health.check_timer)
                (void)arm(a, &a->health.check_timer, now + h->interval_ms * USEC_PER_MSEC, on_check_timer,
                          "agent-health-check");
        if (h->has_idle_timeout_ms && !a->health.idle_timer && !a->health.idle) {
                a->health.last_output_usec = now;
                (void)arm(a, &a->health.idle_timer, now + h->idle_timeout_ms * USEC_PER_MSEC, on_idle_timer,
                          "agent-health-idle");
        }
}

void agent_health_output(Agent *a)
{
        const ProtoHealthCheck *h = &a->info.health_check;
        const ProtoHealthLast *l = &a->info.health_last;
        bool was_idle;

        if (!a->info.has_health_check || !h->has_idle_timeout_ms || agent_state_is_ended(a->info.state))
                return;
        a->health.last_output_usec = now_usec(CLOCK_MONOTONIC);
        was_idle = a->health.idle;
        a->health.idle = false;
        if (h->n_cmd == 0) {
                /* without a command, output is the sign of life (also for a verdict a previous daemon
                 * left) */
                if (a->info.health != PROTO_HEALTH_HEALTHY)
                        judge(a, true);
        } else if (was_idle)
                /* back to what the checks say: healthy if the last one passed */
                judge(a, l->failures == 0 && l->has_exit_code && l->exit_code == 0 && !l->timed_out);
        if (was_idle)
                agent_health_start(a);
}

bool agent_health_exec_done(Agent *a, const ShimMsg *m)
{
        const ShimMsgExecDone *d = &m->exec_done;
        ProtoHealthLast *l = &a->info.health_last;
        bool ok;

        if (a->health.cookie == 0 || d->cookie != a->health.cookie)
                return false;
        a->health.cookie = 0;
        if (agent_state_is_ended(a->info.state))
                return true;
        if (d->error == EBUSY)
                return true; /* the agent runs SHIM_EXEC_MAX commands of exec: no check this time, no verdict
                              */
        if (d->error != 0) {
                char why[256];
                (void)snprintf(why, sizeof why, "the check did not start: stage %s: %s",
                               shim_stage_to_string(d->stage), strerror(d->error));
                check_failed(a, why);
                return true;
        }
        l->ts_ns = now_ns(CLOCK_REALTIME);
        l->has_exit_code = d->status >= 0 && WIFEXITED(d->status);
        l->exit_code = l->has_exit_code ? WEXITSTATUS(d->status) : 0;
        l->timed_out = d->timed_out != 0;
        proto_bytes_done(&l->output);
        l->output.size = MIN(m->data_size + m->data2_size, (size_t)PROTO_HEALTH_OUTPUT_MAX);
        l->output.data = malloc(l->output.size + 1);
        if (l->output.data) {
                size_t n1 = MIN(m->data_size, l->output.size);
                memcpy(l->output.data, m->data, n1);
                memcpy(l->output.data + n1, m->data2, l->output.size - n1);
        } else
                l->output.size = 0;
        a->info.has_health_last = true;
        ok = l->has_exit_code && l->exit_code == 0 && !l->timed_out;
        l->failures = ok ? 0 : l->failures + 1;
        judge(a, ok);
        return true;
}

void agent_health_stop(Agent *a)
{
        a->health.check_timer = sd_event_source_disable_unref(a->health.check_timer);
        a->health.idle_timer = sd_event_source_disable_unref(a->health.idle_timer);
        a->health.cookie = 0;
}
