#!/usr/bin/env bash
# The whole test suite: unit, storage and blob-store conformance, handler and end-to-end
# tests (real gridwork-server processes on loopback ports), then the binding suites
# (Python, Kotlin, Swift) against a real server.
set -euo pipefail
cd "$(dirname "$0")/.."
# Each phase's start, with the minutes so far: CI has a time limit, and this shows what
# to trim when the suites grow near it.
step() { echo "test.sh: [$((SECONDS / 60))m$((SECONDS % 60))s] $*" >&2; }
step setup
scripts/setup.sh

# The server every test starts is the one the README's first command builds
# (`cargo run --release -p gridwork-server`): that package alone, so its features are the
# shipped ones. `cargo test --workspace` unifies features across the workspace (SQLCipher,
# the core's device half); a server built that way is never the one tested.
step release server
cargo build --release -p gridwork-server
export GRIDWORK_SERVER_BIN="$PWD/target/release/gridwork-server"
if cargo tree -p gridwork-server -e normal,features -i libsqlite3-sys | grep -q 'bundled-sqlcipher'; then
    echo "test.sh: the shipped server would link SQLCipher (features leaked into -p gridwork-server)" >&2
    exit 1
fi
if cargo tree -p gridwork-server -e normal,features -i gridwork-core | grep -q '"device"'; then
    echo "test.sh: the shipped server would link the core's device half" >&2
    exit 1
fi

# A private PostgreSQL cluster on a loopback port for the PostgreSQL storage tests and the
# end-to-end run on PostgreSQL; stopped when the tests end.
GRIDWORK_TEST_POSTGRES="$(scripts/postgres.sh start)"
export GRIDWORK_TEST_POSTGRES
trap 'scripts/postgres.sh stop' EXIT

# The device command line (its end-to-end test runs the binary).
step debug binaries
cargo build --workspace --bins
# Every storage conformance suite runs against SQLite and PostgreSQL here; the end-to-end
# suite runs against servers on SQLite.
# The randomized fault sessions (`tests/tests/faults.rs`, 4–5 s each and slower as the
# server fills: 100 took 418 s) are half of each end-to-end pass: 50 on each backend, the
# PostgreSQL pass on the next 50 seeds, so one run covers 100 distinct sessions in CI's
# time. `scripts/soak.sh` runs 1,000.
export GRIDWORK_FAULT_SESSIONS="${GRIDWORK_FAULT_SESSIONS:-50}"
fault_seed="${GRIDWORK_FAULT_SEED:-1735551332}" # the test's own default (0x67726964)
for n in "$fault_seed" "$GRIDWORK_FAULT_SESSIONS"; do
    [[ "$n" =~ ^[0-9]{1,18}$ ]] || { echo "test.sh: GRIDWORK_FAULT_SEED and GRIDWORK_FAULT_SESSIONS are decimal numbers" >&2; exit 2; }
done
step cargo test --workspace
GRIDWORK_FAULT_SEED="$fault_seed" cargo test --workspace
# The end-to-end suite again, every server on PostgreSQL.
step end-to-end on PostgreSQL
GRIDWORK_FAULT_SEED=$((10#$fault_seed + 10#$GRIDWORK_FAULT_SESSIONS)) GRIDWORK_TEST_BACKEND=postgres cargo test -p gridwork-e2e --tests
# Open311, exports and the OpenAPI document through third-party tools (PyPI, in a venv)
# against a real server.
step interop
tests/interop/run.sh
step bindings
scripts/test-bindings.sh
step done
