#!/usr/bin/env bash
# Fuzzes the request parsing paths (fuzz/README in fuzz/RESULTS.md):
#   create_body     POST body bytes -> JSON -> validation -> Bard, checked against the SPEC table
#   path_and_query  `?t=` query string -> search (index vs brute-force scan), `{id}` -> UUID
# Usage: ops/fuzz.sh [runs per target] [target...]   (default 20000 runs, both targets)
# Installs a nightly toolchain and cargo-fuzz where missing; seeds the corpus from
# ../shared/rinha-2023-q3 (fuzz/seed.sh). A crash leaves its input in fuzz/artifacts/<target>/
# and makes this script fail.
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-20000}"
shift || true
targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=(create_body path_and_query)

rustup run nightly rustc --version >/dev/null 2>&1 || rustup toolchain install nightly --profile minimal
cargo +nightly fuzz --version >/dev/null 2>&1 || cargo install cargo-fuzz --locked
bash fuzz/seed.sh 300

cd fuzz
for target in "${targets[@]}"; do
  printf '\n==> fuzz %s: %s runs\n' "$target" "$runs"
  log="$(mktemp)"
  status=0
  cargo +nightly fuzz run --debug-assertions "$target" -- \
    -runs="$runs" -max_len=8192 -print_final_stats=1 >"$log" 2>&1 || status=$?
  grep -vE '^"|# Uses:|^#[0-9]+' "$log" | grep -E 'panicked|assertion|Failing input|artifacts/|DONE|Done|stat::|ERROR' || true
  grep -E '^#[0-9]+.*DONE' "$log" || true
  rm -f "$log"
  [[ "$status" == 0 ]] || { echo "fuzz $target: FAILED (exit $status), input kept in fuzz/artifacts/$target/" >&2; exit 1; }
done
