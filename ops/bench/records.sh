#!/usr/bin/env bash
# ops/bench/records.sh [COUNT] — the most-records benchmark (issue 10): brings the native
# cluster up under the compose limits (ops/cluster), fills it through nginx with bardo-fill
# (closed loop, unique valid bards of the tournament's distribution, a read after each create,
# searches mixed in as the tournament does) until COUNT bards (default 1,000,000) or the first
# KO, sampling every service's memory, the stream's size and each instance's /status at every
# 100,000. Then (TOURNAMENT=1, the default) the tournament's Gatling profile on top of them.
# Prints the per-100k table, bytes per bard per component and the largest count with 0 KO;
# keeps everything in OUT (default /tmp/bardo-records-<time>).
#   WORKERS=64 KEEP=1 (leave the cluster up) TOURNAMENT=0 ops/bench/records.sh 1000000
set -euo pipefail
cd "$(dirname "$0")/../.."
COUNT="${1:-1000000}"
WORKERS="${WORKERS:-64}"
OUT="${OUT:-/tmp/bardo-records-$(date +%Y%m%d-%H%M%S)}"
SHARED="${BARDO_SHARED_DIR:-$(cd .. && pwd)/shared}"
DATA="$SHARED/rinha-2023-q3"
[ -f "$DATA/pessoas-payloads.tsv" ] || DATA=/work/shared/rinha-2023-q3
[ -f "$DATA/pessoas-payloads.tsv" ] || { echo "records: no tournament data in $DATA" >&2; exit 1; }
mkdir -p "$OUT"

echo "records: building release binaries"
cargo build --release --quiet -p bardo -p bardo-load
# The host ports (9999, 15672) and netns site-b are shared with other runs on this machine.
# (The cluster's daemons must not inherit the lock: `8>&-` on everything that starts them.)
exec 8>/tmp/bardo-host-ports.lock
flock 8
ops/cluster down >/dev/null 2>&1 8>&- || true
# A failed run leaves nothing behind (KEEP=1 keeps a cluster that came up).
trap 'status=$?; if [ "$status" != 0 ] || [ "${KEEP:-0}" != 1 ]; then ops/cluster down >/dev/null 2>&1 8>&- || true; fi' EXIT
ops/cluster up 8>&- | tee "$OUT/cluster-up.txt"
python3 ops/bench/sample.py >"$OUT/sample-empty.json"

echo "records: filling to $COUNT bards through nginx with $WORKERS connections (OUT=$OUT)"
started=$SECONDS
target/release/bardo-fill --target http://127.0.0.1:9999 --count "$COUNT" --workers "$WORKERS" \
  --payloads "$DATA/pessoas-payloads.tsv" --terms "$DATA/termos-busca.tsv" \
  --sample-cmd "python3 $PWD/ops/bench/sample.py" | tee "$OUT/fill.jsonl"
echo "records: fill took $((SECONDS - started)) s"
ops/cluster status | tee "$OUT/status-after-fill.txt"

if [ "${TOURNAMENT:-1}" = 1 ]; then
  echo "records: the tournament profile on top of the filled site"
  GATLING_CPUS="${GATLING_CPUS:-0.5}" ON_TOP=1 BARDO_SHARED_DIR="$(dirname "$DATA")" \
    bash stress-test/run-test.sh tournament \
    2>&1 | tee "$OUT/tournament.txt" || echo "records: the tournament run failed (see $OUT/tournament.txt)"
  python3 ops/bench/sample.py >"$OUT/sample-after-tournament.json"
fi

python3 ops/bench/records_report.py "$OUT" | tee "$OUT/report.txt"
