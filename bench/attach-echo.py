#!/usr/bin/env python3
"""bench/attach-echo.py — keystroke echo latency of an attached terminal (docs/protocol.md, section 1,
"Attached terminals"): the time from a key leaving the client to its echo coming back.

The agent is `stty raw -echo; cat` in a terminal of its own (spawn tty): every byte typed is read by the
agent and written back by it, as an editor or a TUI echoes a key, so the figure covers the whole path: client
-> daemon (attach_input) -> shim -> pty -> agent -> pty -> shim (output log, TTY_OUTPUT) -> daemon (reads
the log) -> client (an output push). Two clients:
  wire  a raw DEALER speaking the protocol (what the daemon and shim add)
  ctl   `descartesctl attach` in a pseudo-terminal of ours (what a person sees: the CLI's own loop and a
        second pty on top)
Prints key=value lines (p50, p90, p99, max in microseconds) per client.

usage: /usr/bin/python3 bench/attach-echo.py [-n KEYS]
  (root, a built tree: meson setup build && ninja -C build; a python with python3-zmq and python3-msgpack,
  as tests/conformance needs; it starts its own daemon with tests/conformance/dconf.py)
"""
import argparse
import os
import pty
import select
import subprocess
import sys
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import CTL, report  # noqa: E402

import zmq  # noqa: E402

import dconf  # noqa: E402

AGENT = ["/bin/sh", "-c", "stty raw -echo; echo ready; exec cat"]


def wire(d, agent, n):
    s = zmq.Context.instance().socket(zmq.DEALER)
    s.setsockopt(zmq.LINGER, 0)
    s.setsockopt(zmq.ROUTING_ID, b"\x01" + os.urandom(15))
    s.connect(d.control)

    def recv():
        return dconf.dec_one(s.recv_multipart()[-1])[0]

    s.send(dconf.enc({"v": 1, "id": "att", "op": "attach", "args": {"agent": agent, "replay": 0}}))
    while True:
        m = recv()
        if m.get("id") == "att":
            assert m.get("ok"), m
            break
    lat = []
    for i in range(n):
        key = bytes([ord("a") + i % 26])
        t0 = time.perf_counter()
        s.send(dconf.enc({"v": 1, "id": f"k{i}", "op": "attach_input", "args": {"data": key}}))
        got = b""
        while key not in got:
            m = recv()
            if "output" in m:
                got += bytes(m["output"]["data"])
        lat.append((time.perf_counter() - t0) * 1e6)
    s.send(dconf.enc({"v": 1, "id": "det", "op": "detach"}))
    s.close()
    return lat


def ctl(d, agent, n):
    pid, fd = pty.fork()
    if pid == 0:
        os.execv(CTL, [CTL, "-H", d.control, "attach", agent])
    time.sleep(0.5)
    while select.select([fd], [], [], 0.2)[0]:
        os.read(fd, 65536)
    lat = []
    for i in range(n):
        key = bytes([ord("a") + i % 26])
        t0 = time.perf_counter()
        os.write(fd, key)
        got = b""
        while key not in got:
            select.select([fd], [], [], 5)
            got += os.read(fd, 65536)
        lat.append((time.perf_counter() - t0) * 1e6)
    os.write(fd, b"\x10\x11")
    os.waitpid(pid, 0)
    os.close(fd)
    return lat


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=2000, help="keys per client (default 2000)")
    a = ap.parse_args()
    why = dconf.skip_reason()
    if why:
        print(f"cannot run: {why}", file=sys.stderr)
        return 1
    d = dconf.Daemon()
    try:
        name = "echo-" + uuid.uuid4().hex[:6]
        p = subprocess.run([CTL, "-H", d.control, "spawn", "--tty", "--name", name, "--", *AGENT],
                           capture_output=True, text=True, check=True)
        agent = p.stdout.strip()
        time.sleep(0.3)
        report("wire", wire(d, agent, a.n), "keys")
        report("ctl", ctl(d, agent, a.n), "keys")
        subprocess.run([CTL, "-H", d.control, "kill", agent], capture_output=True)
    finally:
        d.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
