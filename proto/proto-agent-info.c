/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* INFO on its own, outside a reply: the same map `get` answers with. */
#include <errno.h>

#include "proto-internal.h"

int proto_agent_info_encode(const ProtoAgentInfo *i, void **ret_buf, size_t *ret_len)
{
        ProtoWriter w;

        if (!i || !i->id || !i->argv || i->n_argv == 0 || !ret_buf || !ret_len)
                return -EINVAL;
        proto_writer_init(&w);
        proto_write_agent_info(&w, i);
        return proto_writer_finish(&w, ret_buf, ret_len);
}

int proto_agent_info_decode(const void *buf, size_t len, ProtoAgentInfo *ret, ProtoError *ret_err)
{
        _cleanup_(proto_unpacked_done) ProtoUnpacked u = {};
        ProtoError scratch;
        ProtoError *e = ret_err ?: &scratch;
        int r;

        proto_error_init(e);
        if (!ret)
                return proto_error_set(e, PROTO_ERROR_INTERNAL, "no result");
        *ret = (ProtoAgentInfo){};

        r = proto_unpack(buf, len, &u, e);
        if (r < 0)
                return r;
        return proto_read_agent_info(&u.u.data, "", ret, e);
}
