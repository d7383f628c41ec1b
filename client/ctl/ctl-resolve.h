/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* AGENT arguments: a full id, TENANT/NAME (the daemon resolves it), one of the caller's own names, or a
 * unique id prefix. */

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "descartes/descartes.h"

/* True if ref has the form of a UUID (8-4-4-4-12 hex digits). */
bool ctl_ref_is_uuid(const char *ref);

/* True if ref is TENANT/NAME: it goes to the daemon as it is. */
bool ctl_ref_is_tenant_name(const char *ref);

/* Picks the agent ref names in l: an exact id, else the exact name of an agent owned by self (names are
 * unique per tenant only), else the one id starting with ref.
 * Returns its index, -ESRCH if none matches (errbuf says so), -ENOTUNIQ if several ids start with ref
 * (errbuf then lists some of them). */
int ctl_resolve_ref(const DescartesAgentList *l, const char *ref, uid_t self, char *errbuf,
                    size_t errbuf_size);
