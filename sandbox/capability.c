/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <linux/securebits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "capability.h"
#include "cleanup.h"

static void cap_freep(cap_t *c)
{
        if (*c)
                (void)cap_free(*c);
}

int capability_last_cap(unsigned *ret)
{
        char buf[16];
        ssize_t n;
        int fd;

        fd = open("/proc/sys/kernel/cap_last_cap", O_RDONLY | O_CLOEXEC);
        if (fd >= 0) {
                n = read(fd, buf, sizeof buf - 1);
                (void)safe_close(fd);
                if (n > 0) {
                        unsigned v = 0;
                        ssize_t i;

                        buf[n] = '\0';
                        for (i = 0; i < n && buf[i] >= '0' && buf[i] <= '9' && v < 1000; i++)
                                v = v * 10 + (unsigned)(buf[i] - '0');
                        if (i > 0 && (i == n || buf[i] == '\n') && v < 1000) {
                                *ret = v;
                                return 0;
                        }
                }
        }

        /* No /proc (or a garbled one): libcap probes the bounding set with PR_CAPBSET_READ. */
        int bits = cap_max_bits();
        if (bits <= 0)
                return -EIO;
        *ret = (unsigned)bits - 1;
        return 0;
}

int capability_bounding_drop_all(unsigned last_cap)
{
        for (unsigned c = 0; c <= last_cap; c++) {
                int r = prctl(PR_CAPBSET_READ, (unsigned long)c, 0, 0, 0);
                if (r < 0) {
                        if (errno == EINVAL) /* beyond what this kernel knows */
                                break;
                        return -errno;
                }
                if (r == 0)
                        continue;
                if (prctl(PR_CAPBSET_DROP, (unsigned long)c, 0, 0, 0) < 0)
                        return -errno;
        }
        return 0;
}

int capability_ambient_clear(void)
{
        if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
                return errno == EINVAL ? 0 : -errno; /* before Linux 4.3 there is no ambient set to clear */
        return 0;
}

int capability_lock_securebits(void)
{
        const unsigned long bits = SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_KEEP_CAPS_LOCKED |
                                   SECBIT_NO_CAP_AMBIENT_RAISE | SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED;
        int cur;

        cur = prctl(PR_GET_SECUREBITS, 0, 0, 0, 0);
        if (cur < 0)
                return -errno;
        if (((unsigned long)cur & bits) == bits && !((unsigned long)cur & SECBIT_KEEP_CAPS))
                return 0;
        if (prctl(PR_SET_SECUREBITS, ((unsigned long)cur & ~SECBIT_KEEP_CAPS) | bits, 0, 0, 0) < 0)
                return -errno;
        return 0;
}

static int capability_proc_sets_empty(void)
{
        _cleanup_(cap_freep) cap_t cur = NULL, empty = NULL;
        int r;

        cur = cap_get_proc();
        if (!cur)
                return -errno;
        empty = cap_init();
        if (!empty)
                return -ENOMEM;
        r = cap_compare(cur, empty);
        if (r < 0)
                return -EIO;
        return r == 0;
}

int capability_clear_all(void)
{
        _cleanup_(cap_freep) cap_t caps = NULL;
        int r;

        caps = cap_init(); /* all three sets empty */
        if (!caps)
                return -ENOMEM;
        if (cap_set_proc(caps) < 0)
                return -errno;

        r = capability_proc_sets_empty();
        if (r < 0)
                return r;
        return r ? 0 : -EPERM;
}

int capability_set_no_new_privs(void)
{
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                return -errno;
        if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
                return -EPERM;
        return 0;
}

int capability_all_empty(unsigned last_cap)
{
        int r;

        r = capability_proc_sets_empty();
        if (r <= 0)
                return r;

        for (unsigned c = 0; c <= last_cap; c++) {
                r = prctl(PR_CAPBSET_READ, (unsigned long)c, 0, 0, 0);
                if (r < 0 && errno == EINVAL)
                        break;
                if (r < 0)
                        return -errno;
                if (r > 0)
                        return 0;
                r = prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, (unsigned long)c, 0, 0);
                if (r > 0)
                        return 0;
        }
        return 1;
}
