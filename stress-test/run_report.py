#!/usr/bin/env python3
"""What a stress run cost each service, printed beside Gatling's figures by run-test.sh.

    run_report.py snapshot OUT.json     read the counters now
    run_report.py report BEFORE.json AFTER.json [--json OUT.json]

Two parts, both as differences between the two snapshots:

* **CPU throttling per service** (cgroup v1 `cpu.stat` and `cpuacct.usage`): CFS periods,
  throttled periods, throttled time and average CPU against the quota. The groups come from
  THROTTLE_CGROUPS ("name=/sys/fs/cgroup/cpu/...,name=..."), else from the native cluster
  (`ops/cluster`, its run folder $BARDO_CLUSTER_RUN or /tmp/bardo-cluster), plus Gatling's own
  group (bardo-gatling) when run-test.sh put Gatling there (GATLING_GROUP_USED=1).
* **The creates' latency breakdown per API instance**: the `bardo_create_phase_seconds`
  histograms of each instance's `/metrics` (PHASE_METRICS_URLS, space-separated; default: the
  native cluster's api1 and api2 ports), as count, mean, p50, p99 and max (bucket upper
  bounds) and how many passed 20 ms, per phase.

Anything unreadable is reported as absent, never as zero.
"""
import json
import os
import re
import sys
import time
import urllib.request

CLUSTER_RUN = os.environ.get("BARDO_CLUSTER_RUN", "/tmp/bardo-cluster")
GATLING_GROUP = "/sys/fs/cgroup/cpu/bardo-gatling"
DEFAULT_PHASE_URLS = "http://127.0.0.1:9111/metrics http://127.0.0.1:9112/metrics"
PHASES = ["validate", "queued", "confirm", "apply", "wake", "total"]


def read_int(path):
    try:
        with open(path, encoding="ascii") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def read_cpu_stat(path):
    try:
        with open(os.path.join(path, "cpu.stat"), encoding="ascii") as f:
            return {k: int(v) for k, v in (line.split() for line in f if line.strip())}
    except OSError:
        return None


def cluster_groups():
    """name -> (cpu dir, cpuacct dir) for the native cluster's services."""
    try:
        with open(os.path.join(CLUSTER_RUN, "cgroups"), encoding="ascii") as f:
            bases = dict(line.split(None, 1) for line in f if line.strip())
    except OSError:
        return {}
    cpu = bases.get("cpu", "").strip()
    acct = bases.get("cpuacct", cpu).strip()
    if not cpu or not os.path.isdir(cpu):
        return {}
    names = sorted(n for n in os.listdir(cpu) if os.path.isdir(os.path.join(cpu, n)))
    return {n: (os.path.join(cpu, n), os.path.join(acct, n)) for n in names}


def groups():
    explicit = os.environ.get("THROTTLE_CGROUPS", "").strip()
    if explicit:
        found = {}
        for item in explicit.split(","):
            name, _, path = item.partition("=")
            found[name.strip()] = (path.strip(), path.strip())
        return found
    found = cluster_groups()
    # only when this run put Gatling there (run-test.sh with GATLING_CPUS): the group outlives runs
    if os.environ.get("GATLING_GROUP_USED") == "1" and os.path.isdir(GATLING_GROUP):
        acct = GATLING_GROUP.replace("/cpu/", "/cpuacct/")
        found["gatling"] = (GATLING_GROUP, acct if os.path.isdir(acct) else GATLING_GROUP)
    return found


def cgroup_snapshot():
    out = {}
    for name, (cpu, acct) in groups().items():
        usage = read_int(os.path.join(acct, "cpuacct.usage"))
        if usage is None:
            usage = read_int(os.path.join(cpu, "cpuacct.usage"))
        out[name] = {
            "stat": read_cpu_stat(cpu),
            "quota_us": read_int(os.path.join(cpu, "cpu.cfs_quota_us")),
            "period_us": read_int(os.path.join(cpu, "cpu.cfs_period_us")),
            "usage_ns": usage,
        }
    return out


SAMPLE = re.compile(r'^bardo_create_phase_seconds_(bucket|sum|count)\{([^}]*)\} (\S+)')


def parse_phases(text):
    """phase -> {"count", "sum", "buckets": [(le, cumulative)]}"""
    phases = {}
    for line in text.splitlines():
        m = SAMPLE.match(line)
        if not m:
            continue
        kind, labels, value = m.groups()
        labels = dict(re.findall(r'(\w+)="([^"]*)"', labels))
        phase = phases.setdefault(labels.get("phase", "?"), {"count": 0, "sum": 0.0, "buckets": []})
        if kind == "bucket":
            le = labels.get("le")
            phase["buckets"].append((float("inf") if le == "+Inf" else float(le), int(float(value))))
        elif kind == "sum":
            phase["sum"] = float(value)
        else:
            phase["count"] = int(float(value))
    return phases


def phase_snapshot():
    out = {}
    for url in os.environ.get("PHASE_METRICS_URLS", DEFAULT_PHASE_URLS).split():
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                out[url] = parse_phases(response.read().decode("utf-8", "replace"))
        except OSError:
            out[url] = None
    return out


def snapshot(path):
    data = {"time": time.time(), "cgroups": cgroup_snapshot(), "phases": phase_snapshot()}
    with open(path, "w", encoding="utf-8") as f:
        json.dump(data, f)


def throttling_rows(before, after, seconds):
    rows = []
    for name, end in sorted(after["cgroups"].items()):
        start = before["cgroups"].get(name)
        if not start or not start["stat"] or not end["stat"]:
            rows.append({"service": name, "readable": False})
            continue
        d = {k: end["stat"].get(k, 0) - start["stat"].get(k, 0) for k in end["stat"]}
        usage = None
        if start["usage_ns"] is not None and end["usage_ns"] is not None:
            usage = (end["usage_ns"] - start["usage_ns"]) / 1e9 / seconds
        quota = end["quota_us"]
        cpus = quota / end["period_us"] if quota and quota > 0 and end["period_us"] else None
        rows.append({
            "service": name, "readable": True, "quota_cpus": cpus, "avg_cpus": usage,
            "periods": d.get("nr_periods", 0), "throttled": d.get("nr_throttled", 0),
            "throttled_s": d.get("throttled_time", 0) / 1e9,
        })
    return rows


def quantile(buckets, count, q):
    rank = max(1, int(-(-q * count // 1)))
    for le, seen in buckets:
        if seen >= rank:
            return le
    return None


def phase_rows(before, after):
    rows = []
    for url, end in after["phases"].items():
        start = (before["phases"] or {}).get(url)
        if end is None or start is None:
            rows.append({"instance": url, "readable": False})
            continue
        for phase in PHASES:
            e, s = end.get(phase), start.get(phase, {"count": 0, "sum": 0.0, "buckets": []})
            if e is None:
                continue
            begin = dict(s["buckets"])
            buckets = [(le, seen - begin.get(le, 0)) for le, seen in e["buckets"]]
            count = e["count"] - s["count"]
            over = count - dict(buckets).get(0.02, count) if count else 0
            # the highest bucket with any observation: an upper bound of the slowest one
            seen_below = [le for (le, seen), (_, prior) in zip(buckets, [(0, 0)] + buckets) if seen > prior]
            rows.append({
                "instance": url, "readable": True, "phase": phase, "count": count,
                "mean_ms": (e["sum"] - s["sum"]) / count * 1e3 if count else None,
                "p50_ms": fmt_bound(quantile(buckets, count, 0.50)) if count else None,
                "p99_ms": fmt_bound(quantile(buckets, count, 0.99)) if count else None,
                "over_20ms": over,
                "max_ms": fmt_bound(seen_below[-1]) if seen_below else None,
            })
    return rows


def fmt_bound(le):
    return None if le is None else ("inf" if le == float("inf") else round(le * 1e3, 3))


def show(value, spec):
    return "-" if value is None else format(value, spec)


def print_report(throttling, phases, seconds):
    print(f"== CPU throttling per service over {seconds:.0f} s (cgroup v1 cpu.stat deltas)")
    print(f"   {'service':<9} {'quota':>6} {'avg cpu':>8} {'periods':>8} {'throttled':>10} {'thr. %':>7} {'thr. time':>10}")
    for r in throttling:
        if not r["readable"]:
            print(f"   {r['service']:<9} (unreadable)")
            continue
        share = 100 * r["throttled"] / r["periods"] if r["periods"] else 0
        print(f"   {r['service']:<9} {show(r['quota_cpus'], '.2f'):>6} {show(r['avg_cpus'], '.3f'):>8} "
              f"{r['periods']:>8} {r['throttled']:>10} {share:>6.1f}% {r['throttled_s']:>9.2f}s")
    print("== creates' latency breakdown per API (bardo_create_phase_seconds deltas; p50/p99 are bucket upper bounds)")
    print(f"   {'instance':<34} {'phase':<9} {'count':>7} {'mean ms':>8} {'p50 ≤ms':>8} {'p99 ≤ms':>8} {'>20 ms':>7} {'max ≤ms':>8}")
    for r in phases:
        if not r["readable"]:
            print(f"   {r['instance']:<34} (unreadable)")
            continue
        print(f"   {r['instance'][-34:]:<34} {r['phase']:<9} {r['count']:>7} {show(r['mean_ms'], '.2f'):>8} "
              f"{show(r['p50_ms'], ''):>8} {show(r['p99_ms'], ''):>8} {r['over_20ms']:>7} {show(r.get('max_ms'), ''):>8}")


def report(before_path, after_path, json_out=None):
    with open(before_path, encoding="utf-8") as f:
        before = json.load(f)
    with open(after_path, encoding="utf-8") as f:
        after = json.load(f)
    seconds = max(after["time"] - before["time"], 1e-9)
    throttling = throttling_rows(before, after, seconds)
    phases = phase_rows(before, after)
    print_report(throttling, phases, seconds)
    if json_out:
        with open(json_out, "w", encoding="utf-8") as f:
            json.dump({"seconds": seconds, "throttling": throttling, "phases": phases}, f, indent=1)


def main(argv):
    if len(argv) >= 3 and argv[1] == "snapshot":
        snapshot(argv[2])
    elif len(argv) >= 4 and argv[1] == "report":
        json_out = argv[5] if len(argv) >= 6 and argv[4] == "--json" else None
        report(argv[2], argv[3], json_out)
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
