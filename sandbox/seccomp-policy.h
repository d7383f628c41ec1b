/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Seccomp policies in the OCI runtime-spec format (config-linux.md "seccomp", the format Docker, Podman and
 * containerd use), read without I/O from a string so that the parser is tested on literal samples, plus the
 * lookup of a policy file by NAME or PATH. docs/descartes-policy.5.scd describes what is accepted. */

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cleanup.h"

/* Bounds on what a policy file can make the daemon allocate. */
#define SECCOMP_POLICY_SIZE_MAX  (1024 * 1024)
#define SECCOMP_POLICY_DEPTH_MAX 8
#define SECCOMP_RULE_ARGS_MAX    64
#define SECCOMP_SYSCALL_NAME_MAX 64
#define SECCOMP_ARCH_NAME_MAX    64
#define SECCOMP_POLICY_NAME_MAX  64
/* Argument indexes run 0..5 (the six syscall argument registers). */
#define SECCOMP_ARG_INDEX_MAX 5
/* The kernel's MAX_ERRNO. */
#define SECCOMP_ERRNO_MAX 4095

typedef enum SeccompAction {
        SECCOMP_ACTION_ALLOW,
        SECCOMP_ACTION_ERRNO,
        SECCOMP_ACTION_KILL, /* the thread, as SCMP_ACT_KILL has always meant */
        SECCOMP_ACTION_KILL_THREAD,
        SECCOMP_ACTION_KILL_PROCESS,
        SECCOMP_ACTION_TRAP,
        SECCOMP_ACTION_LOG,
        _SECCOMP_ACTION_MAX,
        _SECCOMP_ACTION_INVALID = -EINVAL,
} SeccompAction;

const char *seccomp_action_to_string(SeccompAction a);
SeccompAction seccomp_action_from_string(const char *s);

typedef enum SeccompOp {
        SECCOMP_OP_NE,
        SECCOMP_OP_LT,
        SECCOMP_OP_LE,
        SECCOMP_OP_EQ,
        SECCOMP_OP_GE,
        SECCOMP_OP_GT,
        SECCOMP_OP_MASKED_EQ,
        _SECCOMP_OP_MAX,
        _SECCOMP_OP_INVALID = -EINVAL,
} SeccompOp;

const char *seccomp_op_to_string(SeccompOp op);
SeccompOp seccomp_op_from_string(const char *s);

/* The "flags" we accept; they are passed to seccomp(2) when the filter is loaded. */
typedef enum SeccompFlag {
        SECCOMP_FLAG_TSYNC,
        SECCOMP_FLAG_LOG,
        SECCOMP_FLAG_SPEC_ALLOW,
        _SECCOMP_FLAG_MAX,
        _SECCOMP_FLAG_INVALID = -EINVAL,
} SeccompFlag;

const char *seccomp_flag_to_string(SeccompFlag f);
SeccompFlag seccomp_flag_from_string(const char *s);
/* The kernel's SECCOMP_FILTER_FLAG_* bit of f. */
uint32_t seccomp_flag_to_kernel(SeccompFlag f);

typedef struct SeccompArg {
        unsigned index; /* 0..SECCOMP_ARG_INDEX_MAX */
        uint64_t value;
        uint64_t value_two; /* the expected value of MASKED_EQ (value is the mask) */
        SeccompOp op;
} SeccompArg;

typedef struct SeccompRule {
        size_t source_index; /* its position in "syscalls", for messages */
        char **names;        /* NULL-terminated, each [a-z0-9_]+ */
        SeccompAction action;
        uint32_t errno_ret; /* with SECCOMP_ACTION_ERRNO: errnoRet, EPERM if absent */
        SeccompArg *args;
        size_t n_args;
} SeccompRule;

typedef struct SeccompPolicy {
        SeccompAction default_action;
        uint32_t default_errno_ret; /* with SECCOMP_ACTION_ERRNO: defaultErrnoRet, EPERM if absent */
        char **architectures;       /* libseccomp names ("x86_64", from "SCMP_ARCH_X86_64"); may be NULL */
        uint32_t kernel_flags;      /* SECCOMP_FILTER_FLAG_* */
        SeccompRule *rules;
        size_t n_rules;
} SeccompPolicy;

SeccompPolicy *seccomp_policy_free(SeccompPolicy *p);
DEFINE_TRIVIAL_CLEANUP_FUNC(SeccompPolicy *, seccomp_policy_free);

/* Parses a policy from text (size bytes, need not be NUL-terminated). label names it in messages (the file
 * name). On -EINVAL (a malformed or refused policy), -EFBIG (over SECCOMP_POLICY_SIZE_MAX) and -E2BIG (too
 * deep), *ret_error (if non-NULL) gets a message such as
 *   policy default.json: syscalls[3].action: unknown action "SCMP_ACT_FOO"
 * -ENOMEM leaves it unset. */
int seccomp_policy_parse(const char *label, const char *text, size_t size, SeccompPolicy **ret,
                         char **ret_error);

/* A policy NAME: [a-z0-9_-]+, at most SECCOMP_POLICY_NAME_MAX characters. */
bool seccomp_policy_name_is_valid(const char *name);

/* Resolves a --policy argument and reads the file (at most SECCOMP_POLICY_SIZE_MAX bytes, NUL-terminated).
 * A NAME reads POLICY_DIR/seccomp/NAME.json (label "NAME.json"; policy_dir NULL means the build-time
 * DESCARTES_POLICY_DIR). Anything else must be an absolute PATH to a
 * regular file that is not a symlink, owned by root, not writable by group or others, and readable by
 * others (a tenant may name it, and must learn nothing from our messages it could not read itself); its
 * label is the path. Errors: -EINVAL (neither a name nor an absolute path), -ELOOP (a symlink), -EBADFD (not
 * a regular file), -EPERM (ownership or mode), -EFBIG, or open(2)'s error; *ret_error (if non-NULL) says
 * which. On success *ret_label (if non-NULL) gets the label. */
int seccomp_policy_read(const char *policy_dir, const char *spec, char **ret_text, size_t *ret_size,
                        char **ret_label, char **ret_error);
