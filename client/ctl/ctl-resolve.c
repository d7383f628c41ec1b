/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ctl-resolve.h"
#include "string-util.h"

bool ctl_ref_is_uuid(const char *ref)
{
        static const int dash[] = {8, 13, 18, 23};
        size_t d = 0;

        if (!ref || strlen(ref) != 36)
                return false;
        for (int i = 0; i < 36; i++) {
                if (d < 4 && i == dash[d]) {
                        if (ref[i] != '-')
                                return false;
                        d++;
                } else if (!isxdigit((unsigned char)ref[i]))
                        return false;
        }
        return true;
}

bool ctl_ref_is_tenant_name(const char *ref)
{
        return ref && strchr(ref, '/');
}

static const char *id_of(const DescartesAgentList *l, size_t i)
{
        return descartes_agent_get_id(descartes_agent_list_get(l, i));
}

int ctl_resolve_ref(const DescartesAgentList *l, const char *ref, uid_t self, char *errbuf,
                    size_t errbuf_size)
{
        size_t n = descartes_agent_list_get_size(l);
        size_t len = ref ? strlen(ref) : 0;
        size_t matches = 0, shown = 0, used;
        int found = -1;

        if (errbuf && errbuf_size > 0)
                errbuf[0] = 0;
        if (len == 0)
                return -EINVAL;
        for (size_t i = 0; i < n; i++)
                if (id_of(l, i) && strcmp(id_of(l, i), ref) == 0)
                        return (int)i;
        /* names are per tenant: an admin's list holds other tenants' agents, whose names are not ours */
        for (size_t i = 0; i < n; i++) {
                const DescartesAgent *a = descartes_agent_list_get(l, i);
                if (descartes_agent_get_owner_uid(a) == self && streq_ptr(descartes_agent_get_name(a), ref))
                        return (int)i;
        }
        for (size_t i = 0; i < n; i++)
                if (id_of(l, i) && strncmp(id_of(l, i), ref, len) == 0) {
                        matches++;
                        found = (int)i;
                }
        if (matches == 1)
                return found;
        if (matches == 0) {
                if (errbuf)
                        (void)snprintf(errbuf, errbuf_size,
                                       "none of your agents has the id, name or id prefix \"%s\" (another "
                                       "tenant's: TENANT/NAME)",
                                       ref);
                return -ESRCH;
        }
        if (!errbuf)
                return -ENOTUNIQ;
        (void)snprintf(errbuf, errbuf_size, "\"%s\" is the prefix of %zu agent ids (", ref, matches);
        for (size_t i = 0; i < n && shown < 3; i++)
                if (id_of(l, i) && strncmp(id_of(l, i), ref, len) == 0) {
                        used = strlen(errbuf);
                        (void)snprintf(errbuf + used, errbuf_size - used, "%s%s", shown ? ", " : "",
                                       id_of(l, i));
                        shown++;
                }
        used = strlen(errbuf);
        (void)snprintf(errbuf + used, errbuf_size - used, "%s): give more of the id",
                       matches > shown ? ", ..." : "");
        return -ENOTUNIQ;
}
