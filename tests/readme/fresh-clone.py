#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""A new user's path through README.md, from a fresh clone: `git clone` of this tree's HEAD into a temporary
directory, then the README's blocks marked `<!-- README test: NAME -->`, read from the clone's README, run in
the clone as they are written: `setup` (twice: the second run must install nothing and build nothing),
`try` (scripts/try, in the background as in the first shell), `try-cli` (each command with the
DESCARTES_HOST that try printed), `completion` (bash and zsh, against the try daemon). Then Ctrl-C: SIGINT to
try's process group, as a terminal sends it. Then nothing of it may remain: no process (the daemon, a shim,
an agent, anything run from the clone), no cgroup (its private one, or any cgroup anywhere named after it or
after one of its agents), no mount, no unix socket, no directory (its own, /run/descartes or
/var/lib/descartes if they were absent). A README block that drifts from what works fails here.

Root only (exit 77 otherwise); it builds a second tree, so CI runs it as a stage of its own (.ci/run), not
under meson test. Usage: tests/readme/fresh-clone.py [SOURCE] (default: this tree; its HEAD is cloned, so
commit first). Environment: KEEP=1 keeps the clone."""

import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "unit"))
from zsh_complete import Zsh, ZshError  # noqa: E402

failures = []
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


def default_sigint():
    """As a terminal's shell starts a command: SIGINT at its default. A SIGINT ignored on entry (a job started
    in the background of a non-interactive shell, as `cmd &` in a script or CI runner) cannot be trapped by
    bash, and the Ctrl-C this test sends would never reach try."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def check(ok, what):
    print(("ok     " if ok else "FAILED ") + what, flush=True)
    if not ok:
        failures.append(what)
    return ok


class Abort(Exception):
    pass


def require(ok, what):
    if not check(ok, what):
        raise Abort(what)


def readme_blocks(path):
    """{NAME: [command lines]} of the indented code blocks that follow a `<!-- README test: NAME -->` line."""
    blocks = {}
    with open(path) as f:
        lines = f.read().split("\n")
    i = 0
    while i < len(lines):
        m = re.match(r"^<!-- README test: (\S+) -->$", lines[i])
        i += 1
        if not m:
            continue
        while i < len(lines) and not lines[i].strip():
            i += 1
        block = []
        while i < len(lines) and (lines[i].startswith("    ") or not lines[i].strip()):
            if lines[i].strip():
                block.append(lines[i][4:].rstrip())
            i += 1
        blocks[m.group(1)] = block
    return blocks


def cgroup_dirs():
    """Every cgroup directory of every hierarchy mounted under /sys/fs/cgroup."""
    found = set()
    for top in os.scandir("/sys/fs/cgroup"):
        if not top.is_dir(follow_symlinks=False):
            continue
        for d, dirs, _ in os.walk(top.path):
            found.update(os.path.join(d, x) for x in dirs)
    return found


def mounts():
    seen = set()
    for pid in ("self", "1"):
        with open(f"/proc/{pid}/mountinfo") as f:
            seen.update(line.split(" - ")[0].split()[4] for line in f)
    return seen


def unix_sockets():
    with open("/proc/net/unix") as f:
        next(f)
        return {parts[7] for parts in (line.split() for line in f) if len(parts) > 7}


def alive(pid):
    """Running: a zombie awaiting init's reap runs nothing."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False


def processes_of(paths):
    """Running processes whose program, working directory or command line names one of PATHS."""
    found = {}
    for e in os.scandir("/proc"):
        if not e.name.isdigit() or int(e.name) == os.getpid():
            continue
        try:
            with open(f"/proc/{e.name}/cmdline", "rb") as f:
                cmdline = f.read().replace(b"\0", b" ").decode(errors="replace")
            names = [cmdline]
            for link in ("exe", "cwd"):
                try:
                    names.append(os.readlink(f"/proc/{e.name}/{link}"))
                except OSError:
                    pass
        except OSError:
            continue
        if any(p in n for p in paths for n in names) and alive(int(e.name)):
            found[int(e.name)] = cmdline.strip()
    return found


def pids_in(cg):
    pids = set()
    for d, _, files in os.walk(cg):
        if "cgroup.procs" in files:
            try:
                with open(os.path.join(d, "cgroup.procs")) as f:
                    pids.update(int(x) for x in f.read().split())
            except OSError:
                pass
    return pids


def sh(line, cwd, env, what):
    """Runs one README line with bash in the clone, as a user types it."""
    t = time.monotonic()
    r = subprocess.run(["bash", "-c", line], cwd=cwd, env=env, capture_output=True, text=True)
    print(f"$ {line}    ({time.monotonic() - t:.1f} s, exit {r.returncode})")
    for out in (r.stdout, r.stderr):
        if out.strip():
            print("    " + "\n    ".join(out.strip().split("\n")[-15:]))
    check(r.returncode == 0, f"{what}: `{line}` exits 0 (exit {r.returncode})")
    return r


def run_cli(block, clone, env, host):
    """The try-cli block line by line: the export takes the printed host; each line must exit 0, and the
    lines below must be there and do what the README says they do."""
    env = dict(env)
    seen = set()
    ids = []
    for line in block:
        m = re.match(r"^export DESCARTES_HOST=(\S+)$", line)
        if m:
            shape = "^" + re.escape(m.group(1)).replace("XXXXXX", r"[A-Za-z0-9]{6}") + "$"
            check(re.match(shape, host) is not None, f"the README's DESCARTES_HOST {m.group(1)} has the shape of "
                  f"the printed one ({host})")
            env["DESCARTES_HOST"] = host
            seen.add("export")
            continue
        argv = shlex.split(line)
        verb = argv[1] if len(argv) > 1 else ""
        if verb == "logs":
            # the agent may not have written yet when a script types this at once: as a user, look again
            for _ in range(50):
                r = subprocess.run(["bash", "-c", line], cwd=clone, env=env, capture_output=True, text=True)
                if r.returncode == 0 and "hello" in r.stdout.split("\n"):
                    break
                time.sleep(0.1)
        r = sh(line, clone, env, "try-cli")
        if verb == "spawn":
            ids += re.findall(UUID, r.stdout)
        if verb == "spawn" and "--wait" in argv:
            check(re.search(r"^exit code 3$", r.stdout, re.M) is not None,
                  "spawn --wait of `exit 3` exits with the agent's code 3")
            seen.add("spawn --wait")
        elif verb == "spawn":
            check(re.fullmatch(UUID + r"\n", r.stdout) is not None, f"spawn prints the agent's id ({r.stdout!r})")
            seen.add("spawn")
        elif verb == "ps":
            check(re.search(r"\bhello\b.*\brunning\b", r.stdout) is not None, "ps shows hello running")
            seen.add("ps")
        elif verb == "logs":
            check("hello" in r.stdout.split("\n"), "logs hello prints the agent's line `hello`")
            seen.add("logs")
        elif verb == "stop":
            check(re.fullmatch(UUID + r"\n", r.stdout) is not None, "stop prints the stopped agent's id")
            seen.add("stop")
    for what in ("export", "spawn", "ps", "logs", "spawn --wait", "stop"):
        check(what in seen, f"the README's try-it commands include {what}")
    return env, ids


def run_completion(block, clone, env, ctl):
    """The completion block's bash and zsh lines in the clone, each offering the agent `hello` by name."""
    bash = [line for line in block if line.endswith("# bash")]
    zsh = [line for line in block if line.endswith("# zsh")]
    require(len(bash) == 1 and len(zsh) == 1, "the completion block has one bash and one zsh line")
    script = bash[0] + '\nCOMP_WORDS=(%s logs hel); COMP_CWORD=2; _descartesctl; printf "%%s\\n" "${COMPREPLY[@]}"' % ctl
    r = subprocess.run(["bash", "-c", script], cwd=clone, env=env, capture_output=True, text=True)
    check(r.stdout.split() == ["hello"], f"bash, loaded as the README says: `{ctl} logs hel` TAB offers hello "
          f"({r.stdout!r} {r.stderr.strip()!r})")
    zsh_prog = shutil.which("zsh")
    if not check(zsh_prog is not None, "zsh is installed (scripts/setup installs it)"):
        return
    try:
        with Zsh(zsh_prog, clone, env=env, cwd=clone, init=zsh[0]) as z:
            got = z.complete(f"{ctl} logs hel")
            check(got == ["hello"], f"zsh, loaded as the README says: `{ctl} logs hel` TAB offers hello ({got})")
            got = z.inserted(f"{ctl} logs hel")
            check(got == f"{ctl} logs hello", f"zsh's TAB completes it ({got!r})")
    except ZshError as e:
        check(False, f"zsh completion as the README loads it: {e}")


def try_out(clone, blocks, env, work):
    """From the try block to Ctrl-C, then what remains. Returns nothing; checks."""
    absent_before = [d for d in ("/run/descartes", "/var/lib/descartes") if not os.path.exists(d)]
    cgroups_before = cgroup_dirs()
    mounts_before = mounts()
    sockets_before = unix_sockets()
    tr = None
    try:
        require(len(blocks["try"]) == 1, "the try block is one command")
        print(f"$ {blocks['try'][0]} &")
        tr = subprocess.Popen(["bash", "-c", blocks["try"][0]], cwd=clone, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, start_new_session=True,
                              preexec_fn=default_sigint)
        banner = []
        for line in tr.stdout:
            banner.append(line)
            if line.startswith("Ctrl-C"):
                break
        text = "".join(banner)
        print("    " + "\n    ".join(text.strip().split("\n")))
        m = re.search(r"^DESCARTES_HOST=(ipc://\S+)$", text, re.M)
        require(m is not None, "try prints a DESCARTES_HOST=ipc://... line")
        host = m.group(1)
        m = re.search(r"pid (\d+)\), its directories in (\S+), its cgroup (\S+)", text)
        require(m is not None, "try's banner names the daemon's pid, its directories and its cgroup")
        daemon_pid, tmp, cg = int(m.group(1)), m.group(2), m.group(3)
        shown = [line.strip() for line in banner if line.startswith("    ")]
        check(all(line in blocks["try-cli"] or line == f"export DESCARTES_HOST={host}" for line in shown),
              "each command try shows is in the README's try-it block")
        ctl = next((shlex.split(line)[0] for line in blocks["try-cli"] if "descartesctl" in line), "")

        cenv, ids = run_cli(blocks["try-cli"], clone, env, host)
        run_completion(blocks["completion"], clone, cenv, ctl)

        # something running when Ctrl-C comes: a running agent, a paused one
        r = subprocess.run([ctl, "spawn", "--name", "still-running", "--", "sleep", "300"], cwd=clone, env=cenv,
                           capture_output=True, text=True)
        ids += re.findall(UUID, r.stdout)
        r2 = subprocess.run([ctl, "spawn", "--name", "paused", "--", "sleep", "300"], cwd=clone, env=cenv,
                            capture_output=True, text=True)
        ids += re.findall(UUID, r2.stdout)
        r3 = subprocess.run([ctl, "pause", "paused"], cwd=clone, env=cenv, capture_output=True, text=True)
        check(r.returncode == 0 and r2.returncode == 0 and r3.returncode == 0,
              "two more agents run at Ctrl-C, one of them paused")
        procs = pids_in(cg) | {daemon_pid} | set(processes_of([clone, tmp]))
        check(len(pids_in(cg)) >= 4, f"their shims and agents run in try's cgroup ({len(pids_in(cg))} processes)")

        print("^C")
        os.killpg(tr.pid, signal.SIGINT)
        try:
            rc = tr.wait(timeout=120)
        except subprocess.TimeoutExpired:
            rc = None
        err = tr.stderr.read()
        print("    " + "\n    ".join(err.strip().split("\n")))
        check(rc == 130, f"try ends on Ctrl-C with 130 (got {rc})")
        check("scripts/try: cleaned up" in err, "try says it cleaned up")

        left = [p for p in procs if alive(p)]
        check(not left, f"no process of it remains (left: {left})")
        others = processes_of([clone, tmp])
        check(not others, f"no process runs from the clone or try's directories ({others})")
        check(not os.path.exists(cg), f"its cgroup {cg} is gone")
        named = [d for d in cgroup_dirs() - cgroups_before
                 if os.path.basename(cg) in d or any(i in d for i in ids)]
        check(not named, f"no cgroup anywhere is named after it or its agents ({named})")
        new_mounts = [p for p in mounts() - mounts_before
                      if p.startswith((tmp, work)) or any(i in p for i in ids)]
        check(not new_mounts, f"no mount of it remains ({new_mounts})")
        socks = [p for p in unix_sockets() - sockets_before if p.startswith((tmp, work, "@" + tmp))]
        check(not socks, f"no unix socket of it remains ({socks})")
        check(not os.path.exists(tmp), f"its directories {tmp} are gone")
        made = [d for d in absent_before if os.path.exists(d)]
        check(not made, f"it made no system directory ({made})")
        check(len(ids) == 4, f"four agents were spawned ({len(ids)} ids)")
    finally:
        if tr is not None and tr.poll() is None:
            os.killpg(tr.pid, signal.SIGTERM)
            tr.wait()


def main():
    if os.geteuid() != 0:
        print("tests/readme/fresh-clone.py: needs root (as the README's setup and try-out)")
        return 77
    src = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else os.path.dirname(os.path.dirname(HERE))
    head = subprocess.run(["git", "-C", src, "rev-parse", "HEAD"], capture_output=True, text=True,
                          check=True).stdout.strip()
    dirty = subprocess.run(["git", "-C", src, "status", "--porcelain", "--untracked-files=no"], capture_output=True,
                           text=True).stdout
    print(f"cloning {src} at {head}" + (" (uncommitted changes there are not in the clone)" if dirty else ""))
    work = tempfile.mkdtemp(prefix="descartes-fresh.")
    clone = os.path.join(work, "descartes")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DESCARTES", "MESON", "BUILD"))}
    env["HOME"] = work
    try:
        subprocess.run(["git", "clone", "--quiet", src, clone], check=True)
        blocks = readme_blocks(os.path.join(clone, "README.md"))
        for name in ("setup", "try", "try-cli", "completion"):
            require(bool(blocks.get(name)), f"README.md has a block marked `<!-- README test: {name} -->`")
        for line in blocks["setup"]:
            require(sh(line, clone, env, "setup").returncode == 0, "setup succeeds in a fresh clone")
        for line in blocks["setup"]:
            r = sh(line, clone, env, "setup again")
            check("ninja: no work to do." in r.stdout, "a second setup builds nothing")
            check("apt-get" not in r.stdout + r.stderr and "Reading package lists" not in r.stdout,
                  "a second setup runs no apt-get")
        try_out(clone, blocks, env, work)
    except Abort:
        pass
    finally:
        if os.environ.get("KEEP") == "1":
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    if failures:
        print(f"FAILED: {len(failures)} check(s)")
        return 1
    print("fresh clone: the README's path works and leaves nothing behind")
    return 0


if __name__ == "__main__":
    sys.exit(main())
