#!/usr/bin/env bash
# A private PostgreSQL cluster for the tests, on a loopback port: `start` (idempotent; prints
# the admin connection string), `url`, `stop`. The storage and end-to-end tests call `start`
# themselves when GRIDWORK_TEST_POSTGRES is not set, so `cargo test` works on its own; the
# cluster is then left running for the next run (scripts/test.sh stops the one it started).
# initdb refuses to run as root: as root, the cluster runs as the `postgres` user.
set -euo pipefail

dir="${GRIDWORK_PG_DIR:-/tmp/gridwork-pg-$(id -u)}"
port="${GRIDWORK_PG_PORT:-54329}"
url="postgres://postgres@127.0.0.1:$port/postgres"

bin=""
if command -v initdb >/dev/null; then
    bin="$(dirname "$(command -v initdb)")"
else
    for d in /usr/lib/postgresql/*/bin; do [ -x "$d/initdb" ] && bin="$d"; done
fi
[ -n "$bin" ] || { echo "postgres.sh: PostgreSQL is not installed (scripts/setup.sh installs it)" >&2; exit 1; }

as_owner() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "${1:-start}" in
start)
    mkdir -p "$dir"
    [ "$(id -u)" = 0 ] && chown postgres: "$dir"
    # One starter at a time (test binaries may race here).
    exec 9>"$dir.lock"
    flock 9
    if ! as_owner "$bin/pg_ctl" status -D "$dir/data" >/dev/null 2>&1; then
        if [ ! -f "$dir/data/PG_VERSION" ]; then
            as_owner "$bin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
                || { cat "$dir/initdb.log" >&2; exit 1; }
        fi
        # fsync off: a throwaway cluster for tests, never a deployment.
        as_owner "$bin/pg_ctl" start -w -D "$dir/data" -l "$dir/server.log" \
            -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=400" \
            >/dev/null 9>&- || { tail -20 "$dir/server.log" >&2; exit 1; }
    fi
    echo "$url"
    ;;
url)
    echo "$url"
    ;;
stop)
    if [ -f "$dir/data/PG_VERSION" ]; then as_owner "$bin/pg_ctl" stop -D "$dir/data" -m fast >/dev/null 2>&1 || true; fi
    ;;
*)
    echo "usage: postgres.sh start|url|stop" >&2
    exit 2
    ;;
esac
