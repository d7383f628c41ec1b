/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "int-map.h"

static size_t slot_of(const IntMap *m, int key)
{
        /* Fibonacci hashing: consecutive keys (watch descriptors are) spread over the table */
        return (size_t)(((uint64_t)(unsigned)key * UINT64_C(0x9E3779B97F4A7C15)) >> 32) & (m->cap - 1);
}

void int_map_done(IntMap *m)
{
        free(m->slots);
        *m = INT_MAP_INIT;
}

static void insert_slot(IntMap *m, int key, void *value)
{
        size_t i = slot_of(m, key);

        while (m->slots[i].key >= 0 && m->slots[i].key != key)
                i = (i + 1) & (m->cap - 1);
        if (m->slots[i].key < 0)
                m->n++;
        m->slots[i] = (IntMapEntry){.key = key, .value = value};
}

static int grow(IntMap *m)
{
        IntMap bigger = {.cap = m->cap ? m->cap * 2 : 16};

        bigger.slots = malloc(bigger.cap * sizeof *bigger.slots);
        if (!bigger.slots)
                return -ENOMEM;
        for (size_t i = 0; i < bigger.cap; i++)
                bigger.slots[i].key = -1;
        for (size_t i = 0; i < m->cap; i++)
                if (m->slots[i].key >= 0)
                        insert_slot(&bigger, m->slots[i].key, m->slots[i].value);
        free(m->slots);
        *m = bigger;
        return 0;
}

int int_map_put(IntMap *m, int key, void *value)
{
        int r;

        if (key < 0 || !value)
                return -EINVAL;
        /* at most half full: probes stay short */
        if (2 * (m->n + 1) > m->cap) {
                r = grow(m);
                if (r < 0)
                        return r;
        }
        insert_slot(m, key, value);
        return 0;
}

static size_t find_slot(const IntMap *m, int key)
{
        if (key < 0 || m->cap == 0)
                return SIZE_MAX;
        for (size_t i = slot_of(m, key);; i = (i + 1) & (m->cap - 1)) {
                if (m->slots[i].key == key)
                        return i;
                if (m->slots[i].key < 0)
                        return SIZE_MAX;
        }
}

void *int_map_get(const IntMap *m, int key)
{
        size_t i = find_slot(m, key);

        return i == SIZE_MAX ? NULL : m->slots[i].value;
}

void *int_map_remove(IntMap *m, int key)
{
        size_t i = find_slot(m, key), j;
        void *value;

        if (i == SIZE_MAX)
                return NULL;
        value = m->slots[i].value;
        m->slots[i].key = -1;
        m->n--;
        /* backward shift: an entry after the hole that probed past it moves into it */
        for (j = (i + 1) & (m->cap - 1); m->slots[j].key >= 0; j = (j + 1) & (m->cap - 1)) {
                size_t home = slot_of(m, m->slots[j].key);

                /* j's entry may stay when its home lies cyclically in (i, j] */
                if (i <= j ? (i < home && home <= j) : (i < home || home <= j))
                        continue;
                m->slots[i] = m->slots[j];
                m->slots[j].key = -1;
                i = j;
        }
        return value;
}
