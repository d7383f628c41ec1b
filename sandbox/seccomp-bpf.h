/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A parsed policy compiled to a classic BPF program with libseccomp (in the daemon), carried in a sealed
 * memfd to the shim, and loaded by the agent's child as the last step before execve, with nothing but
 * prctl() and seccomp(2).
 *
 * The memfd holds a SeccompBpfHeader followed by n_insns struct sock_filter. It is sealed (no write, grow or
 * shrink), so one compiled filter can be handed to any number of shims. */

#include <linux/filter.h>
#include <seccomp.h>
#include <stddef.h>
#include <stdint.h>

#include "cleanup.h"
#include "seccomp-policy.h"

#define SECCOMP_BPF_MAGIC   0x46504253u /* "SBPF" little-endian */
#define SECCOMP_BPF_VERSION 1u

typedef struct SeccompBpfHeader {
        uint32_t magic;   /* SECCOMP_BPF_MAGIC */
        uint32_t version; /* SECCOMP_BPF_VERSION */
        uint32_t flags;   /* SECCOMP_FILTER_FLAG_* passed to seccomp(2) */
        uint32_t n_insns; /* 1..BPF_MAXINSNS */
} SeccompBpfHeader;

typedef struct SeccompBpf {
        unsigned n_ref;
        int fd;    /* the sealed memfd, CLOEXEC; -EBADF for a filter mapped by seccomp_bpf_from_fd() */
        void *map; /* the whole memfd, read-only */
        size_t map_size;
        const struct sock_filter *insns; /* in map */
        size_t n_insns;
        uint32_t flags;          /* SECCOMP_FILTER_FLAG_* */
        char **unknown_syscalls; /* names libseccomp does not know: skipped (NULL if none) */
        char **skipped_arches;   /* architectures libseccomp does not know or cannot mix in (NULL if none) */
} SeccompBpf;

SeccompBpf *seccomp_bpf_ref(SeccompBpf *bpf);
SeccompBpf *seccomp_bpf_unref(SeccompBpf *bpf);
DEFINE_TRIVIAL_CLEANUP_FUNC(SeccompBpf *, seccomp_bpf_unref);

/* Builds the libseccomp filter of a policy: the default action, the native architecture plus those listed,
 * the rules, and SCMP_FLTATR_ACT_BADARCH = KILL_PROCESS so that a syscall from any other architecture kills
 * the process. Rules whose action is the default are redundant and left out. A rule with several comparisons
 * on the same argument becomes one rule per comparison (any of them matches, as in runc and crun); otherwise
 * its comparisons all have to match. Unknown syscall names and architectures are skipped and listed in
 * *ret_unknown_syscalls / *ret_skipped_arches (NULL if none; the caller logs them once). On -EINVAL (a rule
 * libseccomp refuses), *ret_error (if non-NULL) says which. */
int seccomp_policy_build(const SeccompPolicy *p, const char *label, scmp_filter_ctx *ret,
                         char ***ret_unknown_syscalls, char ***ret_skipped_arches, char **ret_error);

/* Exports a filter to a new sealed memfd and maps it. */
int seccomp_bpf_export(scmp_filter_ctx ctx, uint32_t kernel_flags, SeccompBpf **ret);

/* seccomp_policy_build() + seccomp_bpf_export(); the skipped names are in the result. */
int seccomp_policy_compile(const SeccompPolicy *p, const char *label, SeccompBpf **ret, char **ret_error);

/* Maps a filter memfd made by seccomp_bpf_export() (in the shim, before forking the agent). The fd is not
 * kept. -EPERM: not sealed against writing, growing and shrinking; -EBADMSG: not a valid filter file. */
int seccomp_bpf_from_fd(int fd, SeccompBpf **ret);

/* Loads a filter into the calling thread: PR_SET_NO_NEW_PRIVS (unless already set), then
 * seccomp(SECCOMP_SET_MODE_FILTER). Allocates nothing, reads no file and touches no lock, so it is safe in a
 * child between fork/clone and execve: it is meant to be the last call before execve, and the filter must
 * allow execve. */
int seccomp_bpf_load_program(const struct sock_filter *insns, size_t n_insns, uint32_t flags);
int seccomp_bpf_load(const SeccompBpf *bpf);
