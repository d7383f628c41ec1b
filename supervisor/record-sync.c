/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
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
} Flush;

struct RecordSync {
        pthread_mutex_t lock;
        pthread_cond_t cond;
        pthread_t thread;
        Flush *head, **tail;
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

static void *run(void *userdata)
{
        RecordSync *s = userdata;

        pthread_mutex_lock(&s->lock);
        for (;;) {
                Flush *f = s->head;

                if (!f) {
                        if (s->stop)
                                break;
                        pthread_cond_wait(&s->cond, &s->lock);
                        continue;
                }
                s->head = f->next;
                if (!s->head)
                        s->tail = &s->head;
                pthread_mutex_unlock(&s->lock);
                flush_now(f->fd, f->dirfd);
                free(f);
                pthread_mutex_lock(&s->lock);
        }
        pthread_mutex_unlock(&s->lock);
        return NULL;
}

int record_sync_new(RecordSync **ret)
{
        RecordSync *s = calloc(1, sizeof *s);
        sigset_t all, old;
        int r;

        if (!s)
                return -ENOMEM;
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
        free(s);
        return NULL;
}

void record_sync_queue(RecordSync *s, int fd, int dirfd)
{
        Flush *f = s ? malloc(sizeof *f) : NULL;

        if (!f) {
                flush_now(fd, dirfd);
                return;
        }
        *f = (Flush){.fd = fd, .dirfd = dirfd};
        pthread_mutex_lock(&s->lock);
        *s->tail = f;
        s->tail = &f->next;
        pthread_cond_signal(&s->cond);
        pthread_mutex_unlock(&s->lock);
}
