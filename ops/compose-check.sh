#!/usr/bin/env bash
# ops/compose-check.sh — validates the deployment files without a Docker engine:
#   1. ops/compose-check (Go, compose-go: the loader `docker compose` uses) loads
#      docker-compose.yml, checks the 1.5 CPU / 3 GiB budget of nginx+api1+api2+rabbitmq, the
#      broker credentials (not guest, password required), the topology, and the Dockerfile
#      (BuildKit's parser: multi-stage, linux/amd64, non-root USER, ENTRYPOINT bardo);
#   2. `nginx -t` on the copy of nginx.conf that ops/cluster renders (where nginx is installed).
# Exits non-zero on any failure. Needs Go (modules from the Go proxy on first run).
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
command -v go >/dev/null || { echo "FAIL go is not installed (needed for ops/compose-check)"; exit 1; }
# A throwaway password for the check only: the file itself has no default for it.
export RABBITMQ_PASSWORD="${RABBITMQ_PASSWORD:-compose-check-only}"
echo "== docker-compose.yml, Dockerfile, nginx.conf (ops/compose-check, compose-go $(grep -o 'compose-go/v2 v[0-9.]*' ops/compose-check/go.mod | cut -d' ' -f2))"
(cd ops/compose-check && go run . "$root")

echo "== nginx -t on the rendered native copy"
nginx_bin="$(command -v nginx || echo /usr/sbin/nginx)"
if [ -x "$nginx_bin" ]; then
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  ops/cluster render-nginx "$tmp/nginx.conf" >/dev/null && mkdir -p "$tmp/tmp"
  if out=$("$nginx_bin" -t -q -p "$tmp" -c "$tmp/nginx.conf" -g "pid $tmp/nginx.pid;" 2>&1); then
    echo "ok   nginx -t accepts the rendered nginx.conf"
  else
    echo "FAIL nginx -t: $out"; exit 1
  fi
else
  echo "skip nginx is not installed here (ops/cluster up installs it)"
fi
echo "compose-check.sh: ok"
