/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <systemd/sd-journal.h>

#include "cleanup.h"
#include "log-journal.h"
#include "string-util.h"

static int add(char ***l, const char *key, const char *value)
{
        _cleanup_free_ char *s = NULL;

        if (!value || !*value)
                return 0;
        if (asprintf(&s, "%s=%s", key, value) < 0)
                return -ENOMEM;
        return strv_extend(l, s);
}

int log_journal_fields(int level, int error, const char *file, int line, const char *func,
                       const char *agent_id, const LogFields *f, const char *message, char ***ret)
{
        _cleanup_strv_free_ char **l = NULL;
        char n[32], e[32];
        int r;

        (void)snprintf(n, sizeof n, "%d", level & LOG_PRIMASK);
        (void)snprintf(e, sizeof e, "%d", -error);
        r = add(&l, "MESSAGE", message);
        if (r >= 0)
                r = add(&l, "PRIORITY", n);
        if (r >= 0 && error < 0)
                r = add(&l, "ERRNO", e);
        if (r >= 0)
                r = add(&l, "AGENT_ID", agent_id ?: f ? f->agent_id : NULL);
        if (r >= 0 && f)
                r = add(&l, "TENANT", f->tenant);
        if (r >= 0 && f)
                r = add(&l, "OP", f->op);
        if (r >= 0 && f)
                r = add(&l, "REQUEST_ID", f->request_id);
        if (r >= 0)
                r = add(&l, "CODE_FILE", file);
        (void)snprintf(n, sizeof n, "%d", line);
        if (r >= 0)
                r = add(&l, "CODE_LINE", n);
        if (r >= 0)
                r = add(&l, "CODE_FUNC", func);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(l);
        return 0;
}

int log_journal_sink(int level, int error, const char *file, int line, const char *func,
                     const char *agent_id, const char *message)
{
        _cleanup_strv_free_ char **l = NULL;
        struct iovec iov[16];
        size_t n = 0;
        int r;

        r = log_journal_fields(level, error, file, line, func, agent_id, log_get_fields(), message, &l);
        if (r < 0)
                return r;
        for (char **s = l; *s && n < sizeof iov / sizeof iov[0]; s++)
                iov[n++] = (struct iovec){.iov_base = *s, .iov_len = strlen(*s)};
        return sd_journal_sendv(iov, (int)n);
}
