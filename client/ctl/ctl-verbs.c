/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The verbs of descartesctl, in the order of the main help. Each is defined in verb-NAME.c. */
#include <string.h>

#include "ctl.h"

#define CTL_VERBS(X)                                                                                        \
        X(health)                                                                                           \
        X(ps)                                                                                               \
        X(spawn)                                                                                            \
        X(inspect)                                                                                          \
        X(pause)                                                                                            \
        X(resume)                                                                                           \
        X(stop)                                                                                             \
        X(kill)                                                                                             \
        X(signal)                                                                                           \
        X(stdin)                                                                                            \
        X(logs)                                                                                             \
        X(events)                                                                                           \
        X(rm)                                                                                               \
        X(shutdown)

#define DECLARE_VERB(name) extern const CtlVerb ctl_verb_##name;
CTL_VERBS(DECLARE_VERB)

#define VERB_ROW(name) &ctl_verb_##name,
const CtlVerb *const ctl_verbs[] = {CTL_VERBS(VERB_ROW) NULL};

const CtlVerb *ctl_verb_from_string(const char *s)
{
        if (!s)
                return NULL;
        for (size_t i = 0; ctl_verbs[i]; i++)
                if (strcmp(ctl_verbs[i]->name, s) == 0)
                        return ctl_verbs[i];
        return NULL;
}
