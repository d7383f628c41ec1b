"""bench/benchlib.py — what the Python benchmarks share: the tree's paths (the built daemon, shim and CLI, the
policies; each may be overridden from the environment as tests/conformance/dconf.py reads them) on import, and
one way to print a latency distribution as key=value lines."""
import os
import statistics
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "conformance"))
os.environ.setdefault("DESCARTESD", os.path.join(ROOT, "build", "supervisor", "descartesd"))
os.environ.setdefault("DESCARTES_SHIM", os.path.join(ROOT, "build", "supervisor", "shim", "descartes-shim"))
os.environ.setdefault("DESCARTES_POLICY_DIR", os.path.join(ROOT, "policies"))
CTL = os.environ.get("DESCARTESCTL", os.path.join(ROOT, "build", "client", "descartesctl"))


def report(name, lat_us, count_key="n"):
    """NAME_{count_key}, then p50, p90, p99 and max of lat_us (microseconds), each on a line of its own."""
    lat_us.sort()
    q = statistics.quantiles(lat_us, n=100, method="inclusive")
    print(f"{name}_{count_key}={len(lat_us)}")
    print(f"{name}_p50_us={q[49]:.0f}")
    print(f"{name}_p90_us={q[89]:.0f}")
    print(f"{name}_p99_us={q[98]:.0f}")
    print(f"{name}_max_us={lat_us[-1]:.0f}", flush=True)
