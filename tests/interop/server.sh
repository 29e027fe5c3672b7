# Sourced by run.sh and bench.sh (from the repository root): the venv with
# requirements.txt, and a real gridwork-server with the demo city in a temporary directory,
# stopped (SIGTERM, then waited for) when the calling script exits.
#
# After `start_server`: GRIDWORK_URL (its address), SERVER_PID, WORK (the temp dir; the
# server's stderr in $WORK/stderr).

if [ -z "${GRIDWORK_SERVER_BIN:-}" ]; then
    cargo build --release -p gridwork-server
    GRIDWORK_SERVER_BIN="$PWD/target/release/gridwork-server"
fi
VENV="${GRIDWORK_INTEROP_VENV:-$PWD/target/interop-venv}"
if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r tests/interop/requirements.txt

WORK="$(mktemp -d)"
SERVER_PID=""
stop_server() {
    if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID"
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap stop_server EXIT

start_server() {
    GRIDWORK_LOG=warn "$GRIDWORK_SERVER_BIN" demo --data "$WORK/data" --addr 127.0.0.1:0 >"$WORK/stdout" 2>"$WORK/stderr" &
    SERVER_PID=$!
    local url=""
    for _ in $(seq 1 1200); do
        url="$(sed -n 's/^gridwork-server listening on //p' "$WORK/stdout" | head -n 1)"
        [ -n "$url" ] && break
        if ! kill -0 "$SERVER_PID" 2>/dev/null; then
            echo "interop: gridwork-server exited before listening" >&2
            cat "$WORK/stderr" >&2
            exit 1
        fi
        sleep 0.1
    done
    if [ -z "$url" ]; then
        echo "interop: gridwork-server did not report its address in 120 s" >&2
        exit 1
    fi
    export GRIDWORK_URL="$url" SERVER_PID
    echo "interop: gridwork-server (pid $SERVER_PID) at $GRIDWORK_URL"
}

# Fail if the server panicked at any point (a panic in a streamed body is not a 500).
check_no_panic() {
    if grep -q "panicked" "$WORK/stderr"; then
        echo "interop: the server panicked" >&2
        cat "$WORK/stderr" >&2
        exit 1
    fi
}
