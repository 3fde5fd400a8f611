#!/usr/bin/env bash
# ops/drills/run-all.sh [--fast] [DRILL...] — runs every fault drill (or the named ones: kill_api1
# broker_restart kill_replica partition_site_b oom_api1, and on three brokers leader_kill
# partition_broker lose_site_a), prints the results table and writes it
# into ops/drills/RESULTS.md (section full or fast). --fast: a few seconds of load each (the test
# command). Exits non-zero if anything acknowledged is lost, a count or digest differs, or an
# answer other than 201/400/422/503 (create) / 200, 503 (read-back) / 200 (search) appears.
set -euo pipefail
cd "$(dirname "$0")/../.."
mode=full args=()
if [ "${1:-}" = --fast ]; then mode=fast args=(--fast); shift; fi
drills=("$@")
[ ${#drills[@]} -gt 0 ] ||
  drills=(kill_api1 broker_restart kill_replica partition_site_b oom_api1 leader_kill partition_broker lose_site_a)
[ "$(id -u)" = 0 ] || { echo "run-all.sh: must run as root (ops/cluster: cgroups, netns)" >&2; exit 1; }
bash ops/rabbitmq.sh ensure >/dev/null
cargo build --release --quiet -p bardo -p bardo-load
out="${BARDO_CLUSTER_RUN:-/tmp/bardo-drills}/results"
rm -rf "$out" && mkdir -p "$out"
started=$SECONDS failed=0 files=()
for drill in "${drills[@]}"; do
  files+=("$out/$drill.json")
  python3 "ops/drills/$drill.py" "${args[@]}" --out "$out/$drill.json" >"$out/$drill.log" 2>&1 || failed=1
  grep -E '^\[' "$out/$drill.log" | tail -n 3
done
python3 ops/drills/report.py "$mode" $((SECONDS - started)) "${files[@]}" || failed=1
verdict=passed; [ "$failed" = 0 ] || verdict=FAILED
echo "run-all.sh: $mode drills $verdict in $((SECONDS - started)) s (logs: $out)"
exit "$failed"
