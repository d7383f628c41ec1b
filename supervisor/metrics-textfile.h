/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The node_exporter textfile: with `metrics_textfile = PATH` the daemon writes the admin's metrics text
 * (the `metrics` op's) to PATH at start and every `metrics_interval`, through a temporary file renamed over
 * it, so that node_exporter's textfile collector never reads half a file. */

typedef struct Manager Manager;

/* Writes the file once and arms its timer; 0 without metrics_textfile. */
int metrics_textfile_start(Manager *m);
void metrics_textfile_stop(Manager *m);
