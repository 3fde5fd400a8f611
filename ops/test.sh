#!/usr/bin/env bash
# The one test command (README): installs what the tests need, then runs formatting, lint,
# unit/property/HTTP tests, the tournament payload run, the RabbitMQ cluster tests, hostile
# input, the independent contract test against a real release binary, promises 1-5 across
# processes, the native cluster under the compose limits with a Gatling smoke run, the
# deployment files' validation, and a short fuzz run.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "toolchain and test tools"
command -v cargo >/dev/null || { echo "cargo not found: install Rust (rustup) first" >&2; exit 1; }
rustup component add rustfmt clippy >/dev/null 2>&1 || true
python3 -m pytest --version >/dev/null 2>&1 || python3 -m pip install --quiet pytest
command -v curl >/dev/null || { apt-get update -qq && apt-get install -y -qq curl; }

step "cargo fmt --check"
cargo fmt --all --check

step "cargo clippy (too_many_lines at 50, warnings are errors)"
cargo clippy --workspace --all-targets -- -D warnings -W clippy::too_many_lines

step "the core alone: bardo-actors builds, lints and tests without the bardo-machine crate"
cargo clippy -p bardo-actors --all-targets -- -D warnings -W clippy::too_many_lines
cargo test -p bardo-actors

step "RabbitMQ (installed and started where missing)"
bash ops/rabbitmq.sh ensure

step "cargo test (unit, property, HTTP, tournament payloads, RabbitMQ cluster, broker outage)"
cargo test --workspace

step "hostile HTTP against the release binary (413 with flat memory, nothing stored)"
cargo build --release --quiet -p bardo
bash ops/hostile.sh

step "independent contract test against the release binary"
bash ops/contract.sh

step "promises 1-5 against real processes: two serve + one replica on RabbitMQ"
bash ops/cluster-check.sh

step "security: nginx hides /internal/ and /metrics, no RabbitMQ guest, non-root container"
python3 ops/security-check.py --self-test --require

step "the native cluster under the compose limits (nginx, api1, api2, RabbitMQ, replica in netns site-b)"
bash ops/cluster-smoke.sh

step "Gatling smoke (40 s of the tournament's scenarios) through nginx on the native cluster"
bash ops/gatling-smoke.sh

step "docker-compose.yml, Dockerfile and nginx.conf validated without a Docker engine"
bash ops/compose-check.sh

step "fuzz the request parsing paths (short run; 'ops/fuzz.sh 1000000' is the benchmark)"
bash ops/fuzz.sh 20000

step "fault drills under load: kill -9 api1, broker restart, replica restart, site-B partition, OOM; on three brokers: kill -9 the stream leader, partition a broker, lose site A then promote site B"
bash ops/drills/run-all.sh --fast

step "the deliverable on a real Docker engine: local base images, the Dockerfile built, docker compose up, smoke through nginx, down"
RABBITMQ_PASSWORD="$(python3 -c 'import secrets; print(secrets.token_hex(16))')" bash ops/compose-up.sh smoke
