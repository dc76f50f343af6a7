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
# A second ehrgate process runs the same config with `http1_engine =
# "hyper"` (ehrgate-hyper-*), so the native HTTP/1.1 engine and hyper's path
# are compared in the same run.
#
# Usage: bench/proxy/run.sh [seconds per run, default 10]
#   ROUNDS=N      repeat every measurement N times, targets alternating
#                 within each round; prints each round and min/median/max
#   ONE_WORKER=1  nginx proxy with one worker, each ehrgate pinned to one
#                 CPU (one worker thread): the per-worker comparison
#   EHRGATE_BASE=PATH  an older ehrgate binary run beside this one (same
#                 config, native engine, targets base-plain / base-split):
#                 a before/after comparison in one sitting, as ratios
# The load average is printed before and after: a figure from a loaded
# machine is not a figure.
# Needs root for apt-get (nginx, wrk) unless both are installed.
set -euo pipefail
cd "$(dirname "$0")/../.."
DUR="${1:-10}"
WORK="$(mktemp -d /tmp/ehrgate-bench.XXXXXX)"
UP=18081 CANARY=18082 NGX=18090 EG=18091 EGH=18092 EGB=18093
BASE="${EHRGATE_BASE:-}"
echo "== load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
ROUNDS="${ROUNDS:-1}"
ONE_WORKER="${ONE_WORKER:-0}"
NGX_WORKERS=2 PIN=()
if [ "$ONE_WORKER" = 1 ]; then NGX_WORKERS=1 PIN=(taskset -c 1); fi
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
worker_processes $NGX_WORKERS;
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
sed -e "s/^reload_poll_ms = 0/reload_poll_ms = 0\nhttp1_engine = \"hyper\"/" -e "s/:$EG\"/:$EGH\"/" \
  "$WORK/ehrgate.toml" >"$WORK/ehrgate-hyper.toml"
EHRGATE_LOG=warn "${PIN[@]}" "$EHRGATE" serve --config "$WORK/ehrgate.toml" &
EG_PID=$!
PIDS+=("$EG_PID")
EHRGATE_LOG=warn "${PIN[@]}" "$EHRGATE" serve --config "$WORK/ehrgate-hyper.toml" &
EGH_PID=$!
PIDS+=("$EGH_PID")
EGB_PID=
if [ -n "$BASE" ]; then
  sed -e "s/:$EG\"/:$EGB\"/" "$WORK/ehrgate.toml" >"$WORK/ehrgate-base.toml"
  EHRGATE_LOG=warn "${PIN[@]}" "$BASE" serve --config "$WORK/ehrgate-base.toml" &
  EGB_PID=$!
  PIDS+=("$EGB_PID")
fi
for port in $EG $EGH ${BASE:+$EGB}; do
  for _ in $(seq 100); do (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
done

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
RES="$WORK/results.txt" # round name metric value
: >"$RES"
for round in $(seq "$ROUNDS"); do
  echo "== round $round: throughput, wrk -t2 -c64 -d${DUR}s, keep-alive"
  specs=("direct:$UP:/fhir:$UP_PID" "nginx:$NGX:/fhir:$NGX_PID" "ehrgate-plain:$EG:/plain:$EG_PID" "ehrgate-split:$EG:/fhir:$EG_PID" "ehrgate-hyper-split:$EGH:/fhir:$EGH_PID")
  [ -n "$BASE" ] && specs+=("base-plain:$EGB:/plain:$EGB_PID" "base-split:$EGB:/fhir:$EGB_PID")
  for spec in "${specs[@]}"; do
    IFS=: read -r name port prefix pids <<<"$spec"
    run "$name" "$port" "$prefix" 2 64 "$pids"
    echo "$round $name rps $RPS" >>"$RES"
    echo "$round $name cpu $CPU_US" >>"$RES"
    if [ "$name" = ehrgate-split ]; then
      sleep 0.5
      echo "$round $name canary $(awk -v c="$(wc -l <"$WORK/up/canary.log")" -v n="$REQS" 'BEGIN{printf "%.2f", c/n*100}')" >>"$RES"
    fi
    printf "%-20s %10s req/s  cpu %s us/req\n" "$name" "$RPS" "$CPU_US"
  done
  echo "== round $round: latency, wrk -t1 -c1 -d${DUR}s"
  for spec in "direct:$UP:/fhir:$UP_PID" "nginx:$NGX:/fhir:$NGX_PID" "ehrgate-split:$EG:/fhir:$EG_PID" "ehrgate-hyper-split:$EGH:/fhir:$EGH_PID"; do
    IFS=: read -r name port prefix pids <<<"$spec"
    run "lat-$name" "$port" "$prefix" 1 1 "$pids"
    echo "$round $name p50 $P50" >>"$RES"
    echo "$round $name p99 $P99" >>"$RES"
    printf "%-20s p50 %8s us  p99 %8s us\n" "$name" "$P50" "$P99"
  done
done

echo
echo "== results (ratios within each round; the machine is shared, absolute numbers are noisy)"
awk '
  { v[$1, $2, $3] = $4; if ($1 > rounds) rounds = $1 }
  function add(key, label, goal, x) { val[key, ++cnt[key]] = x; lab[key] = label; gl[key] = goal; if (!(key in seen)) { seen[key] = 1; order[++nk] = key } }
  function med(key,   n, i, j, t, a) {
    n = cnt[key]; for (i = 1; i <= n; i++) a[i] = val[key, i]
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
    lo = a[1]; hi = a[n]; return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
  }
  END {
    for (r = 1; r <= rounds; r++) {
      add("rps", "ehrgate tenant+10% split req/s vs nginx", ">= 1.0x", v[r, "ehrgate-split", "rps"] / v[r, "nginx", "rps"])
      add("cost", "ehrgate split vs ehrgate plain req/s (routing+split cost, %)", ">= -3 %", (v[r, "ehrgate-split", "rps"] / v[r, "ehrgate-plain", "rps"] - 1) * 100)
      add("p50", "added p50 over direct, ehrgate / nginx", "<= 1.0x", (v[r, "ehrgate-split", "p50"] - v[r, "direct", "p50"]) / (v[r, "nginx", "p50"] - v[r, "direct", "p50"]))
      add("p99", "added p99 over direct, ehrgate / nginx", "<= 1.0x", (v[r, "ehrgate-split", "p99"] - v[r, "direct", "p99"]) / (v[r, "nginx", "p99"] - v[r, "direct", "p99"]))
      add("cpu", "CPU per request, ehrgate split / nginx", "<= 1.0x", v[r, "ehrgate-split", "cpu"] / v[r, "nginx", "cpu"])
      add("cpuplain", "CPU per request, ehrgate plain / nginx", "-", v[r, "ehrgate-plain", "cpu"] / v[r, "nginx", "cpu"])
      add("canary", "canary share at weight 10 (%)", "9-11 %", v[r, "ehrgate-split", "canary"])
      add("hrps", "hyper engine split req/s vs nginx", "-", v[r, "ehrgate-hyper-split", "rps"] / v[r, "nginx", "rps"])
      add("hcpu", "hyper engine CPU per request / nginx", "-", v[r, "ehrgate-hyper-split", "cpu"] / v[r, "nginx", "cpu"])
      add("hp50", "hyper engine added p50 / nginx", "-", (v[r, "ehrgate-hyper-split", "p50"] - v[r, "direct", "p50"]) / (v[r, "nginx", "p50"] - v[r, "direct", "p50"]))
      add("ncpu", "native / hyper engine CPU per request", "-", v[r, "ehrgate-split", "cpu"] / v[r, "ehrgate-hyper-split", "cpu"])
      if ((r, "base-split", "rps") in v) {
        add("brps", "this build / base build, split req/s", ">= 0.97x", v[r, "ehrgate-split", "rps"] / v[r, "base-split", "rps"])
        add("bcpu", "this build / base build, split CPU per request", "<= 1.03x", v[r, "ehrgate-split", "cpu"] / v[r, "base-split", "cpu"])
        add("bprps", "this build / base build, plain req/s", ">= 0.97x", v[r, "ehrgate-plain", "rps"] / v[r, "base-plain", "rps"])
        add("bpcpu", "this build / base build, plain CPU per request", "<= 1.03x", v[r, "ehrgate-plain", "cpu"] / v[r, "base-plain", "cpu"])
        add("bnrps", "base build split req/s vs nginx", "-", v[r, "base-split", "rps"] / v[r, "nginx", "rps"])
      }
    }
    printf "| round | target | req/s | CPU us/req | p50 us | p99 us |\n|---|---|---|---|---|---|\n"
    nn = split("direct nginx ehrgate-plain ehrgate-split ehrgate-hyper-split base-plain base-split", names, " ")
    for (r = 1; r <= rounds; r++) for (i = 1; i <= nn; i++) {
      n = names[i]
      if (!((r, n, "rps") in v)) continue
      printf "| %d | %s | %s | %s | %s | %s |\n", r, n, v[r, n, "rps"], v[r, n, "cpu"], ((r, n, "p50") in v) ? v[r, n, "p50"] : "-", ((r, n, "p99") in v) ? v[r, n, "p99"] : "-"
    }
    printf "\n| measure | median | min | max | goal |\n|---|---|---|---|---|\n"
    for (k = 1; k <= nk; k++) { key = order[k]; m = med(key); printf "| %s | %.2f | %.2f | %.2f | %s |\n", lab[key], m, lo, hi, gl[key] }
  }' "$RES"
echo "== load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
