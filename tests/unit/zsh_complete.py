# SPDX-License-Identifier: LGPL-2.1-or-later
"""Drives the zsh completion of descartesctl (completions/_descartesctl) as a user's TAB does: an interactive
zsh under a pseudo-terminal loads it with compinit from the tree's completions/ on its fpath, and each line is
typed, then TAB. compadd is wrapped, and only while a line is being collected, to write the words it would
offer (those matching what is typed) to a file; the completion system itself (compinit, the dispatch to
_descartesctl, words, CURRENT, PREFIX, _files) is zsh's own. `inserted()` leaves compadd alone and returns the
command line as TAB left it."""

import os
import pty
import re
import select
import shutil
import signal
import tempfile
import time

# The wrapper records what compadd would add; the calls of the completion system's helpers that only ask
# (-O, -A, -D: store in an array, add nothing) go through untouched. ^T runs what TAB runs
# (expand-or-complete), then tells that it has finished by a file, so that nothing is typed ahead of it.
SETUP = r"""
compadd() {
        if [[ -z $DTEST_OUT ]] || (( ${@[(I)-[OAD]*]} )); then
                builtin compadd "$@"
                return
        fi
        local -a offered
        builtin compadd -O offered "$@"
        print -rl -- $offered >>$DTEST_OUT
}
dtest-tab() {
        zle expand-or-complete
        : >|$DTEST_DONE
}
zle -N dtest-tab
bindkey '^T' dtest-tab
"""


class ZshError(Exception):
    pass


class Zsh:
    def __init__(self, zsh, src, env=None, cwd=None, timeout=30, init=None):
        """INIT: the command line that loads the completion (default: src's completions/ on fpath, compinit)."""
        self.dir = tempfile.mkdtemp(prefix="descartes-zsh.")
        self.timeout = timeout
        self.n = 0
        self.log = b""
        cenv = dict(env if env is not None else os.environ)
        zsh = shutil.which(zsh, path=cenv.get("PATH")) or zsh
        cenv.update(TERM="xterm", HOME=self.dir, PS1="%% ", ZDOTDIR=self.dir)
        pid, fd = pty.fork()
        if pid == 0:
            try:
                os.chdir(cwd or self.dir)
                os.execve(zsh, [zsh, "-f", "-i"], cenv)
            finally:
                os._exit(127)
        self.pid, self.fd = pid, fd
        try:
            self._load(src, init)
        except BaseException:
            self.close()
            raise

    def _load(self, src, init):
        self.run("bindkey -e; DTEST_OUT=")
        self.run(init or "fpath=(%s $fpath); autoload -Uz compinit; compinit -u -D" % os.path.join(src, "completions"))
        setup = os.path.join(self.dir, "setup.zsh")
        with open(setup, "w") as f:
            f.write(SETUP)
        self.run(f"source {setup}")
        self.run("(( $+_comps[descartesctl] )) && print -r -- LOADED-$((7*6))")
        if "LOADED-42" not in self.last:
            raise ZshError("compinit did not register _descartesctl for descartesctl: " + self.last)

    def _read_until(self, pattern):
        """Reads the terminal until PATTERN (a regular expression) matches what it printed; returns the match."""
        buf = b""
        end = time.monotonic() + self.timeout
        while True:
            m = re.search(pattern, buf.decode(errors="replace"))
            if m:
                self.log += buf
                return m
            left = end - time.monotonic()
            if left <= 0:
                raise ZshError(f"zsh did not print {pattern!r}; it printed: {buf.decode(errors='replace')!r}")
            r, _, _ = select.select([self.fd], [], [], left)
            if r:
                try:
                    chunk = os.read(self.fd, 4096)
                except OSError:
                    chunk = b""
                if not chunk:
                    raise ZshError(f"zsh ended before {pattern!r}: {buf.decode(errors='replace')!r}")
                buf += chunk

    def _wait_done(self, done):
        end = time.monotonic() + self.timeout
        while not os.path.exists(done):
            if time.monotonic() > end:
                raise ZshError("the completion did not finish; the terminal showed: " + self.log[-2000:].decode(
                    errors="replace"))
            # drain the terminal so that zsh never blocks writing to it
            r, _, _ = select.select([self.fd], [], [], 0.05)
            if r:
                try:
                    self.log += os.read(self.fd, 4096)
                except OSError:
                    raise ZshError("zsh ended during the completion: " + self.log[-2000:].decode(errors="replace"))

    def run(self, command):
        """Runs one command line; returns what it printed on the line after its echo, up to the marker that a
        second command prints (whose own echo does not contain it)."""
        self.n += 1
        os.write(self.fd, f"{command}\rprint -r -- DONE-$(({self.n}+0))\r".encode())
        self.last = self._read_until(rf"DONE-{self.n}\r").string
        return self.last

    def _tab(self, line, record):
        self.n += 1
        out = os.path.join(self.dir, f"offered-{self.n}")
        done = os.path.join(self.dir, f"done-{self.n}")
        self.run(f"DTEST_OUT={out if record else ''} DTEST_DONE={done}")
        os.write(self.fd, (line + "\x14").encode())
        self._wait_done(done)
        return out

    def complete(self, line):
        """The sorted words TAB offers at the end of LINE."""
        out = self._tab(line, True)
        # ^U (kill-whole-line): an empty line again
        self.run("\x15")
        try:
            with open(out) as f:
                return sorted(w for w in f.read().split("\n") if w)
        except FileNotFoundError:
            return []

    def inserted(self, line):
        """The command line after TAB at the end of LINE, with zsh's own compadd."""
        self._tab(line, False)
        self.n += 1
        # ^E ^A (end, start of line) and a print in front of what TAB left
        os.write(self.fd, f"\x05\x01print -r -- LINE-$(({self.n}+0)):\r".encode())
        return self._read_until(rf"LINE-{self.n}:([^\r\n]*)\r?\n").group(1).strip()

    def close(self):
        try:
            os.write(self.fd, b"\x15exit\r")
        except OSError:
            pass
        end = time.monotonic() + self.timeout
        while True:
            pid, _ = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > end:
                os.kill(self.pid, signal.SIGKILL)
                os.waitpid(self.pid, 0)
                break
            try:
                select.select([self.fd], [], [], 0.1)
                os.read(self.fd, 4096)
            except OSError:
                time.sleep(0.05)
        os.close(self.fd)
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
