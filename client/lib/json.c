/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The results' JSON: the protocol's field tables render them (proto-json.c), so that the library and the
 * CLI restate no schema. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "client-objects.h"
#include "json-writer.h"
#include "proto-json.h"
#include "proto-type.h"

/* Runs write(w, t, obj) into a fresh string: 0 and *ret, or the writer's error. */
static int json_render(int (*write)(JsonWriter *w, const ProtoType *t, const void *obj), const ProtoType *t,
                       const void *obj, char **ret)
{
        _cleanup_free_ char *text = NULL;
        size_t size = 0;
        JsonWriter w;
        FILE *f;
        int r;

        if (!obj || !ret)
                return -EINVAL;
        f = open_memstream(&text, &size);
        if (!f)
                return -ENOMEM;
        json_writer_init(&w, f);
        r = write(&w, t, obj);
        if (fclose(f) != 0)
                return -ENOMEM;
        if (r < 0)
                return r;
        *ret = TAKE_PTR(text);
        return 0;
}

/* The result type of op: what its reply's data holds. */
static const ProtoType *result_type(ProtoOp op)
{
        return proto_op_info(op)->result;
}

int descartes_msgpack_to_json(const void *data, size_t size, char **ret)
{
        if (!data)
                return -EINVAL;
        return proto_value_to_json(&(ProtoValue){.data = (uint8_t *)data, .size = size}, ret);
}

int descartes_json_to_msgpack(const char *json, void **ret, size_t *ret_size)
{
        ProtoValue v = {};
        int r;

        if (!json || !ret || !ret_size)
                return -EINVAL;
        r = proto_value_from_json(json, strlen(json), NULL, &v);
        if (r < 0)
                return r;
        *ret = v.data;
        *ret_size = v.size;
        return 0;
}

int descartes_agent_to_json(const DescartesAgent *a, char **ret)
{
        return a ? proto_agent_info_to_json(&a->info, ret) : -EINVAL;
}

static int agent_list_write(JsonWriter *w, const ProtoType *t, const void *obj)
{
        const DescartesAgentList *l = obj;

        json_writer_array_begin(w);
        for (size_t i = 0; i < l->n_agents; i++)
                (void)proto_json_write(w, t, &l->agents[i]->info);
        json_writer_array_end(w);
        return 0;
}

int descartes_agent_list_to_json(const DescartesAgentList *l, char **ret)
{
        return json_render(agent_list_write, &proto_agent_info_type, l, ret);
}

int descartes_event_to_json(const DescartesEvent *e, char **ret)
{
        return e ? proto_event_to_json(&e->event, ret) : -EINVAL;
}

int descartes_output_line_to_json(const DescartesOutputLine *l, char **ret)
{
        return json_render(proto_json_write, &proto_output_line_type, l ? &l->line : NULL, ret);
}

int descartes_health_to_json(const DescartesHealth *h, char **ret)
{
        return json_render(proto_json_write, result_type(PROTO_OP_HEALTH), h ? &h->result : NULL, ret);
}

int descartes_tenants_to_json(const DescartesTenants *t, char **ret)
{
        return json_render(proto_json_write, result_type(PROTO_OP_TENANTS), t ? &t->result : NULL, ret);
}

int descartes_exec_to_json(const DescartesExec *x, char **ret)
{
        return json_render(proto_json_write, result_type(PROTO_OP_EXEC), x ? &x->result : NULL, ret);
}

int descartes_stats_to_json(const DescartesStats *s, char **ret)
{
        return json_render(proto_json_write, result_type(PROTO_OP_STATS), s ? &s->result : NULL, ret);
}

/* The objects keep their items apart from the result struct: the result with its items put back, shallow
 * copies that nothing frees, for the tables to walk. */
int descartes_events_to_json(const DescartesEvents *r, char **ret)
{
        _cleanup_free_ ProtoEvent *events = NULL;
        ProtoEventsResult res;

        if (!r)
                return -EINVAL;
        events = calloc(r->n_events ?: 1, sizeof *events);
        if (!events)
                return -ENOMEM;
        for (size_t i = 0; i < r->n_events; i++)
                events[i] = r->events[i]->event;
        res = r->result;
        res.events = events;
        res.n_events = r->n_events;
        return json_render(proto_json_write, result_type(PROTO_OP_EVENTS), &res, ret);
}

int descartes_batch_result_to_json(const DescartesBatchResult *b, char **ret)
{
        _cleanup_free_ ProtoBatchItem *items = NULL;
        ProtoBatchResult res;

        if (!b)
                return -EINVAL;
        items = calloc(b->n_items ?: 1, sizeof *items);
        if (!items)
                return -ENOMEM;
        for (size_t i = 0; i < b->n_items; i++)
                items[i] = b->items[i].item;
        res = b->result;
        res.results = items;
        res.n_results = b->n_items;
        return json_render(proto_json_write, result_type(PROTO_OP_BATCH), &res, ret);
}
