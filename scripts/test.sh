#!/usr/bin/env bash
# The whole test suite: unit, storage and blob-store conformance, handler and end-to-end
# tests (real gridwork-server processes on loopback ports), then the binding suites
# (Python, Kotlin, Swift) against a real server.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

# The server every test starts is the one the README's first command builds
# (`cargo run --release -p gridwork-server`): that package alone, so its features are the
# shipped ones. `cargo test --workspace` unifies features across the workspace (SQLCipher,
# the core's device half); a server built that way is never the one tested.
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
cargo build --workspace --bins
# Every storage conformance suite runs against SQLite and PostgreSQL here; the end-to-end
# suite runs against servers on SQLite.
cargo test --workspace
# The end-to-end suite again, every server on PostgreSQL.
GRIDWORK_TEST_BACKEND=postgres cargo test -p gridwork-e2e --tests
# Open311, exports and the OpenAPI document through third-party tools (PyPI, in a venv)
# against a real server.
tests/interop/run.sh
scripts/test-bindings.sh
