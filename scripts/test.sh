#!/usr/bin/env bash
# The whole test suite: unit, storage and blob-store conformance, handler and end-to-end
# tests (real gridwork-server processes on loopback ports), then the binding suites
# (Python, Kotlin, Swift) against a real server.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
# Build the binaries first: the end-to-end tests run target/debug/gridwork-server.
cargo build --workspace --bins
cargo test --workspace
scripts/test-bindings.sh
