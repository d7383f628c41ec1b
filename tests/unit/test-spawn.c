/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* spawn_shim + descartes-shim end to end: needs root and a cgroup2 mount (a temporary cgroup is made under
 * it). */
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <linux/magic.h>
#include <unistd.h>

#include <cmocka.h>

#include "cleanup.h"
#include "env-blob-test-util.h"
#include "fd-util.h"
#include "output-log.h"
#include "shim-contract.h"
#include "shim-launch.h"
#include "string-util.h"

#define TIMEOUT_MS 10000

_Static_assert(SHIM_FD_CONTROL == 3 && SHIM_FD_STATE_DIR == 4 && SHIM_FD_PAYLOAD_CG == 5 &&
                       SHIM_FD_SECCOMP == 6 && SHIM_FD_ENV == 7 && SHIM_FD_OPTIONS == 8,
               "the contract places the shim's fds at 3, 4, 5, 6, 7, 8");

static const char *cgroup2_mounts[] = {"/sys/fs/cgroup/unified", "/sys/fs/cgroup"};
static char test_cgroup[256];
static char test_dir[256];
static unsigned agent_counter;
static char *agent_env[] = {(char *)"PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin", (char *)"LANG=C",
                            NULL};

typedef struct Agent {
        char cgroup[PATH_MAX];
        char state[PATH_MAX];
        char listen[PATH_MAX];
        int state_fd;
        int ctl;
        PidRef shim;
        uint8_t msg[SHIM_MSG_MAX];
} Agent;

typedef struct AgentOptions {
        const char *cwd;
        const char *hostname;
        bool stdin_pipe;
        bool listen;
        const char *shim_path;
        bool shuffle_fds; /* put the sources on each other's targets */
        bool new_net;
        char *const *env; /* NULL: agent_env */
        bool report;      /* start it as the daemon does: without waiting, then read its report pipe */
        SpawnStage *ret_stage;
} AgentOptions;

static int find_cgroup2(const char **ret)
{
        struct statfs sfs;

        for (size_t i = 0; i < ELEMENTSOF(cgroup2_mounts); i++)
                if (statfs(cgroup2_mounts[i], &sfs) >= 0 && sfs.f_type == CGROUP2_SUPER_MAGIC) {
                        *ret = cgroup2_mounts[i];
                        return 0;
                }
        return -ENOENT;
}

static void rmdir_cgroup_tree(const char *path)
{
        _cleanup_closedir_ DIR *d = opendir(path);

        if (!d)
                return;
        for (struct dirent *de; (de = readdir(d));) {
                char sub[PATH_MAX];
                if (de->d_type != DT_DIR || streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                (void)snprintf(sub, sizeof sub, "%s/%s", path, de->d_name);
                rmdir_cgroup_tree(sub);
        }
        /* Emptied cgroups may report busy for a moment after their last process is reaped. */
        for (int i = 0; i < 200 && rmdir(path) < 0 && errno == EBUSY; i++)
                usleep(10000);
}

static int group_setup(void **state)
{
        const char *mnt = NULL;

        assert_int_equal(find_cgroup2(&mnt), 0);
        (void)snprintf(test_cgroup, sizeof test_cgroup, "%s/descartes-test-XXXXXX", mnt);
        assert_non_null(mkdtemp(test_cgroup));
        strcpy(test_dir, "/tmp/descartes-test-spawn-XXXXXX");
        assert_non_null(mkdtemp(test_dir));
        return 0;
}

static int group_teardown(void **state)
{
        char kill_path[PATH_MAX + 16];

        if (test_cgroup[0]) {
                (void)snprintf(kill_path, sizeof kill_path, "%s/cgroup.kill", test_cgroup);
                (void)write_string_file_at(AT_FDCWD, kill_path, "1");
                /* Every child of ours was a shim inside the test cgroup. */
                while (waitpid(-1, NULL, 0) > 0 || errno == EINTR)
                        ;
                rmdir_cgroup_tree(test_cgroup);
        }
        if (test_dir[0])
                (void)rm_rf_at(AT_FDCWD, test_dir);
        return 0;
}

static int open_dir(const char *path)
{
        int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(fd >= 0);
        return fd;
}

/* Moves fd to exactly target (which must be free), returning target. */
static int move_fd_to(int fd, int target)
{
        assert_int_equal(fcntl(target, F_GETFD), -1);
        assert_int_equal(dup3(fd, target, O_CLOEXEC), target);
        safe_close(fd);
        return target;
}

static int agent_start(Agent *a, char *const *argv, const AgentOptions *o)
{
        _cleanup_close_ int shim_cg = -EBADF, payload_cg = -EBADF, log_fd = -EBADF;
        _cleanup_close_pair_ int pair[2] = {-EBADF, -EBADF};
        char path[PATH_MAX + 32], id[32];
        SpawnStage stage = _SPAWN_STAGE_INVALID;
        int r;

        *a = (Agent){.state_fd = -EBADF, .ctl = -EBADF, .shim = PIDREF_NULL};
        (void)snprintf(id, sizeof id, "agent-%u", ++agent_counter);
        (void)snprintf(a->cgroup, sizeof a->cgroup, "%s/%s", test_cgroup, id);
        (void)snprintf(a->state, sizeof a->state, "%s/%s", test_dir, id);
        (void)snprintf(a->listen, sizeof a->listen, "%s/%s.sock", test_dir, id);
        assert_int_equal(mkdir(a->cgroup, 0755), 0);
        (void)snprintf(path, sizeof path, "%s/shim", a->cgroup);
        assert_int_equal(mkdir(path, 0755), 0);
        shim_cg = open_dir(path);
        (void)snprintf(path, sizeof path, "%s/payload", a->cgroup);
        assert_int_equal(mkdir(path, 0755), 0);
        payload_cg = open_dir(path);
        assert_int_equal(mkdir(a->state, 0700), 0);
        a->state_fd = open_dir(a->state);
        assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair), 0);
        (void)snprintf(path, sizeof path, "%s/shim.log", a->state);
        log_fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        assert_true(log_fd >= 0);

        int state_fd = fcntl(a->state_fd, F_DUPFD_CLOEXEC, 3);
        assert_true(state_fd >= 0);
        if (o->shuffle_fds) {
                /* Move everything high, then put control on 5, payload on 3, state on 4: each source sits on
                 * another one's target, which spawn must untangle. */
                int c = fcntl(pair[1], F_DUPFD_CLOEXEC, 100), p = fcntl(payload_cg, F_DUPFD_CLOEXEC, 100),
                    s = fcntl(state_fd, F_DUPFD_CLOEXEC, 100);
                pair[1] = safe_close(pair[1]);
                payload_cg = safe_close(payload_cg);
                state_fd = safe_close(state_fd);
                int *others[] = {&shim_cg, &log_fd, &pair[0], &a->state_fd};
                for (int fd = 3; fd <= 5; fd++) {
                        if (fcntl(fd, F_GETFD) < 0)
                                continue;
                        int n = fcntl(fd, F_DUPFD_CLOEXEC, 100);
                        assert_true(n >= 0);
                        for (size_t i = 0; i < ELEMENTSOF(others); i++)
                                if (*others[i] == fd)
                                        *others[i] = n;
                        safe_close(fd);
                }
                pair[1] = move_fd_to(c, 5);
                payload_cg = move_fd_to(p, 3);
                state_fd = move_fd_to(s, 4);
        }

        ShimOptions so = SHIM_OPTIONS_INIT;
        so.id = id;
        so.cwd = (char *)o->cwd;
        so.hostname = (char *)o->hostname;
        so.listen_path = o->listen ? a->listen : NULL;
        so.stdin_pipe = o->stdin_pipe;
        so.loopback = o->new_net;
        so.argv = (char **)argv;
        ShimLaunch l = {
                .shim_path = o->shim_path ?: SHIM_PATH,
                .options = &so,
                .env = o->env ?: agent_env,
                .seccomp_fd = -EBADF,
                .log_fd = log_fd,
                .control_fd = pair[1],
                .state_dir_fd = state_fd,
                .payload_cgroup_fd = payload_cg,
                .shim_cgroup_fd = shim_cg,
        };
        if (o->report) {
                _cleanup_close_ int report = -EBADF;

                r = shim_launch(&l, &a->shim, &report, &stage);
                if (r >= 0) {
                        /* clone3 is done: the shim's execve is told by its report pipe */
                        assert_true(pidref_is_set(&a->shim));
                        r = spawn_shim_report(report, &stage);
                        if (r < 0) {
                                /* a shim that failed exits by itself: the caller reaps it */
                                siginfo_t si = {};
                                assert_int_equal(waitid(P_PIDFD, (id_t)a->shim.fd, &si, WEXITED), 0);
                                assert_int_equal(si.si_status, 127);
                                pidref_done(&a->shim);
                        }
                }
        } else
                r = shim_launch(&l, &a->shim, NULL, &stage);
        safe_close(state_fd);
        if (o->ret_stage)
                *o->ret_stage = stage;
        if (r < 0) {
                assert_true(stage >= 0 && stage < _SPAWN_STAGE_MAX);
                return r;
        }
        a->ctl = TAKE_FD(pair[0]);
        return 0;
}

static void agent_done(Agent *a)
{
        pidref_done(&a->shim);
        a->ctl = safe_close(a->ctl);
        a->state_fd = safe_close(a->state_fd);
}

/* The next message of the given type; OUTPUT notices are skipped (and counted) unless asked for. */
static const ShimMsgHeader *recv_msg(Agent *a, int fd, uint32_t type, unsigned *n_output)
{
        for (;;) {
                struct pollfd p = {.fd = fd, .events = POLLIN};
                assert_int_equal(poll(&p, 1, TIMEOUT_MS), 1);
                ssize_t k = recv(fd, a->msg, sizeof a->msg, 0);
                assert_true(k >= (ssize_t)sizeof(ShimMsgHeader));
                const ShimMsgHeader *h = (const ShimMsgHeader *)a->msg;
                assert_int_equal(h->size, (uint32_t)k);
                if (h->type == type)
                        return h;
                if (h->type == SHIM_MSG_OUTPUT) {
                        if (n_output)
                                (*n_output)++;
                        continue;
                }
                if (h->type == SHIM_MSG_ACTION_STATE)
                        continue; /* after a WELCOME of version 4: the agent's action channel */
                if (h->type == SHIM_MSG_EXEC_TTY_LIST)
                        continue; /* after a WELCOME of version 5: the terminals of exec it holds */
                fail_msg("expected message %u, got %u", type, h->type);
        }
}

static void expect_hello(Agent *a, int fd, ShimState state)
{
        const ShimMsgHello *m = (const ShimMsgHello *)recv_msg(a, fd, SHIM_MSG_HELLO, NULL);
        assert_true(m->h.size >= sizeof *m);
        assert_int_equal(m->version, SHIM_PROTOCOL_VERSION);
        assert_int_equal(m->min_version, SHIM_PROTOCOL_VERSION_MIN);
        assert_int_equal(m->state, state);
}

static int32_t expect_started(Agent *a)
{
        expect_hello(a, a->ctl, SHIM_STATE_STARTING);
        const ShimMsgStarted *m = (const ShimMsgStarted *)recv_msg(a, a->ctl, SHIM_MSG_STARTED, NULL);
        assert_true(m->agent_pid > 1);
        assert_true(m->started_ns > 0);
        return m->agent_pid;
}

static void wait_shim_exit(Agent *a, int *ret_code)
{
        struct pollfd p = {.fd = a->shim.fd, .events = POLLIN};
        siginfo_t si = {};

        assert_int_equal(poll(&p, 1, TIMEOUT_MS), 1);
        assert_int_equal(waitid(P_PIDFD, (id_t)a->shim.fd, &si, WEXITED), 0);
        assert_int_equal(si.si_code, CLD_EXITED);
        if (ret_code)
                *ret_code = si.si_status;
}

static ShimExitRecord expect_exited(Agent *a, unsigned *n_output)
{
        const ShimMsgExited *m = (const ShimMsgExited *)recv_msg(a, a->ctl, SHIM_MSG_EXITED, n_output);
        ShimExitRecord rec = m->rec, disk;
        _cleanup_free_ char *buf = NULL;
        size_t size;

        assert_int_equal(rec.magic, SHIM_EXIT_MAGIC);
        wait_shim_exit(a, NULL);
        assert_int_equal(read_file_at(a->state_fd, SHIM_EXIT_FILE, 4096, &buf, &size), 0);
        assert_int_equal(size, sizeof disk);
        memcpy(&disk, buf, sizeof disk);
        assert_memory_equal(&disk, &rec, sizeof rec);
        return rec;
}

/* Appends each stream's logged bytes to out[0] / out[1] (NUL-terminated, truncated to n). */
static void read_output(Agent *a, char *out, char *err, size_t n)
{
        _cleanup_(output_log_reader_freep) OutputLogReader *r = NULL;
        OutputRecordHeader h;
        const void *data;
        size_t len[2] = {};
        char *bufs[2] = {out, err};
        int k;

        assert_int_equal(output_log_reader_open(a->state_fd, &r), 0);
        while ((k = output_log_reader_next(r, &h, &data)) > 0) {
                unsigned i = h.stream == OUTPUT_STREAM_STDOUT ? 0 : 1;
                size_t c = MIN(h.len, n - 1 - len[i]);
                memcpy(bufs[i] + len[i], data, c);
                len[i] += c;
        }
        assert_int_equal(k, 0);
        out[len[0]] = 0;
        err[len[1]] = 0;
}

static void send_stdin(Agent *a, int fd, uint64_t cookie, const char *data, bool close_after, int64_t expect)
{
        size_t n = strlen(data);
        uint8_t buf[sizeof(ShimMsgStdin) + 256];
        ShimMsgStdin m = {
                .h = {.type = SHIM_MSG_STDIN, .size = (uint32_t)(sizeof m + n)},
                .cookie = cookie,
                .close = close_after,
        };

        assert_true(n <= 256);
        memcpy(buf, &m, sizeof m);
        memcpy(buf + sizeof m, data, n);
        assert_int_equal(send(fd, buf, sizeof m + n, 0), (ssize_t)(sizeof m + n));
        const ShimMsgStdinAck *ack = (const ShimMsgStdinAck *)recv_msg(a, fd, SHIM_MSG_STDIN_ACK, NULL);
        assert_int_equal(ack->cookie, cookie);
        assert_int_equal(ack->result, expect);
}

static void send_signal(Agent *a, int sig)
{
        ShimMsgSignal m = {.h = {.type = SHIM_MSG_SIGNAL, .size = sizeof m}, .signal = sig};
        assert_int_equal(send(a->ctl, &m, sizeof m, 0), (ssize_t)sizeof m);
}

static unsigned count_payload_procs(Agent *a)
{
        _cleanup_free_ char *buf = NULL;
        char path[PATH_MAX + 32];
        unsigned n = 0;

        (void)snprintf(path, sizeof path, "%s/payload/cgroup.procs", a->cgroup);
        assert_int_equal(read_file_at(AT_FDCWD, path, 1 << 20, &buf, NULL), 0);
        for (char *p = buf; *p; p++)
                n += *p == '\n';
        return n;
}

static void test_exit_code_and_output(void **state)
{
        Agent a;
        char *argv[] = {(char *)"sh", (char *)"-c", (char *)"echo hi; echo err >&2; exit 3", NULL};
        char out[256], err[256];
        unsigned n_output = 0;

        assert_int_equal(agent_start(&a, argv, &(AgentOptions){}), 0);
        expect_started(&a);
        ShimExitRecord rec = expect_exited(&a, &n_output);
        assert_int_equal(rec.code, 3);
        assert_int_equal(rec.signal, 0);
        assert_int_equal(rec.spawn_failed, 0);
        assert_true(rec.ended_ns >= rec.started_ns && rec.started_ns > 0);
        assert_true(n_output >= 1);
        read_output(&a, out, err, sizeof out);
        assert_string_equal(out, "hi\n");
        assert_string_equal(err, "err\n");
        agent_done(&a);
}

/* The daemon's way: shim_launch returns after clone3, the report pipe tells the execve; the shim's STARTED
 * carries the stamps of its start in order (the spawn trace). */
static void test_spawn_report_and_trace(void **state)
{
        char *argv[] = {(char *)"/bin/true", NULL};
        SpawnStage stage = _SPAWN_STAGE_INVALID;
        Agent a;

        assert_int_equal(agent_start(&a, argv,
                                     &(AgentOptions){.shim_path = "/nonexistent/descartes-shim",
                                                     .report = true,
                                                     .ret_stage = &stage}),
                         -ENOENT);
        assert_int_equal(stage, SPAWN_STAGE_EXEC);
        agent_done(&a);

        assert_int_equal(agent_start(&a, argv, &(AgentOptions){.report = true}), 0);
        expect_hello(&a, a.ctl, SHIM_STATE_STARTING);
        const ShimMsgStarted *m = (const ShimMsgStarted *)recv_msg(&a, a.ctl, SHIM_MSG_STARTED, NULL);
        const ShimStartTrace t = m->trace;
        assert_true(m->agent_pid > 1);
        assert_true(t.main_ns > 0);
        assert_true(t.main_ns <= t.view_ns);
        assert_true(t.view_ns <= t.agent_fork_ns);
        assert_true(t.agent_fork_ns <= t.agent_exec_ns);
        assert_true(t.agent_exec_ns <= t.sent_ns);
        ShimExitRecord rec = expect_exited(&a, NULL);
        assert_int_equal(rec.code, 0);
        agent_done(&a);
}

static void test_spawn_failed_exec(void **state)
{
        char *cmds[] = {(char *)"descartes-no-such-command", (char *)"/nonexistent/cmd"};

        for (size_t i = 0; i < ELEMENTSOF(cmds); i++) {
                Agent a;
                char *argv[] = {cmds[i], NULL};

                assert_int_equal(agent_start(&a, argv, &(AgentOptions){}), 0);
                expect_hello(&a, a.ctl, SHIM_STATE_STARTING);
                const ShimMsgSpawnFailed *m =
                        (const ShimMsgSpawnFailed *)recv_msg(&a, a.ctl, SHIM_MSG_SPAWN_FAILED, NULL);
                assert_int_equal(m->stage, SHIM_STAGE_EXEC);
                assert_int_equal(m->error, ENOENT);
                ShimExitRecord rec = expect_exited(&a, NULL);
                assert_int_equal(rec.spawn_failed, 1);
                assert_int_equal(rec.stage, SHIM_STAGE_EXEC);
                assert_int_equal(rec.error, ENOENT);
                agent_done(&a);
        }
}

static void test_spawn_failed_cwd(void **state)
{
        Agent a;
        char *argv[] = {(char *)"true", NULL};

        assert_int_equal(agent_start(&a, argv, &(AgentOptions){.cwd = "/nonexistent-descartes-dir"}), 0);
        expect_hello(&a, a.ctl, SHIM_STATE_STARTING);
        const ShimMsgSpawnFailed *m =
                (const ShimMsgSpawnFailed *)recv_msg(&a, a.ctl, SHIM_MSG_SPAWN_FAILED, NULL);
        assert_int_equal(m->stage, SHIM_STAGE_CWD);
        assert_int_equal(m->error, ENOENT);
        ShimExitRecord rec = expect_exited(&a, NULL);
        assert_int_equal(rec.stage, SHIM_STAGE_CWD);
        agent_done(&a);
}

static void test_spawn_errors(void **state)
{
        Agent a;
        char *argv[] = {(char *)"true", NULL};
        SpawnStage stage = _SPAWN_STAGE_INVALID;
        PidRef pr = PIDREF_NULL;

        /* The shim binary itself missing: the exec stage of the spawn child. */
        assert_int_equal(agent_start(&a, argv, &(AgentOptions){.shim_path = "/nonexistent/descartes-shim"}),
                         -ENOENT);
        agent_done(&a);

        assert_int_equal(spawn_shim(&(SpawnShimParams){.shim_path = "relative"}, &pr, &stage), -EINVAL);
        assert_int_equal(stage, SPAWN_STAGE_PREPARE);
        assert_false(pidref_is_set(&pr));

        stage = _SPAWN_STAGE_INVALID;
        assert_int_equal(shim_launch(&(ShimLaunch){.shim_path = SHIM_PATH}, &pr, NULL, &stage), -EINVAL);
        assert_int_equal(stage, SPAWN_STAGE_PREPARE);
        assert_false(pidref_is_set(&pr));
        assert_string_equal(spawn_stage_to_string(SPAWN_STAGE_FDS), "fds");
        assert_int_equal(spawn_stage_from_string("exec"), SPAWN_STAGE_EXEC);
        assert_int_equal(spawn_stage_from_string("bogus"), _SPAWN_STAGE_INVALID);
}

static void test_stdin_round_trip(void **state)
{
        Agent a;
        char *argv[] = {(char *)"cat", NULL};
        char out[256], err[256];

        assert_int_equal(agent_start(&a, argv, &(AgentOptions){.stdin_pipe = true}), 0);
        expect_started(&a);
        send_stdin(&a, a.ctl, 7, "hello\n", false, 6);
        send_stdin(&a, a.ctl, 8, "world\n", true, 6);
        ShimExitRecord rec = expect_exited(&a, NULL);
        assert_int_equal(rec.code, 0);
        read_output(&a, out, err, sizeof out);
        assert_string_equal(out, "hello\nworld\n");
        assert_string_equal(err, "");
        agent_done(&a);
}

static void test_stdin_closed(void **state)
{
        Agent a;
        char *argv[] = {(char *)"sleep", (char *)"1000", NULL};
        char *argv2[] = {(char *)"sleep", (char *)"1000", NULL};

        assert_int_equal(agent_start(&a, argv, &(AgentOptions){.stdin_pipe = true}), 0);
        expect_started(&a);
        send_stdin(&a, a.ctl, 1, "", true, 0);
        send_stdin(&a, a.ctl, 2, "x", false, -EPIPE);
        send_signal(&a, SIGKILL);
        ShimExitRecord rec = expect_exited(&a, NULL);
        assert_int_equal(rec.signal, SIGKILL);
        assert_int_equal(rec.code, -1);
        agent_done(&a);

        /* Without a stdin pipe the agent reads /dev/null and stdin is refused. */
        assert_int_equal(agent_start(&a, argv2, &(AgentOptions){}), 0);
        expect_started(&a);
        send_stdin(&a, a.ctl, 3, "x", false, -EPIPE);
        send_signal(&a, SIGKILL);
        (void)expect_exited(&a, NULL);
        agent_done(&a);
}

static void test_background_children_killed(void **state)
{
        Agent a;
        char *argv[] = {(char *)"sh", (char *)"-c", (char *)"sleep 1000 & sleep 1000 & wait", NULL};
        unsigned n = 0;

        assert_int_equal(agent_start(&a, argv, &(AgentOptions){}), 0);
        expect_started(&a);
        for (int i = 0; i < 500 && (n = count_payload_procs(&a)) < 3; i++)
                usleep(10000);
        assert_int_equal(n, 3);
        send_signal(&a, SIGTERM);
        ShimExitRecord rec = expect_exited(&a, NULL);
        assert_int_equal(rec.signal, SIGTERM);
        /* The shim was PID 1: its exit took the background sleeps with it. */
        for (int i = 0; i < 500 && (n = count_payload_procs(&a)) > 0; i++)
                usleep(10000);
        assert_int_equal(n, 0);
        agent_done(&a);
}

static void wait_output(Agent *a, const char *needle)
{
        char out[4096], err[4096];

        for (int i = 0; i < 1000; i++) {
                read_output(a, out, err, sizeof out);
                if (strstr(out, needle))
                        return;
                usleep(10000);
        }
        fail_msg("no \"%s\" in the output", needle);
}

static void test_sigterm_forwarded(void **state)
{
        Agent a;
        char *argv[] = {
                (char *)"sh", (char *)"-c",
                (char *)"trap 'echo got-term; exit 7' TERM; echo ready; while :; do sleep 0.05; done", NULL};
        char out[256], err[256];

        assert_int_equal(agent_start(&a, argv, &(AgentOptions){}), 0);
        expect_started(&a);
        wait_output(&a, "ready");
        assert_int_equal(pidref_kill(&a.shim, SIGTERM), 0);
        ShimExitRecord rec = expect_exited(&a, NULL);
        assert_int_equal(rec.code, 7);
        read_output(&a, out, err, sizeof out);
        assert_non_null(strstr(out, "got-term"));
        agent_done(&a);
}

/* A message as a later daemon sends it: `extra` bytes of fields this shim does not know at its end. */
static void send_grown(Agent *a, const void *msg, size_t n, size_t extra)
{
        uint8_t buf[256];
        ShimMsgHeader h;

        assert_true(n + extra <= sizeof buf);
        memcpy(buf, msg, n);
        memset(buf + n, 0x5a, extra);
        memcpy(&h, buf, sizeof h);
        h.size = (uint32_t)(n + extra);
        memcpy(buf, &h, sizeof h);
        assert_int_equal(send(a->ctl, buf, n + extra, 0), (ssize_t)(n + extra));
}

/* shim-contract.h: a reader takes the fields it knows of a longer message and ignores unknown types. */
static void test_longer_messages_and_unknown_types(void **state)
{
        Agent a;
        char *argv[] = {
                (char *)"sh", (char *)"-c",
                (char *)"trap 'echo got-usr1; exit 5' USR1; echo ready; while :; do sleep 0.05; done", NULL};
        ShimMsgWelcome w = {.h = {.type = SHIM_MSG_WELCOME, .size = sizeof w},
                            .version = SHIM_PROTOCOL_VERSION};
        ShimMsgHeader unknown = {.type = 4242, .size = sizeof unknown};
        ShimMsgSignal sig = {.h = {.type = SHIM_MSG_SIGNAL, .size = sizeof sig}, .signal = SIGUSR1};
        char out[256], err[256];

        assert_int_equal(agent_start(&a, argv, &(AgentOptions){}), 0);
        expect_started(&a);
        wait_output(&a, "ready");
        send_grown(&a, &w, sizeof w, 40);
        send_grown(&a, &unknown, sizeof unknown, 16);
        send_grown(&a, &sig, sizeof sig, 32);
        ShimExitRecord rec = expect_exited(&a, NULL);
        assert_int_equal(rec.code, 5);
        read_output(&a, out, err, sizeof out);
        assert_non_null(strstr(out, "got-usr1"));
        agent_done(&a);
}

static void test_namespaces(void **state)
{
        Agent a;
        char *argv[] = {(char *)"sh", (char *)"-c",
                        (char *)"grep '^0::' /proc/self/cgroup; echo pid=$$; "
                                "echo procs=$(ls /proc | grep -c '^[0-9]'); cat /proc/sys/kernel/hostname; "
                                "pwd; echo ifaces=$(grep -c : /proc/net/dev)",
                        NULL};
        char out[1024], err[1024];
        int pid = 0, procs = 0, ifaces = 0;
        char host[128] = "", cwd[128] = "";

        assert_int_equal(
                agent_start(&a, argv,
                            &(AgentOptions){.hostname = "descartes-test", .cwd = "/tmp", .new_net = true}),
                0);
        int32_t agent_pid = expect_started(&a);
        ShimExitRecord rec = expect_exited(&a, NULL);
        assert_int_equal(rec.code, 0);
        read_output(&a, out, err, sizeof out);
        assert_string_equal(err, "");
        assert_int_equal(strncmp(out, "0::/\n", 5), 0);
        assert_int_equal(sscanf(out + 5, "pid=%d\nprocs=%d\n%127s\n%127s\nifaces=%d", &pid, &procs, host,
                                cwd, &ifaces),
                         5);
        assert_int_equal(pid, agent_pid);
        assert_true(pid <= 3);
        /* the shim, sh, the $(...) subshell, ls and grep at most: no host process is visible */
        assert_true(procs >= 2 && procs <= 6);
        assert_string_equal(host, "descartes-test");
        assert_string_equal(cwd, "/tmp");
        assert_int_equal(ifaces, 1); /* a new net namespace: loopback only */
        agent_done(&a);
}

static int connect_listen(const char *path)
{
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

        assert_true(fd >= 0);
        strncpy(sa.sun_path, path, sizeof sa.sun_path - 1);
        assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
        return fd;
}

static void test_reconnect(void **state)
{
        Agent a;
        char *argv[] = {(char *)"cat", NULL};
        _cleanup_close_ int c1 = -EBADF;
        char out[256], err[256];
        struct stat st;

        assert_int_equal(agent_start(&a, argv, &(AgentOptions){.stdin_pipe = true, .listen = true}), 0);
        expect_started(&a);
        assert_int_equal(stat(a.listen, &st), 0);
        assert_true(S_ISSOCK(st.st_mode));
        assert_int_equal(st.st_mode & 0777, 0600);
        send_stdin(&a, a.ctl, 1, "one\n", false, 4);
        wait_output(&a, "one");

        /* The daemon goes away: the shim keeps the agent running and logging. */
        a.ctl = safe_close(a.ctl);
        c1 = connect_listen(a.listen);
        const ShimMsgHello *h = (const ShimMsgHello *)recv_msg(&a, c1, SHIM_MSG_HELLO, NULL);
        assert_int_equal(h->state, SHIM_STATE_RUNNING);
        assert_int_equal(h->stdin_open, 1);
        assert_true(h->agent_pid > 1);
        assert_int_equal(h->next_seq, 2);
        send_stdin(&a, c1, 2, "two\n", false, 4);

        /* A newer connection replaces the older one. */
        a.ctl = connect_listen(a.listen);
        expect_hello(&a, a.ctl, SHIM_STATE_RUNNING);
        struct pollfd p = {.fd = c1, .events = POLLIN};
        assert_int_equal(poll(&p, 1, TIMEOUT_MS), 1);
        uint8_t b[64];
        ssize_t k;
        while ((k = recv(c1, b, sizeof b, MSG_DONTWAIT)) > 0) /* a pending OUTPUT notice may come first */
                ;
        assert_int_equal(k, 0);

        send_stdin(&a, a.ctl, 3, "three\n", true, 6);
        ShimExitRecord rec = expect_exited(&a, NULL);
        assert_int_equal(rec.code, 0);
        read_output(&a, out, err, sizeof out);
        assert_string_equal(out, "one\ntwo\nthree\n");
        assert_int_equal(stat(a.listen, &st), -1); /* removed at exit */
        agent_done(&a);
}

static void test_fd_shuffle(void **state)
{
        Agent a;
        char *argv[] = {(char *)"sh", (char *)"-c",
                        (char *)"echo shuffled; cat /proc/sys/kernel/hostname; exit 5", NULL};
        char out[256], err[256], expect[64];

        assert_int_equal(agent_start(&a, argv, &(AgentOptions){.shuffle_fds = true}), 0);
        /* and the default hostname is the id */
        (void)snprintf(expect, sizeof expect, "shuffled\nagent-%u\n", agent_counter);
        expect_started(&a);
        ShimExitRecord rec = expect_exited(&a, NULL);
        assert_int_equal(rec.code, 5);
        read_output(&a, out, err, sizeof out);
        assert_string_equal(out, expect);
        agent_done(&a);
}

static void test_signal_state_reset(void **state)
{
        Agent a;
        char *argv[] = {(char *)"grep", (char *)"-E", (char *)"^Sig(Blk|Ign)", (char *)"/proc/self/status",
                        NULL};
        char out[256], err[256];
        sigset_t mask, old;
        struct sigaction ign = {.sa_handler = SIG_IGN}, old_pipe, old_usr2;

        /* Spawn from a process set up like the daemon: stop signals blocked, some ignored. */
        assert_int_equal(sigemptyset(&mask), 0);
        for (const int *sig = (const int[]){SIGCHLD, SIGTERM, SIGINT, SIGHUP, 0}; *sig; sig++)
                assert_int_equal(sigaddset(&mask, *sig), 0);
        assert_int_equal(sigprocmask(SIG_BLOCK, &mask, &old), 0);
        assert_int_equal(sigaction(SIGPIPE, &ign, &old_pipe), 0);
        assert_int_equal(sigaction(SIGUSR2, &ign, &old_usr2), 0);
        int r = agent_start(&a, argv, &(AgentOptions){});
        assert_int_equal(sigprocmask(SIG_SETMASK, &old, NULL), 0);
        assert_int_equal(sigaction(SIGPIPE, &old_pipe, NULL), 0);
        assert_int_equal(sigaction(SIGUSR2, &old_usr2, NULL), 0);
        assert_int_equal(r, 0);

        expect_started(&a);
        ShimExitRecord rec = expect_exited(&a, NULL);
        assert_int_equal(rec.code, 0);
        read_output(&a, out, err, sizeof out);
        assert_string_equal(out, "SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n");
        agent_done(&a);
}

/* The shim's own environment or command line, NUL-separated as in /proc/PID/environ. */
static size_t read_proc(pid_t pid, const char *what, char *buf, size_t n)
{
        char path[64];
        _cleanup_close_ int fd = -EBADF;
        ssize_t k;

        (void)snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, what);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        assert_true(fd >= 0);
        k = loop_read(fd, buf, n);
        assert_true(k >= 0 && (size_t)k < n);
        return (size_t)k;
}

/* The tenant's environment reaches the agent and nothing else: the shim, root and the agent's parent, runs
 * with the daemon's fixed PATH only. */
static void test_environment_not_in_shim(void **state)
{
        Agent a;
        char *env[] = {(char *)"PATH=/usr/local/bin:/usr/bin:/bin", (char *)"LD_PRELOAD=/nonexistent.so",
                       (char *)"GLIBC_TUNABLES=glibc.malloc.check=3", (char *)"MARKER=descartes-marker-42",
                       NULL};
        char *argv[] = {(char *)"sh", (char *)"-c",
                        (char *)"echo \"env:$MARKER:$LD_PRELOAD:$GLIBC_TUNABLES\"; exec sleep 1000", NULL};
        static const char expect_shim_env[] =
                "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
        char out[1024], err[1024], shim_env[4096], expect_cmdline[64], id[32];
        size_t n, len = 0;

        assert_int_equal(agent_start(&a, argv, &(AgentOptions){.env = env}), 0);
        expect_started(&a);
        wait_output(&a, "env:");
        read_output(&a, out, err, sizeof out);
        /* (the loader complains on the agent's stderr about the missing preload: that is the agent's) */
        assert_string_equal(out, "env:descartes-marker-42:/nonexistent.so:glibc.malloc.check=3\n");

        /* read while the agent sleeps, so the shim is certainly its parent and alive */
        n = read_proc(a.shim.pid, "environ", shim_env, sizeof shim_env);
        assert_int_equal(n, sizeof expect_shim_env);
        assert_memory_equal(shim_env, expect_shim_env, sizeof expect_shim_env);

        /* and its command line is for `ps`: the id, nothing of the agent's command or options */
        (void)snprintf(id, sizeof id, "agent-%u", agent_counter);
        for (const char *const *w = (const char *const[]){"descartes-shim", "--id", id, NULL}; *w; w++) {
                memcpy(expect_cmdline + len, *w, strlen(*w) + 1);
                len += strlen(*w) + 1;
        }
        n = read_proc(a.shim.pid, "cmdline", shim_env, sizeof shim_env);
        assert_int_equal(n, len);
        assert_memory_equal(shim_env, expect_cmdline, len);

        send_signal(&a, SIGKILL);
        ShimExitRecord rec = expect_exited(&a, NULL);
        assert_int_equal(rec.signal, SIGKILL);
        agent_done(&a);
}

/* Valid options for a raw shim, as a sealed memfd. */
static int raw_options_fd(void)
{
        ShimOptions o = SHIM_OPTIONS_INIT;
        int fd = -EBADF;

        o.id = (char *)"raw";
        o.argv = (char *[]){(char *)"true", NULL};
        assert_int_equal(shim_options_export(&o, &fd), 0);
        return fd;
}

/* Starts the shim by hand (not through shim_launch) with the given environment, fd 7 and fd 8, for what
 * shim_launch never does. The shim is expected to refuse before it sets anything up; it still gets
 * namespaces of its own in case it does not. */
static void raw_shim_start(Agent *a, char *const *shim_env, int env_fd, int options_fd)
{
        char *argv[] = {(char *)"descartes-shim", (char *)"--id", (char *)"raw", NULL};
        _cleanup_close_pair_ int pair[2] = {-EBADF, -EBADF};
        _cleanup_close_ int payload_cg = -EBADF, log_fd = -EBADF;
        char path[PATH_MAX + 32], id[32];
        pid_t pid;

        *a = (Agent){.state_fd = -EBADF, .ctl = -EBADF, .shim = PIDREF_NULL};
        (void)snprintf(id, sizeof id, "raw-%u", ++agent_counter);
        (void)snprintf(a->cgroup, sizeof a->cgroup, "%s/%s", test_cgroup, id);
        (void)snprintf(a->state, sizeof a->state, "%s/%s", test_dir, id);
        assert_int_equal(mkdir(a->cgroup, 0755), 0);
        (void)snprintf(path, sizeof path, "%s/shim", a->cgroup);
        assert_int_equal(mkdir(path, 0755), 0);
        (void)snprintf(path, sizeof path, "%s/payload", a->cgroup);
        assert_int_equal(mkdir(path, 0755), 0);
        payload_cg = open_dir(path);
        assert_int_equal(mkdir(a->state, 0700), 0);
        a->state_fd = open_dir(a->state);
        assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair), 0);
        (void)snprintf(path, sizeof path, "%s/shim.log", a->state);
        log_fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        assert_true(log_fd >= 0);
        (void)snprintf(path, sizeof path, "%s/shim/cgroup.procs", a->cgroup);

        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                /* Sources above every target first, then into place; fd 7 is env_fd or nothing, fd 8
                 * options_fd or nothing. */
                int src[] = {log_fd, log_fd, pair[1], a->state_fd, payload_cg, env_fd, options_fd};
                int dst[] = {1,
                             2,
                             SHIM_FD_CONTROL,
                             SHIM_FD_STATE_DIR,
                             SHIM_FD_PAYLOAD_CG,
                             SHIM_FD_ENV,
                             SHIM_FD_OPTIONS};
                int moved[ELEMENTSOF(src)];

                /* the namespaces spawn_shim would give it: a shim that does not refuse must not touch
                 * the host's mounts or hostname */
                if (write_string_file_at(AT_FDCWD, path, "0") < 0 ||
                    unshare(CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET) < 0)
                        _exit(126);
                for (size_t i = 0; i < ELEMENTSOF(src); i++)
                        if (src[i] >= 0 && (moved[i] = fcntl(src[i], F_DUPFD_CLOEXEC, 64)) < 0)
                                _exit(126);
                (void)close(SHIM_FD_ENV);
                (void)close(SHIM_FD_OPTIONS);
                for (size_t i = 0; i < ELEMENTSOF(src); i++)
                        if (src[i] >= 0 && dup2(moved[i], dst[i]) < 0)
                                _exit(126);
                execve(SHIM_PATH, argv, shim_env);
                _exit(126);
        }
        a->shim.pid = pid;
        a->shim.fd = (int)syscall(SYS_pidfd_open, pid, 0);
        assert_true(a->shim.fd >= 0);
        a->ctl = TAKE_FD(pair[0]);
}

static void expect_refused(Agent *a, int error, const char *log_needle)
{
        _cleanup_free_ char *log = NULL;

        expect_hello(a, a->ctl, SHIM_STATE_STARTING);
        const ShimMsgSpawnFailed *m =
                (const ShimMsgSpawnFailed *)recv_msg(a, a->ctl, SHIM_MSG_SPAWN_FAILED, NULL);
        assert_int_equal(m->stage, SHIM_STAGE_SHIM);
        assert_int_equal(m->error, error);
        ShimExitRecord rec = expect_exited(a, NULL);
        assert_int_equal(rec.spawn_failed, 1);
        assert_int_equal(rec.error, error);
        /* nothing was started */
        assert_int_equal(count_payload_procs(a), 0);
        assert_int_equal(read_file_at(a->state_fd, "shim.log", 1 << 16, &log, NULL), 0);
        if (!strstr(log, log_needle))
                fail_msg("no \"%s\" in the shim's log:\n%s", log_needle, log);
        agent_done(a);
}

static void test_shim_refuses_loader_environment(void **state)
{
        char *bad_envs[][3] = {
                {(char *)"PATH=/usr/bin:/bin", (char *)"LD_BIND_NOW=1", NULL},
                {(char *)"GLIBC_TUNABLES=glibc.malloc.check=3", NULL, NULL},
        };
        const char *names[] = {"LD_BIND_NOW", "GLIBC_TUNABLES"};

        for (size_t i = 0; i < ELEMENTSOF(bad_envs); i++) {
                _cleanup_close_ int env_fd = env_blob_test_memfd("A=1", 4, true),
                                    options_fd = raw_options_fd();
                _cleanup_free_ char *needle = NULL;
                Agent a;

                assert_true(asprintf_safe(&needle, "Refusing to run with %s in the environment", names[i]) >=
                            0);
                raw_shim_start(&a, bad_envs[i], env_fd, options_fd);
                expect_refused(&a, EPERM, needle);
        }
}

static void test_shim_refuses_bad_env_blob(void **state)
{
        static const struct {
                const char *data;
                size_t n;
                bool seal;
                int error;
        } bad[] = {
                {"A=1\0B", 5, true, EBADMSG},  /* trailing garbage */
                {"=x\0", 3, true, EBADMSG},    /* empty key */
                {"A=1\0\0", 5, true, EBADMSG}, /* empty entry */
                {"A=1", 4, false, EPERM},      /* not sealed */
                {NULL, 0, false, EBADF},       /* no fd 7 at all */
        };
        char *env[] = {(char *)"PATH=/usr/bin:/bin", NULL};

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                _cleanup_close_ int env_fd = bad[i].data ? env_blob_test_memfd(bad[i].data, bad[i].n,
                                                                               bad[i].seal)
                                                         : -EBADF,
                                    options_fd = raw_options_fd();
                Agent a;

                raw_shim_start(&a, env, env_fd, options_fd);
                expect_refused(&a, bad[i].error, "Invalid agent environment on fd 7");
        }
}

/* The shim acts on its options memfd only, and refuses one that is not sealed, malformed, or out of bounds.
 */
static void test_shim_refuses_bad_options(void **state)
{
        _cleanup_free_ uint8_t *good = NULL;
        ShimOptions o = SHIM_OPTIONS_INIT;
        size_t n;
        char *env[] = {(char *)"PATH=/usr/bin:/bin", NULL};

        o.id = (char *)"raw";
        o.argv = (char *[]){(char *)"true", NULL};
        assert_int_equal(shim_options_encode(&o, &good, &n), 0);
        uint8_t bad_id[4096];
        assert_true(n <= sizeof bad_id);
        memcpy(bad_id, good, n);
        bad_id[12] = '/'; /* the first byte of the id (after magic, version and its length) */

        const struct {
                const void *data;
                size_t n;
                bool seal;
                int error;
        } bad[] = {
                {good, n - 1, true, EBADMSG}, /* cut short */
                {good, n, false, EPERM},      /* not sealed */
                {bad_id, n, true, EINVAL},    /* an id the shim would not name itself with */
                {NULL, 0, false, EBADF},      /* no fd 8 at all */
        };

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                _cleanup_close_ int env_fd = env_blob_test_memfd("A=1", 4, true),
                                    options_fd = bad[i].data ? env_blob_test_memfd(bad[i].data, bad[i].n,
                                                                                   bad[i].seal)
                                                             : -EBADF;
                Agent a;

                raw_shim_start(&a, env, env_fd, options_fd);
                expect_refused(&a, bad[i].error, "Invalid options on fd 8");
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_exit_code_and_output),
                cmocka_unit_test(test_spawn_report_and_trace),
                cmocka_unit_test(test_spawn_failed_exec),
                cmocka_unit_test(test_spawn_failed_cwd),
                cmocka_unit_test(test_spawn_errors),
                cmocka_unit_test(test_stdin_round_trip),
                cmocka_unit_test(test_stdin_closed),
                cmocka_unit_test(test_background_children_killed),
                cmocka_unit_test(test_sigterm_forwarded),
                cmocka_unit_test(test_longer_messages_and_unknown_types),
                cmocka_unit_test(test_namespaces),
                cmocka_unit_test(test_reconnect),
                cmocka_unit_test(test_fd_shuffle),
                cmocka_unit_test(test_signal_state_reset),
                cmocka_unit_test(test_environment_not_in_shim),
                cmocka_unit_test(test_shim_refuses_loader_environment),
                cmocka_unit_test(test_shim_refuses_bad_env_blob),
                cmocka_unit_test(test_shim_refuses_bad_options),
        };
        const char *mnt;

        if (geteuid() != 0) {
                printf("# SKIP: spawning shims needs root (clone3 into a cgroup, namespaces, mounts)\n");
                return 77;
        }
        if (find_cgroup2(&mnt) < 0) {
                printf("# SKIP: no cgroup2 mount at /sys/fs/cgroup/unified or /sys/fs/cgroup\n");
                return 77;
        }
        return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
