#!/usr/bin/env bash
# The Gatling chain, end to end, in the test command: the native cluster (ops/cluster, compose
# limits applied) on a fresh stream, stress-test/run-test.sh with the smoke profile (40 s of
# load) through nginx, count = ceiling and 0 KO, then the cluster down again. The full
# tournament runs are benchmarks (stress-test/RESULTS.md).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v mvn >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq maven >/dev/null; }
trap 'ops/cluster down >/dev/null 2>&1 || true' EXIT
ops/cluster up
BASE_URL=http://127.0.0.1:9999 bash stress-test/run-test.sh smoke
