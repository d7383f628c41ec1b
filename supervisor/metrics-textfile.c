/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "log.h"
#include "manager.h"
#include "metrics-textfile.h"
#include "ops.h"
#include "time-util.h"

static int write_all(int fd, const char *p, size_t n)
{
        while (n > 0) {
                ssize_t k = write(fd, p, n);

                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                p += k;
                n -= (size_t)k;
        }
        return 0;
}

static int textfile_write(Manager *m)
{
        _cleanup_free_ char *text = NULL, *tmp = NULL;
        int fd, r;

        r = ops_metrics_text(m, 0, true, &text);
        if (r < 0)
                return r;
        if (asprintf(&tmp, "%s.tmp", m->config.metrics_textfile) < 0)
                return -ENOMEM;
        /* 0644: node_exporter runs as its own user */
        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0)
                return -errno;
        r = write_all(fd, text, strlen(text));
        if (close(fd) < 0 && r >= 0)
                r = -errno;
        if (r >= 0 && rename(tmp, m->config.metrics_textfile) < 0)
                r = -errno;
        if (r < 0)
                (void)unlink(tmp);
        return r;
}

static void textfile_update(Manager *m)
{
        int r = textfile_write(m);

        /* once per run of failures, not every interval */
        if (r < 0 && !m->metrics_textfile_failing)
                log_warning_errno(r, "Cannot write the metrics textfile %s: %m", m->config.metrics_textfile);
        else if (r >= 0 && m->metrics_textfile_failing)
                log_info("Wrote the metrics textfile %s again.", m->config.metrics_textfile);
        m->metrics_textfile_failing = r < 0;
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
        Manager *m = userdata;
        int r;

        textfile_update(m);
        r = sd_event_source_set_time(s, usec + m->config.metrics_interval_usec);
        if (r >= 0)
                r = sd_event_source_set_enabled(s, SD_EVENT_ON);
        if (r < 0)
                log_warning_errno(r, "Cannot re-arm the metrics textfile timer: %m");
        return 0;
}

int metrics_textfile_start(Manager *m)
{
        uint64_t now;
        int r;

        if (!m->config.metrics_textfile)
                return 0;
        if (m->config.metrics_interval_usec < USEC_PER_SEC)
                return log_error_errno(-EINVAL, "metrics_interval must be at least 1s.");
        textfile_update(m);
        r = sd_event_now(m->event, CLOCK_MONOTONIC, &now);
        if (r < 0)
                return r;
        r = sd_event_add_time(m->event, &m->metrics_timer, CLOCK_MONOTONIC,
                              now + m->config.metrics_interval_usec, 100 * USEC_PER_MSEC, on_timer, m);
        if (r < 0)
                return r;
        (void)sd_event_source_set_description(m->metrics_timer, "metrics-textfile");
        return 0;
}

void metrics_textfile_stop(Manager *m)
{
        m->metrics_timer = sd_event_source_disable_unref(m->metrics_timer);
}
