/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The public result objects: each holds the wire result it was made from (proto.h), which the getters read
 * and the JSON renderers walk. Lists hold their items as objects of their own, so that an item can outlive
 * its list through a reference. */

#include "descartes-wire.h"

struct DescartesAgent {
        unsigned n_ref;
        ProtoAgentInfo info;
};

struct DescartesAgentList {
        unsigned n_ref;
        DescartesAgent **agents;
        size_t n_agents;
};

struct DescartesEvent {
        unsigned n_ref;
        ProtoEvent event;
};

struct DescartesEvents {
        unsigned n_ref;
        DescartesEvent **events;
        size_t n_events;
        ProtoEventsResult result; /* without its events */
};

struct DescartesOutputLine {
        ProtoOutputLine line;
};

struct DescartesOutput {
        unsigned n_ref;
        DescartesOutputLine *lines;
        size_t n_lines;
        ProtoOutputResult result; /* without its lines */
};

struct DescartesBatchItem {
        ProtoBatchItem item;
};

struct DescartesBatchResult {
        unsigned n_ref;
        DescartesBatchItem *items;
        size_t n_items;
        ProtoBatchResult result; /* without its items */
};

struct DescartesHealth {
        unsigned n_ref;
        ProtoHealthResult result;
};

struct DescartesStats {
        unsigned n_ref;
        ProtoStatsResult result;
};

struct DescartesTenants {
        unsigned n_ref;
        ProtoTenantsResult result;
};

struct DescartesExec {
        unsigned n_ref;
        ProtoExecResult result;
};
