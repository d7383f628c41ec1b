/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent.h"
#include "audit-log.h"
#include "busy-hold.h"
#include "connection-limit.h"
#include "control.h"
#include "log.h"
#include "ops.h"
#include "request-journal.h"
#include "string-util.h"
#include "tenant-ledger.h"
#include "time-util.h"
#include "zap.h"

static void send_to(Manager *m, const Envelope *env, const void *body, size_t size)
{
        const void *parts[ENVELOPE_FRAMES_MAX + 1];
        size_t sizes[ENVELOPE_FRAMES_MAX + 1];
        int r;

        for (size_t i = 0; i < env->n_frames; i++) {
                parts[i] = env->frames[i];
                sizes[i] = env->sizes[i];
        }
        parts[env->n_frames] = body;
        sizes[env->n_frames] = size;
        r = zmq_send_parts(m->control, parts, sizes, env->n_frames + 1);
        if (r < 0) {
                m->stats.send_failures++;
                log_debug_errno(r, "Failed to send a reply: %m");
        }
}

bool control_is_admin(Manager *m, uid_t uid)
{
        char pwbuf[4096], grbuf[16384];
        struct passwd pw, *pwp = NULL;
        struct group gr, *grp = NULL;

        if (uid == 0)
                return true;
        if (!m->config.admin_group || !*m->config.admin_group)
                return false;
        if (getgrnam_r(m->config.admin_group, &gr, grbuf, sizeof grbuf, &grp) != 0 || !grp)
                return false;
        if (getpwuid_r(uid, &pw, pwbuf, sizeof pwbuf, &pwp) != 0 || !pwp)
                return false;
        if (pwp->pw_gid == grp->gr_gid)
                return true;
        for (char **mem = grp->gr_mem; mem && *mem; mem++)
                if (streq(*mem, pwp->pw_name))
                        return true;
        return false;
}

/* Unparks the call and unlinks it from the manager and its timer; the call itself stays allocated. */
static void call_detach(Call *c)
{
        Manager *m = c->manager;

        c->agent = NULL;
        if (c->prev)
                c->prev->next = c->next;
        else if (m->calls == c)
                m->calls = c->next;
        if (c->next)
                c->next->prev = c->prev;
        c->next = c->prev = NULL;
        c->timeout = sd_event_source_disable_unref(c->timeout);
        c->wait = CALL_WAIT_NONE;
}

static void call_destroy(Call *c)
{
        proto_request_done(&c->request);
        envelope_free(c->envelope);
        free(c);
}

void call_free(Call *c)
{
        if (!c)
                return;
        call_detach(c);
        if (c->entry) {
                /* a pending entry would otherwise hold its slot (and its waiters) for ever */
                request_cache_remove(c->manager->request_cache, c->entry);
                c->entry = NULL;
        }
        c->answered = true;
        if (!c->dispatching)
                call_destroy(c);
}

void call_dispatch(Call *c)
{
        Manager *m = c->manager;
        char tenant[16];
        /* the handler's log lines carry the request's fields under journald (log-journal.h) */
        LogFields fields = {
                .tenant = tenant, .op = proto_op_to_string(c->request.op), .request_id = c->request.id};
        const LogFields *saved;

        /* the caller's own pending requests, this one included */
        if (proto_op_info(c->request.op)->parks && c->entry &&
            request_cache_uid_pending(m->request_cache, c->uid) > m->config.max_requests_per_user) {
                m->stats.refused_busy++;
                call_reply_error(c, PROTO_ERROR_BUSY,
                                 "%llu of your requests are waiting already (max_requests_per_user): try "
                                 "again once some are answered",
                                 (unsigned long long)m->config.max_requests_per_user);
                return;
        }
        if (c->entry && request_journal_op_changes_state(c->request.op))
                request_cache_journal_begin(m->request_cache, c->entry, m->config.request_ttl_usec);
        c->dispatching = true;
        (void)snprintf(tenant, sizeof tenant, "%u", (unsigned)c->uid);
        saved = log_set_fields(&fields);
        (void)ops_dispatch(c);
        (void)log_set_fields(saved);
        c->dispatching = false;
        if (c->answered) {
                call_destroy(c);
                return;
        }
        if (c->wait == CALL_WAIT_NONE || !c->agent) {
                log_error("BUG: the %s handler neither answered nor parked request %s",
                          proto_op_to_string(c->request.op) ?: "?", c->request.id);
                call_reply_error(c, PROTO_ERROR_INTERNAL, "the request was not answered (a daemon bug)");
        }
}

static int encode_or_internal(ProtoReply *reply, void **ret_buf, size_t *ret_len)
{
        int r = proto_reply_encode(reply, ret_buf, ret_len);

        if (r >= 0)
                return 0;
        log_warning_errno(r, "Failed to encode a %s reply: %m", proto_op_to_string(reply->op) ?: "?");
        {
                _cleanup_(proto_reply_done) ProtoReply e = {};
                r = proto_reply_init_error(&e, reply->id, reply->op, PROTO_ERROR_INTERNAL,
                                           "the reply could not be encoded: %s", strerror(-r));
                if (r < 0)
                        return r;
                reply->ok = false;
                reply->error_code = PROTO_ERROR_INTERNAL;
                return proto_reply_encode(&e, ret_buf, ret_len);
        }
}

int call_reply(Call *c, ProtoReply *reply)
{
        Manager *m = c->manager;
        void *buf = NULL;
        size_t len = 0;
        bool keep;
        int r;

        if (c->answered) {
                log_error("BUG: request %s (%s) answered twice; the second answer is dropped", c->request.id,
                          proto_op_to_string(c->request.op) ?: "?");
                proto_reply_done(reply);
                return 0;
        }
        call_detach(c);
        r = encode_or_internal(reply, &buf, &len);
        if (r < 0) {
                log_error_errno(r, "Cannot answer request %s: %m", c->request.id);
                proto_reply_done(reply);
                call_free(c);
                return 0;
        }
        if (!reply->ok && reply->error_code >= 0 && reply->error_code < _PROTO_ERROR_MAX)
                m->stats.errors[reply->error_code]++;
        if (!reply->ok && reply->error_code == PROTO_ERROR_PERMISSION_DENIED)
                tenant_ledger_count(m->tenant_ledger, c->uid, TENANT_DENIED_PERMISSION);
        else if (!reply->ok && reply->error_code == PROTO_ERROR_NOT_FOUND)
                tenant_ledger_count(m->tenant_ledger, c->uid, TENANT_DENIED_NOT_FOUND);
        if (c->request.op >= 0 && c->request.op < _PROTO_OP_MAX && c->arrived_usec > 0)
                metrics_histogram_observe(&m->stats.latency[c->request.op],
                                          now_usec(CLOCK_MONOTONIC) - c->arrived_usec);
        if (audit_wants(c))
                audit_log_reply(c, reply);
        /* `busy` means "nothing was done, try again": a resend with the same id must run, not replay it */
        keep = reply->ok || reply->error_code != PROTO_ERROR_BUSY;
        proto_reply_done(reply);

        if (c->entry) {
                Envelope *env;
                uint64_t expires = now_usec(CLOCK_MONOTONIC) + m->config.request_ttl_usec;

                /* on disk before anyone sees it: a resend after a crash gets this reply */
                if (keep)
                        request_cache_journal_done(m->request_cache, c->entry, buf, len, expires);
                while ((env = cache_entry_pop_waiter(c->entry))) {
                        send_to(m, env, buf, len);
                        envelope_free(env);
                }
                if (keep)
                        request_cache_complete(m->request_cache, c->entry, buf, len, expires);
                else {
                        request_cache_remove(m->request_cache, c->entry);
                        free(buf);
                }
                c->entry = NULL;
        } else {
                if (c->envelope)
                        send_to(m, c->envelope, buf, len);
                free(buf);
        }
        c->answered = true;
        if (!c->dispatching)
                call_destroy(c);
        return 0;
}

int call_reply_error(Call *c, ProtoErrorCode code, const char *fmt, ...)
{
        ProtoReply reply = {};
        char msg[PROTO_ERROR_MSG_MAX + 1];
        va_list ap;
        int r;

        va_start(ap, fmt);
        (void)vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        r = proto_reply_init_error(&reply, c->request.id, c->request.op, code, "%s", msg);
        if (r >= 0 && c->created_agent[0] && !(reply.error_agent = strdup(c->created_agent)))
                r = -ENOMEM;
        if (r < 0) {
                proto_reply_done(&reply);
                log_oom();
                call_free(c);
                return 0;
        }
        call_reply(c, &reply);
        return 0;
}

int call_reply_failure(Call *c, const Failure *f)
{
        return call_reply_error(c, f->code, "%s", f->msg);
}

int call_reply_agent(Call *c, Agent *a)
{
        ProtoReply reply = {};
        int r;

        r = proto_reply_init_ok(&reply, c->request.id, c->request.op);
        if (r >= 0)
                r = agent_fill_info(a, true, &reply.result.agent.agent);
        if (r < 0) {
                proto_reply_done(&reply);
                call_reply_error(c, PROTO_ERROR_INTERNAL, "cannot describe agent %s: %s", a->info.id,
                                 strerror(-r));
                return 0;
        }
        call_reply(c, &reply);
        return 0;
}

/* The resend of a request that was being performed when the last daemon stopped (request-cache.h). */
static void call_answer_interrupted(Call *c)
{
        const char *agent_id = cache_entry_agent(c->entry);
        Agent *a;

        if (c->request.op == PROTO_OP_SPAWN) {
                a = agent_id ? agent_find(c->manager, agent_id, c->uid, false) : NULL;
                if (a) {
                        call_reply_agent(c, a);
                        return;
                }
                /* it created no agent: its record comes before anything runs, so nothing of it ran */
                call_dispatch(c);
                return;
        }
        if (c->request.op == PROTO_OP_ACTION) {
                /* the agent's shim holds the action: the call joins it and is never delivered twice */
                c->resumed = true;
                call_dispatch(c);
                return;
        }
        call_reply_error(c, PROTO_ERROR_INTERNAL, "%s", CALL_INTERRUPTED_MSG);
}

static int encode_error(const char *id, ProtoOp op, ProtoErrorCode code, uint64_t retry_after_ms,
                        const char *msg, void **ret, size_t *ret_len)
{
        _cleanup_(proto_reply_done) ProtoReply reply = {};
        int r;

        r = proto_reply_init_error(&reply, id, op, code, "%s", msg);
        if (r < 0)
                return r;
        reply.error_retry_after_ms = retry_after_ms;
        return proto_reply_encode(&reply, ret, ret_len);
}

static void reply_uncached_error_retry(Manager *m, const Envelope *env, const char *id, ProtoOp op,
                                       ProtoErrorCode code, uint64_t retry_after_ms, const char *msg)
{
        _cleanup_free_ void *buf = NULL;
        size_t len;

        if (encode_error(id, op, code, retry_after_ms, msg, &buf, &len) < 0)
                return;
        m->stats.errors[code]++;
        send_to(m, env, buf, len);
}

static void reply_uncached_error(Manager *m, const Envelope *env, const char *id, ProtoOp op,
                                 ProtoErrorCode code, const char *msg)
{
        reply_uncached_error_retry(m, env, id, op, code, 0, msg);
}

void control_send_held(void *userdata, const Envelope *env, const void *body, size_t size)
{
        send_to(userdata, env, body, size);
}

/* The request rate limit (request_rate, request_burst), checked before the request is decoded: a flood
 * costs the daemon a scan for the id and a short reply per message, and the replies of a caller that does
 * not wait as told are held back (busy-hold.h). Root is exempt: it is the host itself (and the one that must
 * still act during a tenant's flood). True when the message was answered `busy` (*env is then taken when
 * its reply is held). */
static bool rate_limited(Manager *m, Envelope **env, zmq_msg_t *body, uid_t uid)
{
        uint64_t now = now_usec(CLOCK_MONOTONIC), retry_usec = 0, retry_ms;
        char id[PROTO_ID_MAX + 1], msg[160];
        _cleanup_free_ void *buf = NULL;
        size_t len;

        if (uid == 0 || tenant_ledger_take(m->tenant_ledger, uid, m->config.request_rate,
                                           m->config.request_burst, now, &retry_usec) != -EBUSY)
                return false; /* -ENOMEM: served rather than refused */
        retry_ms = MIN(MAX((retry_usec + USEC_PER_MSEC - 1) / USEC_PER_MSEC, (uint64_t)1),
                       (uint64_t)PROTO_RETRY_AFTER_MS_MAX);
        proto_request_peek_id(zmq_msg_data(body), zmq_msg_size(body), id);
        (void)snprintf(msg, sizeof msg,
                       "more than %llu requests per second (request_rate): try again in %llu ms",
                       (unsigned long long)m->config.request_rate, (unsigned long long)retry_ms);
        if (encode_error(id, _PROTO_OP_INVALID, PROTO_ERROR_BUSY, retry_ms, msg, &buf, &len) < 0)
                return true;
        m->stats.errors[PROTO_ERROR_BUSY]++;
        if (tenant_ledger_take_refusal(m->tenant_ledger, uid, m->config.request_rate,
                                       m->config.request_burst, now) == -EBUSY &&
            busy_hold_add(m->busy_hold, uid, env, &buf, len, now) >= 0)
                return true;
        send_to(m, *env, buf, len);
        return true;
}

int control_handle_message(ZmqSource *s, zmq_msg_t *parts, size_t n_parts, void *userdata)
{
        Manager *m = userdata;
        _cleanup_(envelope_freep) Envelope *env = NULL;
        _cleanup_(proto_request_done) ProtoRequest req = {};
        const void *frames[ENVELOPE_FRAMES_MAX];
        size_t sizes[ENVELOPE_FRAMES_MAX];
        zmq_msg_t *body;
        ProtoError err;
        CacheEntry *entry = NULL;
        bool interrupted = false;
        Call *c;
        uid_t uid = 0;
        const char *key;
        int r, uid_r;

        m->stats.messages++;
        /* a ROUTER always prepends the routing id: a single frame cannot be answered */
        if (n_parts < 2 || n_parts - 1 > ENVELOPE_FRAMES_MAX) {
                m->stats.unroutable++;
                return 0;
        }
        for (size_t i = 0; i + 1 < n_parts; i++) {
                frames[i] = zmq_msg_data(&parts[i]);
                sizes[i] = zmq_msg_size(&parts[i]);
        }
        r = envelope_new(frames, sizes, n_parts - 1, &env);
        if (r == -E2BIG) {
                /* frames in front of the body are echoed with the reply and kept while it is pending:
                 * a client that sends big ones is not answered */
                m->stats.unroutable++;
                return 0;
        }
        if (r < 0)
                return r;
        body = &parts[n_parts - 1];

        uid_r = zap_message_uid(m, body, &uid);
        if (uid_r >= 0)
                connection_limit_note_caller(m->connection_limit, body, uid);
        if (uid_r >= 0 && rate_limited(m, &env, body, uid))
                return 0;

        proto_error_init(&err);
        r = proto_request_decode(zmq_msg_data(body), zmq_msg_size(body), &req, &err);
        if (r < 0) {
                _cleanup_free_ void *buf = NULL;
                size_t len;

                m->stats.malformed++;
                if (err.code >= 0 && err.code < _PROTO_ERROR_MAX)
                        m->stats.errors[err.code]++;
                if (proto_error_reply_encode(&err, &buf, &len) >= 0)
                        send_to(m, env, buf, len);
                return 0;
        }
        if (req.op >= 0 && req.op < _PROTO_OP_MAX)
                m->stats.requests[req.op]++;

        if (uid_r < 0) {
                reply_uncached_error(m, env, req.id, req.op, PROTO_ERROR_PERMISSION_DENIED,
                                     uid_r == -EKEYREVOKED
                                             ? "this client's key was removed from the daemon's allow "
                                               "list (curve_clients_dir)"
                                             : "the caller could not be identified");
                return 0;
        }

        /* an op on the connection itself (subscribe) runs each time: a cached reply would not subscribe */
        if (proto_op_info(req.op)->per_connection) {
                c = calloc(1, sizeof *c);
                if (!c) {
                        reply_uncached_error(m, env, req.id, req.op, PROTO_ERROR_INTERNAL, "out of memory");
                        return 0;
                }
                c->envelope = TAKE_PTR(env);
                key = zap_message_curve_key(body);
                if (key && strlen(key) == CURVE_KEY_Z85_LEN)
                        strcpy(c->curve_key, key);
                goto dispatch;
        }

        r = request_cache_lookup(m->request_cache, uid, req.id, now_usec(CLOCK_MONOTONIC), &entry);
        if (r > 0 && cache_entry_is_interrupted(entry)) {
                /* in progress when the last daemon stopped: answered below, never performed twice */
                request_cache_reopen(m->request_cache, entry);
                interrupted = true;
                r = 0;
        } else if (r > 0) {
                m->stats.replies_cached++;
                if (cache_entry_is_done(entry)) {
                        size_t len;
                        const void *buf = cache_entry_reply(entry, &len);
                        send_to(m, env, buf, len);
                } else if (cache_entry_n_waiters(entry) >= CACHE_ENTRY_WAITERS_MAX)
                        reply_uncached_error(m, env, req.id, req.op, PROTO_ERROR_BUSY,
                                             "this request id is already awaited by too many clients");
                else
                        cache_entry_add_waiter(entry, TAKE_PTR(env));
                return 0;
        } else
                r = request_cache_add(m->request_cache, uid, req.id, now_usec(CLOCK_MONOTONIC), &entry);
        if (r == -EBUSY) {
                reply_uncached_error(m, env, req.id, req.op, PROTO_ERROR_BUSY,
                                     "too many requests are in progress, try again later");
                return 0;
        }
        if (r < 0) {
                reply_uncached_error(m, env, req.id, req.op, PROTO_ERROR_INTERNAL, "out of memory");
                return 0;
        }

        c = calloc(1, sizeof *c);
        if (!c) {
                request_cache_remove(m->request_cache, entry);
                reply_uncached_error(m, env, req.id, req.op, PROTO_ERROR_INTERNAL, "out of memory");
                return 0;
        }
        c->entry = entry;
        cache_entry_add_waiter(entry, TAKE_PTR(env));
dispatch:
        c->manager = m;
        c->request = req;
        req = (ProtoRequest){};
        c->uid = uid;
        c->admin = control_is_admin(m, uid);
        c->arrived_usec = now_usec(CLOCK_MONOTONIC);
        c->next = m->calls;
        if (m->calls)
                m->calls->prev = c;
        m->calls = c;

        if (interrupted)
                call_answer_interrupted(c);
        else
                call_dispatch(c);
        return 0;
}
