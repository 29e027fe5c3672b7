#!/usr/bin/env bash
# The fault soak: 1,000 randomized sessions (tests/tests/faults.rs) through the
# fault-injecting proxy, with server kills and device kills, against the shipped server;
# prints the tally (lost, duplicated, diverged must all be 0) and the time.
#
#   scripts/soak.sh                 # 1,000 sessions from the default seed
#   SESSIONS=200 SEED=42 scripts/soak.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -p gridwork-server
cargo build --release -p gridwork-device
export GRIDWORK_SERVER_BIN="$PWD/target/release/gridwork-server"
export GRIDWORK_FAULT_SESSIONS="${SESSIONS:-1000}"
if [ -n "${SEED:-}" ]; then export GRIDWORK_FAULT_SEED="$SEED"; fi
start=$(date +%s)
cargo test --release -p gridwork-e2e --test faults -- --nocapture 2>&1 | grep --line-buffered -E '^faults:|test result|panicked|seed'
echo "soak: $GRIDWORK_FAULT_SESSIONS sessions in $(( $(date +%s) - start )) s"
