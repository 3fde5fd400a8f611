#!/usr/bin/env bash
# Broker cost and create latency through RabbitMQ with two api instances and the replica (three
# stream consumers, as deployed). Usage: ops/bench/broker.sh RATE SECONDS RECORD_INTERVAL_MS
#   RATE creates/s (0 = saturate with 64 connections). Prints one JSON line: creates/s, latency
#   percentiles (from each request's scheduled time), broker CPU (cores and ms per create, from
#   /proc of beam.smp), api CPU, and the group-commit factor (events per log record).
set -euo pipefail
cd "$(dirname "$0")/../.."
rate=${1:-600}; seconds=${2:-30}; interval=${3:-0}
bash ops/rabbitmq.sh ensure >/dev/null
cargo build --release --quiet -p bardo -p bardo-load
export BARDO_AMQP_URL="${BARDO_AMQP_URL:-amqp://bardo:bardo-local-only@127.0.0.1:5672/%2f}"
export BARDO_STREAM="bench.$(date +%s).$$" BARDO_RECORD_INTERVAL_MS="$interval"
logs="$(mktemp -d)"; pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true' EXIT
start() { # name port role
  BARDO_INSTANCE=$1 BARDO_LISTEN="127.0.0.1:$2" ./target/release/bardo "$3" >"$logs/$1.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 300); do curl -fsS "http://127.0.0.1:$2/status" >/dev/null 2>&1 && return; sleep 0.1; done
  cat "$logs/$1.log"; exit 1
}
start api1 9201 serve; start api2 9202 serve; start replica 9203 replica
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
beam=$(pgrep -f beam.smp | head -1)
api_ticks() { echo $(( $(ticks "${pids[0]}") + $(ticks "${pids[1]}") )); }
b0=$(ticks "$beam"); a0=$(api_ticks); t0=$(date +%s.%N)
result=$(./target/release/bardo-load --target http://127.0.0.1:9201 --target http://127.0.0.1:9202 \
  --rate "$rate" --seconds "$seconds" --read-back)
b1=$(ticks "$beam"); a1=$(api_ticks); t1=$(date +%s.%N)
status=$(curl -fsS http://127.0.0.1:9201/status)
python3 - "$result" "$status" "$b0" "$b1" "$a0" "$a1" "$t0" "$t1" "$rate" "$interval" <<'PY'
import json, os, sys
result, status = json.loads(sys.argv[1]), json.loads(sys.argv[2])
b0, b1, a0, a1 = (int(x) for x in sys.argv[3:7]); t0, t1 = float(sys.argv[7]), float(sys.argv[8])
hz, wall = os.sysconf("SC_CLK_TCK"), float(sys.argv[8]) - float(sys.argv[7])
broker_s, api_s = (b1 - b0) / hz, (a1 - a0) / hz
log = status["log"]
print(json.dumps({
    "rate_asked": int(sys.argv[9]), "record_interval_ms": int(sys.argv[10]),
    "creates_per_second": round(result["creates_per_second"], 1), "statuses": result["statuses"],
    "read_back_misses": result["read_back_misses"], "latency_ms": result["latency_ms"],
    "broker_cores": round(broker_s / wall, 3),
    "broker_cpu_ms_per_create": round(1e3 * broker_s / max(result["creates"], 1), 3),
    "api_cores_both": round(api_s / wall, 3),
    "api1_events_per_record": round(log["events_published"] / max(log["records_published"], 1), 2),
}))
PY
