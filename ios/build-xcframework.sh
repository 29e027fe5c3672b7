#!/usr/bin/env bash
# Build GridworkFFI.xcframework and the Swift bindings for the Swift package in ios/.
# Runs on macOS with Xcode and rustup (not on the project's Linux machines; see README.md).
#
#   ios/build-xcframework.sh [--debug]       (release by default)
#
# Slices: aarch64-apple-ios (devices), aarch64-apple-ios-sim + x86_64-apple-ios (simulators,
# merged with lipo). SQLCipher uses CommonCrypto there (rusqlite `bundled-sqlcipher` on an
# Apple host and target): no OpenSSL needed; leave OPENSSL_DIR unset.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
profile=release; [ "${1:-}" = "--debug" ] && profile=debug
release=(); [ $profile = release ] && release=(--release)
[ "$(uname)" = Darwin ] || { echo "build-xcframework: needs macOS with Xcode" >&2; exit 1; }
command -v xcodebuild >/dev/null || { echo "build-xcframework: xcodebuild not found" >&2; exit 1; }

targets=(aarch64-apple-ios aarch64-apple-ios-sim x86_64-apple-ios)
rustup target add "${targets[@]}" >/dev/null
cd "$root"
export IPHONEOS_DEPLOYMENT_TARGET=15.0
for t in "${targets[@]}"; do
    cargo build -p gridwork-ffi --lib --target "$t" "${release[@]}"
done
target_dir="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
lib() { echo "$target_dir/$1/$profile/libgridwork_ffi.a"; }

# Swift bindings, in library mode from the host build of the same sources.
ffi/generate.sh "$target_dir/bindings-ios"
gen="$target_dir/bindings-ios/swift"

work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
mkdir -p "$work/headers" "$work/sim"
cp "$gen/GridworkFFI.h" "$work/headers/"
cp "$gen/GridworkFFI.modulemap" "$work/headers/module.modulemap"
lipo -create "$(lib aarch64-apple-ios-sim)" "$(lib x86_64-apple-ios)" -output "$work/sim/libgridwork_ffi.a"

rm -rf "$here/GridworkFFI.xcframework"
xcodebuild -create-xcframework \
    -library "$(lib aarch64-apple-ios)" -headers "$work/headers" \
    -library "$work/sim/libgridwork_ffi.a" -headers "$work/headers" \
    -output "$here/GridworkFFI.xcframework"
cp "$gen/Gridwork.swift" "$here/Sources/Gridwork/Gridwork.swift"
echo "build-xcframework: ios/GridworkFFI.xcframework and ios/Sources/Gridwork/Gridwork.swift ready"
