#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Protocol conformance: walks docs/protocol.md section by section with a second, independent client and
checks that descartesd does what the document says. Each check is named "<doc section> :: <what>".

The document is the specification: the checks were written from it alone. Where the daemon currently
disagrees, the check is listed in KNOWN_MISMATCHES below (an expected failure); remove an entry when the
daemon (or the document) is fixed. An entry that passes is reported as UNEXPECTEDLY-PASSING, not a failure.

Run: meson test -C build --suite conformance   (root; exit 77 = skipped)
     or DESCARTESD=build/supervisor/descartesd DESCARTES_SHIM=build/.../descartes-shim \
        DESCARTES_POLICY_DIR=policies python3 tests/conformance/conformance.py"""

KNOWN_MISMATCHES = [
    # none: every check below holds. Add an entry (the check's full name) only with an issue that fixes it.
]

import os  # noqa: E402
import sys  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dconf  # noqa: E402
from dconf import (W, F32, F64, Raw, Pairs, Ext, enc, dec_one, Client, Run, STATES, REASONS,  # noqa: E402
                   KINDS, CODES, MIB, Reply, req_bytes, run_tenant, tenant_args, tenant_session, ck, desc, nest)
import json  # noqa: E402
import re  # noqa: E402
import signal  # noqa: E402
import subprocess  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
import zmq  # noqa: E402

S1 = "1. Transport"
S1A = "1. Transport / Access"
S2Q = "2. Envelopes / Request"
S2R = "2. Envelopes / Reply"
S2I = "2. Envelopes / Idempotent ids"
S2D = "2. Envelopes / Decoding rules"
S3 = "3. Error codes"
S4 = "4. Types used below"
S6 = "6. Events"
S7 = "7. Agent lifecycle"
S8 = "8. Limits"
S9 = "9. Versioning"


def S5(op):
    return f"5. Operations / {op}"


SH = "/bin/sh"
SLEEP = ["/bin/sleep", "1000"]
R = None  # Results
D = None  # Daemon
C = None  # root Client


def is_int(x):
    return isinstance(x, int) and not isinstance(x, bool)


def info_problems(a):
    """Section 4 INFO rules."""
    p = []
    if not isinstance(a, dict):
        return ["INFO is not a map"]
    if not isinstance(a.get("id"), str) or not 1 <= len(a["id"]) <= 64:
        p.append("id")
    else:
        try:
            uuid.UUID(a["id"])
        except ValueError:
            p.append("id is not a UUID")
    if "name" in a and (not isinstance(a["name"], str) or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}",
                                                                           a["name"])):
        p.append("name")
    st = a.get("state")
    if st not in STATES:
        p.append(f"state {st!r}")
    if st in ("exited", "failed"):
        if a.get("reason") not in REASONS:
            p.append(f"ended without a valid reason ({a.get('reason')!r})")
    elif "reason" in a:
        p.append("reason on an agent that has not ended")
    if "reason" in a and a["reason"] not in REASONS:
        p.append("reason value")
    if a.get("reason") == "completed" and not is_int(a.get("exit_code")):
        p.append("completed without exit_code")
    if a.get("reason") == "signaled" and not (is_int(a.get("signal")) and 1 <= a["signal"] <= 255):
        p.append("signaled without signal 1..255")
    if "signal" in a and not (is_int(a["signal"]) and 1 <= a["signal"] <= 255):
        p.append("signal range")
    if not (is_int(a.get("owner_uid")) and 0 <= a["owner_uid"] < 2**32):
        p.append("owner_uid")
    for k in ("uid", "gid"):
        if k in a and not (is_int(a[k]) and 0 <= a[k] < 2**32):
            p.append(k)
    if "health" in a and a["health"] not in ("starting", "healthy", "unhealthy"):
        p.append("health value")
    if ("health" in a) != ("health_check" in a):
        p.append("health without health_check or the other way")
    hl = a.get("health_last")
    if hl is not None and not (isinstance(hl, dict) and is_int(hl.get("ts_ns")) and is_int(hl.get("failures"))
                               and isinstance(hl.get("output", b""), bytes)
                               and len(hl.get("output", b"")) <= 4096):
        p.append("health_last")
    lb = a.get("labels")
    if not isinstance(lb, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in lb.items()):
        p.append("labels missing or not {str: str}")
    av = a.get("argv")
    if not isinstance(av, list) or not 1 <= len(av) <= 4096 or not all(isinstance(x, str) for x in av):
        p.append("argv")
    if not is_int(a.get("created_ns")):
        p.append("created_ns")
    for k in ("started_ns", "ended_ns", "spawn_us", "exit_code"):
        if k in a and not is_int(a[k]):
            p.append(k)
    if "pid" in a and not (is_int(a["pid"]) and 1 <= a["pid"] < 2**31):
        p.append("pid range")
    if st == "running" and "pid" not in a:
        p.append("running without pid")
    if "cgroup" in a and (not isinstance(a["cgroup"], str) or len(a["cgroup"]) > 4096):
        p.append("cgroup")
    lim = a.get("limits")
    if not isinstance(lim, dict):
        p.append("limits missing")
    else:
        for k, v in lim.items():
            if k in ("cpu_millicores", "memory", "swap", "pids") and not is_int(v):
                p.append(f"limits.{k}")
    if "usage" in a:
        u = a["usage"]
        if not isinstance(u, dict) or not all(is_int(u.get(k)) for k in
                                              ("cpu_usec", "memory_current", "memory_peak", "pids_current")):
            p.append(f"usage lacks a required key: {u!r}")
    return p


def event_problems(e):
    p = []
    if not isinstance(e, dict):
        return ["EVENT not a map"]
    if not is_int(e.get("seq")) or not is_int(e.get("ts_ns")):
        p.append("seq/ts_ns")
    if e.get("kind") not in KINDS:
        p.append(f"kind {e.get('kind')!r}")
    if "agent" in e and (not isinstance(e["agent"], str) or not 1 <= len(e["agent"]) <= 64):
        p.append("agent")
    if "state" in e and e["state"] not in STATES:
        p.append("state")
    if "reason" in e and e["reason"] not in REASONS:
        p.append("reason")
    if "data" in e and not isinstance(e["data"], dict):
        p.append("data not a map")
    return p


def spawn(args, c=None, timeout=30):
    c = c or C
    return c.req("spawn", args, timeout=timeout)


def spawn_ok(argv, c=None, **kw):
    a = {"argv": argv}
    a.update(kw)
    r = spawn(a, c)
    if r is None or not r.ok:
        raise RuntimeError(f"spawn {argv} failed: {r!r}")
    return r.data["agent"]


def get(ref, c=None):
    r = (c or C).req("get", {"agent": ref})
    return r.data.get("agent") if r is not None and r.ok else None


def wait_state(ref, states, timeout=15, c=None):
    deadline = time.monotonic() + timeout
    a = None
    while time.monotonic() < deadline:
        a = get(ref, c)
        if a and a.get("state") in states:
            return a
        time.sleep(0.05)
    return a


def out_text(ref, c=None, **kw):
    args = {"agent": ref}
    args.update(kw)
    r = (c or C).req("output", args)
    if r is None or not r.ok:
        return None
    return "\n".join(l.get("text", "") for l in r.data.get("lines", []))


def wait_output(ref, needle, timeout=10, c=None):
    deadline = time.monotonic() + timeout
    t = None
    while time.monotonic() < deadline:
        t = out_text(ref, c)
        if t is not None and needle in t:
            return t
        time.sleep(0.05)
    return t


def err_is(r, code):
    return r is not None and not r.ok and r.code == code


def guard(sec, what):
    """The daemon must still be running and answer health after every section; if it died, say so and
    start it again (same directories) so the remaining sections still run."""
    alive = D.alive()
    healthy = alive and D.health_ok(5)
    ck(sec, f"daemon still running and answering health after {what}", alive and healthy,
       "" if alive and healthy else f"daemon: {D.status() or 'alive but health did not answer'}")
    if not alive:
        D.restart_after_crash(f"{sec}: {what}")
        C.reopen()


# ---------------------------------------------------------------------------------------------------------

def sec1_transport():
    # one frame per reply, one msgpack map, nothing after it (the client's decoder refuses trailing bytes)
    r = C.req("health")
    ck(S1, "DEALER: a request of one frame gets a reply of one frame", r is not None and r.nframes == 1,
       desc(r))
    ck(S1, "the reply body is exactly one msgpack map", r is not None and isinstance(r.v, dict)
       and "__undecodable__" not in r.v, desc(r))
    # REQ client: its socket adds the empty delimiter itself
    rq = Client(D.control, R, kind=zmq.REQ)
    r = rq.req("health", timeout=10)
    ck(S1, "REQ client: request and reply work (delimiter added by the REQ socket)", r is not None and r.ok,
       desc(r))
    rq.close()
    # a DEALER client may have many requests in flight and match replies by id
    ids = [C.send("health") for _ in range(20)]
    got = [C.wait(i, 10) for i in ids]
    ck(S1, "DEALER: 20 requests in flight, every reply matched by id", all(g is not None and g.ok for g in got))
    # frames in front of the body are envelope: echoed in front of the reply; the last frame is the body
    s = zmq.Context.instance().socket(zmq.DEALER)
    s.setsockopt(zmq.LINGER, 0)
    s.connect(D.control)
    s.send_multipart([b"route-7", enc({"v": 1, "id": "mf", "op": "health"})])
    rep = s.recv_multipart() if s.poll(3000) else None
    s.close()
    ok = rep is not None and len(rep) == 2 and rep[0] == b"route-7" and dec_one(rep[1])[0].get("id") == "mf"
    ck(S1, "frames before the body come back in front of the reply; the last frame is the request", ok,
       repr(rep))
    guard(S1, "multi-frame request")

    # sockets: group descartes, mode 0660 (section 1 Access)
    import grp
    ck(S1A, "there is no events socket (events come over the control endpoint)",
       not os.path.exists(os.path.join(D.runtime_dir, "events")), os.listdir(D.runtime_dir))
    for name in ("control",):
        path = os.path.join(D.runtime_dir, name)
        try:
            st = os.stat(path)
            mode = st.st_mode & 0o777
            try:
                gname = grp.getgrgid(st.st_gid).gr_name
            except KeyError:
                gname = str(st.st_gid)
            ck(S1A, f"the {name} socket has group descartes and mode 0660", mode == 0o660 and gname == "descartes",
               f"mode {mode:o}, group {gname}")
        except OSError as e:
            ck(S1A, f"the {name} socket has group descartes and mode 0660", False, str(e))

    # size: a message larger than 10 MiB is dropped or refused with bad_request
    big = req_bytes("health", None, "big-1", pad=b"\0" * (dconf.MESSAGE_MAX + 16))
    r = C.raw_once(big, timeout=5)
    ck(S1, "a message over 10 MiB is dropped or refused with bad_request", r is None or err_is(r, "bad_request"),
       desc(r))
    guard(S1, "oversized message")
    # just under the bound: an unknown key (ignored) holding a bin, the whole message < 10 MiB
    under = req_bytes("health", None, "big-2", pad=b"\0" * (dconf.MESSAGE_MAX - 200))
    r = C.raw_once(under, timeout=10)
    ck(S1, "a message just under 10 MiB (unknown key with a big bin) is served", r is not None and r.ok, desc(r))


def sec2_request():
    def raw(body, t=5):
        return C.raw_once(body, t)

    r = raw(enc(Pairs([("id", "nv"), ("op", "health")])))
    ck(S2Q, "v missing: bad_request", err_is(r, "bad_request"), desc(r))
    r = raw(enc({"v": 2, "id": "v2", "op": "health"}))
    ck(S2Q, "v: 2 is answered with unsupported_version", err_is(r, "unsupported_version"), desc(r))
    ck(S2Q, "v: 2 reply carries the request's id", r is not None and r.id == "v2", desc(r))
    r = raw(enc({"v": 0, "id": "v0", "op": "health"}))
    ck(S2Q, "v: 0 is answered with unsupported_version", err_is(r, "unsupported_version"), desc(r))
    r = raw(enc({"v": "1", "id": "vs", "op": "health"}))
    ck(S2Q, "v as a str is refused with bad_request (types are strict)", err_is(r, "bad_request"), desc(r))
    r = raw(enc({"v": 1.0, "id": "vf", "op": "health"}))
    ck(S2Q, "v as a float is refused with bad_request", err_is(r, "bad_request"), desc(r))
    r = raw(enc({"v": W(0xcf, 1), "id": "v64", "op": "health"}))
    ck(S2Q, "v: 1 sent as uint64 is accepted (any integer width)", r is not None and r.ok, desc(r))

    r = raw(enc({"v": 1, "id": "x", "op": "health"}))
    ck(S2Q, "id of 1 byte is accepted", r is not None and r.ok and r.id == "x", desc(r))
    i64 = "i" * 64
    r = raw(enc({"v": 1, "id": i64, "op": "health"}))
    ck(S2Q, "id of 64 bytes is accepted and echoed", r is not None and r.ok and r.id == i64, desc(r))
    for label, idv in (("65 bytes", "i" * 65), ("empty", ""), ("with a NUL byte", "a\0b"), ("an int", 5),
                       ("a bin", b"abc")):
        r = raw(enc({"v": 1, "id": idv, "op": "health"}))
        ck(S2Q, f"id {label}: bad_request with id \"\"", err_is(r, "bad_request") and r.id == "", desc(r))
    r = raw(enc(Pairs([("v", 1), ("op", "health")])))
    ck(S2Q, "id missing: bad_request with id \"\"", err_is(r, "bad_request") and r.id == "", desc(r))
    r = raw(enc({"v": 1, "id": "uo", "op": "frobnicate"}))
    ck(S2Q, "unknown op: unknown_op with the request's id", err_is(r, "unknown_op") and r.id == "uo", desc(r))
    r = raw(enc({"v": 1, "id": "oi", "op": 3}))
    ck(S2Q, "op as an int: bad_request", err_is(r, "bad_request"), desc(r))
    r = raw(enc(Pairs([("v", 1), ("id", "om")])))
    ck(S2Q, "op missing: bad_request", err_is(r, "bad_request"), desc(r))
    r = raw(enc({"v": 1, "id": "na", "op": "health"}))
    ck(S2Q, "args may be left out when the op needs none", r is not None and r.ok, desc(r))
    r = raw(enc({"v": 1, "id": "aa", "op": "health", "args": []}))
    ck(S2Q, "args as an array: bad_request", err_is(r, "bad_request"), desc(r))
    r = raw(enc({"v": 1, "id": "ae", "op": "health", "args": {}}))
    ck(S2Q, "args as an empty map for an op that needs none: accepted", r is not None and r.ok, desc(r))


def sec2_reply():
    r = C.raw_once(b"\x01\x02garbage")
    ck(S2R, "not msgpack: bad_request with id \"\"", err_is(r, "bad_request") and r.id == "", desc(r))
    r = C.raw_once(enc([1, 2, 3]))
    ck(S2R, "not a map: bad_request with id \"\"", err_is(r, "bad_request") and r.id == "", desc(r))
    r = C.raw_once(enc("health"))
    ck(S2R, "a str instead of a map: bad_request with id \"\"", err_is(r, "bad_request") and r.id == "", desc(r))
    r = C.raw_once(b"")
    ck(S2R, "an empty frame: bad_request with id \"\"", err_is(r, "bad_request") and r.id == "", desc(r))
    r = C.req("get", {"agent": "nope"})
    ck(S2R, "an error reply is {v: 1, id, ok: false, err: {code, msg}}",
       r is not None and r.v.get("ok") is False and set(r.v["err"].keys()) >= {"code", "msg"}
       and r.v.get("v") == 1, desc(r))
    ck(S2R, "an error reply has no data", r is not None and "data" not in r.v, desc(r))
    r = C.req("health")
    ck(S2R, "a success reply is {v: 1, id, ok: true, data: MAP} without err",
       r is not None and r.ok and isinstance(r.v.get("data"), dict) and "err" not in r.v, desc(r))


def sec2_idempotent():
    rid = "idem-" + uuid.uuid4().hex
    r1 = C.req("health", rid=rid)
    time.sleep(1.1)  # uptime_s changes: a second execution would give other bytes
    r2 = C.req("health", rid=rid)
    ck(S2I, "a repeated id gets the first reply again, byte for byte",
       r1 is not None and r2 is not None and r1.raw == r2.raw, f"{desc(r1)} vs {desc(r2)}")
    # spawning twice with one id spawns once
    rid = "idem-s-" + uuid.uuid4().hex
    name = "idem-" + uuid.uuid4().hex[:8]
    r1 = C.req("spawn", {"argv": SLEEP, "name": name}, rid=rid, timeout=30)
    r2 = C.req("spawn", {"argv": SLEEP, "name": name}, rid=rid, timeout=30)
    ck(S2I, "a repeated spawn id is not executed again (same reply, byte for byte)",
       r1 is not None and r2 is not None and r1.ok and r1.raw == r2.raw, f"{desc(r1)} vs {desc(r2)}")
    lst = C.req("list", {"labels": {}, "all": True})
    n = sum(1 for a in lst.data.get("agents", []) if a.get("name") == name) if lst and lst.ok else -1
    ck(S2I, "a repeated spawn id spawns one agent", n == 1, f"{n} agents named {name}")
    if r1 is not None and r1.ok:
        C.req("kill", {"agent": r1.data["agent"]["id"]})
    # reusing an id for a different request gets the first reply
    rid = "idem-d-" + uuid.uuid4().hex
    r1 = C.req("health", rid=rid)
    r2 = C.req("get", {"agent": "nope-" + uuid.uuid4().hex[:6]}, rid=rid)
    ck(S2I, "reusing an id for a different request gets the first reply",
       r1 is not None and r2 is not None and r1.raw == r2.raw, f"{desc(r2)}")
    # per caller: another connection of the same uid is the same caller
    c2 = Client(D.control, R)
    r3 = c2.req("get", {"agent": "x"}, rid=rid)
    ck(S2I, "the same caller on another connection also gets the first reply",
       r3 is not None and r1 is not None and r3.raw == r1.raw, desc(r3))
    c2.close()


TTL_PROBE = {}


def sec2_ttl_start():
    """TTL: the document says 10 minutes by default; we resend after 65 s (near the end of the run)."""
    rid = "ttl-" + uuid.uuid4().hex
    TTL_PROBE.update(rid=rid, t=time.monotonic(), r=C.req("health", rid=rid))


def sec2_ttl_finish():
    if not TTL_PROBE.get("r"):
        return
    wait = 65 - (time.monotonic() - TTL_PROBE["t"])
    if wait > 0:
        print(f"... waiting {wait:.0f} s for the request-id TTL check", flush=True)
        time.sleep(wait)
    r2 = C.req("health", rid=TTL_PROBE["rid"])
    ck(S2I, "an id repeated after 65 s (TTL is 10 minutes by default) still gets the first reply",
       r2 is not None and r2.raw == TTL_PROBE["r"].raw, f"first {desc(TTL_PROBE['r'])}, then {desc(r2)}")


def sec2_decoding(running_id):
    r = C.req("get", {"agent": 5})
    ck(S2D, "an integer where a string is due: bad_request", err_is(r, "bad_request"), desc(r))
    r = C.req("get", {"agent": running_id.encode()})
    ck(S2D, "a bin where a str is due (agent): bad_request", err_is(r, "bad_request"), desc(r))
    r = C.req("list", {"limit": 1.0})
    ck(S2D, "a float where an integer is due: bad_request", err_is(r, "bad_request"), desc(r))
    r = C.req("list", {"limit": W(0xcf, 3)})
    ck(S2D, "an integer sent as uint64 is accepted", r is not None and r.ok, desc(r))
    r = C.req("list", {"limit": W(0xd3, 3)})
    ck(S2D, "a positive integer sent as int64 is accepted", r is not None and r.ok, desc(r))
    r = C.req("list", {"limit": -1})
    ck(S2D, "a negative value where the type is unsigned: bad_request", err_is(r, "bad_request"), desc(r))
    r = C.req("stop", {"agent": running_id, "grace_ms": -5})
    ck(S2D, "a negative grace_ms: bad_request", err_is(r, "bad_request"), desc(r))
    # map keys must be strings
    body = enc(Pairs([("v", 1), ("id", "ik"), ("op", "health"), (7, "x")]))
    r = C.raw_once(body)
    ck(S2D, "an integer map key at the top level: bad_request", err_is(r, "bad_request"), desc(r))
    ck(S2D, "an integer map key: the reply carries the request's id (it was readable)",
       r is not None and r.id == "ik", desc(r))
    body = enc(Pairs([("v", 1), ("id", "ik2"), ("op", "get"), ("args", Pairs([("agent", running_id), (1, 2)]))]))
    r = C.raw_once(body)
    ck(S2D, "an integer map key inside args: bad_request", err_is(r, "bad_request"), desc(r))
    # unknown keys are ignored at any level
    r = C.req("health", extra={"zz_future": {"a": [1, 2]}})
    ck(S2D, "an unknown top-level key is ignored", r is not None and r.ok, desc(r))
    r = C.req("get", {"agent": running_id, "zz_future": 1})
    ck(S2D, "an unknown key in args is ignored", r is not None and r.ok, desc(r))
    r = C.req("list", {"labels": {}, "zz": {"deeper": {"x": 1}}})
    ck(S2D, "an unknown nested key is ignored", r is not None and r.ok, desc(r))
    # duplicate key
    body = enc(Pairs([("v", 1), ("id", "dk"), ("op", "health"), ("op", "health")]))
    r = C.raw_once(body)
    ck(S2D, "a key given twice in one map: bad_request", err_is(r, "bad_request"), desc(r))
    body = enc(Pairs([("v", 1), ("id", "dk2"), ("op", "get"),
                      ("args", Pairs([("agent", running_id), ("agent", running_id)]))]))
    r = C.raw_once(body)
    ck(S2D, "a key given twice in args: bad_request", err_is(r, "bad_request"), desc(r))
    # missing required key names it
    r = C.req("get", {})
    ck(S2D, "missing args.agent: bad_request naming args.agent",
       err_is(r, "bad_request") and "args.agent" in r.msg, desc(r))
    r = C.req("get")
    ck(S2D, "args left out where required: bad_request naming the key",
       err_is(r, "bad_request") and "agent" in r.msg, desc(r))
    # NUL in strings
    r = C.req("get", {"agent": "ab\0cd"})
    ck(S2D, "a string with a NUL byte (agent): bad_request", err_is(r, "bad_request"), desc(r))
    r = C.req("spawn", {"argv": ["/bin/echo", "a\0b"]})
    ck(S2D, "a string with a NUL byte (argv): bad_request", err_is(r, "bad_request"), desc(r))
    # optional arrays and maps: absent and empty mean the same
    r1 = C.req("list", {})
    r2 = C.req("list", {"labels": {}})
    ck(S2D, "list labels: {} is the same as absent", r1 is not None and r2 is not None and r1.ok and r2.ok
       and len(r1.data["agents"]) == len(r2.data["agents"]), f"{desc(r1)} / {desc(r2)}")
    r = C.req("batch", {"op": "get", "agents": [], "selector": {"labels": {"none": uuid.uuid4().hex}}})
    ck(S2D, "batch agents: [] is the same as absent (selector alone)", r is not None and r.ok, desc(r))
    r = C.req("spawn", {"argv": ["/bin/true"], "env": {}, "labels": {}})
    ck(S2D, "spawn env: {} and labels: {} are accepted", r is not None and r.ok, desc(r))
    # nesting: 16 levels counting the top-level map
    r = C.req("health", extra={"zz": nest(15)})  # map(1) + 15 arrays = 16
    ck(S2D, "nesting of exactly 16 levels is accepted", r is not None and r.ok, desc(r))
    rid = "deep-17"
    r = C.raw_once(enc({"v": 1, "id": rid, "op": "health", "zz": nest(16)}))
    ck(S2D, "nesting of 17 levels: bad_request", err_is(r, "bad_request"), desc(r))
    ck(S2D, "nesting of 17 levels: the reply carries the request's id (it was readable)",
       r is not None and r.id == rid, desc(r))
    r = C.raw_once(enc({"v": 1, "id": "deep-500", "op": "health", "zz": nest(500)}))
    ck(S2D, "nesting of 500 levels: bad_request", err_is(r, "bad_request"), desc(r))
    # objects per message
    r = C.raw_once(enc({"v": 1, "id": "objs-ok", "op": "health", "zz": [None] * 1_000_000}), 20)
    ck(S2D, "1,000,000 objects in a message are accepted", r is not None and r.ok, desc(r))
    r = C.raw_once(enc({"v": 1, "id": "objs", "op": "health", "zz": [None] * 1_048_600}), 20)
    ck(S2D, "more than 1,048,576 objects: bad_request", err_is(r, "bad_request"), desc(r))
    ck(S2D, "more than 1,048,576 objects: the reply carries the request's id", r is not None and r.id == "objs",
       desc(r))
    # truncated, lengths past the end, 0xc1, trailing bytes
    good = enc({"v": 1, "id": "tr", "op": "health"})
    for label, body in (("truncated message", good[:-3]),
                        ("a str32 whose length exceeds the bytes present",
                         enc(Pairs([("v", 1), ("id", "l"), ("op", Raw(b"\xdb\x00\x10\x00\x00health"))]))),
                        ("an array32 whose count exceeds the bytes present",
                         enc(Pairs([("v", 1), ("id", "c"), ("op", "health"), ("zz", Raw(b"\xdd\x7f\xff\xff\xff"))]))),
                        ("a map32 whose count exceeds the bytes present", b"\xdf\xff\xff\xff\xff" + good[1:]),
                        ("the reserved byte 0xc1", enc(Pairs([("v", 1), ("id", "r"), ("op", "health"),
                                                              ("zz", Raw(b"\xc1"))]))),
                        ("a byte after the map", good + b"\xc0"),
                        ("two messages in one frame", good + good)):
        r = C.raw_once(body)
        ck(S2D, f"{label}: bad_request", err_is(r, "bad_request"), desc(r))
    # ext only inside free-form values
    r = C.raw_once(enc({"v": 1, "id": "ex", "op": "get", "args": {"agent": Ext(1, b"abcd")}}))
    ck(S2D, "an ext where a str is due: bad_request", err_is(r, "bad_request"), desc(r))
    r = C.req("action", {"agent": running_id, "name": "probe", "params": {"e": Ext(5, b"12345678")}},
              timeout=10)
    ck(S2D, "an ext inside action params (free-form) is not refused as bad_request",
       r is not None and r.code != "bad_request", desc(r))
    guard(S2D, "the decoding rules")


def sec3_errors(running_id, exited_id):
    r = C.req("get", {"agent": "nope"})
    ck(S3, "not_found: get of an unknown agent", err_is(r, "not_found"), desc(r))
    ck(S5("get, pause, resume, kill, remove"), "get nope: msg is 'no agent \"nope\"' (example)",
       err_is(r, "not_found") and "nope" in r.msg, desc(r))
    r = C.req("pause", {"agent": exited_id})
    ck(S3, "conflict: pause of an exited agent", err_is(r, "conflict"), desc(r))
    r = C.req("bogus_op")
    ck(S3, "unknown_op", err_is(r, "unknown_op"), desc(r))
    r = C.req("spawn", {"argv": ["/nonexistent/program-" + uuid.uuid4().hex[:6]]})
    ck(S3, "spawn_failed: a program that does not exist", err_is(r, "spawn_failed"), desc(r))
    ck(S5("spawn"), "spawn_failed msg names the stage (exec)", r is not None and "exec" in r.msg, desc(r))


def sec4_types(agents):
    probs = {}
    for a in agents:
        p = info_problems(a)
        if p:
            probs[a.get("id")] = p
    ck(S4, f"every INFO seen ({len(agents)}) follows the INFO rules", not probs, json.dumps(probs)[:1500])


def sec5_health():
    S = S5("health")
    r = C.req("health")
    d = r.data if r is not None and r.ok else {}
    ck(S, "ok", r is not None and r.ok, desc(r))
    ck(S, "version is a str <= 256 bytes", isinstance(d.get("version"), str) and len(d["version"]) <= 256, d)
    ck(S, "protocol is 1", d.get("protocol") == 1, d.get("protocol"))
    ck(S, "uptime_s is an integer", is_int(d.get("uptime_s")), d.get("uptime_s"))
    ag = d.get("agents")
    ck(S, "agents has one integer per STATE", isinstance(ag, dict) and all(is_int(ag.get(s)) for s in STATES), ag)
    h = d.get("host") or {}
    ck(S, "host.cpus, mem_total, mem_available are integers",
       all(is_int(h.get(k)) for k in ("cpus", "mem_total", "mem_available")), h)
    ck(S, "host.load1/5/15 are float64", all(isinstance(h.get(k), F64) for k in ("load1", "load5", "load15")),
       {k: type(h.get(k)).__name__ for k in ("load1", "load5", "load15")})
    cg = d.get("cgroup") or {}
    ck(S, "cgroup.root is the daemon's cgroup root", cg.get("root") == D.cgroup_root, cg)
    ctl = cg.get("controllers")
    ck(S, "cgroup.controllers: at most 64 str of at most 256 bytes",
       isinstance(ctl, list) and len(ctl) <= 64 and all(isinstance(x, str) and len(x) <= 256 for x in ctl), ctl)
    return ctl or []


def sec5_list():
    S = S5("list")
    lab = uuid.uuid4().hex[:8]
    ids = []
    for i in range(3):
        a = spawn_ok(SLEEP, labels={"grp": lab, "i": str(i)})
        ids.append(a["id"])
        time.sleep(0.02)
    ex = spawn_ok(["/bin/true"], labels={"grp": lab, "i": "ex"})
    wait_state(ex["id"], ("exited",))
    r = C.req("list", {"labels": {"grp": lab}})
    got = [a["id"] for a in r.data.get("agents", [])] if r and r.ok else []
    ck(S, "labels filter keeps agents having every given pair; without all only agents not ended",
       set(got) == set(ids), f"got {got}")
    r = C.req("list", {"labels": {"grp": lab}, "all": True})
    got = [a["id"] for a in r.data.get("agents", [])] if r and r.ok else []
    ck(S, "all: true adds ended agents", set(got) == set(ids + [ex["id"]]), f"got {got}")
    r = C.req("list", {"labels": {"grp": lab, "i": "1"}})
    got = [a["id"] for a in r.data.get("agents", [])] if r and r.ok else []
    ck(S, "labels filter with two pairs", got == [ids[1]], f"got {got}")
    r = C.req("list", {"labels": {"grp": lab}, "state": "exited"})
    got = [a["id"] for a in r.data.get("agents", [])] if r and r.ok else []
    ck(S, "a state filter of exited works without all", got == [ex["id"]], f"got {got}")
    r = C.req("list", {"labels": {"grp": lab}, "state": "running"})
    got = [a["id"] for a in r.data.get("agents", [])] if r and r.ok else []
    ck(S, "state filter running", set(got) == set(ids), f"got {got}")
    r = C.req("list", {"labels": {"grp": lab}, "limit": 1})
    got = [a["id"] for a in r.data.get("agents", [])] if r and r.ok else []
    ck(S, "limit keeps the newest (limit 1 gives the newest)", got == [ids[-1]],
       f"got {got}, newest {ids[-1]}, oldest {ids[0]}")
    r = C.req("list", {"labels": {"grp": lab}, "limit": 2})
    got = [a["id"] for a in r.data.get("agents", [])] if r and r.ok else []
    ck(S, "limit 2 gives the two newest, listed oldest first", got == [ids[1], ids[2]], f"got {got}")
    for v in (0, 16385):
        r = C.req("list", {"limit": v})
        ck(S8, f"list.limit {v}: bad_request", err_is(r, "bad_request"), desc(r))
    r = C.req("list", {"limit": 16384})
    ck(S8, "list.limit 16384 is accepted", r is not None and r.ok, desc(r))
    r = C.req("list", {"state": "sleeping"})
    ck(S, "an unknown state: bad_request", err_is(r, "bad_request"), desc(r))
    # usage: absent or true puts a live agent's usage (from its cgroup) in its INFO, false leaves it out of all
    for args, want in (({}, True), ({"usage": True}, True), ({"usage": False}, False)):
        r = C.req("list", {"labels": {"grp": lab}, "all": True, **args})
        ags = r.data.get("agents", []) if r and r.ok else []
        ck(S, f"list {args or 'without usage'}: usage {'in each live' if want else 'left out of every'} INFO",
           len(ags) == 4 and all(("usage" in a) == want for a in ags if want is False or a["state"] == "running"),
           desc(r))
    r = C.req("list", {"usage": 1})
    ck(S, "list usage not a bool: bad_request", err_is(r, "bad_request"), desc(r))
    r = C.req("list", {"labels": {"grp": lab}, "all": True})
    sec4_types(r.data.get("agents", []) if r and r.ok else [])
    for i in ids:
        C.req("kill", {"agent": i})
    return lab


def sec5_agent_ops():
    S = S5("get, pause, resume, kill, remove")
    name = "p-" + uuid.uuid4().hex[:8]
    a = spawn_ok(SLEEP, name=name)
    r = C.req("get", {"agent": name})
    ck(S, "get by unique name", r is not None and r.ok and r.data["agent"]["id"] == a["id"], desc(r))
    r = C.req("get", {"agent": a["id"]})
    ck(S, "get by id: data is {agent: INFO}", r is not None and r.ok and not info_problems(r.data.get("agent")),
       desc(r))
    r = C.req("get", {"agent": a["id"][:8]})
    ck(S, "get by an id prefix is not_found (AGENT is an id or a name)", err_is(r, "not_found"), desc(r))
    r = C.req("resume", {"agent": name})
    ck(S, "resume of a running agent: conflict", err_is(r, "conflict"), desc(r))
    r = C.req("remove", {"agent": name})
    ck(S, "remove of an agent that has not ended: conflict", err_is(r, "conflict"), desc(r))
    r = C.req("pause", {"agent": name})
    st = r.data.get("agent", {}).get("state") if r and r.ok else None
    ck(S, "pause: ok, state pausing or paused", st in ("pausing", "paused"), desc(r))
    ck(S, "pause reply as in the example: state paused", st == "paused", desc(r))
    a2 = wait_state(name, ("paused",), 5)
    ck(S, "pause: the agent reaches paused", a2 and a2["state"] == "paused", a2)
    r = C.req("pause", {"agent": name})
    ck(S, "pause of a paused agent: conflict (not running)", err_is(r, "conflict"), desc(r))
    r = C.req("resume", {"agent": name})
    st = r.data.get("agent", {}).get("state") if r and r.ok else None
    ck(S, "resume: ok, state resuming or running", st in ("resuming", "running"), desc(r))
    a2 = wait_state(name, ("running",), 5)
    ck(S, "resume: the agent reaches running", a2 and a2["state"] == "running", a2)
    r = C.req("kill", {"agent": name})
    ok = r is not None and r.ok
    ck(S, "kill: ok", ok, desc(r))
    a2 = wait_state(name, ("exited", "failed"), 10)
    ck(S, "kill: reason killed", a2 and a2.get("reason") == "killed", a2)
    r = C.req("kill", {"agent": name})
    ck(S, "kill of an ended agent: conflict", err_is(r, "conflict"), desc(r))
    r = C.req("pause", {"agent": name})
    ck(S, "pause of an exited agent: conflict", err_is(r, "conflict"), desc(r))
    r = C.req("remove", {"agent": name})
    ck(S, "remove: ok, INFO as it was just before removal",
       r is not None and r.ok and r.data.get("agent", {}).get("id") == a["id"]
       and r.data["agent"].get("state") == "exited", desc(r))
    r = C.req("get", {"agent": a["id"]})
    ck(S, "after remove: get is not_found", err_is(r, "not_found"), desc(r))
    r = C.req("remove", {"agent": a["id"]})
    ck(S, "remove twice: not_found", err_is(r, "not_found"), desc(r))
    wsd = os.path.join(D.state_dir, "agents", a["id"])
    ck(S, "remove forgets the agent's state directory", not os.path.exists(wsd), wsd)
    guard(S, "get/pause/resume/kill/remove")


def sec5_spawn(controllers):
    S = S5("spawn")
    name = "sp-" + uuid.uuid4().hex[:8]
    ws = os.path.join(D.tmpdir, "ws-" + name)
    os.mkdir(ws, 0o755)
    args = {"argv": [SH, "-c", "id -u; id -G; pwd; echo HOME=$HOME; env | sort; sleep 1000"],
            "env": {"PATH": "/usr/bin:/bin", "ZZ_CONFORM": "1", "DESCARTES_ACTION_FD": "99"}, "workspace": ws, "name": name,
            "labels": {"team": "infra"}, "timeout_ms": 3600000}
    r = spawn(args)
    ck(S, "the example spawn (workspace, name, labels, env, timeout_ms) is ok", r is not None and r.ok, desc(r))
    a = r.data.get("agent", {}) if r and r.ok else {}
    ck(S, "reply after exec: state running with pid, started_ns, spawn_us",
       a.get("state") == "running" and is_int(a.get("pid")) and is_int(a.get("started_ns"))
       and is_int(a.get("spawn_us")), a)
    ck(S, "reply INFO: name, labels, argv as requested, owner_uid 0",
       a.get("name") == name and a.get("labels") == {"team": "infra"} and a.get("argv") == args["argv"]
       and a.get("owner_uid") == 0, a)
    ck(S, "reply INFO: cgroup below the daemon's cgroup root",
       isinstance(a.get("cgroup"), str) and (a["cgroup"].startswith(D.cgroup_root)
                                             or a["cgroup"].startswith(D.cgroup_root[len(dconf.cgroup2_mount()):])),
       a.get("cgroup"))
    ck(S, "reply INFO passes the INFO rules", not info_problems(a), info_problems(a))
    if a:
        t = wait_output(a["id"], "ZZ_CONFORM")
        lines = (t or "").split("\n")
        import pwd
        try:
            au = pwd.getpwnam("descartes-agent").pw_uid
        except KeyError:
            au = None
        uid = a.get("uid")
        ck(S, "identity: a root caller's agent runs as a uid of its own from agent_uids (65536-99999 by "
           "default), the INFO's uid and gid, not descartes-agent's",
           is_int(uid) and 65536 <= uid <= 99999 and uid != au and a.get("gid") == uid
           and lines and lines[0] == str(uid), (uid, t))
        ck(S, "identity: no supplementary groups", len(lines) > 1 and len(lines[1].split()) == 1, t)
        ck(S, "cwd defaults to the workspace", len(lines) > 2 and lines[2] == ws, t)
        ck(S, "HOME is WORKSPACE/.home", f"HOME={ws}/.home" in lines, t)
        envs = {l.split("=", 1)[0] for l in lines[4:] if "=" in l}
        extra = envs - {"PATH", "ZZ_CONFORM", "HOME", "PWD", "SHLVL", "_", "OLDPWD"}
        ck(S, "env is the agent's whole environment (nothing inherited from the daemon) and the action channel's "
           "DESCARTES_ACTION_FD=3", extra == {"DESCARTES_ACTION_FD"} and "DESCARTES_ACTION_FD=3" in lines,
           f"extra variables: {sorted(extra)}")
        r = spawn({"argv": SLEEP, "name": name})
        ck(S, "a name already taken: conflict", err_is(r, "conflict"), desc(r))
        r = spawn({"argv": SLEEP, "workspace": ws})
        b = r.data.get("agent", {}) if r and r.ok else {}
        ck(S, "identity: a second agent of root in the same workspace runs as another uid",
           is_int(b.get("uid")) and b.get("uid") != uid, (uid, desc(r)))
        if b:
            C.req("kill", {"agent": b["id"]})
        r = spawn({"argv": ["/bin/true"], "workspace": "/proc/sys"})
        ck(S, "a workspace whose file system cannot be idmapped: unenforceable, saying so",
           err_is(r, "unenforceable") and "idmapped" in (r.msg or ""), desc(r))
        C.req("kill", {"agent": a["id"]})
    for label, bad in (("empty argv", {"argv": []}), ("argv[0] empty", {"argv": [""]}),
                       ("argv entry an int", {"argv": ["/bin/true", 1]}),
                       ("env name with '='", {"argv": ["/bin/true"], "env": {"A=B": "x"}}),
                       ("empty env name", {"argv": ["/bin/true"], "env": {"": "x"}}),
                       ("relative cwd", {"argv": ["/bin/true"], "cwd": "tmp"}),
                       ("relative workspace", {"argv": ["/bin/true"], "workspace": "ws"}),
                       ("invalid name", {"argv": ["/bin/true"], "name": "-bad"}),
                       ("name with a slash", {"argv": ["/bin/true"], "name": "a/b"}),
                       ("net unknown", {"argv": ["/bin/true"], "net": "bridge"}),
                       ("timeout_ms 0", {"argv": ["/bin/true"], "timeout_ms": 0}),
                       ("limits.memory negative", {"argv": ["/bin/true"], "limits": {"memory": -1}}),
                       ("limits.cpu_millicores 0", {"argv": ["/bin/true"], "limits": {"cpu_millicores": 0}}),
                       ("limits.pids 0", {"argv": ["/bin/true"], "limits": {"pids": 0}}),
                       ("stdin not a bool", {"argv": ["/bin/true"], "stdin": 1}),
                       ("user unknown", {"argv": ["/bin/true"], "user": "no-such-user-" + uuid.uuid4().hex[:6]}),
                       ("neither argv nor backend", {"env": {"A": "b"}}),
                       ("argv and backend", {"argv": ["/bin/true"], "backend": {"name": "x", "task": "t"}}),
                       ("backend without name", {"backend": {"task": "t"}}),
                       ("backend not a map", {"backend": "claude"}),
                       ("backend name over 64 bytes", {"backend": {"name": "b" * 65}}),
                       ("backend task not a string", {"backend": {"name": "x", "task": 1}}),
                       ("backend unknown", {"backend": {"name": "no-such-backend", "task": "t"}})):
        r = spawn(bad)
        ck(S, f"{label}: bad_request", err_is(r, "bad_request"), desc(r))
    r = spawn({"argv": ["/bin/true"]}, timeout=30)
    # net
    r = spawn({"argv": [SH, "-c", "cat /proc/net/dev | tail -n +3 | cut -d: -f1 | tr -d ' '; sleep 1000"]})
    if r and r.ok:
        t = wait_output(r.data["agent"]["id"], "lo", 5)
        ifs = [x for x in (t or "").split("\n") if x]
        ck(S, "net none (default): only loopback", ifs == ["lo"], ifs)
        C.req("kill", {"agent": r.data["agent"]["id"]})
    # spawn_failed, then get shows failed/spawn_failed
    seen = []
    for _ in range(5):  # the window is short: try a few times, every one must already be failed
        nm = "sf-" + uuid.uuid4().hex[:8]
        r = spawn({"argv": ["/nonexistent/x"], "name": nm})
        g = get(nm)
        seen.append((r.code if r is not None else None, g and g.get("state"), g and g.get("reason")))
    ck(S, "a missing program: spawn_failed", all(x[0] == "spawn_failed" for x in seen), seen)
    ck(S7, "right after the spawn_failed reply the agent is failed with reason spawn_failed",
       all(x[1:] == ("failed", "spawn_failed") for x in seen), seen)
    r = spawn({"argv": ["/bin/true"], "cwd": "/nonexistent-" + uuid.uuid4().hex[:6]})
    ck(S, "a cwd that does not exist: spawn_failed naming cwd", err_is(r, "spawn_failed") and "cwd" in r.msg,
       desc(r))
    # limits
    if "memory" not in controllers:
        r = spawn({"argv": ["/bin/true"], "limits": {"memory": 64 * MIB}})
        ck(S, "limits.memory without the memory controller: unenforceable", err_is(r, "unenforceable"), desc(r))
    else:
        r = spawn({"argv": SLEEP, "limits": {"memory": 64 * MIB}})
        lim = r.data.get("agent", {}).get("limits", {}) if r and r.ok else {}
        ck(S, "limits.memory is in force (INFO limits) with swap 0", lim.get("memory") == 64 * MIB
           and lim.get("swap", 0) == 0, desc(r))
        if r and r.ok:
            C.req("kill", {"agent": r.data["agent"]["id"]})
    if "pids" not in controllers:
        r = spawn({"argv": ["/bin/true"], "limits": {"pids": 10}})
        ck(S, "limits.pids without the pids controller: unenforceable", err_is(r, "unenforceable"), desc(r))
    if "cpu" not in controllers:
        r = spawn({"argv": ["/bin/true"], "limits": {"cpu_millicores": 500}})
        ck(S, "limits.cpu_millicores without the cpu controller: unenforceable", err_is(r, "unenforceable"),
           desc(r))
    # policy
    r = spawn({"argv": ["/bin/true"], "policy": "no-such-policy-" + uuid.uuid4().hex[:6]})
    ck(S, "an unknown policy name is refused", r is not None and not r.ok, desc(r))
    # user as root: a numeric uid
    r = spawn({"argv": [SH, "-c", "id -u; sleep 1000"], "user": "65534"})
    if r is not None and r.ok:
        t = wait_output(r.data["agent"]["id"], "65534", 5)
        ck(S, "root naming a numeric uid: the agent runs as it", t is not None and "65534" in t, t)
        C.req("kill", {"agent": r.data["agent"]["id"]})
    else:
        ck(S, "root naming a numeric uid: the agent runs as it", False, desc(r))
    r = spawn({"argv": ["/bin/true"], "user": "root"})
    ck(S, "user root (allow_root no): refused", r is not None and not r.ok, desc(r))
    # timeout_ms
    r = spawn({"argv": SLEEP, "timeout_ms": 300})
    if r and r.ok:
        a = wait_state(r.data["agent"]["id"], ("exited", "failed"), 10)
        ck(S7, "timeout_ms passed: exited with reason timed_out", a and a.get("reason") == "timed_out", a)
    guard(S, "spawn")


def sec5_stop():
    S = S5("stop")
    a = spawn_ok(SLEEP)
    t0 = time.monotonic()
    r = C.req("stop", {"agent": a["id"], "grace_ms": 5000}, timeout=30)
    ag = r.data.get("agent", {}) if r and r.ok else {}
    ck(S, "stop: the reply comes when the agent has ended: state exited, reason stopped, signal 15",
       ag.get("state") == "exited" and ag.get("reason") == "stopped" and ag.get("signal") == 15, desc(r))
    # an agent ignoring SIGTERM is killed after grace_ms
    a = spawn_ok([SH, "-c", "trap '' TERM; echo ready; while :; do sleep 0.1; done"])
    wait_output(a["id"], "ready", 5)
    t0 = time.monotonic()
    r = C.req("stop", {"agent": a["id"], "grace_ms": 500}, timeout=30)
    dt = time.monotonic() - t0
    ag = r.data.get("agent", {}) if r and r.ok else {}
    ck(S, "stop of an agent ignoring SIGTERM: killed after grace_ms, reason stopped, reply after it ended",
       ag.get("state") == "exited" and ag.get("reason") == "stopped" and 0.4 <= dt < 8, f"{dt:.2f}s {desc(r)}")
    a = spawn_ok(SLEEP)
    r = C.req("stop", {"agent": a["id"], "grace_ms": 0}, timeout=30)
    ag = r.data.get("agent", {}) if r and r.ok else {}
    ck(S, "stop grace_ms 0 kills at once: exited, reason stopped", ag.get("state") == "exited"
       and ag.get("reason") == "stopped", desc(r))
    r = C.req("stop", {"agent": "nope-" + uuid.uuid4().hex[:6]}, timeout=10)
    ck(S, "stop of an unknown agent: not_found", err_is(r, "not_found"), desc(r))
    guard(S, "stop of an unknown agent")
    r = C.req("stop", {"agent": str(uuid.uuid4())}, timeout=10)
    ck(S, "stop of an unknown UUID: not_found", err_is(r, "not_found"), desc(r))
    guard(S, "stop of an unknown UUID")


def sec5_wait():
    S = S5("wait")
    a = spawn_ok([SH, "-c", "sleep 0.5; exit 3"])
    r = C.req("wait", {"agent": a["id"]}, timeout=30)
    ag = r.data.get("agent", {}) if r and r.ok else {}
    ck(S, "wait: the reply comes when the agent has ended, with its final INFO (exited, completed, exit_code)",
       ag.get("state") == "exited" and ag.get("reason") == "completed" and ag.get("exit_code") == 3, desc(r))
    r = C.req("wait", {"agent": a["id"], "timeout_ms": 1})
    ck(S, "wait on an agent that has ended: its INFO at once", r is not None and r.ok
       and r.data.get("agent", {}).get("state") == "exited", desc(r))
    b = spawn_ok(SLEEP)
    t0 = time.monotonic()
    r = C.req("wait", {"agent": b["id"], "timeout_ms": 300}, timeout=10)
    dt = time.monotonic() - t0
    ck(S, "wait past timeout_ms: timeout, after timeout_ms", err_is(r, "timeout") and 0.25 <= dt < 5,
       f"{dt:.2f}s {desc(r)}")
    ck(S, "wait past timeout_ms leaves the agent running", (get(b["id"]) or {}).get("state") == "running")
    for v in (0, -1, "1", 1.5):
        r = C.req("wait", {"agent": b["id"], "timeout_ms": v})
        ck(S, f"wait timeout_ms {v!r}: bad_request", err_is(r, "bad_request"), desc(r))
    r = C.req("batch", {"op": "wait", "agents": [b["id"]]})
    ck(S, "wait is not batchable: bad_request", err_is(r, "bad_request"), desc(r))
    C.req("kill", {"agent": b["id"]}, timeout=30)
    r = C.req("wait", {"agent": str(uuid.uuid4())}, timeout=10)
    ck(S, "wait on an unknown UUID: not_found", err_is(r, "not_found"), desc(r))
    guard(S, "wait on an unknown UUID")


def sec5_signal():
    S = S5("signal")
    a = spawn_ok([SH, "-c", "trap 'echo got-hup' HUP; trap 'echo got-usr1' USR1; trap 'echo got-rt' 40; "
                            "echo ready; while :; do sleep 0.05; done"])
    wait_output(a["id"], "ready", 5)
    for v, needle in (("HUP", "got-hup"), ("SIGUSR1", "got-usr1")):
        r = C.req("signal", {"agent": a["id"], "signal": v})
        ck(S, f"signal {v!r}: ok with data {{agent: INFO}}", r is not None and r.ok and "agent" in r.data, desc(r))
        t = wait_output(a["id"], needle, 5)
        ck(S, f"signal {v!r} is delivered to the main process", t is not None and needle in t, t)
    for v in ("usr1", "sigHup", 1, 40):
        r = C.req("signal", {"agent": a["id"], "signal": v})
        ck(S, f"signal {v!r} is accepted", r is not None and r.ok, desc(r))
    for v in (0, 65, -1, "NOPE", "RTMIN", "SIGRTMIN+1", "", "15"):
        r = C.req("signal", {"agent": a["id"], "signal": v})
        ck(S, f"signal {v!r}: bad_request", err_is(r, "bad_request"), desc(r))
    r = C.req("signal", {"agent": a["id"], "signal": 15.0})
    ck(S, "signal as a float: bad_request", err_is(r, "bad_request"), desc(r))
    r = C.req("signal", {"agent": a["id"]})
    ck(S, "signal missing: bad_request naming args.signal", err_is(r, "bad_request") and "signal" in r.msg, desc(r))
    C.req("kill", {"agent": a["id"]})
    b = spawn_ok([SH, "-c", "kill -USR2 $$"])
    b = wait_state(b["id"], ("exited", "failed"))
    ck(S7, "killed by a signal we did not send: reason signaled with signal", b and b.get("reason") == "signaled"
       and b.get("signal") == 12, b)
    b = spawn_ok([SH, "-c", "exit 3"])
    b = wait_state(b["id"], ("exited", "failed"))
    ck(S7, "exited by itself: reason completed with exit_code", b and b.get("reason") == "completed"
       and b.get("exit_code") == 3, b)
    guard(S, "signal")


def sec5_exec():
    S = S5("exec")
    a = spawn_ok([SH, "-c", "readlink /proc/self/ns/net; id -u; echo ready; sleep 1000"])
    t = wait_output(a["id"], "ready", 5) or ""
    r = C.req("exec", {"agent": a["id"], "argv": [SH, "-c", "readlink /proc/self/ns/net; id -u; cat; echo e >&2; exit 4"],
                       "stdin": b"in\n"}, timeout=30)
    d = r.data if r is not None and r.ok else {}
    ck(S, "the reply: exit_code, timed_out false, stdout and stderr as bin, their byte counts, duration_us",
       d.get("exit_code") == 4 and d.get("timed_out") is False and isinstance(d.get("stdout"), bytes)
       and d.get("stderr") == b"e\n" and d.get("stdout_bytes") == len(d.get("stdout", b"")) and d.get("stderr_bytes") == 2
       and is_int(d.get("duration_us")) and "signal" not in d, desc(r))
    ck(S, "stdin reaches the command; it runs in the agent's network namespace as the agent's uid",
       d.get("stdout", b"").decode(errors="replace").split("\n")[:2] == t.strip().split("\n")[:2]
       and d.get("stdout", b"").endswith(b"in\n"), f"{d.get('stdout')!r} vs agent {t!r}")
    r = C.req("exec", {"agent": a["id"], "argv": ["/bin/sleep", "100"], "timeout_ms": 200}, timeout=30)
    d = r.data if r is not None and r.ok else {}
    ck(S, "timeout_ms: killed, timed_out true, signal 9, no exit_code",
       d.get("timed_out") is True and d.get("signal") == 9 and "exit_code" not in d, desc(r))
    r = C.req("exec", {"agent": a["id"], "argv": [SH, "-c", "head -c 20000 /dev/zero"]}, timeout=30)
    d = r.data if r is not None and r.ok else {}
    ck(S8, "exec stdout: the first 16 KiB, stdout_bytes counts all",
       len(d.get("stdout", b"")) == 16384 and d.get("stdout_bytes") == 20000, desc(r)[:300])
    for what, args in (("argv missing", {}), ("argv empty", {"argv": []}), ("argv[0] empty", {"argv": [""]}),
                       ("argv over 16 KiB", {"argv": ["/bin/true", "x" * 16384]}),
                       ("argv over 1024 entries", {"argv": ["/bin/true"] * 1025}),
                       ("stdin over 32 KiB", {"argv": ["/bin/true"], "stdin": b"x" * (32 * 1024 + 1)}),
                       ("stdin as a str", {"argv": ["/bin/true"], "stdin": "x"}),
                       ("timeout_ms 0", {"argv": ["/bin/true"], "timeout_ms": 0}),
                       ("timeout_ms over 1 h", {"argv": ["/bin/true"], "timeout_ms": 3600001})):
        r = C.req("exec", dict({"agent": a["id"]}, **args))
        ck(S8 if "over" in what else S, f"exec with {what}: bad_request", err_is(r, "bad_request"), desc(r))
    r = C.req("exec", {"agent": a["id"], "argv": ["/no/such/command"]}, timeout=30)
    ck(S, "a command that does not start: spawn_failed", err_is(r, "spawn_failed"), desc(r))
    r = C.req("pause", {"agent": a["id"]}, timeout=30)
    r = C.req("exec", {"agent": a["id"], "argv": ["/bin/true"]}, timeout=30)
    ck(S, "exec into a paused agent: conflict", err_is(r, "conflict"), desc(r))
    C.req("kill", {"agent": a["id"]}, timeout=30)
    wait_state(a["id"], ("exited",), 10)
    r = C.req("exec", {"agent": a["id"], "argv": ["/bin/true"]}, timeout=30)
    ck(S, "exec into an ended agent: conflict", err_is(r, "conflict"), desc(r))
    r = C.req("exec", {"agent": "nope-" + uuid.uuid4().hex[:6], "argv": ["/bin/true"]}, timeout=10)
    ck(S, "exec into an unknown agent: not_found", err_is(r, "not_found"), desc(r))
    guard(S, "exec")


def sec5_health_check():
    S = S5("spawn")
    r = C.req("spawn", {"argv": [SH, "-c", "touch ok; sleep 1000"],
                        "health_check": {"cmd": ["test", "-f", "ok"], "interval_ms": 200, "retries": 1,
                                         "on_unhealthy": "kill"}}, timeout=20)
    a = r.data.get("agent", {}) if r is not None and r.ok else {}
    hc = a.get("health_check", {})
    ck(S, "health_check: INFO has its settings with the defaults filled in, and health starting",
       a.get("health") == "starting" and hc.get("cmd") == ["test", "-f", "ok"] and hc.get("timeout_ms") == 5000
       and hc.get("retries") == 1 and hc.get("interval_ms") == 200 and hc.get("on_unhealthy") == "kill"
       and not info_problems(a), desc(r))
    deadline = time.monotonic() + 10
    g = a
    while time.monotonic() < deadline and g.get("health") != "healthy":
        time.sleep(0.05)
        g = get(a.get("id", "none")) or {}
    ck(S, "a check that passes: health healthy, health_last with exit_code 0 and failures 0",
       g.get("health") == "healthy" and g.get("health_last", {}).get("exit_code") == 0
       and g.get("health_last", {}).get("failures") == 0 and not info_problems(g), g)
    C.req("exec", {"agent": a.get("id", "none"), "argv": ["rm", "ok"]}, timeout=30)
    g = wait_state(a.get("id", "none"), ("exited",), 10) or {}
    ck(S, "on_unhealthy kill: the failing check ends it (reason killed, health unhealthy with a reason)",
       g.get("reason") == "killed" and g.get("health") == "unhealthy" and g.get("health_last", {}).get("reason"),
       g)
    for what, hc in (("neither cmd nor idle_timeout_ms", {}), ("cmd[0] empty", {"cmd": [""]}),
                     ("interval_ms under 100", {"cmd": ["true"], "interval_ms": 99}),
                     ("retries 0", {"cmd": ["true"], "retries": 0}),
                     ("retries over 100", {"cmd": ["true"], "retries": 101}),
                     ("on_unhealthy unknown", {"cmd": ["true"], "on_unhealthy": "restart"}),
                     ("idle_timeout_ms under 100", {"idle_timeout_ms": 5})):
        r = C.req("spawn", {"argv": ["/bin/true"], "health_check": hc}, timeout=20)
        ck(S, f"health_check with {what}: bad_request", err_is(r, "bad_request"), desc(r))
    guard(S, "health checks")


def sec5_stdin():
    S = S5("stdin")
    a = spawn_ok(["/bin/cat"], stdin=True)
    r = C.req("stdin", {"agent": a["id"], "data": b"yes\n", "close": True})
    ck(S, "the example: written 4", r is not None and r.ok and r.data.get("written") == 4, desc(r))
    t = wait_output(a["id"], "yes", 5)
    ck(S, "the data reaches the agent's stdin", t is not None and "yes" in t, t)
    a2 = wait_state(a["id"], ("exited",), 5)
    ck(S, "close: true closes stdin (cat ends, completed 0)", a2 and a2.get("reason") == "completed", a2)
    r = C.req("stdin", {"agent": a["id"], "data": b"more"})
    ck(S, "stdin after close: conflict", err_is(r, "conflict"), desc(r))
    b = spawn_ok(SLEEP)
    r = C.req("stdin", {"agent": b["id"], "data": b"x"})
    ck(S, "stdin of an agent spawned without stdin: true: conflict", err_is(r, "conflict"), desc(r))
    C.req("kill", {"agent": b["id"]})
    c = spawn_ok([SH, "-c", "wc -c; sleep 1000"], stdin=True)
    r = C.req("stdin", {"agent": c["id"], "data": "text"})
    ck(S, "data as a str: bad_request", err_is(r, "bad_request"), desc(r))
    r = C.req("stdin", {"agent": c["id"], "data": b"\0" * (MIB + 1)})
    ck(S8, "stdin.data over 1 MiB: bad_request", err_is(r, "bad_request"), desc(r))
    total = 0
    r = C.req("stdin", {"agent": c["id"], "data": b"a" * (64 * 1024)})
    ck(S, "stdin.data of 64 KiB is accepted (written > 0)", r is not None and r.ok and r.data.get("written", 0) > 0,
       desc(r))
    total += r.data.get("written", 0) if r and r.ok else 0
    r = C.req("stdin", {"agent": c["id"], "data": b"a" * MIB})
    ck(S8, "stdin.data of exactly 1 MiB is accepted (written may be fewer)",
       r is not None and r.ok and is_int(r.data.get("written")), desc(r))
    total += r.data.get("written", 0) if r and r.ok else 0
    r = C.req("stdin", {"agent": c["id"], "close": True})
    ck(S, "close without data is ok", r is not None and r.ok, desc(r))
    t = wait_output(c["id"], str(total), 5)
    ck(S, "written counts what the agent received (a refused write delivers nothing)", t is not None and t.strip().split("\n")[-1] == str(total),
       f"written {total}, agent read {t!r}")
    C.req("kill", {"agent": c["id"]})
    r = C.req("stdin", {"agent": "nope-" + uuid.uuid4().hex[:6], "data": b"x"}, timeout=10)
    ck(S, "stdin of an unknown agent: not_found", err_is(r, "not_found"), desc(r))
    guard(S, "stdin of an unknown agent")


def sec5_output():
    S = S5("output")
    a = spawn_ok([SH, "-c", "for i in 1 2 3 4 5; do echo out$i; echo error: e$i >&2; done; printf 'nul\\000x\\n'; "
                            "printf '\\377bin\\n'; sleep 1000"])
    wait_output(a["id"], "bin", 5)
    time.sleep(0.3)
    r = C.req("output", {"agent": a["id"]})
    d = r.data if r and r.ok else {}
    lines = d.get("lines", [])
    ck(S, "lines mode by default: lines, total, has_more, dropped; no data",
       isinstance(lines, list) and is_int(d.get("total")) and isinstance(d.get("has_more"), bool)
       and is_int(d.get("dropped")) and "data" not in d, desc(r))
    ck(S, "each line is {seq, ts_ns, stream, text}", all(is_int(l.get("seq")) and is_int(l.get("ts_ns"))
                                                         and l.get("stream") in ("stdout", "stderr")
                                                         and isinstance(l.get("text"), str) for l in lines), lines)
    seqs = [l.get("seq") for l in lines]
    ck(S, "seq per agent from 1, increasing", seqs and min(seqs) == 1 and seqs == sorted(seqs), seqs)
    ck(S, "all 12 lines, stdout and stderr", len(lines) == 12, len(lines))
    ck(S, "text may contain a NUL byte", any(l.get("text") == "nul\0x" for l in lines),
       [l.get("text") for l in lines][-3:])
    ck(S, "text need not be UTF-8 (the agent's bytes)", any(l.get("text", "").endswith("bin")
                                                           and l["text"].encode("utf-8", "surrogateescape")[0] == 0xff
                                                           for l in lines), [l.get("text") for l in lines][-2:])
    r = C.req("output", {"agent": a["id"], "stream": "stderr", "grep": "^error", "tail": 2})
    d = r.data if r and r.ok else {}
    ck(S, "the example: stream stderr, grep ^error, tail 2 -> the last two, total 5",
       [l.get("text") for l in d.get("lines", [])] == ["error: e4", "error: e5"] and d.get("total") == 5
       and d.get("has_more") is False, desc(r))
    r = C.req("output", {"agent": a["id"], "stream": "stdout", "limit": 2})
    d = r.data if r and r.ok else {}
    ck(S, "limit 2: the two oldest, has_more true, a cursor",
       [l.get("text") for l in d.get("lines", [])] == ["out1", "out2"] and d.get("has_more") is True
       and isinstance(d.get("cursor"), str), desc(r))
    if isinstance(d.get("cursor"), str):
        ck(S8, "cursor is 1..256 bytes", 1 <= len(d["cursor"]) <= 256, d["cursor"])
        r = C.req("output", {"agent": a["id"], "stream": "stdout", "limit": 2, "cursor": d["cursor"]})
        d2 = r.data if r and r.ok else {}
        ck(S, "cursor continues where the previous reply ended",
           [l.get("text") for l in d2.get("lines", [])] == ["out3", "out4"], desc(r))
    r = C.req("output", {"agent": a["id"], "stream": "stdout", "offset": 3})
    d = r.data if r and r.ok else {}
    ck(S, "offset 3 skips three matching lines", [l.get("text") for l in d.get("lines", [])][:2] == ["out4", "out5"],
       desc(r))
    r = C.req("output", {"agent": a["id"], "mode": "raw", "stream": "stdout"})
    d = r.data if r and r.ok else {}
    ck(S, "raw mode: data is a bin, no lines", isinstance(d.get("data"), bytes) and "lines" not in d
       and is_int(d.get("total")), desc(r))
    ck(S, "raw mode: the stdout bytes", isinstance(d.get("data"), bytes) and d["data"].startswith(b"out1\nout2\n"),
       desc(r))
    r = C.req("output", {"agent": a["id"], "mode": "raw", "stream": "stdout", "offset": 5, "limit": 4})
    d = r.data if r and r.ok else {}
    ck(S, "raw mode: byte offset and limit", d.get("data") == b"out2", desc(r))
    r = C.req("output", {"agent": a["id"], "since_ns": time.time_ns() + 10**12})
    d = r.data if r and r.ok else {}
    ck(S, "since_ns in the future: no lines", r is not None and r.ok and d.get("lines") == [], desc(r))
    for label, bad in (("tail and offset together", {"tail": 1, "offset": 1}),
                       ("limit 0", {"limit": 0}), ("lines limit 65537", {"limit": 65537}),
                       ("lines tail 65537", {"tail": 65537}),
                       ("raw limit 8388609", {"mode": "raw", "limit": 8388609}),
                       ("grep over 4096 bytes", {"grep": "a" * 4097}),
                       ("cursor over 256 bytes", {"cursor": "c" * 257}),
                       ("stream unknown", {"stream": "stdall"}), ("mode unknown", {"mode": "json"}),
                       ("grep in raw mode", {"mode": "raw", "grep": "x"}),
                       ("an invalid PCRE2 pattern", {"grep": "("})):
        args = {"agent": a["id"]}
        args.update(bad)
        r = C.req("output", args)
        ck(S8 if "over" in label or "655" in label or "8388609" in label else S, f"output {label}: bad_request",
           err_is(r, "bad_request"), desc(r))
    for label, ok in (("lines limit 65536", {"limit": 65536}), ("raw limit 8388608", {"mode": "raw", "limit": 8388608}),
                      ("grep of 4096 bytes", {"grep": "a" * 4096})):
        args = {"agent": a["id"]}
        args.update(ok)
        r = C.req("output", args)
        ck(S8, f"output {label} is accepted", r is not None and r.ok, desc(r))
    C.req("kill", {"agent": a["id"]})
    guard(S, "output")


EXAMPLES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "examples")


def example_argv(name):
    """An example agent of examples/, its text passed in argv (the agent's view need not show the tree)."""
    with open(os.path.join(EXAMPLES, name)) as f:
        text = f.read()
    return ["python3", "-c", text] if name.endswith(".py") else ["/bin/bash", "-c", text]


# An agent that writes junk on its action channel before it answers properly: the shim drops and counts the
# junk, neither it nor the daemon stalls, and the real answers still get through.
HOSTILE_ACTION_AGENT = r"""
import json, os, socket, sys
c = socket.socket(fileno=int(os.environ["DESCARTES_ACTION_FD"]))
c.sendall(b'{"ready":true}\n')
junk = [b"not json", b'{"id":"0000000000000001","result":1}', b"[" * 100000, b'{"id":' + b"[" * 40 + b"]" * 40 + b"}",
        b"x" * 200000, b'{"id":"zz","result":1}', b"\x00\xff", b'{"id":"aaaaaaaaaaaaaaaa","id":"b"}', b"{}",
        b'{"ready":true,"result":' + b"[" * 14 + b"]" * 14 + b"}"]
for j in junk:
    c.sendall(j + b"\n")
c.sendall(b"y" * 1000000 + b"\n" + b"z" * 10)  # an overlong line, then a partial one ended by the next
c.sendall(b"\n")
print("junk sent", flush=True)
for line in c.makefile("rb"):
    req = json.loads(line)
    if req["name"] == "twice":
        for _ in range(2):
            c.sendall((json.dumps({"id": req["id"], "result": "first"}) + "\n").encode())
    elif req["name"] == "neither":
        c.sendall((json.dumps({"id": req["id"], "other": 1}) + "\n").encode())
    elif req["name"] == "deep":
        v = 0
        for _ in range(int(req["params"]["levels"])):
            v = [v]
        c.sendall((json.dumps({"id": req["id"], "result": v}) + "\n").encode())
    else:
        c.sendall((json.dumps({"id": req["id"], "result": "ok"}) + "\n").encode())
"""


def action_ready(ref, timeout=15):
    """Waits until the agent has opened its action channel: `echo` stops being a conflict."""
    deadline = time.monotonic() + timeout
    r = None
    while time.monotonic() < deadline:
        r = C.req("action", {"agent": ref, "name": "echo", "params": {"probe": 1}}, timeout=10)
        if r is None or not err_is(r, "conflict"):
            return r
        time.sleep(0.05)
    return r


def stat(name):
    r = C.req("stats")
    return r.data.get(name) if r is not None and r.ok else None


def sec5_action():
    S = S5("action")
    a = spawn_ok(SLEEP)
    r = C.req("action", {"agent": a["id"], "name": "checkpoint", "params": {"path": "/tmp/x"}, "timeout_ms": 500},
              timeout=10)
    ck(S, "an agent without an action channel: conflict (answered at once, not a timeout)", err_is(r, "conflict"),
       desc(r))
    for label, bad in (("name over 64 bytes", {"name": "n" * 65}), ("name empty", {"name": ""}),
                       ("params not a map", {"name": "x", "params": [1]}),
                       ("params over 1 MiB", {"name": "x", "params": {"b": b"\0" * (MIB + 10)}}),
                       ("timeout_ms over 10 minutes", {"name": "x", "timeout_ms": 600001}),
                       ("name missing", {})):
        args = {"agent": a["id"]}
        args.update(bad)
        r = C.req("action", args, timeout=10)
        ck(S8 if "over" in label else S, f"action {label}: bad_request", err_is(r, "bad_request"), desc(r))

    # the Python example agent (examples/action-agent.py)
    py = spawn_ok(example_argv("action-agent.py"), name="act-py-" + uuid.uuid4().hex[:6])
    r = action_ready(py["id"])
    ck(S, "python example agent: echo round trip returns its params", r is not None and r.ok
       and r.data.get("result") == {"probe": 1}, desc(r))
    r = C.req("action", {"agent": py["id"], "name": "add", "params": {"a": 2, "b": 40}}, timeout=10)
    ck(S, "action result is the agent's value (add: 42)", r is not None and r.ok and r.data.get("result") == 42,
       desc(r))
    r = C.req("action", {"agent": py["id"], "name": "fail", "params": {"why": "no-disk"}}, timeout=10)
    ck(S, "the agent's error: action_failed naming its code and message", err_is(r, "action_failed")
       and "E_FAIL" in r.msg and "no-disk" in r.msg, desc(r))
    # 100 in flight to one agent, each answered with its own params
    rids = {C.send("action", {"agent": py["id"], "name": "echo", "params": {"n": i}}): i for i in range(100)}
    got = {rid: C.wait(rid, 30) for rid in rids}
    bad = [(i, desc(got[rid])) for rid, i in rids.items()
           if got[rid] is None or not got[rid].ok or got[rid].data.get("result") != {"n": i}]
    ck(S, "100 actions in flight to one agent: all answered, each matched to its own request", not bad, bad[:3])
    # no answer: timeout; a late answer is dropped and counted (stats actions.late)
    r = C.req("action", {"agent": py["id"], "name": "ignore", "timeout_ms": 200}, timeout=10)
    ck(S, "an agent that never answers: timeout", err_is(r, "timeout"), desc(r))
    late = stat("actions.late")
    r = C.req("action", {"agent": py["id"], "name": "sleep", "params": {"ms": 600}, "timeout_ms": 100},
              timeout=10)
    ck(S, "an answer after timeout_ms: timeout", err_is(r, "timeout"), desc(r))
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and stat("actions.late") == late:
        time.sleep(0.05)
    ck(S5("stats"), "a late answer is dropped and counted in stats actions.late",
       is_int(late) and stat("actions.late") == late + 1, (late, stat("actions.late")))
    if os.environ.get("DESCARTESCTL"):
        def ctl(*args):
            p = subprocess.run([os.environ["DESCARTESCTL"], "-H", D.control, "action"] + list(args),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
            return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")
        rc, out, err = ctl(py["id"], "echo", "--param", "k=v", "--json", '{"n": [1, 2]}', "--timeout", "5s")
        ck(S, "descartesctl action: prints the result as JSON (--param and --json merged), exit 0",
           rc == 0 and json.loads(out or "null") == {"k": "v", "n": [1, 2]}, (rc, out, err))
        rc, out, err = ctl(py["id"], "fail", "-p", "why=full")
        ck(S, "descartesctl action: the agent's error exits 14 with its message", rc == 14 and "E_FAIL" in err
           and "full" in err, (rc, out, err))
        rc, out, err = ctl(a["id"], "echo")
        ck(S, "descartesctl action: an agent without the channel exits 6 (conflict) with a clear message",
           rc == 6 and "action channel" in err, (rc, out, err))
    r = C.req("batch", {"op": "action", "agents": [py["id"]], "args": {"name": "echo", "params": {"b": 1}}})
    ck(S5("batch"), "batch action: delivered, ok", r is not None and r.ok and r.data.get("ok_count") == 1, desc(r))
    C.req("kill", {"agent": py["id"]})
    C.req("kill", {"agent": a["id"]})

    # a hostile agent: junk on the channel is dropped and counted; nothing stalls
    dropped = stat("actions.dropped")
    ho = spawn_ok(["python3", "-c", HOSTILE_ACTION_AGENT], name="act-ho-" + uuid.uuid4().hex[:6])
    wait_output(ho["id"], "junk sent", 15)
    r = action_ready(ho["id"])
    ck(S, "hostile agent: after its junk lines an action is still answered", r is not None and r.ok
       and r.data.get("result") == "ok", desc(r))
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and (stat("actions.dropped") or 0) < (dropped or 0) + 12:
        time.sleep(0.05)
    ck(S5("stats"), "hostile agent: every junk line is dropped and counted in stats actions.dropped (12)",
       is_int(dropped) and stat("actions.dropped") == dropped + 12, (dropped, stat("actions.dropped")))
    r = C.req("action", {"agent": ho["id"], "name": "twice"}, timeout=10)
    ck(S, "hostile agent: an action answered twice gets the first answer", r is not None and r.ok
       and r.data.get("result") == "first", desc(r))
    r = C.req("action", {"agent": ho["id"], "name": "neither"}, timeout=10)
    ck(S, "hostile agent: an answer with neither result nor error: action_failed", err_is(r, "action_failed"),
       desc(r))
    r = C.req("action", {"agent": ho["id"], "name": "deep", "params": {"levels": 12}}, timeout=10)
    ck(S8, "an agent's result of 12 levels is answered", r is not None and r.ok, desc(r))
    r = C.req("action", {"agent": ho["id"], "name": "deep", "params": {"levels": 13}, "timeout_ms": 500},
              timeout=10)
    ck(S8, "an agent's result of 13 levels is dropped by its shim (the action times out)", err_is(r, "timeout"),
       desc(r))
    C.req("kill", {"agent": ho["id"]})
    r = C.req("action", {"agent": py["id"], "name": "echo"}, timeout=10)
    ck(S, "an agent that has ended: conflict", err_is(r, "conflict"), desc(r))

    # the shell example agent (examples/action-agent.sh)
    sh = spawn_ok(example_argv("action-agent.sh"), name="act-sh-" + uuid.uuid4().hex[:6])
    r = action_ready(sh["id"])
    ck(S, "shell example agent: echo round trip returns its params", r is not None and r.ok
       and r.data.get("result") == {"probe": 1}, desc(r))
    r = C.req("action", {"agent": sh["id"], "name": "ping"}, timeout=10)
    ck(S, "shell example agent: ping", r is not None and r.ok and isinstance(r.data.get("result"), dict)
       and r.data["result"].get("pong") is True, desc(r))
    C.req("kill", {"agent": sh["id"]})
    guard(S, "action")


def sec5_action_restart():
    """After sec2_ttl_finish: a kill -9 loses the remembered replies of reads."""
    S = S5("action")
    py = spawn_ok(example_argv("action-agent.py"), name="act-rs-" + uuid.uuid4().hex[:6])
    r = action_ready(py["id"])
    ck(S, "python example agent ready for the restart test", r is not None and r.ok, desc(r))
    # across a daemon restart: the shim holds the action; the client's resend (same id) gets the answer
    rid = C.send("action", {"agent": py["id"], "name": "sleep", "params": {"ms": 1500}, "timeout_ms": 30000})
    time.sleep(0.3)
    D.kill(signal.SIGKILL)
    D.start()
    C.reopen()
    r = None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        r = C.req("action", {"agent": py["id"], "name": "sleep", "params": {"ms": 1500}, "timeout_ms": 30000},
                  rid=rid, timeout=30)
        if r is not None:
            break
    ck(S, "an action across a daemon restart (kill -9): the resend with the same id gets the agent's answer",
       r is not None and r.ok and r.data.get("result") == {"slept_ms": 1500}, desc(r))
    r = C.req("action", {"agent": py["id"], "name": "add", "params": {"a": 1, "b": 1}}, timeout=10)
    ck(S, "after the restart the channel still works", r is not None and r.ok and r.data.get("result") == 2, desc(r))
    C.req("kill", {"agent": py["id"]})
    guard(S, "action across a restart")


def sec5_batch():
    S = S5("batch")
    lab = uuid.uuid4().hex[:8]
    ags = [spawn_ok(SLEEP, labels={"bt": lab}, name=f"bt-{lab}-{i}") for i in range(3)]
    ids = [x["id"] for x in ags]
    r = C.req("batch", {"op": "get", "agents": [ids[0], f"bt-{lab}-1", "nope-" + lab]})
    d = r.data if r and r.ok else {}
    res = d.get("results", [])
    ck(S, "batch get by agents: results per agent, ok_count 2, failed_count 1",
       len(res) == 3 and d.get("ok_count") == 2 and d.get("failed_count") == 1, desc(r))
    ck(S, "results[].agent is the agent's id, or the reference given when it named no agent",
       [x.get("agent") for x in res] == [ids[0], ids[1], "nope-" + lab], res)
    ck(S, "err present (not_found) when ok is false, absent when ok",
       len(res) == 3 and res[2].get("ok") is False and res[2].get("err", {}).get("code") == "not_found"
       and "err" not in res[0], res)
    r = C.req("batch", {"op": "pause", "selector": {"labels": {"bt": lab}}})
    d = r.data if r and r.ok else {}
    ck(S, "batch pause by selector labels", d.get("ok_count") == 3, desc(r))
    r = C.req("batch", {"op": "resume", "selector": {"name_glob": f"bt-{lab}-[01]"}})
    d = r.data if r and r.ok else {}
    ck(S, "selector name_glob (fnmatch)", d.get("ok_count") == 2 and len(d.get("results", [])) == 2, desc(r))
    r = C.req("batch", {"op": "resume", "selector": {"labels": {"bt": lab}}, "fail_fast": True})
    d = r.data if r and r.ok else {}
    ck(S, "fail_fast stops at the first failure (agents not reached are not listed)",
       d.get("failed_count") == 1 and len(d.get("results", [])) == d.get("ok_count", -9) + 1, desc(r))
    r = C.req("batch", {"op": "signal", "agents": ids})
    ck(S, "signal without args: bad_request", err_is(r, "bad_request"), desc(r))
    r = C.req("batch", {"op": "signal", "agents": ids, "args": {"signal": "CONT"}})
    ck(S, "signal with args {signal}", r is not None and r.ok and r.data.get("ok_count") == 3, desc(r))
    r = C.req("batch", {"op": "action", "agents": ids})
    ck(S, "action without args: bad_request", err_is(r, "bad_request"), desc(r))
    for label, bad in (("an unbatchable op (spawn)", {"op": "spawn", "agents": ids}),
                       ("batch inside batch", {"op": "batch", "agents": ids}),
                       ("both agents and selector", {"op": "get", "agents": ids, "selector": {}}),
                       ("neither agents nor selector", {"op": "get"}),
                       ("agents over 4096", {"op": "get", "agents": ["x"] * 4097}),
                       ("name_glob over 256 bytes", {"op": "get", "selector": {"name_glob": "*" * 257}})):
        r = C.req("batch", bad)
        ck(S8 if "over" in label else S, f"batch {label}: bad_request", err_is(r, "bad_request"), desc(r))
    r = C.req("batch", {"op": "get", "agents": ["x"] * 4096})
    ck(S8, "batch agents of 4096 entries is accepted", r is not None and r.ok, desc(r))
    r = C.req("batch", {"op": "get", "selector": {}})
    mine = {x.get("agent") for x in r.data.get("results", [])} if r and r.ok else set()
    ck(S, "an empty selector selects all of the caller's agents", set(ids) <= mine, desc(r))
    # stop: a batch never waits; each item is ok once its stop has started, and the agents then end
    r = C.req("batch", {"op": "stop", "selector": {"labels": {"bt": lab}}, "args": {"grace_ms": 1000}},
              timeout=30)
    ck(S, "batch stop by selector (the example) is ok", r is not None and r.ok and r.data.get("ok_count") == 3, desc(r))
    states = [(get(i) or {}).get("state") for i in ids]
    ck(S, "batch stop replies once each stop has started (stopping or already exited)",
       all(st in ("stopping", "exited") for st in states), states)
    for i in ids:
        wait_state(i, ("exited",), 10)
    states = [(get(i) or {}).get("state") for i in ids]
    ck(S, "the agents of a batch stop then end", states == ["exited"] * 3, states)
    r = C.req("batch", {"op": "stop", "selector": {"labels": {"bt": lab}}})
    d = r.data if r and r.ok else {}
    ck(S, "batch stop of exited agents: each result a failure", d.get("failed_count") == 3 and d.get("ok_count") == 0,
       desc(r))
    r = C.req("batch", {"op": "remove", "agents": ids})
    ck(S, "batch remove", r is not None and r.ok and r.data.get("ok_count") == 3, desc(r))
    guard(S, "batch")


def sec5_events_op():
    S = S5("events")
    r = C.req("events", {})
    d = r.data if r and r.ok else {}
    evs = d.get("events", [])
    ck(S, "events: data {events, next_seq, oldest_seq}", isinstance(evs, list) and is_int(d.get("next_seq"))
       and is_int(d.get("oldest_seq")), desc(r))
    bad = [(e, event_problems(e)) for e in evs if event_problems(e)]
    ck(S4, "every EVENT replayed follows the EVENT rules", not bad, bad[:3])
    seqs = [e.get("seq") for e in evs]
    ck(S, "without since_seq: from the oldest held, seq increasing by 1",
       seqs and seqs[0] == d.get("oldest_seq") and seqs == list(range(seqs[0], seqs[0] + len(seqs))), seqs[:20])
    if len(evs) >= 3:
        s0 = evs[1]["seq"]
        r = C.req("events", {"since_seq": s0, "limit": 2})
        d2 = r.data if r and r.ok else {}
        ck(S, "since_seq and limit 2: two events from since_seq, next_seq after them",
           [e.get("seq") for e in d2.get("events", [])] == [s0, s0 + 1] and d2.get("next_seq") == s0 + 2, desc(r))
        ck(S, "replayed events are the same as in the first reply",
           d2.get("events", []) == evs[1:3], f"{d2.get('events')} vs {evs[1:3]}")
    for v in (0, 10001):
        r = C.req("events", {"limit": v})
        ck(S8, f"events.limit {v}: bad_request", err_is(r, "bad_request"), desc(r))
    r = C.req("events", {"limit": 10000})
    ck(S8, "events.limit 10000 is accepted", r is not None and r.ok and len(r.data.get("events", [])) <= 10000,
       desc(r))
    r = C.req("events", {"since_seq": 2**62})
    ck(S, "since_seq beyond the newest: no events", r is not None and r.ok and r.data.get("events") == [], desc(r))
    return evs


def sec5_stats():
    S = S5("stats")
    r = C.req("stats")
    d = r.data if r and r.ok else None
    ck(S, "stats: a map of name -> signed 64-bit int", isinstance(d, dict) and d and all(
        isinstance(k, str) and 1 <= len(k) <= 256 and is_int(v) and -2**63 <= v < 2**63 for k, v in d.items()),
       desc(r))
    ck(S8, "stats: at most 1024 entries", isinstance(d, dict) and len(d) <= 1024, len(d or {}))


QUOTA_KEYS = {"cpu_millicores", "memory", "swap", "pids", "agents"}
USAGE_KEYS = {"cpu_usec", "memory_current", "memory_peak", "pids_current"}


def tenant_ok(x):
    """One TENANT of a tenants reply, as section 5 describes it."""
    if not isinstance(x, dict) or not is_int(x.get("uid")) or not 0 <= x["uid"] < 2**32:
        return False
    if not is_int(x.get("agents")) or x["agents"] < 0:
        return False
    if "user" in x and not (isinstance(x["user"], str) and 1 <= len(x["user"]) <= 256):
        return False
    if "usage" in x and not (isinstance(x["usage"], dict) and set(x["usage"]) == USAGE_KEYS
                             and all(is_int(v) and v >= 0 for v in x["usage"].values())):
        return False
    q = x.get("quota")
    return isinstance(q, dict) and set(q) <= QUOTA_KEYS and all(is_int(v) and v >= 0 for v in q.values())


def sec5_tenants():
    S = S5("tenants")
    a = spawn_ok(SLEEP)
    r = C.req("tenants")
    ts = r.data.get("tenants") if r and r.ok and isinstance(r.data, dict) else None
    ck(S, "tenants: data is {tenants: [TENANT]}, each as documented", isinstance(ts, list) and ts
       and all(tenant_ok(x) for x in ts), desc(r))
    ts = ts if isinstance(ts, list) else []
    uids = [x.get("uid") for x in ts if isinstance(x, dict)]
    ck(S, "tenants: sorted by uid, one entry per uid", uids == sorted(set(uids)), uids)
    mine = [x for x in ts if isinstance(x, dict) and x.get("uid") == 0]
    ck(S, "tenants: root's own entry counts its agent alive and has its cgroup's usage",
       len(mine) == 1 and mine[0].get("agents", 0) >= 1 and "usage" in mine[0], desc(r))
    ck(S8, "tenants: at most 16,384 entries", len(ts) <= 16384, len(ts))
    r = C.req("tenants", {"extra": 1})
    ck(S2D, "tenants: an unknown args key is ignored", r is not None and r.ok, desc(r))
    C.req("kill", {"agent": a["id"]})


def sec8_limits():
    big = {"argv": ["/bin/true"]}
    for label, args in (("labels 65 pairs", dict(big, labels={f"k{i}": "v" for i in range(65)})),
                        ("label key 129 bytes", dict(big, labels={"k" * 129: "v"})),
                        ("label key empty", dict(big, labels={"": "v"})),
                        ("label value 1025 bytes", dict(big, labels={"k": "v" * 1025})),
                        ("name 65 bytes", dict(big, name="n" * 65)),
                        ("policy 257 bytes", dict(big, policy="p" * 257)),
                        ("user 257 bytes", dict(big, user="u" * 257)),
                        ("cwd over 4096 bytes", dict(big, cwd="/" + "c" * 4096)),
                        ("workspace over 4096 bytes", dict(big, workspace="/" + "w" * 4096)),
                        ("argv 4097 entries", {"argv": ["/bin/true"] + ["x"] * 4096}),
                        ("argv over 1 MiB in all", {"argv": ["/bin/true"] + ["x" * 1024] * 1100}),
                        ("env 4097 pairs", dict(big, env={f"E{i}": "" for i in range(4097)})),
                        ("env name 1025 bytes", dict(big, env={"E" * 1025: "v"})),
                        ("env over 1 MiB in all", dict(big, env={f"E{i}": "v" * 1024 for i in range(1100)}))):
        r = C.req("spawn", args)
        ck(S8, f"spawn {label}: bad_request", err_is(r, "bad_request"), desc(r))
    r = C.req("spawn", {"argv": ["/bin/true"], "labels": {"a": "b"}, "name": "x" * 64})
    ck(S8, "name of 64 bytes is accepted", r is not None and r.ok, desc(r))
    r = C.req("spawn", {"argv": ["/bin/true"], "labels": {f"k{i}": "v" * 1024 for i in range(63)} | {"k" * 128: ""}})
    ck(S8, "64 labels with a 128-byte key and 1024-byte values are accepted", r is not None and r.ok, desc(r))
    r = C.req("get", {"agent": "a" * 129})
    ck(S8, "agent reference of 129 bytes: bad_request", err_is(r, "bad_request"), desc(r))
    r = C.req("get", {"agent": "a" * 63 + "/" + "b" * 64})
    ck(S8, "agent reference of 128 bytes (TENANT/NAME): accepted, not_found", err_is(r, "not_found"), desc(r))
    r = C.req("get", {"agent": ""})
    ck(S8, "agent reference empty: bad_request", err_is(r, "bad_request"), desc(r))
    r = C.req("spawn", {"argv": ["/bin/true"], "labels": {"k" * 129: "v"}})
    ck(S8, "a value over its bound: the message names the key", err_is(r, "bad_request") and "labels" in r.msg,
       desc(r))
    guard(S8, "the bounds")


class Sub:
    """A subscription on a DEALER of its own (section 1: events over the control endpoint)."""

    def __init__(self, args=None, endpoint=None):
        self.sock = zmq.Context.instance().socket(zmq.DEALER)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.setsockopt(zmq.ROUTING_ID, b"\x01" + os.urandom(15))  # section 1: a subscriber names itself
        self.sock.connect(endpoint or D.control)
        self.reply = None
        self.subscribe(args)

    def subscribe(self, args=None):
        self.id = "sub-" + uuid.uuid4().hex[:12]
        self.sock.send(enc({"v": 1, "id": self.id, "op": "subscribe", "args": args or {}}))
        self.frames_of_reply = None
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if not self.sock.poll(100):
                continue
            fr = self.sock.recv_multipart()
            m = dec_one(fr[-1])[0]
            if isinstance(m, dict) and m.get("id") == self.id:
                self.frames_of_reply = len(fr)
                self.reply = Reply(fr[-1], m, None)
                return self.reply
        self.reply = None
        return None

    def req(self, op, args=None):
        rid = "r-" + uuid.uuid4().hex[:12]
        self.sock.send(enc({"v": 1, "id": rid, "op": op, "args": args or {}}))
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.sock.poll(100):
                fr = self.sock.recv_multipart()
                m = dec_one(fr[-1])[0]
                if isinstance(m, dict) and m.get("id") == rid:
                    return Reply(fr[-1], m, None)
        return None

    def drain(self, secs, until=None):
        """The pushes of this subscription: (frame count, message) pairs."""
        out = []
        deadline = time.monotonic() + secs
        while time.monotonic() < deadline:
            if self.sock.poll(50):
                fr = self.sock.recv_multipart()
                try:
                    m = dec_one(fr[-1])[0]
                except dconf.DecodeError:
                    m = None
                if isinstance(m, dict) and "sub" in m:
                    out.append((len(fr), m))
                    if until and until(out):
                        break
        return out

    def close(self):
        self.sock.close(0)


def push_problems(m, sub_id):
    p = []
    if m.get("v") != 1 or m.get("sub") != sub_id or not is_int(m.get("prev_seq")) or "ok" in m:
        p.append("envelope {v: 1, sub, prev_seq}")
    if ("event" in m) == ("lost" in m):
        p.append("exactly one of event and lost")
    if "event" in m:
        p += event_problems(m["event"])
        if is_int(m.get("prev_seq")) and is_int(m["event"].get("seq")) and m["prev_seq"] >= m["event"]["seq"]:
            p.append("prev_seq not below seq")
    return p


def chain_problems(pushes, start):
    """prev_seq of each push is the seq of the push before it (or start, the seq the subscription began after)."""
    bad, prev = [], start
    for _, m in pushes:
        if m.get("prev_seq") != prev:
            bad.append((m.get("prev_seq"), prev))
        prev = m["event"]["seq"] if "event" in m else m["lost"]["to"]
    return bad


def sec6_events(controllers):
    s_all = Sub()
    r = s_all.reply
    ck(S1, "subscribe: the reply comes first, data {last_seq, oldest_seq, filtered, heartbeat_ms}",
       r is not None and r.ok and all(is_int(r.data.get(k)) for k in ("last_seq", "oldest_seq", "heartbeat_ms"))
       and isinstance(r.data.get("filtered"), bool), desc(r))
    ck(S1, "subscribe (root, every agent): filtered false", r is not None and r.ok and r.data.get("filtered") is False,
       desc(r))
    start = r.data.get("last_seq", 0) if r is not None and r.ok else 0
    a = spawn_ok([SH, "-c", "echo one; sleep 0.5; echo two; exec sleep 1000"], name="ev-" + uuid.uuid4().hex[:8])
    aid = a["id"]
    s_one = Sub({"agent": a["name"]})
    ck(S5("subscribe"), "subscribe to one agent by name: ok, filtered", s_one.reply is not None and s_one.reply.ok
       and s_one.reply.data.get("filtered") is True, desc(s_one.reply))
    one_start = s_one.reply.data.get("last_seq", 0) if s_one.reply is not None and s_one.reply.ok else 0
    wait_output(aid, "two", 5)
    C.req("pause", {"agent": aid})
    wait_state(aid, ("paused",))
    C.req("resume", {"agent": aid})
    wait_state(aid, ("running",))
    C.req("stop", {"agent": aid, "grace_ms": 1000}, timeout=20)
    other = spawn_ok(["/bin/true"])
    wait_state(other["id"], ("exited",))
    got = s_all.drain(4, until=lambda o: any(m.get("event", {}).get("kind") == "heartbeat" for _, m in o) and
                      any(m.get("event", {}).get("kind") == "exited" and m["event"].get("agent") == other["id"]
                          for _, m in o))
    ck(S1, "pushed events are one frame each, on the subscribing connection", got and all(n == 1 for n, _ in got),
       [n for n, _ in got][:20])
    bad = [(m, push_problems(m, s_all.id)) for _, m in got if push_problems(m, s_all.id)]
    ck(S6, "every push is {v: 1, sub: the subscribe id, prev_seq, event: EVENT}", not bad, bad[:5])
    evs = [m["event"] for _, m in got if "event" in m]
    seqs = [b.get("seq") for b in evs]
    ck(S6, "seq increases by 1 per event (root sees every event)", seqs == list(range(start + 1, start + 1 + len(seqs)))
       if seqs else False, seqs)
    ck(S6, "prev_seq chains the pushes: each is the seq of the event before", not chain_problems(got, start),
       chain_problems(got, start)[:5])
    mine = [b for b in evs if b.get("agent") == aid]
    kinds = [b["kind"] for b in mine]
    sts = [b.get("state") for b in mine if b["kind"] == "status_changed"]
    ck(S7, "status_changed states follow the lifecycle: running, pausing, paused, resuming, running, stopping, exited",
       [s for s in sts if s != "starting"] == ["running", "pausing", "paused", "resuming", "running", "stopping",
                                               "exited"], sts)
    ck(S6, "status_changed carries the new state; reason when ended",
       all(("reason" in b) == (b.get("state") in ("exited", "failed")) for b in mine if b["kind"] == "status_changed"),
       [b for b in mine if b["kind"] == "status_changed"])
    ex = [b for b in mine if b["kind"] == "exited"]
    ck(S6, "one exited event, after the last status_changed, with state and reason stopped",
       len(ex) == 1 and kinds[-1] == "exited" and ex[0].get("state") == "exited" and ex[0].get("reason") == "stopped",
       kinds)
    if ex:
        dd = ex[0].get("data") or {}
        ck(S6, "exited data: {exit_code?, signal?, cpu_usec?, memory_peak?} (signal 15, cpu_usec int)",
           dd.get("signal") == 15 and all(is_int(v) for v in dd.values())
           and set(dd) <= {"exit_code", "signal", "cpu_usec", "memory_peak"}, dd)
    outs = [b for b in mine if b["kind"] == "output"]
    ck(S6, "output events: data {seq_first, seq_last, bytes}", outs and all(
        is_int((b.get("data") or {}).get(k)) for b in outs for k in ("seq_first", "seq_last", "bytes")), outs)
    if outs:
        ck(S6, "output events cover the output (seq_first 1 .. seq_last 2, 8 bytes)",
           outs[0]["data"]["seq_first"] == 1 and outs[-1]["data"]["seq_last"] == 2
           and sum(o["data"]["bytes"] for o in outs) == 8, outs)
    hb = [b for b in evs if b.get("kind") == "heartbeat"]
    ck(S6, "a heartbeat every few seconds (heartbeat_interval 1s)", hb, "none within the wait")
    if hb:
        ck(S6, "heartbeat data is {uptime_s, cpus, mem_total, mem_available, load1}",
           set((hb[0].get("data") or {}).keys()) == {"uptime_s", "cpus", "mem_total", "mem_available", "load1"}
           and is_int(hb[0]["data"]["uptime_s"]), hb[0].get("data"))
        ck(S6, "heartbeat has no agent, state or reason", not ({"agent", "state", "reason"} & set(hb[0])), hb[0])
    go = s_one.drain(2.5, until=lambda o: any(m.get("event", {}).get("kind") == "heartbeat" for _, m in o)
                     and any(m.get("event", {}).get("kind") == "exited" for _, m in o))
    oe = [m["event"] for _, m in go if "event" in m]
    ck(S6, "an agent's subscription gets that agent's events and host events only",
       oe and all(e.get("agent") in (None, aid) for e in oe) and any(e.get("agent") == aid for e in oe),
       [(e.get("seq"), e.get("agent"), e.get("kind")) for e in oe][:10])
    ck(S6, "a filtered stream has no hole that looks like a loss: prev_seq is the seq delivered before",
       not chain_problems(go, one_start), chain_problems(go, one_start)[:5])
    # replay then live, on one subscription: the same events, in order, once
    if seqs:
        s_re = Sub({"since_seq": seqs[0]})
        want = [b for b in evs]
        rep = s_re.drain(4, until=lambda o: len([1 for _, m in o if "event" in m]) >= len(want))
        rs = [m["event"] for _, m in rep if "event" in m]
        ck(S6, "subscribe since_seq: the events from since_seq first (same seq, same bodies), then live",
           rs[:len(want)] == want, [(e.get("seq"), e.get("kind")) for e in rs[:8]])
        ck(S6, "subscribe since_seq: no seq twice", len({e["seq"] for e in rs}) == len(rs), [e["seq"] for e in rs])
        ck(S6, "subscribe since_seq: prev_seq starts at since_seq - 1", not chain_problems(rep, seqs[0] - 1),
           chain_problems(rep, seqs[0] - 1)[:5])
        # the events op replays the same events
        r = C.req("events", {"since_seq": seqs[0], "limit": len(seqs)})
        rp = {e["seq"]: e for e in (r.data.get("events", []) if r and r.ok else [])}
        live = {b["seq"]: b for b in evs}
        diff = [q for q in live if rp.get(q) != live[q]]
        ck(S6, "the events op replays the live events (same seq, same bodies)", not diff,
           [(live[q], rp.get(q)) for q in diff[:3]])
        ck(S5("events"), "events for root: filtered absent or false", r is not None and r.ok
           and not r.data.get("filtered"), desc(r))
        # a second subscribe on the same connection replaces the first: only the new id from then on
        r2 = s_re.subscribe({})
        ck(S5("subscribe"), "a second subscribe on a connection: ok, it replaces the first", r2 is not None and r2.ok,
           desc(r2))
        later = s_re.drain(2.5, until=lambda o: len(o) >= 1)
        ck(S5("subscribe"), "after a second subscribe the pushes carry only its id",
           later and all(m.get("sub") == s_re.id for _, m in later), [m.get("sub") for _, m in later][:5])
        r3 = s_re.req("unsubscribe")
        ck(S5("unsubscribe"), "unsubscribe: ok, data {}", r3 is not None and r3.ok and r3.data == {}, desc(r3))
        s_re.drain(0.3)
        after = s_re.drain(2.5)
        ck(S5("unsubscribe"), "after unsubscribe nothing is pushed (not even heartbeats)", not after, after[:3])
        r4 = s_re.req("unsubscribe")
        ck(S5("unsubscribe"), "unsubscribe without a subscription: not_found", err_is(r4, "not_found"), desc(r4))
        s_re.close()
    r = C.req("subscribe", {"agent": "nope-" + uuid.uuid4().hex[:6]})
    ck(S5("subscribe"), "subscribe to an unknown agent: not_found", err_is(r, "not_found"), desc(r))
    for s in (s_all, s_one):
        s.close()
    guard(S6, "events")


def sec5_shutdown_and_restart():
    S = S5("shutdown")
    a = spawn_ok([SH, "-c", "echo before; sleep 1000"], name="rs-" + uuid.uuid4().hex[:8])
    wait_output(a["id"], "before", 5)
    last, since = None, 0
    for _ in range(100):
        r0 = C.req("events", {"since_seq": since, "limit": 10000})
        evs0 = r0.data.get("events", []) if r0 and r0.ok else []
        if not evs0:
            break
        last, since = evs0[-1]["seq"], r0.data.get("next_seq")
    r = C.req("shutdown", {}, timeout=10)
    ck(S, "shutdown (root): ok, data {}", r is not None and r.ok and r.data == {}, desc(r))
    try:
        D.proc.wait(10)
        exited = True
    except Exception:
        exited = False
    ck(S, "the daemon exits after the reply", exited, D.status())
    if not exited:
        D.kill()
    D.start()
    C.reopen()
    g = get(a["id"])
    ck(S, "a restarted daemon re-adopts the agent (same id, running)", g and g.get("state") == "running", g)
    t = out_text(a["id"])
    ck(S, "output kept across the restart", t is not None and "before" in t, t)
    r = C.req("events", {})
    evs = r.data.get("events", []) if r and r.ok else []
    seqs = [e["seq"] for e in evs]
    ck(S6, "after a restart events from before it are still replayed (from seq 1)", seqs and seqs[0] == 1, seqs[:5])
    x = spawn_ok(["/bin/true"])  # something to publish after the restart
    wait_state(x["id"], ("exited",))
    r = C.req("events", {"since_seq": (last or 0) - 2, "limit": 50})
    seqs = [e["seq"] for e in (r.data.get("events", []) if r and r.ok else [])]
    ck(S6, "after a restart seq continues after the last seq published (no repeat, no gap)",
       last is not None and seqs and seqs == list(range(seqs[0], seqs[0] + len(seqs))) and seqs[-1] > last,
       f"last seq before {last}, seqs around it {seqs[:12]}")
    # stop_agents: every agent stopped, reason stopped, then exit
    r = C.req("shutdown", {"stop_agents": True}, timeout=30)
    ck(S, "shutdown stop_agents: ok", r is not None and r.ok, desc(r))
    try:
        D.proc.wait(30)
        exited = True
    except Exception:
        exited = False
    ck(S, "shutdown stop_agents: the daemon exits once no agent is left", exited, D.status())
    if not exited:
        D.kill()
    D.start()
    C.reopen()
    g = get(a["id"])
    ck(S, "shutdown stop_agents: the agent ended as stopped", g and g.get("state") == "exited"
       and g.get("reason") == "stopped", g)


# ---------------------------------------------------------------------------------------------------------
# tenants: run as a throwaway user of group descartes (and one also in descartes-admin)

def tenant_main(role, control, t):
    global C, R
    R, C = tenant_session(control)
    me = os.getuid()
    import pwd
    myname = pwd.getpwuid(me).pw_name
    if role == "tenant":
        T = S1A
        r = C.req("health")
        ck(T, "tenant: health answers", r is not None and r.ok, desc(r))
        for ref in (t["root_id"], t["root_name"]):
            for op in ("get", "pause", "resume", "kill", "remove", "stop", "output"):
                r = C.req(op, {"agent": ref}, timeout=10)
                ck(T, f"tenant: {op} of root's agent by {'id' if ref == t['root_id'] else 'name'}: not_found",
                   err_is(r, "not_found"), desc(r))
            r = C.req("signal", {"agent": ref, "signal": "TERM"})
            ck(T, "tenant: signal of root's agent: not_found", err_is(r, "not_found"), desc(r))
            r = C.req("stdin", {"agent": ref, "data": b"x"})
            ck(T, "tenant: stdin of root's agent: not_found", err_is(r, "not_found"), desc(r))
            r = C.req("action", {"agent": ref, "name": "x", "timeout_ms": 100})
            ck(T, "tenant: action on root's agent: not_found", err_is(r, "not_found"), desc(r))
        r = C.req("list", {"all": True})
        ids = [a.get("id") for a in r.data.get("agents", [])] if r and r.ok else None
        ck(T, "tenant: list all shows none of root's agents", ids == [], ids)
        r = C.req("batch", {"op": "kill", "agents": [t["root_id"]]})
        res = r.data.get("results", []) if r and r.ok else []
        ck(T, "tenant: batch kill of root's agent: result not_found",
           len(res) == 1 and res[0].get("err", {}).get("code") == "not_found", desc(r))
        r = C.req("batch", {"op": "get", "selector": {}})
        ck(T, "tenant: an empty selector selects only the tenant's agents",
           r is not None and r.ok and r.data.get("results") == [], desc(r))
        r = C.req("shutdown", {}, timeout=10)
        ck(S5("shutdown"), "tenant: shutdown is permission_denied", err_is(r, "permission_denied"), desc(r))
        r = C.req("stats")
        keys = set(r.data) if r is not None and r.ok and isinstance(r.data, dict) else None
        ck(S5("stats"), "tenant: stats holds only its own agents' counts, event_seq, uptime_s and its denied "
           "attempts", keys is not None and all(k.startswith("agents.") or k in (
               "agents_total", "actions.late", "actions.dropped", "event_seq", "uptime_s",
               "denied.permission_denied", "denied.not_found", "denied.rate_limited") for k in keys), desc(r))
        ck(S5("stats"), "tenant: its own denied attempts are counted (shutdown: permission_denied; "
           "root's agents: not_found)", keys is not None and r.data.get("denied.permission_denied", 0) >= 1
           and r.data.get("denied.not_found", 0) >= 16, desc(r))
        r = C.req("tenants")
        ts = r.data.get("tenants") if r is not None and r.ok and isinstance(r.data, dict) else None
        ck(S5("tenants"), "tenant: tenants holds exactly its own entry", isinstance(ts, list) and len(ts) == 1
           and tenant_ok(ts[0]) and ts[0].get("uid") == me, desc(r))
        r = C.req("spawn", {"argv": ["/bin/true"], "user": "root"})
        ck(S5("spawn"), "tenant naming another user (root): permission_denied", err_is(r, "permission_denied"),
           desc(r))
        r = C.req("spawn", {"argv": ["/bin/true"], "user": "descartes-agent"})
        ck(S5("spawn"), "tenant naming another user (descartes-agent): permission_denied",
           err_is(r, "permission_denied"), desc(r))
        r = C.req("spawn", {"argv": ["/bin/true"], "user": myname})
        ck(S5("spawn"), "tenant naming itself as user: allowed (a caller other than root may name only itself)",
           r is not None and r.ok, desc(r))
        r = C.req("spawn", {"argv": ["/bin/true"], "policy": "/etc/passwd"})
        ck(S5("spawn"), "tenant naming a policy by absolute path (root only): refused",
           r is not None and not r.ok, desc(r))
        r = C.req("spawn", {"argv": ["/bin/true"], "workspace": t["root_ws"]})
        ck(S5("spawn"), "tenant naming a workspace it does not own: refused", r is not None and not r.ok
           and r.code in ("permission_denied", "bad_request"), desc(r))
        r = C.req("spawn", {"argv": [SH, "-c", "id -u; id -g; id -G; sleep 1000"], "name": t["tenant_name"]})
        a = r.data.get("agent", {}) if r and r.ok else {}
        ck(S5("spawn"), "tenant spawn: ok, owner_uid is the tenant", a.get("owner_uid") == me, desc(r))
        if a:
            txt = wait_output(a["id"], "\n", 5) or ""
            time.sleep(0.3)
            txt = out_text(a["id"]) or ""
            ln = txt.split("\n")
            ck(S5("spawn"), "identity: a tenant's agent runs as its uid and primary gid without supplementary groups",
               len(ln) >= 3 and ln[0] == str(me) and ln[1] == str(os.getgid()) and ln[2] == str(os.getgid()), txt)
            r = C.req("spawn", {"argv": SLEEP, "name": t["root_name"]})
            ck(S5("spawn"), "tenant: a name another tenant uses is free (names are per tenant)",
               r is not None and r.ok and r.data["agent"].get("name") == t["root_name"], desc(r))
            mine = r.data["agent"]["id"] if r is not None and r.ok else None
            r = C.req("get", {"agent": t["root_name"]})
            ck(S4, "tenant: a plain name is looked up among the caller's own agents",
               r is not None and r.ok and r.data["agent"]["id"] == mine, desc(r))
            r = C.req("spawn", {"argv": ["/bin/true"], "name": t["root_name"]})
            ck(S5("spawn"), "tenant: a name the tenant uses already: conflict", err_is(r, "conflict"), desc(r))
            for ref in (f"{myname}/{t['root_name']}", f"{me}/{t['root_name']}"):
                r = C.req("get", {"agent": ref})
                ck(S4, f"tenant naming itself as TENANT/NAME ({ref.split('/')[0]}): its own agent",
                   r is not None and r.ok and r.data["agent"]["id"] == mine, desc(r))
            for ref in (f"root/{t['root_name']}", f"0/{t['root_name']}", f"nosuchuser-zz/{t['root_name']}",
                        f"0/nosuchname-{uuid.uuid4().hex[:6]}"):
                for op in ("get", "kill"):
                    r = C.req(op, {"agent": ref}, timeout=10)
                    ck(S4, f"tenant: {op} of another tenant's agent as TENANT/NAME: not_found, as if absent",
                       err_is(r, "not_found"), desc(r))
            if mine:
                C.req("kill", {"agent": mine}, timeout=10)
        # idempotency is per caller: the same id as root used gets the tenant's own reply
        r = C.req("get", {"agent": "zz"}, rid=t["root_rid"])
        ck(S2I, "ids are per caller: a tenant reusing root's id gets its own reply",
           r is not None and r.code == "not_found" and t["root_name"] not in repr(r.v), desc(r))
    elif role == "admin":
        T = S1A
        r = C.req("get", {"agent": t["root_id"]})
        ck(T, "admin group member: sees root's agent", r is not None and r.ok, desc(r))
        r = C.req("get", {"agent": t["tenant_name"]})
        ck(S4, "admin group member: a plain name is the admin's own (the tenant's is TENANT/NAME)",
           err_is(r, "not_found"), desc(r))
        for ref in (f"{t['tenant_user']}/{t['tenant_name']}", f"{t['tenant_uid']}/{t['tenant_name']}"):
            r = C.req("get", {"agent": ref})
            ck(T, f"admin group member: sees the tenant's agent as {ref.split('/')[0]}/NAME",
               r is not None and r.ok and r.data["agent"].get("name") == t["tenant_name"], desc(r))
        r = C.req("get", {"agent": f"root/{t['root_name']}"})
        ck(T, "admin group member: names root's agent as root/NAME", r is not None and r.ok
           and r.data["agent"].get("id") == t["root_id"], desc(r))
        r = C.req("list", {})
        ids = {a.get("id") for a in r.data.get("agents", [])} if r and r.ok else set()
        ck(T, "admin group member: list shows every agent", t["root_id"] in ids, desc(r))
        r = C.req("signal", {"agent": t["root_id"], "signal": "CONT"})
        ck(T, "admin group member: controls root's agent (signal)", r is not None and r.ok, desc(r))
        g = C.req("get", {"agent": f"{t['tenant_user']}/{t['tenant_name']}"})
        owner = g.data.get("agent", {}).get("owner_uid") if g is not None and g.ok else None
        r = C.req("tenants")
        uids = {x.get("uid") for x in r.data.get("tenants", []) if isinstance(x, dict)} if r and r.ok else set()
        ck(S5("tenants"), "admin group member: tenants lists root's and the tenant's entries (and its own)",
           {0, owner, me} <= uids, desc(r))
        r = C.req("kill", {"agent": f"{t['tenant_user']}/{t['tenant_name']}"})
        ck(T, "admin group member: controls the tenant's agent (kill by TENANT/NAME)", r is not None and r.ok,
           desc(r))
    C.close()
    return 0


def sec_tenants(users):
    a = spawn_ok(SLEEP, name="root-" + uuid.uuid4().hex[:8])
    ws = os.path.join(D.tmpdir, "rootws")
    os.makedirs(ws, exist_ok=True)
    rid = "shared-" + uuid.uuid4().hex
    C.req("get", {"agent": a["name"]}, rid=rid)
    tp = users.make("t", ["descartes"])
    ap = users.make("a", ["descartes", "descartes-admin"])
    targets = {"root_id": a["id"], "root_name": a["name"], "root_ws": ws, "root_rid": rid,
               "tenant_name": "ten-" + uuid.uuid4().hex[:8], "tenant_user": tp.pw_name, "tenant_uid": tp.pw_uid}
    for role, pw in (("tenant", tp), ("admin", ap)):
        rc, out = run_tenant(pw, D, "conformance.py", role, targets, timeout=300)
        ck(S1A, f"the {role} client ran to completion", rc == 0, f"rc {rc}: {out[-1500:]}")
        guard(S1A, f"the {role} checks")
    g = get(a["id"])
    ck(S1A, "root's agent is untouched by the tenant", g and g.get("state") == "running", g)
    r = C.req("stats")
    st = r.data if r is not None and r.ok else {}
    ck(S5("stats"), "admin: the tenant's attempts at other tenants' agents are counted, in all and per tenant",
       st.get("denied.other_tenants_agents", 0) >= 15 and st.get(f"denied.uid.{tp.pw_uid}", 0) >= 17
       and st.get("denied.permission_denied", 0) >= 1, desc(r))
    C.req("kill", {"agent": a["id"]})


# ---------------------------------------------------------------------------------------------------------

def main():
    global R, D, C
    role = tenant_args()
    if role:
        return tenant_main(*role)
    with Run(KNOWN_MISMATCHES, quiet=bool(os.environ.get("CONFORM_QUIET"))) as session:
        R, D, C, users = session.results, session.daemon, session.client, session.users
        sec2_ttl_start()
        # before any agent exists (a small heap: a use-after-free shows at once)
        for op, args in (("stop", {"agent": "nope-early"}), ("stdin", {"agent": "nope-early", "data": b"x"}),
                         ("stdin", {"agent": "nope-early"})):
            r = C.req(op, args, timeout=10)
            ck(S5(op), f"{op} {sorted(args)} of an unknown agent on a daemon without agents: not_found",
               err_is(r, "not_found"), desc(r))
            guard(S5(op), f"{op} {sorted(args)} of an unknown agent on a daemon without agents")
        sec1_transport()
        guard(S1, "section 1")
        sec2_request()
        sec2_reply()
        sec2_idempotent()
        run = spawn_ok(SLEEP, name="dec-" + uuid.uuid4().hex[:6])
        sec2_decoding(run["id"])
        ex = spawn_ok(["/bin/true"])
        wait_state(ex["id"], ("exited",))
        sec3_errors(run["id"], ex["id"])
        C.req("kill", {"agent": run["id"]})
        guard(S3, "section 3")
        controllers = sec5_health()
        sec5_list()
        guard(S5("list"), "list")
        for fn in (sec5_agent_ops, lambda: sec5_spawn(controllers), sec5_stop, sec5_wait, sec5_signal, sec5_stdin, sec5_exec, sec5_health_check,
                   sec5_output, sec5_action, sec5_batch, sec5_events_op, sec5_stats, sec5_tenants, sec8_limits,
                   lambda: sec6_events(controllers), lambda: sec_tenants(users)):
            try:
                fn()
            except Exception as e:  # a section that blew up is a failure, the next one still runs
                import traceback
                ck("harness", f"section {getattr(fn, '__name__', fn)} ran without an exception", False,
                   traceback.format_exc()[-1500:])
                if not D.alive():
                    D.restart_after_crash(f"section {getattr(fn, '__name__', fn)}")
                    C.reopen()
        r = C.req("get", {"agent": "nope"})
        ck(S9, "v1: an unknown op is unknown_op (additions keep version 1)", err_is(C.req("op_from_v9"),
                                                                                      "unknown_op"))
        r = C.raw_once(enc({"v": 2, "id": "v2b", "op": "health", "args": {"new_required": 1}}))
        ck(S9, "v: 2 is answered with unsupported_version", err_is(r, "unsupported_version"), desc(r))
        sec2_ttl_finish()
        sec5_action_restart()
        bad = C.envelope_bad
        ck(S2R, f"every reply received ({C.replies_seen}) is a valid envelope with a known code", not bad, bad[:5])
        sec5_shutdown_and_restart()
        ck("harness", "descartesd did not crash during the run", not D.crashes, D.crashes)
    return session.summary()


if __name__ == "__main__":
    sys.exit(main())
