#!/usr/bin/env python3
"""Commands of exec on a terminal of their own (`descartesctl exec -t/-it`, `attach` with exec_argv or
exec_id). Through the real CLI on a pseudo-terminal of ours (python's pty module), as a person would use it:
`exec -it AGENT -- /bin/sh` in an agent that has no terminal shows a prompt, runs what is typed, `tty` is a
/dev/pts path of the agent's devpts, `stty size` follows a resize, `exit 3` ends the CLI with 3; `exec -t
AGENT -- tty` without -i; the detach keys leave the command running and `attach --exec ID` joins it again,
also after a kill -9 of the daemon, and returns its exit code; a paused agent is a conflict. Then raw wire
requests: bad arguments, unknown exec ids, the pushes and the closed push with the exit code, the bound on
commands per agent. Another tenant's agents are in attack.py (phase attach). Root only; exit 77 (skipped)
without root, cgroup2 or the python modules."""
import os
import re
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dconf  # noqa: E402
from attach import CTL, DETACH, Term, ck, ctl, agent_state, FAILS  # noqa: E402


class Wire:
    """A DEALER of its own with a random routing id (attach needs one): replies and pushes apart."""

    def __init__(self, control):
        self.sock = dconf.zmq.Context.instance().socket(dconf.zmq.DEALER)
        self.sock.setsockopt(dconf.zmq.LINGER, 0)
        self.sock.setsockopt(dconf.zmq.ROUTING_ID, b"\x01" + os.urandom(15))
        self.sock.connect(control)
        self.pushes = []
        self.n = 0

    def req(self, op, args=None, timeout=10):
        self.n += 1
        rid = f"w-{self.n}"
        self.sock.send(dconf.enc({"v": 1, "id": rid, "op": op, "args": args or {}}))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.sock.poll(50):
                continue
            m = dconf.dec_one(self.sock.recv_multipart()[-1])[0]
            if isinstance(m, dict) and "sub" in m:
                self.pushes.append(m)
            elif isinstance(m, dict) and m.get("id") == rid:
                return m
        return None

    def until_closed(self, sub, timeout=10):
        """The output pushed for sub until its closed push: (bytes, closed or None)."""
        data, deadline = b"", time.monotonic() + timeout
        while time.monotonic() < deadline:
            for m in self.pushes:
                if m.get("sub") != sub:
                    continue
                if "output" in m:
                    data += bytes(m["output"]["data"])
                if "closed" in m:
                    self.pushes = []
                    return data, m["closed"]
            self.pushes = []
            if self.sock.poll(50):
                m = dconf.dec_one(self.sock.recv_multipart()[-1])[0]
                if isinstance(m, dict) and "sub" in m:
                    self.pushes.append(m)
        return data, None

    def close(self):
        self.sock.close()


def wait_re(t, pattern, timeout=10.0):
    """Like Term.wait_for, for a regular expression."""
    deadline = time.monotonic() + timeout
    while not re.search(pattern, t.screen):
        left = deadline - time.monotonic()
        if left <= 0 or t.pump(left) is None:
            return re.search(pattern, t.screen) is not None
    return True


def code(r):
    return (r.get("err") or {}).get("code") if isinstance(r, dict) else None


def exec_id_of(screen):
    m = re.search(rb"attach --exec (\d+)", screen)
    return m.group(1).decode() if m else None


def cli(d):
    env = ["--env", "PS1=$ ", "--env", "ENV="]
    rc, out, err = ctl(d, "spawn", "--name", "box", *env, "--", "sleep", "100000")
    ck("spawn an agent without a terminal", rc == 0, err)

    t = Term(d, ["exec", "-it", "box", "--", "/bin/sh"], rows=30, cols=100)
    try:
        ck("exec -it: a prompt", t.wait_for("$ "), repr(t.screen[-200:]))
        t.type("echo hel''lo-$((40+2))\r")
        ck("exec -it: typing is echoed", t.wait_for("echo hel''lo-$((40+2))"), repr(t.screen[-300:]))
        ck("exec -it: and runs in the command's shell", t.wait_for("hello-42"), repr(t.screen[-300:]))
        t.type("tty\r")
        ck("exec -it: tty is a /dev/pts path", wait_re(t, rb"/dev/pts/\d+"), repr(t.screen[-300:]))
        t.type("stty size\r")
        ck("exec -it: the window size of the terminal it started from", t.wait_for("30 100"),
           repr(t.screen[-300:]))
        t.resize(41, 121)
        time.sleep(0.2)  # the SIGWINCH is forwarded while we type the next line
        t.type("stty size\r")
        ck("exec -it: a resize reaches stty size", t.wait_for("41 121"), repr(t.screen[-300:]))
        t.type("id -u; grep Seccomp: /proc/self/status\r")
        ck("exec -it: the agent's confinement (seccomp filter on)", wait_re(t, rb"Seccomp:\s+2"),
           repr(t.screen[-300:]))
        t.type("exit 3\r")
        ck("exec -it: exit 3 ends the CLI with 3", t.wait_exit() == 3, f"status {t.status}")
    finally:
        t.close()

    t = Term(d, ["exec", "-t", "box", "--", "tty"])
    try:
        ck("exec -t without -i: its tty is a /dev/pts path", wait_re(t, rb"/dev/pts/\d+"),
           repr(t.screen[-300:]))
        ck("exec -t without -i: ends with its code 0", t.wait_exit() == 0, f"status {t.status}")
    finally:
        t.close()
    t = Term(d, ["exec", "-t", "box", "--", "sh", "-c", "test -t 0 && test -t 1 && exit 9"])
    try:
        ck("exec -t: stdin and stdout are the terminal (exit 9)", t.wait_exit() == 9, f"status {t.status}")
    finally:
        t.close()
    rc, out, err = ctl(d, "exec", "-t", "box", "--", "sh", "-c", "printf out-%s $((6*7)); kill -TERM $$")
    ck("exec -t without a terminal of ours: its output, 128+15 for SIGTERM", rc == 143 and "out-42" in out,
       f"rc {rc}: {out!r} {err}")

    # detach, then join again (also across a kill -9 of the daemon) and get the exit code
    t = Term(d, ["exec", "-it", "box", "--", "/bin/sh"])
    try:
        ck("exec -it: a second shell", t.wait_for("$ "), repr(t.screen[-200:]))
        t.type("echo before-$((1+1))\r")
        ck("exec -it: output before the detach", t.wait_for("before-2"), repr(t.screen[-300:]))
        t.type(DETACH)
        ck("exec -it: the detach keys end the client with 0", t.wait_exit() == 0, f"status {t.status}")
        xid = exec_id_of(t.screen)
        ck("exec -it: the detach says how to join again (attach --exec ID)", xid is not None, repr(t.screen[-300:]))
    finally:
        t.close()
    d.kill(signal.SIGKILL)
    d.start()
    a = Term(d, ["attach", "--exec", xid or "1", "box"])
    try:
        ck("attach --exec after a kill -9 of the daemon: the earlier screen", a.wait_for("before-2"),
           repr(a.screen[-300:]))
        a.type("echo after-$((2+3))\r")
        ck("attach --exec: the command still answers", a.wait_for("after-5"), repr(a.screen[-300:]))
        a.type("exit 4\r")
        ck("attach --exec: ends with the command's code", a.wait_exit() == 4, f"status {a.status}")
    finally:
        a.close()
    ck("the agent goes on after its commands", agent_state(d, "box") == "running", agent_state(d, "box"))
    rc, out, err = ctl(d, "attach", "--exec", xid or "1", "box")
    ck("attach --exec to an ended command: the rest of its output and its code", rc == 4 and "after-5" in out,
       f"rc {rc}: {out[-200:]!r} {err}")
    # a command that ends while no daemon is there: its shim keeps its end and tells the next daemon
    t = Term(d, ["exec", "-it", "box", "--", "sh", "-c", "echo away-start; sleep 2; echo away-end; exit 7"])
    try:
        ck("exec -it: a command that will end while the daemon is away", t.wait_for("away-start"),
           repr(t.screen[-200:]))
        t.type(DETACH)
        t.wait_exit()
        yid = exec_id_of(t.screen)
    finally:
        t.close()
    d.kill(signal.SIGKILL)
    time.sleep(3)
    d.start()
    rc, out, err = ctl(d, "attach", "--exec", yid or "1", "box")
    ck("attach --exec to a command that ended while the daemon was away: its output and its code 7",
       rc == 7 and "away-end" in out, f"rc {rc}: {out[-200:]!r} {err}")
    rc, out, err = ctl(d, "attach", "--exec", "12345", "box")
    ck("attach --exec to an unknown exec id: not found (exit 5), says so", rc == 5 and "exec_id" in err,
       f"rc {rc}: {err}")

    rc, out, err = ctl(d, "pause", "box")
    rc, out, err = ctl(d, "exec", "-it", "box", "--", "/bin/sh")
    ck("exec -it into a paused agent: conflict (exit 6)", rc == 6 and "paused" in err, f"rc {rc}: {err}")
    ctl(d, "resume", "box")
    rc, out, err = ctl(d, "exec", "-t", "--timeout", "5s", "box", "--", "tty")
    ck("exec -t --timeout: a usage error", rc == 2, f"rc {rc}: {err}")
    rc, out, err = ctl(d, "exec", "-t", "nobody-here", "--", "tty")
    ck("exec -t into no agent: not found (exit 5)", rc == 5, f"rc {rc}: {err}")
    rc, out, err = ctl(d, "exec", "-t", "box", "--", "/nonexistent/cmd")
    ck("exec -t of a command that does not exist: fails, with no hang", rc != 0, f"rc {rc}: {err}")
    rc, out, err = ctl(d, "exec", "--help")
    ck("exec --help tells -t and -it", rc == 0 and "-t, --tty" in out and "attach --exec" in out, out)


def wire(d):
    w = Wire(d.control)
    try:
        r = w.req("spawn", {"argv": ["/bin/sleep", "100000"], "name": "wbox"}, timeout=30)
        ck("wire: spawn", r is not None and r.get("ok"), r)
        for what, args in (("exec_argv empty", {"agent": "wbox", "exec_argv": []}),
                           ("exec_argv[0] empty", {"agent": "wbox", "exec_argv": [""]}),
                           ("exec_argv not a list", {"agent": "wbox", "exec_argv": "sh"}),
                           ("exec_argv of ints", {"agent": "wbox", "exec_argv": [1, 2]}),
                           ("exec_argv over 16 KiB", {"agent": "wbox", "exec_argv": ["x" * 17000]}),
                           ("exec_argv and exec_id", {"agent": "wbox", "exec_argv": ["sh"], "exec_id": 3}),
                           ("exec_argv and since_seq", {"agent": "wbox", "exec_argv": ["sh"], "since_seq": 1}),
                           ("exec_argv and replay", {"agent": "wbox", "exec_argv": ["sh"], "replay": 10}),
                           ("exec_id 0", {"agent": "wbox", "exec_id": 0}),
                           ("exec_id negative", {"agent": "wbox", "exec_id": -1}),
                           ("exec_id a string", {"agent": "wbox", "exec_id": "7"})):
            r = w.req("attach", args)
            ck(f"wire: attach with {what}: bad_request", code(r) == "bad_request", r)
        ck("wire: the daemon still answers", d.health_ok())
        r = w.req("attach", {"agent": "wbox", "exec_id": 987654321})
        ck("wire: an unknown exec_id: not_found", code(r) == "not_found", r)
        r = w.req("attach", {"agent": "nobody-here", "exec_argv": ["sh"]})
        ck("wire: exec_argv into no agent: not_found", code(r) == "not_found", r)

        r = w.req("attach", {"agent": "wbox", "exec_argv": ["sh", "-c", "stty size; read x; echo got-$x; exit 5"],
                             "rows": 33, "cols": 91})
        ok = r is not None and r.get("ok")
        ck("wire: attach with exec_argv: ok {seq, heartbeat_ms, exec_id}",
           ok and isinstance(r["data"].get("exec_id"), int) and r["data"]["exec_id"] > 0 and "seq" in r["data"], r)
        sub, xid = (r["id"], r["data"]["exec_id"]) if ok else (None, 0)
        time.sleep(0.3)
        r = w.req("attach_input", {"data": b"abc\r"})
        ck("wire: attach_input to the command: ok", r is not None and r.get("ok"), r)
        data, closed = w.until_closed(sub)
        ck("wire: its output pushed (its window 33x91, the keys read)", b"33 91" in data and b"got-abc" in data,
           repr(data[-200:]))
        ck("wire: closed {reason: exited, exit_code: 5}",
           closed is not None and closed.get("reason") == "exited" and closed.get("exit_code") == 5, closed)
        r = w.req("attach_input", {"data": b"x"})
        ck("wire: input after the closed push: not_found", code(r) == "not_found", r)
        r = w.req("attach", {"agent": "wbox", "exec_id": xid, "since_seq": 1})
        ck("wire: attach to the ended command by exec_id: ok", r is not None and r.get("ok"), r)
        data, closed = w.until_closed(r["id"] if r else None)
        ck("wire: its whole output again, then closed with its code", b"got-abc" in data and closed is not None
           and closed.get("exit_code") == 5, (data[-100:], closed))

        r = w.req("attach", {"agent": "wbox", "exec_argv": ["sh", "-c", "kill -KILL $$"]})
        data, closed = w.until_closed(r["id"] if r else None)
        ck("wire: a command killed by a signal: closed {signal: 9}, no exit_code",
           closed is not None and closed.get("signal") == 9 and "exit_code" not in closed, closed)

        # at most 4 running per agent; a fifth is limit_exceeded; their connections may go
        others = [Wire(d.control) for _ in range(5)]
        try:
            rs = [o.req("attach", {"agent": "wbox", "exec_argv": ["sleep", "3"]}) for o in others]
            ck("wire: 4 commands on terminals run at once",
               all(x is not None and x.get("ok") for x in rs[:4]), rs[:4])
            ck("wire: a fifth is limit_exceeded", code(rs[4]) == "limit_exceeded", rs[4])
        finally:
            for o in others:
                o.close()
        time.sleep(3.5)
        r = w.req("attach", {"agent": "wbox", "exec_argv": ["true"]})
        ck("wire: once they ended (their connections gone), a new one starts",
           r is not None and r.get("ok"), r)
        w.until_closed(r["id"] if r else None)

        # the 8 newest ended commands are kept (their output and code), the older ones and their logs go
        ids = []
        for i in range(10):
            r = w.req("attach", {"agent": "wbox", "exec_argv": ["sh", "-c", f"echo n-{i}"]})
            ids.append(r["data"]["exec_id"] if r and r.get("ok") else None)
            w.until_closed(r["id"] if r else None)
        r = w.req("attach", {"agent": "wbox", "exec_id": ids[0] or 1})
        ck("wire: past 8 newer ended commands an exec_id is not_found", code(r) == "not_found", r)
        r = w.req("attach", {"agent": "wbox", "exec_id": ids[-1] or 1, "since_seq": 1})
        data, closed = w.until_closed(r["id"] if r else None)
        ck("wire: the newest ended one is kept", b"n-9" in data and closed is not None
           and closed.get("exit_code") == 0, (data, closed))
        g = w.req("get", {"agent": "wbox"})
        aid = g["data"]["agent"]["id"] if g and g.get("ok") else "?"
        logs = os.listdir(os.path.join(d.state_dir, "agents", aid, "exec"))
        ck("wire: the logs of the commands no longer kept are removed", str(ids[0]) not in logs and len(logs) <= 8,
           logs)

        r = w.req("pause", {"agent": "wbox"}, timeout=20)
        r = w.req("attach", {"agent": "wbox", "exec_argv": ["sh"]})
        ck("wire: exec_argv into a paused agent: conflict", code(r) == "conflict", r)
        r = w.req("kill", {"agent": "wbox"}, timeout=20)
        time.sleep(0.3)
        r = w.req("attach", {"agent": "wbox", "exec_argv": ["sh"]})
        ck("wire: exec_argv into an ended agent: conflict", code(r) == "conflict", r)
        r = w.req("attach", {"agent": "wbox", "exec_id": xid})
        ck("wire: a command of an ended agent: conflict", code(r) == "conflict", r)
    finally:
        w.close()


def agent_end_closes(d):
    """A command's attachment learns its agent's end: closed {reason: ended}, no code; the CLI says so."""
    rc, out, err = ctl(d, "spawn", "--name", "short", "--", "sleep", "2")
    t = Term(d, ["exec", "-it", "short", "--", "sleep", "100"])
    try:
        ck("the agent's end ends exec -it with a failure (1), says why", t.wait_exit(timeout=20) == 1
           and b"ended" in t.screen, f"status {t.status}: {t.screen[-200:]!r}")
    finally:
        t.close()


def main():
    why = dconf.skip_reason()
    if not why and not CTL:
        why = "$DESCARTESCTL does not name the built descartesctl (run under meson test)"
    if why:
        print(f"SKIP: {why}")
        return 77
    d = dconf.Daemon()
    try:
        cli(d)
        wire(d)
        agent_end_closes(d)
        ck("the daemon never died", d.alive(), d.status())
    finally:
        d.stop()
    if FAILS:
        print(f"{len(FAILS)} failed: " + "; ".join(FAILS))
        return 1
    print("all passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
