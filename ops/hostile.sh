#!/usr/bin/env bash
# Hostile input over real HTTP against a release `bardo serve` (the in-process cases live in
# tests/hostile.rs): 1 MB and 100 MB bodies (Content-Length and chunked) must get 413 while the
# server's memory stays flat (peak RSS growth < 50 MB), over-long URIs and bad framing must get
# a 4xx, nothing may be stored, and the server must still answer afterwards.
# Usage: ops/hostile.sh   (BARDO_HOSTILE_PORT, default 9981; BARDO_BIN skips the build)
set -euo pipefail
cd "$(dirname "$0")/.."
port="${BARDO_HOSTILE_PORT:-9981}"
url="http://127.0.0.1:${port}"
bin="${BARDO_BIN:-./target/release/bardo}"
[[ -n "${BARDO_BIN:-}" ]] || cargo build --release --quiet
work="$(mktemp -d)"
BARDO_LISTEN="127.0.0.1:${port}" "$bin" serve >"$work/log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do
  curl -fsS "$url/status" >/dev/null 2>&1 && break
  kill -0 "$server" 2>/dev/null || { echo "bardo exited:"; cat "$work/log"; exit 1; }
  sleep 0.1
done

kb() { awk -v key="$1:" '$1 == key { print $2 }' "/proc/$server/status"; }
failures=0
# check NAME ALLOWED-STATUSES CURL-ARGS...: one request, its status must be in the list.
check() {
  local name="$1" allowed="$2" status
  shift 2
  status="$(curl -sS -o /dev/null -w '%{http_code}' --max-time 60 "$@" 2>/dev/null || true)"
  status="${status:-000}"
  if [[ " $allowed " == *" ${status: -3} "* ]]; then printf '%s  %s\n' "${status: -3}" "$name"
  else printf '%s  %s   FAIL (expected %s)\n' "${status: -3}" "$name" "$allowed"; failures=$((failures + 1)); fi
}
json=(-H 'Content-Type: application/json')

curl -fsS "$url/contagem-bards" >/dev/null
count_before="$(curl -fsS "$url/contagem-bards")"
rss_before="$(kb VmRSS)"
head -c $((1024 * 1024)) /dev/zero | tr '\0' 'a' >"$work/1mb"
truncate -s 100M "$work/100mb"

check "1 MB body, Content-Length" "413" "${json[@]}" --data-binary @"$work/1mb" "$url/bards"
check "1 MB body, chunked" "413" "${json[@]}" -H 'Transfer-Encoding: chunked' --data-binary @"$work/1mb" "$url/bards"
check "100 MB body, Content-Length" "413" "${json[@]}" --data-binary @"$work/100mb" "$url/bards"
check "100 MB body, chunked from a pipe" "413" "${json[@]}" -H 'Transfer-Encoding: chunked' -T - -X POST "$url/bards" \
  < <(head -c $((100 * 1024 * 1024)) /dev/zero)
for _ in 1 2 3; do
  check "100 MB body, chunked, again" "413" "${json[@]}" -H 'Transfer-Encoding: chunked' -T - -X POST "$url/bards" \
    < <(head -c $((100 * 1024 * 1024)) /dev/zero)
done
check "Content-Length: 99999999999999999999999, small body" "400 413" "${json[@]}" \
  -H 'Content-Length: 99999999999999999999999' --data-binary '{}' "$url/bards"
check "Content-Length: -1" "400 413" "${json[@]}" -H 'Content-Length: -1' --data-binary '{}' "$url/bards"
check "GET /bards/<100,000-char id>" "400 404 414 431" "$url/bards/$(head -c 100000 /dev/zero | tr '\0' 'a')"
check "GET /bards?t=<100 KB>" "200 400 414 431" "$url/bards?t=$(head -c 102400 /dev/zero | tr '\0' 'a')"
check "GET /bards?t=<10 KB>" "200" "$url/bards?t=$(head -c 10240 /dev/zero | tr '\0' 'a')"
check "GET /bards/../internal/snapshot (raw path)" "404" --path-as-is "$url/bards/../internal/snapshot"
check "GET /bards/%2e%2e/status (raw path)" "404" --path-as-is "$url/bards/%2e%2e/status"

rss_peak="$(kb VmHWM)"
rss_after="$(kb VmRSS)"
count_after="$(curl -fsS "$url/contagem-bards")"
growth_mb=$(((rss_peak - rss_before) / 1024))
printf '\nRSS before %s MB, after %s MB, peak %s MB (peak growth %s MB); count %s -> %s\n' \
  $((rss_before / 1024)) $((rss_after / 1024)) $((rss_peak / 1024)) "$growth_mb" "$count_before" "$count_after"
kill -0 "$server" || { echo "FAIL: the server died"; exit 1; }
curl -fsS "$url/status" >/dev/null || { echo "FAIL: the server no longer answers"; exit 1; }
[[ "$growth_mb" -lt 50 ]] || { echo "FAIL: peak RSS grew by ${growth_mb} MB (limit 50)"; failures=$((failures + 1)); }
[[ "$count_after" == "$count_before" ]] || { echo "FAIL: a hostile request was stored"; failures=$((failures + 1)); }
[[ "$failures" -eq 0 ]] || { echo "ops/hostile.sh: $failures failure(s)"; exit 1; }
echo "ops/hostile.sh: all hostile HTTP cases passed"
