#!/usr/bin/env python3
"""Interactive sessions through the real CLI: `descartesctl attach` driven through a pseudo-terminal of our
own (python's pty module), as a person at a terminal would use it. A shell agent spawned with --tty: typing
shows the echo and runs commands, a window resize reaches `stty size`, the detach keys leave the agent
running, a second attach shows the earlier screen, several clients share the session (one read-only), the
session survives a kill -9 of the daemon (an attached client attaches again by itself, a new one joins),
`spawn -it` runs and ends with the agent's exit code, and attaching to an agent without a terminal or to
none is refused clearly. Then a raw client that stops reading while its agent floods a small output log:
the daemon keeps its place, tells what the log dropped as `lost`, and the prev_seq chain holds. Root only; exit 77 (skipped) without root, cgroup2 or the python modules."""
import fcntl
import json
import os
import pty
import select
import signal
import struct
import subprocess
import sys
import termios
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dconf  # noqa: E402
import zmq  # noqa: E402

CTL = os.environ.get("DESCARTESCTL", "")
DETACH = b"\x10\x11"  # ctrl-p ctrl-q
FAILS = []


def ck(what, cond, detail=""):
    print(("ok   " if cond else "FAIL ") + what + ("" if cond else f": {detail}"), flush=True)
    if not cond:
        FAILS.append(what)


def ctl(d, *args):
    p = subprocess.run([CTL, "-H", d.control, *args], capture_output=True, text=True, timeout=60)
    return p.returncode, p.stdout, p.stderr


class Term:
    """A descartesctl process on a pseudo-terminal of ours: what it prints is the screen, what we write is
    typed."""

    def __init__(self, d, args, rows=24, cols=80):
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            try:
                os.execv(CTL, [CTL, "-H", d.control, *args])
            finally:
                os._exit(127)
        self.resize(rows, cols, signal_it=False)
        self.screen = b""
        self.status = None

    def resize(self, rows, cols, signal_it=True):
        fcntl.ioctl(self.fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        if signal_it:
            os.kill(self.pid, signal.SIGWINCH)

    def pump(self, timeout):
        r, _, _ = select.select([self.fd], [], [], timeout)
        if not r:
            return False
        try:
            data = os.read(self.fd, 65536)
        except OSError:  # EIO: the client has exited and closed its side
            data = b""
        if not data:
            return None
        self.screen += data
        return True

    def wait_for(self, needle, timeout=10.0):
        needle = needle.encode() if isinstance(needle, str) else needle
        deadline = time.monotonic() + timeout
        while needle not in self.screen:
            left = deadline - time.monotonic()
            if left <= 0 or self.pump(left) is None:
                return needle in self.screen
        return True

    def type(self, text):
        os.write(self.fd, text.encode() if isinstance(text, str) else text)

    def wait_exit(self, timeout=10.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pid, st = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.status = os.waitstatus_to_exitcode(st)
                while self.pump(0.05):
                    pass
                return self.status
            self.pump(0.05)
        return None

    def close(self):
        if self.status is None:
            try:
                os.kill(self.pid, signal.SIGKILL)
                os.waitpid(self.pid, 0)
            except OSError:
                pass
        os.close(self.fd)


def agent_state(d, ref):
    rc, out, err = ctl(d, "-o", "json", "inspect", ref)
    if rc != 0:
        return f"(inspect failed: {err.strip()})"
    return json.loads(out.splitlines()[-1])["state"]


def run(d):
    env = ["--env", "PS1=$ ", "--env", "ENV="]
    rc, out, err = ctl(d, "spawn", "--tty", "--name", "sh1", *env, "--", "/bin/sh")
    ck("spawn --tty", rc == 0, err)
    rc, out, err = ctl(d, "-o", "json", "inspect", "sh1")
    ck("INFO says tty", rc == 0 and json.loads(out.splitlines()[-1]).get("tty") is True, out + err)

    a = Term(d, ["attach", "sh1"], rows=30, cols=100)
    try:
        a.type("\r")
        ck("attach shows the prompt", a.wait_for("$ "), repr(a.screen[-200:]))
        a.type("echo hel''lo-$((40+2))\r")
        ck("typing is echoed", a.wait_for("echo hel''lo-$((40+2))"), repr(a.screen[-300:]))
        ck("and runs in the agent's shell", a.wait_for("hello-42"), repr(a.screen[-300:]))
        a.type("stty size\r")
        ck("the window size of the attaching terminal", a.wait_for("30 100"), repr(a.screen[-300:]))
        a.resize(40, 120)
        time.sleep(0.2)  # the SIGWINCH is forwarded while we type the next line
        a.type("stty size\r")
        ck("a resize reaches stty size", a.wait_for("40 120"), repr(a.screen[-300:]))
        a.type("tty\r")
        ck("its terminal is a pty of its own devpts", a.wait_for("/dev/pts/"), repr(a.screen[-300:]))
        a.type(DETACH)
        ck("the detach keys end the client with 0", a.wait_exit() == 0, f"status {a.status}")
        ck("and say so", b"Detached from agent" in a.screen, repr(a.screen[-300:]))
    finally:
        a.close()
    ck("the agent goes on running after a detach", agent_state(d, "sh1") == "running", agent_state(d, "sh1"))
    rc, out, err = ctl(d, "logs", "sh1")
    ck("logs reads the terminal's output (its log is the agent's output)", rc == 0 and "hello-42" in out,
       f"rc {rc}: {out[-300:]} {err}")

    b = Term(d, ["attach", "sh1"])
    ro = Term(d, ["attach", "--read-only", "sh1"])
    try:
        ck("re-attach shows the earlier screen", b.wait_for("hello-42"), repr(b.screen[-300:]))
        ck("a read-only client sees it too", ro.wait_for("hello-42"), repr(ro.screen[-300:]))
        b.type("echo multi-$((2*3))\r")
        ck("two clients at once: the typist sees the output", b.wait_for("multi-6"), repr(b.screen[-300:]))
        ck("two clients at once: the read-only one too", ro.wait_for("multi-6"), repr(ro.screen[-300:]))
        ro.type("echo ro-$((7*7))\r")
        b.type("echo mark-$((8*8))\r")
        ck("after the read-only client typed, the typist's next line runs", b.wait_for("mark-64"),
           repr(b.screen[-300:]))
        ck("and what the read-only client typed never reached the agent", b"ro-49" not in b.screen,
           repr(b.screen[-300:]))
        # a ctrl-p not followed by ctrl-q is a key like any other
        b.type(b"echo p\x10x | od -c | head -1\r")
        ck("a lone first detach key is typed through", b.wait_for("020"), repr(b.screen[-300:]))

        # the daemon dies; the shell (under its shim) does not
        d.kill(signal.SIGKILL)
        d.start()
        ck("the session survives kill -9 of the daemon", agent_state(d, "sh1") == "running",
           agent_state(d, "sh1"))
        n = Term(d, ["attach", "sh1"])
        try:
            ck("a new client after the restart sees the earlier screen", n.wait_for("multi-6"),
               repr(n.screen[-300:]))
            n.type("echo after-$((5+5))\r")
            ck("and the shell still answers", n.wait_for("after-10"), repr(n.screen[-300:]))
            ck("the read-only client of before the restart attached again by itself",
               ro.wait_for("after-10", timeout=20), repr(ro.screen[-300:]))
            # a keystroke to a daemon that no longer knows the connection makes the client attach again
            b.type("\r")
            time.sleep(0.5)
            b.type("echo b-again-$((1+1))\r")
            ck("the typing client of before the restart attached again", b.wait_for("b-again-2"),
               repr(b.screen[-300:]))
            ck("without repeating what it had shown", b.screen.count(b"multi-6\r\n") == 1,
               repr(b.screen[-600:]))
            n.type("exit 3\r")
            ck("the agent's end ends the session with its exit code", n.wait_exit() == 3, f"status {n.status}")
            ck("of every client", b.wait_exit() == 3 and ro.wait_exit() == 3, f"{b.status} {ro.status}")
        finally:
            n.close()
    finally:
        b.close()
        ro.close()

    it = Term(d, ["spawn", "-it", *env, "--", "/bin/sh", "-c", "printf 'name? '; read x; echo got-$x; exit 7"])
    try:
        ck("spawn -it joins at once", it.wait_for("name? "), repr(it.screen[-300:]))
        it.type("abc\r")
        ck("spawn -it: input reaches the agent", it.wait_for("got-abc"), repr(it.screen[-300:]))
        ck("spawn -it ends with the agent's code", it.wait_exit() == 7, f"status {it.status}")
    finally:
        it.close()

    rc, out, err = ctl(d, "spawn", "--name", "piped", "--", "sleep", "1000")
    rc, out, err = ctl(d, "attach", "piped")
    ck("attach to an agent without a terminal: conflict (exit 6), said clearly",
       rc == 6 and "no terminal" in err, f"rc {rc}: {err}")
    rc, out, err = ctl(d, "attach", "nobody-here")
    ck("attach to no agent: not found (exit 5)", rc == 5, f"rc {rc}: {err}")
    rc, out, err = ctl(d, "spawn", "--tty", "-i", "--detach-keys", "nonsense", "--", "/bin/sh")
    ck("a bad --detach-keys is a usage error", rc == 2, f"rc {rc}: {err}")
    ctl(d, "kill", "piped")


def slow_client():
    """A client that does not read while the agent writes 30 MB under a 256 KiB output cap: the daemon queues
    what the connection takes (16 MiB), keeps its place in the log, and when the client reads again tells the
    records the log dropped meanwhile as `lost`, then goes on with the rest: the prev_seq chain never breaks
    and nothing comes twice."""
    d = dconf.Daemon(extra_config="output_cap = 256K")
    try:
        sh = "stty raw -echo; read x; seq 1 4000000; sleep 1000"
        rc, out, err = ctl(d, "spawn", "--tty", "--name", "flood", "--", "/bin/sh", "-c", sh)
        ck("slow client: spawn a tty agent that floods", rc == 0, err)
        s = zmq.Context.instance().socket(zmq.DEALER)
        s.setsockopt(zmq.LINGER, 0)
        s.setsockopt(zmq.ROUTING_ID, b"\x01" + os.urandom(15))
        s.setsockopt(zmq.RCVHWM, 1)
        s.setsockopt(zmq.RCVBUF, 4096)
        s.connect(d.control)

        def recv(timeout):
            if not s.poll(int(timeout * 1000)):
                return None
            return dconf.dec_one(s.recv_multipart()[-1])[0]

        s.send(dconf.enc({"v": 1, "id": "att", "op": "attach", "args": {"agent": "flood", "replay": 0}}))
        pushes, reply = [], None
        while reply is None:
            m = recv(10)
            if m is None:
                break
            if m.get("id") == "att":
                reply = m
            elif "sub" in m:
                pushes.append(m)
        ck("slow client: attach ok", reply is not None and reply.get("ok"), reply)
        # \n, not \r: in raw mode (when stty came first) nothing turns \r into the \n read waits for
        s.send(dconf.enc({"v": 1, "id": "go", "op": "attach_input", "args": {"data": b"go\n"}}))
        time.sleep(4)  # the agent writes everything; the daemon fills the queue, then keeps its place
        data, deadline = b"", time.monotonic() + 60
        while not data.endswith(b"\n4000000\n") and time.monotonic() < deadline:
            m = recv(5)
            if m is None:
                break
            if "sub" in m:
                pushes.append(m)
                if "output" in m:
                    data += bytes(m["output"]["data"])
        ck("slow client: everything up to the agent's last line arrives", data.endswith(b"\n4000000\n"),
           repr(data[-80:]))
        prev, broken, twice = reply["data"]["seq"] if reply and reply.get("ok") else 0, [], 0
        for m in pushes:
            if m.get("prev_seq") != prev:
                broken.append((prev, m.get("prev_seq")))
            if "output" in m:
                if m["output"]["seq"] < prev:
                    twice += 1
                prev = m["output"]["seq"]
            elif "lost" in m:
                prev = m["lost"]["to"]
        ck("slow client: the prev_seq chain never breaks, nothing comes twice", not broken and not twice,
           f"{broken[:5]} {twice}")
        lost = [m["lost"] for m in pushes if "lost" in m]
        ck("slow client: what the log dropped meanwhile is told as lost", lost, f"{len(pushes)} pushes")
        c = dconf.Client(d.control)
        st = c.req("stats")
        c.close()
        ck("slow client: the daemon counted the full queue (attach_blocked)",
           st is not None and st.ok and st.data.get("attach_blocked", 0) > 0, st.data if st else None)
        s.close()
        ctl(d, "kill", "flood")
    finally:
        d.stop()


def main():
    why = dconf.skip_reason()
    if not why and not CTL:
        why = "$DESCARTESCTL does not name the built descartesctl (run under meson test)"
    if why:
        print(f"SKIP: {why}")
        return 77
    d = dconf.Daemon()
    try:
        run(d)
    finally:
        d.stop()
    slow_client()
    if FAILS:
        print(f"{len(FAILS)} failed: " + "; ".join(FAILS))
        return 1
    print("all passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
