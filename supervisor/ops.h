/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Request handlers. Each answers its call (call_reply*) at once or parks it (call_defer). */

#include "control.h"

int ops_dispatch(Call *c);

/* ops-host.c */
int op_health(Call *c);
int op_stats(Call *c);
int op_events(Call *c);

/* ops-agent.c */
int op_spawn(Call *c);
int op_list(Call *c);
int op_get(Call *c);
int op_pause(Call *c);
int op_resume(Call *c);
int op_stop(Call *c);
int op_kill(Call *c);
int op_signal(Call *c);
int op_stdin(Call *c);
int op_remove(Call *c);
int op_action(Call *c);
int op_batch(Call *c);

/* ops-output.c */
int op_output(Call *c);

/* ops-shutdown.c */
int op_shutdown(Call *c);
