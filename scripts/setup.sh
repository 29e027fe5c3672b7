#!/usr/bin/env bash
# Install what building and testing gridwork needs on a fresh Debian machine.
# Idempotent; installs only what is missing. Needs root (or sudo) for apt.
set -euo pipefail

need=()
command -v cc >/dev/null || need+=(build-essential)
command -v pkg-config >/dev/null || need+=(pkg-config)
dpkg -s libssl-dev >/dev/null 2>&1 || need+=(libssl-dev)   # SQLCipher's crypto on Linux
python3 -c 'import venv, ensurepip' 2>/dev/null || need+=(python3-venv)   # tests/interop's venv
command -v chromium >/dev/null || need+=(chromium)                      # the console's browser tests
command -v chromedriver >/dev/null || need+=(chromium-driver)
# Printing tests (pdftotext/pdftoppm, zbarimg) and a CJK font for the PDFs and the
# console's screenshots.
command -v pdftotext >/dev/null || need+=(poppler-utils)
command -v zbarimg >/dev/null || need+=(zbar-tools)
[ -f /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ] || need+=(fonts-wqy-microhei)
# PostgreSQL: the second storage backend's tests run a private cluster (scripts/postgres.sh).
command -v initdb >/dev/null || compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || need+=(postgresql)

if [ ${#need[@]} -gt 0 ]; then
    sudo=""
    [ "$(id -u)" = 0 ] || sudo="sudo"
    echo "setup: installing ${need[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}"
fi

command -v cargo >/dev/null || { echo "setup: cargo not found; install Rust (rustup) first" >&2; exit 1; }

# s3s-fs: the S3-compatible server the blob store tests run against. 0.14.1 is the newest
# release that builds with Rust 1.95 (0.17 needs 1.96).
S3S_FS_VERSION=0.14.1
if ! command -v s3s-fs >/dev/null && [ ! -x "${CARGO_HOME:-$HOME/.cargo}/bin/s3s-fs" ]; then
    echo "setup: installing s3s-fs $S3S_FS_VERSION (cargo install)"
    cargo install s3s-fs --version "$S3S_FS_VERSION" --features binary --locked
fi
