/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What a restarted descartesd reads back: agent records, /proc/PID/stat start times, the event log. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "agent-record.h"
#include "event-log.h"
#include "event-ring.h"
#include "fd-util.h"

static char *argv_sample[] = {(char *)"sh", (char *)"-c", (char *)"echo hi", NULL};

static void sample(ProtoAgentInfo *i, AgentRecordPrivate *p)
{
        *i = (ProtoAgentInfo){
                .id = (char *)"0b7c4f2e-4a57-4f0e-9d53-5d1c8e3f2a10",
                .name = (char *)"worker-1",
                .state = PROTO_STATE_PAUSED,
                .owner_uid = 1000,
                .argv = argv_sample,
                .n_argv = 3,
                .created_ns = 1700000000000000000ULL,
                .has_started_ns = true,
                .started_ns = 1700000000100000000ULL,
                .cgroup = (char *)"/sys/fs/cgroup/x/agents/u1000/a-0b7c4f2e-4a57-4f0e-9d53-5d1c8e3f2a10",
                .limits = {.has_memory = true, .memory = 1 << 30},
        };
        *p = (AgentRecordPrivate){
                .shim_pid = 4242,
                .flags = AGENT_RECORD_STOP_REQUESTED | AGENT_RECORD_STDIN_OPEN,
                .shim_start_ticks = 987654,
                .ns_pid = 2,
                .runtime_deadline_usec = 123456789,
                .output_announced_seq = 77,
                .output_stdout_bytes = 1000,
        };
        (void)snprintf(p->failed_msg, sizeof p->failed_msg, "%s", "none");
}

static void test_record_round_trip(void **state)
{
        ProtoAgentInfo info;
        AgentRecordPrivate priv;
        AgentRecord rec = {};
        void *buf = NULL;
        size_t len;
        Failure err = {};

        sample(&info, &priv);
        assert_int_equal(agent_record_encode(&info, &priv, &buf, &len), 0);
        assert_int_equal(agent_record_decode(buf, len, &rec, &err), 0);
        assert_string_equal(rec.info.id, info.id);
        assert_string_equal(rec.info.name, "worker-1");
        assert_int_equal(rec.info.state, PROTO_STATE_PAUSED);
        assert_int_equal(rec.info.n_argv, 3);
        assert_string_equal(rec.info.argv[2], "echo hi");
        assert_int_equal(rec.info.started_ns, info.started_ns);
        assert_string_equal(rec.info.cgroup, info.cgroup);
        assert_true(rec.info.limits.has_memory);
        assert_memory_equal(&rec.priv, &priv, sizeof priv);
        agent_record_done(&rec);
        free(buf);
}

static void test_record_refusals(void **state)
{
        ProtoAgentInfo info;
        AgentRecordPrivate priv;
        AgentRecordHeader h;
        AgentRecord rec = {};
        uint8_t *buf = NULL;
        size_t len;
        Failure err = {};

        sample(&info, &priv);
        assert_int_equal(agent_record_encode(&info, &priv, (void **)&buf, &len), 0);

        assert_int_equal(agent_record_decode(buf, 10, &rec, &err), -EBADMSG);
        assert_non_null(strstr(err.msg, "shorter than"));
        assert_int_equal(agent_record_decode(buf, len - 1, &rec, &err), -EBADMSG);
        assert_non_null(strstr(err.msg, "sizes do not add up"));
        assert_int_equal(agent_record_decode("garbage garbage garbage garbage garbage", 39, &rec, &err),
                         -EBADMSG);
        assert_non_null(strstr(err.msg, "bad magic"));

        buf[len - 5] ^= 0x40; /* inside failed_msg */
        assert_int_equal(agent_record_decode(buf, len, &rec, &err), -EBADMSG);
        assert_non_null(strstr(err.msg, "checksum"));
        buf[len - 5] ^= 0x40;

        memcpy(&h, buf, sizeof h);
        h.version = 2;
        memcpy(buf, &h, sizeof h);
        assert_int_equal(agent_record_decode(buf, len, &rec, &err), -EPROTONOSUPPORT);
        assert_non_null(strstr(err.msg, "version 2"));
        h.version = AGENT_RECORD_VERSION;
        memcpy(buf, &h, sizeof h);
        assert_int_equal(agent_record_decode(buf, len, &rec, &err), 0);
        agent_record_done(&rec);
        free(buf);
}

static void append_events(EventLog *l, uint64_t from, uint64_t to)
{
        for (uint64_t seq = from; seq <= to; seq++) {
                ProtoEvent e = {.seq = seq, .ts_ns = seq * 10, .kind = PROTO_EVENT_HEARTBEAT};
                void *body = NULL;
                size_t len;

                assert_int_equal(proto_event_encode(&e, &body, &len), 0);
                assert_int_equal(event_log_append(l, &e, body, len), 0);
                free(body);
        }
}

static size_t reopen(int dfd, const char *dir, size_t max_events, uint64_t *ret_last)
{
        EventRing *ring = NULL;
        EventLog *l = NULL;
        size_t n;

        assert_int_equal(event_ring_new(100, 1 << 20, &ring), 0);
        assert_int_equal(event_log_open(dfd, dir, max_events, 1 << 20, ring, ret_last, &l), 0);
        n = event_ring_size(ring);
        event_log_free(l);
        event_ring_free(ring);
        return n;
}

static void test_event_log(void **state)
{
        char dir[] = "/tmp/test-restore-units-XXXXXX";
        EventRing *ring = NULL;
        EventLog *l = NULL;
        uint64_t last = 99;
        struct stat st;
        int dfd, fd;

        assert_non_null(mkdtemp(dir));
        dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(dfd >= 0);

        assert_int_equal(event_ring_new(100, 1 << 20, &ring), 0);
        assert_int_equal(event_log_open(dfd, dir, 1000, 1 << 20, ring, &last, &l), 0);
        assert_int_equal(last, 0);
        append_events(l, 1, 3);
        event_log_free(l);
        event_ring_free(ring);

        assert_int_equal(reopen(dfd, dir, 1000, &last), 3);
        assert_int_equal(last, 3);

        /* a record cut short by a crash: dropped, and the file truncated before new records go on */
        assert_int_equal(fstatat(dfd, EVENT_LOG_FILE, &st, 0), 0);
        fd = openat(dfd, EVENT_LOG_FILE, O_WRONLY | O_APPEND | O_CLOEXEC);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, "\x45\x56\x54\x31\x40\x00", 6), 6);
        close(fd);
        assert_int_equal(reopen(dfd, dir, 1000, &last), 3);
        assert_true(last >= 3);
        {
                struct stat st2;
                assert_int_equal(fstatat(dfd, EVENT_LOG_FILE, &st2, 0), 0);
                assert_int_equal(st2.st_size, st.st_size);
        }

        /* rotation at max_events keeps the previous file: both are read back, older first */
        assert_int_equal(event_ring_new(100, 1 << 20, &ring), 0);
        assert_int_equal(event_log_open(dfd, dir, 4, 1 << 20, ring, &last, &l), 0);
        append_events(l, last + 1, last + 6);
        event_log_free(l);
        event_ring_free(ring);
        assert_int_equal(fstatat(dfd, EVENT_LOG_FILE_OLD, &st, 0), 0);
        assert_true(reopen(dfd, dir, 4, &last) >= 4);
        assert_true(last >= 9);

        /* garbage instead of a log: reported, started over, never fatal */
        fd = openat(dfd, EVENT_LOG_FILE, O_WRONLY | O_TRUNC | O_CLOEXEC);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, "this is not an event log at all", 31), 31);
        close(fd);
        (void)unlinkat(dfd, EVENT_LOG_FILE_OLD, 0);
        assert_int_equal(reopen(dfd, dir, 1000, &last), 0);
        assert_true(last > 0);

        close(dfd);
        assert_int_equal(rm_rf_at(AT_FDCWD, dir), 0);
}

/* A format 1 log (no owners) still loads, its agent events without an owner (admins only); the file goes
 * on as format 2 and the owner of each new event comes back after a restart. */
static void test_event_log_owner(void **state)
{
        char dir[] = "/tmp/test-restore-units-XXXXXX";
        EventLogFileHeader fh = {.version = 1};
        ProtoEvent old = {.seq = 1, .ts_ns = 10, .kind = PROTO_EVENT_EXITED, .agent = (char *)"a1"};
        ProtoEvent mine = {.seq = 2,
                           .ts_ns = 20,
                           .kind = PROTO_EVENT_EXITED,
                           .agent = (char *)"a2",
                           .has_owner = true,
                           .owner_uid = 1001};
        EventLogRecordHeader rh = {.magic = EVENT_LOG_RECORD_MAGIC, .seq = 1};
        ProtoEventsResult res = {};
        EventRing *ring = NULL;
        EventLog *l = NULL;
        void *body = NULL;
        uint64_t last = 0;
        size_t len;
        int dfd, fd;

        memcpy(fh.magic, EVENT_LOG_MAGIC, sizeof fh.magic);
        assert_non_null(mkdtemp(dir));
        dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(dfd >= 0);
        assert_int_equal(proto_event_encode(&old, &body, &len), 0);
        rh.len = (uint32_t)len;
        fd = openat(dfd, EVENT_LOG_FILE, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, &fh, sizeof fh), (ssize_t)sizeof fh);
        assert_int_equal(write(fd, &rh, sizeof rh), (ssize_t)sizeof rh);
        assert_int_equal(write(fd, body, len), (ssize_t)len);
        close(fd);
        free(body);

        assert_int_equal(event_ring_new(100, 1 << 20, &ring), 0);
        assert_int_equal(event_log_open(dfd, dir, 1000, 1 << 20, ring, &last, &l), 0);
        assert_int_equal(last, 1);
        assert_int_equal(proto_event_encode(&mine, &body, &len), 0);
        assert_int_equal(event_log_append(l, &mine, body, len), 0);
        free(body);
        event_log_free(l);
        event_ring_free(ring);

        ring = NULL;
        assert_int_equal(event_ring_new(100, 1 << 20, &ring), 0);
        assert_int_equal(event_log_open(dfd, dir, 1000, 1 << 20, ring, &last, &l), 0);
        assert_int_equal(last, 2);
        assert_int_equal(event_ring_query(ring, 0, 0, NULL, &res), 0);
        assert_int_equal(res.n_events, 2);
        assert_false(res.events[0].has_owner);
        assert_true(res.events[1].has_owner);
        assert_int_equal(res.events[1].owner_uid, 1001);
        proto_events_result_done(&res);
        event_log_free(l);
        event_ring_free(ring);

        fd = openat(dfd, EVENT_LOG_FILE, O_RDONLY | O_CLOEXEC);
        assert_true(fd >= 0);
        assert_int_equal(read(fd, &fh, sizeof fh), (ssize_t)sizeof fh);
        assert_int_equal(fh.version, EVENT_LOG_VERSION);
        close(fd);
        close(dfd);
        assert_int_equal(rm_rf_at(AT_FDCWD, dir), 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_record_round_trip),
                cmocka_unit_test(test_record_refusals),
                cmocka_unit_test(test_event_log),
                cmocka_unit_test(test_event_log_owner),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
