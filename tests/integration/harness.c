/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "fd-util.h"
#include "harness.h"
#include "string-util.h"

#define CGROUP2 "/sys/fs/cgroup/unified"

static const char *cgroup2_mount(void)
{
        static char path[256];
        _cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
        char line[4096];

        if (path[0])
                return path;
        while (f && fgets(line, sizeof line, f)) {
                char *sep = strstr(line, " - cgroup2 ");
                char *p = line;
                if (!sep)
                        continue;
                for (int i = 0; i < 4 && p; i++)
                        p = strchr(p + 1, ' ');
                if (!p)
                        continue;
                char *end = strchr(p + 1, ' ');
                if (!end || (size_t)(end - p - 1) >= sizeof path)
                        continue;
                memcpy(path, p + 1, (size_t)(end - p - 1));
                path[end - p - 1] = 0;
                return path;
        }
        return NULL;
}

static const char *env_or(const char *name, const char *fallback)
{
        const char *v = getenv(name);
        return v && *v ? v : fallback;
}

const char *harness_descartesd(void)
{
        return env_or("DESCARTESD", "descartesd");
}

const char *harness_descartesctl(void)
{
        return env_or("DESCARTESCTL", "descartesctl");
}

const char *harness_shim(void)
{
        return env_or("DESCARTES_SHIM", "descartes-shim");
}

const char *harness_policy_dir(void)
{
        return env_or("DESCARTES_POLICY_DIR", DESCARTES_POLICY_DIR);
}

const char *harness_skip_reason(void)
{
        if (geteuid() != 0)
                return "integration tests need root (they start descartesd and create cgroups)";
        if (!cgroup2_mount())
                return "no cgroup2 mount on this host";
        if (access(harness_descartesd(), X_OK) < 0 || access(harness_descartesctl(), X_OK) < 0 ||
            access(harness_shim(), X_OK) < 0)
                return "descartesd, descartesctl or descartes-shim not built "
                       "(DESCARTESD/DESCARTESCTL/DESCARTES_SHIM)";
        return NULL;
}

static int read_small(const char *path, char *buf, size_t n)
{
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        ssize_t k;

        if (fd < 0)
                return -errno;
        k = read(fd, buf, n - 1);
        if (k < 0)
                return -errno;
        buf[k] = 0;
        return (int)k;
}

static bool cgroup_populated(const char *path)
{
        char p[4096], buf[256];

        (void)snprintf(p, sizeof p, "%s/cgroup.events", path);
        if (read_small(p, buf, sizeof buf) < 0)
                return false;
        return strstr(buf, "populated 1") != NULL;
}

int harness_cgroup_nprocs(const char *path)
{
        _cleanup_closedir_ DIR *d = opendir(path);
        char p[4096], buf[65536];
        int n = 0, r;

        if (!d)
                return -errno;
        (void)snprintf(p, sizeof p, "%s/cgroup.procs", path);
        r = read_small(p, buf, sizeof buf);
        if (r > 0)
                for (char *c = buf; *c; c++)
                        n += *c == '\n';
        for (struct dirent *de; (de = readdir(d));) {
                if (de->d_type != DT_DIR || de->d_name[0] == '.')
                        continue;
                (void)snprintf(p, sizeof p, "%s/%s", path, de->d_name);
                r = harness_cgroup_nprocs(p);
                if (r > 0)
                        n += r;
        }
        return n;
}

int harness_cgroup_count_dirs(const char *path)
{
        _cleanup_closedir_ DIR *d = opendir(path);
        char p[4096];
        int n = 0;

        if (!d)
                return -errno;
        for (struct dirent *de; (de = readdir(d));) {
                if (de->d_type != DT_DIR || de->d_name[0] == '.')
                        continue;
                (void)snprintf(p, sizeof p, "%s/%s", path, de->d_name);
                int r = harness_cgroup_count_dirs(p);
                n += 1 + (r > 0 ? r : 0);
        }
        return n;
}

static void sleep_ms(unsigned ms)
{
        struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
        (void)nanosleep(&ts, NULL);
}

int harness_wait_until(bool (*fn)(void *arg), void *arg, unsigned timeout_ms)
{
        for (unsigned waited = 0;; waited += 10) {
                if (fn(arg))
                        return 0;
                if (waited >= timeout_ms)
                        return -ETIMEDOUT;
                sleep_ms(10);
        }
}

static bool not_populated(void *arg)
{
        return !cgroup_populated(arg);
}

static void rmdir_tree(const char *path)
{
        _cleanup_closedir_ DIR *d = opendir(path);
        char p[4096];

        if (!d)
                return;
        for (struct dirent *de; (de = readdir(d));) {
                if (de->d_type != DT_DIR || de->d_name[0] == '.')
                        continue;
                (void)snprintf(p, sizeof p, "%s/%s", path, de->d_name);
                rmdir_tree(p);
        }
        (void)rmdir(path);
}

/* cgroup.kill takes the whole subtree at once, frozen cgroups included. */
static void cgroup_destroy(const char *path)
{
        char p[4096];
        _cleanup_close_ int fd = -EBADF;

        (void)snprintf(p, sizeof p, "%s/cgroup.kill", path);
        fd = open(p, O_WRONLY | O_CLOEXEC);
        if (fd >= 0)
                (void)!write(fd, "1", 1);
        (void)harness_wait_until(not_populated, (void *)path, 10000);
        rmdir_tree(path);
}

/* Leftovers of test binaries that died hard: descartes-itest-PID-N whose PID is gone. */
static void sweep_stale(void)
{
        const char *mnt = cgroup2_mount();
        _cleanup_closedir_ DIR *d = mnt ? opendir(mnt) : NULL;
        char p[4096];

        if (!d)
                return;
        for (struct dirent *de; (de = readdir(d));) {
                const char *rest = startswith(de->d_name, "descartes-itest-");
                long pid;

                if (!rest)
                        continue;
                pid = strtol(rest, NULL, 10);
                if (pid <= 0 || (kill((pid_t)pid, 0) == 0 || errno != ESRCH))
                        continue;
                (void)snprintf(p, sizeof p, "%s/%s", mnt, de->d_name);
                cgroup_destroy(p);
        }
}

static int write_config(Harness *h, const char *extra)
{
        _cleanup_free_ char *path = NULL, *text = NULL;

        if (asprintf_safe(&path, "%s/descartesd.conf", h->tmpdir) < 0 ||
            asprintf_safe(&text, "# written by the integration harness\n%s\n", extra ?: "") < 0)
                return -ENOMEM;
        return write_file_replace_at(AT_FDCWD, path, text, strlen(text), 0644, true);
}

static bool control_socket_exists(void *arg)
{
        Harness *h = arg;
        char p[4096];
        struct stat st;

        (void)snprintf(p, sizeof p, "%s/control", h->runtime_dir);
        return stat(p, &st) == 0 && S_ISSOCK(st.st_mode);
}

static int start_daemon(Harness *h)
{
        _cleanup_free_ char *conf = NULL;
        int logfd, r;
        pid_t pid;

        if (asprintf_safe(&conf, "%s/descartesd.conf", h->tmpdir) < 0)
                return -ENOMEM;
        logfd = open(h->daemon_log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (logfd < 0)
                return -errno;
        pid = fork();
        if (pid < 0) {
                r = -errno;
                (void)close(logfd);
                return r;
        }
        if (pid == 0) {
                /* the daemon must not outlive a test binary that dies */
                (void)prctl(PR_SET_PDEATHSIG, SIGTERM);
                (void)dup2(logfd, STDOUT_FILENO);
                (void)dup2(logfd, STDERR_FILENO);
                if (h->nofile > 0) {
                        struct rlimit rl = {h->nofile_soft ?: h->nofile, h->nofile};
                        if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
                                _exit(126);
                }
                execl(harness_descartesd(), "descartesd", "--runtime-dir", h->runtime_dir, "--state-dir",
                      h->state_dir, "--cgroup-root", h->cgroup_root, "--config", conf, "--shim",
                      harness_shim(), "--policy-dir", harness_policy_dir(), "--debug", (char *)NULL);
                _exit(127);
        }
        (void)close(logfd);
        h->daemon_pid = pid;
        h->daemon_pidfd = pidfd_open(pid, 0);
        if (h->daemon_pidfd < 0)
                return -errno;
        /* generous: a loaded CI host (or ASan) can take seconds to start a daemon; a dead one is no faster
         */
        r = harness_wait_until(control_socket_exists, h, 30000);
        if (r < 0) {
                fprintf(stderr,
                        "harness: descartesd did not create its control socket within 30 s; log: %s\n",
                        h->daemon_log);
                return r;
        }
        /* the socket exists before READY; a health round trip proves it serves */
        for (int i = 0; i < 100; i++) {
                if (harness_ctl(h, NULL, 0, NULL, "health", NULL) == 0)
                        return 0;
                sleep_ms(50);
        }
        fprintf(stderr, "harness: descartesd does not answer health; log: %s\n", h->daemon_log);
        return -ETIMEDOUT;
}

int harness_start(const char *extra_config, Harness **ret)
{
        return harness_start_with(&(HarnessOptions){.extra_config = extra_config}, ret);
}

int harness_start_with(const HarnessOptions *o, Harness **ret)
{
        static int counter;
        Harness *h;
        char tmpl[] = "/tmp/descartes-itest-XXXXXX";
        int r;

        if (harness_skip_reason())
                return -EOPNOTSUPP;
        sweep_stale();
        h = calloc(1, sizeof *h);
        if (!h)
                return -ENOMEM;
        h->daemon_pidfd = -EBADF;
        h->nofile = o->nofile;
        h->nofile_soft = o->nofile_soft;
        if (!mkdtemp(tmpl)) {
                free(h);
                return -errno;
        }
        h->tmpdir = strdup(tmpl);
        if (!h->tmpdir || asprintf_safe(&h->runtime_dir, "%s/run", tmpl) < 0 ||
            asprintf_safe(&h->state_dir, "%s/state", tmpl) < 0 ||
            asprintf_safe(&h->control, "ipc://%s/run/control", tmpl) < 0 ||
            asprintf_safe(&h->daemon_log, "%s/descartesd.log", tmpl) < 0 ||
            asprintf_safe(&h->cgroup_root, "%s/descartes-itest-%d-%d", cgroup2_mount(), (int)getpid(),
                          counter++) < 0) {
                harness_stop(h);
                return -ENOMEM;
        }
        if (mkdir(h->cgroup_root, 0755) < 0) {
                r = -errno;
                free(h->cgroup_root);
                h->cgroup_root = NULL; /* not ours: do not remove */
                harness_stop(h);
                return r;
        }
        if (o->state_size > 0) {
                char opts[64];
                (void)snprintf(opts, sizeof opts, "size=%llu,mode=0700", (unsigned long long)o->state_size);
                if (mkdir(h->state_dir, 0700) < 0 ||
                    mount("descartes-itest", h->state_dir, "tmpfs", MS_NOSUID | MS_NODEV, opts) < 0) {
                        r = -errno;
                        harness_stop(h);
                        return r;
                }
                h->state_mounted = true;
        }
        r = write_config(h, o->extra_config);
        if (r >= 0)
                r = start_daemon(h);
        if (r < 0) {
                harness_stop(h);
                return r;
        }
        *ret = h;
        return 0;
}

int harness_kill_daemon(Harness *h, int sig)
{
        siginfo_t si;

        if (h->daemon_pidfd < 0)
                return -ESRCH;
        if (pidfd_send_signal(h->daemon_pidfd, sig, NULL, 0) < 0 && errno != ESRCH)
                return -errno;
        for (int i = 0; i < 1000; i++) {
                struct pollfd p = {.fd = h->daemon_pidfd, .events = POLLIN};
                if (poll(&p, 1, 10) > 0)
                        break;
                if (i == 999)
                        (void)pidfd_send_signal(h->daemon_pidfd, SIGKILL, NULL, 0);
        }
        (void)waitid(P_PIDFD, (id_t)h->daemon_pidfd, &si, WEXITED);
        h->daemon_pidfd = safe_close(h->daemon_pidfd);
        h->daemon_pid = 0;
        return 0;
}

int harness_wait_daemon_exit(Harness *h, unsigned timeout_ms, int *ret_status)
{
        struct pollfd p = {.fd = h->daemon_pidfd, .events = POLLIN};
        siginfo_t si = {};

        if (h->daemon_pidfd < 0)
                return -ESRCH;
        if (poll(&p, 1, (int)timeout_ms) <= 0)
                return -ETIMEDOUT;
        if (waitid(P_PIDFD, (id_t)h->daemon_pidfd, &si, WEXITED) < 0)
                return -errno;
        h->daemon_pidfd = safe_close(h->daemon_pidfd);
        h->daemon_pid = 0;
        if (ret_status)
                *ret_status = si.si_code == CLD_EXITED ? si.si_status : 128 + si.si_status;
        return 0;
}

int harness_restart_daemon(Harness *h)
{
        if (h->daemon_pidfd >= 0)
                return -EBUSY;
        return start_daemon(h);
}

void harness_stop(Harness *h)
{
        if (!h)
                return;
        if (h->daemon_pidfd >= 0)
                (void)harness_kill_daemon(h, SIGTERM);
        if (h->cgroup_root)
                cgroup_destroy(h->cgroup_root);
        if (h->state_mounted)
                (void)umount2(h->state_dir, MNT_DETACH);
        if (h->tmpdir) {
                if (getenv("HARNESS_KEEP_LOGS") && h->daemon_log) {
                        _cleanup_free_ char *log = NULL;
                        if (read_file_at(AT_FDCWD, h->daemon_log, 1 << 20, &log, NULL) >= 0)
                                fprintf(stderr, "---- descartesd log ----\n%s\n----\n", log);
                }
                (void)rm_rf_at(AT_FDCWD, h->tmpdir);
        }
        free(h->tmpdir);
        free(h->runtime_dir);
        free(h->state_dir);
        free(h->cgroup_root);
        free(h->control);
        free(h->daemon_log);
        free(h);
}

int harness_ctl(Harness *h, const char *input, size_t input_len, char **ret_out, ...)
{
        const char *argv[128];
        size_t n = 0;
        int in[2] = {-1, -1}, out[2] = {-1, -1};
        _cleanup_free_ char *buf = NULL;
        size_t size = 0, alloc = 0;
        siginfo_t si = {};
        va_list ap;
        pid_t pid, feeder = 0;

        argv[n++] = "descartesctl";
        argv[n++] = "-H";
        argv[n++] = h->control;
        va_start(ap, ret_out);
        for (const char *a; (a = va_arg(ap, const char *)) && n < ELEMENTSOF(argv) - 1;)
                argv[n++] = a;
        va_end(ap);
        argv[n] = NULL;

        if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0)
                return -errno;
        pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0) {
                (void)dup2(in[0], STDIN_FILENO);
                (void)dup2(out[1], STDOUT_FILENO);
                execv(harness_descartesctl(), (char *const *)argv);
                _exit(127);
        }
        (void)close(in[0]);
        (void)close(out[1]);
        /* feed stdin from a child so a large input cannot deadlock against a full stdout pipe */
        if (input && input_len > 0) {
                feeder = fork();
                if (feeder == 0) {
                        (void)close(out[0]);
                        (void)loop_write(in[1], input, input_len);
                        _exit(0);
                }
                (void)close(in[1]);
        } else
                (void)close(in[1]);
        for (;;) {
                if (size + 65536 + 1 > alloc) {
                        alloc = alloc ? alloc * 2 : 65536 * 2;
                        char *nb = realloc(buf, alloc);
                        if (!nb)
                                break;
                        buf = nb;
                }
                ssize_t k = read(out[0], buf + size, alloc - size - 1);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0)
                        break;
                size += (size_t)k;
        }
        (void)close(out[0]);
        while (waitid(P_PID, (id_t)pid, &si, WEXITED) < 0 && errno == EINTR)
                ;
        /* only our own feeder: waitpid(-1) could reap the daemon (or a re-parented shim) of a restart test
         */
        if (feeder > 0)
                while (waitpid(feeder, NULL, 0) < 0 && errno == EINTR)
                        ;
        if (buf)
                buf[size] = 0;
        if (ret_out)
                *ret_out = buf ? TAKE_PTR(buf) : strdup("");
        if (si.si_code == CLD_EXITED)
                return si.si_status;
        return 128 + si.si_status;
}

int harness_daemon_fd_count(const Harness *h, const char *match)
{
        char path[64], link[PATH_MAX], target[PATH_MAX];
        struct dirent *de;
        DIR *d;
        int n = 0;

        (void)snprintf(path, sizeof path, "/proc/%d/fd", (int)h->daemon_pid);
        d = opendir(path);
        if (!d)
                return -errno;
        while ((de = readdir(d))) {
                ssize_t k;

                if (de->d_name[0] == '.')
                        continue;
                if (!match) {
                        n++;
                        continue;
                }
                (void)snprintf(link, sizeof link, "%s/%s", path, de->d_name);
                k = readlink(link, target, sizeof target - 1);
                if (k < 0)
                        continue; /* closed meanwhile */
                target[k] = 0;
                n += strstr(target, match) != NULL;
        }
        closedir(d);
        return n;
}
