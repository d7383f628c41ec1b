/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uuid/uuid.h>

#include "agent-log.h"
#include "agent-record.h"
#include "record-sync.h"
#include "agent.h"
#include "fd-util.h"
#include "log.h"
#include "proc-util.h"
#include "hash-util.h"
#include "string-util.h"

int agent_record_encode(const ProtoAgentInfo *info, const AgentRecordPrivate *priv, void **ret_buf,
                        size_t *ret_len)
{
        _cleanup_free_ void *ibuf = NULL;
        AgentRecordHeader h = {.version = AGENT_RECORD_VERSION, .private_size = sizeof *priv};
        size_t ilen, total;
        uint8_t *buf;
        int r;

        r = proto_agent_info_encode(info, &ibuf, &ilen);
        if (r < 0)
                return r;
        total = sizeof h + ilen + sizeof *priv;
        if (total > AGENT_RECORD_MAX)
                return -E2BIG;
        buf = malloc(total);
        if (!buf)
                return -ENOMEM;
        memcpy(h.magic, AGENT_RECORD_MAGIC, sizeof h.magic);
        h.info_size = (uint32_t)ilen;
        memcpy(buf + sizeof h, ibuf, ilen);
        memcpy(buf + sizeof h + ilen, priv, sizeof *priv);
        h.checksum = fnv1a64(buf + sizeof h, ilen + sizeof *priv);
        memcpy(buf, &h, sizeof h);
        *ret_buf = buf;
        *ret_len = total;
        return 0;
}

/* a record is read by the daemon alone: no caller is answered, the code is internal */
#define BAD(r_, ...) return failure_set(ret_failure, (r_), PROTO_ERROR_INTERNAL, __VA_ARGS__)

int agent_record_decode(const void *buf, size_t len, AgentRecord *ret, Failure *ret_failure)
{
        _cleanup_(proto_agent_info_done) ProtoAgentInfo info = {};
        const uint8_t *p = buf;
        AgentRecordHeader h;
        AgentRecordPrivate priv;
        ProtoError e;

        if (len < sizeof h)
                BAD(-EBADMSG, "%zu bytes, shorter than the %zu-byte header", len, sizeof h);
        memcpy(&h, p, sizeof h);
        if (memcmp(h.magic, AGENT_RECORD_MAGIC, sizeof h.magic) != 0)
                BAD(-EBADMSG, "not an agent record (bad magic)");
        if (h.version != AGENT_RECORD_VERSION)
                BAD(-EPROTONOSUPPORT, "format version %u, this descartesd reads version %u", h.version,
                    AGENT_RECORD_VERSION);
        if (h.private_size != sizeof priv || (uint64_t)sizeof h + h.info_size + h.private_size != len)
                BAD(-EBADMSG, "sizes do not add up (info %u, private %u, file %zu bytes)", h.info_size,
                    h.private_size, len);
        if (fnv1a64(p + sizeof h, len - sizeof h) != h.checksum)
                BAD(-EBADMSG, "checksum mismatch (the file is corrupt)");
        if (proto_agent_info_decode(p + sizeof h, h.info_size, &info, &e) < 0)
                BAD(-EBADMSG, "its INFO does not decode: %s", e.msg);
        memcpy(&priv, p + sizeof h + h.info_size, sizeof priv);
        priv.failed_msg[sizeof priv.failed_msg - 1] = 0;
        if (info.n_argv == 0 || !info.argv)
                BAD(-EBADMSG, "no argv");
        ret->info = info;
        info = (ProtoAgentInfo){};
        ret->priv = priv;
        return 0;
}

void agent_record_done(AgentRecord *r)
{
        if (!r)
                return;
        proto_agent_info_done(&r->info);
        *r = (AgentRecord){};
}

int boot_id_read(uint8_t ret[16])
{
        static uint8_t cached[16];
        static bool have;
        _cleanup_free_ char *text = NULL;
        int r;

        if (!have) {
                r = read_file_at(AT_FDCWD, "/proc/sys/kernel/random/boot_id", 128, &text, NULL);
                if (r < 0)
                        return r;
                text[strcspn(text, "\n")] = 0;
                if (uuid_parse(text, cached) < 0)
                        return -EBADMSG;
                have = true;
        }
        memcpy(ret, cached, 16);
        return 0;
}

static void fill_private(Agent *a, AgentRecordPrivate *p)
{
        *p = (AgentRecordPrivate){
                .shim_pid = pidref_is_set(&a->shim.pid) ? a->shim.pid.pid : 0,
                .shim_start_ticks = a->shim.start_ticks,
                .ns_pid = a->ns_pid,
                .failed_stage = a->end.failed_stage,
                .failed_error = a->end.failed_error,
                .oom_kills_at_start = a->end.oom_kills_at_start,
                .runtime_deadline_usec = a->timers.runtime_deadline_usec,
                .stop_deadline_usec = a->timers.stop_deadline_usec,
                .output_announced_seq = a->output.announced_seq,
                .output_stdout_bytes = a->output.stdout_bytes,
                .output_stderr_bytes = a->output.stderr_bytes,
                .output_dropped_bytes = a->output.dropped_bytes,
        };
        (void)boot_id_read(p->boot_id);
        p->flags = (a->end.stop_requested ? AGENT_RECORD_STOP_REQUESTED : 0) |
                   (a->end.kill_requested ? AGENT_RECORD_KILL_REQUESTED : 0) |
                   (a->end.cgroup_killed ? AGENT_RECORD_CGROUP_KILLED : 0) |
                   (a->end.timed_out ? AGENT_RECORD_TIMED_OUT : 0) |
                   (a->end.spawn_failed ? AGENT_RECORD_SPAWN_FAILED : 0) |
                   (a->stdin_open ? AGENT_RECORD_STDIN_OPEN : 0) |
                   (a->kernel.cgroups_removed ? AGENT_RECORD_CGROUPS_REMOVED : 0);
        if (a->end.failed_msg)
                (void)snprintf(p->failed_msg, sizeof p->failed_msg, "%s", a->end.failed_msg);
}

int agent_state_dir(Agent *a, int *tmp)
{
        if (!a->state_path)
                return -ENOENT;
        *tmp = open(a->state_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        return *tmp >= 0 ? *tmp : -errno;
}

/* Queues the flush of the record just renamed into dfd and of dfd itself (record-sync.h). */
static void sync_record(Agent *a, int dfd)
{
        int fd = openat(dfd, AGENT_RECORD_FILE, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        int dirfd = fcntl(dfd, F_DUPFD_CLOEXEC, 3);

        record_sync_queue(a->manager->record_sync, fd, dirfd);
}

int agent_record_save(Agent *a)
{
        _cleanup_free_ void *buf = NULL;
        AgentRecordPrivate priv;
        _cleanup_close_ int tmp = -EBADF;
        size_t len = 0;
        int dfd, r;

        if (!a->info.argv || a->info.n_argv == 0)
                return 0;
        dfd = agent_state_dir(a, &tmp);
        if (dfd < 0)
                return 0;
        if (pidref_is_set(&a->shim.pid) && a->shim.start_ticks == 0)
                (void)proc_pid_start_ticks(a->shim.pid.pid, &a->shim.start_ticks);

        fill_private(a, &priv);
        /* the public record as it is: a live agent's usage is read from its cgroup when asked, never kept */
        r = agent_record_encode(&a->info, &priv, &buf, &len);
        /* Only an ended agent's record is history worth an fsync (two disk flushes, about 3 ms here, on
         * every spawn, pause and resume otherwise). A live agent's record serves a restarted daemon, and the
         * page cache outlives a daemon crash; after a host crash the agent is gone anyway, and a torn record
         * fails its checksum and is skipped. A live agent's record is written about five times in a short
         * life: swapped with its spare rather than replaced by a new inode each time (on ext4 without a
         * journal every new inode costs a scan past the ones freed in the last minute: most of the daemon's
         * CPU per spawn at a few dozen spawns per second). The ended record is a new file, renamed into
         * place and flushed as before, and the spare goes. */
        if (r >= 0 && !agent_state_is_ended(a->info.state))
                r = write_file_exchange_at(dfd, AGENT_RECORD_FILE, AGENT_RECORD_SPARE, buf, len, 0600);
        else if (r >= 0) {
                r = write_file_replace_at(dfd, AGENT_RECORD_FILE, buf, len, 0600, false);
                if (r >= 0) {
                        (void)unlinkat(dfd, AGENT_RECORD_SPARE, 0);
                        /* in place for a restarted daemon now; durable a moment later, off the loop */
                        sync_record(a, dfd);
                }
        }
        if (r < 0) {
                log_agent_full_errno(
                        a, a->record_failed ? LOG_DEBUG : LOG_WARNING, r,
                        "Failed to write its record %s/%s, a restarted daemon may not know it: %m",
                        a->state_path ?: "?", AGENT_RECORD_FILE);
                a->record_failed = true;
                return r;
        }
        a->record_failed = false;
        return 0;
}
