/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hash-util.h"
#include "seccomp-cache.h"
#include "seccomp-policy.h"

typedef struct SeccompCacheEntry {
        uint64_t hash;
        char *text;
        size_t size;
        SeccompBpf *bpf;
        uint64_t last_used;
} SeccompCacheEntry;

struct SeccompCache {
        SeccompCacheEntry *entries;
        size_t n_entries;
        size_t max_entries;
        uint64_t clock; /* a use counter for LRU */
};

uint64_t seccomp_cache_hash(const void *data, size_t size)
{
        return fnv1a64(data, size);
}

int seccomp_cache_new(size_t max_entries, SeccompCache **ret)
{
        _cleanup_free_ SeccompCache *c = NULL;

        if (max_entries == 0)
                return -EINVAL;
        c = calloc(1, sizeof(SeccompCache));
        if (!c)
                return -ENOMEM;
        c->entries = calloc(max_entries, sizeof(SeccompCacheEntry));
        if (!c->entries)
                return -ENOMEM;
        c->max_entries = max_entries;
        *ret = TAKE_PTR(c);
        return 0;
}

static void entry_clear(SeccompCacheEntry *e)
{
        free(e->text);
        seccomp_bpf_unref(e->bpf);
        *e = (SeccompCacheEntry){};
}

SeccompCache *seccomp_cache_free(SeccompCache *c)
{
        if (!c)
                return NULL;
        for (size_t i = 0; i < c->n_entries; i++)
                entry_clear(&c->entries[i]);
        free(c->entries);
        free(c);
        return NULL;
}

size_t seccomp_cache_size(const SeccompCache *c)
{
        return c ? c->n_entries : 0;
}

int seccomp_cache_get(SeccompCache *c, const char *label, const char *text, size_t size, SeccompBpf **ret,
                      char **ret_error)
{
        _cleanup_(seccomp_policy_freep) SeccompPolicy *policy = NULL;
        _cleanup_free_ char *copy = NULL;
        SeccompCacheEntry *slot;
        SeccompBpf *bpf;
        uint64_t h;
        int r;

        if (!c || !text)
                return -EINVAL;
        h = seccomp_cache_hash(text, size);
        for (size_t i = 0; i < c->n_entries; i++) {
                SeccompCacheEntry *e = &c->entries[i];

                if (e->hash == h && e->size == size && memcmp(e->text, text, size) == 0) {
                        e->last_used = ++c->clock;
                        *ret = seccomp_bpf_ref(e->bpf);
                        return 0;
                }
        }

        r = seccomp_policy_parse(label, text, size, &policy, ret_error);
        if (r < 0)
                return r;
        copy = malloc(size > 0 ? size : 1);
        if (!copy)
                return -ENOMEM;
        memcpy(copy, text, size);
        r = seccomp_policy_compile(policy, label, &bpf, ret_error);
        if (r < 0)
                return r;

        if (c->n_entries < c->max_entries)
                slot = &c->entries[c->n_entries++];
        else {
                slot = &c->entries[0];
                for (size_t i = 1; i < c->n_entries; i++)
                        if (c->entries[i].last_used < slot->last_used)
                                slot = &c->entries[i];
                entry_clear(slot);
        }
        *slot = (SeccompCacheEntry){
                .hash = h,
                .text = TAKE_PTR(copy),
                .size = size,
                .bpf = bpf,
                .last_used = ++c->clock,
        };
        *ret = seccomp_bpf_ref(bpf);
        return 1;
}

int seccomp_cache_get_policy(SeccompCache *c, const char *policy_dir, const char *spec, SeccompBpf **ret,
                             char **ret_error)
{
        _cleanup_free_ char *text = NULL, *label = NULL;
        size_t size;
        int r;

        r = seccomp_policy_read(policy_dir, spec, &text, &size, &label, ret_error);
        if (r < 0)
                return r;
        return seccomp_cache_get(c, label, text, size, ret, ret_error);
}
