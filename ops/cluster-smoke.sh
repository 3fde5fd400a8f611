#!/usr/bin/env bash
# ops/cluster-smoke.sh — the native cluster (ops/cluster) end to end: up, creates and reads through
# nginx, count and digest agree on api1, api2 and the replica, /internal/ is not served through
# nginx, the cgroup limits match docker-compose.yml, the WAN RTT from site B is measured; down.
set -euo pipefail
cd "$(dirname "$0")/.."
RUN="${BARDO_CLUSTER_RUN:-/tmp/bardo-cluster}"
PORT="${BARDO_CLUSTER_PORT:-9999}"
API1="http://127.0.0.1:${BARDO_CLUSTER_API1_PORT:-9111}"
API2="http://127.0.0.1:${BARDO_CLUSTER_API2_PORT:-9112}"
REPLICA="http://10.77.0.2:9999"
NGINX="http://127.0.0.1:$PORT"
fails=0
ok() { echo "ok   $*"; }
fail() { echo "FAIL $*"; fails=$((fails + 1)); }

trap 'ops/cluster down' EXIT
ops/cluster up >"$RUN.smoke-up.log" 2>&1 || { cat "$RUN.smoke-up.log"; echo "FAIL ops/cluster up"; exit 1; }
ok "ops/cluster up"

# 1. cgroup limits are the ones in docker-compose.yml
while read -r svc quota period mem; do
  cpu_dir=$(awk '$1 == "cpu" { print $2 }' "$RUN/cgroups")/$svc
  mem_dir=$(awk '$1 == "memory" { print $2 }' "$RUN/cgroups")/$svc
  got="$(cat "$cpu_dir/cpu.cfs_quota_us")/$(cat "$cpu_dir/cpu.cfs_period_us") $(cat "$mem_dir/memory.limit_in_bytes")"
  [ "$got" = "$quota/$period $mem" ] && [ -n "$(cat "$cpu_dir/cgroup.procs")" ] && [ -n "$(cat "$mem_dir/cgroup.procs")" ] &&
    ok "$svc in its cgroups: cpu quota $quota/$period us, memory $((mem >> 20)) MiB" ||
    fail "$svc cgroups: got $got, want $quota/$period $mem (or the group is empty)"
done <"$RUN/limits"

# 2. creates and reads through nginx
tag="smoke$(date +%s)$$"
locations=()
for i in 1 2 3 4 5; do
  body=$(printf '{"apelido":"%s-%d","nome":"Smoke Bard %d","nascimento":"2000-01-0%d","stack":["Rust","Go"]}' "$tag" "$i" "$i" "$i")
  loc=$(curl -sS -o /dev/null -w '%{http_code} %header{location}' -XPOST "$NGINX/bards" -H 'content-type: application/json' -d "$body")
  if [ "${loc%% *}" = 201 ]; then locations+=("${loc#* }"); else fail "POST /bards through nginx: $loc"; fi
done
[ "${#locations[@]}" = 5 ] && ok "5 POST /bards through nginx: 201 with Location"
for loc in "${locations[@]}"; do
  code=$(curl -sS -o /dev/null -w '%{http_code}' "$NGINX$loc")
  [ "$code" = 200 ] || fail "GET $loc through nginx: $code"
done
ok "GET Location through nginx: 200 for all ${#locations[@]}"
# SPEC: a bard is searchable within 1 s of its 201 (the index commits every 100 ms).
for attempt in $(seq 1 10); do
  found=$(curl -sS "$NGINX/bards?t=$tag" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
  [ "$found" = 5 ] && break
  sleep 0.1
done
[ "$found" = 5 ] && ok "search through nginx finds the 5 bards (attempt $attempt, within 1 s)" ||
  fail "search through nginx found $found within 1 s, want 5"

# 3. count and digest converge on api1, api2 and the replica
status() { curl -fsS -m 3 "$1/status" | python3 -c 'import json,sys; s=json.load(sys.stdin); print(s["counts"]["bards"], s["digest"])'; }
converged=""
for _ in $(seq 1 50); do
  c1=$(curl -fsS "$API1/contagem-bards"); c2=$(curl -fsS "$API2/contagem-bards"); c3=$(curl -fsS "$REPLICA/contagem-bards")
  s1=$(status "$API1"); s2=$(status "$API2"); s3=$(status "$REPLICA")
  if [ "$c1" = "$c2" ] && [ "$c2" = "$c3" ] && [ "$s1" = "$s2" ] && [ "$s2" = "$s3" ] && [ "$c1" -ge 5 ]; then converged=1; break; fi
  sleep 0.2
done
[ -n "$converged" ] && ok "count $c1 and digest ${s1#* } agree on api1, api2 and the replica" ||
  fail "no convergence: counts $c1/$c2/$c3, status '$s1' / '$s2' / '$s3'"
for loc in "${locations[@]}"; do
  code=$(curl -sS -o /dev/null -w '%{http_code}' "$REPLICA$loc")
  [ "$code" = 200 ] || fail "GET $loc on the replica: $code"
done
ok "the replica (site B) serves every created bard"

# 4. /internal/ (and /metrics, scraped per instance) is not reachable through nginx
for path in /internal/snapshot //internal/snapshot /%69nternal/snapshot /bards/../internal/snapshot \
  /internal/ /internal/snapshot?x=1 /./internal/snapshot /metrics /metrics?x=1; do
  code=$(curl -sS --path-as-is -o "$RUN.smoke-body" -w '%{http_code}' "$NGINX$path")
  type=$(file -b --mime-type "$RUN.smoke-body" 2>/dev/null || echo ?)
  [ "$code" = 404 ] || [ "$code" = 403 ] && ! grep -q 'msgpack' <<<"$type" &&
    ok "nginx $path -> $code (not served)" || fail "nginx $path -> $code"
done
code=$(curl -sS -o /dev/null -w '%{http_code}' "$REPLICA/internal/snapshot")
[ "$code" = 200 ] || [ "$code" = 404 ] && ok "the replica answers /internal/snapshot directly ($code; 404 = no snapshot taken yet)" ||
  fail "replica /internal/snapshot directly: $code"

# 5. the WAN between the sites, measured from site B
command -v ping >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iputils-ping >/dev/null; }
rtt=$(ip netns exec site-b ping -c 20 -i 0.1 -q 10.77.0.1 | awk -F'[/ ]' '/^rtt|^round-trip/ { print $7 " " $8 " " $9 }')
read -r min avg max <<<"$rtt"
delay=${BARDO_WAN_DELAY_MS:-1.0}
awk -v a="$avg" -v d="$delay" 'BEGIN { exit !(a >= 2 * d * 0.9) }' &&
  ok "ping site-b -> 10.77.0.1: rtt min/avg/max $min/$avg/$max ms (2 x ${delay} ms configured, $(cat "$RUN/wan.mode"))" ||
  fail "ping site-b -> 10.77.0.1: rtt avg ${avg:-?} ms, want >= $(awk -v d="$delay" 'BEGIN { print 2 * d }') ms"
tcp=$(ip netns exec site-b python3 -c '
import socket, statistics, time
samples = []
for _ in range(20):
    t = time.perf_counter(); s = socket.create_connection(("10.77.0.1", 5672)); samples.append((time.perf_counter() - t) * 1000); s.close()
print("%.2f" % statistics.median(samples))')
ok "TCP connect site-b -> RabbitMQ 10.77.0.1:5672: median $tcp ms (one RTT)"
rm -f "$RUN.smoke-body"

if [ "$fails" -gt 0 ]; then echo "cluster-smoke: $fails check(s) failed"; ops/cluster status || true; exit 1; fi
echo "cluster-smoke: all checks passed"
