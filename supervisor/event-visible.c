/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "event-visible.h"
#include "string-util.h"

bool event_visible(uid_t uid, bool admin, const ProtoEvent *e)
{
        if (!e->agent)
                return true;
        if (admin)
                return true;
        return e->has_owner && e->owner_uid == (uint32_t)uid;
}

bool event_viewer_wants(const EventViewer *v, const ProtoEvent *e)
{
        if (!event_visible(v->uid, v->admin, e))
                return false;
        return !v->agent || !e->agent || streq(v->agent, e->agent);
}
