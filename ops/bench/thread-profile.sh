#!/usr/bin/env bash
# Per-thread CPU of api1 on the native cluster (ops/cluster, compose limits) during 40 s of
# RATE creates/s (default 600) with searches and read-backs through nginx, plus the CFS
# throttling of each service: where an API spends its CPU, and how often each of its threads
# wakes (voluntary context switches) per create it answered. Usage: RATE=600 ops/bench/thread-profile.sh
set -u
cd "$(dirname "$0")/../.."
cargo build --release --quiet -p bardo -p bardo-load
ops/cluster down >/dev/null 2>&1; ops/cluster up > /tmp/up.log 2>&1
PID=$(cat /tmp/bardo-cluster/api1.pid)
# thread name|CPU ticks|voluntary switches (each one a sleep, so each a later wake-up)
snap() { for t in /proc/$PID/task/*; do c=$(cat $t/comm 2>/dev/null) && s=$(awk '{print $14+$15}' $t/stat 2>/dev/null) && w=$(awk '/^voluntary_ctxt_switches/ {print $2}' $t/status 2>/dev/null) && echo "$c|$s|$w"; done | sort; }
creates() { curl -s http://127.0.0.1:9111/metrics | awk '/^bardo_create_phase_seconds_count.*phase="total"/ {print $NF}'; }
cs() { awk '/nr_throttled|throttled_time/ {printf "%s ", $2}' /sys/fs/cgroup/cpu/bardo/$1/cpu.stat; }
echo "before: api1 $(cs api1) api2 $(cs api2) rabbit $(cs rabbitmq) nginx $(cs nginx)"
snap > /tmp/t0
C0=$(creates)
./target/release/bardo-load --target http://127.0.0.1:9999 --rate ${RATE:-600} --seconds 40 --payloads ${BARDO_SHARED_DIR:-/work/shared}/rinha-2023-q3/pessoas-payloads.tsv --terms ${BARDO_SHARED_DIR:-/work/shared}/rinha-2023-q3/termos-busca.tsv --search-every 4 --read-back --workers 64 2>&1 | tail -1 | cut -c1-330
snap > /tmp/t1
C1=$(creates)
echo "api1 answered $((C1 - C0)) creates"
echo "after:  api1 $(cs api1) api2 $(cs api2) rabbit $(cs rabbitmq) nginx $(cs nginx)"
python3 - "$((C1 - C0))" <<'PY'
import sys
from collections import defaultdict
def load(p):
    cpu, wakes = defaultdict(int), defaultdict(int)
    for line in open(p):
        n, c, w = line.rstrip('\n').rsplit('|', 2)
        if c: cpu[n] += int(c)
        if w: wakes[n] += int(w)
    return cpu, wakes
(a, wa), (b, wb) = load('/tmp/t0'), load('/tmp/t1')
creates = max(int(sys.argv[1] or 0), 1)
tot = sum(b[k] - a.get(k, 0) for k in b)
print(f"  {'thread':24s} {'CPU':>9}  {'share':>6}  {'wakes/create':>12}")
for k in sorted(b, key=lambda k: -(b[k] - a.get(k, 0))):
    d, w = b[k] - a.get(k, 0), wb[k] - wa.get(k, 0)
    if d or w: print(f"  {k:24s} {d*10:6d} ms  {100*d/max(tot,1):5.1f}%  {w/creates:12.2f}")
print("  total", tot*10, "ms CPU over 40 s;", f"{sum(wb[k]-wa.get(k,0) for k in wb)/creates:.2f} wakes per create")
PY
tail -3 /tmp/bardo-cluster/nginx.log | grep -v setrlimit
ops/cluster down >/dev/null
