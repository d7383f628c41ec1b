/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <net/if.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "cleanup.h"
#include "netns.h"

int netns_interface_up(const char *ifname)
{
        _cleanup_close_ int fd = -EBADF;
        struct ifreq ifr = {};
        size_t n;

        if (!ifname)
                return -EINVAL;
        n = strlen(ifname);
        if (n == 0 || n >= sizeof ifr.ifr_name)
                return -EINVAL;
        memcpy(ifr.ifr_name, ifname, n + 1);

        fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
                return -errno;
        if (ifr.ifr_flags & IFF_UP)
                return 0;
        ifr.ifr_flags |= IFF_UP;
        if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
                return -errno;
        return 0;
}

int netns_loopback_up(void)
{
        return netns_interface_up("lo");
}
