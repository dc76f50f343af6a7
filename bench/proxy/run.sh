#!/usr/bin/env bash
# ehrgate proxy benchmark: one upstream (nginx serving a small static body),
# then in one run: the upstream directly, nginx `proxy_pass`, ehrgate on a
# plain route (tenant header, no split) and ehrgate on a route with tenant
# resolution and a 10 % sticky canary split (sticky on the patient id in the
# path, a new patient per request).
#
# Throughput: wrk -t2 -c64 (keep-alive). Added latency: wrk -t1 -c1, p50/p99
# minus the direct upstream's. CPU per request: utime+stime of the proxy's
# processes (from /proc) over the run, divided by the requests served.
# Canary share: requests the canary port logged / requests sent.
#
# Usage: bench/proxy/run.sh [seconds per run, default 10]
# Needs root for apt-get (nginx, wrk) unless both are installed.
set -euo pipefail
cd "$(dirname "$0")/../.."
DUR="${1:-10}"
WORK="$(mktemp -d /tmp/ehrgate-bench.XXXXXX)"
UP=18081 CANARY=18082 NGX=18090 EG=18091
PIDS=()
cleanup() {
  for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
  [ -f "$WORK/up.pid" ] && kill "$(cat "$WORK/up.pid")" 2>/dev/null || true
  [ -f "$WORK/ngx.pid" ] && kill "$(cat "$WORK/ngx.pid")" 2>/dev/null || true
  sleep 0.5
  rm -rf "$WORK"
}
trap cleanup EXIT

if ! command -v wrk >/dev/null || ! [ -x /usr/sbin/nginx ]; then
  apt-get update -qq && apt-get install -y -qq nginx wrk >/dev/null
fi
NGINX=/usr/sbin/nginx

echo "== building ehrgate (release)"
cargo build --release -q -p ehrgate
EHRGATE="$PWD/target/release/ehrgate"

# --- upstream: nginx with a static body; the canary port logs each request
mkdir -p "$WORK/up" "$WORK/ngx"
cat >"$WORK/up.conf" <<EOF
worker_processes 1;
pid $WORK/up.pid;
error_log $WORK/up/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  server { listen 127.0.0.1:$UP; location / { default_type application/fhir+json; return 200 '{"resourceType":"Patient","id":"example","active":true}'; } }
  server { listen 127.0.0.1:$CANARY; access_log $WORK/up/canary.log; location / { default_type application/fhir+json; return 200 '{"resourceType":"Patient","id":"example","active":true}'; } }
}
EOF
$NGINX -c "$WORK/up.conf" -p "$WORK/up"

# --- nginx proxy_pass, keep-alive to the upstream, 2 workers (= cores)
cat >"$WORK/ngx.conf" <<EOF
worker_processes 2;
pid $WORK/ngx.pid;
error_log $WORK/ngx/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  upstream backend { server 127.0.0.1:$UP; keepalive 128; }
  server {
    listen 127.0.0.1:$NGX;
    location / { proxy_pass http://backend; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }
}
EOF
$NGINX -c "$WORK/ngx.conf" -p "$WORK/ngx"

# --- ehrgate: /plain = tenant header + one backend; /fhir = tenant + 10 % sticky split
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
url = "http://127.0.0.1:$CANARY"
kind = "fhir"

[tenancy]
resolve = ["header"]

[[tenant]]
id = "acme"

[[tenant]]
id = "globex"

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
"$EHRGATE" check-config "$WORK/ehrgate.toml" >/dev/null
EHRGATE_LOG=warn "$EHRGATE" serve --config "$WORK/ehrgate.toml" &
EG_PID=$!
PIDS+=("$EG_PID")
for _ in $(seq 100); do (echo >"/dev/tcp/127.0.0.1/$EG") 2>/dev/null && break; sleep 0.1; done

# wrk script: a new patient per request, path prefix from $PREFIX
cat >"$WORK/req.lua" <<'EOF'
local n = 0
local prefix = os.getenv("PREFIX") or "/fhir"
wrk.headers["X-Tenant-ID"] = "acme"
request = function()
  n = n + 1
  return wrk.format("GET", prefix .. "/Patient/p" .. n .. "-" .. math.random(1, 1000000))
end
EOF

cpu_ticks() { # sum utime+stime of a pid and its children
  local total=0 p
  for p in "$@" $(for q in "$@"; do pgrep -P "$q" || true; done); do
    [ -r "/proc/$p/stat" ] || continue
    total=$((total + $(awk '{print $14 + $15}' "/proc/$p/stat")))
  done
  echo "$total"
}
to_us() { # wrk latency like 1.23ms / 512.00us / 1.01s -> microseconds
  awk -v v="$1" 'BEGIN{ if (v ~ /us$/) {sub(/us$/,"",v); print v+0} else if (v ~ /ms$/) {sub(/ms$/,"",v); print v*1000} else {sub(/s$/,"",v); print v*1000000} }'
}
HZ=$(getconf CLK_TCK)

# run NAME PORT PREFIX THREADS CONNS -> sets RPS REQS P50 P99 CPU_US
run() {
  local name=$1 port=$2 prefix=$3 t=$4 c=$5 pids=$6
  PREFIX=$prefix wrk -t"$t" -c"$c" -d2s -s "$WORK/req.lua" "http://127.0.0.1:$port" >/dev/null # warm-up
  # count canary requests of the measured run only (nginx appends, so truncating is safe)
  [ "$name" = ehrgate-split ] && : >"$WORK/up/canary.log"
  local before after
  before=$(cpu_ticks $pids)
  PREFIX=$prefix wrk -t"$t" -c"$c" -d"${DUR}s" --latency -s "$WORK/req.lua" "http://127.0.0.1:$port" >"$WORK/$name.txt"
  after=$(cpu_ticks $pids)
  RPS=$(awk '/Requests\/sec/ {print $2}' "$WORK/$name.txt")
  REQS=$(awk '/requests in/ {print $1}' "$WORK/$name.txt")
  P50=$(to_us "$(awk '$1=="50%" {print $2}' "$WORK/$name.txt")")
  P99=$(to_us "$(awk '$1=="99%" {print $2}' "$WORK/$name.txt")")
  local non2xx
  non2xx=$(awk '/Non-2xx/ {print $NF}' "$WORK/$name.txt")
  [ -z "$non2xx" ] || { echo "$name: $non2xx non-2xx responses"; cat "$WORK/$name.txt"; exit 1; }
  CPU_US=$(awk -v a="$after" -v b="$before" -v hz="$HZ" -v n="$REQS" 'BEGIN{ printf "%.2f", (a-b)/hz*1e6/n }')
}

NGX_PID=$(cat "$WORK/ngx.pid")
UP_PID=$(cat "$WORK/up.pid")
declare -A R
echo "== throughput: wrk -t2 -c64 -d${DUR}s, keep-alive"
for spec in "direct:$UP:/fhir:$UP_PID" "nginx:$NGX:/fhir:$NGX_PID" "ehrgate-plain:$EG:/plain:$EG_PID" "ehrgate-split:$EG:/fhir:$EG_PID"; do
  IFS=: read -r name port prefix pids <<<"$spec"
  run "$name" "$port" "$prefix" 2 64 "$pids"
  R[$name.rps]=$RPS R[$name.cpu]=$CPU_US R[$name.reqs]=$REQS
  if [ "$name" = ehrgate-split ]; then
    sleep 0.5
    CANARY_N=$(wc -l <"$WORK/up/canary.log")
  fi
  printf "%-14s %10s req/s  cpu %s us/req\n" "$name" "$RPS" "$CPU_US"
done
echo "== latency: wrk -t1 -c1 -d${DUR}s"
for spec in "direct:$UP:/fhir:$UP_PID" "nginx:$NGX:/fhir:$NGX_PID" "ehrgate-split:$EG:/fhir:$EG_PID"; do
  IFS=: read -r name port prefix pids <<<"$spec"
  run "lat-$name" "$port" "$prefix" 1 1 "$pids"
  R[$name.p50]=$P50 R[$name.p99]=$P99
  printf "%-14s p50 %8s us  p99 %8s us\n" "$name" "$P50" "$P99"
done

echo
echo "== results (ratios; the machine is shared, absolute numbers are noisy)"
awk -v d="${R[direct.rps]}" -v n="${R[nginx.rps]}" -v p="${R[ehrgate-plain.rps]}" -v s="${R[ehrgate-split.rps]}" \
    -v nc="${R[nginx.cpu]}" -v pc="${R[ehrgate-plain.cpu]}" -v sc="${R[ehrgate-split.cpu]}" \
    -v d50="${R[direct.p50]}" -v d99="${R[direct.p99]}" -v n50="${R[nginx.p50]}" -v n99="${R[nginx.p99]}" \
    -v e50="${R[ehrgate-split.p50]}" -v e99="${R[ehrgate-split.p99]}" \
    -v canary="$CANARY_N" -v reqs="${R[ehrgate-split.reqs]}" 'BEGIN {
  printf "| measure | value | goal |\n|---|---|---|\n"
  printf "| nginx proxy_pass req/s vs direct upstream | %.2fx | - |\n", n/d
  printf "| ehrgate plain req/s vs nginx | %.2fx | - |\n", p/n
  printf "| ehrgate tenant+10%% split req/s vs nginx | %.2fx | >= 1.0x |\n", s/n
  printf "| ehrgate split vs ehrgate plain (routing+split cost) | %+.1f%% | >= -3%% |\n", (s/p-1)*100
  printf "| added p50, ehrgate vs nginx (us) | %.0f vs %.0f | <= nginx |\n", e50-d50, n50-d50
  printf "| added p99, ehrgate vs nginx (us) | %.0f vs %.0f | <= nginx |\n", e99-d99, n99-d99
  printf "| CPU per request, ehrgate split vs nginx | %.2fx (%.1f vs %.1f us) | <= 1.0x |\n", sc/nc, sc, nc
  printf "| CPU per request, ehrgate plain vs nginx | %.2fx (%.1f us) | - |\n", pc/nc, pc
  printf "| canary share (weight 10 %%) | %.2f %% | 9-11 %% |\n", canary/reqs*100
}'
