/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "child-exec.h"
#include "cleanup.h"
#include "fd-util.h"
#include "log.h"
#include "pidref.h"
#include "string-util.h"
#include "trash.h"

#define TRASH_DIR "trash"
/* entries passed to one rm: its argv stays far below ARG_MAX */
#define TRASH_BATCH_MAX 256
#define RM_PATH         "/bin/rm"

struct Trash {
        sd_event *event;
        int fd;     /* STATE/trash */
        char *path; /* its absolute path, for rm's argv */
        PidRef cleaner;
        sd_event_source *cleaner_source;
        bool again;        /* something was moved in while rm ran */
        bool more;         /* the last rm was given only the first TRASH_BATCH_MAX entries */
        unsigned long seq; /* for unique names */
};

static int trash_sweep(Trash *t);

static int on_cleaner_exit(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        Trash *t = userdata;
        siginfo_t si = {};
        bool ok = true;

        if (waitid(P_PIDFD, (id_t)fd, &si, WEXITED | WNOHANG) >= 0 && si.si_pid > 0 &&
            (si.si_code != CLD_EXITED || si.si_status != 0)) {
                ok = false;
                log_warning(
                        "Deleting removed agents' files in %s did not finish (rm %s %d); what is left is "
                        "tried again at the next removal and the next start.",
                        t->path, si.si_code == CLD_EXITED ? "exited with" : "was killed by signal",
                        si.si_status);
        }
        t->cleaner_source = sd_event_source_disable_unref(t->cleaner_source);
        pidref_done(&t->cleaner);
        /* what rm could not delete is not retried in a loop: only new arrivals, or the rest of a batch after
         * a run that went well, start the next one */
        if (t->again || (t->more && ok)) {
                t->again = t->more = false;
                (void)trash_sweep(t);
        }
        return 0;
}

static void strv_free_n(char **l, size_t n)
{
        for (size_t i = 0; i < n; i++)
                free(l[i]);
}

static int trash_sweep(Trash *t)
{
        const char *argv_head[] = {"rm", "-rf", "--one-file-system", "--"};
        char *argv[ELEMENTSOF(argv_head) + TRASH_BATCH_MAX + 1] = {};
        char *const envp[] = {(char *)"PATH=/usr/sbin:/usr/bin:/sbin:/bin", (char *)"LC_ALL=C", NULL};
        sigset_t none;
        size_t n = 0;
        pid_t pid;
        DIR *d;
        int dfd, r;

        if (pidref_is_set(&t->cleaner)) {
                t->again = true;
                return 0;
        }
        /* a fresh open file description: a dup would share (and leave at the end) the offset of t->fd */
        dfd = openat(t->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return -errno;
        d = fdopendir(dfd);
        if (!d) {
                safe_close(dfd);
                return -errno;
        }
        for (struct dirent *de; n < TRASH_BATCH_MAX && (de = readdir(d));) {
                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                if (asprintf_safe(&argv[ELEMENTSOF(argv_head) + n], "%s/%s", t->path, de->d_name) < 0)
                        break;
                n++;
        }
        t->more = n == TRASH_BATCH_MAX; /* the rest in the next round */
        closedir(d);
        if (n == 0)
                return 0;
        for (size_t i = 0; i < ELEMENTSOF(argv_head); i++)
                argv[i] = (char *)argv_head[i];

        /* the daemon blocks its signals for sd-event (it installs no handlers): rm gets a clean mask. Only
         * async-signal-safe calls between fork and exec: the daemon has threads (libzmq's). */
        sigemptyset(&none);
        pid = fork();
        if (pid == 0) {
                (void)sigprocmask(SIG_SETMASK, &none, NULL);
                child_exec_apply_nofile();
                execve(RM_PATH, argv, envp);
                _exit(127);
        }
        r = pid < 0 ? -errno : 0;
        strv_free_n(argv + ELEMENTSOF(argv_head), n);
        if (r < 0)
                return log_warning_errno(r, "Cannot start %s to delete removed agents' files in %s: %m",
                                         RM_PATH, t->path);
        r = pidref_set_pid(&t->cleaner, pid);
        if (r >= 0)
                r = sd_event_add_io(t->event, &t->cleaner_source, t->cleaner.fd, EPOLLIN, on_cleaner_exit,
                                    t);
        if (r < 0) {
                /* not watched: it still runs to its end; reap it now rather than leave a zombie for long */
                (void)waitpid(pid, NULL, 0);
                pidref_done(&t->cleaner);
                return log_warning_errno(r, "Cannot watch the delete of removed agents' files: %m");
        }
        (void)sd_event_source_set_description(t->cleaner_source, "trash-cleaner");
        return 0;
}

int trash_new(sd_event *event, int state_fd, const char *state_dir, Trash **ret)
{
        _cleanup_free_ Trash *t = calloc(1, sizeof *t);

        if (!t)
                return -ENOMEM;
        t->event = event;
        t->cleaner = PIDREF_NULL;
        if (mkdirat(state_fd, TRASH_DIR, 0700) < 0 && errno != EEXIST)
                return -errno;
        t->fd = openat(state_fd, TRASH_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (t->fd < 0)
                return -errno;
        if (asprintf_safe(&t->path, "%s/%s", state_dir, TRASH_DIR) < 0) {
                safe_close(t->fd);
                return -ENOMEM;
        }
        (void)trash_sweep(t);
        *ret = TAKE_PTR(t);
        return 0;
}

Trash *trash_free(Trash *t)
{
        if (!t)
                return NULL;
        t->cleaner_source = sd_event_source_disable_unref(t->cleaner_source);
        pidref_done(&t->cleaner);
        safe_close(t->fd);
        free(t->path);
        free(t);
        return NULL;
}

int trash_move(Trash *t, int dirfd, const char *path, const char *name)
{
        char dest[256];

        (void)snprintf(dest, sizeof dest, "%.64s.%d.%lu", name, (int)getpid(), ++t->seq);
        if (renameat(dirfd, path, t->fd, dest) < 0)
                return -errno;
        (void)trash_sweep(t);
        return 0;
}
