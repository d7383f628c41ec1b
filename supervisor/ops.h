/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Request handlers. Each answers its call (call_reply*) at once or parks it (call_defer). */

#include "control.h"

void ops_dispatch(Call *c);

/* ops-host.c */
void op_health(Call *c);
void op_stats(Call *c);
void op_events(Call *c);

/* ops-agent.c */
void op_spawn(Call *c);
void op_list(Call *c);
void op_get(Call *c);
void op_pause(Call *c);
void op_resume(Call *c);
void op_stop(Call *c);
void op_kill(Call *c);
void op_signal(Call *c);
void op_stdin(Call *c);
void op_remove(Call *c);
void op_action(Call *c);
void op_batch(Call *c);

/* ops-output.c */
void op_output(Call *c);
