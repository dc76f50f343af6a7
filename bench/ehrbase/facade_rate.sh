#!/usr/bin/env bash
# The FHIR facade's request rate against a real EHRbase vs the reference
# openEHR backend, in the same run on the same gateway build (issue 27).
#
#   conformance/ehrbase/run.sh start   # then eval the lines it prints
#   bench/ehrbase/facade_rate.sh       # PROFILE=dev for a quick look
#
# Two gateways (same binary, same config but the backend): one to the
# reference backend (`ref-openehr`), one to EHRbase with Basic credentials.
# Each phase runs wrk (2 threads, 8 connections, DURATION seconds) on
#   read:   GET /fhir/Condition/{id} (one openEHR GET + translation)
#   create: POST /fhir/Condition (EHR lookup + openEHR POST + translation)
# and prints requests/s per backend and the ratio. Ports 22090, 22100, 22101.
# Needs wrk, curl, and a gateway whose openEHR client sends credentials
# ([backend.openehr.auth]).
set -euo pipefail
cd "$(dirname "$0")/../.."

: "${EHRGATE_EHRBASE_URL:?start EHRbase: conformance/ehrbase/run.sh start, and eval its output}"
: "${EHRGATE_EHRBASE_USER:?}" "${EHRGATE_EHRBASE_PASSWORD:?}"
PROFILE="${PROFILE:-release}"
DURATION="${DURATION:-10}"
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 1; }

cargo build -q --profile "$PROFILE" -p ehrgate --bin ehrgate -p ehrgate-conformance --bin ref-openehr
bin="target/$([ "$PROFILE" = dev ] && echo debug || echo "$PROFILE")"

tmp="$(mktemp -d)"
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    rm -rf "$tmp"
}
trap cleanup EXIT

wait_port() {
    for _ in $(seq 1 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.1
    done
    echo "nothing listens on 127.0.0.1:$1" >&2
    exit 1
}

config() { # port url auth-table
    cat <<TOML
[server]
reload_poll_ms = 0
[[listener]]
bind = "127.0.0.1:$1"
[[backend]]
name = "cdr"
url = "$2"
kind = "openehr"
[backend.openehr]
subject_namespace = "ehrgate_bench"
$3
[[tenant]]
id = "demo"
[[route]]
id = "fhir"
path_prefix = "/fhir"
stable = "cdr"
TOML
}

"$bin/ref-openehr" --listen 127.0.0.1:22090 >"$tmp/ref.log" 2>&1 &
pids+=($!)
wait_port 22090
config 22100 "http://127.0.0.1:22090/ehrbase/rest/openehr/v1" "" >"$tmp/ref.toml"
config 22101 "$EHRGATE_EHRBASE_URL" "[backend.openehr.auth]
kind = \"basic\"
username = \"$EHRGATE_EHRBASE_USER\"
password = { env = \"EHRGATE_EHRBASE_PASSWORD\" }" >"$tmp/ehrbase.toml"
for side in ref ehrbase; do
    port=$([ "$side" = ref ] && echo 22100 || echo 22101)
    "$bin/ehrgate" serve --config "$tmp/$side.toml" >"$tmp/gw-$side.log" 2>&1 &
    pids+=($!)
    wait_port "$port"
done

# EHRbase starts without templates: the Condition set's OPT first.
curl -s -o /dev/null -u "$EHRGATE_EHRBASE_USER:$EHRGATE_EHRBASE_PASSWORD" \
    -H 'content-type: application/xml' -H 'accept: application/xml' \
    --data-binary "@templates/opt/IDCR - Problem List.v1.opt" \
    "$EHRGATE_EHRBASE_URL/definition/template/adl1.4"

python3 - "$tmp/condition.json" <<'PY'
import json, sys
c = json.load(open("conformance/corpus/fhir/examples/Condition-example.json"))
c["subject"] = {"reference": "Patient/bench-1"}
c.pop("id", None)
json.dump(c, open(sys.argv[1], "w"))
PY
cat >"$tmp/post.lua" <<LUA
wrk.method = "POST"
wrk.headers["content-type"] = "application/fhir+json"
wrk.headers["x-tenant-id"] = "demo"
local f = io.open("$tmp/condition.json", "r")
wrk.body = f:read("*a")
f:close()
LUA

rate() { # url [script]
    local out
    if [ -n "${2:-}" ]; then
        out="$(wrk -t2 -c8 -d"${DURATION}s" -s "$2" "$1")"
    else
        out="$(wrk -t2 -c8 -d"${DURATION}s" -H 'x-tenant-id: demo' "$1")"
    fi
    if echo "$out" | grep -q 'Non-2xx'; then
        echo "$out" >&2
        echo "non-2xx answers from $1" >&2
        exit 1
    fi
    echo "$out" | awk '/Requests\/sec/ {print $2}'
}

declare -A read create
for side in ref ehrbase; do
    port=$([ "$side" = ref ] && echo 22100 || echo 22101)
    loc="$(curl -s -D - -o /dev/null -H 'x-tenant-id: demo' -H 'content-type: application/fhir+json' \
        --data-binary "@$tmp/condition.json" "http://127.0.0.1:$port/fhir/Condition" \
        | tr -d '\r' | awk 'tolower($1)=="location:" {print $2}')"
    [ -n "$loc" ] || { echo "seeding a Condition through the $side gateway failed" >&2; cat "$tmp/gw-$side.log" >&2; exit 1; }
    id="$(echo "$loc" | sed -E 's#.*/Condition/([^/]+).*#\1#')"
    read[$side]="$(rate "http://127.0.0.1:$port/fhir/Condition/$id")"
    create[$side]="$(rate "http://127.0.0.1:$port/fhir/Condition" "$tmp/post.lua")"
done

printf '%-8s %14s %14s %8s\n' phase reference ehrbase ratio
for phase in read create; do
    declare -n m="$phase"
    printf '%-8s %12s/s %12s/s %7.1fx\n' "$phase" "${m[ref]}" "${m[ehrbase]}" \
        "$(echo "${m[ref]} / ${m[ehrbase]}" | bc -l)"
done
echo "(profile $PROFILE, wrk -t2 -c8 -d${DURATION}s, gateway and both backends on this machine)"
