/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The systemd driver of sandbox/cgroup-backend.h: systemd makes and limits the cgroups, over D-Bus
 * (StartTransientUnit, SetUnitProperties, StopUnit on the manager); everything else is the cgroupfs driver
 * on the cgroups systemd made (cgroup-fs.h, a layout of units).
 *
 *   descartes.slice/                                  the subtree (started at setup)
 *   descartes.slice/descartes-uUID.slice/             a tenant: CPUQuota=, MemoryMax=, ... of its quota
 *   descartes.slice/descartes-uUID.slice/descartes-ID.scope/         one agent (Delegate=yes, the limits)
 *   descartes.slice/descartes-uUID.slice/descartes-ID.scope/holder/  descartes-cgroup-holder
 *   descartes.slice/descartes-uUID.slice/descartes-ID.scope/agent/   AGENT, with shim/ and payload/
 *
 * A scope cannot start empty: the daemon starts descartes-cgroup-holder (a child of its own parent, PID 1,
 * which reaps it) and hands its pid to the scope, then moves it into holder/. It keeps the scope alive from
 * spawn to remove, whatever the agent does, so that the daemon reads the agent's last counters (an OOM kill)
 * before systemd takes the cgroup away, and across daemon restarts (scopes are not the daemon's unit).
 * Remove stops the scope. The limits are AGENT's parent's (the scope's): AGENT holds all the agent's
 * processes, the holder uses nothing.
 *
 * The bus is attached to the daemon's event loop. An agent's units are created without blocking it
 * (cgroup_backend_create_async(), cgroup-systemd-create.c): the calls' replies and their jobs' JobRemoved
 * signals come back on the loop, which serves other requests meanwhile; only setup (descartes.slice, before
 * the daemon serves) waits. See docs/descartesd.8.scd, CGROUP LAYOUT. */

#include <systemd/sd-event.h>

#include "cgroup-backend.h"

/* 1 if systemd runs the host and this process runs in one of its units (the default driver then), 0 if
 * not. */
int cgroup_systemd_usable(void);

/* Connects to systemd (its private socket, else the system bus), attaches the bus to event, and returns
 * the backend; holder is descartes-cgroup-holder's path. Then cgroup_backend_setup() (starts
 * descartes.slice). */
int cgroup_systemd_open(sd_event *event, const char *holder, CgroupBackend **ret);
