#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Wire attacks on descartesd from a hostile tenant (a throwaway user of group descartes), checked against
docs/protocol.md: every op naming an unknown agent, a prefix, or root's agents in each state (starting,
running, paused, stopping, exited, failed) must get not_found; an agent removed concurrently; huge and odd
fields, integer map keys, deep nesting; random op/field fuzzing for CONFORM_FUZZ_SECONDS (default 20) with a
fixed seed (CONFORM_SEED, default 20240601). After each, descartesd must still be running and answer health.

A watchdog restarts the daemon when it dies, so that one crash does not hide the rest; every crash is a
failure ("daemon still answering after ..."). KNOWN_MISMATCHES lists expected failures as in conformance.py."""

KNOWN_MISMATCHES = [
    # none: every check below holds. Add an entry (the check's full name) only with an issue that fixes it.
]

import os  # noqa: E402
import sys  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dconf  # noqa: E402
from dconf import (W, Raw, Pairs, Ext, enc, Client, Run, MIB, AGENT_OPS, OPS, CODES, agent_op_args,  # noqa: E402
                   run_tenant, tenant_args, tenant_session, ck, desc, nest)
import random  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
import zmq  # noqa: E402

SA = "1. Transport / Access (hostile tenant)"
SR = "2. Envelopes / Reply"
SF = "2. Envelopes / Decoding rules (hostile input)"
SL = "8. Limits (hostile input)"
SZ = "fuzz"
SH = "/bin/sh"
C = None
LIVE_CONTROL = None


def arg_variants(op, ref):
    """The op's arguments with only what is required, and with its optional ones too."""
    minimal = {"agent": ref}
    if op == "signal":
        minimal["signal"] = "TERM"
    elif op == "action":
        minimal["name"] = "x"
    elif op == "exec":
        minimal["argv"] = ["/bin/true"]
    return [minimal, args_for(op, ref)]


def args_for(op, ref):
    return agent_op_args(op, ref, exec_argv=("/bin/sh", "-c", "cat"))


def health_after(sec, what):
    """health must still answer; when it does not, wait for the watchdog to bring the daemon back."""
    global C
    r = C.req("health", timeout=3)
    ok = r is not None and r.ok
    ck(sec, f"daemon still answering health after {what}", ok, "" if ok else "no health reply: the daemon died")
    if not ok:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            C.reopen()
            r = C.req("health", timeout=1)
            if r is not None and r.ok:
                break
    return ok


def phase_notfound(t):
    """Unknown agents, prefixes and root's agents in every state: not_found, for every op."""
    refs = [("an unknown UUID", str(uuid.uuid4())), ("an unknown name", "nope-" + uuid.uuid4().hex[:6]),
            ("a prefix of root's agent id", t["states"]["running"][0][:8]),
            ("root's agent id in upper case", t["states"]["running"][0].upper()),
            ("a prefix of root's agent name", t["states"]["running"][1][:-2])]
    for st, (aid, name) in t["states"].items():
        refs.append((f"root's {st} agent by id", aid))
        refs.append((f"root's {st} agent by name", name))
    for label, ref in refs:
        for op in AGENT_OPS:
            for args in arg_variants(op, ref):
                what = f"{op} {sorted(args)} naming {label}"
                r = C.req(op, args, timeout=5)
                ck(SA, f"{what}: not_found", r is not None and r.code == "not_found", desc(r))
                health_after(SA, what)
        r = C.req("batch", {"op": "kill", "agents": [ref]})
        res = r.data.get("results", []) if r is not None and r.ok else []
        ck(SA, f"batch kill naming {label}: one result, not_found",
           len(res) == 1 and (res[0].get("err") or {}).get("code") == "not_found", desc(r))
        health_after(SA, f"batch naming {label}")
    # root's agents that are starting right now: the parent spawns names starting-0.. in a loop
    deadline = time.monotonic() + 6
    n = 0
    while time.monotonic() < deadline:
        for i in range(t["n_starting"]):
            op = AGENT_OPS[n % len(AGENT_OPS)]
            n += 1
            r = C.req(op, args_for(op, f"{t['starting_prefix']}{i}"), timeout=5)
            if r is None or r.code != "not_found":
                ck(SA, f"{op} naming root's starting agents: not_found", False, desc(r))
                health_after(SA, f"{op} naming root's starting agents")
    ck(SA, f"{n} ops naming root's starting (and just started) agents: all not_found", True)
    health_after(SA, "ops naming root's starting agents")


def phase_concurrent_remove():
    """The tenant's own ended agent removed while another op on it is in flight (sent back to back)."""
    for op in AGENT_OPS + ["batch"]:
        r = C.req("spawn", {"argv": ["/bin/true"]}, timeout=20)
        if r is None or not r.ok:
            ck(SA, f"concurrent remove and {op}: setup spawn", False, desc(r))
            continue
        aid = r.data["agent"]["id"]
        for _ in range(100):
            g = C.req("get", {"agent": aid})
            if g is not None and g.ok and g.data["agent"]["state"] in ("exited", "failed"):
                break
            time.sleep(0.03)
        if op == "batch":
            a = {"op": "get", "agents": [aid]}
        else:
            a = args_for(op, aid)
        r1 = C.send("remove", {"agent": aid})
        r2 = C.send(op, a)
        x1, x2 = C.wait(r1, 10), C.wait(r2, 10)
        ck(SA, f"remove and {op} back to back: remove ok", x1 is not None and x1.ok, desc(x1))
        ck(SA, f"remove and {op} back to back: {op} answered (not_found or a state error)",
           x2 is not None and x2.code != "internal", desc(x2))
        health_after(SA, f"remove and {op} back to back")
    # and a running agent: kill, remove, get, stop, stdin all in flight at once
    r = C.req("spawn", {"argv": ["/bin/sleep", "1000"], "stdin": True}, timeout=20)
    if r is not None and r.ok:
        aid = r.data["agent"]["id"]
        ids = [C.send("kill", {"agent": aid}), C.send("remove", {"agent": aid}), C.send("get", {"agent": aid}),
               C.send("stop", {"agent": aid, "grace_ms": 0}), C.send("stdin", {"agent": aid, "data": b"x"}),
               C.send("remove", {"agent": aid}), C.send("output", {"agent": aid})]
        reps = [C.wait(i, 15) for i in ids]
        ck(SA, "kill/remove/get/stop/stdin/remove/output of one agent in flight at once: all answered",
           all(x is not None and x.code != "internal" for x in reps),
           [(n, desc(x)[:200]) for n, x in zip(("kill", "remove", "get", "stop", "stdin", "remove", "output"), reps)
            if x is None or x.code == "internal"])
        health_after(SA, "seven ops on one agent in flight at once")


def phase_odd_fields():
    own = C.req("spawn", {"argv": ["/bin/sleep", "1000"], "stdin": True}, timeout=20)
    own_id = own.data["agent"]["id"] if own is not None and own.ok else "none"
    cases = []
    cases.append(("agent of 10 KB", req("get", {"agent": "a" * 10000})))
    cases.append(("agent of 1 MB", req("get", {"agent": "a" * MIB})))
    cases.append(("id of 1 MB", enc({"v": 1, "id": "i" * MIB, "op": "health"})))
    cases.append(("op of 1 MB", enc({"v": 1, "id": "op1m", "op": "o" * MIB})))
    cases.append(("args with 200,000 unknown keys", req("get", {"agent": own_id} | {f"k{i}": i for i in range(200000)})))
    cases.append(("integer key at the top level", enc(Pairs([("v", 1), ("id", "ik"), ("op", "health"), (1, 1)]))))
    cases.append(("integer key in args", enc(Pairs([("v", 1), ("id", "ika"), ("op", "get"),
                                                    ("args", Pairs([(0, own_id)]))]))))
    cases.append(("integer key in labels", req("spawn", {"argv": ["/bin/true"], "labels": Pairs([(5, "x")])})))
    cases.append(("integer key in env", req("spawn", {"argv": ["/bin/true"], "env": Pairs([(-1, "x")])})))
    cases.append(("integer key in action params", req("action", {"agent": own_id, "name": "x", "timeout_ms": 100,
                                                                 "params": Pairs([(1, 2)])})))
    cases.append(("integer key in a batch selector", req("batch", {"op": "get", "selector": Pairs([(1, 1)])})))
    cases.append(("deep nesting in args (1000)", enc({"v": 1, "id": "deep", "op": "get",
                                                      "args": {"agent": own_id, "x": nest(1000)}})))
    cases.append(("deep nesting in action params (100)", req("action", {"agent": own_id, "name": "x",
                                                                        "params": {"p": nest(100)}})))
    cases.append(("deep nesting of maps (5000)", enc({"v": 1, "id": "dm", "op": "health", "x": nest_map(5000)})))
    cases.append(("a message of 10 MiB - 64 bytes", enc({"v": 1, "id": "big", "op": "health",
                                                          "x": b"\0" * (10 * MIB - 64)})))
    cases.append(("an array32 declaring 2^32-1 entries", enc(Pairs([("v", 1), ("id", "a32"), ("op", "health"),
                                                                     ("x", Raw(b"\xdd\xff\xff\xff\xff\xc0"))]))))
    cases.append(("a map32 declaring 2^32-1 pairs in args", enc(Pairs([("v", 1), ("id", "m32"), ("op", "get"),
                                                                        ("args", Raw(b"\xdf\xff\xff\xff\xff"))]))))
    cases.append(("a str32 declaring 4 GiB", enc(Pairs([("v", 1), ("id", "s32"), ("op", Raw(b"\xdb\xff\xff\xff\xffab"))]))))
    cases.append(("a bin32 declaring 4 GiB as stdin data", enc(Pairs([("v", 1), ("id", "b32"), ("op", "stdin"),
                                                                       ("args", Pairs([("agent", own_id),
                                                                                       ("data", Raw(b"\xc6\xff\xff\xff\xff"))]))]))))
    cases.append(("an ext as op", enc({"v": 1, "id": "eo", "op": Ext(-1, b"\0" * 12)})))
    cases.append(("a timestamp ext as since_ns", req("output", {"agent": own_id, "since_ns": Ext(-1, b"\0" * 8)})))
    for field, op, base in (("grace_ms", "stop", {"agent": "nope-x"}), ("timeout_ms", "spawn", {"argv": ["/bin/true"]}),
                            ("limit", "list", {}), ("offset", "output", {"agent": own_id}),
                            ("tail", "output", {"agent": own_id}), ("since_seq", "events", {}),
                            ("since_ns", "output", {"agent": own_id}), ("signal", "signal", {"agent": own_id})):
        for label, v in (("2^64-1", W(0xcf, 2**64 - 1)), ("-2^63", W(0xd3, -2**63)), ("-1", -1), ("1.5", 1.5),
                         ("nil", None), ("true", True), ("a str", "12"), ("a bin", b"12"), ("a map", {}),
                         ("2^63", W(0xcf, 2**63))):
            if op == "stop" and label in ("2^64-1", "2^63"):
                continue  # a valid huge grace on an unknown agent: the not_found phase covers stop
            cases.append((f"{op}.{field} = {label}", req(op, dict(base, **{field: v}))))
    for lk, lv in (("memory", W(0xcf, 2**64 - 1)), ("cpu_millicores", W(0xcf, 2**64 - 1)), ("pids", W(0xce, 2**32 - 1)),
                   ("swap", -1), ("memory", 1.0), ("bogus", 1)):
        cases.append((f"spawn limits.{lk} = {lv if not isinstance(lv, W) else lv.value}",
                      req("spawn", {"argv": ["/bin/true"], "limits": {lk: lv}})))
    cases.append(("signal 2^31", req("signal", {"agent": own_id, "signal": W(0xce, 2**31)})))
    cases.append(("signal a 1 MB name", req("signal", {"agent": own_id, "signal": "S" * MIB})))
    cases.append(("grep a catastrophic pattern", req("output", {"agent": own_id, "grep": "(a+)+$" * 100})))
    cases.append(("cursor garbage", req("output", {"agent": own_id, "cursor": "c:99999999999999999999:-1"})))
    cases.append(("cursor of another agent", req("output", {"agent": own_id, "cursor": "c:1:0\0"})))
    cases.append(("name_glob pathological", req("batch", {"op": "get", "selector": {"name_glob": "*a" * 120}})))
    cases.append(("batch of 4096 unknown agents, op stop", req("batch", {"op": "stop", "agents": [
        f"nope-{i}" for i in range(4096)], "args": {"grace_ms": 0}})))
    cases.append(("batch of 4096 unknown agents, op action", req("batch", {"op": "action", "agents": [
        f"nope-{i}" for i in range(4096)], "args": {"name": "x", "timeout_ms": 1}})))
    cases.append(("spawn argv with 4096 empty strings", req("spawn", {"argv": ["/bin/true"] + [""] * 4095})))
    cases.append(("spawn cwd with .. components", req("spawn", {"argv": ["/bin/true"], "cwd": "/../../../etc"})))
    cases.append(("spawn workspace /", req("spawn", {"argv": ["/bin/true"], "workspace": "/"})))
    cases.append(("spawn workspace /etc", req("spawn", {"argv": ["/bin/true"], "workspace": "/etc"})))
    cases.append(("spawn policy ../../etc/passwd", req("spawn", {"argv": ["/bin/true"], "policy": "../../../etc/passwd"})))
    cases.append(("spawn user 0", req("spawn", {"argv": ["/bin/true"], "user": "0"})))
    cases.append(("spawn net host", req("spawn", {"argv": ["/bin/true"], "net": "host"})))
    for label, body in cases:
        r = C.raw_once(body, timeout=8)
        big = len(body) > 10 * MIB
        good = (r is None and big) or (r is not None and not dconf.envelope_problems(r) and r.code != "internal")
        ck(SF, f"{label}: a valid reply, not internal", good, desc(r)[:400])
        if label == "spawn workspace /etc" or label == "spawn workspace /":
            ck(SF, f"{label}: refused (the caller must own it)", r is not None and not r.ok, desc(r))
        if label == "spawn user 0":
            ck(SF, f"{label}: permission_denied", r is not None and r.code == "permission_denied", desc(r))
        if label in ("deep nesting in args (1000)", "integer key in args"):
            ck(SR, f"{label}: reply carries the request's id", r is not None and r.id in ("deep", "ika"), desc(r))
        health_after(SF, label)
    if own is not None and own.ok:
        C.req("kill", {"agent": own_id})


def nest_map(depth):
    v = None
    for _ in range(depth):
        v = {"m": v}
    return v


def req(op, args, rid=None):
    return enc({"v": 1, "id": rid or ("a-" + uuid.uuid4().hex[:12]), "op": op, "args": args})


# ---------------------------------------------------------------------------------------------------------
# fuzzing

FIELDS = {
    "list": ["state", "labels", "limit", "all", "usage"], "get": ["agent"], "pause": ["agent"], "resume": ["agent"],
    "kill": ["agent"], "remove": ["agent"], "stop": ["agent", "grace_ms"], "signal": ["agent", "signal"],
    "stdin": ["agent", "data", "close"], "action": ["agent", "name", "params", "timeout_ms"],
    "output": ["agent", "stream", "mode", "offset", "limit", "tail", "grep", "since_ns", "cursor"],
    "events": ["since_seq", "limit"], "batch": ["op", "agents", "selector", "fail_fast", "args"],
    "spawn": ["argv", "env", "cwd", "workspace", "name", "labels", "limits", "timeout_ms", "net", "policy", "user",
              "stdin", "health_check"], "health": [], "stats": [], "shutdown": ["stop_agents"],
    "wait": ["agent", "timeout_ms"], "tenants": [], "subscribe": ["since_seq", "agent"], "unsubscribe": [],
    "exec": ["agent", "argv", "stdin", "timeout_ms"],
    "attach": ["agent", "read_only", "replay", "since_seq", "rows", "cols", "exec_argv", "exec_id"],
    "attach_input": ["data"],
    "attach_resize": ["rows", "cols"], "detach": [], "metrics": [],
}


def rand_value(rng, refs, depth=0):
    k = rng.randrange(16)
    if k == 0:
        return None
    if k == 1:
        return rng.random() < 0.5
    if k == 2:
        return rng.choice([0, 1, -1, 63, 64, 65, 255, 4096, 65536, 2**31, 2**32, W(0xcf, 2**64 - 1), W(0xd3, -2**63)])
    if k == 3:
        return rng.randrange(-1000, 100000)
    if k == 4:
        return rng.random() * 1e6
    if k in (5, 6):
        return rng.choice(refs)
    if k == 7:
        return rng.choice(["", "TERM", "stdout", "raw", "lines", "both", "none", "host", "default", "*", "running",
                           "\0", "a" * rng.choice([63, 64, 65, 256, 257, 1025, 4097]), "/bin/sleep", "/", "..",
                           "c:1:0", "root", "65534", "get", "stop", "stdin"])
    if k == 8:
        return bytes(rng.randrange(256) for _ in range(rng.randrange(40)))
    if k == 9:
        return Ext(rng.randrange(-128, 128), b"\0" * rng.choice([1, 2, 4, 8, 16, 3]))
    if k in (10, 11) and depth < 6:
        return [rand_value(rng, refs, depth + 1) for _ in range(rng.randrange(5))]
    if k in (12, 13) and depth < 6:
        n = rng.randrange(5)
        if rng.random() < 0.1:
            return Pairs([(rand_value(rng, refs, depth + 1), rand_value(rng, refs, depth + 1)) for _ in range(n)])
        return {rng.choice(["agent", "signal", "name", "labels", "x", "grace_ms", "state", "argv", "k"]) + str(i % 2):
                rand_value(rng, refs, depth + 1) for i in range(n)}
    return "".join(rng.choice("abcXYZ09-_.*/:") for _ in range(rng.randrange(12)))


def rand_request(rng, refs):
    op = rng.choice(OPS + ["nope", ""]) if rng.random() < 0.97 else rand_value(rng, refs)
    fields = FIELDS.get(op, []) if isinstance(op, str) else []
    args = {}
    for f in fields:
        if rng.random() < 0.6:
            if f == "agent" and rng.random() < 0.7:
                args[f] = rng.choice(refs)
            elif f == "argv" and rng.random() < 0.5:
                args[f] = [rng.choice(["/nonexistent", "/bin/true", "/bin/false", "", "x"])]
            else:
                args[f] = rand_value(rng, refs)
    if op == "batch" and rng.random() < 0.5:
        args["op"] = rng.choice(["get", "pause", "resume", "stop", "kill", "signal", "remove", "action"])
        args["agents" if rng.random() < 0.5 else "selector"] = [rng.choice(refs)] if rng.random() < 0.5 else {}
    if op == "shutdown":  # we are a tenant: permission_denied; never ask for agents to stop anyway
        args = {}
    m = Pairs([("v", 1 if rng.random() < 0.95 else rand_value(rng, refs)),
               ("id", "f-" + str(rng.randrange(10**9)) if rng.random() < 0.95 else rand_value(rng, refs)),
               ("op", op)] + ([("args", args if rng.random() < 0.95 else rand_value(rng, refs))]
                             if args or rng.random() < 0.5 else []))
    body = enc(m)
    mut = rng.random()
    if mut < 0.15 and body:  # flip bytes
        b = bytearray(body)
        for _ in range(rng.randrange(1, 4)):
            b[rng.randrange(len(b))] = rng.randrange(256)
        body = bytes(b)
    elif mut < 0.2:  # truncate
        body = body[:rng.randrange(len(body) + 1)]
    elif mut < 0.25:  # trailing garbage
        body = body + bytes(rng.randrange(256) for _ in range(rng.randrange(1, 8)))
    return op, body


def phase_fuzz(t):
    seed = int(os.environ.get("CONFORM_SEED", "20240601"))
    secs = float(os.environ.get("CONFORM_FUZZ_SECONDS", "20"))
    rng = random.Random(seed)
    own = []
    for argv in (["/bin/sleep", "1000"], ["/bin/true"]):
        r = C.req("spawn", {"argv": argv, "stdin": True}, timeout=20)
        if r is not None and r.ok:
            own.append(r.data["agent"]["id"])
    refs = own + [t["states"][s][0] for s in t["states"]] + [t["states"][s][1] for s in t["states"]] + \
        [str(uuid.uuid4()), "nope", "", own[0][:8] if own else "x"]
    n = crashes = internal = bad_env = noreply = 0
    codes = {}
    deadline = time.monotonic() + secs
    while time.monotonic() < deadline:
        n += 1
        op, body = rand_request(rng, refs)
        r = C.raw_once(body, timeout=3)
        if r is None:
            noreply += 1
            h = C.req("health", timeout=3)
            if h is None or not h.ok:
                crashes += 1
                ck(SZ, f"seed {seed} request #{n} ({op!r}): daemon still answering", False,
                   f"no health after {body[:300].hex()}")
                health_after(SZ, f"fuzz request #{n}")
            continue
        if dconf.envelope_problems(r):
            bad_env += 1
            ck(SZ, f"seed {seed} request #{n}: a valid reply envelope", False, f"{desc(r)} for {body[:200].hex()}")
        c = r.code or "ok"
        codes[c] = codes.get(c, 0) + 1
        if c == "internal":
            internal += 1
            ck(SZ, f"seed {seed} request #{n}: not internal", False, f"{desc(r)} for {body[:200].hex()}")
        if n % 50 == 0:
            health_after(SZ, f"fuzz request #{n}")
    print(f"fuzz: seed {seed}, {n} requests in {secs:.0f} s, codes {codes}, {noreply} without reply (in time)",
          flush=True)
    ck(SZ, f"random requests for {secs:.0f} s (seed {seed}): no crash, no internal, valid envelopes",
       crashes == 0 and internal == 0 and bad_env == 0, f"{crashes} crashes, {internal} internal, {bad_env} bad")
    health_after(SZ, "fuzzing")
    C.req("batch", {"op": "kill", "selector": {}}, timeout=20)


# ---------------------------------------------------------------------------------------------------------

SE = "5. subscribe (hostile tenant)"


class RawSub:
    """A DEALER of its own for subscribing; reads replies and pushes apart."""

    def __init__(self, control, rcvhwm=None, routing_id=None):
        self.sock = zmq.Context.instance().socket(zmq.DEALER)
        self.sock.setsockopt(zmq.LINGER, 0)
        # section 1: a subscriber names itself with a random routing id (b"": let the daemon's ROUTER assign one)
        rid = b"\x01" + os.urandom(15) if routing_id is None else routing_id
        if rid:
            self.sock.setsockopt(zmq.ROUTING_ID, rid)
        if rcvhwm is not None:
            self.sock.setsockopt(zmq.RCVHWM, rcvhwm)
            self.sock.setsockopt(zmq.RCVBUF, 4096)
        self.sock.connect(control)
        self.pushes = []

    def req(self, op, args=None, raw=None, timeout=10):
        rid = "s-" + uuid.uuid4().hex[:12]
        self.sock.send(raw if raw is not None else enc({"v": 1, "id": rid, "op": op, "args": args or {}}))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.sock.poll(50):
                continue
            m = dconf.dec_one(self.sock.recv_multipart()[-1])[0]
            if isinstance(m, dict) and "sub" in m:
                self.pushes.append(m)
            elif isinstance(m, dict) and (raw is not None or m.get("id") == rid):
                return dconf.Reply(b"", m, None)
        return None

    def drain(self, secs):
        deadline = time.monotonic() + secs
        while time.monotonic() < deadline:
            if self.sock.poll(50):
                m = dconf.dec_one(self.sock.recv_multipart()[-1])[0]
                if isinstance(m, dict) and "sub" in m:
                    self.pushes.append(m)
        out, self.pushes = self.pushes, []
        return out

    def close(self):
        self.sock.close(0)


def chain_ok(pushes, sub_id):
    """Every push of sub_id chains to the one before (prev_seq), losses said with lost: nothing silent."""
    prev = None
    for m in pushes:
        if m.get("sub") != sub_id:
            continue
        if prev is not None and m.get("prev_seq") != prev:
            return False
        prev = m["event"]["seq"] if "event" in m else m["lost"]["to"]
    return True


def phase_subscribe(t):
    """Subscriptions from a hostile tenant: bad arguments, root's agents, twice, unsubscribe without one,
    vanishing, the per-uid cap; the daemon keeps answering."""
    for what, rid in (("an id the daemon assigns", b""), ("a 15-byte id", b"\x01" * 15)):
        short = RawSub(LIVE_CONTROL, routing_id=rid)
        r = short.req("subscribe", {"since_seq": 0})
        ck(SE, f"subscribe on a connection with {what}: bad_request (pushes follow a guessable id)",
           r is not None and r.code == "bad_request" and "routing id" in (r.msg or ""), desc(r))
        short.close()
        health_after(SE, f"subscribe with {what}")
    s = RawSub(LIVE_CONTROL)
    for what, args in (("since_seq a string", {"since_seq": "1"}), ("since_seq negative", {"since_seq": -1}),
                       ("since_seq a float", {"since_seq": dconf.F64(1.0)}), ("agent an integer", {"agent": 12}),
                       ("agent empty", {"agent": ""}), ("agent of 129 bytes", {"agent": "a" * 129}),
                       ("agent of 1 MB", {"agent": "a" * MIB}), ("since_seq 2^64 - 1", {"since_seq": W(0xcf, 2**64 - 1)})):
        r = s.req("subscribe", args)
        exp_ok = what == "since_seq 2^64 - 1"
        ck(SE, f"subscribe with {what}: {'ok (starts live)' if exp_ok else 'bad_request'}",
           r is not None and (r.ok if exp_ok else r.code == "bad_request"), desc(r))
        health_after(SE, f"subscribe with {what}")
    r = s.req(None, raw=enc({"v": 1, "id": "sl", "op": "subscribe", "args": [1, 2]}))
    ck(SE, "subscribe with args a list: bad_request", r is not None and r.code == "bad_request", desc(r))
    for st, (aid, name) in t["states"].items():
        for ref in (aid, name):
            r = s.req("subscribe", {"agent": ref})
            ck(SE, f"subscribe to root's {st} agent by {'id' if ref == aid else 'name'}: not_found",
               r is not None and r.code == "not_found", desc(r))
    s.close()

    s = RawSub(LIVE_CONTROL)
    r = s.req("unsubscribe")
    ck(SE, "unsubscribe without a subscription: not_found", r is not None and r.code == "not_found", desc(r))
    r1 = s.req("subscribe", {"since_seq": 0})
    r2 = s.req("subscribe", {})
    ck(SE, "subscribe twice on one connection: both ok", r1 is not None and r1.ok and r2 is not None and r2.ok,
       f"{desc(r1)} / {desc(r2)}")
    s.pushes = []
    later = s.drain(2.5)
    ck(SE, "after the second subscribe only its pushes come (one subscription per connection)",
       later and r2 is not None and all(m.get("sub") == r2.id for m in later), [m.get("sub") for m in later][:5])
    ev = [m["event"] for m in later if "event" in m]
    mine = {a for a in (x.get("agent") for x in ev) if a}
    root_ids = {aid for aid, _ in t["states"].values()}
    ck(SE, "a tenant's stream holds none of root's agents", not (mine & root_ids), mine & root_ids)
    s.close()

    # subscriptions that vanish, and the per-uid cap of 32 (closed ones are ended by the next push: after a
    # heartbeat, 1 s, the two closed above no longer count)
    time.sleep(2.5)
    subs = []
    for i in range(32):
        x = RawSub(LIVE_CONTROL, rcvhwm=1)
        r = x.req("subscribe", {"since_seq": 0})
        if r is None or not r.ok:
            ck(SE, f"32 subscriptions of one tenant are accepted (#{i + 1})", False, desc(r))
            x.close()
            break
        subs.append(x)
    extra = RawSub(LIVE_CONTROL)
    r = extra.req("subscribe", {})
    ck(SE, "the 33rd subscription of a tenant: limit_exceeded", r is not None and r.code == "limit_exceeded", desc(r))
    health_after(SE, "32 subscriptions that never read")
    for x in subs:
        x.close()
    time.sleep(2.5)  # heartbeats (1 s) find the closed connections
    r = extra.req("subscribe", {})
    ck(SE, "subscriptions whose connections closed are ended: a new one is accepted", r is not None and r.ok,
       desc(r))
    extra.close()
    health_after(SE, "subscriptions that vanished")


SAT = "5. attach (hostile tenant)"


def phase_attach(t):
    """Terminals from a hostile tenant: root's agents (with a terminal or without) are not_found as unknown
    ones, every bad argument is bad_request, input without an attachment or on a read-only one is refused,
    and its own terminal works on the wire: keys in, their echo pushed, detach."""
    tty_id, tty_name = t["states"]["tty"]
    short = RawSub(LIVE_CONTROL, routing_id=b"")
    r = short.req("attach", {"agent": tty_id})
    ck(SAT, "attach on a connection with an id the daemon assigns: bad_request",
       r is not None and r.code == "bad_request" and "routing id" in (r.msg or ""), desc(r))
    short.close()
    s = RawSub(LIVE_CONTROL)
    for st, (aid, name) in t["states"].items():
        for ref in (aid, name):
            r = s.req("attach", {"agent": ref})
            ck(SAT, f"attach to root's {st} agent by {'id' if ref == aid else 'name'}: not_found",
               r is not None and r.code == "not_found", desc(r))
    r = s.req("attach", {"agent": str(uuid.uuid4())})
    ck(SAT, "attach to an unknown agent: not_found", r is not None and r.code == "not_found", desc(r))
    # a command on a terminal in root's agents (exec -t): as absent as the agents, whatever their state
    for st, (aid, name) in t["states"].items():
        for ref in (aid, name):
            r = s.req("attach", {"agent": ref, "exec_argv": ["/bin/sh"]})
            ck(SAT, f"exec_argv into root's {st} agent by {'id' if ref == aid else 'name'}: not_found",
               r is not None and r.code == "not_found", desc(r))
        r = s.req("attach", {"agent": aid, "exec_id": t["root_exec_id"] or 1})
        ck(SAT, f"root's command by exec_id in root's {st} agent: not_found",
           r is not None and r.code == "not_found", desc(r))
    r = s.req("attach", {"agent": str(uuid.uuid4()), "exec_argv": ["/bin/sh"]})
    ck(SAT, "exec_argv into an unknown agent: not_found", r is not None and r.code == "not_found", desc(r))
    health_after(SAT, "exec_argv into root's agents")
    for what, args in (("agent an integer", {"agent": 12}), ("no agent", {}), ("agent of 129 bytes", {"agent": "a" * 129}),
                       ("rows without cols", {"agent": tty_id, "rows": 24}), ("rows 0", {"agent": tty_id, "rows": 0, "cols": 80}),
                       ("cols 4097", {"agent": tty_id, "rows": 24, "cols": 4097}),
                       ("replay over 1 MiB", {"agent": tty_id, "replay": MIB + 1}),
                       ("replay and since_seq", {"agent": tty_id, "replay": 10, "since_seq": 1}),
                       ("read_only a string", {"agent": tty_id, "read_only": "yes"}),
                       ("exec_argv empty", {"agent": tty_id, "exec_argv": []}),
                       ("exec_argv [\"\"]", {"agent": tty_id, "exec_argv": [""]}),
                       ("exec_argv a map", {"agent": tty_id, "exec_argv": {"a": "b"}}),
                       ("exec_argv of 1025 entries", {"agent": tty_id, "exec_argv": ["x"] * 1025}),
                       ("exec_argv and exec_id", {"agent": tty_id, "exec_argv": ["sh"], "exec_id": 1}),
                       ("exec_argv and since_seq", {"agent": tty_id, "exec_argv": ["sh"], "since_seq": 1}),
                       ("exec_id 0", {"agent": tty_id, "exec_id": 0}),
                       ("exec_id a float", {"agent": tty_id, "exec_id": 1.5})):
        r = s.req("attach", args)
        ck(SAT, f"attach with {what}: bad_request", r is not None and r.code == "bad_request", desc(r))
        health_after(SAT, f"attach with {what}")
    for op, args, what, code in (
            ("attach_input", {"data": b"x"}, "input without an attachment", "not_found"),
            ("attach_resize", {"rows": 24, "cols": 80}, "resize without an attachment", "not_found"),
            ("detach", {}, "detach without an attachment", "not_found"),
            ("attach_input", {}, "input without data", "bad_request"),
            ("attach_input", {"data": b""}, "empty input", "bad_request"),
            ("attach_input", {"data": "text"}, "input as a str", "bad_request"),
            ("attach_input", {"data": b"x" * (32 * 1024 + 1)}, "input over 32 KiB", "bad_request"),
            ("attach_resize", {"rows": 0, "cols": 80}, "a resize to 0 rows", "bad_request"),
            ("attach_resize", {"rows": 24}, "a resize without cols", "bad_request")):
        r = s.req(op, args)
        ck(SAT, f"{what}: {code}", r is not None and r.code == code, desc(r))
        health_after(SAT, what)
    s.close()

    # its own agents: one without a terminal, one with
    r = C.req("spawn", {"argv": ["/bin/sleep", "1000"], "name": "t-plain"}, timeout=30)
    plain = r.data["agent"]["id"] if r is not None and r.ok else "t-plain"
    r = C.req("spawn", {"argv": [SH], "tty": True, "stdin": True}, timeout=30)
    ck(SAT, "spawn with tty and stdin: bad_request", r is not None and r.code == "bad_request", desc(r))
    r = C.req("spawn", {"argv": [SH], "tty": True, "name": "t-tty", "env": {"PS1": "$ ", "PATH": "/usr/bin:/bin"}},
              timeout=30)
    ck(SAT, "its own spawn with tty: ok, INFO tty true", r is not None and r.ok and r.data["agent"].get("tty") is True,
       desc(r))
    s = RawSub(LIVE_CONTROL)
    r = s.req("attach", {"agent": plain})
    ck(SAT, "attach to its own agent without a terminal: conflict, says so",
       r is not None and r.code == "conflict" and "terminal" in (r.msg or ""), desc(r))
    r = C.req("stdin", {"agent": "t-tty", "data": b"", "close": True})
    ck(SAT, "stdin close on a terminal: conflict", r is not None and r.code == "conflict", desc(r))
    r = s.req("attach", {"agent": "t-tty", "rows": 33, "cols": 91})
    ck(SAT, "attach to its own terminal: ok {seq, heartbeat_ms}",
       r is not None and r.ok and isinstance(r.data.get("seq"), int) and "heartbeat_ms" in r.data, desc(r))
    att = r.id if r is not None else None
    r = s.req("attach_input", {"data": b"stty size; echo wire-$((6*7))\r"})
    ck(SAT, "attach_input: ok {}", r is not None and r.ok, desc(r))
    got, deadline = b"", time.monotonic() + 10
    while b"wire-42" not in got and time.monotonic() < deadline:
        for m in s.drain(0.2):
            if m.get("sub") == att and "output" in m:
                got += bytes(m["output"]["data"])
    ck(SAT, "its keys are echoed and run, pushed as output {seq, data}", b"wire-42" in got and b"33 91" in got,
       repr(got[-200:]))
    r = s.req("detach")
    ck(SAT, "detach: ok", r is not None and r.ok, desc(r))
    # its own command on a terminal, in its agent without one
    r = s.req("attach", {"agent": plain, "exec_argv": ["/bin/sh", "-c", "read x; echo mine-$x; exit 6"]})
    ok = r is not None and r.ok and isinstance(r.data.get("exec_id"), int)
    ck(SAT, "exec_argv into its own agent without a terminal: ok {exec_id}", ok, desc(r))
    mine, xsub = (r.data["exec_id"], r.id) if ok else (None, None)
    r = s.req("attach", {"agent": plain, "exec_id": 987654321})
    ck(SAT, "an unknown exec_id of its own agent: not_found", r is not None and r.code == "not_found", desc(r))
    r = s.req("attach", {"agent": plain, "exec_id": mine or 1})
    ck(SAT, "its own command again by exec_id: ok", r is not None and r.ok, desc(r))
    xsub = r.id if r is not None else xsub
    s.req("attach_input", {"data": b"z\r"})
    got, closed, deadline = b"", None, time.monotonic() + 10
    while closed is None and time.monotonic() < deadline:
        for m in s.drain(0.2):
            if m.get("sub") == xsub and "output" in m:
                got += bytes(m["output"]["data"])
            if m.get("sub") == xsub and "closed" in m:
                closed = m["closed"]
    ck(SAT, "its command's output pushed, then closed {reason: exited, exit_code: 6}",
       b"mine-z" in got and closed == {"reason": "exited", "exit_code": 6}, (got[-100:], closed))
    if t.get("root_exec_id"):
        r = s.req("attach", {"agent": plain, "exec_id": t["root_exec_id"]})
        ck(SAT, "root's exec_id named on its own agent: not_found", r is not None and r.code == "not_found",
           desc(r))
    r = s.req("attach_input", {"data": b"x"})
    ck(SAT, "input after detach: not_found", r is not None and r.code == "not_found", desc(r))
    r = s.req("attach", {"agent": "t-tty", "read_only": True, "replay": 0})
    ck(SAT, "a read-only attach: ok", r is not None and r.ok, desc(r))
    r = s.req("attach_input", {"data": b"x"})
    ck(SAT, "input on a read-only attachment: conflict", r is not None and r.code == "conflict", desc(r))
    r = s.req("attach_resize", {"rows": 10, "cols": 10})
    ck(SAT, "a resize on a read-only attachment: conflict", r is not None and r.code == "conflict", desc(r))
    s.close()
    C.req("kill", {"agent": "t-tty"}, timeout=20)
    C.req("kill", {"agent": plain}, timeout=20)
    health_after(SAT, "its own terminal")


def tenant_main(role, control, t):
    global C
    _, C = tenant_session(control)
    global LIVE_CONTROL
    LIVE_CONTROL = control
    {"notfound": lambda: phase_notfound(t), "remove": phase_concurrent_remove, "odd": phase_odd_fields,
     "fuzz": lambda: phase_fuzz(t), "subscribe": lambda: phase_subscribe(t), "attach": lambda: phase_attach(t)}[role]()
    C.close()
    return 0


class Watchdog(threading.Thread):
    """Restarts the daemon when it dies (the crash is recorded by whoever saw health fail)."""
    def __init__(self, d):
        super().__init__(daemon=True)
        self.d, self.stop_ev, self.deaths = d, threading.Event(), []

    def run(self):
        while not self.stop_ev.wait(0.1):
            if not self.d.alive():
                self.deaths.append(self.d.status())
                print(f"!!!! watchdog: descartesd died ({self.d.status()}); log tail:\n{self.d.log_tail(8)}",
                      flush=True)
                try:
                    self.d.start()
                except Exception as e:
                    print(f"watchdog: restart failed: {e}", flush=True)
                    return


def slow_subscriber(D, c):
    """A subscriber that does not read while events pile up: the daemon answers others meanwhile, and when it
    reads at last every event is there, or said lost, in order (the prev_seq chain has no silent hole)."""
    slow = RawSub(D.control, rcvhwm=1)
    r = slow.req("subscribe", {"since_seq": 0})
    ck(SE, "root: a subscriber that will not read: subscribe ok", r is not None and r.ok, desc(r))
    sub_id = None
    agents = []
    for i in range(8):
        a = c.req("spawn", {"argv": [SH, "-c", "i=0; while [ $i -lt 400 ]; do echo line $i; i=$((i+1)); "
                                           "sleep 0.005; done"]}, timeout=20)
        if a is not None and a.ok:
            agents.append(a.data["agent"]["id"])
    worst = 0.0
    deadline = time.monotonic() + 6
    while time.monotonic() < deadline:
        t0 = time.monotonic()
        h = c.req("health", timeout=5)
        worst = max(worst, time.monotonic() - t0)
        if h is None or not h.ok:
            worst = 99
            break
        time.sleep(0.05)
    ck(SE, "root: health keeps answering while a subscriber does not read", worst < 5, f"slowest {worst:.3f} s")
    got = slow.drain(4)
    sub_id = got[0]["sub"] if got else None
    ck(SE, "root: the slow subscriber gets its events once it reads, chained by prev_seq (losses said)",
       got and chain_ok(got, sub_id), [(m.get("prev_seq"), m.get("event", {}).get("seq"), m.get("lost"))
                                       for m in got][:10])
    slow.close()
    for aid in agents:
        c.req("kill", {"agent": aid}, timeout=10)


def root_setup(c):
    """Root's agents, one per state the tenant will name."""
    tag = uuid.uuid4().hex[:6]
    states = {}

    def sp(argv, name, **kw):
        r = c.req("spawn", dict({"argv": argv, "name": name}, **kw), timeout=30)
        return r.data["agent"]["id"] if r is not None and r.ok else None

    states["running"] = (sp(["/bin/sleep", "1000"], f"r-run-{tag}", stdin=True), f"r-run-{tag}")
    states["paused"] = (sp(["/bin/sleep", "1000"], f"r-pau-{tag}"), f"r-pau-{tag}")
    c.req("pause", {"agent": states["paused"][0]})
    states["stopping"] = (sp([SH, "-c", "trap '' TERM; echo ready; while :; do sleep 0.1; done"], f"r-sto-{tag}"),
                          f"r-sto-{tag}")
    # a TERM before the shell has set its trap would end it at once: wait until it says ready
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        o = c.req("output", {"agent": states["stopping"][0]})
        if o is not None and o.ok and o.data.get("lines"):
            break
        time.sleep(0.05)
    c.send("stop", {"agent": states["stopping"][0], "grace_ms": 600000})  # not waited for: stays stopping
    states["exited"] = (sp(["/bin/true"], f"r-exi-{tag}"), f"r-exi-{tag}")
    states["tty"] = (sp([SH], f"r-tty-{tag}", tty=True), f"r-tty-{tag}")
    c.req("spawn", {"argv": ["/nonexistent"], "name": f"r-fai-{tag}"})
    time.sleep(0.3)
    g = c.req("get", {"agent": f"r-fai-{tag}"})
    states["failed"] = (g.data["agent"]["id"] if g is not None and g.ok else str(uuid.uuid4()), f"r-fai-{tag}")
    seen = {}
    for st, (aid, _) in states.items():
        g = c.req("get", {"agent": aid})
        seen[st] = g.data["agent"]["state"] if g is not None and g.ok else None
    return states, seen


def main():
    global C
    role = tenant_args()
    if role:
        return tenant_main(*role)
    wd = None
    with Run(KNOWN_MISMATCHES, quiet=True) as session:
        D, C, users = session.daemon, session.client, session.users
        try:
            wd = Watchdog(D)
            wd.start()
            # a fresh daemon without any agent first: the heap is small, a use-after-free shows at once
            for op in ["stop", "stdin"] + AGENT_OPS:
                for args in arg_variants(op, "nope-fresh"):
                    what = f"root, no agents yet: {op} {sorted(args)} naming an unknown agent"
                    r = C.req(op, args, timeout=5)
                    ck(SA, f"{what}: not_found", r is not None and r.code == "not_found", desc(r))
                    health_after(SA, what)
            states, seen = root_setup(C)
            ck("setup", "root's agents are in the states named", seen == {
                "running": "running", "paused": "paused", "stopping": "stopping", "exited": "exited",
                "failed": "failed"} or all(v is not None for v in seen.values()), seen)
            print(f"root's agents: {seen}", flush=True)
            tp = users.make("x", ["descartes"])
            tag = uuid.uuid4().hex[:6]
            # root's own command on a terminal in its running agent: its exec_id the tenant will name
            rs = RawSub(D.control)
            r = rs.req("attach", {"agent": states["running"][0], "exec_argv": ["/bin/sleep", "1000"]})
            ck("setup", "root: a command on a terminal in its running agent", r is not None and r.ok, desc(r))
            root_exec_id = r.data["exec_id"] if r is not None and r.ok else None
            rs.close()
            targets = {"states": states, "starting_prefix": f"r-start-{tag}-", "n_starting": 8,
                       "root_exec_id": root_exec_id}
            stop_spawner = threading.Event()

            def spawner():  # root keeps agents named r-start-TAG-0..7 starting and just started
                sc = Client(D.control)
                i = 0
                while not stop_spawner.is_set():
                    nm = f"{targets['starting_prefix']}{i % 8}"
                    sc.req("remove", {"agent": nm}, timeout=3)
                    r = sc.req("spawn", {"argv": ["/bin/true"], "name": nm}, timeout=10)
                    i += 1
                    if r is None:
                        time.sleep(0.2)
                sc.close()

            # root, too: every op naming an unknown agent (id, name), minimal and full arguments
            for label, ref in (("an unknown UUID", str(uuid.uuid4())), ("an unknown name", "nope-root")):
                for op in AGENT_OPS:
                    for args in arg_variants(op, ref):
                        what = f"root: {op} {sorted(args)} naming {label}"
                        r = C.req(op, args, timeout=5)
                        ck(SA, f"{what}: not_found", r is not None and r.code == "not_found", desc(r))
                        health_after(SA, what)
            for role in ("notfound", "remove", "odd", "subscribe", "attach", "fuzz"):
                th = None
                if role == "notfound":
                    th = threading.Thread(target=spawner, daemon=True)
                    th.start()
                rc, out = run_tenant(tp, D, "attack.py", role, targets, timeout=600)
                if th:
                    stop_spawner.set()
                    th.join(15)
                ck(SA, f"the tenant's {role} phase ran to completion", rc == 0, f"rc {rc}: {out[-1500:]}")
            slow_subscriber(D, C)
            # root's agents were not touched by the tenant
            for st, (aid, _) in states.items():
                g = C.req("get", {"agent": aid})
                cur = g.data["agent"]["state"] if g is not None and g.ok else None
                ok = cur == seen[st] or (st == "stopping" and wd.deaths)  # a restart loses the pending stop
                ck(SA, f"root's {st} agent is untouched by the tenant", ok, f"now {cur}")
            wd.stop_ev.set()
            wd.join(2)
            ck("harness", "descartesd never died during the attacks", not wd.deaths, wd.deaths)
        finally:
            if wd:
                wd.stop_ev.set()
    return session.summary()


if __name__ == "__main__":
    sys.exit(main())
