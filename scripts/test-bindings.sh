#!/usr/bin/env bash
# Generate the uniffi bindings of gridwork-ffi and run the binding test suites against a
# real gridwork-server. Exits non-zero if any suite fails.
#
#   scripts/test-bindings.sh [OUT_DIR]     (bindings go to OUT_DIR, default target/bindings)
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-target/bindings}"

scripts/setup.sh

# --- generate (Kotlin, Swift, Python) -------------------------------------------------
ffi/generate.sh "$out"
# The suites start target/debug/gridwork-server demo.
cargo build -p gridwork-server

# --- Python ----------------------------------------------------------------------------
python3 -m pytest --version >/dev/null 2>&1 || python3 -m pip install -q "pytest>=8"
python3 -c 'import pytest_asyncio' 2>/dev/null || python3 -m pip install -q "pytest-asyncio>=1.0"
python3 -c "import PIL" 2>/dev/null || python3 -m pip install -q pillow
GRIDWORK_BINDINGS="$out" python3 -m pytest -q ffi/tests/python

# --- Kotlin ----------------------------------------------------------------------------
# (to be added: compile $out/kotlin with JNA + kotlinx-coroutines and run its tests)

# --- Swift -----------------------------------------------------------------------------
# (to be added: ../shared/tools/swift-check.sh against $out/swift)
