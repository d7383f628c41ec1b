/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The model's helpers that are not codecs: signal names, string maps, copies, reply builders, topics. The
 * enum names and the frees live with the field tables (proto-types.c, proto-ops.c). */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "analyzer.h"
#include "proto.h"
#include "string-util.h"

int proto_signal_from_string(const char *s)
{
        const char *name = s;

        if (!s || !*s)
                return -EINVAL;
        if (strncasecmp(name, "SIG", 3) == 0)
                name += 3;
        if (!*name)
                return -EINVAL;
        /* Only the classic signals by name; real-time ones travel as numbers. */
        for (int sig = 1; sig < SIGRTMIN && sig < _NSIG; sig++) {
                const char *abbrev = sigabbrev_np(sig);
                if (abbrev && strcasecmp(abbrev, name) == 0)
                        return sig;
        }
        return -EINVAL;
}

/* ---- maps and copies ---- */

int proto_str_map_add(ProtoStrMap *m, const char *key, const char *value)
{
        _cleanup_free_ char *k = NULL, *v = NULL;
        ProtoStrPair *p;

        if (!m || !key || !value)
                return -EINVAL;
        k = strdup(key);
        v = strdup(value);
        if (!k || !v)
                return -ENOMEM;
        p = reallocarray(m->pairs, m->n_pairs + 1, sizeof(ProtoStrPair));
        if (!p)
                return -ENOMEM;
        m->pairs = p;
        m->pairs[m->n_pairs++] = (ProtoStrPair){.key = TAKE_PTR(k), .value = TAKE_PTR(v)};
        return 0;
}

const char *proto_str_map_get(const ProtoStrMap *m, const char *key)
{
        if (!m || !key)
                return NULL;
        for (size_t i = 0; i < m->n_pairs; i++)
                if (streq(m->pairs[i].key, key))
                        return m->pairs[i].value;
        return NULL;
}

static int strdup_opt(const char *s, char **ret)
{
        if (!s) {
                *ret = NULL;
                return 0;
        }
        *ret = strdup(s);
        return *ret ? 0 : -ENOMEM;
}

int proto_agent_info_copy(const ProtoAgentInfo *i, ProtoAgentInfo *ret)
{
        _cleanup_(proto_agent_info_done) ProtoAgentInfo c = {};
        int r;

        if (!i || !ret)
                return -EINVAL;
        c = *i;
        c.id = c.name = c.cgroup = NULL;
        c.labels = (ProtoStrMap){};
        c.argv = NULL;
        c.n_argv = 0;
        c.health_check.cmd = NULL;
        c.health_check.n_cmd = 0;
        c.health_last.reason = NULL;
        c.health_last.output = (ProtoBytes){};

        r = strdup_opt(i->id, &c.id);
        if (r < 0)
                return r;
        r = strdup_opt(i->name, &c.name);
        if (r < 0)
                return r;
        r = strdup_opt(i->cgroup, &c.cgroup);
        if (r < 0)
                return r;
        for (size_t k = 0; k < i->labels.n_pairs; k++) {
                r = proto_str_map_add(&c.labels, i->labels.pairs[k].key, i->labels.pairs[k].value);
                if (r < 0)
                        return r;
        }
        if (i->argv) {
                r = strv_copy(i->argv, &c.argv);
                if (r < 0)
                        return r;
                c.n_argv = strv_length(c.argv);
        }
        if (i->health_check.cmd) {
                r = strv_copy(i->health_check.cmd, &c.health_check.cmd);
                if (r < 0)
                        return r;
                c.health_check.n_cmd = strv_length(c.health_check.cmd);
        }
        r = strdup_opt(i->health_last.reason, &c.health_last.reason);
        if (r < 0)
                return r;
        if (i->health_last.output.data) {
                c.health_last.output.data = malloc(i->health_last.output.size + 1);
                if (!c.health_last.output.data)
                        return -ENOMEM;
                memcpy(c.health_last.output.data, i->health_last.output.data, i->health_last.output.size);
                c.health_last.output.size = i->health_last.output.size;
        }
        /* moved whole into *ret: gcc 12's analyzer loses the pointers of a nested struct stored through a
         * parameter and reports them leaked */
        *ret = c;
        ANALYZER_IGNORE_LEAK_BEGIN
        c = (ProtoAgentInfo){};
        ANALYZER_IGNORE_END
        return 0;
}

/* ---- reply builders ---- */

int proto_reply_init_ok(ProtoReply *r, const char *id, ProtoOp op)
{
        char *d;

        if (!r || op < 0 || op >= _PROTO_OP_MAX)
                return -EINVAL;
        d = strdup(id ?: "");
        if (!d)
                return -ENOMEM;
        *r = (ProtoReply){.id = d, .op = op, .ok = true};
        return 0;
}

int proto_reply_init_error(ProtoReply *r, const char *id, ProtoOp op, ProtoErrorCode code, const char *fmt,
                           ...)
{
        _cleanup_free_ char *d = NULL, *msg = NULL;
        va_list ap;
        int n;

        if (!r || code < 0 || code >= _PROTO_ERROR_MAX || !fmt)
                return -EINVAL;
        d = strdup(id ?: "");
        if (!d)
                return -ENOMEM;
        va_start(ap, fmt);
        n = vasprintf(&msg, fmt, ap);
        va_end(ap);
        if (n < 0)
                return -ENOMEM;
        if ((size_t)n > PROTO_ERROR_MSG_MAX)
                msg[PROTO_ERROR_MSG_MAX] = 0;
        *r = (ProtoReply){
                .id = TAKE_PTR(d),
                .op = op,
                .ok = false,
                .error_code = code,
                .error_msg = TAKE_PTR(msg),
        };
        return 0;
}

/* ---- topics ---- */

static bool agent_id_topic_safe(const char *id)
{
        size_t n;

        if (!id)
                return false;
        n = strlen(id);
        return n > 0 && n <= PROTO_AGENT_ID_MAX && !strchr(id, '.');
}

int proto_event_topic(const char *agent_id, ProtoEventKind kind, char **ret)
{
        const char *k = proto_event_kind_to_string(kind);

        if (!k || !ret)
                return -EINVAL;
        if (!agent_id)
                return asprintf_safe(ret, "host.%s", k);
        if (!agent_id_topic_safe(agent_id))
                return -EINVAL;
        return asprintf_safe(ret, "agent.%s.%s", agent_id, k);
}

int proto_event_topic_agent_prefix(const char *agent_id, char **ret)
{
        if (!ret || !agent_id_topic_safe(agent_id))
                return -EINVAL;
        return asprintf_safe(ret, "agent.%s.", agent_id);
}
