#!/usr/bin/env bash
# The export benchmark: a real gridwork-server (release build, demo city) filled to 10,000
# and then 100,000 records; each format exported at both sizes, with the time and the
# server's peak memory printed. Fails if an export's peak memory grows with the row count.
#
#   tests/interop/bench.sh          # BENCH_SIZES=10000,100000 BENCH_GROWTH_LIMIT_MIB=16
set -euo pipefail
cd "$(dirname "$0")/../.."
. tests/interop/server.sh
# The benchmark starts and restarts the server itself (see bench_exports.py).
GRIDWORK_SERVER_BIN="$GRIDWORK_SERVER_BIN" WORK="$WORK" "$VENV/bin/python" tests/interop/bench_exports.py 2>"$WORK/stderr"
check_no_panic
