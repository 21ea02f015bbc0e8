#!/usr/bin/env bash
# Starts a private PostgreSQL 15 instance for the tests and prints the URL to use as
# ACCORD_TEST_DATABASE_URL. It never touches the system cluster: data, socket and log live in
# a fresh temporary folder, the server listens on 127.0.0.1 only, on a free port.
#   start: eval "$(.ci/postgres.sh start)"   -> exports ACCORD_TEST_DATABASE_URL, ACCORD_PG_DIR
#   stop:  .ci/postgres.sh stop "$ACCORD_PG_DIR"
set -euo pipefail
bin=/usr/lib/postgresql/15/bin

as_postgres() {
    # From /, which the postgres user may enter whatever the caller's folder.
    if [ "$(id -u)" = 0 ]; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi
}

case "${1:-}" in
start)
    dir=$(mktemp -d /tmp/accord-pg.XXXXXX)
    [ "$(id -u)" = 0 ] && chown postgres "$dir"
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    as_postgres "$bin/initdb" -D "$dir/data" -A trust -U postgres >"$dir/initdb.log" 2>&1
    as_postgres "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w \
        -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=200 -c fsync=off" start >/dev/null
    as_postgres "$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres accord_test
    echo "export ACCORD_PG_DIR=$dir"
    echo "export ACCORD_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:$port/accord_test"
    ;;
stop)
    dir=${2:?usage: postgres.sh stop DIR}
    as_postgres "$bin/pg_ctl" -D "$dir/data" -m fast stop >/dev/null || true
    rm -rf "$dir"
    ;;
*)
    echo "usage: $0 start | stop DIR" >&2
    exit 2
    ;;
esac
