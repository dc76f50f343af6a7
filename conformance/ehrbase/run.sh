#!/usr/bin/env bash
# A real EHRbase for ehrgate's contract suite (issue 27).
#
#   run.sh start   fresh PostgreSQL cluster on 127.0.0.1:22432, the database
#                  EHRbase needs (createdb.sql), EHRbase (assembled by pom.xml)
#                  with Basic auth on 127.0.0.1:22080; waits until it answers
#                  an authenticated openEHR request, then prints the env lines
#                  the contract suite reads (also written to $RUN/env).
#   run.sh stop    stops EHRbase, then PostgreSQL. Safe to repeat.
#   run.sh env     prints the env lines of the running instance.
#
# Every step is bounded: the build, PostgreSQL start and EHRbase start have
# timeouts; a failure prints the tail of the log that explains it and exits
# non-zero, after stopping what this run started. State lives under $RUN
# (default /tmp/ehrgate-ehrbase) and is wiped on every start, so each start
# is a fresh, empty EHRbase.
#
# Environment (all optional):
#   EHRGATE_EHRBASE_RUN            state directory (default /tmp/ehrgate-ehrbase)
#   EHRGATE_EHRBASE_START_TIMEOUT  seconds to wait for EHRbase (default 300)
#   EHRGATE_EHRBASE_HEAP           JVM heap (default 768m)
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
RUN="${EHRGATE_EHRBASE_RUN:-/tmp/ehrgate-ehrbase}"
PG_PORT=22432
HTTP_PORT=22080
START_TIMEOUT="${EHRGATE_EHRBASE_START_TIMEOUT:-300}"
HEAP="${EHRGATE_EHRBASE_HEAP:-768m}"
# The Basic credentials application.yml configures (test-only, loopback).
AUTH_USER=ehrgate-contract
AUTH_PASSWORD=contract-test-only
BASE_URL="http://127.0.0.1:${HTTP_PORT}/ehrbase/rest/openehr/v1"
MAIN_CLASS=org.ehrgate.conformance.ehrbase.EhrbaseServer

log() { echo "ehrbase/run.sh: $*" >&2; }
die() { log "FAILED: $*"; exit 1; }

# === tools ===

# A JDK new enough for EHRbase 2.x (21+), from /usr/lib/jvm, newest first.
find_java_home() {
    local best="" best_major=0 d major
    for d in /usr/lib/jvm/*; do
        [ -x "$d/bin/java" ] && [ -x "$d/bin/javac" ] && [ -f "$d/release" ] || continue
        major="$(sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$d/release")"
        [ -n "$major" ] || continue
        if [ "$major" -ge 21 ] && [ "$major" -gt "$best_major" ]; then
            best="$d"
            best_major="$major"
        fi
    done
    [ -n "$best" ] || die "no JDK 21 or newer under /usr/lib/jvm (EHRbase 2.x needs one): $(ls /usr/lib/jvm 2>/dev/null | tr '\n' ' ')"
    echo "$best"
}

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# Debian's PostgreSQL server binaries, installed when missing.
find_pg_bin() {
    local bin
    bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
    if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
        command -v apt-get >/dev/null 2>&1 || die "PostgreSQL is not installed and apt-get is unavailable"
        log "installing PostgreSQL (apt-get install postgresql)"
        as_root apt-get update -qq
        DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq postgresql >/dev/null
        bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
        [ -n "$bin" ] && [ -x "$bin/initdb" ] || die "apt-get installed postgresql but no initdb under /usr/lib/postgresql"
    fi
    echo "$bin"
}

# PostgreSQL refuses to run as root: then the cluster belongs to `postgres`.
pg_user() {
    if [ "$(id -u)" -eq 0 ]; then echo postgres; else id -un; fi
}

as_pg() {
    if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# === start ===

# Another process on our port would answer in EHRbase's place.
port_free() {
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then
        die "127.0.0.1:$1 is already in use (another EHRbase or PostgreSQL? try: $0 stop)"
    fi
}

build() {
    local java_home="$1"
    local stamp="$HERE/target/.built"
    if [ -f "$stamp" ] && [ "$stamp" -nt "$HERE/pom.xml" ] \
        && [ -z "$(find "$HERE/src" -newer "$stamp" -type f 2>/dev/null)" ]; then
        return 0
    fi
    if ! command -v mvn >/dev/null 2>&1; then
        command -v apt-get >/dev/null 2>&1 || die "Maven is not installed and apt-get is unavailable"
        log "installing Maven (apt-get install maven)"
        as_root apt-get update -qq
        DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends maven >/dev/null
    fi
    log "assembling EHRbase with Maven (pom.xml)"
    if ! JAVA_HOME="$java_home" timeout 900 mvn -B -q -f "$HERE/pom.xml" package >"$RUN/mvn.log" 2>&1; then
        tail -n 40 "$RUN/mvn.log" >&2
        die "Maven could not assemble EHRbase (full log: $RUN/mvn.log)"
    fi
    touch "$stamp"
}

start_pg() {
    local bin="$1" user
    user="$(pg_user)"
    mkdir -p "$RUN/pg" "$RUN/sock"
    if [ "$(id -u)" -eq 0 ]; then chown "$user" "$RUN/pg" "$RUN/sock"; fi
    chmod 700 "$RUN/pg"
    # Superuser only over the private socket; the EHRbase roles log in over
    # TCP with their passwords.
    as_pg "$bin/initdb" -D "$RUN/pg" -U postgres -E UTF8 --locale=C \
        --auth-local=trust --auth-host=scram-sha-256 >"$RUN/initdb.log" 2>&1 \
        || { tail -n 20 "$RUN/initdb.log" >&2; die "initdb failed"; }
    touch "$RUN/pg.log"
    if [ "$(id -u)" -eq 0 ]; then chown "$user" "$RUN/pg.log"; fi
    as_pg "$bin/pg_ctl" -D "$RUN/pg" -l "$RUN/pg.log" -w -t 60 \
        -o "-p $PG_PORT -c listen_addresses=127.0.0.1 -k $RUN/sock" start >/dev/null \
        || { tail -n 20 "$RUN/pg.log" >&2; die "PostgreSQL did not start on 127.0.0.1:$PG_PORT"; }
    as_pg "$bin/psql" -q -X -h "$RUN/sock" -p "$PG_PORT" -U postgres -d postgres \
        -v ON_ERROR_STOP=1 -f "$HERE/createdb.sql" >"$RUN/createdb.log" 2>&1 \
        || { cat "$RUN/createdb.log" >&2; die "createdb.sql failed"; }
}

start_ehrbase() {
    local java_home="$1"
    mkdir -p "$RUN/app"
    # setsid: EHRbase gets its own process group, so stop can end all of it.
    (
        cd "$RUN/app"
        exec setsid "$java_home/bin/java" -Xms256m -Xmx"$HEAP" -XX:+UseSerialGC \
            -cp "$HERE/target/classes:$HERE/target/lib/*" "$MAIN_CLASS" \
            --spring.profiles.active=ehrgate-contract \
            --spring.config.additional-location="file:$HERE/application.yml" \
            </dev/null >"$RUN/ehrbase.log" 2>&1
    ) &
    echo $! >"$RUN/ehrbase.pid"
}

wait_ready() {
    local pid deadline code
    pid="$(cat "$RUN/ehrbase.pid")"
    deadline=$((SECONDS + START_TIMEOUT))
    while :; do
        if ! kill -0 "$pid" 2>/dev/null; then
            tail -n 60 "$RUN/ehrbase.log" >&2
            die "EHRbase exited during start (full log: $RUN/ehrbase.log)"
        fi
        code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 \
            -u "$AUTH_USER:$AUTH_PASSWORD" -H 'Accept: application/json' \
            "$BASE_URL/definition/template/adl1.4" || true)"
        [ "$code" = 200 ] && return 0
        if [ "$SECONDS" -ge "$deadline" ]; then
            tail -n 60 "$RUN/ehrbase.log" >&2
            die "EHRbase not ready after ${START_TIMEOUT}s (last status: ${code:-none}; full log: $RUN/ehrbase.log)"
        fi
        sleep 2
    done
}

# EHRbase records the authenticated user as a party on its first write;
# concurrent first writes race and the losers get 500 ("User already
# created concurrently by different request"). One write here, so the
# suite's parallel cases start with the user known.
first_write() {
    local code
    code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 30 -X POST \
        -u "$AUTH_USER:$AUTH_PASSWORD" "$BASE_URL/ehr" || true)"
    [ "$code" = 201 ] || die "EHRbase refused the first write (POST /ehr: ${code:-no answer}; log: $RUN/ehrbase.log)"
}

print_env() {
    echo "export EHRGATE_EHRBASE_URL=$BASE_URL"
    echo "export EHRGATE_EHRBASE_USER=$AUTH_USER"
    echo "export EHRGATE_EHRBASE_PASSWORD=$AUTH_PASSWORD"
}

start() {
    stop_all quiet
    rm -rf "$RUN"
    mkdir -p "$RUN"
    chmod 755 "$RUN"
    local java_home pg_bin t0=$SECONDS
    java_home="$(find_java_home)"
    pg_bin="$(find_pg_bin)"
    log "JDK $java_home, PostgreSQL $pg_bin"
    build "$java_home"
    port_free "$PG_PORT"
    port_free "$HTTP_PORT"
    # From here on a failure (die exits) stops what was started.
    trap 'stop_all quiet' EXIT
    start_pg "$pg_bin"
    start_ehrbase "$java_home"
    wait_ready
    first_write
    trap - EXIT
    print_env >"$RUN/env"
    log "EHRbase ready at $BASE_URL after $((SECONDS - t0))s (log: $RUN/ehrbase.log)"
    print_env
}

# === stop ===

stop_ehrbase() {
    local pid i
    [ -f "$RUN/ehrbase.pid" ] || return 0
    pid="$(cat "$RUN/ehrbase.pid")"
    if kill -0 "$pid" 2>/dev/null; then
        # The group setsid made: the JVM and anything it forked.
        kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
        for i in $(seq 1 30); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 1
        done
        if kill -0 "$pid" 2>/dev/null; then
            log "EHRbase ignored TERM for 30s, killing it"
            kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
        fi
    fi
    rm -f "$RUN/ehrbase.pid"
}

stop_pg() {
    local bin
    [ -f "$RUN/pg/postmaster.pid" ] || return 0
    bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
    [ -n "$bin" ] || return 0
    as_pg "$bin/pg_ctl" -D "$RUN/pg" -m fast -w -t 30 stop >/dev/null 2>&1 \
        || as_pg "$bin/pg_ctl" -D "$RUN/pg" -m immediate -w -t 30 stop >/dev/null 2>&1 \
        || log "PostgreSQL in $RUN/pg did not stop"
}

stop_all() {
    [ -d "$RUN" ] || return 0
    # No env lines for a server that is gone.
    rm -f "$RUN/env"
    stop_ehrbase
    stop_pg
    [ "${1:-}" = quiet ] || log "stopped"
}

case "${1:-}" in
    start) start ;;
    stop) stop_all ;;
    env)
        [ -f "$RUN/env" ] || die "not running (no $RUN/env)"
        cat "$RUN/env"
        ;;
    *)
        echo "usage: $0 start|stop|env" >&2
        exit 2
        ;;
esac
