/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libdescartes' request queue and resend rule, without a daemon: requests from several threads take their
 * turn in the order they were made, the one past the bound is refused at once, and a silent request is
 * resent only within its attempts and the resend window. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <cmocka.h>

#include "client-queue.h"
#include "client-retry.h"

#define N_THREADS 8

typedef struct Turns {
        ClientQueue q;
        pthread_mutex_t lock;
        unsigned order[N_THREADS];
        unsigned n;
} Turns;

typedef struct Caller {
        Turns *t;
        unsigned index;
        pthread_t thread;
        int r;
} Caller;

static void *caller_main(void *arg)
{
        Caller *c = arg;

        c->r = client_queue_enter(&c->t->q, NULL);
        if (c->r < 0)
                return NULL;
        pthread_mutex_lock(&c->t->lock);
        c->t->order[c->t->n++] = c->index;
        pthread_mutex_unlock(&c->t->lock);
        client_queue_leave(&c->t->q);
        return NULL;
}

static void wait_length(ClientQueue *q, size_t n)
{
        struct timespec ts = {.tv_nsec = 1000 * 1000};

        for (unsigned i = 0; client_queue_length(q) < n; i++) {
                assert_true(i < 10000);
                nanosleep(&ts, NULL);
        }
}

static void test_fifo(void **state)
{
        Turns t = {.lock = PTHREAD_MUTEX_INITIALIZER};
        Caller c[N_THREADS];

        client_queue_init(&t.q);
        assert_int_equal(client_queue_get_max(&t.q), CLIENT_QUEUE_MAX_DEFAULT);
        /* the connection is busy (a request on the wire) while the others line up one after the other */
        assert_int_equal(client_queue_enter(&t.q, NULL), 0);
        for (unsigned i = 0; i < N_THREADS; i++) {
                c[i] = (Caller){.t = &t, .index = i};
                assert_int_equal(pthread_create(&c[i].thread, NULL, caller_main, &c[i]), 0);
                wait_length(&t.q, i + 2);
        }
        assert_int_equal(t.n, 0);
        client_queue_leave(&t.q);
        for (unsigned i = 0; i < N_THREADS; i++) {
                assert_int_equal(pthread_join(c[i].thread, NULL), 0);
                assert_int_equal(c[i].r, 0);
        }
        assert_int_equal(t.n, N_THREADS);
        for (unsigned i = 0; i < N_THREADS; i++)
                assert_int_equal(t.order[i], i);
        assert_int_equal(client_queue_length(&t.q), 0);
        client_queue_destroy(&t.q);
}

static void test_bound(void **state)
{
        Turns t = {.lock = PTHREAD_MUTEX_INITIALIZER};
        Caller c[2];
        size_t length = 0;

        client_queue_init(&t.q);
        assert_int_equal(client_queue_set_max(&t.q, 0), -EINVAL);
        assert_int_equal(client_queue_set_max(&t.q, 3), 0);
        assert_int_equal(client_queue_enter(&t.q, NULL), 0);
        for (unsigned i = 0; i < 2; i++) {
                c[i] = (Caller){.t = &t, .index = i};
                assert_int_equal(pthread_create(&c[i].thread, NULL, caller_main, &c[i]), 0);
        }
        wait_length(&t.q, 3);
        /* full: refused at once, and told how many wait */
        assert_int_equal(client_queue_enter(&t.q, &length), -ENOBUFS);
        assert_int_equal(length, 3);
        assert_int_equal(client_queue_length(&t.q), 3);
        client_queue_leave(&t.q);
        for (unsigned i = 0; i < 2; i++) {
                assert_int_equal(pthread_join(c[i].thread, NULL), 0);
                assert_int_equal(c[i].r, 0);
        }
        /* room again */
        assert_int_equal(client_queue_enter(&t.q, NULL), 0);
        client_queue_leave(&t.q);
        client_queue_destroy(&t.q);
}

static void test_resend_rule(void **state)
{
        const uint64_t first = 1000 * 1000;

        assert_true(client_retry_may_resend(true, 1, first, first + 5 * 1000 * 1000));
        assert_true(
                client_retry_may_resend(true, CLIENT_SEND_ATTEMPTS - 1, first, first + 10 * 1000 * 1000));
        assert_false(client_retry_may_resend(true, CLIENT_SEND_ATTEMPTS, first, first + 1));
        assert_false(client_retry_may_resend(false, 1, first, first + 1));
        /* never past the window, whatever the timeouts (the daemon's request_ttl is longer) */
        assert_true(client_retry_may_resend(true, 1, first, first + CLIENT_RESEND_WINDOW_USEC - 1));
        assert_false(client_retry_may_resend(true, 1, first, first + CLIENT_RESEND_WINDOW_USEC));
        assert_true(CLIENT_RESEND_WINDOW_USEC < UINT64_C(600) * 1000 * 1000);
        assert_true(CLIENT_RECONNECT_IVL_MS <= CLIENT_RECONNECT_IVL_MAX_MS);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_fifo),
                cmocka_unit_test(test_bound),
                cmocka_unit_test(test_resend_rule),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
