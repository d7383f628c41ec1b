/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Disk flushes off the event loop. An ended agent's record is history worth an fsync of the file and of its
 * directory, two disk flushes of a few ms each: on the loop they sat in front of every request that came
 * behind them (the next spawn of a client that saw the exit event waited for them). The record is written
 * and renamed into place on the loop, so a restarted daemon reads it at once; one thread of this module then
 * makes it durable, in the order it was queued. Freeing waits for everything queued.
 * Many at once (a stop of thousands of agents) are made durable together by one syncfs(2) of the state
 * directory's file system: one flush instead of two per record, and a queue that holds no more than
 * RECORD_SYNC_FDS_MAX descriptors (past it a record's fds are closed at once, its flush left to that
 * syncfs). */

#include <stdatomic.h>

#define RECORD_SYNC_FDS_MAX 64

typedef struct RecordSync RecordSync;

/* fs_fd: any fd on the records' file system (the state directory), duplicated for syncfs. */
int record_sync_new(int fs_fd, RecordSync **ret);
/* Waits until every queued flush is done, then stops the thread. */
RecordSync *record_sync_free(RecordSync *s);

/* Queues fsync(fd) then fsync(dirfd), taking both fds (closed once flushed); with the queue full, the next
 * syncfs covers them instead. On failure (-ENOMEM) it flushes them here, on the caller's thread, and closes
 * them: a flush is never lost. */
void record_sync_queue(RecordSync *s, int fd, int dirfd);
/* The same, and sets *done once both flushes returned (never through the syncfs of a full queue: these are
 * few). done must outlive the flush: free the RecordSync first. With s NULL both are flushed here. */
void record_sync_queue_notify(RecordSync *s, int fd, int dirfd, atomic_bool *done);
