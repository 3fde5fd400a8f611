#!/usr/bin/env bash
# Starts a release `bardo serve` on a free loopback port and runs the independent contract
# test (tests/contract, written from SPEC.md alone) against it.
set -euo pipefail
cd "$(dirname "$0")/.."
port="${BARDO_CONTRACT_PORT:-19999}"
cargo build --release --quiet
log="$(mktemp)"
BARDO_LISTEN="127.0.0.1:${port}" ./target/release/bardo serve >"$log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:${port}/status" >/dev/null 2>&1 && break
  kill -0 "$server" 2>/dev/null || { echo "bardo exited:"; cat "$log"; exit 1; }
  sleep 0.1
done
BARDO_URL="http://127.0.0.1:${port}" python3 -m pytest tests/contract -q -p no:cacheprovider
