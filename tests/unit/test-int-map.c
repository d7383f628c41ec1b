/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "int-map.h"

#define KEYS 2000

static void test_bad_input(void **state)
{
        IntMap m = INT_MAP_INIT;
        int x;

        assert_int_equal(int_map_put(&m, -1, &x), -EINVAL);
        assert_int_equal(int_map_put(&m, 1, NULL), -EINVAL);
        assert_null(int_map_get(&m, 1));
        assert_null(int_map_get(&m, -1));
        assert_null(int_map_remove(&m, 1));
        int_map_done(&m);
}

/* Random puts, replacements and removals against a plain array: every key's value agrees after each step,
 * so a removal that breaks a probe chain shows at once. */
static void test_against_array(void **state)
{
        static int values[KEYS];
        static void *expect[KEYS];
        IntMap m = INT_MAP_INIT;
        size_t n = 0;
        unsigned seed = 12345;

        for (int step = 0; step < 20000; step++) {
                /* keys crowd the low end, like watch descriptors, with a few far ones */
                int key = (int)(rand_r(&seed) % KEYS);
                void *v = &values[key];

                if (rand_r(&seed) % 3 == 0) {
                        assert_ptr_equal(int_map_remove(&m, key), expect[key]);
                        if (expect[key])
                                n--;
                        expect[key] = NULL;
                } else {
                        assert_int_equal(int_map_put(&m, key, v), 0);
                        if (!expect[key])
                                n++;
                        expect[key] = v;
                }
                assert_int_equal(m.n, n);
                if (step % 97 == 0)
                        for (int k = 0; k < KEYS; k++)
                                assert_ptr_equal(int_map_get(&m, k), expect[k]);
        }
        for (int k = 0; k < KEYS; k++)
                assert_ptr_equal(int_map_get(&m, k), expect[k]);
        assert_int_equal(int_map_put(&m, 1 << 30, &values[0]), 0);
        assert_ptr_equal(int_map_get(&m, 1 << 30), &values[0]);
        int_map_done(&m);
        assert_null(int_map_get(&m, 0));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_bad_input),
                cmocka_unit_test(test_against_array),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
