#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""`descartesctl top`: `--once` prints a table with its columns and one row per agent alive; the full-screen
view under a pty with 20 agents (its last frame is printed into the test log), its sort keys, q and SIGTERM
both putting the terminal back as it was (modes, the main screen, the cursor)."""

KNOWN_MISMATCHES = [
    # none: every check below holds. Add an entry (the check's full name) only with an issue that fixes it.
]

import fcntl  # noqa: E402
import os  # noqa: E402
import re  # noqa: E402
import select  # noqa: E402
import signal  # noqa: E402
import struct  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import termios  # noqa: E402
import time  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dconf import Run, ck, desc  # noqa: E402

S = "top"
COLUMNS = ["ID", "STATE", "HEALTH", "CPU%", "MEMORY/MAX", "PIDS", "UPTIME", "NAME"]
RESTORE = b"\x1b[?25h\x1b[?1049l"


def read_for(fd, seconds):
    out = b""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        r, _, _ = select.select([fd], [], [], max(0.01, end - time.monotonic()))
        if r:
            try:
                b = os.read(fd, 65536)
            except OSError:
                break
            if not b:
                break
            out += b
    return out


def last_frame(out):
    text = out.split(b"\x1b[H\x1b[2J")[-1]
    text = re.sub(rb"\x1b\[[0-9;?]*[A-Za-z]", b"", text)
    return text.decode("utf-8", "replace").replace("\r\n", "\n")


def top_in_pty(ctl, control, keys, how):
    """Runs top in a pty of 40x140 and feeds it keys (each after a pause); ends it with `how` ("q" or
    "SIGTERM"). Returns (exit code, all output, termios before, termios after)."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 140, 0, 0))
    before = termios.tcgetattr(slave)
    p = subprocess.Popen([ctl, "-H", control, "top"], stdin=slave, stdout=slave, stderr=slave,
                         start_new_session=True)
    out = read_for(master, 2.5)
    for k in keys:
        os.write(master, k.encode())
        out += read_for(master, 1.5)
    if how == "q":
        os.write(master, b"q")
    else:
        p.send_signal(signal.SIGTERM)
    try:
        rc = p.wait(timeout=10)
    except subprocess.TimeoutExpired:
        p.kill()
        rc = p.wait()
    out += read_for(master, 0.3)
    after = termios.tcgetattr(slave)
    os.close(slave)
    os.close(master)
    return rc, out, before, after


def main():
    ctl = os.environ.get("DESCARTESCTL", "")
    if not ctl:
        print("SKIP: $DESCARTESCTL does not name the built descartesctl (run under meson test)")
        return 77
    with Run(KNOWN_MISMATCHES, quiet=False) as session:
        D, C = session.daemon, session.client
        names = [f"top-{i:02d}" for i in range(1, 20)]
        for n in names:
            r = C.req("spawn", {"argv": ["/bin/sleep", "1000"], "name": n}, timeout=30)
            ck(S, f"spawn {n}", r is not None and r.ok, desc(r))
        r = C.req("spawn", {"argv": ["/bin/sh", "-c", "while :; do :; done"], "name": "busy-1"}, timeout=30)
        ck(S, "spawn busy-1 (a CPU loop)", r is not None and r.ok, desc(r))
        names.append("busy-1")
        r = C.req("spawn", {"argv": ["/bin/true"], "name": "ended-1"}, timeout=30)
        C.req("wait", {"agent": "ended-1", "timeout_ms": 10000}, timeout=30)

        p = subprocess.run([ctl, "-H", D.control, "top", "--once"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=60)
        out = p.stdout.decode("utf-8", "replace")
        print("---- descartesctl top --once ----\n" + out)
        ck(S, "top --once exits 0", p.returncode == 0, p.stderr.decode()[-500:])
        lines = out.splitlines()
        ck(S, "top --once: the header names the columns", lines and lines[0].split() == COLUMNS,
           lines[:1])
        rows = {ln.split()[-1]: ln.split() for ln in lines[1:] if ln.split()}
        ck(S, "top --once: a row per agent alive, none for the ended one", sorted(rows) == sorted(names),
           sorted(rows))
        ck(S, "top --once: every row is running with a CPU% (two samples)", all(
           r[1] == "running" and re.fullmatch(r"\d+\.\d", r[3]) for r in rows.values()), list(rows.values())[:3])
        ck(S, "top --once: busy-1 sorts first (by CPU)", lines[1:2] and lines[1].split()[-1] == "busy-1",
           lines[1:3])
        p = subprocess.run([ctl, "-H", D.control, "top", "--once", "--sort", "name"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=60)
        got = [ln.split()[-1] for ln in p.stdout.decode().splitlines()[1:] if ln.split()]
        ck(S, "top --once --sort name: rows by name", got == sorted(names), got)
        p = subprocess.run([ctl, "-H", D.control, "top", "--sort", "size"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=60)
        ck(S, "top --sort size: a usage error", p.returncode != 0 and b"--sort" in p.stderr, p.stderr[-300:])
        p = subprocess.run([ctl, "-H", D.control, "top"], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=60)
        ck(S, "top without a terminal: refused, pointing at --once", p.returncode != 0
           and b"--once" in p.stderr, p.stderr[-300:])

        rc, out, before, after = top_in_pty(ctl, D.control, ["n"], "q")
        frame = last_frame(out[:out.rfind(RESTORE)] if RESTORE in out else out)
        print("---- descartesctl top under a pty (40x140), 20 agents, its last frame (sorted by name) ----\n"
              + frame)
        ck(S, "top (pty): q exits 0", rc == 0, rc)
        ck(S, "top (pty): the alternate screen, then the terminal put back", out.startswith(b"\x1b[?1049h")
           and out.rstrip().endswith(RESTORE), out[-80:])
        ck(S, "top (pty): the terminal's modes as before", before == after, (before, after))
        flines = [ln for ln in frame.splitlines() if ln.strip()]
        ck(S, "top (pty): the key line says the sort", flines and "sorted by name" in flines[0], flines[:1])
        got = [ln.split()[-1] for ln in flines[2:]]
        ck(S, "top (pty): 20 rows, sorted by name after n", got == sorted(names), got)
        rc, out, before, after = top_in_pty(ctl, D.control, ["m"], "SIGTERM")
        ck(S, "top (pty): SIGTERM puts the terminal back too", out.rstrip().endswith(RESTORE)
           and before == after, out[-80:])
        C.req("batch", {"op": "kill", "selector": {}}, timeout=30)
    return session.summary()


if __name__ == "__main__":
    sys.exit(main())
