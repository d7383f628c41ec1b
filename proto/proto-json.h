/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* JSON rendering of the model from its field tables (proto-json.c): the wire's keys and values, absent
 * optional fields as null. `descartesctl -o json` prints exactly this. */

#include "json-writer.h"
#include "proto.h"

/* One object of type t (a registry row's args or result, or a shared type). */
int proto_json_write(JsonWriter *w, const ProtoType *t, const void *obj);

int proto_agent_info_to_json(const ProtoAgentInfo *i, char **ret);
int proto_event_to_json(const ProtoEvent *e, char **ret);
/* The result of r->op (r must be ok). */
int proto_reply_result_to_json(const ProtoReply *r, char **ret);
/* Any msgpack value (action params and results, event data); -EINVAL if it is not exactly one object. */
int proto_value_to_json(const ProtoValue *v, char **ret);

/* The field tables of the shared types, for proto_json_write(); an output line is also printed on its own
 * (descartesctl logs -o json). */
extern const ProtoType proto_agent_info_type, proto_event_type, proto_output_line_type;
