#!/usr/bin/env python3
"""Creates per second at 0 KO on the three-broker cluster, for 2, 3 and 4 APIs.

For each N and each rate: `ops/cluster up --brokers 3 --apis N` (a fresh stream), then Rinha-shaped
load through nginx with `bardo-load` (bodies of pessoas-payloads.tsv, a GET of every 201, a search every 10th
create, open loop) at one rate for `--seconds`, rates rising. A step passes when no answer is a KO
(anything but 201/400/422 to a create, 200 to a read or a search, or no answer within 10 s) and
the rate reached is at least 97 % of the rate asked; the first failing step ends that N. For each
step it also reads every service's cgroup CPU use and CFS throttling, to say what limits it.

Usage: brokers3-throughput.py [--apis 2 3 4] [--rates 300 600 ...] [--seconds 20] [--out FILE.json]
Root (ops/cluster). Uses the default cluster (port 9999): run it alone.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RINHA = ROOT.parent / "shared" / "rinha-2023-q3"
RUN = Path("/tmp/bardo-cluster")
OK = {"create": {201, 400, 422}, "read": {200}, "search": {200}}


def cluster(*args: str) -> str:
    done = subprocess.run(["bash", str(ROOT / "ops/cluster"), *args], cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        sys.stdout.write(done.stdout + done.stderr)
        raise RuntimeError(f"ops/cluster {' '.join(args)} failed")
    return done.stdout


def cgroup_base(controller: str) -> Path:
    for line in (RUN / "cgroups").read_text().splitlines():
        ctl, base = line.split(" ", 1)
        if ctl == controller:
            return Path(base)
    raise RuntimeError(f"no {controller} cgroup")


def cpu_sample() -> dict:
    """Per service: CPU seconds used, and CFS periods throttled, so far."""
    sample = {}
    for group in cgroup_base("cpu").iterdir():
        if not group.is_dir():
            continue
        stat = dict(line.split() for line in (group / "cpu.stat").read_text().splitlines())
        usage = cgroup_base("cpuacct") / group.name / "cpuacct.usage"
        sample[group.name] = (int(usage.read_text()) / 1e9 if usage.exists() else 0.0, int(stat["nr_throttled"]))
    return sample


def step(rate: int, seconds: int, first_slot: int) -> dict:
    ledger = RUN / f"throughput-{rate}.jsonl"
    command = [str(ROOT / "target/release/bardo-load"), "--target", "http://127.0.0.1:9999", "--rate", str(rate),
               "--seconds", str(seconds), "--workers", "256", "--read-back", "--search-every", "10",
               "--timeout-ms", "10000", "--first-slot", str(first_slot), "--ledger", str(ledger),
               "--payloads", str(RINHA / "pessoas-payloads.tsv"), "--terms", str(RINHA / "termos-busca.tsv")]
    before, started = cpu_sample(), time.time()
    summary = json.loads(subprocess.run(command, capture_output=True, text=True, check=True).stdout.splitlines()[-1])
    wall, after = time.time() - started, cpu_sample()
    entries = [json.loads(line) for line in ledger.open() if line.strip()]
    ko = sum(1 for e in entries if e["status"] not in OK[e["kind"]])
    creates = [e for e in entries if e["kind"] == "create"]
    latencies = sorted(e["ms"] for e in creates if e["status"] == 201)
    p99 = latencies[int(len(latencies) * 0.99) - 1] if latencies else None
    cpu = {svc: {"cpu": round((after[svc][0] - before[svc][0]) / wall, 3),
                 "throttled": after[svc][1] - before[svc][1]} for svc in after if svc in before}
    reached = summary["creates_per_second"]
    return {"rate": rate, "reached": round(reached, 1), "creates": len(creates), "ko": ko,
            "created_201": sum(1 for e in creates if e["status"] == 201), "create_p99_ms": p99,
            "passed": ko == 0 and reached >= 0.97 * rate, "cpu": cpu}


def run_n(apis: int, rates: list[int], seconds: int) -> dict:
    """Each rate on a fresh cluster and stream: every step sends the payload file from its first
    line (a step must not outrun the file, or its apelidos repeat and turn into cheap 422s)."""
    steps = []
    try:
        for rate in rates:
            cluster("down")
            cluster("up", "--brokers", "3", "--apis", str(apis))
            result = step(rate, seconds, 0)
            steps.append(result)
            busiest = sorted(result["cpu"].items(), key=lambda kv: -kv[1]["cpu"])[:4]
            print(f"apis {apis} rate {rate}: reached {result['reached']}/s, KO {result['ko']}, "
                  f"create p99 {result['create_p99_ms']} ms, {'pass' if result['passed'] else 'FAIL'}; busiest "
                  + ", ".join(f"{s} {v['cpu']} CPU thr {v['throttled']}" for s, v in busiest), flush=True)
            if not result["passed"]:
                break
    finally:
        cluster("down")
    best = max((s["rate"] for s in steps if s["passed"]), default=0)
    return {"apis": apis, "best_rate_0_ko": best, "steps": steps}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--apis", type=int, nargs="+", default=[2, 3, 4])
    parser.add_argument("--rates", type=int, nargs="+", default=[1200, 2400, 3000, 3600, 4800, 6000])
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    lines = sum(1 for _ in (RINHA / "pessoas-payloads.tsv").open()) - 1
    if max(args.rates) * args.seconds > lines:
        parser.error(f"{max(args.rates)}/s x {args.seconds} s outruns the {lines} payloads (apelidos would repeat)")
    results = [run_n(n, args.rates, args.seconds) for n in args.apis]
    for r in results:
        print(f"APIs {r['apis']}: {r['best_rate_0_ko']} creates/s at 0 KO")
    if args.out:
        args.out.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
