/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer: seccomp_policy_parse() (OCI seccomp JSON, json-c) on arbitrary bytes: a policy file is
 * root's, but a tenant may name any policy in the policy dir, and the parser must refuse what it cannot
 * take with a message, never crash or leak. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "seccomp-policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        SeccompPolicy *p = NULL;
        char *error = NULL;
        int r;

        r = seccomp_policy_parse("fuzz.json", (const char *)data, size, &p, &error);
        if (r >= 0 && !p)
                abort();
        if (r == -EINVAL && !error)
                abort(); /* a refusal always says why */
        seccomp_policy_free(p);
        free(error);
        return 0;
}
