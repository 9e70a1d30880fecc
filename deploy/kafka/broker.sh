#!/usr/bin/env bash
# Single-node Apache Kafka broker (KRaft, combined broker + controller) on 127.0.0.1,
# run from the released jars on Maven Central; no Docker, no Kafka tarball.
#
#   deploy/kafka/broker.sh start|stop|status|restart|fetch|logs
#
# Environment:
#   PANTAU_KAFKA_PORT             client (PLAINTEXT) port            default 9092
#   PANTAU_KAFKA_CONTROLLER_PORT  KRaft controller port              default 9093
#   PANTAU_KAFKA_DIR              state dir (data, log, pid, config) default <repo>/var/kafka
#   PANTAU_KAFKA_HEAP_OPTS        JVM heap flags                     default "-Xms512m -Xmx1g"
#   PANTAU_KAFKA_START_TIMEOUT    seconds to wait for readiness      default 90
#   PANTAU_KAFKA_STOP_TIMEOUT     seconds between SIGTERM and SIGKILL default 30
#   JAVA_HOME / MVN / PYTHON      tools to use (java 17+, mvn, python3)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"

HOST=127.0.0.1
PORT="${PANTAU_KAFKA_PORT:-9092}"
CONTROLLER_PORT="${PANTAU_KAFKA_CONTROLLER_PORT:-9093}"
STATE_DIR="${PANTAU_KAFKA_DIR:-$REPO/var/kafka}"
HEAP_OPTS="${PANTAU_KAFKA_HEAP_OPTS:--Xms512m -Xmx1g}"
START_TIMEOUT="${PANTAU_KAFKA_START_TIMEOUT:-90}"
STOP_TIMEOUT="${PANTAU_KAFKA_STOP_TIMEOUT:-30}"
MVN="${MVN:-mvn}"
PYTHON="${PYTHON:-python3}"
if [[ -n "${JAVA_HOME:-}" && -x "$JAVA_HOME/bin/java" ]]; then
    JAVA="$JAVA_HOME/bin/java"
else
    JAVA=java
fi

POM="$HERE/pom.xml"
LIB="$HERE/lib"
STAMP="$LIB/.pom.sha256"
TEMPLATE="$HERE/server.properties.template"
LOG4J_CONF="$HERE/log4j2.properties"

log() { echo "kafka: $*"; }
die() { echo "kafka: ERROR: $*" >&2; exit 1; }

for v in PORT CONTROLLER_PORT START_TIMEOUT STOP_TIMEOUT; do
    [[ "${!v}" =~ ^[0-9]+$ ]] || die "$v must be a number, got '${!v}'"
done
[[ "$PORT" != "$CONTROLLER_PORT" ]] || die "client port and controller port are both $PORT"

# The state dir as an absolute path (the broker's config refers to it).
mkdir -p "$STATE_DIR"
STATE_DIR="$(cd "$STATE_DIR" && pwd)"
DATA_DIR="$STATE_DIR/data"
CONF="$STATE_DIR/server.properties"
PID_FILE="$STATE_DIR/broker.pid"
PORT_FILE="$STATE_DIR/broker.port"
CLUSTER_ID_FILE="$STATE_DIR/cluster.id"
LOG_FILE="$STATE_DIR/broker.log"

kafka_version() { sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$POM" | head -n 1; }

hash_file() {
    if command -v sha256sum >/dev/null 2>&1; then
        sha256sum "$1" | cut -d' ' -f1
    else
        shasum -a 256 "$1" | cut -d' ' -f1
    fi
}

# True if PID is a live Kafka broker started from this state dir.
is_our_broker() {
    local pid="$1" args
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    kill -0 "$pid" 2>/dev/null || return 1
    # -ww: never cut at $COLUMNS (pytest-xdist workers set it), or the config path is lost.
    args="$(ps -ww -p "$pid" -o args= 2>/dev/null || true)"
    [[ "$args" == *kafka.Kafka* && "$args" == *"$CONF"* ]]
}

# Prints the broker's pid and succeeds if it runs.
running_pid() {
    local pid
    [[ -f "$PID_FILE" ]] || return 1
    pid="$(<"$PID_FILE")"
    is_our_broker "$pid" || return 1
    echo "$pid"
}

# probe port|metadata PORT: one attempt to connect (and send a Metadata request).
probe() {
    "$PYTHON" - "$HOST" "$2" "$1" <<'PY'
import socket
import struct
import sys

host, port, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]


def recv_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("connection closed")
        buf += chunk
    return buf


try:
    with socket.create_connection((host, port), timeout=3) as sock:
        if mode == "metadata":
            # Metadata v4 (header v1): no topics, no auto-creation.
            client_id = b"pantau-broker-sh"
            body = struct.pack(">hhih", 3, 4, 7, len(client_id)) + client_id
            body += struct.pack(">i?", 0, False)
            sock.sendall(struct.pack(">i", len(body)) + body)
            (size,) = struct.unpack(">i", recv_exact(sock, 4))
            resp = recv_exact(sock, size)
            correlation_id, _throttle, brokers = struct.unpack(">iii", resp[:12])
            sys.exit(0 if correlation_id == 7 and brokers >= 1 else 1)
except (OSError, struct.error):
    sys.exit(1)
sys.exit(0)
PY
}

check_tools() {
    command -v "$PYTHON" >/dev/null 2>&1 || die "'$PYTHON' not found (set PYTHON)"
    command -v "$JAVA" >/dev/null 2>&1 || die "java not found (Java 17+ is required; set JAVA_HOME)"
    local version major
    version="$("$JAVA" -version 2>&1 | sed -n 's/.*version "\([^"]*\)".*/\1/p' | head -n 1)"
    major="${version%%.*}"
    [[ "$major" =~ ^[0-9]+$ && "$major" -ge 17 ]] \
        || die "Kafka $(kafka_version) needs Java 17 or newer, found '${version:-unknown}' ($JAVA)"
}

jars_current() {
    [[ -f "$STAMP" && "$(<"$STAMP")" == "$(hash_file "$POM")" ]] \
        && compgen -G "$LIB/kafka_2.13-*.jar" >/dev/null
}

# Resolve the jars into lib/ when lib/ is missing or pom.xml changed since the last fetch.
fetch_jars() {
    local tmp="$HERE/target/lib.tmp"
    jars_current && return 0
    # lib/ is shared by every state dir: one fetch at a time (lock held on pom.xml).
    exec 8<"$POM"
    command -v flock >/dev/null 2>&1 && flock -w 600 8
    if jars_current; then
        exec 8<&-
        return 0
    fi
    command -v "$MVN" >/dev/null 2>&1 || die "Maven ('$MVN') not found; it is needed once to fetch the Kafka jars"
    log "fetching Kafka $(kafka_version) jars from Maven Central into $LIB ..."
    rm -rf "$tmp"
    if ! (cd "$HERE" && "$MVN" -q -B dependency:copy-dependencies \
            -DincludeScope=runtime -DoutputDirectory="$tmp") >"$STATE_DIR/mvn.log" 2>&1; then
        cat "$STATE_DIR/mvn.log" >&2
        rm -rf "$tmp"
        die "Maven could not resolve the Kafka jars (output above, also in $STATE_DIR/mvn.log)"
    fi
    compgen -G "$tmp/kafka_2.13-*.jar" >/dev/null || die "Maven ran but no kafka_2.13 jar arrived in $tmp"
    hash_file "$POM" >"$tmp/.pom.sha256"
    rm -rf "$LIB"
    mv "$tmp" "$LIB"
    rmdir "$HERE/target" 2>/dev/null || true
    exec 8<&-
}

new_cluster_id() {
    # 16 random bytes, base64url without padding (22 chars), not starting with '-'.
    local id
    while :; do
        id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')"
        [[ "${#id}" -eq 22 && "$id" != -* ]] && break
    done
    echo "$id"
}

render_config() {
    local text
    text="$(<"$TEMPLATE")"
    text="${text//@HOST@/$HOST}"
    text="${text//@PORT@/$PORT}"
    text="${text//@CONTROLLER_PORT@/$CONTROLLER_PORT}"
    text="${text//@DATA_DIR@/$DATA_DIR}"
    printf '%s\n' "$text" >"$CONF.tmp"
    mv "$CONF.tmp" "$CONF"
}

format_storage() {
    # KRaft never formats itself; the cluster id is generated once and kept.
    [[ -f "$DATA_DIR/meta.properties" ]] && return 0
    [[ -s "$CLUSTER_ID_FILE" ]] || new_cluster_id >"$CLUSTER_ID_FILE"
    log "formatting KRaft storage in $DATA_DIR (cluster id $(<"$CLUSTER_ID_FILE"))"
    if ! "$JAVA" -Xmx256m -cp "$LIB/*" -Dlog4j2.configurationFile="$LOG4J_CONF" \
            kafka.tools.StorageTool format --standalone --ignore-formatted \
            -t "$(<"$CLUSTER_ID_FILE")" -c "$CONF" >"$STATE_DIR/format.log" 2>&1; then
        cat "$STATE_DIR/format.log" >&2
        die "formatting the storage failed"
    fi
}

fail_start() {
    local pid="$1" msg="$2"
    if is_our_broker "$pid"; then
        kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$PID_FILE"
    {
        echo "kafka: ---- last 60 lines of $LOG_FILE ----"
        tail -n 60 "$LOG_FILE" 2>/dev/null || true
        echo "kafka: ----"
    } >&2
    die "$msg"
}

cmd_start() {
    local pid started heap_opts detach
    if pid="$(running_pid)"; then
        log "already running (pid $pid, port $(cat "$PORT_FILE" 2>/dev/null || echo "$PORT"))"
        return 0
    fi
    check_tools
    probe port "$PORT" && die "port $HOST:$PORT is already in use by another process"
    probe port "$CONTROLLER_PORT" && die "controller port $HOST:$CONTROLLER_PORT is already in use by another process"
    fetch_jars
    render_config
    format_storage

    [[ -s "$LOG_FILE" ]] && mv -f "$LOG_FILE" "$LOG_FILE.1"
    read -r -a heap_opts <<<"$HEAP_OPTS"
    detach=()
    command -v setsid >/dev/null 2>&1 && detach=(setsid)
    rm -f "$PID_FILE"
    started=$SECONDS
    # Own session, so the broker outlives this script and ignores the caller's Ctrl-C.
    # fd 9 (the start lock) is closed for the broker.
    # shellcheck disable=SC2016  # $$ and $@ belong to the inner shell
    "${detach[@]}" bash -c 'echo $$ >"$1"; shift; exec "$@"' _ "$PID_FILE" \
        "$JAVA" -server "${heap_opts[@]}" \
        -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 \
        -XX:+ExplicitGCInvokesConcurrent -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true \
        -Dlog4j2.configurationFile="$LOG4J_CONF" -Dkafka.logs.dir="$STATE_DIR" \
        -cp "$LIB/*" kafka.Kafka "$CONF" \
        </dev/null >>"$LOG_FILE" 2>&1 9>&- &
    # The pid file is written by the child; wait for it briefly.
    for _ in $(seq 50); do
        [[ -s "$PID_FILE" ]] && break
        sleep 0.1
    done
    pid="$(cat "$PID_FILE" 2>/dev/null || true)"
    [[ "$pid" =~ ^[0-9]+$ ]] || fail_start "" "the broker process did not start"
    echo "$PORT" >"$PORT_FILE"
    log "starting Kafka $(kafka_version) (pid $pid) on $HOST:$PORT, state dir $STATE_DIR"

    while :; do
        is_our_broker "$pid" || fail_start "$pid" "the broker exited during startup (log: $LOG_FILE)"
        probe metadata "$PORT" && break
        if (( SECONDS - started >= START_TIMEOUT )); then
            fail_start "$pid" "the broker was not ready within ${START_TIMEOUT}s (log: $LOG_FILE)"
        fi
        sleep 0.5
    done
    log "ready on $HOST:$PORT (pid $pid, $((SECONDS - started))s)"
}

cmd_stop() {
    local pid i
    if ! pid="$(running_pid)"; then
        log "not running"
        rm -f "$PID_FILE"
        return 0
    fi
    log "stopping (pid $pid) ..."
    kill -TERM "$pid" 2>/dev/null || true
    for (( i = 0; i < STOP_TIMEOUT * 10; i++ )); do
        is_our_broker "$pid" || break
        sleep 0.1
    done
    if is_our_broker "$pid"; then
        log "still running after ${STOP_TIMEOUT}s, sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
        for (( i = 0; i < 100; i++ )); do
            is_our_broker "$pid" || break
            sleep 0.1
        done
    fi
    rm -f "$PID_FILE"
    log "stopped"
}

cmd_status() {
    local pid
    if pid="$(running_pid)"; then
        echo "running pid $pid port $(cat "$PORT_FILE" 2>/dev/null || echo "$PORT")"
        return 0
    fi
    echo "not running"
    return 1
}

cmd_fetch() {
    local pid
    if pid="$(running_pid)"; then
        die "the broker runs (pid $pid); stop it before replacing its jars"
    fi
    fetch_jars
    log "jars for Kafka $(kafka_version) are in $LIB"
}

cmd_logs() {
    [[ -f "$LOG_FILE" ]] || die "no log yet at $LOG_FILE"
    tail -n "${1:-100}" "$LOG_FILE"
}

# Serialise start/stop/restart on the same state dir.
lock_state() {
    if command -v flock >/dev/null 2>&1; then
        exec 9>"$STATE_DIR/broker.lock"
        flock -w 180 9 || die "another broker.sh holds $STATE_DIR/broker.lock"
    fi
}

usage() {
    cat >&2 <<EOF
usage: $0 start|stop|status|restart|fetch|logs [N]
  start    fetch jars if needed, format storage once, start and wait until ready
  stop     SIGTERM, then SIGKILL after ${STOP_TIMEOUT}s
  status   print "running pid N port P" (exit 0) or "not running" (exit 1)
  restart  stop, then start
  fetch    resolve the jars into $LIB
  logs     print the last N (100) lines of the broker log
EOF
    exit 2
}

case "${1:-}" in
    start) lock_state; cmd_start ;;
    stop) lock_state; cmd_stop ;;
    restart) lock_state; cmd_stop; cmd_start ;;
    status) cmd_status ;;
    fetch) lock_state; cmd_fetch ;;
    logs) cmd_logs "${2:-}" ;;
    *) usage ;;
esac
