#!/usr/bin/env bash
# ops/rabbitmq.sh ensure|stop|status — a real RabbitMQ (Debian's package) on this machine:
# installs it where missing, starts it without systemd, waits until it answers, and creates the
# user bardo uses (never guest/guest outside loopback). Idempotent.
set -euo pipefail

user="${BARDO_RABBITMQ_USER:-bardo}"
password="${BARDO_RABBITMQ_PASSWORD:-bardo-local-only}"

ctl() { rabbitmqctl "$@"; }

running() { ctl -q status >/dev/null 2>&1; }

install() {
  command -v rabbitmq-server >/dev/null && return
  echo "installing rabbitmq-server (apt-get)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq rabbitmq-server >/dev/null
}

# Erlang schedulers busy-wait by default: on a shared 1.5-CPU budget that spinning is pure
# cost, so it is turned off (the broker's CPU per create drops; see ops/bench/RESULTS.md). And
# one scheduler (+S 1:1, one dirty CPU scheduler): the broker's slice is 0.3 CPU, and two
# schedulers running at once spent it in bursts, then stalled ≈ 100 ms under the CFS quota
# (stress-test/RESULTS.md). A running broker picks a changed line up at its next start.
ERL_ARGS='+S 1:1 +SDcpu 1:1 +sbwt none +sbwtdcpu none +sbwtdio none'
tune() {
  local env=/etc/rabbitmq/rabbitmq-env.conf line="SERVER_ADDITIONAL_ERL_ARGS=\"$ERL_ARGS\""
  mkdir -p /etc/rabbitmq
  grep -qxF "$line" "$env" 2>/dev/null && return
  touch "$env"
  sed -i '/^SERVER_ADDITIONAL_ERL_ARGS=/d' "$env"
  echo "$line" >>"$env"
}

# The management plugin's statistics, as docker-compose.yml configures them: no message rates
# (rates_mode = none), and its per-object statistics emitted every 30 s instead of 5 s. That
# emission is a burst of work for every connection, channel and queue at once, and inside a
# 0.3-CPU quota a burst stalls the broker's acks (stress-test/RESULTS.md, issue 11).
CONF_LINES=('management.rates_mode = none' 'collect_statistics_interval = 30000')
tune_conf() {
  local conf=/etc/rabbitmq/rabbitmq.conf line key
  touch "$conf"
  for line in "${CONF_LINES[@]}"; do
    grep -qxF "$line" "$conf" && continue
    key="${line%% =*}"
    sed -i "/^${key//./\\.} *=/d" "$conf"
    echo "$line" >>"$conf"
  done
}

start() {
  tune
  tune_conf
  running && return
  echo "starting rabbitmq-server"
  # Debian's wrapper drops to the rabbitmq user; -detached returns at once.
  (cd /var/lib/rabbitmq && rabbitmq-server -detached) || true
  for _ in $(seq 1 120); do
    running && break
    sleep 1
  done
  running || { echo "rabbitmq-server did not start; see /var/log/rabbitmq" >&2; exit 1; }
  ctl -q await_startup
}

ensure_user() {
  if ! ctl -q list_users 2>/dev/null | grep -q "^${user}\b"; then
    ctl -q add_user "$user" "$password"
    ctl -q set_user_tags "$user" administrator
  fi
  ctl -q set_permissions -p / "$user" ".*" ".*" ".*"
}

case "${1:-ensure}" in
  ensure)
    install
    start
    ensure_user
    echo "rabbitmq ready: amqp://${user}:***@127.0.0.1:5672/%2f"
    ;;
  stop) running && ctl -q stop || true ;;
  status) running && echo running || { echo stopped; exit 1; } ;;
  *) echo "usage: $0 ensure|stop|status" >&2; exit 2 ;;
esac
