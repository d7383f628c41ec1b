/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The uids of a root caller's agents (config agent_uids), one per agent, as systemd's DynamicUser= hands
 * them out. The agent runs as uid:gid with gid = uid and no passwd entry.
 *
 * A claim is a file STATE/uids/UID holding the agent's id, made with O_EXCL, so it outlives the daemon. It
 * holds as long as files of that uid may remain: while STATE/agents/ID exists (the agent, alive or ended,
 * with its default workspace) or the trash still has the agent's files (STATE/trash/ID.*: `remove` moves
 * the state dir there and deletes it in the background; what cannot be deleted stays). A claim that no
 * longer holds is taken back when its uid comes round again, so a removed agent's uid is reused only once
 * its files are gone, across restarts too. Uids with a passwd or group entry are never handed out.
 *
 * A claim must be on disk before the agent runs: a host crash must not forget a uid whose files the agent
 * may have written (on another file system too). Its fsync cost a spawn about 1.5 ms on the loop, so a few
 * claims are made ahead (UID_RESERVE) holding "@reserved BOOT_ID", flushed by the record-sync thread, and
 * a spawn takes one that is on disk already, writing its agent's id over it (rename, no flush: the
 * reserved claim it replaces holds the uid as well). A reserved claim is held, except one of this boot that
 * no pool holds: its daemon ended before handing it out (any id written over it would still be in the page
 * cache), so it is taken back. One of another boot stays held, as a host crash may have lost the id: at
 * most UID_RESERVE per crash, which an operator may delete once no file of that uid remains. With none on
 * disk yet, a spawn makes and flushes its own claim as before. */

#include <stdint.h>
#include <sys/types.h>

#define UID_POOL_DIR "uids"

#define UID_RESERVE 4

typedef struct UidPool UidPool;
typedef struct RecordSync RecordSync;

/* state_fd: the state dir (its agents/ and trash/ are read, uids/ made), borrowed for the pool's life.
 * sync: the thread that flushes the claims made ahead (NULL: flushed on the caller's thread), borrowed;
 * free it before the pool. */
int uid_pool_new(int state_fd, uint32_t min, uint32_t max, RecordSync *sync, UidPool **ret);
/* Takes back the claims made ahead that no agent got. */
UidPool *uid_pool_free(UidPool *p);

/* A uid for the agent `id` (whose STATE/agents/ID exists already): 0, or -EUSERS when every uid of the
 * range is held or has an entry in the user database. */
int uid_pool_claim(UidPool *p, const char *id, uid_t *ret);

/* Whether uid is held by a claim (a test's and the log's view). */
int uid_pool_is_held(UidPool *p, uid_t uid);
