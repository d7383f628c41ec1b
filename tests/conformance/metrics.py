#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""`descartesctl metrics` and the `metrics` op (docs/protocol.md, metrics) parsed as Prometheus text
(exposition format 0.0.4) by a strict parser of our own: names, types, labels, every sample's family has a
TYPE, histogram buckets cumulative with +Inf equal to _count. Root sees every agent, every tenant and the
daemon's counters; tenant A (a throwaway user) sees its own agent and its own tenant row only, with neither
the daemon's request counters nor its histograms."""

KNOWN_MISMATCHES = [
    # none: every check below holds. Add an entry (the check's full name) only with an issue that fixes it.
]

import dconf  # noqa: E402
import math  # noqa: E402
import shutil  # noqa: E402
import stat  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import os  # noqa: E402
import re  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dconf import Run, run_tenant, tenant_args, tenant_session, ck, desc  # noqa: E402

S = "metrics"
SLEEP = ["/bin/sleep", "1000"]
C = None

NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
LABEL = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
TYPES = {"counter", "gauge", "histogram", "summary", "untyped"}


class ParseError(Exception):
    pass


def parse_labels(s, i):
    """Labels from s[i] == '{' to the closing '}': (dict, index after '}')."""
    labels = {}
    i += 1
    while True:
        if s[i] == "}":
            return labels, i + 1
        m = LABEL.match(s, i)
        if not m:
            raise ParseError(f"bad label name at {s[i:]!r}")
        name = m.group(0)
        i = m.end()
        if s[i:i + 2] != '="':
            raise ParseError(f"label {name} without =\"")
        i += 2
        v = []
        while s[i] != '"':
            if s[i] == "\\":
                esc = s[i + 1]
                if esc not in ('\\', '"', 'n'):
                    raise ParseError(f"bad escape \\{esc} in label {name}")
                v.append("\n" if esc == "n" else esc)
                i += 2
            else:
                if s[i] == "\n":
                    raise ParseError("newline in a label value")
                v.append(s[i])
                i += 1
        i += 1
        if name in labels:
            raise ParseError(f"label {name} twice")
        labels[name] = "".join(v)
        if s[i] == ",":
            i += 1
        elif s[i] != "}":
            raise ParseError(f"expected , or }} after label {name}")


def parse_value(v):
    if v in ("+Inf", "-Inf", "NaN"):
        return float(v)
    if not re.fullmatch(r"[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?", v):
        raise ParseError(f"bad value {v!r}")
    return float(v)


def family_of(name, types):
    """The family a sample belongs to: a histogram's _bucket, _sum and _count belong to the histogram."""
    for suffix in ("_bucket", "_sum", "_count"):
        base = name[:-len(suffix)]
        if name.endswith(suffix) and types.get(base) == "histogram":
            return base
    return name


def parse(text):
    """{family: {"type", "help", "samples": [(name, labels, value)]}}; raises ParseError."""
    if not text.endswith("\n"):
        raise ParseError("the text does not end with a newline")
    fams, types, done, current = {}, {}, set(), None
    series = set()
    for n, line in enumerate(text[:-1].split("\n"), 1):
        where = f"line {n}: {line!r}"
        if line == "":
            raise ParseError(f"{where}: empty line")
        if line.startswith("#"):
            parts = line.split(" ", 3)
            if len(parts) >= 3 and parts[1] in ("HELP", "TYPE"):
                name = parts[2]
                if not NAME.fullmatch(name):
                    raise ParseError(f"{where}: bad metric name")
                f = fams.setdefault(name, {"type": None, "help": None, "samples": []})
                key = parts[1].lower()
                if f[key] is not None:
                    raise ParseError(f"{where}: second {parts[1]} for {name}")
                if name in done or (f["samples"] and key == "type"):
                    raise ParseError(f"{where}: {parts[1]} after the family's samples")
                if key == "type":
                    if len(parts) != 4 or parts[3] not in TYPES:
                        raise ParseError(f"{where}: bad type")
                    types[name] = parts[3]
                f[key] = parts[3] if len(parts) == 4 else ""
                if current is not None and current != name:
                    done.add(current)
                current = name
            continue
        m = NAME.match(line)
        if not m:
            raise ParseError(f"{where}: bad sample name")
        name, i = m.group(0), m.end()
        labels = {}
        if i < len(line) and line[i] == "{":
            try:
                labels, i = parse_labels(line, i)
            except IndexError:
                raise ParseError(f"{where}: unterminated labels")
        rest = line[i:]
        if not rest.startswith(" "):
            raise ParseError(f"{where}: no space before the value")
        fields = rest[1:].split(" ")
        if len(fields) not in (1, 2):
            raise ParseError(f"{where}: trailing fields")
        value = parse_value(fields[0])
        fam = family_of(name, types)
        if fam not in types:
            raise ParseError(f"{where}: sample of {fam} without a TYPE line before it")
        if fam in done or fam != current:
            raise ParseError(f"{where}: samples of {fam} are not together")
        key = (name, tuple(sorted(labels.items())))
        if key in series:
            raise ParseError(f"{where}: the same series twice")
        series.add(key)
        t = types[fam]
        if t == "histogram" and name == fam:
            raise ParseError(f"{where}: a histogram sample without _bucket, _sum or _count")
        if t == "counter" and (value < 0 or math.isnan(value)):
            raise ParseError(f"{where}: a negative counter")
        if name.endswith("_bucket") and t == "histogram" and "le" not in labels:
            raise ParseError(f"{where}: a bucket without le")
        fams[fam]["samples"].append((name, labels, value))
    for name, f in fams.items():
        if f["type"] is None:
            raise ParseError(f"{name}: HELP without TYPE")
        if f["type"] == "histogram":
            check_histogram(name, f["samples"])
    return fams


def check_histogram(name, samples):
    by = {}
    for n, labels, v in samples:
        rest = tuple(sorted((k, x) for k, x in labels.items() if k != "le"))
        h = by.setdefault(rest, {"buckets": [], "sum": None, "count": None})
        if n == name + "_bucket":
            h["buckets"].append((parse_value(labels["le"]), v))
        elif n == name + "_sum":
            h["sum"] = v
        else:
            h["count"] = v
    for rest, h in by.items():
        b = h["buckets"]
        if not b or b[-1][0] != math.inf:
            raise ParseError(f"{name}{dict(rest)}: the last bucket is not le=\"+Inf\"")
        if any(b[i][0] >= b[i + 1][0] for i in range(len(b) - 1)):
            raise ParseError(f"{name}{dict(rest)}: le not increasing")
        if any(b[i][1] > b[i + 1][1] for i in range(len(b) - 1)):
            raise ParseError(f"{name}{dict(rest)}: buckets not cumulative")
        if h["count"] is None or h["sum"] is None or b[-1][1] != h["count"]:
            raise ParseError(f"{name}{dict(rest)}: +Inf {b[-1][1]} is not _count {h['count']}")


def samples(fams, name):
    f = fams.get(name)
    return f["samples"] if f else []


def parse_checked(who, text):
    try:
        fams = parse(text)
    except ParseError as e:
        ck(S, f"{who}: the text parses as Prometheus text", False, str(e))
        return {}
    ck(S, f"{who}: the text parses as Prometheus text", True)
    return fams


def ctl_metrics(ctl, control):
    p = subprocess.run([ctl, "-H", control, "metrics"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=60)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def a_main(control, t):
    """Tenant A: its own agent, then what it may see."""
    r = C.req("spawn", {"argv": SLEEP, "name": "mine-1"}, timeout=30)
    ck(S, "A: spawn mine-1", r is not None and r.ok, desc(r))
    mine = r.data["agent"]["id"] if r is not None and r.ok else "?"
    rc, out, err = ctl_metrics(t["ctl"], control)
    ck(S, "A: descartesctl metrics exits 0", rc == 0, err[-500:])
    fams = parse_checked("A", out)
    ids = {lb.get("agent") for f in fams.values() for _, lb, _ in f["samples"] if "agent" in lb}
    ck(S, "A: its own agent's series only", ids == {mine}, f"{ids} vs {mine}")
    uids = {lb.get("uid") for f in fams.values() for _, lb, _ in f["samples"] if "uid" in lb}
    ck(S, "A: every uid label is its own", uids == {str(os.getuid())}, uids)
    ck(S, "A: root's agent is nowhere in the text", t["root_agent"] not in out)
    for name in ("descartes_requests_total", "descartes_request_duration_seconds",
                 "descartes_spawn_duration_seconds", "descartes_malformed_requests_total",
                 "descartes_events_published_total"):
        ck(S, f"A: no {name} (the daemon's own counters are for admins)", name not in fams)
    st = [lb.get("state") for _, lb, _ in samples(fams, "descartes_agent_state") if lb.get("agent") == mine]
    ck(S, "A: its agent's state series says running", st == ["running"], st)
    ck(S, "A: its agent's memory and pids are there", any(lb.get("agent") == mine for _, lb, _ in
       samples(fams, "descartes_agent_memory_bytes")) and any(lb.get("agent") == mine for _, lb, _ in
       samples(fams, "descartes_agent_pids")))
    ck(S, "A: host gauges", [v for _, _, v in samples(fams, "descartes_host_cpus")] not in ([], [0.0]))
    r = C.req("metrics", {})
    text = r.data.get("text", "") if r is not None and r.ok and isinstance(r.data, dict) else ""
    ck(S, "A: the metrics op over the wire tells nothing of root's agent", r is not None and r.ok
       and t["root_agent"] not in text and mine in text, desc(r)[:300])
    C.req("kill", {"agent": mine}, timeout=30)


def textfile():
    """metrics_textfile: written at start and every metrics_interval, whole (renamed over), 0644, the admin's
    view."""
    tmp = tempfile.mkdtemp(prefix="descartes-textfile-")
    path = os.path.join(tmp, "descartes.prom")
    d = dconf.Daemon(extra_config=f"metrics_textfile = {path}\nmetrics_interval = 1s\n")
    c = None
    try:
        ck(S, "textfile: written at start", os.path.exists(path))
        text = open(path).read() if os.path.exists(path) else ""
        fams = parse_checked("textfile", text)
        ck(S, "textfile: the admin's view (request counters)", "descartes_requests_total" in fams)
        ck(S, "textfile: mode 0644", os.path.exists(path) and stat.S_IMODE(os.stat(path).st_mode) == 0o644)
        c = dconf.Client(d.control)
        r = c.req("spawn", {"argv": SLEEP, "name": "tf-1"}, timeout=30)
        ck(S, "textfile: spawn tf-1", r is not None and r.ok, desc(r))
        aid = r.data["agent"]["id"] if r is not None and r.ok else "?"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and aid not in (open(path).read() if os.path.exists(path) else ""):
            time.sleep(0.2)
        text = open(path).read() if os.path.exists(path) else ""
        ck(S, "textfile: rewritten: the new agent appears", aid in text)
        parse_checked("textfile (rewritten)", text)
        ck(S, "textfile: no temporary file left beside it", os.listdir(tmp) == ["descartes.prom"], os.listdir(tmp))
        c.req("kill", {"agent": aid}, timeout=30)
    finally:
        if c:
            c.close()
        d.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def tenant_main(role, control, t):
    global C
    _, C = tenant_session(control)
    {"a": a_main}[role](control, t)
    C.close()
    return 0


def main():
    global C
    role = tenant_args()
    if role:
        return tenant_main(*role)
    ctl = os.environ.get("DESCARTESCTL", "")
    if not ctl:
        print("SKIP: $DESCARTESCTL does not name the built descartesctl (run under meson test)")
        return 77
    with Run(KNOWN_MISMATCHES, quiet=False) as session:
        D, C, users = session.daemon, session.client, session.users
        ua = users.make("tm", ["descartes"])
        h = C.req("health")
        ctrl = (h.data.get("cgroup") or {}).get("controllers", []) if h is not None and h.ok else []
        # the limits the host can enforce (a CI runner may lack the memory controller)
        limits = {k: v for k, v in (("memory", 64 << 20), ("pids", 64)) if k in ctrl}
        r = C.req("spawn", {"argv": SLEEP, "name": "root-1", "limits": limits}, timeout=30)
        ck(S, "root: spawn root-1", r is not None and r.ok, desc(r))
        root_agent = r.data["agent"]["id"] if r is not None and r.ok else "?"
        C.req("metrics", {})
        rc, out = run_tenant(ua, D, "metrics.py", "a", {"ctl": ctl, "root_agent": root_agent}, timeout=120)
        ck(S, "A's client ran to completion", rc == 0, f"rc {rc}: {out[-1500:]}")

        rc, out, err = ctl_metrics(ctl, D.control)
        ck(S, "root: descartesctl metrics exits 0", rc == 0, err[-500:])
        print("---- descartesctl metrics (root), its first lines ----\n" + "\n".join(out.splitlines()[:40]))
        fams = parse_checked("root", out)
        ids = {lb.get("agent") for _, lb, _ in samples(fams, "descartes_agent_state")}
        ck(S, "root: both agents' state series", root_agent in ids and len(ids) == 2, ids)
        mx = [v for _, lb, v in samples(fams, "descartes_agent_memory_max_bytes") if lb.get("agent") == root_agent]
        ck(S, "root: root-1's memory limit", mx == ([float(64 << 20)] if "memory" in limits else []), mx)
        px = [v for _, lb, v in samples(fams, "descartes_agent_pids_max") if lb.get("agent") == root_agent]
        ck(S, "root: root-1's pids limit", px == ([64.0] if "pids" in limits else []), px)
        tu = {lb.get("uid") for _, lb, _ in samples(fams, "descartes_tenant_agents")}
        ck(S, "root: both tenants' rows", {"0", str(ua.pw_uid)} <= tu, tu)
        req = {lb.get("op"): v for _, lb, v in samples(fams, "descartes_requests_total")}
        ck(S, "root: requests counted per op (metrics and spawn)", req.get("metrics", 0) >= 2
           and req.get("spawn", 0) >= 2, req)
        cnt = {lb.get("op"): v for n, lb, v in samples(fams, "descartes_request_duration_seconds")
               if n.endswith("_count")}
        ck(S, "root: a latency histogram per op, spawn's counted", set(cnt) == set(req)
           and cnt.get("spawn", 0) >= 2, cnt)
        sp = [v for n, _, v in samples(fams, "descartes_spawn_duration_seconds") if n.endswith("_count")]
        ck(S, "root: the spawn latency histogram counts both spawns", sp and sp[0] >= 2, sp)
        ck(S, "root: malformed and events published", "descartes_malformed_requests_total" in fams
           and [v for _, _, v in samples(fams, "descartes_events_published_total")][0] >= 1)
        tr = [v for _, _, v in samples(fams, "descartes_metrics_truncated")]
        ck(S, "root: not truncated", tr == [0.0], tr)
        with open(D.log, "rb") as f:
            audit = [ln for ln in f.read().decode("utf-8", "replace").splitlines() if "Audit: " in ln]
        ck(S, "metrics is a read: not audited", audit and not any(" op=metrics " in ln for ln in audit), audit[:3])
        C.req("batch", {"op": "kill", "selector": {}}, timeout=30)
        textfile()
    return session.summary()


if __name__ == "__main__":
    sys.exit(main())
