#!/usr/bin/env bash
# Generate the Kotlin, Swift and Python bindings of gridwork-ffi in library mode.
#
#   ffi/generate.sh [OUT_DIR]      (default: target/bindings)
#
# Writes OUT_DIR/{kotlin,swift,python}/ and copies libgridwork_ffi.so next to the Python
# module (the generated gridwork.py loads it from its own folder).
# The bindgen binary needs `--features bindgen` (uniffi's code generators stay out of the
# library the apps ship); it is built in debug only: in release it takes minutes.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
out="${1:-target/bindings}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"

# Building the bindgen builds the library with uniffi's `cli` feature; build the plain
# library last so target/debug/libgridwork_ffi.so is the one the apps get.
cargo build -p gridwork-ffi --features bindgen --bin uniffi-bindgen
cargo build -p gridwork-ffi --lib
target_dir="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
lib="$target_dir/debug/libgridwork_ffi.so"
[ "$(uname)" = Darwin ] && lib="$target_dir/debug/libgridwork_ffi.dylib"
bindgen="$target_dir/debug/uniffi-bindgen"

for lang in kotlin swift python; do
    rm -rf "${out:?}/$lang"
    # --no-format: ktlint and swiftformat are not installed here.
    "$bindgen" generate --library "$lib" --language "$lang" --out-dir "$out/$lang" --no-format
done
cp "$lib" "$out/python/"
echo "bindings in $out/{kotlin,swift,python}"
