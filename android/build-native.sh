#!/usr/bin/env bash
# Build libgridwork_ffi.so for Android with cargo-ndk into gridwork/src/main/jniLibs/<abi>/,
# and generate the Kotlin bindings (target/bindings/kotlin, which the Gradle module compiles).
#
#   android/build-native.sh [--debug]          (release by default)
#
# Needs: rustup targets aarch64-linux-android armv7-linux-androideabi x86_64-linux-android,
# `cargo install cargo-ndk`, and the Android NDK (ANDROID_NDK_HOME, or the SDK's ndk/<version>).
# Not runnable on the project's Linux machines (no NDK there); see README.md.
#
# SQLCipher needs a libcrypto for the target. The NDK has none, so the core must be built with
# rusqlite's `bundled-sqlcipher-vendored-openssl` (OpenSSL compiled from source per ABI, ~6 min
# each the first time): this script passes `--features android` to gridwork-ffi, which forwards
# to gridwork-core's rusqlite (see README.md, "Feature switch"). Set GRIDWORK_ANDROID_FEATURES
# to use another feature list.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
profile=release
[ "${1:-}" = "--debug" ] && profile=debug
features="${GRIDWORK_ANDROID_FEATURES:-android}"
abis=(arm64-v8a armeabi-v7a x86_64)
jni="$here/gridwork/src/main/jniLibs"

die() { echo "build-native: $*" >&2; exit 1; }
command -v cargo-ndk >/dev/null || die "cargo-ndk missing: cargo install cargo-ndk"
if [ -z "${ANDROID_NDK_HOME:-}" ]; then
    sdk="${ANDROID_HOME:-${ANDROID_SDK_ROOT:-$HOME/Android/Sdk}}"
    ndk="$(ls -d "$sdk"/ndk/* 2>/dev/null | sort -V | tail -n1 || true)"
    [ -n "$ndk" ] || die "no Android NDK: set ANDROID_NDK_HOME"
    export ANDROID_NDK_HOME="$ndk"
fi
rustup target add aarch64-linux-android armv7-linux-androideabi x86_64-linux-android >/dev/null

args=()
for abi in "${abis[@]}"; do args+=(-t "$abi"); done
release=(); [ $profile = release ] && release=(--release)
cd "$root"
# -P 26: the module's minSdk. cargo-ndk strips nothing; the Android Gradle plugin strips on packaging.
cargo ndk "${args[@]}" -P 26 -o "$jni" build -p gridwork-ffi --lib "${release[@]}" --features "$features"

for abi in "${abis[@]}"; do
    [ -f "$jni/$abi/libgridwork_ffi.so" ] || die "no $jni/$abi/libgridwork_ffi.so"
done

# Kotlin bindings from the host build of the same sources (library mode reads the metadata,
# which is the same for every target).
"$root/ffi/generate.sh" "$root/target/bindings"
echo "build-native: ${abis[*]} in $jni; Kotlin bindings in target/bindings/kotlin"
