/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "confine-test-util.h"
#include "netns.h"
#include "string-util.h"

static int connect_to(const char *ip, uint16_t port)
{
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
        int fd, r;

        if (inet_pton(AF_INET, ip, &sa.sin_addr) != 1)
                return -EINVAL;
        fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        r = connect(fd, (struct sockaddr *)&sa, sizeof sa);
        r = r < 0 ? -errno : 0;
        (void)safe_close(fd);
        return r;
}

static const char *check_loopback_only(void *userdata)
{
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        socklen_t l = sizeof sa;
        struct if_nameindex *ifs;
        int lfd, cfd, afd;

        /* A fresh namespace: lo exists but is down, so even loopback is unreachable. */
        CHECK(connect_to("127.0.0.1", 9) == -ENETUNREACH);
        CHECK(netns_loopback_up() == 0);
        CHECK(netns_loopback_up() == 0); /* idempotent */

        CHECK((lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) >= 0);
        CHECK(bind(lfd, (struct sockaddr *)&sa, sizeof sa) == 0 && listen(lfd, 1) == 0);
        CHECK(getsockname(lfd, (struct sockaddr *)&sa, &l) == 0);
        CHECK((cfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) >= 0);
        CHECK(connect(cfd, (struct sockaddr *)&sa, sizeof sa) == 0);
        CHECK((afd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) >= 0);
        CHECK(write(cfd, "ping", 4) == 4);
        char buf[8] = {};
        CHECK(read(afd, buf, sizeof buf) == 4 && memcmp(buf, "ping", 4) == 0);
        close(afd);
        close(cfd);
        close(lfd);

        /* No route anywhere else: a local failure, no packet leaves. */
        CHECK(connect_to("10.255.255.1", 80) == -ENETUNREACH);

        /* And lo is the only interface. */
        CHECK((ifs = if_nameindex()) != NULL);
        bool only_lo = ifs[0].if_name && streq(ifs[0].if_name, "lo") && !ifs[1].if_name;
        if_freenameindex(ifs);
        CHECK(only_lo);

        CHECK(netns_interface_up("descartes-none0") == -ENODEV);
        CHECK(netns_interface_up("") == -EINVAL);
        CHECK(netns_interface_up("0123456789abcdefX") == -EINVAL);
        return NULL;
}

static void test_loopback_only(void **state)
{
        if (geteuid() != 0) {
                print_message("SKIP: a network namespace needs root\n");
                skip();
        }
        assert_child_ok(run_in_child(CLONE_NEWNET, check_loopback_only, NULL));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_loopback_only),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
