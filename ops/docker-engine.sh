#!/usr/bin/env bash
# ops/docker-engine.sh ensure|down|status — a real Docker engine on this machine, for the
# tournament's own path (`RABBITMQ_PASSWORD=… docker compose up --build`):
#   ensure  installs Debian's docker.io and debootstrap where missing, starts dockerd without
#           systemd (overlay2, vfs where overlay2 cannot start; no iptables rules, no IP forwarding,
#           its own data root, the default socket), waits until it answers, builds a Docker
#           Compose v2 CLI plugin from its Go module where none (or one too old) is installed, and
#           makes the local base images (ops/docker/base-images.sh). Idempotent.
#   down    stops the dockerd that ensure started (its pid file) and nothing else.
#   status  the engine, the Compose client and the base images.
# Why no iptables: Docker's rules would set the host's FORWARD policy to DROP and rewrite NAT for
# everyone on a machine shared with the native cluster's namespaces; containers need neither
# (published ports go through docker-proxy, containers on one network share a bridge).
# dockerd runs under `nice` (BARDO_NICE, 10): every build and container it starts inherits that.
set -euo pipefail
cd "$(dirname "$0")/.."

DATA_ROOT="${BARDO_DOCKER_ROOT:-/var/lib/bardo-docker}"
EXEC_ROOT="${BARDO_DOCKER_EXEC_ROOT:-/run/bardo-docker}"
PIDFILE="$EXEC_ROOT.pid"
LOG="${BARDO_DOCKER_LOG:-/var/log/bardo-dockerd.log}"
SOCKET=/var/run/docker.sock
COMPOSE_VERSION="${BARDO_COMPOSE_VERSION:-v2.29.7}"
COMPOSE_MIN=2.24 # inline `configs: content` needs 2.23, the test's `!override` 2.24
PLUGIN_DIR=/usr/local/lib/docker/cli-plugins
NICE="${BARDO_NICE:-10}"
TIMEOUT="${BARDO_DOCKER_TIMEOUT:-60}"
export PATH="$PATH:/usr/local/go/bin"

say() { echo "docker-engine: $*"; }
die() { echo "docker-engine: ERROR: $*" >&2; exit 1; }

answers() { timeout 10 docker info >/dev/null 2>&1; }

# Our dockerd: the pid in the pid file is alive and is a dockerd on our data root.
ours() {
  local pid
  pid=$(cat "$PIDFILE" 2>/dev/null) || return 1
  [ -n "$pid" ] && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "dockerd .*--data-root $DATA_ROOT" &&
    echo "$pid"
}

install_packages() {
  local missing=()
  command -v dockerd >/dev/null || missing+=(docker.io)
  command -v debootstrap >/dev/null || missing+=(debootstrap)
  [ ${#missing[@]} -eq 0 ] && return 0
  say "installing ${missing[*]} (apt-get)"
  # The package's own service start is refused by policy-rc.d here or fails without systemd:
  # ensure starts dockerd itself below.
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1; then
    apt-get update -qq || die "apt-get update failed (no Debian mirror?)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
      die "apt-get install ${missing[*]} failed"
  fi
  command -v dockerd >/dev/null || die "docker.io is installed but dockerd is not on PATH"
}

# The daemon's settings that have no flag: BuildKit as the builder (the Dockerfile's cache mounts
# need it; dockerd 20.10 defaults to the classic builder), and bounded container logs.
write_config() {
  mkdir -p "$DATA_ROOT"
  cat >"$DATA_ROOT.json" <<'JSON'
{
  "features": { "buildkit": true },
  "log-driver": "json-file",
  "log-opts": { "max-size": "20m", "max-file": "2" }
}
JSON
}

# launch DRIVER: dockerd in its own session, below us in priority, with none of our descriptors
# beyond stdio (a caller's lock, e.g. ops/compose-up.sh's, must not live on in the daemon).
launch() {
  local driver=$1
  write_config
  mkdir -p "$(dirname "$LOG")" "$EXEC_ROOT"
  echo "---- $(date -u +%FT%TZ) dockerd --storage-driver $driver" >>"$LOG"
  (
    for fd in /proc/$BASHPID/fd/*; do
      fd=${fd##*/}
      [ "$fd" -gt 2 ] 2>/dev/null && eval "exec $fd>&-"
    done
    exec setsid nice -n "$NICE" dockerd --data-root "$DATA_ROOT" --exec-root "$EXEC_ROOT" \
      --pidfile "$PIDFILE" --host "unix://$SOCKET" --storage-driver "$driver" \
      --iptables=false --ip-forward=false --ip-masq=false --config-file "$DATA_ROOT.json" \
      </dev/null >>"$LOG" 2>&1
  ) &
  local pid=$! started=$SECONDS
  while ((SECONDS - started < TIMEOUT)); do
    answers && return 0
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 0.5
  done
  kill -TERM "$pid" 2>/dev/null || true
  return 1
}

start_engine() {
  if answers; then
    if ours >/dev/null; then say "dockerd already running (pid $(ours), data root $DATA_ROOT)"
    else say "a Docker engine already answers on $SOCKET (not started here): using it"; fi
    return 0
  fi
  say "starting dockerd (data root $DATA_ROOT, log $LOG)"
  launch overlay2 && { say "dockerd up: storage driver overlay2"; return 0; }
  say "dockerd did not start with overlay2 (log: $LOG); trying vfs (slower, more disk)"
  launch vfs && { say "dockerd up: storage driver vfs"; return 0; }
  tail -15 "$LOG" >&2
  die "dockerd could not be started (see $LOG above); the Docker engine is not usable on this machine"
}

compose_version() { docker compose version --short 2>/dev/null | sed "s/^v//" || true; }

version_ge() { [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -1)" = "$2" ]; }

# A Compose v2 plugin that reads today's file (inline configs, deploy.resources, healthcheck
# conditions, !override): kept when one is installed and new enough, else built from its module.
ensure_compose() {
  local have bin
  have=$(compose_version)
  if [[ "$have" =~ ^[0-9] ]] && version_ge "$have" "$COMPOSE_MIN"; then return 0; fi
  command -v go >/dev/null || die "go is missing: it builds the Docker Compose plugin from its Go module"
  say "building Docker Compose $COMPOSE_VERSION from its Go module (installed ${have:-none}, need >= $COMPOSE_MIN)"
  bin=$(mktemp -d)
  if ! (cd "$bin" && GOBIN="$bin" CGO_ENABLED=0 nice -n "$NICE" go install -trimpath \
    -ldflags "-s -w -X github.com/docker/compose/v2/internal.Version=$COMPOSE_VERSION" \
    "github.com/docker/compose/v2/cmd@$COMPOSE_VERSION") >"$bin/go.log" 2>&1; then
    tail -20 "$bin/go.log" >&2
    die "go install github.com/docker/compose/v2/cmd@$COMPOSE_VERSION failed (Go module proxy reachable?)"
  fi
  mkdir -p "$PLUGIN_DIR"
  install -m 0755 "$bin/cmd" "$PLUGIN_DIR/docker-compose"
  rm -rf "$bin"
  have=$(compose_version)
  [ "$have" = "${COMPOSE_VERSION#v}" ] || die "docker compose reports '$have' after installing $COMPOSE_VERSION"
  say "docker compose $have installed in $PLUGIN_DIR"
}

cmd_ensure() {
  [ "$(id -u)" = 0 ] || die "run as root (it installs packages and starts dockerd)"
  local started=$SECONDS
  install_packages
  start_engine
  ensure_compose
  bash ops/docker/base-images.sh ensure
  say "ready in $((SECONDS - started)) s: $(docker version --format 'engine {{.Server.Version}}' 2>/dev/null)," \
    "compose $(compose_version), storage $(docker info --format '{{.Driver}}')"
}

cmd_down() {
  local pid
  if ! pid=$(ours); then
    say "no dockerd started by this script is running (nothing stopped)"
    return 0
  fi
  say "stopping dockerd (pid $pid); its containers stop with it"
  kill -TERM "$pid"
  for _ in $(seq 1 90); do
    kill -0 "$pid" 2>/dev/null || { say "dockerd stopped"; return 0; }
    sleep 0.5
  done
  say "dockerd still running after 45 s: KILL"
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$PIDFILE"
}

cmd_status() {
  if ! answers; then echo "engine: not answering on $SOCKET"; return 3; fi
  local pid
  pid=$(ours) && echo "engine: dockerd pid $pid (started by this script), data root $DATA_ROOT" ||
    echo "engine: answering on $SOCKET (not started by this script)"
  docker info --format 'engine: {{.ServerVersion}}, storage {{.Driver}}, cgroup {{.CgroupVersion}} ({{.CgroupDriver}}), {{.Containers}} containers ({{.ContainersRunning}} running)'
  echo "compose: $(compose_version || echo missing)"
  bash ops/docker/base-images.sh list
}

case "${1:-}" in
  ensure) cmd_ensure ;;
  down) cmd_down ;;
  status) cmd_status ;;
  *) echo "usage: $0 ensure|down|status" >&2; exit 2 ;;
esac
