/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* One daemon per runtime dir. libzmq's ipc bind silently unlinks and steals an existing socket path, so a
 * second descartesd must be stopped before it binds: an flock on RUNTIME/descartesd.lock, held for life. */

/* Returns the lock fd; -EBUSY when another daemon holds it (its pid in *ret_holder when known). */
int runtime_lock_take(const char *runtime_dir, int *ret_holder);
