/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Compiled filters keyed by the bytes of their policy file, so that spawning many agents with the same
 * policy compiles it once, and an edited file is compiled again (its bytes differ). The cache is owned by
 * its caller (the daemon's Manager) and holds at most max_entries filters, the least recently used going
 * first. */

#include <stddef.h>
#include <stdint.h>

#include "cleanup.h"
#include "seccomp-bpf.h"

#define SECCOMP_CACHE_ENTRIES_DEFAULT 16

typedef struct SeccompCache SeccompCache;

int seccomp_cache_new(size_t max_entries, SeccompCache **ret);
SeccompCache *seccomp_cache_free(SeccompCache *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(SeccompCache *, seccomp_cache_free);

/* 64-bit FNV-1a: the cache key (a hit is confirmed by comparing the bytes). */
uint64_t seccomp_cache_hash(const void *data, size_t size);

size_t seccomp_cache_size(const SeccompCache *c);

/* The filter of a policy text, as a new reference. Returns 0 when it came from the cache, 1 when it was
 * parsed and compiled now (the caller logs bpf->unknown_syscalls and bpf->skipped_arches then, once). A
 * policy that does not parse or compile is not cached: errors as seccomp_policy_parse() and
 * seccomp_policy_compile(), with *ret_error. */
int seccomp_cache_get(SeccompCache *c, const char *label, const char *text, size_t size, SeccompBpf **ret,
                      char **ret_error);

/* seccomp_policy_read() + seccomp_cache_get(): the filter of --policy NAME|PATH. */
int seccomp_cache_get_policy(SeccompCache *c, const char *policy_dir, const char *spec, SeccompBpf **ret,
                             char **ret_error);
