#!/usr/bin/env python3
"""A descartes agent that takes custom actions (docs/agent-protocol.md), standard library only.

It opens its action channel (the socket on fd $DESCARTES_ACTION_FD) by writing {"ready": true}, then answers
each action line {"id", "name", "params"} with {"id", "result"} or {"id", "error"}, one thread per action so
that slow actions do not hold up the others.

  descartesctl spawn --name helper -- python3 examples/action-agent.py
  descartesctl action helper echo --param greeting=hello      ->  {"greeting":"hello"}

Actions: echo (the params back), add ({a, b} -> a + b), sleep ({ms}: answers after ms milliseconds),
fail (answers an error), ignore (never answers).
"""
import json
import os
import socket
import sys
import threading
import time

lock = threading.Lock()


def answer(chan, msg):
    line = (json.dumps(msg, separators=(",", ":")) + "\n").encode()
    with lock:
        chan.sendall(line)


def handle(chan, req):
    name, params = req.get("name"), req.get("params") or {}
    if name == "echo":
        answer(chan, {"id": req["id"], "result": params})
    elif name == "add":
        answer(chan, {"id": req["id"], "result": params.get("a", 0) + params.get("b", 0)})
    elif name == "sleep":
        time.sleep(int(params.get("ms", 0)) / 1000)
        answer(chan, {"id": req["id"], "result": {"slept_ms": int(params.get("ms", 0))}})
    elif name == "fail":
        answer(chan, {"id": req["id"], "error": {"code": "E_FAIL", "message": params.get("why", "asked to fail")}})
    elif name == "ignore":
        pass
    else:
        answer(chan, {"id": req["id"], "error": {"code": "E_UNKNOWN", "message": f"no action {name!r}"}})


def main():
    fd = os.environ.get("DESCARTES_ACTION_FD")
    if fd is None:
        print("no action channel (DESCARTES_ACTION_FD is not set)", file=sys.stderr)
        return 1
    chan = socket.socket(fileno=int(fd))
    answer(chan, {"ready": True})
    print("ready", flush=True)
    for line in chan.makefile("rb"):
        try:
            req = json.loads(line)
        except ValueError:
            continue
        threading.Thread(target=handle, args=(chan, req), daemon=True).start()
    return 0


if __name__ == "__main__":
    sys.exit(main())
