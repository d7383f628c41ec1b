/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "proto-internal.h"

void proto_key_name(char buf[static PROTO_KEYNAME_MAX], const char *mapname, const char *key)
{
        (void)snprintf(buf, PROTO_KEYNAME_MAX, "%s%s%s", mapname, *mapname ? "." : "", key);
}

static int get(const msgpack_object *map, const char *mapname, const char *key, bool required,
               const msgpack_object **ret, ProtoError *e)
{
        return required ? proto_map_need(map, mapname, key, ret, e)
                        : proto_map_get(map, mapname, key, ret, e);
}

int proto_get_str(const msgpack_object *map, const char *mapname, const char *key, bool required, size_t min,
                  size_t max, char **ret, ProtoError *e)
{
        const msgpack_object *o;
        char name[PROTO_KEYNAME_MAX];
        int r;

        r = get(map, mapname, key, required, &o, e);
        if (r <= 0)
                return r;
        proto_key_name(name, mapname, key);
        return proto_read_str(o, name, min, max, ret, e);
}

int proto_get_u64(const msgpack_object *map, const char *mapname, const char *key, bool required,
                  uint64_t min, uint64_t max, bool *ret_has, uint64_t *ret, ProtoError *e)
{
        const msgpack_object *o;
        char name[PROTO_KEYNAME_MAX];
        int r;

        r = get(map, mapname, key, required, &o, e);
        if (r <= 0)
                return r;
        proto_key_name(name, mapname, key);
        r = proto_read_u64(o, name, min, max, ret, e);
        if (r < 0)
                return r;
        if (ret_has)
                *ret_has = true;
        return 0;
}

int proto_get_int(const msgpack_object *map, const char *mapname, const char *key, bool required, int min,
                  int max, bool *ret_has, int *ret, ProtoError *e)
{
        const msgpack_object *o;
        char name[PROTO_KEYNAME_MAX];
        int r;

        r = get(map, mapname, key, required, &o, e);
        if (r <= 0)
                return r;
        proto_key_name(name, mapname, key);
        r = proto_read_int(o, name, min, max, ret, e);
        if (r < 0)
                return r;
        if (ret_has)
                *ret_has = true;
        return 0;
}

int proto_get_bool(const msgpack_object *map, const char *mapname, const char *key, bool required,
                   bool *ret_has, bool *ret, ProtoError *e)
{
        const msgpack_object *o;
        char name[PROTO_KEYNAME_MAX];
        int r;

        r = get(map, mapname, key, required, &o, e);
        if (r <= 0)
                return r;
        proto_key_name(name, mapname, key);
        r = proto_read_bool(o, name, ret, e);
        if (r < 0)
                return r;
        if (ret_has)
                *ret_has = true;
        return 0;
}

int proto_read_limits(const msgpack_object *o, const char *key, ProtoLimits *ret, ProtoError *e)
{
        ProtoLimits l = {};
        int r;

        r = proto_read_map(o, key, e);
        if (r < 0)
                return r;
        r = proto_get_u64(o, key, "cpu_millicores", false, 1, UINT32_MAX, &l.has_cpu, &l.cpu_millicores, e);
        if (r < 0)
                return r;
        r = proto_get_u64(o, key, "memory", false, 0, UINT64_MAX, &l.has_memory, &l.memory, e);
        if (r < 0)
                return r;
        r = proto_get_u64(o, key, "swap", false, 0, UINT64_MAX, &l.has_swap, &l.swap, e);
        if (r < 0)
                return r;
        r = proto_get_u64(o, key, "pids", false, 1, UINT64_MAX, &l.has_pids, &l.pids, e);
        if (r < 0)
                return r;
        *ret = l;
        return 0;
}

static int read_usage(const msgpack_object *o, const char *key, ProtoUsage *ret, ProtoError *e)
{
        ProtoUsage u = {};
        int r;

        r = proto_read_map(o, key, e);
        if (r < 0)
                return r;
        r = proto_get_u64(o, key, "cpu_usec", true, 0, UINT64_MAX, NULL, &u.cpu_usec, e);
        if (r < 0)
                return r;
        r = proto_get_u64(o, key, "memory_current", true, 0, UINT64_MAX, NULL, &u.memory_current, e);
        if (r < 0)
                return r;
        r = proto_get_u64(o, key, "memory_peak", true, 0, UINT64_MAX, NULL, &u.memory_peak, e);
        if (r < 0)
                return r;
        r = proto_get_u64(o, key, "pids_current", true, 0, UINT64_MAX, NULL, &u.pids_current, e);
        if (r < 0)
                return r;
        *ret = u;
        return 0;
}

int proto_read_agent_info(const msgpack_object *o, const char *key, ProtoAgentInfo *ret, ProtoError *e)
{
        _cleanup_(proto_agent_info_done) ProtoAgentInfo i = {};
        const msgpack_object *x;
        char name[PROTO_KEYNAME_MAX];
        uint64_t u;
        int r;

        r = proto_read_map(o, key, e);
        if (r < 0)
                return r;
        r = proto_get_str(o, key, "id", true, 1, PROTO_AGENT_ID_MAX, &i.id, e);
        if (r < 0)
                return r;
        r = proto_get_str(o, key, "name", false, 1, PROTO_NAME_MAX, &i.name, e);
        if (r < 0)
                return r;

        r = proto_map_need(o, key, "state", &x, e);
        if (r < 0)
                return r;
        proto_key_name(name, key, "state");
        r = proto_read_state(x, name, &i.state, e);
        if (r < 0)
                return r;

        r = proto_map_get(o, key, "reason", &x, e);
        if (r < 0)
                return r;
        if (r > 0) {
                proto_key_name(name, key, "reason");
                r = proto_read_reason(x, name, &i.reason, e);
                if (r < 0)
                        return r;
                i.has_reason = true;
        }

        r = proto_get_int(o, key, "exit_code", false, INT_MIN, INT_MAX, &i.has_exit_code, &i.exit_code, e);
        if (r < 0)
                return r;
        r = proto_get_int(o, key, "signal", false, 1, 255, &i.has_signal, &i.signal, e);
        if (r < 0)
                return r;
        r = proto_get_u64(o, key, "owner_uid", true, 0, UINT32_MAX, NULL, &u, e);
        if (r < 0)
                return r;
        i.owner_uid = (uint32_t)u;

        r = proto_map_need(o, key, "labels", &x, e);
        if (r < 0)
                return r;
        proto_key_name(name, key, "labels");
        r = proto_read_str_map(x, name, PROTO_LABELS_MAX, PROTO_LABEL_KEY_MAX, PROTO_LABEL_VALUE_MAX,
                               SIZE_MAX, &i.labels, e);
        if (r < 0)
                return r;

        r = proto_map_need(o, key, "argv", &x, e);
        if (r < 0)
                return r;
        proto_key_name(name, key, "argv");
        r = proto_read_strv(x, name, PROTO_ARGV_MAX, PROTO_ARGV_BYTES_MAX, PROTO_ARGV_BYTES_MAX, false,
                            &i.argv, &i.n_argv, e);
        if (r < 0)
                return r;
        if (i.n_argv == 0)
                return proto_error_set(e, PROTO_ERROR_BAD_REQUEST, "%s: empty", name);

        r = proto_get_u64(o, key, "created_ns", true, 0, UINT64_MAX, NULL, &i.created_ns, e);
        if (r < 0)
                return r;
        r = proto_get_u64(o, key, "started_ns", false, 0, UINT64_MAX, &i.has_started_ns, &i.started_ns, e);
        if (r < 0)
                return r;
        r = proto_get_u64(o, key, "ended_ns", false, 0, UINT64_MAX, &i.has_ended_ns, &i.ended_ns, e);
        if (r < 0)
                return r;
        r = proto_get_u64(o, key, "spawn_us", false, 0, UINT64_MAX, &i.has_spawn_us, &i.spawn_us, e);
        if (r < 0)
                return r;
        r = proto_get_int(o, key, "pid", false, 1, INT_MAX, &i.has_pid, &i.pid, e);
        if (r < 0)
                return r;
        r = proto_get_str(o, key, "cgroup", false, 0, PROTO_PATH_MAX, &i.cgroup, e);
        if (r < 0)
                return r;

        r = proto_map_need(o, key, "limits", &x, e);
        if (r < 0)
                return r;
        proto_key_name(name, key, "limits");
        r = proto_read_limits(x, name, &i.limits, e);
        if (r < 0)
                return r;

        r = proto_map_get(o, key, "usage", &x, e);
        if (r < 0)
                return r;
        if (r > 0) {
                proto_key_name(name, key, "usage");
                r = read_usage(x, name, &i.usage, e);
                if (r < 0)
                        return r;
                i.has_usage = true;
        }

        *ret = i;
        i = (ProtoAgentInfo){};
        return 0;
}

int proto_read_event(const msgpack_object *o, const char *key, ProtoEvent *ret, ProtoError *e)
{
        _cleanup_(proto_event_done) ProtoEvent ev = {};
        const msgpack_object *x;
        char name[PROTO_KEYNAME_MAX];
        int r;

        r = proto_read_map(o, key, e);
        if (r < 0)
                return r;
        r = proto_get_u64(o, key, "seq", true, 0, UINT64_MAX, NULL, &ev.seq, e);
        if (r < 0)
                return r;
        r = proto_get_u64(o, key, "ts_ns", true, 0, UINT64_MAX, NULL, &ev.ts_ns, e);
        if (r < 0)
                return r;

        r = proto_map_need(o, key, "kind", &x, e);
        if (r < 0)
                return r;
        proto_key_name(name, key, "kind");
        r = proto_read_event_kind(x, name, &ev.kind, e);
        if (r < 0)
                return r;

        r = proto_get_str(o, key, "agent", false, 1, PROTO_AGENT_ID_MAX, &ev.agent, e);
        if (r < 0)
                return r;

        r = proto_map_get(o, key, "state", &x, e);
        if (r < 0)
                return r;
        if (r > 0) {
                proto_key_name(name, key, "state");
                r = proto_read_state(x, name, &ev.state, e);
                if (r < 0)
                        return r;
                ev.has_state = true;
        }

        r = proto_map_get(o, key, "reason", &x, e);
        if (r < 0)
                return r;
        if (r > 0) {
                proto_key_name(name, key, "reason");
                r = proto_read_reason(x, name, &ev.reason, e);
                if (r < 0)
                        return r;
                ev.has_reason = true;
        }

        r = proto_map_get(o, key, "data", &x, e);
        if (r < 0)
                return r;
        if (r > 0) {
                proto_key_name(name, key, "data");
                r = proto_read_value(x, name, true, &ev.data, e);
                if (r < 0)
                        return r;
        }

        *ret = ev;
        ev = (ProtoEvent){};
        return 0;
}

int proto_event_decode(const void *buf, size_t len, ProtoEvent *ret, ProtoError *ret_err)
{
        _cleanup_(proto_unpacked_done) ProtoUnpacked u = {};
        ProtoError scratch;
        ProtoError *e = ret_err ?: &scratch;
        int r;

        proto_error_init(e);
        if (!ret)
                return proto_error_set(e, PROTO_ERROR_INTERNAL, "no result");
        *ret = (ProtoEvent){};

        r = proto_unpack(buf, len, &u, e);
        if (r < 0)
                return r;
        return proto_read_event(&u.u.data, "", ret, e);
}
