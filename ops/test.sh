#!/usr/bin/env bash
# The one test command (README): installs what the tests need, then runs formatting, lint,
# unit/property/HTTP tests, the tournament payload run, the RabbitMQ cluster tests, the
# independent contract test against a real release binary, and promises 1-5 across processes.
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
cargo clippy --all-targets -- -D warnings -W clippy::too_many_lines

step "RabbitMQ (installed and started where missing)"
bash ops/rabbitmq.sh ensure

step "cargo test (unit, property, HTTP, tournament payloads, RabbitMQ cluster, broker outage)"
cargo test --workspace

step "independent contract test against the release binary"
bash ops/contract.sh

step "promises 1-5 against real processes: two serve + one replica on RabbitMQ"
bash ops/cluster-check.sh
