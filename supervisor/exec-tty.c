/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent-log.h"
#include "agent.h"
#include "attachment.h"
#include "cleanup.h"
#include "exec-tty.h"
#include "fd-util.h"
#include "log.h"

_Static_assert(PROTO_EXEC_TTYS_MAX == SHIM_EXEC_TTY_MAX, "the shim holds as many as the protocol says");
_Static_assert(PROTO_EXEC_TTY_LOG_MAX == SHIM_EXEC_TTY_LOG_CAP, "the shim keeps what the protocol says");

static void dir_name(uint64_t id, char buf[static 24])
{
        (void)snprintf(buf, 24, "%" PRIu64, id);
}

/* Removes a command's log directory (its output log files, then itself). */
static void remove_dir(Agent *a, uint64_t id)
{
        _cleanup_close_ int tmp = -EBADF, parent = -EBADF;
        char name[24];
        int fd, r;

        fd = agent_state_dir(a, &tmp);
        if (fd < 0)
                return;
        parent = openat(fd, SHIM_EXEC_TTY_DIR, O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (parent < 0)
                return;
        dir_name(id, name);
        r = rm_rf_at(parent, name);
        if (r < 0 && r != -ENOENT)
                log_agent_debug_errno(a, r, "Cannot remove the output of exec %" PRIu64 ": %m", id);
}

static size_t count(const Agent *a, bool ended)
{
        size_t n = 0;

        for (const ExecTty *x = a->exec_ttys.list; x; x = x->next)
                n += x->ended == ended;
        return n;
}

/* Past PROTO_EXEC_TTYS_ENDED_MAX ended records the oldest go, with their output. */
static void trim_ended(Agent *a)
{
        size_t kept = 0;

        for (ExecTty **p = &a->exec_ttys.list; *p;) {
                ExecTty *x = *p;

                if (!x->ended || ++kept <= PROTO_EXEC_TTYS_ENDED_MAX) {
                        p = &x->next;
                        continue;
                }
                *p = x->next;
                attachments_exec_ended(a->manager, a, x); /* none by now: an ended one's end at once */
                remove_dir(a, x->id);
                free(x);
        }
}

static ExecTty *add(Agent *a, uint64_t id)
{
        ExecTty *x = calloc(1, sizeof *x);

        if (!x)
                return NULL;
        x->id = id;
        x->status = -1;
        x->next = a->exec_ttys.list;
        a->exec_ttys.list = x;
        return x;
}

int exec_tty_start(Agent *a, char *const *argv, uint32_t rows, uint32_t cols, ExecTty **ret,
                   Failure *ret_failure)
{
        _cleanup_free_ uint8_t *buf = NULL;
        ShimMsgExecTty msg;
        size_t argv_size = 0, off;
        ExecTty *x;
        int r;

        if (a->shim.version < SHIM_VERSION_EXEC_TTY)
                return failure_set(ret_failure, -EOPNOTSUPP, PROTO_ERROR_CONFLICT,
                                   "agent %s runs under a shim of protocol version %u, too old for a "
                                   "command on a terminal (exec -t needs version %d, from the agents this "
                                   "release starts): run the command without -t",
                                   a->info.id, a->shim.version, SHIM_VERSION_EXEC_TTY);
        if (count(a, false) >= PROTO_EXEC_TTYS_MAX)
                return failure_set(ret_failure, -EBUSY, PROTO_ERROR_LIMIT_EXCEEDED,
                                   "agent %s has %d commands on terminals running already: end one first",
                                   a->info.id, PROTO_EXEC_TTYS_MAX);
        for (char *const *p = argv; *p; p++)
                argv_size += strlen(*p) + 1;
        if (argv_size > SHIM_EXEC_ARGV_MAX)
                return failure_set(ret_failure, -E2BIG, PROTO_ERROR_BAD_REQUEST, "the command is too long");
        msg = (ShimMsgExecTty){
                .h = {.type = SHIM_MSG_EXEC_TTY, .size = (uint32_t)(sizeof msg + argv_size)},
                .cookie = ++a->next_exec_cookie,
                .rows = rows,
                .cols = cols,
        };
        buf = malloc(msg.h.size);
        if (!buf)
                return failure_set(ret_failure, -ENOMEM, PROTO_ERROR_INTERNAL, "out of memory");
        memcpy(buf, &msg, sizeof msg);
        off = sizeof msg;
        for (char *const *p = argv; *p; p++) {
                size_t n = strlen(*p) + 1;
                memcpy(buf + off, *p, n);
                off += n;
        }
        x = add(a, msg.cookie);
        if (!x)
                return failure_set(ret_failure, -ENOMEM, PROTO_ERROR_INTERNAL, "out of memory");
        r = shim_link_send(a, buf, msg.h.size);
        if (r < 0) {
                a->exec_ttys.list = x->next;
                free(x);
                return failure_set(ret_failure, r, PROTO_ERROR_INTERNAL,
                                   "cannot pass the command to the shim of agent %s: %s", a->info.id,
                                   strerror(-r));
        }
        log_agent_debug(a, "exec %s on a terminal (EXEC_TTY %" PRIu64 ").", argv[0], x->id);
        *ret = x;
        return 0;
}

ExecTty *exec_tty_find(Agent *a, uint64_t id)
{
        for (ExecTty *x = a->exec_ttys.list; x; x = x->next)
                if (x->id == id)
                        return x;
        return NULL;
}

int exec_tty_open_dir(Agent *a, const ExecTty *x)
{
        _cleanup_close_ int tmp = -EBADF;
        char name[sizeof(SHIM_EXEC_TTY_DIR) + 24];
        int fd, d;

        fd = agent_state_dir(a, &tmp);
        if (fd < 0)
                return fd;
        (void)snprintf(name, sizeof name, SHIM_EXEC_TTY_DIR "/%" PRIu64, x->id);
        d = openat(fd, name, O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        return d < 0 ? -errno : d;
}

int exec_tty_send_input(Agent *a, const ExecTty *x, const void *data, size_t size)
{
        _cleanup_free_ uint8_t *buf = NULL;
        ShimMsgExecTtyInput msg = {
                .h = {.type = SHIM_MSG_EXEC_TTY_INPUT, .size = (uint32_t)(sizeof msg + size)},
                .cookie = x->id,
        };

        if (x->ended)
                return -ESRCH;
        if (size > SHIM_STDIN_CHUNK_MAX)
                return -EMSGSIZE;
        buf = malloc(sizeof msg + size);
        if (!buf)
                return -ENOMEM;
        memcpy(buf, &msg, sizeof msg);
        memcpy(buf + sizeof msg, data, size);
        return shim_link_send(a, buf, sizeof msg + size);
}

int exec_tty_send_resize(Agent *a, const ExecTty *x, uint32_t rows, uint32_t cols)
{
        ShimMsgExecTtyResize msg = {
                .h = {.type = SHIM_MSG_EXEC_TTY_RESIZE, .size = sizeof msg},
                .cookie = x->id,
                .rows = rows,
                .cols = cols,
        };

        if (x->ended)
                return -ESRCH;
        return shim_link_send(a, &msg, sizeof msg);
}

void exec_tty_output(Agent *a, const ShimMsgExecTtyOutput *m)
{
        ExecTty *x = exec_tty_find(a, m->cookie);

        if (!x || x->ended)
                return;
        x->last_seq = MAX(x->last_seq, m->last_seq);
        attachments_pump_exec(a->manager, a, x);
}

/* Its end: its attachments get the rest and `closed`. The caller trims the ended ones after (not while it
 * walks the list). */
static void mark_ended(Agent *a, ExecTty *x, int status)
{
        x->ended = true;
        x->status = status;
        attachments_exec_ended(a->manager, a, x);
}

bool exec_tty_done(Agent *a, const ShimMsg *m)
{
        ExecTty *x = exec_tty_find(a, m->exec_done.cookie);

        if (!x || x->ended)
                return false;
        if (m->exec_done.error != 0)
                log_agent_info(a, "exec %" PRIu64 " on a terminal did not start: stage %s: %s", x->id,
                               shim_stage_to_string(m->exec_done.stage), strerror(m->exec_done.error));
        else
                log_agent_debug(a, "exec %" PRIu64 " on a terminal ended (status %d).", x->id,
                                m->exec_done.status);
        mark_ended(a, x, m->exec_done.error != 0 ? -1 : m->exec_done.status);
        trim_ended(a);
        return true;
}

/* A directory name of ours: the decimal id, nothing else. */
static bool parse_dir_name(const char *s, uint64_t *ret)
{
        char *end;

        if (s[0] < '1' || s[0] > '9')
                return false;
        errno = 0;
        *ret = strtoull(s, &end, 10);
        return errno == 0 && *end == 0;
}

/* Removes the directories of commands this daemon holds no record of (an earlier daemon's ended ones). */
static void sweep_dirs(Agent *a)
{
        _cleanup_close_ int tmp = -EBADF;
        _cleanup_closedir_ DIR *d = NULL;
        struct dirent *de;
        int fd, dfd;

        fd = agent_state_dir(a, &tmp);
        if (fd < 0)
                return;
        dfd = openat(fd, SHIM_EXEC_TTY_DIR, O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (dfd < 0)
                return;
        d = fdopendir(dfd);
        if (!d) {
                safe_close(dfd);
                return;
        }
        while ((de = readdir(d))) {
                uint64_t id;

                if (!parse_dir_name(de->d_name, &id) || exec_tty_find(a, id))
                        continue;
                (void)rm_rf_at(dirfd(d), de->d_name);
        }
}

void exec_tty_list(Agent *a, const ShimMsg *m)
{
        const ShimMsgExecTtyList *l = &m->exec_tty_list;
        size_t esize = l->entry_size;

        if (esize < sizeof(ShimExecTtyEntry) || l->n > SHIM_EXEC_TTY_MAX ||
            (uint64_t)l->n * esize > m->data_size) {
                a->manager->stats.shim_protocol_errors++;
                log_agent_debug(a, "Ignoring a malformed EXEC_TTY_LIST from its shim.");
                return;
        }
        /* what the shim does not hold has ended (a record of this daemon whose EXEC_DONE was lost), or is an
         * earlier daemon's: the listed ones are what runs */
        for (ExecTty *x = a->exec_ttys.list; x; x = x->next) {
                bool listed = false;

                for (uint32_t i = 0; i < l->n && !listed; i++) {
                        ShimExecTtyEntry e;

                        memcpy(&e, m->data + i * esize, sizeof e);
                        listed = e.cookie == x->id;
                }
                if (!listed && !x->ended)
                        mark_ended(a, x, -1);
        }
        for (uint32_t i = 0; i < l->n; i++) {
                ShimExecTtyEntry e;
                ExecTty *x;

                memcpy(&e, m->data + i * esize, sizeof e);
                x = exec_tty_find(a, e.cookie);
                if (!x)
                        x = add(a, e.cookie);
                if (!x)
                        continue;
                if (e.next_seq > 0)
                        x->last_seq = MAX(x->last_seq, e.next_seq - 1);
                if (e.ended && !x->ended)
                        mark_ended(a, x, e.status);
        }
        a->exec_ttys.known = true;
        trim_ended(a);
        sweep_dirs(a);
}

void exec_ttys_unknown(Agent *a)
{
        a->exec_ttys.known = false;
}

void exec_ttys_free(Agent *a)
{
        while (a->exec_ttys.list) {
                ExecTty *x = a->exec_ttys.list;

                a->exec_ttys.list = x->next;
                free(x);
        }
}
