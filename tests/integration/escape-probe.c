/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* escape-probe: run inside an agent by test-escape. Each subcommand tries one way out of the sandbox and
 * prints one line "NAME: RESULT", where RESULT is "ok" when the attempt worked or the errno's name
 * (EPERM, EROFS, ...) when it failed; the test asserts the lines. Exit status 0 unless the probe itself
 * could not run. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/keyctl.h>
#include <linux/reboot.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

static void report(const char *name, int r)
{
        if (r >= 0)
                printf("%s: ok\n", name);
        else
                printf("%s: %s\n", name, strerrorname_np(-r) ?: "E?");
        fflush(stdout);
}

static int neg(long r)
{
        return r < 0 ? -errno : 0;
}

static int probe_mount(void)
{
        report("mount", neg(mount("none", "/tmp", "tmpfs", 0, NULL)));
        report("umount", neg(umount2("/proc", MNT_DETACH)));
        return 0;
}

static int probe_unshare(void)
{
        report("unshare-user", neg(unshare(CLONE_NEWUSER)));
        report("unshare-mnt", neg(unshare(CLONE_NEWNS)));
        report("unshare-net", neg(unshare(CLONE_NEWNET)));
        return 0;
}

static int probe_setns(void)
{
        int fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);

        if (fd < 0) {
                report("setns", -errno);
                return 0;
        }
        report("setns", neg(setns(fd, CLONE_NEWNET)));
        close(fd);
        return 0;
}

static int probe_ptrace(void)
{
        pid_t pid = fork();
        int r;

        if (pid < 0)
                return 1;
        if (pid == 0) {
                pause();
                _exit(0);
        }
        r = neg(ptrace(PTRACE_ATTACH, pid, NULL, NULL));
        report("ptrace-child", r);
        if (r >= 0)
                (void)ptrace(PTRACE_DETACH, pid, NULL, NULL);
        (void)kill(pid, SIGKILL);
        (void)waitpid(pid, NULL, 0);
        report("ptrace-init", neg(ptrace(PTRACE_ATTACH, 1, NULL, NULL)));
        return 0;
}

static int probe_modules(void)
{
        int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

        report("init_module", neg(syscall(SYS_init_module, "", (unsigned long)0, "")));
        report("finit_module", neg(syscall(SYS_finit_module, fd, "", 0)));
        close(fd);
        return 0;
}

static int probe_reboot(void)
{
        report("reboot", neg(syscall(SYS_reboot, LINUX_REBOOT_MAGIC1, LINUX_REBOOT_MAGIC2,
                                     LINUX_REBOOT_CMD_CAD_OFF, NULL)));
        return 0;
}

static int probe_bpf(void)
{
        union bpf_attr attr;

        memset(&attr, 0, sizeof attr);
        attr.map_type = BPF_MAP_TYPE_ARRAY;
        attr.key_size = 4;
        attr.value_size = 4;
        attr.max_entries = 1;
        report("bpf", neg(syscall(SYS_bpf, BPF_MAP_CREATE, &attr, sizeof attr)));
        return 0;
}

static int probe_keyctl(void)
{
        report("keyctl", neg(syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0)));
        report("add_key", neg(syscall(SYS_add_key, "user", "descartes-probe", "x", (size_t)1,
                                      KEY_SPEC_SESSION_KEYRING)));
        return 0;
}

static int try_create(const char *path)
{
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

        if (fd < 0)
                return -errno;
        close(fd);
        (void)unlink(path);
        return 0;
}

static int probe_write_system(void)
{
        report("write-usr", try_create("/usr/descartes-escape-probe"));
        report("write-etc", try_create("/etc/descartes-escape-probe"));
        report("write-etc-passwd", neg(open("/etc/passwd", O_WRONLY | O_APPEND | O_CLOEXEC)));
        return 0;
}

static int probe_read(const char *path)
{
        int fd = open(path, O_RDONLY | O_CLOEXEC);

        report("read-other", fd < 0 ? -errno : 0);
        if (fd >= 0)
                close(fd);
        return 0;
}

/* The pids in /proc and the name of pid 1: only the agent's own namespace shows there. */
static int probe_proc(void)
{
        DIR *d = opendir("/proc");
        char comm[64] = "?";
        int n = 0;
        FILE *f;

        if (!d)
                return 1;
        for (struct dirent *de; (de = readdir(d));)
                if (de->d_name[0] >= '0' && de->d_name[0] <= '9')
                        n++;
        closedir(d);
        f = fopen("/proc/1/comm", "re");
        if (f) {
                if (fgets(comm, sizeof comm, f))
                        comm[strcspn(comm, "\n")] = 0;
                fclose(f);
        }
        printf("proc: %d pids, 1=%s\n", n, comm);
        fflush(stdout);
        return 0;
}

static int probe_connect_unix(const char *path)
{
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

        if (fd < 0)
                return 1;
        strncpy(sa.sun_path, path, sizeof sa.sun_path - 1);
        report("connect-control", neg(connect(fd, (struct sockaddr *)&sa, sizeof sa)));
        close(fd);
        return 0;
}

static int probe_net(void)
{
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(80)};
        socklen_t len = sizeof sa;
        int fd, lfd, cfd, afd, r;

        fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return 1;
        (void)inet_pton(AF_INET, "10.255.255.1", &sa.sin_addr);
        report("connect-remote", neg(connect(fd, (struct sockaddr *)&sa, sizeof sa)));
        close(fd);

        /* a listener on loopback, reached from the same sandbox */
        lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        cfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (lfd < 0 || cfd < 0)
                return 1;
        sa = (struct sockaddr_in){.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        r = neg(bind(lfd, (struct sockaddr *)&sa, sizeof sa));
        if (r >= 0)
                r = neg(listen(lfd, 1));
        if (r >= 0)
                r = neg(getsockname(lfd, (struct sockaddr *)&sa, &len));
        if (r >= 0)
                r = neg(connect(cfd, (struct sockaddr *)&sa, sizeof sa));
        if (r >= 0) {
                afd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
                r = afd < 0 ? -errno : 0;
                if (afd >= 0) {
                        r = write(cfd, "x", 1) == 1 ? 0 : -EIO;
                        char c = 0;
                        if (r >= 0 && (read(afd, &c, 1) != 1 || c != 'x'))
                                r = -EIO;
                        close(afd);
                }
        }
        report("loopback", r);
        close(lfd);
        close(cfd);
        return 0;
}

static int probe_euid(void)
{
        printf("euid: %u uid: %u\n", (unsigned)geteuid(), (unsigned)getuid());
        fflush(stdout);
        return 0;
}

/* Runs a setuid-root binary (a copy of this probe) and lets it print its euid. */
static int probe_setuid(const char *path)
{
        char *const argv[] = {(char *)path, (char *)"euid", NULL};
        pid_t pid = fork();
        int status;

        if (pid < 0)
                return 1;
        if (pid == 0) {
                execv(path, argv);
                printf("setuid-exec: %s\n", strerrorname_np(errno) ?: "E?");
                _exit(1);
        }
        if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
                return 1;
        return 0;
}

/* Finds the agent's own cgroup in any cgroup2 mount it can see (the one whose cgroup.procs lists us) and
 * tries to write its limit files. */
static int find_own_cgroup(const char *dir, int depth, char *ret, size_t n)
{
        char path[4096], buf[4096];
        DIR *d;
        int fd, found = 0;
        ssize_t k;

        (void)snprintf(path, sizeof path, "%s/cgroup.procs", dir);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd >= 0) {
                k = read(fd, buf, sizeof buf - 1);
                close(fd);
                if (k > 0) {
                        buf[k] = 0;
                        for (char *p = buf; p && *p;) {
                                if (atoi(p) == (int)getpid()) {
                                        (void)snprintf(ret, n, "%s", dir);
                                        return 1;
                                }
                                p = strchr(p, '\n');
                                if (p)
                                        p++;
                        }
                }
        }
        if (depth == 0)
                return 0;
        d = opendir(dir);
        if (!d)
                return 0;
        for (struct dirent *de; !found && (de = readdir(d));) {
                if (de->d_type != DT_DIR || de->d_name[0] == '.')
                        continue;
                (void)snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
                found = find_own_cgroup(path, depth - 1, ret, n);
        }
        closedir(d);
        return found;
}

static int write_attr(const char *dir, const char *file, const char *value)
{
        char path[4096];
        int fd, r = 0;

        (void)snprintf(path, sizeof path, "%s/%s", dir, file);
        fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (write(fd, value, strlen(value)) < 0)
                r = -errno;
        close(fd);
        return r;
}

static int probe_cgroup(void)
{
        FILE *f = fopen("/proc/self/mountinfo", "re");
        char line[4096], own[4096] = "";
        int mounts = 0;

        if (!f)
                return 1;
        while (fgets(line, sizeof line, f) && !own[0]) {
                char mnt[4096];
                if (!strstr(line, " - cgroup2 "))
                        continue;
                if (sscanf(line, "%*s %*s %*s %*s %4095s", mnt) != 1)
                        continue;
                mounts++;
                (void)find_own_cgroup(mnt, 6, own, sizeof own);
        }
        fclose(f);
        report("cgroup-mount", neg(mount("none", "/tmp", "cgroup2", 0, NULL)));
        if (!own[0]) {
                /* where it would be: the usual mount point, empty in a fresh sysfs */
                printf("cgroup: %s\n", mounts ? "own cgroup not visible" : "no cgroup2 mount");
                (void)snprintf(own, sizeof own, "/sys/fs/cgroup");
        } else
                printf("cgroup: visible\n");
        fflush(stdout);
        report("cgroup-pids.max", write_attr(own, "pids.max", "max"));
        report("cgroup-memory.max", write_attr(own, "memory.max", "max"));
        report("cgroup-procs", write_attr(own, "cgroup.procs", "0"));
        report("cgroup-freeze", write_attr(own, "cgroup.freeze", "0"));
        return 0;
}

static int probe_kill(const char *daemon_pid)
{
        char comm[64] = "";
        FILE *f;

        report("kill-shim", neg(kill(1, SIGKILL)));
        report("kill-shim-term", neg(kill(1, SIGTERM)));
        report("kill-daemon", neg(kill((pid_t)atoi(daemon_pid), SIGKILL)));
        f = fopen("/proc/1/comm", "re");
        if (f) {
                if (fgets(comm, sizeof comm, f))
                        comm[strcspn(comm, "\n")] = 0;
                fclose(f);
        }
        printf("shim-after-kill: %s\n", comm[0] ? comm : "gone");
        fflush(stdout);
        return 0;
}

/* A signal to another agent's process, by its pid in the host. */
static int probe_signal(const char *pid)
{
        report("signal-other", neg(kill((pid_t)atoi(pid), SIGKILL)));
        return 0;
}

/* AF_VSOCK (40) reaches the hypervisor and the host's guests whatever the network namespace. */
static int probe_vsock(void)
{
        int fd = socket(40, SOCK_STREAM | SOCK_CLOEXEC, 0);

        report("vsock", fd < 0 ? -errno : 0);
        if (fd >= 0)
                close(fd);
        return 0;
}

/* What Docker's profile refuses (PER_BSD, ADDR_NO_RANDOMIZE) and what it allows (the query). */
static int probe_personality(void)
{
        report("personality-bsd", neg(syscall(SYS_personality, (unsigned long)PER_BSD)));
        report("personality-norandom", neg(syscall(SYS_personality, (unsigned long)ADDR_NO_RANDOMIZE)));
        report("personality-query", neg(syscall(SYS_personality, 0xffffffffUL)));
        return 0;
}

static int probe_write_file(const char *path)
{
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

        if (fd < 0 || write(fd, "secret\n", 7) != 7) {
                report("write-file", -errno);
                return 1;
        }
        close(fd);
        report("write-file", 0);
        return 0;
}

int main(int argc, char *argv[])
{
        const char *cmd = argc > 1 ? argv[1] : "";
        const char *arg = argc > 2 ? argv[2] : NULL;

        setvbuf(stdout, NULL, _IOLBF, 0);
        if (strcmp(cmd, "mount") == 0)
                return probe_mount();
        if (strcmp(cmd, "unshare") == 0)
                return probe_unshare();
        if (strcmp(cmd, "setns") == 0)
                return probe_setns();
        if (strcmp(cmd, "ptrace") == 0)
                return probe_ptrace();
        if (strcmp(cmd, "modules") == 0)
                return probe_modules();
        if (strcmp(cmd, "reboot") == 0)
                return probe_reboot();
        if (strcmp(cmd, "bpf") == 0)
                return probe_bpf();
        if (strcmp(cmd, "keyctl") == 0)
                return probe_keyctl();
        if (strcmp(cmd, "write-system") == 0)
                return probe_write_system();
        if (strcmp(cmd, "proc") == 0)
                return probe_proc();
        if (strcmp(cmd, "net") == 0)
                return probe_net();
        if (strcmp(cmd, "euid") == 0)
                return probe_euid();
        if (strcmp(cmd, "cgroup") == 0)
                return probe_cgroup();
        if (arg && strcmp(cmd, "read") == 0)
                return probe_read(arg);
        if (arg && strcmp(cmd, "connect-unix") == 0)
                return probe_connect_unix(arg);
        if (arg && strcmp(cmd, "setuid") == 0)
                return probe_setuid(arg);
        if (arg && strcmp(cmd, "kill") == 0)
                return probe_kill(arg);
        if (strcmp(cmd, "vsock") == 0)
                return probe_vsock();
        if (strcmp(cmd, "personality") == 0)
                return probe_personality();
        if (arg && strcmp(cmd, "signal") == 0)
                return probe_signal(arg);
        if (arg && strcmp(cmd, "write-file") == 0)
                return probe_write_file(arg);
        fprintf(stderr, "escape-probe: unknown probe \"%s\"\n", cmd);
        return 2;
}
