/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "capability.h"
#include "confine.h"
#include "string-util.h"

static const char *const confine_stage_table[_CONFINE_STAGE_MAX] = {
        [CONFINE_STAGE_IDENTITY] = "identity",
        [CONFINE_STAGE_CAPABILITIES] = "capabilities",
};

const char *confine_stage_to_string(ConfineStage s)
{
        return s >= 0 && s < _CONFINE_STAGE_MAX ? confine_stage_table[s] : NULL;
}

ConfineStage confine_stage_from_string(const char *s)
{
        for (int i = 0; s && i < _CONFINE_STAGE_MAX; i++)
                if (streq(confine_stage_table[i], s))
                        return (ConfineStage)i;
        return _CONFINE_STAGE_INVALID;
}

static int fail(ConfineStage stage, int r, ConfineStage *ret_failed_stage)
{
        if (ret_failed_stage)
                *ret_failed_stage = stage;
        return r;
}

int confine_drop_privileges(const Identity *id, ConfineStage *ret_failed_stage)
{
        unsigned last_cap;
        int r;

        if (!id)
                return fail(CONFINE_STAGE_IDENTITY, -EINVAL, ret_failed_stage);

        r = capability_last_cap(&last_cap);
        if (r < 0)
                return fail(CONFINE_STAGE_CAPABILITIES, r, ret_failed_stage);
        r = capability_bounding_drop_all(last_cap);
        if (r < 0)
                return fail(CONFINE_STAGE_CAPABILITIES, r, ret_failed_stage);
        r = capability_ambient_clear();
        if (r < 0)
                return fail(CONFINE_STAGE_CAPABILITIES, r, ret_failed_stage);
        r = capability_lock_securebits();
        if (r < 0)
                return fail(CONFINE_STAGE_CAPABILITIES, r, ret_failed_stage);

        r = identity_apply(id);
        if (r < 0)
                return fail(CONFINE_STAGE_IDENTITY, r, ret_failed_stage);

        r = capability_clear_all();
        if (r < 0)
                return fail(CONFINE_STAGE_CAPABILITIES, r, ret_failed_stage);
        r = capability_all_empty(last_cap);
        if (r < 0)
                return fail(CONFINE_STAGE_CAPABILITIES, r, ret_failed_stage);
        if (r == 0)
                return fail(CONFINE_STAGE_CAPABILITIES, -EPERM, ret_failed_stage);
        r = capability_set_no_new_privs();
        if (r < 0)
                return fail(CONFINE_STAGE_CAPABILITIES, r, ret_failed_stage);
        return 0;
}
