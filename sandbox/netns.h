/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* net=none: the shim runs in a fresh network namespace (CLONE_NEWNET from the daemon's clone3), whose only
 * interface, lo, starts down. Bringing it up gives the agent a working 127.0.0.1/::1 and nothing else: with
 * no other interface and no route, any other destination fails locally (ENETUNREACH) without a packet
 * leaving the host. */

/* Brings the interface up (SIOCGIFFLAGS/SIOCSIFFLAGS), idempotent. Needs CAP_NET_ADMIN in the namespace. */
int netns_interface_up(const char *ifname);

/* netns_interface_up("lo"). */
int netns_loopback_up(void);
