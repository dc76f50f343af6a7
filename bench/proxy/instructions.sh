#!/usr/bin/env bash
# Instructions per proxied request, counted by valgrind's callgrind: a
# figure that does not move with the machine's load, for a before/after
# comparison on a machine that is not quiet (wall-clock req/s and CPU time
# per request from bench/proxy/run.sh swing by 20 % there).
#
# Each ehrgate binary serves the same config as run.sh (tenant header; a
# plain route and a 10 % sticky split route) under callgrind. After a
# warm-up, the counters are zeroed, N keep-alive GETs with a new patient id
# each are sent over 4 connections (h2load --h1, fixed count), and the
# counters are dumped: instructions / N is the cost of one request in the
# gateway's own process (kernel time is not counted).
#
# Usage: bench/proxy/instructions.sh BINARY [BINARY...]
#   N=2000 requests per route (default)
#   ANNOTATE=1 also writes each binary's functions by cost to
#                /tmp/icount-top-ROUTE-BINARYNAME.txt (callgrind_annotate)
# Needs valgrind, nginx and h2load (nghttp2-client).
set -euo pipefail
cd "$(dirname "$0")/../.."
N="${N:-2000}"
WORK="$(mktemp -d /tmp/ehrgate-icount.XXXXXX)"
UP=18181 EG=18191
cleanup() {
  [ -n "${EG_PID:-}" ] && kill "$EG_PID" 2>/dev/null || true
  [ -f "$WORK/up.pid" ] && kill "$(cat "$WORK/up.pid")" 2>/dev/null || true
  sleep 0.3
  rm -rf "$WORK"
}
trap cleanup EXIT
echo "== load average before: $(cut -d' ' -f1-3 /proc/loadavg) (instruction counts do not depend on it)"

mkdir -p "$WORK/up"
cat >"$WORK/up.conf" <<EOF
worker_processes 1;
pid $WORK/up.pid;
error_log $WORK/up/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  keepalive_requests 1000000;
  server { listen 127.0.0.1:$UP; location / { default_type application/fhir+json; return 200 '{"resourceType":"Patient","id":"example","active":true}'; } }
}
EOF
/usr/sbin/nginx -c "$WORK/up.conf" -p "$WORK/up"

cat >"$WORK/ehrgate.toml" <<EOF
[server]
reload_poll_ms = 0
max_attempts = 1

[[listener]]
bind = "127.0.0.1:$EG"

[[backend]]
name = "stable"
url = "http://127.0.0.1:$UP"
kind = "fhir"

[[backend]]
name = "canary"
url = "http://127.0.0.1:$UP"
kind = "fhir"

[tenancy]
resolve = ["header"]

[[tenant]]
id = "acme"

[[route]]
id = "plain"
path_prefix = "/plain"
stable = "stable"

[[route]]
id = "fhir"
path_prefix = "/fhir"
stable = "stable"
canary = "canary"
weight = 10
sticky = "patient"
EOF

# URIs with a new patient per request (h2load takes them from a file).
for prefix in plain fhir; do
  awk -v n="$N" -v p="$prefix" -v port="$EG" 'BEGIN{srand(7); for (i = 1; i <= n; i++) printf "http://127.0.0.1:%s/%s/Patient/p%d-%d\n", port, p, i, int(rand()*1000000)}' >"$WORK/$prefix.uris"
done

load() { # PREFIX COUNT
  h2load --h1 -n "$2" -c 4 -H "x-tenant-id: acme" -i "$WORK/$1.uris" >"$WORK/h2load.txt" 2>&1
  grep -q "succeeded, 0 failed, 0 errored" "$WORK/h2load.txt" || { cat "$WORK/h2load.txt"; exit 1; }
  awk '/status codes:/ {if ($3 != '"$2"') {print "not all 2xx: " $0; exit 1}}' "$WORK/h2load.txt"
}

printf "| binary | route | instructions per request |\n|---|---|---|\n"
for bin in "$@"; do
  EHRGATE_LOG=warn valgrind --tool=callgrind --collect-atstart=yes \
    --callgrind-out-file="$WORK/cg.%p" "$bin" serve --config "$WORK/ehrgate.toml" 2>"$WORK/vg.log" &
  EG_PID=$!
  for _ in $(seq 300); do (echo >"/dev/tcp/127.0.0.1/$EG") 2>/dev/null && break; sleep 0.1; done
  for prefix in plain fhir; do
    load "$prefix" 200 # warm-up: connections, caches
    callgrind_control -z "$EG_PID" >/dev/null 2>&1
    load "$prefix" "$N"
    callgrind_control -d "$prefix" "$EG_PID" >/dev/null 2>&1
    sleep 0.5
    f=$(ls -t "$WORK"/cg.*.* | head -1) # the dump just written (cg.PID.K)
    total=$(callgrind_annotate "$f" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1; exit}')
    printf "| %s | %s | %s |\n" "$bin" "$prefix" "$((total / N))"
    if [ "${ANNOTATE:-0}" = 1 ]; then
      callgrind_annotate --threshold=100 --auto=no "$f" >"/tmp/icount-top-$prefix-$(basename "$bin").txt" 2>/dev/null
      echo "   (functions: /tmp/icount-top-$prefix-$(basename "$bin").txt)"
    fi
    [ "${KEEP:-0}" = 1 ] && cp "$f" "/tmp/icount-$prefix-$(basename "$bin").cg"
    rm -f "$f"
  done
  kill "$EG_PID"; wait "$EG_PID" 2>/dev/null || true; EG_PID=
done
