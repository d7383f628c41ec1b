/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "ctl-progress.h"

static size_t position, count;
static bool shown;

void ctl_progress_set_position(size_t index, size_t total)
{
        position = index;
        count = total;
}

void ctl_progress_format(char *buf, size_t n, const char *what, const char *id, size_t index, size_t total,
                         unsigned width)
{
        size_t max;

        if (total > 1)
                (void)snprintf(buf, n, "descartesctl: %s %s (%zu/%zu)...", what, id, index + 1, total);
        else
                (void)snprintf(buf, n, "descartesctl: %s %s...", what, id);
        /* one column short of the width: a line that wraps could not be rewritten in place */
        max = (width < 20 ? 20 : width) - 1;
        if (n > 0 && strlen(buf) > max && max < n)
                buf[max] = 0;
}

void ctl_progress_show(const char *what, const char *id)
{
        struct winsize ws = {};
        char line[512];

        if (!isatty(STDERR_FILENO))
                return;
        if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) < 0 || ws.ws_col == 0)
                ws.ws_col = 80;
        ctl_progress_format(line, sizeof line, what, id, position, count, ws.ws_col);
        (void)fprintf(stderr, "\r\033[K%s", line);
        (void)fflush(stderr);
        shown = true;
}

void ctl_progress_clear(void)
{
        if (!shown)
                return;
        (void)fputs("\r\033[K", stderr);
        (void)fflush(stderr);
        shown = false;
}
