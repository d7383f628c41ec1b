/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "client-internal.h"
#include "proto-json.h"

int descartes_value_to_json(const DescartesValue *v, char **ret)
{
        return proto_value_to_json(v, ret);
}
