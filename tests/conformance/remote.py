#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Remote clients over tcp with CURVE (docs/protocol.md section 1, descartesd(8) "Remote clients"), between two
network namespaces joined by a veth pair: the daemon's `listen` endpoint in one, the clients in the other.

A client key of the allow list works as its tenant (its agents are owned by the mapped uid, it sees none of
the other tenant's); an unknown key, a plain (NULL) client and a wrong server key are refused at the
handshake; a key removed by SIGHUP cannot connect again and its open connection is refused at its next
request; tcp without CURVE keys is refused at start; a 100 MiB log streams through `descartesctl logs -f`
(byte count and sha256 match). The raw-wire checks run in a child in the client namespace (this script with
--role), the CLI checks through `ip netns exec`. Namespaces, users and the daemon are removed on every exit."""

KNOWN_MISMATCHES = [
    # none: every check below holds.
]

import os  # noqa: E402
import sys  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dconf  # noqa: E402
from dconf import Daemon, Results, Users, ck, desc, enc, dec_one, DecodeError  # noqa: E402
import hashlib  # noqa: E402
import json  # noqa: E402
import signal  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import zmq  # noqa: E402

ST = "1. Transport / remote clients (tcp + CURVE)"
PORT = 7700
LOG_LINES = 13000000  # `seq 1 N`: 101 MiB of output
LOG_MIN_BYTES = 100 * 1024 * 1024
CONN_CAP = 4  # max_connections_per_user


def sh(*argv, check=True):
    return subprocess.run(list(argv), check=check, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


class Netns:
    """Two namespaces and a veth pair between them: SERVER_IP in the daemon's, CLIENT_IP in the client's."""

    def __init__(self):
        tag = os.getpid() % 100000
        self.server, self.client = f"dsrv{tag}", f"dcli{tag}"
        self.veth_s, self.veth_c = f"vds{tag}", f"vdc{tag}"
        net = 10 + tag % 200
        self.server_ip, self.client_ip = f"10.213.{net}.1", f"10.213.{net}.2"
        self.made = []

    def up(self):
        for ns in (self.server, self.client):
            sh("ip", "netns", "add", ns)
            self.made.append(ns)
            sh("ip", "-n", ns, "link", "set", "lo", "up")
        sh("ip", "link", "add", self.veth_s, "type", "veth", "peer", "name", self.veth_c)
        sh("ip", "link", "set", self.veth_s, "netns", self.server)
        sh("ip", "link", "set", self.veth_c, "netns", self.client)
        sh("ip", "-n", self.server, "addr", "add", f"{self.server_ip}/24", "dev", self.veth_s)
        sh("ip", "-n", self.client, "addr", "add", f"{self.client_ip}/24", "dev", self.veth_c)
        sh("ip", "-n", self.server, "link", "set", self.veth_s, "up")
        sh("ip", "-n", self.client, "link", "set", self.veth_c, "up")

    def down(self):
        # deleting a namespace deletes the veth end inside it, and with it the pair
        for ns in self.made:
            sh("ip", "netns", "del", ns, check=False)
        sh("ip", "link", "del", self.veth_s, check=False)
        self.made = []


def key_of(path):
    with open(path) as f:
        for line in f:
            if line.startswith("public-key"):
                return line.split("=", 1)[1].strip()
    raise ValueError(f"no public-key in {path}")


def secret_of(path):
    with open(path) as f:
        for line in f:
            if line.startswith("secret-key"):
                return line.split("=", 1)[1].strip()
    raise ValueError(f"no secret-key in {path}")


# ---------------------------------------------------------------------------------------------------------
# the child in the client namespace: raw wire

def curve_socket(ctx, endpoint, server_pub, client_key_file, routing_id=None):
    s = ctx.socket(zmq.DEALER)
    s.setsockopt(zmq.LINGER, 0)
    if routing_id:
        s.setsockopt(zmq.ROUTING_ID, routing_id)
    if server_pub:
        secret = secret_of(client_key_file).encode()
        s.curve_serverkey = server_pub.encode()
        s.curve_secretkey = secret
        s.curve_publickey = zmq.curve_public(secret)
    mon = s.get_monitor_socket(zmq.EVENT_HANDSHAKE_FAILED_AUTH | zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL
                               | zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL | zmq.EVENT_HANDSHAKE_SUCCEEDED)
    s.connect(endpoint)
    return s, mon


def call(s, op, args=None, rid=None, timeout=3.0):
    rid = rid or f"remote-{op}-{time.monotonic_ns()}"
    m = {"v": 1, "id": rid, "op": op}
    if args is not None:
        m["args"] = args
    s.send(enc(m))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not s.poll(int(max(1, (deadline - time.monotonic()) * 1000))):
            break
        try:
            r, _ = dec_one(s.recv_multipart()[-1])
        except DecodeError:
            continue
        if isinstance(r, dict) and r.get("id") == rid:
            return r
    return None


def handshake_events(mon, timeout=2.0):
    from zmq.utils.monitor import recv_monitor_message
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if mon.poll(int(max(1, (deadline - time.monotonic()) * 1000))):
            seen.append(recv_monitor_message(mon)["event"])
            if seen[-1] != zmq.EVENT_HANDSHAKE_SUCCEEDED:
                break
    return seen


def child_main():
    a = json.loads(sys.argv[sys.argv.index("--role") + 2])
    role = sys.argv[sys.argv.index("--role") + 1]
    res = Results([])
    res.child_mode = True
    dconf._results = res
    ctx = zmq.Context.instance()
    ep, spub = a["endpoint"], a["server_pub"]
    if role == "raw":
        s, mon = curve_socket(ctx, ep, spub, a["alice_key"])
        r = call(s, "health")
        ck(ST, "a listed key (raw CURVE DEALER) gets a health reply", r is not None and r.get("ok"), desc(r))
        r = call(s, "list", {"all": True})
        owners = sorted({x.get("owner_uid") for x in (r or {}).get("data", {}).get("agents", [])})
        ck(ST, "list over tcp shows only the mapped tenant's agents", r is not None and r.get("ok")
           and owners == [a["alice_uid"]], f"owners {owners}: {desc(r)}")
        s.close(0)
        # max_connections_per_user counts tcp connections by their tenant: six at once, each with a request
        many = [curve_socket(ctx, ep, spub, a["alice_key"])[0] for _ in range(a["n_conns"])]
        rids = [f"many-{i}" for i in range(len(many))]
        for s, rid in zip(many, rids):
            s.send(enc({"v": 1, "id": rid, "op": "health"}))
        got = 0
        deadline = time.monotonic() + 5
        for s in many:
            if s.poll(int(max(1, (deadline - time.monotonic()) * 1000))):
                got += 1
        ck(ST, "connections over the tenant's cap get no reply", 1 <= got <= a["cap"], f"{got} replies")
        print("MANY-DONE", flush=True)
        for s in many:
            s.close(0)
        s, mon = curve_socket(ctx, ep, spub, a["mallory_key"])
        r = call(s, "health", timeout=2)
        ev = handshake_events(mon, 1)
        ck(ST, "an unknown key gets no reply", r is None, desc(r))
        ck(ST, "an unknown key is refused at the handshake (HANDSHAKE_FAILED_AUTH)",
           zmq.EVENT_HANDSHAKE_FAILED_AUTH in ev, ev)
        s.close(0)
        s, mon = curve_socket(ctx, ep, None, None)
        r = call(s, "health", timeout=2)
        ck(ST, "a plain (NULL mechanism) tcp client gets no reply", r is None, desc(r))
        s.close(0)
        s, mon = curve_socket(ctx, ep, a["alice_pub"], a["alice_key"])  # the wrong server key
        r = call(s, "health", timeout=2)
        ck(ST, "a client with a wrong server key gets no reply", r is None, desc(r))
        s.close(0)
        return 0
    if role == "revoke":
        s, mon = curve_socket(ctx, ep, spub, a["bob_key"])
        r = call(s, "health")
        ck(ST, "bob's key works before the reload", r is not None and r.get("ok"), desc(r))
        sub, _ = curve_socket(ctx, ep, spub, a["bob_key"], routing_id=b"\x01" + os.urandom(15))
        r = call(sub, "subscribe", {})
        ck(ST, "bob subscribes over tcp (a random routing id)", r is not None and r.get("ok"), desc(r))
        print("READY", flush=True)
        sys.stdin.readline()  # the parent removed bob's key and reloaded
        r = call(s, "health")
        ck(ST, "a removed key's open connection is refused at its next request (permission_denied)",
           r is not None and r.get("ok") is False and r.get("err", {}).get("code") == "permission_denied"
           and "allow list" in r.get("err", {}).get("msg", ""), desc(r))
        s.close(0)
        s, mon = curve_socket(ctx, ep, spub, a["bob_key"])
        r = call(s, "health", timeout=2)
        ev = handshake_events(mon, 1)
        ck(ST, "a removed key cannot connect again", r is None and zmq.EVENT_HANDSHAKE_FAILED_AUTH in ev,
           f"{desc(r)} events {ev}")
        s.close(0)
        sub.close(0)
        return 0
    return 2


# ---------------------------------------------------------------------------------------------------------
# the parent

class Remote:
    def __init__(self, ns, tmp):
        self.ns, self.tmp = ns, tmp
        self.endpoint = f"tcp://{ns.server_ip}:{PORT}"

    def ctl(self, key, *args, stdout=subprocess.PIPE, timeout=60):
        argv = ["ip", "netns", "exec", self.ns.client, os.environ["DESCARTESCTL"], "-H", self.endpoint,
                "--server-key", os.path.join(self.tmp, "server.pub"), "--key", key] + list(args)
        p = subprocess.run(argv, stdout=stdout, stderr=subprocess.PIPE, timeout=timeout)
        return p.returncode, (p.stdout or b"").decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")

    def child(self, role, data, stdin=None):
        return subprocess.Popen(["ip", "netns", "exec", self.ns.client, "/usr/bin/python3",
                                 os.path.abspath(__file__), "--role", role, json.dumps(data)],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                env=dict(os.environ, DCONF_REEXEC="1"))


def keygen(tmp, name):
    p = subprocess.run([os.environ["DESCARTESCTL"], "keygen", "--out", os.path.join(tmp, name)],
                       stdout=subprocess.PIPE, check=True)
    return p.stdout.decode().strip()


def write_client(clients, name, pub, tenant):
    path = os.path.join(clients, f"{name}.client")
    with open(path, "w") as f:
        f.write(f"# {name}\npublic-key = {pub}\ntenant = {tenant}\n")
    os.chmod(path, 0o644)
    return path


def wait_log(D, text, after, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with open(D.log, "rb") as f:
            f.seek(after)
            if text in f.read().decode("utf-8", "replace"):
                return True
        time.sleep(0.05)
    return False


def expected_log():
    h, n = hashlib.sha256(), 0
    p = subprocess.Popen(["seq", "1", str(LOG_LINES)], stdout=subprocess.PIPE)
    for chunk in iter(lambda: p.stdout.read(1 << 20), b""):
        h.update(chunk)
        n += len(chunk)
    p.wait()
    return n, h.hexdigest()


def refused_at_start(conf, ns, name, words):
    """The daemon must refuse to start with conf, and its log must say `words`."""
    D = Daemon(conf, netns=ns.server, start=False)
    try:
        D.start()
        ck(ST, name, False, "the daemon started")
    except RuntimeError as e:
        ck(ST, name, words in str(e), str(e)[-800:])
    finally:
        D.stop()


def main():
    if "--role" in sys.argv:
        return child_main()
    why = dconf.skip_reason()
    if not why and not os.environ.get("DESCARTESCTL"):
        why = "$DESCARTESCTL does not name the built descartesctl (run under meson test)"
    if not why and subprocess.run(["ip", "netns", "list"], stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL).returncode != 0:
        why = "ip netns is not available"
    if why:
        print(f"SKIP: {why}")
        return 77
    res = dconf._results = Results(KNOWN_MISMATCHES)
    users, ns, D = Users(), Netns(), None
    tmp = tempfile.mkdtemp(prefix="descartes-remote-")
    old = {s: signal.signal(s, lambda n, f: sys.exit(f"terminated by signal {n}"))
           for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)}
    t0 = time.monotonic()
    try:
        ns.up()
        alice, bob = users.make("ra", ["descartes"]), users.make("rb", ["descartes"])
        spub = keygen(tmp, "server")
        apub, bpub = keygen(tmp, "alice"), keygen(tmp, "bob")
        keygen(tmp, "mallory")
        ck(ST, "keygen prints the public key it wrote", spub == key_of(os.path.join(tmp, "server.pub")), spub)
        ck(ST, "keygen's secret key file is 0600",
           os.stat(os.path.join(tmp, "server.key")).st_mode & 0o777 == 0o600)
        clients = os.path.join(tmp, "clients")
        os.mkdir(clients, 0o755)
        write_client(clients, "alice", apub, alice.pw_name)  # by name
        bob_file = write_client(clients, "bob", bpub, str(bob.pw_uid))  # by uid

        refused_at_start(f"listen = tcp://{ns.server_ip}:{PORT}\n", ns,
                         "listen without curve keys (plain tcp) is refused at start, saying why",
                         "plain tcp is refused")
        conf = (f"listen = tcp://{ns.server_ip}:{PORT}\ncurve_secret_key = {tmp}/server.key\n"
                f"curve_clients_dir = {clients}\noutput_cap = 256M\nmax_connections_per_user = {CONN_CAP}\n")
        os.chmod(os.path.join(tmp, "server.key"), 0o640)
        refused_at_start(conf, ns, "a secret key file others may read is refused at start, saying why",
                         "chmod 600")
        os.chmod(os.path.join(tmp, "server.key"), 0o600)

        D = Daemon(conf, netns=ns.server)
        D.open_for(None)  # the tenants' agents reach their workspaces below it
        R = Remote(ns, tmp)
        ak, bk = os.path.join(tmp, "alice.key"), os.path.join(tmp, "bob.key")

        rc, out, err = R.ctl(ak, "health")
        ck(ST, "descartesctl -H tcp:// with a listed key: health", rc == 0, f"rc {rc}: {err}")
        rc, a_id, err = R.ctl(ak, "spawn", "--name", "fixer-1", "--", "/bin/sleep", "300")
        a_id = a_id.strip()
        ck(ST, "a remote tenant spawns", rc == 0 and a_id, f"rc {rc}: {err}")
        rc, b_id, err = R.ctl(bk, "spawn", "--", "/bin/sleep", "300")
        b_id = b_id.strip()
        ck(ST, "a second remote tenant spawns", rc == 0 and b_id, f"rc {rc}: {err}")
        root = dconf.Client(D.control)
        g = root.req("get", {"agent": a_id}) if a_id else None
        ck(ST, "the remote tenant's agent is owned by the mapped uid (tenant by name)",
           g is not None and g.ok and g.data["agent"]["owner_uid"] == alice.pw_uid, desc(g))
        g = root.req("get", {"agent": b_id}) if b_id else None
        ck(ST, "the remote tenant's agent is owned by the mapped uid (tenant by uid)",
           g is not None and g.ok and g.data["agent"]["owner_uid"] == bob.pw_uid, desc(g))
        rc, out, err = R.ctl(ak, "-o", "json", "ps", "-a")
        ck(ST, "a remote tenant's ps shows its agent and not the other tenant's",
           rc == 0 and a_id in out and b_id and b_id not in out, f"rc {rc}: {out[:500]} {err}")
        rc, out, err = R.ctl(ak, "inspect", b_id)
        ck(ST, "a remote tenant cannot inspect the other tenant's agent (not found)", rc == 5,
           f"rc {rc}: {out} {err}")
        rc, out, err = R.ctl(ak, "kill", b_id)
        ck(ST, "a remote tenant cannot kill the other tenant's agent (not found)", rc == 5, f"rc {rc}: {err}")
        rc, out, err = R.ctl(os.path.join(tmp, "mallory.key"), "health")
        ck(ST, "descartesctl with an unknown key is refused (exit 7, says so)",
           rc == 7 and "refused this client's key" in err, f"rc {rc}: {err}")
        rc, out, err = R.ctl(ak, "--server-key", os.path.join(tmp, "nope.pub"), "health")
        ck(ST, "descartesctl with a missing server key file says so (usage, exit 2)",
           rc == 2 and "nope.pub" in err, f"rc {rc}: {err}")

        data = {"endpoint": R.endpoint, "server_pub": spub, "alice_pub": apub, "alice_key": ak, "bob_key": bk,
                "mallory_key": os.path.join(tmp, "mallory.key"), "alice_uid": alice.pw_uid, "cap": CONN_CAP,
                "n_conns": CONN_CAP + 2}
        p = R.child("raw", data)
        out, _ = p.communicate(timeout=120)
        res.merge_child_output(out.decode("utf-8", "replace"))
        ck(ST, "the raw-wire child ran to completion", p.returncode == 0, p.returncode)
        ck(ST, "max_connections_per_user applies to the tenant a key maps to",
           wait_log(D, f"uid {alice.pw_uid} has more than {CONN_CAP} connections", 0), D.log_tail(5))

        # 100 MiB through logs -f, remotely
        n_exp, h_exp = expected_log()
        ck(ST, "the log to stream is at least 100 MiB", n_exp >= LOG_MIN_BYTES, n_exp)
        # the agent waits a little, so that logs -f follows it live rather than reading a finished log
        rc, l_id, err = R.ctl(ak, "spawn", "--", "/bin/sh", "-c", f"sleep 1; exec /usr/bin/seq 1 {LOG_LINES}")
        l_id = l_id.strip()
        h, n = hashlib.sha256(), 0
        argv = ["ip", "netns", "exec", ns.client, os.environ["DESCARTESCTL"], "-H", R.endpoint, "--server-key",
                os.path.join(tmp, "server.pub"), "--key", ak, "logs", "-f", "--raw", "--stream", "stdout", l_id]
        t = time.monotonic()
        lp = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for chunk in iter(lambda: lp.stdout.read(1 << 20), b""):
            h.update(chunk)
            n += len(chunk)
        lerr = lp.stderr.read().decode("utf-8", "replace")
        lrc = lp.wait()
        dt = time.monotonic() - t
        print(f"logs -f over tcp+CURVE: {n} bytes in {dt:.1f} s ({n / dt / 1048576:.1f} MiB/s)", flush=True)
        ck(ST, "100 MiB stream through logs -f over tcp: the byte count matches", lrc == 0 and n == n_exp,
           f"rc {lrc}, {n} of {n_exp} bytes: {lerr[-500:]}")
        ck(ST, "100 MiB stream through logs -f over tcp: the sha256 matches", h.hexdigest() == h_exp,
           f"{h.hexdigest()} != {h_exp}")

        # a terminal over tcp+CURVE: attach with piped keys (stdin not a terminal: no raw mode, the output goes
        # on after its end), the agent's exit code as descartesctl's
        rc, t_id, err = R.ctl(ak, "spawn", "--tty", "--", "/bin/sh", "-c", "read x; echo got-$x; exit 4")
        t_id = t_id.strip()
        ck(ST, "spawn --tty over tcp", rc == 0 and t_id, f"rc {rc}: {err}")
        argv = ["ip", "netns", "exec", ns.client, os.environ["DESCARTESCTL"], "-H", R.endpoint, "--server-key",
                os.path.join(tmp, "server.pub"), "--key", ak, "attach", t_id]
        tp = subprocess.run(argv, input=b"remote-key\r", stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        ck(ST, "attach over tcp+CURVE: keys in, the agent's output back, its exit code",
           tp.returncode == 4 and b"got-remote-key" in tp.stdout,
           f"rc {tp.returncode}: {tp.stdout[-300:]!r} {tp.stderr[-300:]!r}")

        # SIGHUP takes bob's key away
        p = R.child("revoke", data)
        line = p.stdout.readline().decode()
        while line and not line.startswith("READY"):
            res.merge_child_output(line)
            line = p.stdout.readline().decode()
        os.unlink(bob_file)
        size = os.path.getsize(D.log)
        D.proc.send_signal(signal.SIGHUP)
        ck(ST, "SIGHUP reloads the allow list", wait_log(D, "1 remote client keys from", size), D.log_tail(5))
        ck(ST, "SIGHUP ends the subscription of the removed key (no more pushes without a request to refuse)",
           wait_log(D, "no longer in the allow list", size), D.log_tail(5))
        out, _ = p.communicate(b"go\n", timeout=60)
        res.merge_child_output(out.decode("utf-8", "replace"))
        ck(ST, "the revoke child ran to completion", p.returncode == 0, p.returncode)
        rc, out, err = R.ctl(bk, "health")
        ck(ST, "descartesctl with the removed key is refused", rc == 7, f"rc {rc}: {err}")
        rc, out, err = R.ctl(ak, "health")
        ck(ST, "the other key still works after the reload", rc == 0, f"rc {rc}: {err}")
        ck(ST, "ipc (NULL, peer uid) still works beside tcp", D.health_ok())
        for aid in (a_id, b_id, l_id):
            if aid:
                root.req("kill", {"agent": aid})
        root.close()
        ck("harness", "descartesd is still running", D.alive(), D.status())
    finally:
        for s, hd in old.items():
            signal.signal(s, hd)
        try:
            if D:
                D.stop()
        finally:
            ns.down()
            users.cleanup()
            subprocess.run(["rm", "-rf", tmp])
    print(f"runtime {time.monotonic() - t0:.1f} s")
    return res.summary()


if __name__ == "__main__":
    sys.exit(main())
