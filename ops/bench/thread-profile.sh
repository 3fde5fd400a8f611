#!/usr/bin/env bash
# Per-thread CPU of api1 on the native cluster (ops/cluster, compose limits) during 40 s of
# RATE creates/s (default 600) with searches and read-backs through nginx, plus the CFS
# throttling of each service: where an API spends its CPU. Usage: RATE=600 ops/bench/thread-profile.sh
set -u
cd "$(dirname "$0")/../.."
cargo build --release --quiet -p bardo -p bardo-load
ops/cluster down >/dev/null 2>&1; ops/cluster up > /tmp/up.log 2>&1
PID=$(cat /tmp/bardo-cluster/api1.pid)
snap() { for t in /proc/$PID/task/*; do c=$(cat $t/comm 2>/dev/null) && s=$(awk '{print $14+$15}' $t/stat 2>/dev/null) && echo "$c|$s"; done | sort; }
cs() { awk '/nr_throttled|throttled_time/ {printf "%s ", $2}' /sys/fs/cgroup/cpu/bardo/$1/cpu.stat; }
echo "before: api1 $(cs api1) api2 $(cs api2) rabbit $(cs rabbitmq) nginx $(cs nginx)"
snap > /tmp/t0
./target/release/bardo-load --target http://127.0.0.1:9999 --rate ${RATE:-600} --seconds 40 --payloads ${BARDO_SHARED_DIR:-/work/shared}/rinha-2023-q3/pessoas-payloads.tsv --terms ${BARDO_SHARED_DIR:-/work/shared}/rinha-2023-q3/termos-busca.tsv --search-every 4 --read-back --workers 64 2>&1 | tail -1 | cut -c1-330
snap > /tmp/t1
echo "after:  api1 $(cs api1) api2 $(cs api2) rabbit $(cs rabbitmq) nginx $(cs nginx)"
python3 - <<'PY'
from collections import defaultdict
def load(p):
    d=defaultdict(int)
    for line in open(p):
        n,v=line.rstrip('\n').rsplit('|',1)
        if v: d[n]+=int(v)
    return d
a,b=load('/tmp/t0'),load('/tmp/t1')
tot=sum(b[k]-a.get(k,0) for k in b)
for k in sorted(b,key=lambda k:-(b[k]-a.get(k,0))):
    d=b[k]-a.get(k,0)
    if d: print(f"  {k:24s} {d*10:6d} ms  {100*d/tot:5.1f}%")
print("  total", tot*10, "ms CPU over 40 s")
PY
tail -3 /tmp/bardo-cluster/nginx.log | grep -v setrlimit
ops/cluster down >/dev/null
