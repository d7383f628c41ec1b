#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The zsh completion of descartesctl (completions/_descartesctl), loaded by compinit in an interactive zsh
under a pty and driven by TAB (zsh_complete.py): commands, a command's options, an option's argument (files,
not commands), the command typed as a path, and agents quietly absent when no daemon answers (the agents
themselves are checked against a running daemon in tests/integration/try.py). The same cases as
completion.sh for bash. Environment: DESCARTESCTL (the built CLI), ZSH (zsh)."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from zsh_complete import Zsh, ZshError  # noqa: E402

SRC = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
failures = []


def complete_is(z, expected, line):
    got = " ".join(z.complete(line))
    ok = got == expected
    print(("ok     " if ok else "FAILED ") + f"{line!r} completes to {got!r}" + ("" if ok else f", expected {expected!r}"),
          flush=True)
    if not ok:
        failures.append(line)


def main():
    ctl = os.environ["DESCARTESCTL"]
    env = dict(os.environ, PATH=os.path.dirname(ctl) + ":" + os.environ.get("PATH", "/usr/bin:/bin"))
    env.pop("DESCARTES_HOST", None)
    cwd = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"descartes-zsh-cwd.{os.getpid()}")
    os.mkdir(cwd)
    try:
        open(os.path.join(cwd, "spool-file"), "w").close()
        with Zsh(os.environ.get("ZSH", "zsh"), SRC, env=env, cwd=cwd) as z:
            complete_is(z, "spawn", "descartesctl sp")
            complete_is(z, "pause ps", "descartesctl p")
            complete_is(z, "--name", "descartesctl spawn --na")
            complete_is(z, "--name", "descartesctl -H ipc:///nonexistent spawn --na")
            complete_is(z, "--grace", "descartesctl stop --gr")
            complete_is(z, "--help --host", "descartesctl --h")
            complete_is(z, "logs", "descartesctl -o json lo")
            # an option's argument is a file, not a command
            complete_is(z, "spool-file", "descartesctl -o sp")
            # the command as a path, as the README runs it from the tree
            complete_is(z, "spawn", f"{ctl} sp")
            # no daemon at this endpoint: no agents, and no error on the terminal
            complete_is(z, "", "descartesctl -H ipc:///nonexistent/control logs ")
            line = z.inserted("descartesctl -H ipc:///nonexistent/control logs ")
            ok = line == "descartesctl -H ipc:///nonexistent/control logs"
            print(("ok     " if ok else "FAILED ") + f"no daemon: TAB leaves the line as it was ({line!r})")
            if not ok:
                failures.append("no daemon")
            # the real compadd: a unique command is inserted
            line = z.inserted("descartesctl spa")
            ok = line == "descartesctl spawn"
            print(("ok     " if ok else "FAILED ") + f"TAB inserts the one matching command ({line!r})")
            if not ok:
                failures.append("insert")
    except ZshError as e:
        print(f"FAILED {e}")
        return 1
    finally:
        os.unlink(os.path.join(cwd, "spool-file"))
        os.rmdir(cwd)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
