# SPDX-License-Identifier: LGPL-2.1-or-later
"""Shared pieces of the protocol conformance and attack tests: a private descartesd started exactly as the C
integration harness (tests/integration/harness.c) starts one, a strict msgpack encoder/decoder of our own (so
that the wire bytes are checked independently of any msgpack library's leniency), a DEALER client, throwaway
tenant users, and a result recorder with a list of known mismatches (expected failures).

Standard library, python3-zmq and python3-msgpack only. Written from docs/protocol.md alone."""

import os
import sys


def ensure_modules():
    """Exit 77 (meson: skipped) when zmq or msgpack are missing; first try the system python, which is where
    the Debian packages put them, when another python3 (pyenv, venv) came first in PATH."""
    try:
        import zmq  # noqa: F401
        import msgpack  # noqa: F401
        return
    except ImportError as e:
        err = e
    syspy = "/usr/bin/python3"
    if os.path.realpath(sys.executable) != os.path.realpath(syspy) and os.access(syspy, os.X_OK) \
            and not os.environ.get("DCONF_REEXEC"):
        os.environ["DCONF_REEXEC"] = "1"
        os.execv(syspy, [syspy] + sys.argv)
    print(f"SKIP: python modules missing ({err}); apt-get install python3-zmq python3-msgpack", flush=True)
    sys.exit(77)


ensure_modules()
sys.setrecursionlimit(50000)  # our encoder and decoder recurse once per nesting level (deep-nesting attacks)

import grp  # noqa: E402
import json  # noqa: E402
import pwd  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import struct  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
import ctypes  # noqa: E402

import msgpack  # noqa: E402,F401  (the second, library encoder: used for the bulk of ordinary requests)
import zmq  # noqa: E402

MIB = 1024 * 1024
MESSAGE_MAX = 10 * MIB
STATES = ["starting", "running", "pausing", "paused", "resuming", "stopping", "exited", "failed"]
REASONS = ["completed", "signaled", "oom_killed", "pids_limit", "timed_out", "stopped", "killed", "lost",
           "spawn_failed"]
KINDS = ["status_changed", "output", "error", "exited", "heartbeat", "limit_hit", "health_changed"]
CODES = ["bad_request", "unsupported_version", "unknown_op", "not_found", "conflict", "limit_exceeded",
         "unenforceable", "permission_denied", "spawn_failed", "timeout", "busy", "internal",
         "action_failed"]
OPS = ["health", "list", "get", "pause", "resume", "kill", "remove", "spawn", "stop", "signal", "stdin",
       "output", "action", "batch", "events", "stats", "shutdown", "wait", "tenants", "subscribe",
       "unsubscribe", "exec", "attach", "attach_input", "attach_resize", "detach", "metrics"]
AGENT_OPS = ["get", "pause", "resume", "kill", "remove", "stop", "signal", "stdin", "output", "action", "wait",
             "exec"]


def agent_op_args(op, ref, exec_argv=("/bin/true",)):
    """Arguments that make a valid request of agent op OP on agent REF (its optional ones set to quick values),
    so that the reply depends on the agent alone."""
    a = {"agent": ref}
    if op == "signal":
        a["signal"] = "TERM"
    elif op == "stdin":
        a["data"] = b"x"
    elif op == "action":
        a.update(name="x", timeout_ms=200)
    elif op == "stop":
        a["grace_ms"] = 100
    elif op == "wait":
        a["timeout_ms"] = 100
    elif op == "exec":
        a.update(argv=list(exec_argv), stdin=b"x", timeout_ms=1000)
    return a


# ---------------------------------------------------------------------------------------------------------
# msgpack, our own: an encoder that can say exactly which bytes go out, a decoder that reports what came in

class W:
    """An integer encoded with a forced msgpack format byte (e.g. W(0xcf, 5) = uint64 5)."""
    def __init__(self, fmt, value):
        self.fmt, self.value = fmt, value


class F32(float):
    pass


class F64(float):
    pass


class Raw:
    """Bytes inserted into the encoding as they are."""
    def __init__(self, data):
        self.data = data


class Pairs:
    """A map given as a list of (key, value): duplicate and non-string keys possible."""
    def __init__(self, pairs):
        self.pairs = list(pairs)


class Ext:
    def __init__(self, type_, data):
        self.type, self.data = type_, data

    def __eq__(self, o):
        return isinstance(o, Ext) and (self.type, self.data) == (o.type, o.data)

    def __repr__(self):
        return f"Ext({self.type}, {self.data!r})"


_WFMT = {0xcc: ">B", 0xcd: ">H", 0xce: ">I", 0xcf: ">Q", 0xd0: ">b", 0xd1: ">h", 0xd2: ">i", 0xd3: ">q"}


def _len_hdr(n, fix, fixmax, b8, b16, b32):
    if fix is not None and n <= fixmax:
        return bytes([fix | n])
    if b8 is not None and n < 256:
        return bytes([b8, n])
    if n < 65536:
        return bytes([b16]) + struct.pack(">H", n)
    return bytes([b32]) + struct.pack(">I", n)


def enc(v, out=None):
    top = out is None
    if top:
        out = []
    if isinstance(v, Raw):
        out.append(v.data)
    elif v is None:
        out.append(b"\xc0")
    elif v is True:
        out.append(b"\xc3")
    elif v is False:
        out.append(b"\xc2")
    elif isinstance(v, W):
        out.append(bytes([v.fmt]) + struct.pack(_WFMT[v.fmt], v.value))
    elif isinstance(v, int):
        if 0 <= v < 128:
            out.append(bytes([v]))
        elif -32 <= v < 0:
            out.append(struct.pack(">b", v))
        elif 0 <= v < 256:
            out.append(b"\xcc" + struct.pack(">B", v))
        elif 0 <= v < 65536:
            out.append(b"\xcd" + struct.pack(">H", v))
        elif 0 <= v < 2**32:
            out.append(b"\xce" + struct.pack(">I", v))
        elif 0 <= v < 2**64:
            out.append(b"\xcf" + struct.pack(">Q", v))
        elif -128 <= v:
            out.append(b"\xd0" + struct.pack(">b", v))
        elif -32768 <= v:
            out.append(b"\xd1" + struct.pack(">h", v))
        elif -2**31 <= v:
            out.append(b"\xd2" + struct.pack(">i", v))
        else:
            out.append(b"\xd3" + struct.pack(">q", v))
    elif isinstance(v, F32):
        out.append(b"\xca" + struct.pack(">f", v))
    elif isinstance(v, float):
        out.append(b"\xcb" + struct.pack(">d", v))
    elif isinstance(v, str):
        b = v.encode("utf-8", "surrogateescape")
        out.append(_len_hdr(len(b), 0xa0, 31, 0xd9, 0xda, 0xdb) + b)
    elif isinstance(v, (bytes, bytearray)):
        out.append(_len_hdr(len(v), None, 0, 0xc4, 0xc5, 0xc6) + bytes(v))
    elif isinstance(v, Ext):
        n = len(v.data)
        fixed = {1: 0xd4, 2: 0xd5, 4: 0xd6, 8: 0xd7, 16: 0xd8}
        if n in fixed:
            out.append(bytes([fixed[n]]) + struct.pack(">b", v.type) + v.data)
        else:
            out.append(_len_hdr(n, None, 0, 0xc7, 0xc8, 0xc9) + struct.pack(">b", v.type) + v.data)
    elif isinstance(v, (list, tuple)):
        out.append(_len_hdr(len(v), 0x90, 15, None, 0xdc, 0xdd))
        for x in v:
            enc(x, out)
    elif isinstance(v, (dict, Pairs)):
        items = v.pairs if isinstance(v, Pairs) else list(v.items())
        out.append(_len_hdr(len(items), 0x80, 15, None, 0xde, 0xdf))
        for k, x in items:
            enc(k, out)
            enc(x, out)
    else:
        raise TypeError(f"cannot encode {type(v)}")
    if top:
        return b"".join(out)
    return None


class DecodeError(Exception):
    pass


class Decoded:
    """What our decoder noticed besides the value: duplicate keys, non-string keys, depth."""
    def __init__(self):
        self.dup_keys = []
        self.nonstr_keys = []
        self.max_depth = 0
        self.objects = 0


def dec(buf, pos=0, depth=1, info=None):
    if pos >= len(buf):
        raise DecodeError("truncated")
    if info is not None:
        info.objects += 1
        info.max_depth = max(info.max_depth, depth)
    b = buf[pos]
    pos += 1

    def take(n):
        nonlocal pos
        if pos + n > len(buf):
            raise DecodeError("truncated")
        r = buf[pos:pos + n]
        pos += n
        return r

    def arr(n):
        nonlocal pos
        r = []
        for _ in range(n):
            v, pos = dec(buf, pos, depth + 1, info)
            r.append(v)
        return r

    def mp(n):
        nonlocal pos
        r = {}
        for _ in range(n):
            k, pos = dec(buf, pos, depth + 1, info)
            v, pos = dec(buf, pos, depth + 1, info)
            if info is not None and not isinstance(k, str):
                info.nonstr_keys.append(k)
            hk = k if isinstance(k, (str, int, bytes, bool, type(None), float)) else repr(k)
            if hk in r and info is not None:
                info.dup_keys.append(k)
            r[hk] = v
        return r

    def s(n):
        return take(n).decode("utf-8", "surrogateescape")

    if b <= 0x7f:
        return b, pos
    if 0x80 <= b <= 0x8f:
        return mp(b & 15), pos
    if 0x90 <= b <= 0x9f:
        return arr(b & 15), pos
    if 0xa0 <= b <= 0xbf:
        return s(b & 31), pos
    if b >= 0xe0:
        return b - 256, pos
    if b == 0xc0:
        return None, pos
    if b == 0xc2:
        return False, pos
    if b == 0xc3:
        return True, pos
    if b in (0xc4, 0xc5, 0xc6):
        n = struct.unpack({0xc4: ">B", 0xc5: ">H", 0xc6: ">I"}[b], take({0xc4: 1, 0xc5: 2, 0xc6: 4}[b]))[0]
        return bytes(take(n)), pos
    if b in (0xc7, 0xc8, 0xc9):
        w = {0xc7: 1, 0xc8: 2, 0xc9: 4}[b]
        n = int.from_bytes(take(w), "big")
        t = struct.unpack(">b", take(1))[0]
        return Ext(t, bytes(take(n))), pos
    if b == 0xca:
        return F32(struct.unpack(">f", take(4))[0]), pos
    if b == 0xcb:
        return F64(struct.unpack(">d", take(8))[0]), pos
    if b in _WFMT:
        f = _WFMT[b]
        return struct.unpack(f, take(struct.calcsize(f)))[0], pos
    if b in (0xd4, 0xd5, 0xd6, 0xd7, 0xd8):
        n = {0xd4: 1, 0xd5: 2, 0xd6: 4, 0xd7: 8, 0xd8: 16}[b]
        t = struct.unpack(">b", take(1))[0]
        return Ext(t, bytes(take(n))), pos
    if b in (0xd9, 0xda, 0xdb):
        w = {0xd9: 1, 0xda: 2, 0xdb: 4}[b]
        return s(int.from_bytes(take(w), "big")), pos
    if b in (0xdc, 0xdd):
        w = {0xdc: 2, 0xdd: 4}[b]
        return arr(int.from_bytes(take(w), "big")), pos
    if b in (0xde, 0xdf):
        w = {0xde: 2, 0xdf: 4}[b]
        return mp(int.from_bytes(take(w), "big")), pos
    raise DecodeError(f"reserved byte 0x{b:02x}")


def dec_one(buf):
    """Decodes exactly one object spanning the whole buffer; returns (value, Decoded)."""
    info = Decoded()
    v, end = dec(buf, 0, 1, info)
    if end != len(buf):
        raise DecodeError(f"{len(buf) - end} bytes after the object")
    return v, info


# ---------------------------------------------------------------------------------------------------------
# results

class Results:
    """check(section, name, cond, detail). A check whose "section :: name" is in `known` is an expected
    failure: failing is XFAIL, passing is reported as UNEXPECTEDLY PASSING (not a failure)."""

    def __init__(self, known, quiet=False):
        self.known = set(known)
        self.rows = []  # (key, status, detail)
        self.quiet = quiet
        self.child_mode = False

    def check(self, section, name, cond, detail=""):
        key = f"{section} :: {name}"
        ok = bool(cond)
        if self.child_mode:
            print("RESULT " + json.dumps({"key": key, "ok": ok, "detail": str(detail)[:2000]}), flush=True)
            return ok
        self.record(key, ok, str(detail))
        return ok

    def record(self, key, ok, detail):
        if key in self.known:
            status = "UNEXPECTEDLY-PASSING" if ok else "XFAIL"
        else:
            status = "PASS" if ok else "FAIL"
        self.rows.append((key, status, detail))
        if not self.quiet or status != "PASS":
            print(f"{status:>20}  {key}" + (f"  [{detail[:600]}]" if status != "PASS" and detail else ""),
                  flush=True)

    def merge_child_output(self, text):
        for line in text.splitlines():
            if line.startswith("RESULT "):
                r = json.loads(line[7:])
                self.record(r["key"], r["ok"], r["detail"])
            elif line.strip():
                print("    tenant| " + line, flush=True)

    def summary(self):
        counts = {}
        for _, st, _ in self.rows:
            counts[st] = counts.get(st, 0) + 1
        print("\n==== summary: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())), flush=True)
        seen = {k for k, _, _ in self.rows}
        for k in sorted(self.known - seen):
            print(f"  (known mismatch not exercised in this run: {k})")
        for st in ("FAIL", "XFAIL", "UNEXPECTEDLY-PASSING"):
            for k, s, d in self.rows:
                if s == st:
                    print(f"  {st}: {k}" + (f"  [{d[:300]}]" if d else ""))
        return 1 if counts.get("FAIL") else 0


# ---------------------------------------------------------------------------------------------------------
# the private daemon

def cgroup2_mount():
    with open("/proc/self/mountinfo") as f:
        for line in f:
            if " - cgroup2 " in line:
                return line.split(" ")[4]
    return None


def skip_reason():
    if os.geteuid() != 0:
        return "needs root (starts descartesd and creates cgroups)"
    if not cgroup2_mount():
        return "no cgroup2 mount on this host"
    for var in ("DESCARTESD", "DESCARTES_SHIM"):
        p = os.environ.get(var)
        if not p or not os.access(p, os.X_OK):
            return f"${var} does not name the built binary (run under meson test)"
    return None


CG_PREFIX = "descartes-conform-"


def _cg_populated(path):
    try:
        with open(os.path.join(path, "cgroup.events")) as f:
            return "populated 1" in f.read()
    except OSError:
        return False


def _rmdir_tree(path):
    try:
        entries = list(os.scandir(path))
    except OSError:
        return
    for e in entries:
        if e.is_dir(follow_symlinks=False):
            _rmdir_tree(e.path)
    try:
        os.rmdir(path)
    except OSError:
        pass


def cgroup_destroy(path):
    """cgroup.kill takes the whole subtree at once, frozen cgroups included; then the directories go."""
    try:
        with open(os.path.join(path, "cgroup.kill"), "w") as f:
            f.write("1")
    except OSError:
        pass
    deadline = time.monotonic() + 10
    while _cg_populated(path) and time.monotonic() < deadline:
        time.sleep(0.01)
    _rmdir_tree(path)


def sweep_stale():
    """Our own leftovers only: descartes-conform-PID-N whose PID is gone (a test that died hard)."""
    mnt = cgroup2_mount()
    try:
        names = os.listdir(mnt)
    except OSError:
        return
    for n in names:
        if not n.startswith(CG_PREFIX):
            continue
        try:
            pid = int(n[len(CG_PREFIX):].split("-")[0])
        except ValueError:
            continue
        try:
            os.kill(pid, 0)
            continue
        except ProcessLookupError:
            pass
        except PermissionError:
            continue
        cgroup_destroy(os.path.join(mnt, n))


def _pdeathsig():
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except Exception:
        pass


def setns_net(name):
    """Moves the calling process into the network namespace /run/netns/NAME (ip netns add NAME); only the
    network: mounts and cgroups stay the host's, as a daemon needs them."""
    fd = os.open(f"/run/netns/{name}", os.O_RDONLY | os.O_CLOEXEC)
    try:
        if ctypes.CDLL(None, use_errno=True).setns(fd, 0x40000000) != 0:  # CLONE_NEWNET
            raise OSError(ctypes.get_errno(), f"setns {name}")
    finally:
        os.close(fd)


class Daemon:
    counter = 0

    def __init__(self, extra_config="", netns=None, start=True):
        sweep_stale()
        self.netns = netns  # the daemon runs in this network namespace (ip netns), when set
        self.proc = None
        self.tmpdir = tempfile.mkdtemp(prefix="descartes-conform-")
        self.runtime_dir = os.path.join(self.tmpdir, "run")
        self.state_dir = os.path.join(self.tmpdir, "state")
        self.control = f"ipc://{self.runtime_dir}/control"
        self.log = os.path.join(self.tmpdir, "descartesd.log")
        self.conf = os.path.join(self.tmpdir, "descartesd.conf")
        self.cgroup_root = None
        cg = os.path.join(cgroup2_mount(), f"{CG_PREFIX}{os.getpid()}-{Daemon.counter}")
        Daemon.counter += 1
        os.mkdir(cg, 0o755)  # raises if it exists: then it is not ours and must not be removed
        self.cgroup_root = cg
        with open(self.conf, "w") as f:
            f.write("# written by tests/conformance\n" + extra_config + "\n")
        self.crashes = []
        if start:  # else the caller starts it, and stops it (cleanup) whether that worked or not
            self.start()

    def start(self):
        logf = open(self.log, "ab")
        env = dict(os.environ)
        # glibc fills freed memory with this byte, so that a use-after-free in the daemon shows as a crash
        # instead of reading stale bytes that happen to still be right. A fixed value (meson test would set a
        # random one) so that a run is repeatable.
        env["MALLOC_PERTURB_"] = "165"
        self.proc = subprocess.Popen(
            [os.environ["DESCARTESD"], "--runtime-dir", self.runtime_dir, "--state-dir", self.state_dir,
             "--cgroup-root", self.cgroup_root, "--config", self.conf, "--shim", os.environ["DESCARTES_SHIM"],
             "--policy-dir", os.environ.get("DESCARTES_POLICY_DIR", "/usr/share/descartes/policies"), "--debug"],
            stdin=subprocess.DEVNULL, stdout=logf, stderr=logf, preexec_fn=self._preexec, close_fds=True, env=env)
        logf.close()
        sock = os.path.join(self.runtime_dir, "control")
        deadline = time.monotonic() + 10
        while not os.path.exists(sock):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError(f"descartesd did not create its control socket; log:\n{self.log_tail()}")
            time.sleep(0.01)
        for _ in range(100):
            if self.health_ok(timeout=0.5):
                return
            time.sleep(0.05)
        raise RuntimeError(f"descartesd does not answer health; log:\n{self.log_tail()}")

    def _preexec(self):
        _pdeathsig()
        if self.netns:
            setns_net(self.netns)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def health_ok(self, timeout=3.0):
        ctx = zmq.Context.instance()
        s = ctx.socket(zmq.DEALER)
        s.setsockopt(zmq.LINGER, 0)
        try:
            s.connect(self.control)
            rid = "hc-" + uuid.uuid4().hex
            s.send(enc({"v": 1, "id": rid, "op": "health"}))
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if s.poll(int(max(1, (deadline - time.monotonic()) * 1000))):
                    try:
                        r, _ = dec_one(s.recv())
                    except DecodeError:
                        continue
                    if isinstance(r, dict) and r.get("id") == rid:
                        return r.get("ok") is True
            return False
        finally:
            s.close()

    def log_tail(self, n=40):
        try:
            with open(self.log, "rb") as f:
                lines = f.read().decode("utf-8", "replace").splitlines()
            return "\n".join(lines[-n:])
        except OSError:
            return "(no log)"

    def status(self):
        """None if running, else a description of how it ended."""
        if self.proc is None:
            return "never started"
        rc = self.proc.poll()
        if rc is None:
            return None
        return f"exit status {rc}" if rc >= 0 else f"killed by signal {-rc} ({signal.Signals(-rc).name})"

    def restart_after_crash(self, what):
        st = self.status()
        self.crashes.append((what, st))
        print(f"!!!! descartesd died ({st}) during: {what}\n---- log tail ----\n{self.log_tail()}\n----",
              flush=True)
        self.start()

    def kill(self, sig=signal.SIGTERM, timeout=10):
        if not self.alive():
            return
        self.proc.send_signal(sig)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def stop(self):
        try:
            self.kill()
        finally:
            if self.cgroup_root:
                cgroup_destroy(self.cgroup_root)
            if os.environ.get("HARNESS_KEEP_LOGS"):
                print("---- descartesd log ----\n" + self.log_tail(400) + "\n----")
            shutil.rmtree(self.tmpdir, ignore_errors=True)

    def open_for(self, gid):
        """Lets a user of group gid reach the sockets: the temporary directory becomes traversable (the
        runtime directory and sockets keep the daemon's own modes)."""
        os.chmod(self.tmpdir, 0o711)


# ---------------------------------------------------------------------------------------------------------
# throwaway users

class Users:
    def __init__(self):
        self.made_users = []
        self.made_groups = []

    def ensure_group(self, name):
        try:
            return grp.getgrnam(name).gr_gid
        except KeyError:
            subprocess.run(["groupadd", "-r", name], check=True)
            self.made_groups.append(name)
            return grp.getgrnam(name).gr_gid

    def make(self, tag, groups):
        for g in groups:
            self.ensure_group(g)
        name = f"dcf{tag}{os.getpid() % 100000}"
        subprocess.run(["useradd", "-M", "-N", "-d", "/nonexistent", "-s", "/usr/sbin/nologin",
                        "-c", "descartes conformance test (throwaway)"] + (["-G", ",".join(groups)] if groups else [])
                       + [name], check=True, stdout=subprocess.DEVNULL)
        self.made_users.append(name)
        return pwd.getpwnam(name)

    def cleanup(self):
        for u in self.made_users:
            subprocess.run(["userdel", "-f", u], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for g in self.made_groups:
            subprocess.run(["groupdel", g], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.made_users, self.made_groups = [], []


def run_as(pw, argv, timeout):
    """Runs argv as the user pw (its primary gid and its supplementary groups); returns (rc, stdout)."""
    groups = os.getgrouplist(pw.pw_name, pw.pw_gid)
    env = {"PATH": "/usr/bin:/bin", "HOME": "/", "LANG": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1",
           "DCONF_REEXEC": "1"}
    for k in ("DESCARTESD", "DESCARTES_SHIM", "DESCARTES_POLICY_DIR", "CONFORM_FUZZ_SECONDS", "CONFORM_SEED"):
        if k in os.environ:
            env[k] = os.environ[k]
    p = subprocess.run(argv, user=pw.pw_uid, group=pw.pw_gid, extra_groups=groups, env=env, cwd="/",
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout)
    return p.returncode, p.stdout.decode("utf-8", "replace")


def copy_scripts(dst_dir):
    os.makedirs(dst_dir, exist_ok=True)
    here = os.path.dirname(os.path.abspath(__file__))
    for n in os.listdir(here):
        if n.endswith(".py"):
            shutil.copy(os.path.join(here, n), dst_dir)
    os.chmod(dst_dir, 0o755)
    for n in os.listdir(dst_dir):
        os.chmod(os.path.join(dst_dir, n), 0o644)
    return dst_dir


def run_tenant(pw, daemon, script, role, targets, timeout):
    """Runs `script --role ROLE --control ... --targets JSON` (a copy the tenant can read) as the user pw
    against daemon, and merges the checks it reported into the current results. Returns (rc, output)."""
    if not getattr(daemon, "tenant_scripts", None):
        daemon.open_for(None)
        daemon.tenant_scripts = copy_scripts(os.path.join(daemon.tmpdir, "py"))
    try:
        rc, out = run_as(pw, [sys.executable, os.path.join(daemon.tenant_scripts, script), "--role", role,
                              "--control", daemon.control, "--targets", json.dumps(targets)], timeout=timeout)
    except Exception as e:
        rc, out = -1, str(e)
    _results.merge_child_output(out)
    return rc, out


def tenant_args():
    """(role, control, targets) when this script was started by run_tenant(), else None."""
    if "--role" not in sys.argv:
        return None
    i = sys.argv.index
    return sys.argv[i("--role") + 1], sys.argv[i("--control") + 1], json.loads(sys.argv[i("--targets") + 1])


def tenant_session(control):
    """A tenant's results (reported to the parent, which judges them) and its client."""
    global _results
    _results = Results([])
    _results.child_mode = True
    return _results, Client(control, _results)


class Run:
    """The root side of a script's run, as a context manager: exits 77 (skipped) where it cannot run, then
    results, throwaway users, a private daemon (heartbeat_interval = 1s) and a root client; SIGTERM, SIGINT
    and SIGHUP end the run through the cleanup; on the way out everything is stopped and removed. The
    summary (the exit status) is summary()."""

    def __init__(self, known, quiet):
        self.known, self.quiet = known, quiet
        self.results = self.users = self.daemon = self.client = None
        self.old_handlers = {}

    def __enter__(self):
        global _results
        why = skip_reason()
        if why:
            print(f"SKIP: {why}")
            sys.exit(77)
        self.results = _results = Results(self.known, quiet=self.quiet)
        self.users = Users()
        self.t0 = time.monotonic()

        def on_term(signum, frame):
            raise SystemExit(f"terminated by signal {signum}")
        for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            self.old_handlers[s] = signal.signal(s, on_term)
        try:
            self.daemon = Daemon("heartbeat_interval = 1s\n")
            self.client = Client(self.daemon.control, self.results)
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc):
        for s, h in self.old_handlers.items():
            signal.signal(s, h)
        self.old_handlers = {}
        try:
            if self.client:
                self.client.close()
            if self.daemon:
                self.daemon.stop()
        finally:
            self.users.cleanup()
        if exc[0] is None:
            print(f"runtime {time.monotonic() - self.t0:.1f} s")
        return False

    def summary(self):
        return self.results.summary()


# ---------------------------------------------------------------------------------------------------------
# checks

_results = None  # the Results of this process: set by Run or tenant_session


def ck(sec, name, cond, detail=""):
    return _results.check(sec, name, cond, detail)


def desc(r):
    return "no reply (timeout)" if r is None else repr(r)


def nest(depth, leaf=None):
    v = leaf
    for _ in range(depth):
        v = [v]
    return v


# ---------------------------------------------------------------------------------------------------------
# the client

class Reply:
    def __init__(self, raw, value, info):
        self.raw, self.v, self.info = raw, value, info

    @property
    def ok(self):
        return isinstance(self.v, dict) and self.v.get("ok") is True

    @property
    def code(self):
        if isinstance(self.v, dict) and isinstance(self.v.get("err"), dict):
            return self.v["err"].get("code")
        return None

    @property
    def msg(self):
        if isinstance(self.v, dict) and isinstance(self.v.get("err"), dict):
            return self.v["err"].get("msg") or ""
        return ""

    @property
    def retry_after_ms(self):
        """err.retry_after_ms (a `busy` of the rate limit), or None."""
        if isinstance(self.v, dict) and isinstance(self.v.get("err"), dict):
            return self.v["err"].get("retry_after_ms")
        return None

    @property
    def data(self):
        d = self.v.get("data") if isinstance(self.v, dict) else None
        return d if isinstance(d, dict) else {}

    @property
    def id(self):
        return self.v.get("id") if isinstance(self.v, dict) else None

    def __repr__(self):
        s = repr(self.v)
        return s if len(s) < 700 else s[:700] + "..."


def envelope_problems(r):
    """What is wrong with a reply according to section 2 (Reply) and 3, or []."""
    p = []
    v = r.v
    if not isinstance(v, dict):
        return ["reply is not a map"]
    if r.info.dup_keys:
        p.append(f"duplicate keys {r.info.dup_keys}")
    if r.info.nonstr_keys:
        p.append(f"non-string keys {r.info.nonstr_keys[:5]}")
    if v.get("v") != 1 or isinstance(v.get("v"), bool):
        p.append(f"v={v.get('v')!r}")
    if not isinstance(v.get("id"), str):
        p.append("id not a str")
    if v.get("ok") is True:
        if not isinstance(v.get("data"), dict):
            p.append("ok reply without data map")
    elif v.get("ok") is False:
        e = v.get("err")
        if not isinstance(e, dict) or not isinstance(e.get("code"), str) or not isinstance(e.get("msg"), str):
            p.append(f"err not {{code: str, msg: str}}: {e!r}")
        else:
            if e["code"] not in CODES:
                p.append(f"unknown code {e['code']!r}")
            if len(e["msg"].encode("utf-8", "surrogateescape")) > 1024:
                p.append("msg longer than 1024 bytes")
            if "retry_after_ms" in e and (e["code"] != "busy" or not isinstance(e["retry_after_ms"], int)
                                          or isinstance(e["retry_after_ms"], bool)
                                          or not 1 <= e["retry_after_ms"] <= 3600000):
                p.append(f"retry_after_ms not an int 1..3600000 on a busy reply: {e!r}")
    else:
        p.append(f"ok={v.get('ok')!r}")
    return p


class Client:
    def __init__(self, endpoint, results=None, kind=zmq.DEALER):
        self.endpoint = endpoint
        self.kind = kind
        self.results = results
        self.ctx = zmq.Context.instance()
        self.sock = None
        self.n = 0
        self.prefix = uuid.uuid4().hex[:8]
        self.pending = {}
        self.envelope_bad = []
        self.replies_seen = 0
        self.reopen()

    def reopen(self):
        if self.sock is not None:
            self.sock.close(0)
        self.sock = self.ctx.socket(self.kind)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.setsockopt(zmq.ROUTING_ID, b"\x01" + os.urandom(15))  # as libdescartes does (section 1)
        self.sock.connect(self.endpoint)
        self.pending = {}

    def close(self):
        if self.sock is not None:
            self.sock.close(0)
            self.sock = None

    def new_id(self):
        self.n += 1
        return f"{self.prefix}-{self.n}"

    def _note(self, r):
        self.replies_seen += 1
        pr = envelope_problems(r)
        if pr:
            self.envelope_bad.append((repr(r)[:300], pr))

    def _recv_one(self, timeout):
        if not self.sock.poll(int(max(0, timeout) * 1000)):
            return None
        frames = self.sock.recv_multipart()
        if self.kind == zmq.REQ:
            body = frames[-1]
        else:
            body = frames[-1] if len(frames) == 1 else b"".join(frames)
        try:
            v, info = dec_one(body)
        except DecodeError as e:
            v, info = {"__undecodable__": str(e)}, Decoded()
        r = Reply(body, v, info)
        r.nframes = len(frames)
        self._note(r)
        return r

    def send(self, op, args=None, rid=None, extra=None, omit=()):
        rid = self.new_id() if rid is None else rid
        m = {"v": 1, "id": rid, "op": op}
        if args is not None:
            m["args"] = args
        if extra:
            m.update(extra)
        for k in omit:
            m.pop(k, None)
        self.sock.send(enc(m))
        return rid

    def send_raw(self, body):
        self.sock.send(body)

    def wait(self, rid, timeout=20.0):
        if rid in self.pending:
            return self.pending.pop(rid)
        deadline = time.monotonic() + timeout
        while True:
            r = self._recv_one(deadline - time.monotonic())
            if r is None:
                return None
            if r.id == rid:
                return r
            self.pending[r.id] = r

    def req(self, op, args=None, rid=None, timeout=20.0, **kw):
        """One request and its reply. A `busy` with retry_after_ms (the tenant's request rate limit, section
        3) is waited out and the request sent again with the same id, as the document tells clients to: a
        busy reply is not remembered, so the resend runs. (raw_once() sees every reply as it comes.)"""
        rid = self.send(op, args, rid, **kw)
        r = self.wait(rid, timeout)
        for _ in range(100):
            if r is None or r.code != "busy" or not isinstance(r.retry_after_ms, int):
                break
            time.sleep(min(max(r.retry_after_ms, 1), 1000) / 1000)
            self.send(op, args, rid, **kw)
            r = self.wait(rid, timeout)
        return r

    def raw_once(self, body, timeout=10.0):
        """A fresh DEALER for one raw frame: whatever comes back is the reply to it."""
        s = self.ctx.socket(zmq.DEALER)
        s.setsockopt(zmq.LINGER, 0)
        s.connect(self.endpoint)
        try:
            s.send(body)
            if not s.poll(int(timeout * 1000)):
                return None
            body = s.recv()
            try:
                v, info = dec_one(body)
            except DecodeError as e:
                v, info = {"__undecodable__": str(e)}, Decoded()
            r = Reply(body, v, info)
            self._note(r)
            return r
        finally:
            s.close(0)


def req_bytes(op, args=None, rid="raw-1", **top):
    m = Pairs([("v", 1), ("id", rid), ("op", op)] + ([("args", args)] if args is not None else [])
              + list(top.items()))
    return enc(m)
