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
# The suites start `gridwork-server demo`: the binary the README builds, unless given.
if [ -z "${GRIDWORK_SERVER_BIN:-}" ]; then
    cargo build --release -p gridwork-server
    export GRIDWORK_SERVER_BIN="$PWD/target/release/gridwork-server"
fi

# --- Python ----------------------------------------------------------------------------
python3 -m pytest --version >/dev/null 2>&1 || python3 -m pip install -q "pytest>=8"
python3 -c 'import pytest_asyncio' 2>/dev/null || python3 -m pip install -q "pytest-asyncio>=1.0"
python3 -c "import PIL" 2>/dev/null || python3 -m pip install -q pillow
# The app key store of the signing test is Ed25519 from `cryptography`.
python3 -c "import cryptography" 2>/dev/null || python3 -m pip install -q cryptography
GRIDWORK_BINDINGS="$out" python3 -m pytest -q ffi/tests/python

# --- Kotlin ----------------------------------------------------------------------------
# JUnit 5 on the JVM (Maven: kotlin-maven-plugin, JNA, kotlinx-coroutines from Maven Central)
# against the library generated with these bindings and a demo server the tests start.
failed=()
sudo=""
[ "$(id -u)" = 0 ] || sudo="sudo"
apt_install() {
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" </dev/null
}
command -v javac >/dev/null || apt_install default-jdk-headless
command -v mvn >/dev/null || apt_install maven
abs_out="$(cd "$out" && pwd)"
t0=$SECONDS
if mvn -B -ntp -Dstyle.color=never -f ffi/tests/kotlin/pom.xml test \
        -Dgridwork.bindings="$abs_out/kotlin" \
        -Dgridwork.lib.dir="$abs_out/python" \
        -Dgridwork.server.bin="$GRIDWORK_SERVER_BIN" </dev/null; then
    echo "kotlin: passed in $((SECONDS - t0)) s"
else
    echo "kotlin: FAILED (see ffi/tests/kotlin/target/surefire-reports)"; failed+=(kotlin)
fi

# --- Swift -----------------------------------------------------------------------------
# Test programs compiled and run in the Swift chroot of ../shared/tools/swift-check.sh
# (Debian trixie + swiftlang, created once, ~1-2 min, 2.6 GB; root needed).
swift_check="$(cd .. && pwd)/shared/tools/swift-check.sh"
if [ ! -f "$swift_check" ]; then
    echo "swift: FAILED: no $swift_check (shared/ beside the repo)"; failed+=(swift)
else
    t0=$SECONDS
    if $sudo bash "$swift_check" --setup </dev/null \
        && $sudo env SWIFT_CHECK="$swift_check" GRIDWORK_SERVER_BIN="$GRIDWORK_SERVER_BIN" \
            ffi/tests/swift/run.sh "$abs_out/swift" "$abs_out/python/libgridwork_ffi.so" </dev/null; then
        echo "swift: passed in $((SECONDS - t0)) s"
    else
        echo "swift: FAILED"; failed+=(swift)
    fi
fi

if [ ${#failed[@]} -gt 0 ]; then
    echo "test-bindings: failed: ${failed[*]}" >&2
    exit 1
fi
