/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Sample messages of every type for the proto tests and the fuzz seed generator. Variant 0 leaves every
 * optional field unset, variant 1 sets every one; some types have more variants (batch: per inner op;
 * output: raw mode; replies: 2 is an error reply). -ENOENT past the last variant. Members are owned. */

#include "proto.h"

int sample_request(ProtoOp op, unsigned variant, ProtoRequest *ret);
int sample_reply(ProtoOp op, unsigned variant, ProtoReply *ret);
int sample_event(ProtoEventKind kind, unsigned variant, ProtoEvent *ret);
int sample_agent_info(bool full, ProtoAgentInfo *ret);
