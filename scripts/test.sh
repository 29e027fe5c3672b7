#!/usr/bin/env bash
# The whole test suite: unit, storage conformance, handler and end-to-end tests.
# End-to-end tests start real gridwork-server processes on loopback ports.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
# Build the binaries first: the end-to-end tests run target/debug/gridwork-server.
cargo build --workspace --bins
cargo test --workspace
