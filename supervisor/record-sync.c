/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

#include "cleanup.h"
#include "record-sync.h"

typedef struct Flush {
        struct Flush *next;
        int fd, dirfd;
        atomic_bool *done; /* or NULL */
} Flush;

struct RecordSync {
        pthread_mutex_t lock;
        pthread_cond_t cond;
        pthread_t thread;
        Flush *head, **tail;
        size_t n_queued;
        bool want_syncfs; /* records were written whose fds the queue had no room for */
        int fs_fd;
        bool stop;
};

static void flush_now(int fd, int dirfd)
{
        if (fd >= 0)
                (void)fsync(fd);
        if (dirfd >= 0)
                (void)fsync(dirfd);
        safe_close(fd);
        safe_close(dirfd);
}

/* One record: its two fsyncs. More: one syncfs for all (it flushes what they wrote, and the rest of the file
 * system's dirty pages; cheaper than two flushes each from a few on). */
static void flush_batch(RecordSync *s, Flush *list, bool want_syncfs)
{
        bool whole = want_syncfs || (list && list->next);

        if (whole)
                (void)syncfs(s->fs_fd);
        while (list) {
                Flush *f = list;

                list = f->next;
                if (whole) {
                        safe_close(f->fd);
                        safe_close(f->dirfd);
                } else
                        flush_now(f->fd, f->dirfd);
                if (f->done)
                        atomic_store(f->done, true);
                free(f);
        }
}

static void *run(void *userdata)
{
        RecordSync *s = userdata;

        pthread_mutex_lock(&s->lock);
        for (;;) {
                Flush *list = s->head;
                bool want_syncfs = s->want_syncfs;

                if (!list && !want_syncfs) {
                        if (s->stop)
                                break;
                        pthread_cond_wait(&s->cond, &s->lock);
                        continue;
                }
                s->head = NULL;
                s->tail = &s->head;
                s->n_queued = 0;
                s->want_syncfs = false;
                pthread_mutex_unlock(&s->lock);
                flush_batch(s, list, want_syncfs);
                pthread_mutex_lock(&s->lock);
        }
        pthread_mutex_unlock(&s->lock);
        return NULL;
}

int record_sync_new(int fs_fd, RecordSync **ret)
{
        RecordSync *s = calloc(1, sizeof *s);
        sigset_t all, old;
        int r;

        if (!s)
                return -ENOMEM;
        s->fs_fd = fcntl(fs_fd, F_DUPFD_CLOEXEC, 3);
        if (s->fs_fd < 0) {
                r = -errno;
                free(s);
                return r;
        }
        pthread_mutex_init(&s->lock, NULL);
        pthread_cond_init(&s->cond, NULL);
        s->tail = &s->head;
        /* the daemon takes its signals through signalfds: the thread must never be the one they reach */
        (void)sigfillset(&all);
        (void)pthread_sigmask(SIG_SETMASK, &all, &old);
        r = -pthread_create(&s->thread, NULL, run, s);
        (void)pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (r < 0) {
                pthread_cond_destroy(&s->cond);
                pthread_mutex_destroy(&s->lock);
                safe_close(s->fs_fd);
                free(s);
                return r;
        }
        *ret = s;
        return 0;
}

RecordSync *record_sync_free(RecordSync *s)
{
        if (!s)
                return NULL;
        pthread_mutex_lock(&s->lock);
        s->stop = true;
        pthread_cond_signal(&s->cond);
        pthread_mutex_unlock(&s->lock);
        (void)pthread_join(s->thread, NULL);
        pthread_cond_destroy(&s->cond);
        pthread_mutex_destroy(&s->lock);
        safe_close(s->fs_fd);
        free(s);
        return NULL;
}

static void queue(RecordSync *s, int fd, int dirfd, atomic_bool *done)
{
        Flush *f;

        if (!s) {
                flush_now(fd, dirfd);
                if (done)
                        atomic_store(done, true);
                return;
        }
        pthread_mutex_lock(&s->lock);
        if (!done && s->n_queued >= RECORD_SYNC_FDS_MAX) {
                /* written already: the syncfs that follows makes it durable */
                s->want_syncfs = true;
                pthread_cond_signal(&s->cond);
                pthread_mutex_unlock(&s->lock);
                safe_close(fd);
                safe_close(dirfd);
                return;
        }
        f = malloc(sizeof *f);
        if (!f) {
                pthread_mutex_unlock(&s->lock);
                flush_now(fd, dirfd);
                if (done)
                        atomic_store(done, true);
                return;
        }
        *f = (Flush){.fd = fd, .dirfd = dirfd, .done = done};
        *s->tail = f;
        s->tail = &f->next;
        s->n_queued++;
        pthread_cond_signal(&s->cond);
        pthread_mutex_unlock(&s->lock);
}

void record_sync_queue(RecordSync *s, int fd, int dirfd)
{
        queue(s, fd, dirfd, NULL);
}

void record_sync_queue_notify(RecordSync *s, int fd, int dirfd, atomic_bool *done)
{
        queue(s, fd, dirfd, done);
}
