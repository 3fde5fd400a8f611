#!/usr/bin/env bash
# ops/compose-up.sh [smoke|up|down|bench [PROFILE]|stats] — the tournament deliverable run for
# real: docker-compose.yml and the Dockerfile, unchanged, on a Docker engine on this machine
# (ops/docker-engine.sh ensure: engine, Compose v2, local base images).
#   smoke   (default) `docker compose up --build -d --wait`, checks through nginx on :9999 (create,
#           read on both instances, search, count, /internal/ hidden, replica converged, limits as
#           in the file, RabbitMQ UI with the compose credentials and not with guest), the bad
#           states (no password, port 9999 taken), then `docker compose down -v`.
#   up      the same `up`, left running;  down: `docker compose down -v`.
#   bench   up, the Gatling profile (default tournament) with Gatling outside the containers in a
#           0.5-CPU cgroup (GATLING_CPUS), each container's peak memory and CPU throttling, down.
#   stats   each container's CPU, throttling and memory (peak) from its cgroup v1 files.
# Needs RABBITMQ_PASSWORD (URL-safe: it is part of the APIs' AMQP URL), as `docker compose up` does.
# Ports 9999 and 15672 are shared with the native cluster (ops/cluster): everything that binds them
# runs under the lock /tmp/bardo-host-ports.lock. When the host's own RabbitMQ (ops/rabbitmq.sh,
# shared, never stopped here) holds 127.0.0.1:15672, the UI is published on another loopback port
# for this run through ops/docker/compose.ui-port.yml (the file itself keeps 15672).
set -euo pipefail
cd "$(dirname "$0")/.."
RUN="${BARDO_COMPOSE_RUN:-/tmp/bardo-compose}"
WAIT="${BARDO_COMPOSE_TIMEOUT:-600}"
NICE=(nice -n "${BARDO_NICE:-10}")
USER_NAME="${RABBITMQ_USER:-bardo}"
COMPOSE=(docker compose -f docker-compose.yml)
UI_PORT=15672
fails=0

say() { echo "compose-up: $*"; }
die() { echo "compose-up: ERROR: $*" >&2; exit 1; }
ok() { echo "ok   $*"; }
fail() { echo "FAIL $*"; fails=$((fails + 1)); }
dc() { "${COMPOSE[@]}" "$@"; }

listener() { ss -Hltnp "( sport = :$1 )" 2>/dev/null | head -1; }

lock_ports() {
  exec 8>/tmp/bardo-host-ports.lock
  flock -n 8 || { say "waiting for the host ports lock (ops/cluster or a benchmark holds 9999/15672)"; flock 8; }
}

need_password() {
  [ -n "${RABBITMQ_PASSWORD:-}" ] ||
    die "RABBITMQ_PASSWORD is not set: docker-compose.yml has no default for it (never guest/guest); e.g. RABBITMQ_PASSWORD=\$(openssl rand -hex 16) $0 ${1:-smoke}"
  [[ "$RABBITMQ_PASSWORD" =~ ^[A-Za-z0-9._~-]+$ ]] ||
    die "RABBITMQ_PASSWORD holds characters that are not URL-safe (it goes into amqp://user:password@...): use A-Z a-z 0-9 . _ ~ -"
}

# Port 9999 must be free (a clear error, not Docker's bind failure halfway through `up`); for
# 15672 taken by the host's broker, the UI moves to a free loopback port for this run.
preflight_ports() {
  local taken
  taken=$(listener 9999)
  [ -z "$taken" ] || die "port 9999 is taken: ${taken##* } — stop it first (the native cluster: ops/cluster down)"
  taken=$(listener 15672)
  [ -z "$taken" ] && return 0
  for UI_PORT in $(seq 15673 15699); do [ -z "$(listener "$UI_PORT")" ] && break; done
  export BARDO_COMPOSE_UI_PORT=$UI_PORT
  COMPOSE+=(-f ops/docker/compose.ui-port.yml)
  say "note: 15672 is taken (${taken##* }, the host's own RabbitMQ); the compose UI is on 127.0.0.1:$UI_PORT for this run"
}

# A host whose hard open-files limit is below the file's nofile and that cannot raise it (no
# CAP_SYS_RESOURCE, as on this machine) gets the host's limit through ops/docker/compose.nofile.yml.
preflight_nofile() {
  local want hard
  want=$(dc config --format json | python3 -c '
import json, sys
svcs = json.load(sys.stdin)["services"].values()
print(max([int(s.get("ulimits", {}).get("nofile", {}).get("hard", 0)) for s in svcs]))')
  hard=$(ulimit -Hn)
  if [ "$hard" = unlimited ] || [ "$hard" -ge "$want" ] || (ulimit -Hn "$want") 2>/dev/null; then return 0; fi
  export BARDO_COMPOSE_NOFILE=$hard
  COMPOSE+=(-f ops/docker/compose.nofile.yml)
  say "note: open files are capped at $hard here (hard limit, no CAP_SYS_RESOURCE to raise it): the file's nofile $want becomes $hard for this run"
}

# ---------------------------------------------------------------- up / down
# fresh_up: the image built by the engine (timed apart; no host port needed), then under the
# ports lock `down -v` (the broker's tmpfs, so the log, starts empty) and `up --build -d --wait`
# until every healthcheck passes.
fresh_up() {
  mkdir -p "$RUN"
  bash ops/docker-engine.sh ensure 8>&-
  preflight_nofile
  if [ -n "${BARDO_COMPOSE_OVERRIDE:-}" ]; then # experiments only: a run with it is not the file's
    COMPOSE+=(-f "$BARDO_COMPOSE_OVERRIDE")
    say "EXPERIMENT: docker-compose.yml overridden by $BARDO_COMPOSE_OVERRIDE for this run"
  fi
  export BARDO_GIT_COMMIT="${BARDO_GIT_COMMIT:-$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)}"
  local started=$SECONDS
  say "docker compose build (BuildKit on the engine; log $RUN/build.log)"
  "${NICE[@]}" "${COMPOSE[@]}" --progress plain build >"$RUN/build.log" 2>&1 ||
    { tail -40 "$RUN/build.log" >&2; die "docker compose build failed (full log $RUN/build.log)"; }
  BUILD_S=$((SECONDS - started))
  say "image bardo:local built in $BUILD_S s"
  lock_ports # from here on, host ports are bound
  dc down -v --remove-orphans >"$RUN/down.log" 2>&1 || true
  preflight_ports
  started=$SECONDS
  if ! "${NICE[@]}" "${COMPOSE[@]}" --progress plain up --build -d --wait --wait-timeout "$WAIT" >"$RUN/up.log" 2>&1; then
    tail -30 "$RUN/up.log" >&2
    dc ps -a >&2 || true
    dc logs --tail 20 >&2 || true
    die "docker compose up did not get every service healthy (full log $RUN/up.log)"
  fi
  UP_S=$((SECONDS - started))
  say "up --build -d --wait: every service healthy after $UP_S s"
  dc ps --format 'table {{.Service}}\t{{.Image}}\t{{.Status}}\t{{.Ports}}'
}

cmd_down() {
  dc down -v --remove-orphans 2>&1 | tail -3
  say "down (containers, networks and volumes removed; the engine keeps running: ops/docker-engine.sh down)"
}

# ---------------------------------------------------------------- reading the site
# inside SERVICE PATH: GET PATH inside that container with bash's /dev/tcp, as its healthcheck
# does (the instances publish no port). Prints the status code; the body goes to $RUN/body.
inside() {
  dc exec -T "$1" bash -c 'exec 3<>/dev/tcp/127.0.0.1/9999 && printf "GET %s HTTP/1.0\r\n\r\n" "$0" >&3 && cat <&3' \
    "$2" >"$RUN/raw" 2>/dev/null || { echo 000; return 0; }
  python3 - "$RUN/raw" "$RUN/body" <<'PY'
import sys
head, _, body = open(sys.argv[1], "rb").read().partition(b"\r\n\r\n")
open(sys.argv[2], "wb").write(body)
parts = head.split(b" ")
print(parts[1].decode() if len(parts) > 1 else "000")
PY
}

# status_of SERVICE: "count digest" from that instance's /status.
status_of() {
  [ "$(inside "$1" /status)" = 200 ] || { echo "unreachable"; return 0; }
  python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); print(s["counts"]["bards"], s["digest"])' "$RUN/body"
}

# cgroup_dir SERVICE CONTROLLER: the container's cgroup v1 directory for that controller.
cgroup_dir() {
  local pid rel
  pid=$(docker inspect --format '{{.State.Pid}}' "$(dc ps -q "$1")" 2>/dev/null) || return 1
  rel=$(awk -F: -v c="$2" '{ n = split($2, a, ","); for (i = 1; i <= n; i++) if (a[i] == c) print $3 }' "/proc/$pid/cgroup")
  [ -n "$rel" ] && echo "/sys/fs/cgroup/$2$rel"
}

# ---------------------------------------------------------------- smoke checks
NGINX=http://127.0.0.1:9999

check_limits() {
  local svc want got cpu mem
  while read -r svc want; do
    cpu=$(cgroup_dir "$svc" cpu) && mem=$(cgroup_dir "$svc" memory) || { fail "$svc: no container cgroup"; continue; }
    got="$(cat "$cpu/cpu.cfs_quota_us")/$(cat "$cpu/cpu.cfs_period_us") $(cat "$mem/memory.limit_in_bytes")"
    [ "$got" = "$want" ] && ok "$svc limits from the engine's cgroup: cpu quota/period $got bytes" ||
      fail "$svc cgroup: cpu quota/period + memory $got, docker-compose.yml says $want"
  done < <(dc config --format json | python3 -c '
import json, sys
for name, svc in json.load(sys.stdin)["services"].items():
    lim = svc["deploy"]["resources"]["limits"]
    print(name, "%d/100000 %s" % (round(float(lim["cpus"]) * 100000), lim["memory"]))')
  [ "$(dc exec -T api1 id -u)" = 10001 ] && ok "api1 runs as uid 10001 (user bardo), not root" || fail "api1 is not uid 10001"
  got=$(curl -sS -m 5 "$NGINX/status" | python3 -c '
import json, sys
s = json.load(sys.stdin)
print(s.get("git_commit") or s.get("identity", {}).get("git_commit"))')
  [ "$got" = "$BARDO_GIT_COMMIT" ] && ok "/status through nginx shows the commit built into the image ($got)" ||
    fail "/status git_commit '$got', built from $BARDO_GIT_COMMIT"
}

check_creates() {
  local tag i out loc svc missing=0
  tag="compose$(date +%s)$$"
  LOCATIONS=()
  for i in 1 2 3 4; do
    out=$(curl -sS -m 10 -o /dev/null -w '%{http_code} %header{location}' -XPOST "$NGINX/bards" -H 'content-type: application/json' \
      -d "$(printf '{"apelido":"%s-%d","nome":"Compose Bard %d","nascimento":"1999-12-0%d","stack":["Rust","Erlang"]}' "$tag" "$i" "$i" "$i")")
    if [ "${out%% *}" = 201 ]; then LOCATIONS+=("${out#* }"); else fail "POST /bards through nginx: $out"; fi
  done
  [ ${#LOCATIONS[@]} = 4 ] && ok "4 POST /bards through nginx :9999: 201 with Location"
  for svc in api1 api2; do
    for loc in "${LOCATIONS[@]}"; do [ "$(inside "$svc" "$loc")" = 200 ] || { fail "GET $loc on $svc"; missing=1; }; done
  done
  [ $missing = 0 ] && ok "each created bard reads 200 on api1 and on api2 (one of them did not create it)"
  for i in $(seq 1 10); do # SPEC: searchable within 1 s of the 201
    out=$(curl -sS -m 5 "$NGINX/bards?t=$tag" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
    [ "$out" = 4 ] && break
    sleep 0.1
  done
  [ "$out" = 4 ] && ok "search through nginx finds the 4 bards (attempt $i, within 1 s)" || fail "search found ${out:-?}, want 4"
  out=$(curl -sS -m 5 "$NGINX/contagem-bards")
  [ "$out" = 4 ] && ok "GET /contagem-bards through nginx: 4 (a fresh site: exactly the 201s)" || fail "count $out, want 4"
}

check_hidden() {
  local path code
  for path in /internal/snapshot //internal/snapshot /%69nternal/snapshot /bards/../internal/snapshot /internal/ /metrics; do
    code=$(curl -sS -m 5 --path-as-is -o /dev/null -w '%{http_code}' "$NGINX$path")
    [ "$code" = 404 ] || [ "$code" = 403 ] && ok "nginx $path -> $code (not served)" || fail "nginx $path -> $code"
  done
  code=$(inside replica /internal/snapshot)
  [ "$code" = 200 ] || [ "$code" = 404 ] && ok "the replica itself answers /internal/snapshot ($code; 404 = none taken yet)" ||
    fail "replica /internal/snapshot: $code"
}

check_converged() {
  local s1 s2 s3 loc
  for _ in $(seq 1 50); do
    s1=$(status_of api1) s2=$(status_of api2) s3=$(status_of replica)
    [ "$s1" = "$s2" ] && [ "$s2" = "$s3" ] && [ "${s1%% *}" = 4 ] && break
    sleep 0.2
  done
  [ "$s1" = "$s2" ] && [ "$s2" = "$s3" ] && [ "${s1%% *}" = 4 ] &&
    ok "count and digest agree on api1, api2 and the replica (site B): $s1" ||
    fail "no convergence: api1 '$s1', api2 '$s2', replica '$s3'"
  for loc in "${LOCATIONS[@]}"; do [ "$(inside replica "$loc")" = 200 ] || fail "GET $loc on the replica"; done
  ok "the replica serves every created bard"
}

check_broker() {
  local ui="http://127.0.0.1:$UI_PORT/api" code
  code=$(curl -sS -m 5 -o "$RUN/body" -w '%{http_code}' -u "$USER_NAME:$RABBITMQ_PASSWORD" "$ui/overview")
  [ "$code" = 200 ] && ok "RabbitMQ UI 127.0.0.1:$UI_PORT answers $USER_NAME with the compose password (200)" ||
    fail "RabbitMQ UI with the compose credentials: $code"
  code=$(curl -sS -m 5 -o /dev/null -w '%{http_code}' -u guest:guest "$ui/overview")
  [ "$code" = 401 ] && ok "RabbitMQ UI refuses guest/guest (401)" || fail "RabbitMQ UI with guest/guest: $code, want 401"
  code=$(curl -sS -m 5 -o "$RUN/body" -w '%{http_code}' -u "$USER_NAME:$RABBITMQ_PASSWORD" "$ui/queues")
  python3 -c 'import json,sys; q=[x for x in json.load(open(sys.argv[1])) if x.get("type")=="stream"]; sys.exit(not q)' "$RUN/body" &&
    ok "the event log is a RabbitMQ stream queue" || fail "no stream queue on the broker ($code)"
}

# The bad states give clear errors: no password, port 9999 taken (by the site itself, here).
check_bad_states() {
  local out
  out=$(env -u RABBITMQ_PASSWORD docker compose -f docker-compose.yml config -q 2>&1) &&
    fail "docker compose accepted the file without RABBITMQ_PASSWORD" ||
    { grep -q 'set RABBITMQ_PASSWORD' <<<"$out" && ok "without RABBITMQ_PASSWORD compose refuses: ${out##*: }"; }
  out=$(env -u RABBITMQ_PASSWORD bash "$0" up 2>&1) && fail "compose-up.sh up ran without a password" ||
    ok "compose-up.sh without RABBITMQ_PASSWORD: ${out:0:80}…"
  out=$( (preflight_ports) 2>&1) && fail "preflight passed with 9999 taken" || ok "port 9999 taken: ${out#*ERROR: }"
}

# ---------------------------------------------------------------- stats (cgroup v1, from the engine)
# stats_line SERVICE: cpu_ns nr_periods nr_throttled throttled_ns mem_now mem_peak mem_limit
stats_line() {
  local cpu acct mem
  cpu=$(cgroup_dir "$1" cpu) && acct=$(cgroup_dir "$1" cpuacct) && mem=$(cgroup_dir "$1" memory) || return 1
  echo "$(cat "$acct/cpuacct.usage")" \
    "$(awk '{ v[$1] = $2 } END { print v["nr_periods"], v["nr_throttled"], v["throttled_time"] }' "$cpu/cpu.stat")" \
    "$(cat "$mem/memory.usage_in_bytes" "$mem/memory.max_usage_in_bytes" "$mem/memory.limit_in_bytes" | tr '\n' ' ')"
}

# docker-proxy (the published ports' userland forwarder, outside every container's limits): CPU ticks.
proxy_ticks() {
  local pid total=0
  for pid in $(pgrep -x docker-proxy); do total=$((total + $(awk '{ print $14 + $15 }' "/proc/$pid/stat"))); done
  echo "$total"
}

SERVICES=(nginx api1 api2 rabbitmq replica)

snapshot() { # snapshot FILE: every service's stats_line, and docker-proxy's ticks
  local svc
  for svc in "${SERVICES[@]}"; do echo "$svc $(stats_line "$svc")"; done >"$1"
  echo "docker-proxy $(proxy_ticks)" >>"$1"
}

reset_peaks() {
  local svc mem
  for svc in "${SERVICES[@]}"; do mem=$(cgroup_dir "$svc" memory) && echo 0 >"$mem/memory.max_usage_in_bytes"; done
}

# report BEFORE AFTER SECONDS: per service CPU used (cores on average), periods throttled, time
# throttled, memory now and peak against the limit.
report() {
  python3 - "$1" "$2" "$3" "$(getconf CLK_TCK)" <<'PY'
import sys
def load(p):
    return {l.split()[0]: [int(x) for x in l.split()[1:]] for l in open(p) if len(l.split()) > 1}
a, b, secs, tck = load(sys.argv[1]), load(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
print("%-9s %10s %18s %12s %10s %18s" % ("service", "cpu (avg)", "throttled periods", "throttled", "mem now", "mem peak / limit"))
for svc, v in b.items():
    if svc == "docker-proxy":
        print("%-9s %9.3f  (no limit: host side of the published ports)" % (svc, (v[0] - a[svc][0]) / tck / secs))
        continue
    u = [x - y for x, y in zip(v[:4], a[svc][:4])]
    print("%-9s %10.3f %8d / %-7d %10.2f s %7.0f MiB %7.0f / %.0f MiB" % (svc, u[0] / 1e9 / secs, u[2], u[1],
          u[3] / 1e9, v[4] / 2**20, v[5] / 2**20, v[6] / 2**20))
PY
}

cmd_stats() {
  local f="$RUN/stats" started=$SECONDS
  mkdir -p "$RUN"
  snapshot "$f.0"
  sleep "${1:-2}"
  snapshot "$f.1"
  report "$f.0" "$f.1" "$((SECONDS - started))"
}

# ---------------------------------------------------------------- commands
# docker-compose.brokers3.yml (three broker nodes, one per site) loads on top of the deliverable,
# and asks for the brokers' shared secret. (It is run natively by `ops/cluster up --brokers 3`.)
check_three_brokers_layer() {
  local layer=(docker compose -f docker-compose.yml -f docker-compose.brokers3.yml)
  RABBITMQ_ERLANG_COOKIE=compose-check "${layer[@]}" config -q 2>"$RUN/brokers3.log" &&
    ok "docker-compose.brokers3.yml loads over docker-compose.yml" ||
    fail "docker-compose.brokers3.yml does not load: $(head -3 "$RUN/brokers3.log")"
  env -u RABBITMQ_ERLANG_COOKIE "${layer[@]}" config -q >/dev/null 2>&1 &&
    fail "docker-compose.brokers3.yml loads without RABBITMQ_ERLANG_COOKIE" ||
    ok "docker-compose.brokers3.yml refuses to load without RABBITMQ_ERLANG_COOKIE"
}

cmd_smoke() {
  need_password smoke
  local started=$SECONDS
  trap 'dc down -v --remove-orphans >/dev/null 2>&1 || true' EXIT
  fresh_up
  check_limits
  check_creates
  check_hidden
  check_converged
  check_broker
  check_bad_states
  check_three_brokers_layer
  dc down -v --remove-orphans >"$RUN/down.log" 2>&1 && ok "docker compose down -v" || fail "docker compose down -v"
  trap - EXIT
  [ "$fails" = 0 ] || die "$fails compose smoke check(s) failed"
  say "smoke passed in $((SECONDS - started)) s (build $BUILD_S s, up $UP_S s)"
}

# clean_source: a benchmark builds exactly the commit it records, not a working tree that may
# hold uncommitted edits (git archive of HEAD into $RUN/src; results copied back afterwards).
clean_source() {
  local src="$RUN/src"
  BARDO_GIT_COMMIT=$(git rev-parse --short=12 HEAD)
  export BARDO_GIT_COMMIT
  [ -z "$(git status --porcelain --untracked-files=no)" ] && return 0
  say "the working tree has uncommitted edits: benchmarking HEAD $BARDO_GIT_COMMIT from a clean export ($src)"
  rm -rf "$src"
  mkdir -p "$src"
  git archive HEAD | tar -x -C "$src"
  RESULTS_BACK="$PWD/stress-test/results"
  cd "$src"
}

# bench_target: where Gatling sends its load. By default nginx's own address on the site's bridge:
# an engine with iptables (the judges') forwards published ports in the kernel, while here
# (--iptables=false) they go through docker-proxy, a userland copy loop that runs at the
# engine's nice level and outside every limit. BENCH_VIA=port measures through :9999 instead.
bench_target() {
  local address
  if [ "${BENCH_VIA:-bridge}" = port ]; then echo "$NGINX"; return 0; fi
  address=$(docker inspect --format '{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}' "$(dc ps -q nginx)" |
    awk '{ print $1 }')
  [ -n "$address" ] || die "nginx has no address on a Docker network (BENCH_VIA=port goes through :9999)"
  say "Gatling -> nginx's container address $address:9999 on the site's bridge (no docker-proxy in the path; BENCH_VIA=port for :9999)" >&2
  echo "http://$address:9999"
}

cmd_bench() {
  local profile=${1:-tournament} rc=0 started
  need_password bench
  mkdir -p "$RUN"
  clean_source
  trap 'dc down -v --remove-orphans >/dev/null 2>&1 || true' EXIT
  fresh_up
  reset_peaks
  snapshot "$RUN/bench.0"
  started=$SECONDS
  BASE_URL=$(bench_target) GATLING_CPUS="${GATLING_CPUS:-0.5}" "${NICE[@]}" bash stress-test/run-test.sh "$profile" 8>&- |
    tee "$RUN/bench.out" || rc=$?
  snapshot "$RUN/bench.1"
  echo "== per container over the run ($((SECONDS - started)) s), from the engine's cgroup v1 files"
  report "$RUN/bench.0" "$RUN/bench.1" "$((SECONDS - started))" | tee "$RUN/bench.stats"
  docker stats --no-stream --format 'table {{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}' | tee -a "$RUN/bench.stats"
  dc ps -a --format '{{.Service}} {{.Status}}' >>"$RUN/bench.stats" 2>&1 || true
  dc logs --no-color >"$RUN/bench.logs" 2>&1 || true
  say "containers' logs kept in $RUN/bench.logs"
  if [ -n "${RESULTS_BACK:-}" ]; then mkdir -p "$RESULTS_BACK" && cp -r stress-test/results/. "$RESULTS_BACK/"; fi
  return "$rc"
}

case "${1:-smoke}" in
  smoke) cmd_smoke ;;
  up) need_password up; fresh_up; say "left running (ops/compose-up.sh down)" ;;
  down) lock_ports; cmd_down ;;
  bench) cmd_bench "${2:-tournament}" ;;
  stats) cmd_stats "${2:-2}" ;;
  *) echo "usage: $0 [smoke|up|down|bench [PROFILE]|stats [SECONDS]]" >&2; exit 2 ;;
esac
