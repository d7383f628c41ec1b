/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The contract between descartesd and descartes-shim, the one header both sides include:
 *
 *  - how the shim is started: the fds below (SHIM_FD_*), its options as one ShimOptions in a sealed memfd
 *    (SHIM_FD_OPTIONS, encoded by shim_options_export(), decoded by shim_options_decode()), the agent's
 *    environment in another (SHIM_FD_ENV, sandbox/env-blob.h). Its command line carries only what a human
 *    needs in `ps`: `descartes-shim --id ID`; the shim acts on none of it.
 *  - the control channel: AF_UNIX SOCK_SEQPACKET, one message per packet, read with shim_msg_decode(). The
 *    daemon gets one end at spawn (SHIM_FD_CONTROL); the shim also listens on RUNTIME/agents/ID/shim.sock
 *    so that a restarted daemon can reconnect (the newest connection replaces the old one).
 *
 * The two ends are not always from the same build: `systemctl restart descartesd` for an upgrade leaves the
 * agents and their shims running, and the new daemon re-adopts shims started by the previous release. So the
 * contract is versioned, and these rules keep it so:
 *
 *  - Every packet starts with ShimMsgHeader; `size` is the whole packet.
 *  - A message may grow only at its end. A reader takes the fields it knows, treats the ones the sender did
 *    not send as 0, and ignores the bytes after them; it refuses a packet shorter than the oldest form of
 * that message it accepts (for most messages their only form so far; SHIM_MSG_HELLO_V1_SIZE for HELLO).
 *  - STDIN, TTY_INPUT, EXEC, EXEC_DONE, ACTION, ACTION_REPLY, EXEC_TTY, EXEC_TTY_INPUT and EXEC_TTY_LIST are
 * the exceptions: their data follows the
 * fixed part, whose size is the reader's sizeof, so that fixed part never grows. What they need later comes
 * as a new message type. (EXEC and EXEC_DONE say the sizes of their blocks, so bytes after them may come
 * from a later version; the data of the others, shim_msg_type_has_data(), runs to the end of the packet.)
 *  - Unknown types are ignored.
 *  - A new field or type is only relied on when the version agreed with the peer includes it: anything the
 *    peer must act upon is sent only then (appended bytes the peer may ignore are always allowed).
 *  - The options blob (ShimOptions) follows the same rule: fields are only appended; a reader decodes the
 *    ones it knows, ignores the bytes after them, and refuses a blob shorter than the oldest form it accepts
 *    (so far its only form). Options are not negotiated: a daemon starts the shim installed with it, and a
 *    field the shim must act upon comes with a new version of both.
 *  - The handshake: the shim's HELLO says the range it speaks (min_version..version); the daemon picks the
 *    highest version both speak and says it in WELCOME (a shim older than WELCOME ignores it). With no
 * common version the daemon logs both ranges and leaves the agent uncontrolled: watched, listed, ended by
 * its cgroup, but not signalled or fed stdin through its shim.
 *
 * Version 1: the first release. Version 2: HELLO.min_version, WELCOME. Version 3: the options' keep_paths
 * and workspace_idmap (read from a blob of version 3 or later). Version 4: EXEC and EXEC_DONE (a command run
 * in the agent's sandbox: `exec`, health checks); a terminal for the agent (the options' tty) and its
 * messages TTY_OUTPUT, TTY_INPUT, TTY_RESIZE, TTY_STREAM; the action channel (ACTION,
 * ACTION_REPLY, ACTION_STATE; the shim sends ACTION_STATE after a WELCOME of version 4 or later).
 * Version 5: terminals for commands of exec (EXEC_TTY, EXEC_TTY_INPUT, EXEC_TTY_RESIZE, EXEC_TTY_OUTPUT,
 * EXEC_TTY_LIST; the shim sends EXEC_TTY_LIST after a WELCOME of version 5 or later).
 *
 * Test builds (-DSHIM_PROTOCOL_VPREV=N, meson's descartes-shim-vprev and descartes-shim-v3) speak an earlier
 * version: the one before this release, and 3 (before exec, terminals and actions). Test builds
 * (-DSHIM_PROTOCOL_VNEXT, meson's descartes-shim-vnext and descartesd-vnext) speak one version more than
 * this release and append SHIM_MSG_TEST_TAIL bytes to every message they send but STDIN, and to the options
 * blob, as a future release that grew them would. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The oldest version both sides still speak; raising it drops the upgrade path from older releases. */
#define SHIM_PROTOCOL_VERSION_MIN     1
#define SHIM_PROTOCOL_VERSION_RELEASE 5
#ifdef SHIM_PROTOCOL_VNEXT
#include <string.h>
#define SHIM_PROTOCOL_VERSION (SHIM_PROTOCOL_VERSION_RELEASE + 1)
#define SHIM_MSG_TEST_TAIL    24
#elif defined(SHIM_PROTOCOL_VPREV)
/* Test builds of an earlier version N (-DSHIM_PROTOCOL_VPREV=N: descartes-shim-vprev of the last release,
 * descartes-shim-v3 of version 3): a shim of an earlier release, for the features a newer daemon must refuse
 * to use with it. */
#define SHIM_PROTOCOL_VERSION (SHIM_PROTOCOL_VPREV)
#define SHIM_MSG_TEST_TAIL    0
_Static_assert(SHIM_PROTOCOL_VPREV >= SHIM_PROTOCOL_VERSION_MIN &&
                       SHIM_PROTOCOL_VPREV < SHIM_PROTOCOL_VERSION_RELEASE,
               "an earlier version");
#else
#define SHIM_PROTOCOL_VERSION SHIM_PROTOCOL_VERSION_RELEASE
#define SHIM_MSG_TEST_TAIL    0
#endif
#define SHIM_MSG_MAX         (64 * 1024)
#define SHIM_STDIN_CHUNK_MAX (SHIM_MSG_MAX - 64)
/* Bytes of stdin the shim queues for an agent that does not read; more is refused with -EAGAIN. */
#define SHIM_STDIN_QUEUE_MAX (4 * 1024 * 1024)

/* The fds a shim is started with; 0 is /dev/null, 1 and 2 its log (STATE/agents/ID/shim.log). */
#define SHIM_FD_CONTROL    3 /* connected SEQPACKET socket to the daemon */
#define SHIM_FD_STATE_DIR  4 /* the agent's state dir (output log, exit record) */
#define SHIM_FD_PAYLOAD_CG 5 /* the payload/ cgroup dir, for clone3(CLONE_INTO_CGROUP) */
#define SHIM_FD_SECCOMP    6 /* with ShimOptions.seccomp: the sealed memfd of the filter (seccomp-bpf.h) */
#define SHIM_FD_ENV        7 /* the sealed memfd of the agent's environment (env-blob.h), for its execve only */
#define SHIM_FD_OPTIONS    8 /* the sealed memfd of the ShimOptions */
#define _SHIM_FD_MAX       9

typedef enum ShimMsgType {
        /* shim -> daemon */
        SHIM_MSG_HELLO = 1,         /* ShimMsgHello: on every (re)connection, first */
        SHIM_MSG_STARTED = 2,       /* ShimMsgStarted: the agent has exec'd */
        SHIM_MSG_SPAWN_FAILED = 3,  /* ShimMsgSpawnFailed: the agent never exec'd; EXITED follows */
        SHIM_MSG_OUTPUT = 4,        /* ShimMsgOutput: new output was logged (coalesced, at most ~10/s) */
        SHIM_MSG_STDIN_ACK = 5,     /* ShimMsgStdinAck */
        SHIM_MSG_EXITED = 6,        /* ShimMsgExited: the agent is gone; the shim exits right after */
        SHIM_MSG_EXEC_DONE = 7,     /* ShimMsgExecDone + output: a command of EXEC has ended (version 4) */
        SHIM_MSG_TTY_OUTPUT = 8,    /* ShimMsgTtyOutput: terminal output was logged, at once (version 4) */
        SHIM_MSG_ACTION_STATE = 9,  /* ShimMsgActionState: the action channel changed (version 4) */
        SHIM_MSG_ACTION_REPLY = 10, /* ShimMsgActionReply + the agent's line: an action's answer (4) */
        SHIM_MSG_EXEC_TTY_OUTPUT = 11, /* ShimMsgExecTtyOutput: a command's terminal output was logged (5) */
        SHIM_MSG_EXEC_TTY_LIST = 12,   /* ShimMsgExecTtyList + entries: the terminals of exec held (5) */

        /* daemon -> shim */
        SHIM_MSG_STDIN = 100,      /* ShimMsgStdin + data */
        SHIM_MSG_SIGNAL = 101,     /* ShimMsgSignal: deliver to the agent process */
        SHIM_MSG_WELCOME = 102,    /* ShimMsgWelcome: the version agreed on, after each HELLO (version 2) */
        SHIM_MSG_EXEC = 103,       /* ShimMsgExec + argv + stdin: run a command in the agent's sandbox (4) */
        SHIM_MSG_TTY_INPUT = 104,  /* ShimMsgTtyInput + data: typed into the terminal, no ack (version 4) */
        SHIM_MSG_TTY_RESIZE = 105, /* ShimMsgTtyResize: the terminal's window size (version 4) */
        SHIM_MSG_TTY_STREAM = 106, /* ShimMsgTtyStream: send TTY_OUTPUT on this connection or not (4) */
        SHIM_MSG_ACTION = 107,     /* ShimMsgAction + the line for the agent (version 4) */
        SHIM_MSG_EXEC_TTY = 108,   /* ShimMsgExecTty + argv: a command on a terminal of its own (5) */
        SHIM_MSG_EXEC_TTY_INPUT = 109,  /* ShimMsgExecTtyInput + data: typed into its terminal (5) */
        SHIM_MSG_EXEC_TTY_RESIZE = 110, /* ShimMsgExecTtyResize: its terminal's window size (5) */
} ShimMsgType;

/* Types whose data follows a frozen fixed part (the rules above). */
static inline bool shim_msg_type_has_data(uint32_t type)
{
        return type == SHIM_MSG_STDIN || type == SHIM_MSG_TTY_INPUT || type == SHIM_MSG_ACTION ||
               type == SHIM_MSG_ACTION_REPLY || type == SHIM_MSG_EXEC_TTY ||
               type == SHIM_MSG_EXEC_TTY_INPUT || type == SHIM_MSG_EXEC_TTY_LIST;
}

typedef struct ShimMsgHeader {
        uint32_t type;
        uint32_t size;
} ShimMsgHeader;

typedef enum ShimState {
        SHIM_STATE_STARTING = 0,
        SHIM_STATE_RUNNING = 1,
        SHIM_STATE_EXITED = 2,
} ShimState;

typedef struct ShimMsgHello {
        ShimMsgHeader h;
        uint32_t version;    /* the newest version the shim speaks */
        uint32_t state;      /* ShimState */
        int32_t agent_pid;   /* in the agent's pid namespace, 0 before start */
        uint32_t stdin_open; /* 1 while the agent's stdin pipe is open */
        uint64_t started_ns; /* CLOCK_REALTIME, 0 before start */
        uint64_t next_seq;   /* the output record seq the next record will carry */
        /* version 2 */
        uint32_t min_version; /* the oldest version the shim speaks; absent (0): only `version` */
        uint32_t reserved;
} ShimMsgHello;

/* HELLO as version 1 sent it: the shortest HELLO accepted. */
#define SHIM_MSG_HELLO_V1_SIZE offsetof(ShimMsgHello, min_version)

typedef struct ShimMsgWelcome {
        ShimMsgHeader h;
        uint32_t version; /* agreed: the highest both speak */
        uint32_t reserved;
} ShimMsgWelcome;

/* The hops of a start inside the shim, CLOCK_MONOTONIC ns (one clock for every process of the host). */
typedef struct ShimStartTrace {
        uint64_t main_ns;       /* the shim's main(): its execve done */
        uint64_t view_ns;       /* its mount view and namespaces built */
        uint64_t agent_fork_ns; /* before the agent's clone3 */
        uint64_t agent_exec_ns; /* the agent's execve done (its error pipe closed) */
        uint64_t sent_ns;       /* STARTED sent */
} ShimStartTrace;

typedef struct ShimMsgStarted {
        ShimMsgHeader h;
        int32_t agent_pid; /* in the agent's pid namespace */
        uint32_t reserved;
        uint64_t started_ns; /* CLOCK_REALTIME */
        /* Grown: CLOCK_MONOTONIC stamps of the start, for the daemon's spawn trace (a debug line, nothing
         * else reads them). An older shim sends none: the decoder reads 0, "not known". */
        ShimStartTrace trace;
} ShimMsgStarted;
#define SHIM_MSG_STARTED_V1_SIZE offsetof(ShimMsgStarted, trace)

/* Where an agent's start failed; the names are what users see in spawn_failed errors. */
typedef enum ShimStage {
        SHIM_STAGE_SHIM = 0, /* the shim itself (bad arguments, fd setup) */
        SHIM_STAGE_MOUNTS,   /* building the agent's mount view */
        SHIM_STAGE_CLONE,    /* clone3 into payload/ */
        SHIM_STAGE_CWD,      /* chdir to the working directory */
        SHIM_STAGE_STDIO,    /* wiring stdin/stdout/stderr */
        SHIM_STAGE_IDENTITY, /* setgroups/setresgid/setresuid */
        SHIM_STAGE_CAPS,     /* dropping capabilities */
        SHIM_STAGE_SECCOMP,  /* loading the seccomp filter */
        SHIM_STAGE_EXEC,     /* execve of the command */
        SHIM_STAGE_NETWORK,  /* bringing up loopback in the agent's network namespace */
        _SHIM_STAGE_MAX,
} ShimStage;

static inline const char *shim_stage_to_string(uint32_t s)
{
        static const char *const table[_SHIM_STAGE_MAX] = {
                [SHIM_STAGE_SHIM] = "shim",         [SHIM_STAGE_MOUNTS] = "mounts",
                [SHIM_STAGE_CLONE] = "clone",       [SHIM_STAGE_CWD] = "cwd",
                [SHIM_STAGE_STDIO] = "stdio",       [SHIM_STAGE_IDENTITY] = "identity",
                [SHIM_STAGE_CAPS] = "capabilities", [SHIM_STAGE_SECCOMP] = "seccomp",
                [SHIM_STAGE_EXEC] = "exec",         [SHIM_STAGE_NETWORK] = "network",
        };
        return s < _SHIM_STAGE_MAX ? table[s] : "unknown";
}

typedef struct ShimMsgSpawnFailed {
        ShimMsgHeader h;
        uint32_t stage; /* ShimStage */
        int32_t error;  /* positive errno */
} ShimMsgSpawnFailed;

typedef struct ShimMsgOutput {
        ShimMsgHeader h;
        uint64_t first_seq; /* the records logged since the last OUTPUT message */
        uint64_t last_seq;
        uint64_t stdout_bytes; /* totals since the agent started */
        uint64_t stderr_bytes;
        uint64_t dropped_bytes; /* dropped by the per-agent cap, oldest first */
} ShimMsgOutput;

typedef struct ShimMsgStdin {
        ShimMsgHeader h;
        uint64_t cookie; /* echoed in the ack */
        uint32_t close;  /* 1: close the agent's stdin after writing the data */
        /* 1: this chunk continues the previous one's request; the shim refuses it (-EAGAIN) when the
         * previous was not wholly accepted, so that a request's bytes never reach the agent with a hole in
         * them. A shim older than this field read it as `reserved` and ignored it. */
        uint32_t continues;
        /* followed by the data, h.size - sizeof(ShimMsgStdin) bytes. This fixed part is frozen (see the
         * rules above): every reader finds the data at sizeof(ShimMsgStdin). */
} ShimMsgStdin;

typedef struct ShimMsgStdinAck {
        ShimMsgHeader h;
        uint64_t cookie;
        /* bytes accepted: all, or as many as fit in the queue (then `close` is not applied), or -errno
         * (-EPIPE: stdin closed, -EAGAIN: queue full or an earlier chunk of the request was cut) */
        int64_t result;
} ShimMsgStdinAck;

typedef struct ShimMsgSignal {
        ShimMsgHeader h;
        int32_t signal;
        uint32_t reserved;
} ShimMsgSignal;

/* EXEC (version 4): a new process with exactly the agent's confinement (its namespaces, cgroup, identity,
 * no capabilities, no_new_privs, its seccomp filter, its environment and working directory), forked by the
 * shim as it forked the agent. Its stdout and stderr are captured (the first SHIM_EXEC_OUTPUT_MAX bytes of
 * each), its stdin is the data given (then closed) or /dev/null; at timeout_ms its process group is killed.
 * EXEC_DONE answers every EXEC with its cookie, also a refused one (error set). */
#define SHIM_EXEC_MAX         8           /* commands running at once per agent */
#define SHIM_EXEC_ARGV_MAX    (16 * 1024) /* bytes of the argv block */
#define SHIM_EXEC_ARGC_MAX    1024
#define SHIM_EXEC_STDIN_MAX   (32 * 1024)
#define SHIM_EXEC_OUTPUT_MAX  (16 * 1024) /* bytes kept of each stream */
#define SHIM_EXEC_TIMEOUT_MAX (3600U * 1000)

typedef struct ShimMsgExec {
        ShimMsgHeader h;
        uint64_t cookie;     /* echoed in EXEC_DONE */
        uint32_t timeout_ms; /* 1..SHIM_EXEC_TIMEOUT_MAX */
        uint32_t argv_size;  /* the argv block: NUL-terminated strings, argv[0] non-empty */
        uint32_t stdin_size;
        uint32_t reserved;
        /* followed by argv_size bytes of argv, then stdin_size bytes of stdin (the fixed part is frozen) */
} ShimMsgExec;

typedef struct ShimMsgExecDone {
        ShimMsgHeader h;
        uint64_t cookie;
        int32_t status;        /* its wait status; -1 when it did not start */
        uint32_t timed_out;    /* 1: killed at its timeout */
        int32_t error;         /* positive errno when it did not start (EBUSY: SHIM_EXEC_MAX running) */
        uint32_t stage;        /* ShimStage, with error */
        uint64_t stdout_bytes; /* written in all */
        uint64_t stderr_bytes;
        uint32_t stdout_size; /* kept, following the fixed part */
        uint32_t stderr_size; /* following stdout */
        /* followed by stdout_size bytes of stdout, then stderr_size bytes of stderr (fixed part frozen) */
} ShimMsgExecDone;
/* The action channel (docs/agent-protocol.md): the shim holds one end of a socketpair, the agent the other
 * on fd SHIM_ACTION_FD (named in its environment, DESCARTES_ACTION_FD); one JSON object per line each way.
 * The shim keeps the actions in flight, so that a daemon may restart between an action and its answer. */
#define SHIM_ACTION_FD           3
#define SHIM_ACTION_LINE_MAX     (SHIM_MSG_MAX - 64) /* bytes of one line either way, without its newline */
#define SHIM_ACTION_INFLIGHT_MAX 256                 /* actions in flight per agent */
#define SHIM_ACTION_DEPTH_MAX    13                  /* nesting of an agent's line (its value: 12 + 1) */
/* An action keeps its place this long after its timeout, so that its late answer is counted (forwarded to
 * the daemon, which no longer waits for it). */
#define SHIM_ACTION_GRACE_MS (60 * 1000)
/* Bytes of lines queued for an agent that does not read its channel. */
#define SHIM_ACTION_QUEUE_MAX (1024 * 1024)

/* ACTION flags. RESUME: only join the action with this token if the shim holds it, never deliver it. */
#define SHIM_ACTION_RESUME 1u

typedef struct ShimMsgAction {
        ShimMsgHeader h;
        uint64_t token; /* the action's id on the channel (sent to the agent as 16 hex digits) */
        uint32_t timeout_ms;
        uint32_t flags; /* SHIM_ACTION_* */
        /* followed by the line for the agent (no newline), h.size - sizeof(ShimMsgAction) bytes */
} ShimMsgAction;

typedef struct ShimMsgActionReply {
        ShimMsgHeader h;
        uint64_t token;
        /* 0: the agent answered, its line follows; else -errno, nothing follows: -ENOTCONN the agent has
         * not opened its channel, -EPIPE it closed it, -EBUSY SHIM_ACTION_INFLIGHT_MAX in flight, -EAGAIN
         * the agent does not read its channel, -EMSGSIZE the line is too long, -ENOENT (SHIM_ACTION_RESUME)
         * the shim holds no such action */
        int32_t status;
        uint32_t reserved;
} ShimMsgActionReply;

typedef struct ShimMsgActionState {
        ShimMsgHeader h;
        uint32_t ready; /* 1: the agent opened its channel ({"ready":true}) and has not closed it */
        uint32_t reserved;
        uint64_t dropped; /* the agent's lines the shim dropped: malformed, over a bound, answering no action
                           * in flight, or held for a daemon that never asked for them */
} ShimMsgActionState;

/* The terminal (ShimOptions.tty, version 4): the shim holds the pty's master; the agent's stdin, stdout and
 * stderr are its slave, its controlling terminal. What the agent writes is logged as stdout, as pipe output
 * is, and, while the daemon asked for it (TTY_STREAM on, per connection: a new connection starts without),
 * each record logged is told at once in a TTY_OUTPUT, not only in the coalesced OUTPUT notice, so that the
 * daemon reads it from the log for its attached clients without delay. TTY_OUTPUT is not critical: one the
 * socket had no room for is not sent (the next, or the OUTPUT notice, tells as much). TTY_INPUT goes into
 * the same queue as STDIN (bounded by SHIM_STDIN_QUEUE_MAX; what does not fit is dropped, as a terminal
 * drops what its reader does not take); it carries data after a fixed part that never grows, as STDIN does.
 */
typedef struct ShimMsgTtyOutput {
        ShimMsgHeader h;
        uint64_t first_seq; /* the output records just logged */
        uint64_t last_seq;
} ShimMsgTtyOutput;

typedef struct ShimMsgTtyInput {
        ShimMsgHeader h;
        uint64_t reserved;
        /* followed by the data, h.size - sizeof(ShimMsgTtyInput) bytes; this fixed part is frozen */
} ShimMsgTtyInput;

typedef struct ShimMsgTtyResize {
        ShimMsgHeader h;
        uint32_t rows;
        uint32_t cols;
} ShimMsgTtyResize;

typedef struct ShimMsgTtyStream {
        ShimMsgHeader h;
        uint32_t on; /* 1: send TTY_OUTPUT on this connection; 0: stop */
        uint32_t reserved;
} ShimMsgTtyStream;

/* A window size the shim applies: 1..SHIM_TTY_SIZE_MAX rows and columns. */
#define SHIM_TTY_SIZE_MAX 4096

/* Terminals of exec (version 5): EXEC_TTY starts a command as EXEC does (the agent's confinement, into its
 * cgroup), with a new pseudo-terminal of the agent's devpts as its stdin, stdout, stderr and controlling
 * terminal instead of pipes, and no timeout: it runs until it exits (or the agent ends). Its terminal's
 * output goes to an output log of its own, STATE_DIR/exec/COOKIE/ (cap SHIM_EXEC_TTY_LOG_CAP), each record
 * told at once in EXEC_TTY_OUTPUT (not critical: a lost one is covered by the next). EXEC_TTY_INPUT is
 * typed into it (SHIM_EXEC_TTY_INPUT_MAX queued, the rest dropped as a terminal drops what its reader does
 * not take); EXEC_TTY_RESIZE sets its window. Its end is told in an EXEC_DONE with its cookie (no output
 * in it), also when it could not start (error set). The shim holds the terminals across daemon restarts:
 * after each WELCOME of version 5 or later it sends EXEC_TTY_LIST, every terminal it holds (running, or
 * ended while no daemon was told: the list tells that end, and the shim forgets it once sent). The
 * daemon removes the log directories. */
#define SHIM_EXEC_TTY_MAX       4             /* terminals of exec per agent, running or untold */
#define SHIM_EXEC_TTY_LOG_CAP   (1024 * 1024) /* bytes of output kept per terminal */
#define SHIM_EXEC_TTY_INPUT_MAX (64 * 1024)   /* bytes of input queued per terminal */
#define SHIM_EXEC_TTY_DIR       "exec"        /* in the state dir: one directory per cookie */

typedef struct ShimMsgExecTty {
        ShimMsgHeader h;
        uint64_t cookie; /* names the terminal in every message about it; echoed in EXEC_DONE */
        uint32_t rows;   /* its window size, 0: 24x80 */
        uint32_t cols;
        /* followed by the argv block (as EXEC's) to the end of the packet; this fixed part is frozen */
} ShimMsgExecTty;

typedef struct ShimMsgExecTtyInput {
        ShimMsgHeader h;
        uint64_t cookie;
        /* followed by the data, h.size - sizeof(ShimMsgExecTtyInput) bytes; this fixed part is frozen */
} ShimMsgExecTtyInput;

typedef struct ShimMsgExecTtyResize {
        ShimMsgHeader h;
        uint64_t cookie;
        uint32_t rows;
        uint32_t cols;
} ShimMsgExecTtyResize;

typedef struct ShimMsgExecTtyOutput {
        ShimMsgHeader h;
        uint64_t cookie;
        uint64_t first_seq; /* the records of its log just written */
        uint64_t last_seq;
} ShimMsgExecTtyOutput;

typedef struct ShimExecTtyEntry {
        uint64_t cookie;
        uint32_t ended;    /* 1: it has ended (status) and no daemon was told */
        int32_t status;    /* its wait status with ended */
        uint64_t next_seq; /* the seq its log's next record will carry */
} ShimExecTtyEntry;

typedef struct ShimMsgExecTtyList {
        ShimMsgHeader h;
        uint32_t n;          /* entries that follow (at most SHIM_EXEC_TTY_MAX) */
        uint32_t entry_size; /* sizeof(ShimExecTtyEntry) of the sender: entries may grow at their end */
        /* followed by n entries of entry_size bytes; this fixed part is frozen */
} ShimMsgExecTtyList;

/* The agent's end. Also written by the shim, atomically, to STATE_DIR/exit (ShimExitRecord) before it sends
 * EXITED, so that a daemon that was away when it happened still learns it. */
typedef struct ShimExitRecord {
        uint32_t magic; /* SHIM_EXIT_MAGIC */
        uint32_t version;
        int32_t code;          /* exit code if exited normally, else -1 */
        int32_t signal;        /* terminating signal, else 0 */
        uint32_t core_dumped;  /* 1 if a core was dumped */
        uint32_t spawn_failed; /* 1 if the agent never exec'd */
        uint32_t stage;        /* with spawn_failed */
        int32_t error;         /* with spawn_failed: positive errno */
        uint64_t started_ns;
        uint64_t ended_ns;
} ShimExitRecord;

#define SHIM_EXIT_MAGIC 0x54495845u /* "EXIT" little-endian */
#define SHIM_EXIT_FILE  "exit"

typedef struct ShimMsgExited {
        ShimMsgHeader h;
        ShimExitRecord rec;
} ShimMsgExited;

/* One decoded packet: the fields its reader knows (0 for those the sender did not send), whatever version
 * wrote it. */
typedef struct ShimMsg {
        uint32_t type; /* ShimMsgType */
        size_t size;   /* of the packet */
        union {
                ShimMsgHeader h;
                ShimMsgHello hello;
                ShimMsgWelcome welcome;
                ShimMsgStarted started;
                ShimMsgSpawnFailed spawn_failed;
                ShimMsgOutput output;
                ShimMsgStdinAck stdin_ack;
                ShimMsgExited exited;
                ShimMsgStdin stdin;
                ShimMsgSignal signal;
                ShimMsgExec exec;
                ShimMsgExecDone exec_done;
                ShimMsgTtyOutput tty_output;
                ShimMsgTtyInput tty_input;
                ShimMsgTtyResize tty_resize;
                ShimMsgTtyStream tty_stream;
                ShimMsgAction action;
                ShimMsgActionReply action_reply;
                ShimMsgActionState action_state;
                ShimMsgExecTty exec_tty;
                ShimMsgExecTtyInput exec_tty_input;
                ShimMsgExecTtyResize exec_tty_resize;
                ShimMsgExecTtyOutput exec_tty_output;
                ShimMsgExecTtyList exec_tty_list;
        };
        /* STDIN, TTY_INPUT, ACTION, ACTION_REPLY, EXEC_TTY_INPUT: its data; EXEC_TTY: the argv block;
         * EXEC_TTY_LIST: the entries; EXEC: the argv block; EXEC_DONE: stdout (in the
         * packet) */
        const uint8_t *data;
        size_t data_size;
        const uint8_t *data2; /* EXEC: stdin; EXEC_DONE: stderr */
        size_t data2_size;
} ShimMsg;

/* Decodes a packet of n bytes (either direction). 0 with *ret filled in; -EBADMSG for a packet whose header
 * does not match its size or that is shorter than the oldest form of its type; -EOPNOTSUPP for a type this
 * side does not know (to be ignored). */
int shim_msg_decode(const void *buf, size_t n, ShimMsg *ret);

/* The shim's options: everything it needs to start and serve one agent, decided by the daemon. The shim
 * checks nothing the daemon could have checked better, but trusts nothing either: the decoder validates
 * every field (bounds, absolute paths, names), and a sandbox is all or nothing. */
typedef struct ShimOptions {
        uint32_t version;    /* the contract version of the daemon that wrote them (decoded only) */
        char *id;            /* the agent's id: [A-Za-z0-9._-], at most SHIM_ID_MAX */
        char *hostname;      /* NULL: derived from the id */
        char *listen_path;   /* the reconnection socket, NULL: none */
        char *cwd;           /* the agent's working directory; NULL: the workspace, or / without a sandbox */
        uint64_t output_cap; /* bytes of output kept; 0: the output log's default */
        bool stdin_pipe;     /* the agent gets a stdin pipe, else /dev/null */
        bool loopback;       /* a new network namespace: bring lo up */
        char **argv;         /* the agent's command, argv[0] looked up in its environment's PATH */

        /* The sandbox: with `sandbox` off the agent keeps the shim's identity and the host's view (tests).
         */
        bool sandbox;
        uid_t uid; /* the identity to apply (resolved by the daemon: sandbox/identity.h) */
        gid_t gid;
        char *workspace;               /* host path, read-write at the same path in the view */
        uid_t workspace_owner;         /* the workspace must belong to this uid; (uid_t)-1: no check */
        uint64_t tmp_size;             /* bytes of /tmp and /dev/shm */
        uint64_t workspace_tmpfs_size; /* > 0: the workspace is a tmpfs of this size in the view */
        char **mask_paths;             /* paths to mask, NULL: none */
        char *home;                    /* created by the agent after the drop (mkdir 0700), NULL: none */
        bool seccomp;                  /* SHIM_FD_SECCOMP holds the filter to load */
        /* version 3: an older daemon's options end before them */
        char **keep_paths;    /* host paths shown read-only inside the masks (MountViewSpec), NULL: none */
        bool workspace_idmap; /* the workspace is mounted idmapped: its owner's uid and gid on disk are
                                 uid and gid in the view (MountViewSpec.workspace_idmap) */
        /* version 4 */
        bool tty; /* the agent's stdio is a pseudo-terminal the shim holds (stdin_pipe is then off), 24x80
                     until a TTY_RESIZE */
} ShimOptions;

#define SHIM_OPTIONS_INIT ((ShimOptions){.uid = (uid_t)-1, .gid = (gid_t)-1, .workspace_owner = (uid_t)-1})

#define SHIM_ID_MAX           128
#define SHIM_MASK_PATHS_MAX   256                 /* MOUNT_VIEW_MASKS_MAX */
#define SHIM_KEEP_PATHS_MAX   64                  /* MOUNT_VIEW_KEEPS_MAX */
#define SHIM_ARGV_MAX         8192                /* above PROTO_ARGV_MAX */
#define SHIM_OPTIONS_SIZE_MAX (4 * 1024 * 1024)   /* above PROTO_ARGV_BYTES_MAX and the paths */
#define SHIM_OUTPUT_CAP_MIN   1024ULL             /* OUTPUT_LOG_CAP_MIN */
#define SHIM_SIZE_MAX         (UINT64_C(1) << 40) /* output cap and tmp size */

void shim_options_done(ShimOptions *o);

/* A name the shim may give the agent's UTS namespace: [A-Za-z0-9.-], not starting with '-' or '.', at most
 * HOST_NAME_MAX. */
bool shim_hostname_is_valid(const char *s);

/* Checks o as the decoder would (so that the daemon never starts a shim that would refuse its options):
 * 0 or -EINVAL. */
int shim_options_validate(const ShimOptions *o);

/* Encodes o (valid, see above) into a new buffer of *ret_size bytes. */
int shim_options_encode(const ShimOptions *o, uint8_t **ret, size_t *ret_size);
/* Decodes and validates a blob of n bytes; -EBADMSG when malformed or shorter than its oldest form, -EINVAL
 * when a field is out of its bounds, -E2BIG beyond SHIM_OPTIONS_SIZE_MAX. The bytes after the fields this
 * side knows are ignored. */
int shim_options_decode(const void *buf, size_t n, ShimOptions *ret);

/* The daemon: a new sealed memfd (CLOEXEC; no write, grow or shrink; sealed against more seals) holding o.
 */
int shim_options_export(const ShimOptions *o, int *ret_fd);
/* The shim: reads and decodes the options in fd, which must be sealed as above (-EPERM if not). */
int shim_options_read_fd(int fd, ShimOptions *ret);

#if SHIM_MSG_TEST_TAIL > 0
/* Test builds: msg (n bytes, not of shim_msg_type_has_data()) copied to buf, at least n + SHIM_MSG_TEST_TAIL
 * bytes, with a field from the future appended; returns the new size. */
static inline size_t shim_msg_grow_for_test(uint8_t *buf, const void *msg, size_t n)
{
        ShimMsgHeader h;

        memcpy(buf, msg, n);
        memset(buf + n, 0xa5, SHIM_MSG_TEST_TAIL);
        memcpy(&h, buf, sizeof h);
        h.size = (uint32_t)(n + SHIM_MSG_TEST_TAIL);
        memcpy(buf, &h, sizeof h);
        return n + SHIM_MSG_TEST_TAIL;
}
#endif

/* What released shims and daemons rely on (see the rules at the top). */
_Static_assert(sizeof(ShimMsgStdin) == 24, "the fixed part of STDIN is frozen: its data starts at byte 24");
_Static_assert(sizeof(ShimMsgExec) == 32, "the fixed part of EXEC is frozen");
_Static_assert(sizeof(ShimMsgExecDone) == 56, "the fixed part of EXEC_DONE is frozen");
_Static_assert(sizeof(ShimMsgExec) + SHIM_EXEC_ARGV_MAX + SHIM_EXEC_STDIN_MAX <= SHIM_MSG_MAX, "EXEC fits");
_Static_assert(sizeof(ShimMsgExecDone) + 2 * SHIM_EXEC_OUTPUT_MAX <= SHIM_MSG_MAX, "EXEC_DONE fits");
_Static_assert(sizeof(ShimMsgTtyInput) == 16,
               "the fixed part of TTY_INPUT is frozen: its data starts at byte 16");
_Static_assert(sizeof(ShimMsgAction) == 24,
               "the fixed part of ACTION is frozen: its data starts at byte 24");
_Static_assert(sizeof(ShimMsgActionReply) == 24, "the fixed part of ACTION_REPLY is frozen");
_Static_assert(sizeof(ShimMsgExecTty) == 24, "the fixed part of EXEC_TTY is frozen");
_Static_assert(sizeof(ShimMsgExecTtyInput) == 16, "the fixed part of EXEC_TTY_INPUT is frozen");
_Static_assert(sizeof(ShimMsgExecTtyList) == 16, "the fixed part of EXEC_TTY_LIST is frozen");
_Static_assert(sizeof(ShimMsgExecTty) + SHIM_EXEC_ARGV_MAX <= SHIM_MSG_MAX, "EXEC_TTY fits");
_Static_assert(SHIM_EXEC_TTY_MAX * sizeof(ShimExecTtyEntry) + sizeof(ShimMsgExecTtyList) <= 256,
               "EXEC_TTY_LIST fits a small packet");
_Static_assert(SHIM_MSG_HELLO_V1_SIZE == 40, "version 1 shims send a HELLO of 40 bytes");
