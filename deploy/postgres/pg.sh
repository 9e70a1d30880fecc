#!/usr/bin/env bash
# A local PostgreSQL for the API store and its tests, from Debian's `postgresql` package:
# its own port and data directory, trust authentication on 127.0.0.1 only (no Unix
# socket), database `pantau` created once. Idempotent, like deploy/kafka/broker.sh.
#
#   deploy/postgres/pg.sh start|stop|status|url|logs [N]
#
# Environment:
#   PANTAU_PG_PORT           TCP port on 127.0.0.1                        default 55432
#   PANTAU_PG_DIR            state dir (data, log)                        default <repo>/var/postgres
#   PANTAU_PG_DURABLE        0: fsync and synchronous commit off (tests)  default 1
#   PANTAU_PG_START_TIMEOUT  seconds to wait for readiness                default 60
#
# initdb refuses to run as root: as root, the server runs as the `postgres` user, which
# owns the state dir. Without the package's binaries, `start` installs it when root.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"

HOST=127.0.0.1
PORT="${PANTAU_PG_PORT:-55432}"
STATE_DIR="${PANTAU_PG_DIR:-$REPO/var/postgres}"
DURABLE="${PANTAU_PG_DURABLE:-1}"
START_TIMEOUT="${PANTAU_PG_START_TIMEOUT:-60}"
DATABASE=pantau
SUPERUSER=postgres

log() { echo "postgres: $*"; }
die() { echo "postgres: ERROR: $*" >&2; exit 1; }

for v in PORT START_TIMEOUT; do
    [[ "${!v}" =~ ^[0-9]+$ ]] || die "$v must be a number, got '${!v}'"
done

mkdir -p "$STATE_DIR"
STATE_DIR="$(cd "$STATE_DIR" && pwd)"
# As root the server runs as `postgres`, which must be able to reach the state dir; under
# a private home (mode 700) it cannot, and the state goes to /var/tmp instead.
if [[ "$(id -u)" == 0 ]]; then
    chown "$SUPERUSER": "$STATE_DIR"
    if ! runuser -u "$SUPERUSER" -- test -w "$STATE_DIR"; then
        STATE_DIR="/var/tmp/pantau-postgres-$(echo "$STATE_DIR" | sha256sum | cut -c1-12)"
        mkdir -p "$STATE_DIR"
        chown "$SUPERUSER": "$STATE_DIR"
    fi
fi
DATA_DIR="$STATE_DIR/data"
LOG_FILE="$STATE_DIR/postgres.log"

# The newest server binaries of Debian's package (not whatever `pg_ctl` is on PATH).
find_bin() {
    local dir
    dir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
    [[ -n "$dir" && -x "$dir/initdb" && -x "$dir/pg_ctl" ]] && echo "$dir"
}

ensure_bin() {
    BIN="$(find_bin || true)"
    if [[ -z "$BIN" ]]; then
        [[ "$(id -u)" == 0 ]] || die "PostgreSQL is not installed: apt-get install postgresql (as root)"
        log "installing Debian's postgresql package"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
        BIN="$(find_bin)" || die "postgresql installed, but no initdb under /usr/lib/postgresql"
    fi
}

# Run a server binary as the user that owns the data (postgres when we are root).
as_owner() {
    if [[ "$(id -u)" == 0 ]]; then
        runuser -u "$SUPERUSER" -- "$@"
    else
        "$@"
    fi
}

psql_cmd() {
    "$BIN/psql" -X -q -h "$HOST" -p "$PORT" -U "$SUPERUSER" -d postgres -v ON_ERROR_STOP=1 "$@"
}

init_cluster() {
    [[ -f "$DATA_DIR/PG_VERSION" ]] && return 0
    log "initdb in $DATA_DIR"
    as_owner "$BIN/initdb" -D "$DATA_DIR" -U "$SUPERUSER" --auth=trust --encoding=UTF8 \
        --locale=C.UTF-8 >"$STATE_DIR/initdb.log" 2>&1 ||
        { cat "$STATE_DIR/initdb.log" >&2; die "initdb failed"; }
    # Trust, but over TCP from 127.0.0.1 only: no socket, no other address.
    as_owner tee "$DATA_DIR/pg_hba.conf" >/dev/null <<EOF
# TYPE  DATABASE  USER  ADDRESS        METHOD
host    all       all   127.0.0.1/32   trust
EOF
}

running() {
    [[ -f "$DATA_DIR/PG_VERSION" ]] && as_owner "$BIN/pg_ctl" status -D "$DATA_DIR" >/dev/null 2>&1
}

# The port a running server listens on (line 4 of postmaster.pid).
running_port() { sed -n 4p "$DATA_DIR/postmaster.pid" 2>/dev/null; }

cmd_start() {
    ensure_bin
    init_cluster
    if running; then
        local port
        port="$(running_port)"
        [[ "$port" == "$PORT" ]] || die "already running on port $port, not $PORT ($DATA_DIR)"
        log "already running on $HOST:$PORT"
    else
        local opts="-p $PORT -c listen_addresses=$HOST -c unix_socket_directories= -c max_connections=300"
        if [[ "$DURABLE" == 0 ]]; then
            opts="$opts -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        fi
        # 9>&-: the server must not inherit (and so hold) the state lock.
        as_owner "$BIN/pg_ctl" start -D "$DATA_DIR" -l "$LOG_FILE" -w -t "$START_TIMEOUT" \
            -o "$opts" >/dev/null 9>&- || { tail -n 30 "$LOG_FILE" >&2 || true; die "did not start"; }
        log "started on $HOST:$PORT ($("$BIN/postgres" --version))"
    fi
    if [[ "$(psql_cmd -tAc "SELECT 1 FROM pg_database WHERE datname = '$DATABASE'")" != 1 ]]; then
        psql_cmd -c "CREATE DATABASE $DATABASE"
        log "created database $DATABASE"
    fi
    cmd_url
}

cmd_stop() {
    BIN="$(find_bin || true)"
    if [[ -z "$BIN" ]] || ! running; then
        log "not running"
        return 0
    fi
    as_owner "$BIN/pg_ctl" stop -D "$DATA_DIR" -m fast -w -t "$START_TIMEOUT" >/dev/null
    log "stopped"
}

cmd_status() {
    BIN="$(find_bin || true)"
    if [[ -n "$BIN" ]] && running; then
        echo "running port $(running_port) data $DATA_DIR"
    else
        echo "not running"
        return 1
    fi
}

cmd_url() { echo "postgresql+psycopg://$SUPERUSER@$HOST:$PORT/$DATABASE"; }

cmd_logs() {
    [[ -f "$LOG_FILE" ]] || die "no log yet at $LOG_FILE"
    tail -n "${1:-100}" "$LOG_FILE"
}

# Serialise start/stop on the same state dir.
lock_state() {
    if command -v flock >/dev/null 2>&1; then
        exec 9>"$STATE_DIR/pg.lock"
        flock -w 120 9 || die "another pg.sh holds $STATE_DIR/pg.lock"
    fi
}

usage() {
    cat >&2 <<EOF
usage: $0 start|stop|status|url|logs [N]
  start   install the package if missing (root), initdb once, start, create database $DATABASE;
          prints the SQLAlchemy URL
  stop    fast shutdown
  status  print "running port P data D" (exit 0) or "not running" (exit 1)
  url     print the SQLAlchemy URL of database $DATABASE
  logs    print the last N (100) lines of the server log
EOF
    exit 2
}

case "${1:-}" in
    start) lock_state; cmd_start ;;
    stop) lock_state; cmd_stop ;;
    status) cmd_status ;;
    url) cmd_url ;;
    logs) cmd_logs "${2:-}" ;;
    *) usage ;;
esac
