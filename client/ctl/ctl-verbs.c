/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The verbs of descartesctl: each verb file (verb-NAME.c) exports its rows, listed here once per file; the
 * main help shows them in the order of their rank. A new verb in an existing file is one row there. */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

#define CTL_VERB_FILES(X)                                                                                   \
        X(health)                                                                                           \
        X(ps)                                                                                               \
        X(top)                                                                                              \
        X(spawn)                                                                                            \
        X(inspect)                                                                                          \
        X(agent_ops)                                                                                        \
        X(stop)                                                                                             \
        X(signal)                                                                                           \
        X(stdin)                                                                                            \
        X(exec)                                                                                             \
        X(attach)                                                                                           \
        X(action)                                                                                           \
        X(logs)                                                                                             \
        X(events)                                                                                           \
        X(shutdown)                                                                                         \
        X(tenants)                                                                                          \
        X(metrics)                                                                                          \
        X(keygen)                                                                                           \
        X(complete)

#define DECLARE_FILE(name) extern const CtlVerb ctl_verbs_##name[];
CTL_VERB_FILES(DECLARE_FILE)

#define FILE_ROW(name) ctl_verbs_##name,
static const CtlVerb *const verb_files[] = {CTL_VERB_FILES(FILE_ROW)};

#define CTL_VERBS_MAX 64
static const CtlVerb *verbs[CTL_VERBS_MAX + 1];

static int cmp_rank(const void *x, const void *y)
{
        const CtlVerb *a = *(const CtlVerb *const *)x, *b = *(const CtlVerb *const *)y;
        return (a->rank > b->rank) - (a->rank < b->rank);
}

const CtlVerb *const *ctl_verb_list(void)
{
        size_t n = 0;

        if (verbs[0])
                return verbs;
        for (size_t f = 0; f < sizeof verb_files / sizeof verb_files[0]; f++)
                for (const CtlVerb *v = verb_files[f]; v->name; v++) {
                        assert(n < CTL_VERBS_MAX);
                        verbs[n++] = v;
                }
        qsort(verbs, n, sizeof verbs[0], cmp_rank);
        return verbs;
}

const CtlVerb *ctl_verb_from_string(const char *s)
{
        if (!s)
                return NULL;
        for (const CtlVerb *const *v = ctl_verb_list(); *v; v++)
                if (strcmp((*v)->name, s) == 0)
                        return *v;
        return NULL;
}
