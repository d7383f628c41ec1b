/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "capability.h"
#include "confine.h"
#include "string-table.h"
#include "string-util.h"

static const char *const confine_stage_table[_CONFINE_STAGE_MAX] = {
        [CONFINE_STAGE_IDENTITY] = "identity",
        [CONFINE_STAGE_CAPABILITIES] = "capabilities",
};

DEFINE_STRING_TABLE(confine_stage, ConfineStage, _CONFINE_STAGE_MAX, _CONFINE_STAGE_INVALID)

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
