#!/bin/sh
# The canary killed under load (issue 26): ~300 GET/s over patients of both
# arms for 10 s per HTTP/1.1 engine, the canary stopped after 3 s; prints the
# non-2xx GETs before the kill, between kill and ejection, after ejection
# (must be 0). Loopback only; about 25 s plus the test build.
set -eu
cd "$(dirname "$0")/../.."
exec cargo test -p ehrgate --test failover_load -- --ignored --nocapture
