#!/usr/bin/env bash
# The whole HTTP benchmark, reproducibly: build, then for each layout (one core: server on
# CPU 0 with 1 worker, wrk on CPU 1; both cores: 2 workers, wrk sharing the cores) and each
# scenario (post, mixed) start a fresh standalone server, warm up, measure, stop it.
# Prints a summary table; exits non-zero if the server fails to start, dies, or answers 5xx.
#
#   ops/bench/http.sh                      # everything (≈ 4 × (WARMUP + DURATION) s + build)
#   LAYOUTS=one-core SCENARIOS=post ops/bench/http.sh
#
# Environment: BENCH_PORT (default 9999; must be free), DURATION (s, default 20),
# WARMUP (s, default 5), CONNECTIONS (default 64), LAYOUTS ("one-core two-cores"),
# SCENARIOS ("post mixed"), NO_BUILD=1 to skip the build, BARDO_BIN (default
# ./target/release/bardo), RINHA_DATA_DIR for mixed.lua.
set -euo pipefail

cd "$(dirname "$0")/../.."
readonly BENCH_DIR=ops/bench
readonly PORT=${BENCH_PORT:-9999}
readonly URL="http://127.0.0.1:${PORT}"
readonly DURATION=${DURATION:-20}
readonly WARMUP=${WARMUP:-5}
readonly CONNECTIONS=${CONNECTIONS:-64}
readonly LAYOUTS=${LAYOUTS:-one-core two-cores}
readonly SCENARIOS=${SCENARIOS:-post mixed}
# A copy keeps every run on one binary while others rebuild the shared target dir.
readonly BARDO_BIN=${BARDO_BIN:-./target/release/bardo}
RUN_DIR=$(mktemp -d /tmp/bardo-http-bench.XXXXXX)
readonly RUN_DIR
SERVER_PID=""
FAILED=0

stop_server() {
  if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID"
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  SERVER_PID=""
}
trap stop_server EXIT

require_tools() {
  command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk" >&2; exit 2; }
  command -v curl >/dev/null || { echo "curl is missing" >&2; exit 2; }
  if curl -s -o /dev/null "$URL/status"; then
    echo "something already listens on $URL; set BENCH_PORT to a free port" >&2
    exit 2
  fi
}

# $1 layout, $2 log file. Waits until /status answers; fails if the server exits first.
start_server() {
  local layout=$1 log=$2 pin workers
  if [[ $layout == one-core ]]; then pin="taskset -c 0"; workers=1; else pin=""; workers=2; fi
  BARDO_LISTEN="127.0.0.1:${PORT}" BARDO_WORKERS=$workers RUST_LOG=${RUST_LOG:-warn} \
    $pin nice -n 5 "$BARDO_BIN" serve >"$log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 100); do
    if curl -s -o /dev/null "$URL/status"; then return 0; fi
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then break; fi
    sleep 0.1
  done
  echo "server did not come up ($layout); log:" >&2
  tail -20 "$log" >&2
  exit 1
}

# $1 layout, $2 scenario, $3 tag (unique apelidos per wrk run), $4 seconds, $5 output file.
run_wrk() {
  local layout=$1 scenario=$2 tag=$3 seconds=$4 out=$5 pin threads
  if [[ $layout == one-core ]]; then pin="taskset -c 1"; threads=1; else pin=""; threads=2; fi
  BENCH_TAG=$tag $pin nice -n 5 wrk -t"$threads" -c"$CONNECTIONS" -d"${seconds}s" --latency \
    -s "$BENCH_DIR/$scenario.lua" "$URL" >"$out" 2>&1
}

# CPU seconds (user + system) the server used so far: on a shared machine, requests per
# server CPU-second tells what a dedicated core would do.
server_cpu_seconds() {
  awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$SERVER_PID/stat"
}

# Peak RSS of the server so far, in MiB.
server_peak_mib() {
  awk '/^VmHWM:/ { printf "%.0f", $2 / 1024 }' "/proc/$SERVER_PID/status" 2>/dev/null || echo "?"
}

# $1 layout, $2 scenario: one fresh server, warm-up, measured run, checks.
bench_one() {
  local layout=$1 scenario=$2 name="$1-$2"
  local log="$RUN_DIR/$name.server.log" out="$RUN_DIR/$name.wrk.txt"
  echo "== $name: warm-up ${WARMUP}s, measure ${DURATION}s, $CONNECTIONS connections"
  start_server "$layout" "$log"
  run_wrk "$layout" "$scenario" w "$WARMUP" "$RUN_DIR/$name.warmup.txt"
  local cpu_before cpu_used peak
  cpu_before=$(server_cpu_seconds)
  run_wrk "$layout" "$scenario" m "$DURATION" "$out"
  cpu_used=$(awk -v a="$cpu_before" -v b="$(server_cpu_seconds)" 'BEGIN { printf "%.1f", b - a }')
  peak=$(server_peak_mib)
  if ! kill -0 "$SERVER_PID" 2>/dev/null; then
    echo "server died during $name; log tail:" >&2
    tail -20 "$log" >&2
    FAILED=1
  fi
  stop_server
  grep -E '^(RESULT|STATUS|ISSUED)' "$out" | sed "s/^/  /"
  local result
  result=$(grep '^RESULT' "$out" || echo "RESULT missing")
  echo "$layout $scenario $peak $cpu_used $result" >>"$RUN_DIR/summary.txt"
  if [[ $result != *"status_5xx=0"* ]]; then FAILED=1; fi
}

# One table row per run: layout, scenario, req/s, latency percentiles, errors, peak RSS.
print_summary() {
  echo
  echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')  commit: $(git rev-parse --short HEAD)" \
    "$(git diff --quiet HEAD -- src actors 2>/dev/null || echo '(src/actors modified)')"
  echo "binary: $BARDO_BIN, built $(date -u -r "$BARDO_BIN" '+%Y-%m-%d %H:%M:%S UTC')"
  echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)," \
    "load average now: $(cut -d' ' -f1-3 /proc/loadavg)"
  printf '%-10s %-7s %8s %8s %9s %8s %8s %8s %8s %6s %4s %8s\n' layout scenario "req/s" \
    "srv CPUs" "req/CPU-s" "p50 ms" "p90 ms" "p99 ms" "max ms" errors 5xx "peak MiB"
  while read -r layout scenario peak cpu _ fields; do
    declare -A f=()
    for pair in $fields; do f[${pair%%=*}]=${pair#*=}; done
    awk -v l="$layout" -v s="$scenario" -v r="${f[rps]:-0}" -v n="${f[requests]:-0}" \
      -v t="${f[seconds]:-1}" -v cpu="$cpu" -v a="${f[p50_us]:-0}" -v b="${f[p90_us]:-0}" \
      -v c="${f[p99_us]:-0}" -v d="${f[max_us]:-0}" -v e="${f[errors]:-?}" \
      -v x="${f[status_5xx]:-?}" -v p="$peak" 'BEGIN {
        printf "%-10s %-7s %8s %8.2f %9.0f %8.2f %8.2f %8.2f %8.2f %6s %4s %8s\n", l, s, r,
          cpu / t, (cpu > 0 ? n / cpu : 0), a / 1000, b / 1000, c / 1000, d / 1000, e, x, p }'
    unset f
  done <"$RUN_DIR/summary.txt"
  echo "srv CPUs: server CPU time / wall time (1.00 = one full core); req/CPU-s: requests per" \
    "server CPU-second, what a dedicated core would do when the machine is shared"
  echo "raw wrk output and server logs: $RUN_DIR"
}

main() {
  require_tools
  if [[ -z ${NO_BUILD:-} ]]; then nice -n 5 cargo build --release; fi
  for layout in $LAYOUTS; do
    for scenario in $SCENARIOS; do
      bench_one "$layout" "$scenario"
    done
  done
  print_summary
  if ((FAILED)); then
    echo "FAILED: the server died or answered 5xx (see above)" >&2
    exit 1
  fi
}

main "$@"
