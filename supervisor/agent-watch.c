/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "agent-log.h"
#include "agent-record.h"
#include "agent-watch.h"
#include "events.h"
#include "fd-util.h"
#include "log.h"
#include "spawn.h"
#include "time-util.h"

/* The shim's report: EOF once it has exec'd, else where it failed. */
static int on_shim_exec(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        Agent *a = userdata;
        SpawnStage stage = SPAWN_STAGE_EXEC;
        char msg[256];
        int r;

        r = spawn_shim_report(fd, &stage);
        if (r == -EAGAIN)
                return 0;
        a->spawn_trace.shim_exec_ns = now_ns(CLOCK_MONOTONIC);
        a->shim.exec_report = sd_event_source_disable_unref(a->shim.exec_report);
        if (r >= 0)
                return 0;
        /* it exits by itself: its pidfd ends the agent with this message (agent_finalize) */
        (void)snprintf(msg, sizeof msg, "stage %s: %s", spawn_stage_to_string(stage) ?: "?", strerror(-r));
        log_agent_warning(a, "Failed to spawn: %s", msg);
        a->manager->stats.agents_spawn_failed++;
        a->end.spawn_failed = true;
        free(a->end.failed_msg);
        a->end.failed_msg = strdup(msg);
        {
                ProtoValue data = {};
                if (proto_event_data_encode(PROTO_EVENT_ERROR, &(ProtoEventData){.error.msg = msg}, &data) >=
                    0)
                        events_publish(a->manager, PROTO_EVENT_ERROR, a, NULL, NULL, &data);
                proto_value_done(&data);
        }
        (void)pidref_kill(&a->shim.pid, SIGKILL);
        return 0;
}

int agent_watch_shim_exec(Agent *a, int report_fd)
{
        int r;

        a->shim.exec_report = sd_event_source_disable_unref(a->shim.exec_report);
        r = fd_set_nonblock(report_fd, 1);
        if (r >= 0)
                r = sd_event_add_io(a->manager->event, &a->shim.exec_report, report_fd, EPOLLIN,
                                    on_shim_exec, a);
        if (r < 0) {
                safe_close(report_fd);
                return r;
        }
        (void)sd_event_source_set_io_fd_own(a->shim.exec_report, true);
        (void)sd_event_source_set_description(a->shim.exec_report, "agent-shim-exec");
        return 0;
}

static int on_shim_readable(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        Agent *a = userdata;
        siginfo_t si = {};

        /* how its start went, if not read yet: its failure names the stage */
        if (a->shim.exec_report)
                (void)on_shim_exec(a->shim.exec_report, sd_event_source_get_io_fd(a->shim.exec_report), 0,
                                   a);

        /* our own child (not after a restart): reap it here, nothing else will */
        if (waitid(P_PIDFD, (id_t)fd, &si, WEXITED | WNOHANG) >= 0 && si.si_pid > 0)
                log_agent_debug(a, "Shim pid %d ended (code %d, status %d).", (int)si.si_pid, si.si_code,
                                si.si_status);
        else
                log_agent_debug(a, "Shim pid %d ended.", (int)a->shim.pid.pid);
        a->shim.child_source = sd_event_source_disable_unref(a->shim.child_source);
        /* the last OUTPUT and EXITED may still wait in the socket: they come first */
        shim_link_drain(a);
        /* killed before it could report (its cgroup killed, a crash): its exit record, if any, says the rest
         */
        agent_finalize(a);
        agent_release_handles(a);
        return 0;
}

int agent_watch_shim(Agent *a)
{
        int r;

        if (!pidref_is_set(&a->shim.pid) || a->shim.pid.fd < 0)
                return -ESRCH;
        a->shim.child_source = sd_event_source_disable_unref(a->shim.child_source);
        /* edge-triggered: a pidfd is readable once, for good. Level-triggered, every ended shim not yet
         * handled would be polled again on each turn of the loop (one source is dispatched per turn), which
         * made stopping N agents at once cost N^2 polls. */
        r = sd_event_add_io(a->manager->event, &a->shim.child_source, a->shim.pid.fd, EPOLLIN | EPOLLET,
                            on_shim_readable, a);
        if (r < 0)
                return r;
        (void)sd_event_source_set_description(a->shim.child_source, "agent-shim-exit");
        return 0;
}

static int on_runtime_deadline(sd_event_source *s, uint64_t usec, void *userdata)
{
        Agent *a = userdata;

        a->timers.runtime_timer = sd_event_source_disable_unref(a->timers.runtime_timer);
        if (agent_state_is_ended(a->info.state) || a->info.state == PROTO_STATE_STOPPING)
                return 0;
        log_agent_info(a, "Reached its maximum run time, stopping it.");
        a->end.timed_out = true;
        (void)agent_stop(a, a->manager->config.stop_grace_usec);
        return 0;
}

int agent_arm_runtime_deadline(Agent *a, uint64_t deadline_usec)
{
        int r;

        a->timers.runtime_deadline_usec = deadline_usec;
        a->timers.runtime_timer = sd_event_source_disable_unref(a->timers.runtime_timer);
        if (deadline_usec == 0)
                return 0;
        r = sd_event_add_time(a->manager->event, &a->timers.runtime_timer, CLOCK_MONOTONIC, deadline_usec,
                              1000, on_runtime_deadline, a);
        if (r < 0)
                return log_agent_warning_errno(a, r, "Failed to arm its run time limit, ignoring: %m");
        (void)sd_event_source_set_description(a->timers.runtime_timer, "agent-runtime-limit");
        return 0;
}

static void kill_now(Agent *a)
{
        int r;

        if (!a->kernel.cg)
                return;
        r = cgroup_handle_kill(a->kernel.cg);
        if (r < 0) {
                log_agent_warning_errno(a, r, "Failed to kill its cgroup: %m");
                return;
        }
        a->end.cgroup_killed = true;
        agent_save_record(a);
}

static int on_stop_deadline(sd_event_source *s, uint64_t usec, void *userdata)
{
        Agent *a = userdata;

        a->timers.stop_timer = sd_event_source_disable_unref(a->timers.stop_timer);
        log_agent_info(a, "Did not end within its grace period, killing it.");
        kill_now(a);
        return 0;
}

int agent_arm_stop_deadline(Agent *a)
{
        int r;

        a->timers.stop_timer = sd_event_source_disable_unref(a->timers.stop_timer);
        if (a->end.kill_requested || a->timers.stop_deadline_usec == 0 ||
            a->timers.stop_deadline_usec <= now_usec(CLOCK_MONOTONIC)) {
                kill_now(a);
                return 0;
        }
        r = sd_event_add_time(a->manager->event, &a->timers.stop_timer, CLOCK_MONOTONIC,
                              a->timers.stop_deadline_usec, 1000, on_stop_deadline, a);
        if (r < 0) {
                kill_now(a);
                return r;
        }
        (void)sd_event_source_set_description(a->timers.stop_timer, "agent-stop-grace");
        return 0;
}
