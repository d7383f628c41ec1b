/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <linux/seccomp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fd-util.h"
#include "seccomp-bpf.h"
#include "string-util.h"

#define SECCOMP_BPF_FLAGS_KNOWN                                                                             \
        (SECCOMP_FILTER_FLAG_TSYNC | SECCOMP_FILTER_FLAG_LOG | SECCOMP_FILTER_FLAG_SPEC_ALLOW)

static void seccomp_releasep(scmp_filter_ctx *ctx)
{
        if (*ctx)
                seccomp_release(*ctx);
}

SeccompBpf *seccomp_bpf_ref(SeccompBpf *bpf)
{
        if (bpf)
                bpf->n_ref++;
        return bpf;
}

SeccompBpf *seccomp_bpf_unref(SeccompBpf *bpf)
{
        if (!bpf || --bpf->n_ref > 0)
                return NULL;
        if (bpf->map)
                (void)munmap(bpf->map, bpf->map_size);
        safe_close(bpf->fd);
        strv_free(bpf->unknown_syscalls);
        strv_free(bpf->skipped_arches);
        free(bpf);
        return NULL;
}

static uint32_t action_to_scmp(SeccompAction a, uint32_t errno_ret)
{
        switch (a) {
        case SECCOMP_ACTION_ALLOW:
                return SCMP_ACT_ALLOW;
        case SECCOMP_ACTION_ERRNO:
                return SCMP_ACT_ERRNO(errno_ret);
        case SECCOMP_ACTION_KILL:
        case SECCOMP_ACTION_KILL_THREAD:
                return SCMP_ACT_KILL_THREAD;
        case SECCOMP_ACTION_KILL_PROCESS:
                return SCMP_ACT_KILL_PROCESS;
        case SECCOMP_ACTION_TRAP:
                return SCMP_ACT_TRAP;
        case SECCOMP_ACTION_LOG:
                return SCMP_ACT_LOG;
        default:
                return SCMP_ACT_KILL_PROCESS;
        }
}

static enum scmp_compare op_to_scmp(SeccompOp op)
{
        switch (op) {
        case SECCOMP_OP_NE:
                return SCMP_CMP_NE;
        case SECCOMP_OP_LT:
                return SCMP_CMP_LT;
        case SECCOMP_OP_LE:
                return SCMP_CMP_LE;
        case SECCOMP_OP_EQ:
                return SCMP_CMP_EQ;
        case SECCOMP_OP_GE:
                return SCMP_CMP_GE;
        case SECCOMP_OP_GT:
                return SCMP_CMP_GT;
        case SECCOMP_OP_MASKED_EQ:
                return SCMP_CMP_MASKED_EQ;
        default:
                return _SCMP_CMP_MIN;
        }
}

static int build_error(char **ret_error, int r, const char *fmt, ...) _printf_(3, 4);
static int build_error(char **ret_error, int r, const char *fmt, ...)
{
        va_list ap;

        if (!ret_error)
                return r;
        va_start(ap, fmt);
        if (vasprintf(ret_error, fmt, ap) < 0)
                *ret_error = NULL;
        va_end(ap);
        return r;
}

static int add_rule(scmp_filter_ctx ctx, uint32_t action, int nr, const SeccompRule *rule)
{
        struct scmp_arg_cmp cmp[SECCOMP_RULE_ARGS_MAX];
        bool seen[SECCOMP_ARG_INDEX_MAX + 1] = {}, repeated = false;

        for (size_t i = 0; i < rule->n_args; i++) {
                const SeccompArg *a = &rule->args[i];

                if (seen[a->index])
                        repeated = true;
                seen[a->index] = true;
                cmp[i] = (struct scmp_arg_cmp){
                        .arg = a->index,
                        .op = op_to_scmp(a->op),
                        .datum_a = a->value,
                        .datum_b = a->value_two,
                };
        }

        if (!repeated)
                return seccomp_rule_add_array(ctx, action, nr, (unsigned)rule->n_args, cmp);
        for (size_t i = 0; i < rule->n_args; i++) {
                int r = seccomp_rule_add_array(ctx, action, nr, 1, &cmp[i]);
                if (r < 0)
                        return r;
        }
        return 0;
}

int seccomp_policy_build(const SeccompPolicy *p, const char *label, scmp_filter_ctx *ret,
                         char ***ret_unknown_syscalls, char ***ret_skipped_arches, char **ret_error)
{
        _cleanup_(seccomp_releasep) scmp_filter_ctx ctx = NULL;
        _cleanup_strv_free_ char **unknown = NULL, **skipped = NULL;
        uint32_t default_action;
        int r;

        label = label ?: "(unnamed)";
        default_action = action_to_scmp(p->default_action, p->default_errno_ret);
        ctx = seccomp_init(default_action);
        if (!ctx)
                return -ENOMEM;

        r = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
        if (r < 0)
                return r;
        /* A binary search over syscall numbers: allow-lists of a few hundred names stay fast. */
        (void)seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);

        for (char **a = p->architectures; a && *a; a++) {
                uint32_t arch = seccomp_arch_resolve_name(*a);

                if (arch != 0) {
                        r = seccomp_arch_add(ctx, arch);
                        if (r >= 0 || r == -EEXIST)
                                continue;
                        /* -EDOM: an architecture of the other endianness cannot share a filter; it cannot
                         * run on this host either. */
                        if (r != -EDOM)
                                return build_error(ret_error, r, "policy %s: cannot add architecture %s: %s",
                                                   label, *a, strerror(-r));
                }
                if (!strv_contains(skipped, *a)) {
                        r = strv_extend(&skipped, *a);
                        if (r < 0)
                                return r;
                }
        }

        for (size_t i = 0; i < p->n_rules; i++) {
                const SeccompRule *rule = &p->rules[i];
                uint32_t action = action_to_scmp(rule->action, rule->errno_ret);

                if (action == default_action)
                        continue;
                for (char **n = rule->names; *n; n++) {
                        int nr = seccomp_syscall_resolve_name(*n);

                        if (nr == __NR_SCMP_ERROR) {
                                if (!strv_contains(unknown, *n)) {
                                        r = strv_extend(&unknown, *n);
                                        if (r < 0)
                                                return r;
                                }
                                continue;
                        }
                        r = add_rule(ctx, action, nr, rule);
                        if (r == -ENOMEM)
                                return r;
                        if (r < 0)
                                return build_error(
                                        ret_error, -EINVAL,
                                        "policy %s: syscalls[%zu]: libseccomp refuses the rule for "
                                        "\"%s\": %s",
                                        label, rule->source_index, *n, strerror(-r));
                }
        }

        *ret = TAKE_PTR(ctx);
        if (ret_unknown_syscalls)
                *ret_unknown_syscalls = TAKE_PTR(unknown);
        if (ret_skipped_arches)
                *ret_skipped_arches = TAKE_PTR(skipped);
        return 0;
}

static int bpf_map(int fd, SeccompBpf *bpf)
{
        SeccompBpfHeader h;
        struct stat st;
        void *m;

        if (fstat(fd, &st) < 0)
                return negative_errno();
        if (!S_ISREG(st.st_mode) || (size_t)st.st_size < sizeof h + sizeof(struct sock_filter) ||
            (size_t)st.st_size > sizeof h + (size_t)BPF_MAXINSNS * sizeof(struct sock_filter))
                return -EBADMSG;
        m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (m == MAP_FAILED)
                return negative_errno();
        memcpy(&h, m, sizeof h);
        if (h.magic != SECCOMP_BPF_MAGIC || h.version != SECCOMP_BPF_VERSION ||
            (h.flags & ~(uint32_t)SECCOMP_BPF_FLAGS_KNOWN) || h.n_insns == 0 || h.n_insns > BPF_MAXINSNS ||
            sizeof h + (size_t)h.n_insns * sizeof(struct sock_filter) != (size_t)st.st_size) {
                (void)munmap(m, (size_t)st.st_size);
                return -EBADMSG;
        }
        bpf->map = m;
        bpf->map_size = (size_t)st.st_size;
        bpf->insns = (const struct sock_filter *)((const char *)m + sizeof h);
        bpf->n_insns = h.n_insns;
        bpf->flags = h.flags;
        return 0;
}

static SeccompBpf *bpf_new(void)
{
        SeccompBpf *bpf = calloc(1, sizeof(SeccompBpf));

        if (!bpf)
                return NULL;
        bpf->n_ref = 1;
        bpf->fd = -EBADF;
        return bpf;
}

int seccomp_bpf_export(scmp_filter_ctx ctx, uint32_t kernel_flags, SeccompBpf **ret)
{
        _cleanup_(seccomp_bpf_unrefp) SeccompBpf *bpf = NULL;
        SeccompBpfHeader h = {.magic = SECCOMP_BPF_MAGIC, .version = SECCOMP_BPF_VERSION};
        struct stat st;
        size_t n;
        int r;

        if (kernel_flags & ~(uint32_t)SECCOMP_BPF_FLAGS_KNOWN)
                return -EINVAL;
        bpf = bpf_new();
        if (!bpf)
                return -ENOMEM;
        bpf->fd = memfd_create("descartes-seccomp", MFD_CLOEXEC | MFD_ALLOW_SEALING);
        if (bpf->fd < 0)
                return negative_errno();

        /* The program goes after the header, which is written once its length is known. */
        if (lseek(bpf->fd, sizeof h, SEEK_SET) < 0)
                return negative_errno();
        r = seccomp_export_bpf(ctx, bpf->fd);
        if (r < 0)
                return r;
        if (fstat(bpf->fd, &st) < 0)
                return negative_errno();
        if ((size_t)st.st_size <= sizeof h || ((size_t)st.st_size - sizeof h) % sizeof(struct sock_filter))
                return -EBADMSG;
        n = ((size_t)st.st_size - sizeof h) / sizeof(struct sock_filter);
        if (n > BPF_MAXINSNS)
                return -E2BIG;
        h.flags = kernel_flags;
        h.n_insns = (uint32_t)n;
        if (pwrite(bpf->fd, &h, sizeof h, 0) != (ssize_t)sizeof h)
                return errno > 0 ? -errno : -EIO;
        if (fcntl(bpf->fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0)
                return negative_errno();

        r = bpf_map(bpf->fd, bpf);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(bpf);
        return 0;
}

int seccomp_policy_compile(const SeccompPolicy *p, const char *label, SeccompBpf **ret, char **ret_error)
{
        _cleanup_(seccomp_releasep) scmp_filter_ctx ctx = NULL;
        _cleanup_strv_free_ char **unknown = NULL, **skipped = NULL;
        SeccompBpf *bpf;
        int r;

        r = seccomp_policy_build(p, label, &ctx, &unknown, &skipped, ret_error);
        if (r < 0)
                return r;
        r = seccomp_bpf_export(ctx, p->kernel_flags, &bpf);
        if (r < 0)
                return build_error(ret_error, r, "policy %s: cannot export the filter: %s",
                                   label ?: "(unnamed)", strerror(-r));
        bpf->unknown_syscalls = TAKE_PTR(unknown);
        bpf->skipped_arches = TAKE_PTR(skipped);
        *ret = bpf;
        return 0;
}

int seccomp_bpf_from_fd(int fd, SeccompBpf **ret)
{
        _cleanup_(seccomp_bpf_unrefp) SeccompBpf *bpf = NULL;
        const int need = F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE;
        int seals, r;

        seals = fcntl(fd, F_GET_SEALS);
        if (seals < 0)
                return errno == EINVAL ? -EPERM : negative_errno();
        if ((seals & need) != need)
                return -EPERM;
        bpf = bpf_new();
        if (!bpf)
                return -ENOMEM;
        r = bpf_map(fd, bpf);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(bpf);
        return 0;
}

int seccomp_bpf_load_program(const struct sock_filter *insns, size_t n_insns, uint32_t flags)
{
        struct sock_fprog prog = {
                .len = (unsigned short)n_insns,
                .filter = (struct sock_filter *)insns,
        };
        long r;

        if (!insns || n_insns == 0 || n_insns > BPF_MAXINSNS)
                return -EINVAL;

        /* Without CAP_SYS_ADMIN the kernel requires no_new_privs; the agent has no capabilities by now. */
        r = prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0);
        if (r < 0)
                return negative_errno();
        if (r == 0 && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                return negative_errno();

        r = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
        if (r < 0)
                return negative_errno();
        /* With TSYNC, a positive result names a thread that could not be synchronised. */
        return r > 0 ? -EBUSY : 0;
}

int seccomp_bpf_load(const SeccompBpf *bpf)
{
        if (!bpf)
                return -EINVAL;
        return seccomp_bpf_load_program(bpf->insns, bpf->n_insns, bpf->flags);
}
