#!/usr/bin/env python3
"""bench/action-rtt.py — custom actions (docs/agent-protocol.md): the time of one `action` request, from the
request leaving a raw wire client to its reply, for
  conflict   an agent that never opened its action channel (answered by the daemon at once; target < 10 ms)
  rtt        examples/action-agent.py answering `echo` (client -> daemon -> shim -> agent and back)
  inflight   100 `echo` actions sent at once to the same agent, the time until the last reply (one figure
             per round)
Prints key=value lines (p50, p90, p99, max in microseconds).

usage: /usr/bin/python3 bench/action-rtt.py [-n REQUESTS]
  (root, a built tree: meson setup build && ninja -C build; a python with python3-zmq and python3-msgpack,
  as tests/conformance needs; it starts its own daemon with tests/conformance/dconf.py)
"""
import argparse
import os
import sys
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import ROOT, report  # noqa: E402

import dconf  # noqa: E402


def timed(c, agent, n, expect_ok):
    lat = []
    for i in range(n):
        t = time.perf_counter()
        r = c.req("action", {"agent": agent, "name": "echo", "params": {"i": i}}, timeout=10)
        lat.append((time.perf_counter() - t) * 1e6)
        if r is None or r.ok != expect_ok:
            raise RuntimeError(f"unexpected reply {r!r}")
    return lat


def inflight(c, agent, rounds):
    lat = []
    for _ in range(rounds):
        t = time.perf_counter()
        rids = [c.send("action", {"agent": agent, "name": "echo", "params": {"i": i}}) for i in range(100)]
        for rid in rids:
            r = c.wait(rid, 30)
            if r is None or not r.ok:
                raise RuntimeError(f"unexpected reply {r!r}")
        lat.append((time.perf_counter() - t) * 1e6)
    return lat


def spawn(c, argv):
    r = c.req("spawn", {"argv": argv, "name": "bench-" + uuid.uuid4().hex[:6]}, timeout=30)
    if r is None or not r.ok:
        raise RuntimeError(f"spawn failed: {r!r}")
    return r.data["agent"]["id"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=2000, help="requests per figure (default 2000)")
    a = ap.parse_args()
    why = dconf.skip_reason()
    if why:
        print(f"cannot run: {why}", file=sys.stderr)
        return 1
    d = dconf.Daemon()
    c = dconf.Client(d.control)
    try:
        plain = spawn(c, ["/bin/sleep", "1000"])
        with open(os.path.join(ROOT, "examples", "action-agent.py")) as f:
            agent = spawn(c, ["python3", "-c", f.read()])
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            r = c.req("action", {"agent": agent, "name": "echo"}, timeout=10)
            if r is not None and r.ok:
                break
            time.sleep(0.05)
        report("conflict", timed(c, plain, a.n, False))
        report("rtt", timed(c, agent, a.n, True))
        report("inflight100", inflight(c, agent, max(a.n // 100, 20)))
        for x in (plain, agent):
            c.req("kill", {"agent": x}, timeout=10)
    finally:
        c.close()
        d.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
