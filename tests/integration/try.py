#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""scripts/try, as the README tells: it starts a private daemon and prints the DESCARTES_HOST line; an agent
spawned through descartesctl with that host runs and its output reads back; SIGINT (Ctrl-C) to scripts/try
ends it, and then no process of it (the daemon, the shim, the agent), no cgroup and no directory remains.
The bash and zsh completions offer the agent's name and id from that daemon. Root only (exit 77 otherwise).
Environment: BUILD (the build directory), DESCARTESCTL, ZSH (zsh; its checks are left out without it)."""

import os
import re
import signal
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "tests", "unit"))
from zsh_complete import Zsh, ZshError  # noqa: E402
failures = []


def default_sigint():
    """As a terminal's shell starts a command: SIGINT at its default. A SIGINT ignored on entry (a job started
    in the background of a non-interactive shell, as `cmd &` in a script or CI runner) cannot be trapped by
    bash, and the Ctrl-C this test sends would never reach try."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def check(ok, what):
    print(("ok     " if ok else "FAILED ") + what, flush=True)
    if not ok:
        failures.append(what)


def pids_in(cg):
    pids = set()
    for d, _, files in os.walk(cg):
        if "cgroup.procs" in files:
            with open(os.path.join(d, "cgroup.procs")) as f:
                pids.update(int(x) for x in f.read().split())
    return pids


def alive(pid):
    """Running: a zombie that init has yet to reap (a shim whose parent, the daemon, ended) runs nothing."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False


def main():
    if os.geteuid() != 0:
        print("scripts/try needs root")
        return 77
    ctl = os.environ["DESCARTESCTL"]
    env = dict(os.environ, BUILD=os.environ["BUILD"])
    env.pop("DESCARTES_HOST", None)
    tr = subprocess.Popen([os.path.join(REPO, "scripts", "try")], env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, start_new_session=True,
                          preexec_fn=default_sigint)
    banner = []
    host = None
    try:
        for line in tr.stdout:
            banner.append(line)
            m = re.match(r"^DESCARTES_HOST=(ipc://\S+)$", line)
            if m:
                host = m.group(1)
            if line.startswith("Ctrl-C"):
                break
        print("".join(banner), end="")
        check(host is not None, "scripts/try prints a DESCARTES_HOST=ipc://... line")
        if host is None:
            tr.kill()
            print(tr.stderr.read())
            return 1
        m = re.search(r"pid (\d+)\), its directories in (\S+), its cgroup (\S+)", "".join(banner))
        check(m is not None, "the banner names the daemon's pid, directories and cgroup")
        daemon_pid, tmp, cg = int(m.group(1)), m.group(2), m.group(3)
        check(os.path.isdir(tmp) and os.path.isdir(cg), "its directories and cgroup exist while it runs")

        cenv = dict(os.environ, DESCARTES_HOST=host)
        spawned = subprocess.run([ctl, "spawn", "--name", "hello", "--", "sh", "-c", "echo hello from try; sleep 300"],
                                 env=cenv, capture_output=True, text=True)
        check(spawned.returncode == 0,
              f"descartesctl spawn with the printed host (exit {spawned.returncode}, {spawned.stderr.strip()})")
        out = ""
        for _ in range(100):
            out = subprocess.run([ctl, "logs", "hello"], env=cenv, capture_output=True, text=True).stdout
            if "hello from try" in out:
                break
            time.sleep(0.1)
        check("hello from try" in out, "descartesctl logs hello reads the agent's output")
        # the bash completion offers the agent by name, from this daemon
        script = ('PATH=%s:$PATH; . %s/completions/descartesctl.bash; COMP_WORDS=(descartesctl logs hel); '
                  'COMP_CWORD=2; _descartesctl; printf "%%s\\n" "${COMPREPLY[@]}"') % (os.path.dirname(ctl), REPO)
        r = subprocess.run(["bash", "-c", script], env=cenv, capture_output=True, text=True)
        check(r.stdout.split() == ["hello"], f"bash completion of 'descartesctl logs hel' is hello ({r.stdout!r})")
        agent_id = spawned.stdout.strip()
        script = ('PATH=%s:$PATH; . %s/completions/descartesctl.bash; COMP_WORDS=(descartesctl stop %s); '
                  'COMP_CWORD=2; _descartesctl; printf "%%s\\n" "${COMPREPLY[@]}"') % (
                      os.path.dirname(ctl), REPO, agent_id[:8])
        r = subprocess.run(["bash", "-c", script], env=cenv, capture_output=True, text=True)
        check(r.stdout.split() == [agent_id], f"bash completion of an id's first characters is the id ({r.stdout!r})")
        if os.environ.get("ZSH"):
            zenv = dict(cenv, PATH=os.path.dirname(ctl) + ":" + os.environ.get("PATH", "/usr/bin:/bin"))
            try:
                with Zsh(os.environ["ZSH"], REPO, env=zenv) as z:
                    got = z.complete("descartesctl logs hel")
                    check(got == ["hello"], f"zsh completion of 'descartesctl logs hel' is hello ({got})")
                    got = z.complete("descartesctl stop ")
                    check(got == sorted([agent_id, "hello"]), f"zsh offers the agent's id and name to stop ({got})")
                    got = z.inserted("descartesctl logs hel")
                    check(got == "descartesctl logs hello", f"zsh's TAB inserts the name ({got!r})")
                    z.run("unset DESCARTES_HOST")
                    got = z.complete(f"descartesctl -H {host} logs {agent_id[:8]}")
                    check(got == [agent_id], f"zsh completion with -H of an id's first characters is the id ({got})")
            except ZshError as e:
                check(False, f"zsh completion against the daemon: {e}")
        # a reader slower than the agent: stop of an ended agent says why once (conflict, exit 6)
        ended = subprocess.run([ctl, "spawn", "--wait", "--", "true"], env=cenv, capture_output=True, text=True)
        r = subprocess.run([ctl, "stop", ended.stdout.strip()], env=cenv, capture_output=True, text=True)
        check(r.returncode == 6 and r.stderr.count("cannot stop agent") == 1 and "it is exited" in r.stderr,
              f"stop of an ended agent: conflict, exit 6, said once (exit {r.returncode}, {r.stderr.strip()!r})")
        procs = pids_in(cg)
        check(len(procs) >= 2, f"the shim and the agent run in the private cgroup ({len(procs)} processes)")
        procs.add(daemon_pid)

        tr.send_signal(signal.SIGINT)
        rc = tr.wait(timeout=120)
        err = tr.stderr.read()
        check(rc == 130, f"scripts/try ends on SIGINT with 130 (got {rc})")
        check("cleaned up" in err, "scripts/try says it cleaned up")
        left = [p for p in procs if alive(p)]
        check(not left, f"no process of it remains (left: {left})")
        check(not os.path.exists(cg), f"its cgroup {cg} is gone")
        check(not os.path.exists(tmp), f"its directories {tmp} are gone")
    finally:
        if tr.poll() is None:
            os.killpg(tr.pid, signal.SIGTERM)
            tr.wait()
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
