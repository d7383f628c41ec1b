/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* An agent's record on disk, STATE/agents/ID/record, so that a restarted daemon knows its agents (adopt.c).
 * Written atomically (temp file, fsync, rename) at spawn, on every state change and at the end.
 *
 *   AgentRecordHeader    magic "DSCAGREC", format version, the sizes of the two parts, and an FNV-1a 64
 *                        checksum of everything after the header
 *   INFO                 the protocol's INFO map (proto_agent_info_encode), without usage and pid
 *   AgentRecordPrivate   the daemon's own fields, a fixed layout in host byte order (the same host reads it)
 *
 * A reader refuses a wrong magic, an unknown version, sizes that do not add up, a bad checksum and an INFO
 * that does not decode, saying which in one sentence. */

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "failure.h"
#include "proto.h"

typedef struct Agent Agent;

#define AGENT_RECORD_FILE    "record"
#define AGENT_RECORD_SPARE   "record.spare" /* a live agent's previous record, reused for the next write */
#define AGENT_RECORD_MAGIC   "DSCAGREC"
#define AGENT_RECORD_VERSION 1u
#define AGENT_RECORD_MAX     (4u * 1024 * 1024)
#define AGENT_RECORD_MSG_MAX 512

typedef struct AgentRecordHeader {
        char magic[8];
        uint32_t version;
        uint32_t info_size;
        uint32_t private_size;
        uint32_t reserved;
        uint64_t checksum; /* FNV-1a 64 of info and private */
} AgentRecordHeader;

typedef enum AgentRecordFlag {
        AGENT_RECORD_STOP_REQUESTED = 1u << 0,
        AGENT_RECORD_KILL_REQUESTED = 1u << 1,
        AGENT_RECORD_CGROUP_KILLED = 1u << 2,
        AGENT_RECORD_TIMED_OUT = 1u << 3,
        AGENT_RECORD_SPAWN_FAILED = 1u << 4,
        AGENT_RECORD_STDIN_OPEN = 1u << 5,
        AGENT_RECORD_CGROUPS_REMOVED = 1u << 6,
} AgentRecordFlag;

typedef struct AgentRecordPrivate {
        uint8_t boot_id[16]; /* /proc/sys/kernel/random/boot_id when written: pids and CLOCK_MONOTONIC are
                                per boot */
        int32_t shim_pid;
        uint32_t flags; /* AgentRecordFlag */
        uint64_t shim_start_ticks;
        int32_t ns_pid;
        uint32_t failed_stage;
        int32_t failed_error;
        uint32_t reserved;
        uint64_t oom_kills_at_start;
        uint64_t runtime_deadline_usec; /* CLOCK_MONOTONIC, 0: none */
        uint64_t stop_deadline_usec;    /* CLOCK_MONOTONIC, 0: none */
        uint64_t output_announced_seq;
        uint64_t output_stdout_bytes;
        uint64_t output_stderr_bytes;
        uint64_t output_dropped_bytes;
        char failed_msg[AGENT_RECORD_MSG_MAX]; /* NUL-terminated, may be empty */
} AgentRecordPrivate;

typedef struct AgentRecord {
        ProtoAgentInfo info;
        AgentRecordPrivate priv;
} AgentRecord;

int agent_record_encode(const ProtoAgentInfo *info, const AgentRecordPrivate *priv, void **ret_buf,
                        size_t *ret_len);
/* -EBADMSG (or -EPROTONOSUPPORT for an unknown version), with what is wrong in ret_failure->msg. */
int agent_record_decode(const void *buf, size_t len, AgentRecord *ret, Failure *ret_failure);
void agent_record_done(AgentRecord *r);

int boot_id_read(uint8_t ret[16]);

/* Writes a's record (a no-op before its state directory exists). Failures are logged once per agent. */
int agent_record_save(Agent *a);
