#!/usr/bin/env bash
# Real processes: RabbitMQ, two `bardo serve`, one `bardo replica` on a fresh stream, configured
# only through SPEC's BARDO_* variables; then ops/check_promises.py drives concurrent traffic at
# both instances and checks promises 1-5. Finally an instance restarted from the replica's
# snapshot must reach the same digest. Cleans up after itself.
set -euo pipefail
cd "$(dirname "$0")/.."
bash ops/rabbitmq.sh ensure >/dev/null
cargo build --release --quiet
export BARDO_AMQP_URL="${BARDO_AMQP_URL:-amqp://bardo:bardo-local-only@127.0.0.1:5672/%2f}"
export BARDO_STREAM="check.$(date +%s).$$"
logs="$(mktemp -d)"
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

start() { # name port role [env...]
  local name=$1 port=$2 role=$3; shift 3
  env BARDO_INSTANCE="$name" BARDO_LISTEN="127.0.0.1:$port" BARDO_SNAPSHOT_EVERY_SECONDS=1 "$@" \
    ./target/release/bardo "$role" >"$logs/$name.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 300); do
    curl -fsS "http://127.0.0.1:$port/status" >/dev/null 2>&1 && return
    kill -0 "${pids[-1]}" 2>/dev/null || { cat "$logs/$name.log"; exit 1; }
    sleep 0.1
  done
  echo "$name did not come up"; cat "$logs/$name.log"; exit 1
}

start replica 9103 replica
# The replica of a fresh stream has no snapshot yet (404): api1 must start from the first record.
start api1 9101 serve BARDO_SNAPSHOT_URL=http://127.0.0.1:9103/internal/snapshot
grep -q "no snapshot yet" "$logs/api1.log" || { echo "FAIL api1 did not fall back to the log"; exit 1; }
echo "ok   a replica without a snapshot (404): api1 started from the first record"
start api2 9102 serve
python3 ops/check_promises.py http://127.0.0.1:9101 http://127.0.0.1:9102 http://127.0.0.1:9103 "$@"

sleep 2 # let the replica take a snapshot holding everything
start api3 9104 serve BARDO_SNAPSHOT_URL=http://127.0.0.1:9103/internal/snapshot
digest() { curl -fsS "http://127.0.0.1:$1/status" | python3 -c 'import json,sys; print(json.load(sys.stdin)["digest"])'; }
d1=$(digest 9101); d3=$(digest 9104)
grep -q "snapshot loaded" "$logs/api3.log" || { echo "FAIL api3 did not bootstrap from the snapshot"; exit 1; }
[ "$d1" = "$d3" ] && echo "ok   restarted from snapshot + tail: digest $d3" || { echo "FAIL digest $d3 != $d1"; exit 1; }
