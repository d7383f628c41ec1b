/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A map of non-negative int keys to pointers (open addressing, linear probing, backward-shift deletion):
 * constant time lookups where a list walk would grow with the number of entries (inotify watch descriptors
 * to the cgroup handle that owns them). */

#include <stddef.h>

typedef struct IntMapEntry {
        int key; /* -1: free */
        void *value;
} IntMapEntry;

typedef struct IntMap {
        IntMapEntry *slots;
        size_t cap; /* a power of two, or 0 before the first put */
        size_t n;
} IntMap;

#define INT_MAP_INIT ((IntMap){})

void int_map_done(IntMap *m);
/* Adds or replaces key's value. -EINVAL for a negative key or a NULL value, -ENOMEM. */
int int_map_put(IntMap *m, int key, void *value);
/* key's value, or NULL. */
void *int_map_get(const IntMap *m, int key);
/* Removes key; its value, or NULL when absent. */
void *int_map_remove(IntMap *m, int key);
