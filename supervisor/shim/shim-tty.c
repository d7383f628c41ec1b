/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "cleanup.h"
#include "fd-util.h"
#include "shim-contract.h"
#include "shim-tty.h"

int shim_tty_resize(int master, uint32_t rows, uint32_t cols)
{
        struct winsize ws = {.ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols};

        if (rows == 0 || cols == 0 || rows > SHIM_TTY_SIZE_MAX || cols > SHIM_TTY_SIZE_MAX)
                return -EINVAL;
        return ioctl(master, TIOCSWINSZ, &ws) < 0 ? -errno : 0;
}

int shim_tty_open(uid_t uid, gid_t gid, int *ret_master, int *ret_slave)
{
        _cleanup_close_ int master = -EBADF, slave = -EBADF;
        int unlock = 0, r;

        /* /dev/ptmx of the view we are in: the agent's devpts, so that its /dev/pts has the slave */
        master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
        if (master < 0)
                return -errno;
        if (ioctl(master, TIOCSPTLCK, &unlock) < 0)
                return -errno;
        /* the slave by the master itself, not by a path another mount could shadow */
        slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (slave < 0)
                return -errno;
        if (uid != (uid_t)-1 && (fchown(slave, uid, gid) < 0 || fchmod(slave, 0620) < 0))
                return -errno;
        r = shim_tty_resize(master, 24, 80);
        if (r < 0)
                return r;
        *ret_master = TAKE_FD(master);
        *ret_slave = TAKE_FD(slave);
        return 0;
}

int shim_tty_make_controlling(void)
{
        return ioctl(STDIN_FILENO, TIOCSCTTY, 0) < 0 ? -errno : 0;
}
