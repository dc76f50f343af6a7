#!/usr/bin/env bash
# Issue 26, item 8: 20,000 idle MLLP connections attempted while a probe
# asks the HTTP data listener and the admin listener every 100 ms; each must
# answer within 100 ms throughout. Prints the probe's figures and the
# gateway's RSS before, during and after the storm. Run by hand, not in CI:
#
#   bench/hardening/mllp_storm.sh            # MODE=budget (default)
#   MODE=defaults bench/hardening/mllp_storm.sh
#
# MODE=budget lifts the MLLP listener's own caps so the process file-handle
# budget ([server] reserved_file_handles) is what holds; MODE=defaults runs
# the shipped defaults (1024 per listener, 64 per source: one source gets 64).
# Measured (debug build, 2 shared cores, gateway file limit 20,000):
# HTTP_MAX=100 MODE=budget: 9,772 MLLP connections held, the rest refused;
# HTTP p99 20 ms / max 41 ms, admin max 12 ms during; RSS 35 -> 169 -> 40 MB
# (given back without mimalloc tuning: idle connections hold no buffers).
# Everything listens on 127.0.0.1. Needs python3 and a built binary
# (BIN=..., default target/debug/ehrgate; `cargo build -p ehrgate`).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${BIN:-$ROOT/target/debug/ehrgate}
MODE=${MODE:-budget}
CONNS=${CONNS:-20000}
HOLD_S=${HOLD_S:-10}
HTTP_PORT=${HTTP_PORT:-18380}
ADMIN_PORT=${ADMIN_PORT:-18381}
MLLP_PORT=${MLLP_PORT:-18382}
RECV_PORT=${RECV_PORT:-18383}
# HTTP_MAX: the HTTP listener's max_connections (4096); lower it to leave
# MLLP more of the file budget in MODE=budget.

# The storm client needs more handles than it opens connections (root may
# raise the hard limit); the gateway runs with GW_NOFILE (the 20,000 of the
# issue's report by default; it raises its soft limit to this hard one).
GW_NOFILE=${GW_NOFILE:-20000}
ulimit -Hn $((CONNS + 1024)) 2>/dev/null || true
ulimit -n "$(ulimit -Hn)" || true
echo "client file limit: $(ulimit -n); gateway file limit: $GW_NOFILE; mode $MODE; $CONNS connections"

WORK=$(mktemp -d)
trap 'kill $GW_PID 2>/dev/null || true; rm -rf "$WORK"' EXIT
echo "ops-secret-0123456789abcdef" > "$WORK/ops.secret"
if [ "$MODE" = budget ]; then
  LIMITS=$'max_connections = 1000000\nmax_connections_per_source = 1000000'
else
  LIMITS=""
fi
cat > "$WORK/gateway.toml" <<TOML
[server]
reserved_file_handles = 256

[[listener]]
bind = "127.0.0.1:$HTTP_PORT"
max_connections = ${HTTP_MAX:-4096}

[admin]
bind = "127.0.0.1:$ADMIN_PORT"
state_file = "$WORK/release.json"
[[admin.token]]
name = "ops"
role = "write"
secret_file = "$WORK/ops.secret"

[[tenant]]
id = "acme"

[[mllp_listener]]
bind = "127.0.0.1:$MLLP_PORT"
$LIMITS

[[mllp_facility]]
sending = "LAB"
tenant = "acme"

[[backend]]
name = "legacy"
kind = "hl7v2-mllp"
url = "mllp://127.0.0.1:$RECV_PORT"

[[mllp_route]]
id = "all"
stable = "legacy"
TOML

(ulimit -n "$GW_NOFILE"; ulimit -Hn "$GW_NOFILE"; EHRGATE_LOG=info exec "$BIN" serve --config "$WORK/gateway.toml") 2> "$WORK/gateway.log" &
GW_PID=$!
for _ in $(seq 50); do
  (exec 3<>/dev/tcp/127.0.0.1/$ADMIN_PORT) 2>/dev/null && break
  sleep 0.1
done

python3 - "$GW_PID" "$CONNS" "$HOLD_S" "$HTTP_PORT" "$ADMIN_PORT" "$MLLP_PORT" <<'PY'
import socket, sys, threading, time

pid, conns, hold = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
http_port, admin_port, mllp_port = (int(p) for p in sys.argv[4:7])

def rss_mb():
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return -1.0

def fds():
    import os
    return len(os.listdir(f"/proc/{pid}/fd"))

def ask(port, path, token=None):
    """Seconds to a status line, or None (no answer within 1 s)."""
    t = time.monotonic()
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=1)
        auth = f"Authorization: Bearer {token}\r\n" if token else ""
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: probe\r\n{auth}Connection: close\r\n\r\n".encode())
        head = s.recv(12)
        s.close()
        return time.monotonic() - t if head.startswith(b"HTTP/1.1 ") else None
    except OSError:
        return None

samples = {"http": [], "admin": []}
stop = threading.Event()
phase = ["before"]

def probe():
    while not stop.is_set():
        t = time.monotonic()
        samples["http"].append((phase[0], ask(http_port, "/probe")))
        samples["admin"].append((phase[0], ask(admin_port, "/metrics", "ops-secret-0123456789abcdef")))
        time.sleep(max(0, 0.1 - (time.monotonic() - t)))

threading.Thread(target=probe, daemon=True).start()
time.sleep(1)
rss_before = rss_mb()
phase[0] = "storm"
import multiprocessing as mp

def storm(n, out, release):
    """Opens n idle connections, reports how many the gateway kept, holds
    them until `release`."""
    held, failed = [], 0
    for _ in range(n):
        try:
            s = socket.socket()
            s.setblocking(False)
            s.connect_ex(("127.0.0.1", mllp_port))
            held.append(s)
        except OSError:
            failed += 1
    time.sleep(2)
    kept = 0
    for s in held:
        try:
            kept += 0 if s.recv(1, socket.MSG_PEEK) == b"" else 1
        except BlockingIOError:
            kept += 1
        except OSError:
            pass
    out.put((failed, kept))
    release.wait()
    for s in held:
        s.close()

# Two client processes: one process's own file limit would stop it short.
ctx = mp.get_context("fork")
out, release = ctx.Queue(), ctx.Event()
t0 = time.monotonic()
kids = [ctx.Process(target=storm, args=(conns // 2 + (conns % 2) * (i == 0), out, release)) for i in range(2)]
for k in kids:
    k.start()
results = [out.get() for _ in kids]
connect_s = time.monotonic() - t0
failed = sum(r[0] for r in results)
open_n = sum(r[1] for r in results)
rss_during, fds_during = rss_mb(), fds()
time.sleep(hold)
rss_during = max(rss_during, rss_mb())
phase[0] = "after"
release.set()
for k in kids:
    k.join()
time.sleep(5)
rss_after, fds_after = rss_mb(), fds()
time.sleep(1)
stop.set()
time.sleep(0.3)

print(f"connections attempted {conns}, client-side failures {failed}, seen open by the client {open_n} (gateway-held ones plus those still in the kernel accept queue; the gateway fd count below is what it holds), connect loop {connect_s:.1f} s")
print(f"gateway fds during {fds_during}, after {fds_after}")
print(f"RSS MB: before {rss_before:.1f}, during {rss_during:.1f}, after {rss_after:.1f}")
ok = True
for name, rows in samples.items():
    for ph in ("before", "storm", "after"):
        lat = [x for p, x in rows if p == ph]
        answered = [x for x in lat if x is not None]
        slow = sum(1 for x in answered if x > 0.1)
        missing = len(lat) - len(answered)
        worst = max(answered) * 1000 if answered else float("nan")
        answered.sort()
        p99 = answered[int(len(answered) * 0.99) - 1] * 1000 if answered else float("nan")
        late = [f"{i}:{x*1000:.0f}" for i, (p, x) in enumerate(rows) if p == ph and x is not None and x > 0.1]
        if late:
            print(f"      {name} {ph} slow probes (index:ms): {' '.join(late[:10])}")
        print(f"{name:5} {ph:6}: probes {len(lat):4}, unanswered {missing}, over 100 ms {slow}, p99 {p99:.1f} ms, max {worst:.1f} ms")
        if ph == "storm" and (missing or slow):
            ok = False
print("RESULT:", "PASS (both listeners answered within 100 ms throughout)" if ok else "FAIL")
PY
cp "$WORK/gateway.log" /tmp/mllp_storm_gateway.log
echo "gateway log lines: $(wc -l < "$WORK/gateway.log") (copy in /tmp/mllp_storm_gateway.log)"
grep -c "connection refused: limit reached" "$WORK/gateway.log" | sed 's/^/refusal log lines: /' || true
