#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Writes the malformed request frames of tests/malformed/: NN-what.EXPECTED_CODE.bin, where EXPECTED_CODE is
the protocol error code proto_request_decode() must answer. Run from anywhere; rewrites the .bin files."""

import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


class Raw(bytes):
    """Bytes emitted as they are (hand-made headers)."""


class Bin(bytes):
    pass


def pack(o):
    if isinstance(o, Raw):
        return bytes(o)
    if o is None:
        return b"\xc0"
    if o is True:
        return b"\xc3"
    if o is False:
        return b"\xc2"
    if isinstance(o, int):
        if 0 <= o < 0x80:
            return bytes([o])
        if -32 <= o < 0:
            return struct.pack("b", o)
        if o >= 0:
            return b"\xcf" + struct.pack(">Q", o)
        return b"\xd3" + struct.pack(">q", o)
    if isinstance(o, float):
        return b"\xcb" + struct.pack(">d", o)
    if isinstance(o, Bin):
        return b"\xc6" + struct.pack(">I", len(o)) + bytes(o)
    if isinstance(o, (str, bytes)):
        b = o.encode() if isinstance(o, str) else o
        if len(b) < 32:
            return bytes([0xA0 | len(b)]) + b
        return b"\xdb" + struct.pack(">I", len(b)) + b
    if isinstance(o, list):
        return b"\xdd" + struct.pack(">I", len(o)) + b"".join(pack(x) for x in o)
    if isinstance(o, dict):
        return b"\xdf" + struct.pack(">I", len(o)) + b"".join(pack(k) + pack(v) for k, v in o.items())
    if isinstance(o, tuple):  # a map with repeated keys: ((k, v), ...)
        return b"\xdf" + struct.pack(">I", len(o)) + b"".join(pack(k) + pack(v) for k, v in o)
    raise TypeError(o)


def req(op, args=None, **top):
    m = {"v": 1, "id": "m1", "op": op}
    if args is not None:
        m["args"] = args
    m.update(top)
    return m


def deep(n):
    return Raw(b"\x91" * n + b"\xc0")


GOOD_SPAWN = pack(req("spawn", {"argv": ["/bin/echo", "hi"], "env": {"A": "1"}, "name": "n1"}))

CASES = [
    ("empty", "bad_request", Raw(b"")),
    ("not-a-map", "bad_request", ["v", 1]),
    ("string-root", "bad_request", "hello"),
    ("missing-v", "bad_request", {"id": "m1", "op": "health"}),
    ("v-is-string", "bad_request", {"v": "1", "id": "m1", "op": "health"}),
    ("wrong-version", "unsupported_version", {"v": 2, "id": "m1", "op": "health"}),
    ("missing-id", "bad_request", {"v": 1, "op": "health"}),
    ("id-too-long", "bad_request", {"v": 1, "id": "x" * 65, "op": "health"}),
    ("id-embedded-nul", "bad_request", {"v": 1, "id": "a\0b", "op": "health"}),
    ("missing-op", "bad_request", {"v": 1, "id": "m1"}),
    ("unknown-op", "unknown_op", req("launch")),
    ("op-is-int", "bad_request", req(7)),
    ("args-is-array", "bad_request", req("get", [])),
    ("get-missing-agent", "bad_request", req("get", {})),
    ("agent-is-bin", "bad_request", req("get", {"agent": Bin(b"a")})),
    ("agent-embedded-nul", "bad_request", req("kill", {"agent": "ab\0c"})),
    ("duplicate-top-key", "bad_request", (("v", 1), ("id", "m1"), ("op", "get"), ("op", "kill"))),
    ("non-string-key", "bad_request", ((1, 2), ("v", 1), ("id", "m1"), ("op", "health"))),
    ("spawn-empty-argv", "bad_request", req("spawn", {"argv": []})),
    ("spawn-argv-int", "bad_request", req("spawn", {"argv": ["/bin/echo", 5]})),
    ("spawn-too-many-argv", "bad_request", req("spawn", {"argv": ["a"] * 4097})),
    ("spawn-env-key-equals", "bad_request", req("spawn", {"argv": ["a"], "env": {"A=B": "c"}})),
    ("spawn-too-many-labels", "bad_request",
     req("spawn", {"argv": ["a"], "labels": {"k%d" % i: "v" for i in range(65)}})),
    ("spawn-negative-memory", "bad_request", req("spawn", {"argv": ["a"], "limits": {"memory": -1}})),
    ("spawn-net-unknown", "bad_request", req("spawn", {"argv": ["a"], "net": "bridge"})),
    ("spawn-relative-cwd", "bad_request", req("spawn", {"argv": ["a"], "cwd": "tmp"})),
    ("signal-unknown-name", "bad_request", req("signal", {"agent": "a", "signal": "SIGBOGUS"})),
    ("signal-out-of-range", "bad_request", req("signal", {"agent": "a", "signal": 4096})),
    ("stdin-data-is-string", "bad_request", req("stdin", {"agent": "a", "data": "text"})),
    ("stdin-data-oversize", "bad_request", req("stdin", {"agent": "a", "data": Bin(b"z" * (1024 * 1024 + 1))})),
    ("output-tail-and-offset", "bad_request", req("output", {"agent": "a", "tail": 1, "offset": 1})),
    ("batch-unbatchable-op", "bad_request", req("batch", {"op": "spawn", "agents": ["a"]})),
    ("batch-agents-and-selector", "bad_request", req("batch", {"op": "kill", "agents": ["a"], "selector": {}})),
    ("events-limit-too-big", "bad_request", req("events", {"limit": 10001})),
    ("action-params-not-map", "bad_request", req("action", {"agent": "a", "name": "n", "params": [1]})),
    ("deep-nesting-40", "bad_request", deep(40)),
    ("deep-params-17", "bad_request", req("action", {"agent": "a", "name": "n", "params": {"x": deep(14)}})),
    ("array32-huge-count", "bad_request", Raw(b"\xdd\xff\xff\xff\xff")),
    ("map32-huge-count", "bad_request", Raw(b"\xdf\x00\xff\xff\xff\xc0\xc0")),
    ("nested-array-huge-count", "bad_request", req("list", {"labels": Raw(b"\xdc\xff\xff")})),
    ("str32-huge-length", "bad_request", Raw(b"\x81\xa1v\xdb\x7f\xff\xff\xff")),
    ("bin32-past-end", "bad_request", Raw(b"\xc6\x00\x00\x01\x00abc")),
    ("ext32-past-end", "bad_request", Raw(b"\xc9\x10\x00\x00\x00\x01ab")),
    ("reserved-byte-c1", "bad_request", Raw(b"\x81\xa1v\xc1")),
    ("truncated-spawn", "bad_request", Raw(GOOD_SPAWN[:-3])),
    ("truncated-header", "bad_request", Raw(b"\xdf\x00\x00")),
    ("trailing-byte", "bad_request", Raw(pack(req("health")) + b"\x00")),
    ("two-messages", "bad_request", Raw(pack(req("health")) * 2)),
]


def main():
    for f in os.listdir(HERE):
        if f.endswith(".bin"):
            os.unlink(os.path.join(HERE, f))
    for i, (name, code, obj) in enumerate(CASES, 1):
        path = os.path.join(HERE, "%02d-%s.%s.bin" % (i, name, code))
        with open(path, "wb") as f:
            f.write(pack(obj))
    print("wrote %d frames to %s" % (len(CASES), HERE), file=sys.stderr)


if __name__ == "__main__":
    main()
