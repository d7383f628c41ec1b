/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Capability sets of the calling process (the agent child), with libcap. Each step has its own function so
 * that confine.c orders them; see confine_drop_privileges() for the order and why. */

#include <stdbool.h>
#include <stdint.h>

/* The highest capability the running kernel knows: /proc/sys/kernel/cap_last_cap, else libcap's probe. */
int capability_last_cap(unsigned *ret);

/* PR_CAPBSET_DROP of every capability up to last_cap: no later execve can gain them back. Needs
 * CAP_SETPCAP, so it comes before the uid change. */
int capability_bounding_drop_all(unsigned last_cap);

/* PR_CAP_AMBIENT_CLEAR_ALL. */
int capability_ambient_clear(void);

/* Locks the securebits that keep root special for exec out (SECBIT_NOROOT) and forbids keeping or raising
 * capabilities across later uid changes (SECBIT_KEEP_CAPS off, SECBIT_NO_CAP_AMBIENT_RAISE), all locked.
 * SECBIT_NO_SETUID_FIXUP is deliberately NOT set: the kernel's clearing of capabilities when the uid leaves
 * 0 is one more line of defence, and we clear them explicitly after it anyway. Needs CAP_SETPCAP. */
int capability_lock_securebits(void);

/* Empties the permitted, effective and inheritable sets (cap_clear + cap_set_proc), then verifies them. */
int capability_clear_all(void);

/* PR_SET_NO_NEW_PRIVS, verified. */
int capability_set_no_new_privs(void);

/* Whether every set (effective, permitted, inheritable, bounding up to last_cap, ambient) is empty: 1 if so,
 * 0 if not, -errno. */
int capability_all_empty(unsigned last_cap);
