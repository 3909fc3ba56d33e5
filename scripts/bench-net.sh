#!/usr/bin/env bash
# Benchmarks kate's TLS + HTTP/1.1 server (KateNet) on this machine and prints the figures:
# keep-alive req/s with p50/p99 for GET /healthz and POST /mutate (~10 KB AdmissionReview) at
# 1, 16 and 64 connections (wrk), full TLS handshakes/s, idle and loaded RSS, and
# `openssl speed ecdsap256` as the hardware's ceiling for handshakes.
# Loopback only. Usage: scripts/bench-net.sh [seconds-per-run, default 10]
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_PER_RUN="${1:-10}"
SCRATCH=.build-release
WORK="$(mktemp -d)"
SERVER_PID=""
cleanup() {
    if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then kill -TERM "$SERVER_PID"; wait "$SERVER_PID" || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT

for tool in wrk openssl python3; do
    command -v "$tool" >/dev/null || { echo "bench-net.sh needs $tool (apt-get install $tool)" >&2; exit 1; }
done

echo "== building (release)" >&2
swift build -c release --product bench-net --scratch-path "$SCRATCH" >&2
BIN="$SCRATCH/release/bench-net"

# A ~10 KB AdmissionReview: the example pod, padded with realistic annotations.
python3 - "$WORK/review.json" <<'PY'
import json, sys
review = json.load(open("examples/admission-review.json"))
meta = review["request"]["object"].setdefault("metadata", {})
annotations = meta.setdefault("annotations", {})
i = 0
while len(json.dumps(review)) < 10 * 1024:
    annotations[f"bench.kate.dev/annotation-{i}"] = "x" * 80
    i += 1
json.dump(review, open(sys.argv[1], "w"))
PY
REVIEW_BYTES=$(wc -c <"$WORK/review.json")
cat >"$WORK/mutate.lua" <<EOF_LUA
wrk.method = "POST"
wrk.path = "/mutate?timeout=10s"
wrk.headers["Content-Type"] = "application/json"
local f = io.open("$WORK/review.json", "rb")
wrk.body = f:read("*a")
f:close()
EOF_LUA

"$BIN" serve --ca-out "$WORK/ca.pem" >"$WORK/server.out" 2>&1 &
SERVER_PID=$!
for _ in $(seq 100); do grep -q "listening on" "$WORK/server.out" && break; sleep 0.1; done
PORT=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$WORK/server.out")
[[ -n "$PORT" ]] || { cat "$WORK/server.out" >&2; exit 1; }
URL="https://127.0.0.1:$PORT"
curl -sf --cacert "$WORK/ca.pem" "$URL/healthz" >/dev/null

rss() { awk '/VmRSS/ {printf "%.1f MiB", $2 / 1024}' "/proc/$SERVER_PID/status"; }
IDLE_RSS=$(rss)
PEAK_RSS=""

# wrk --latency prints "     50%  101.00us" style lines; pull p50/p99 and req/s.
run_wrk() { # label connections [wrk args...]
    local label=$1 conns=$2; shift 2
    local threads=$(( conns < 2 ? 1 : 2 ))
    local out="$WORK/wrk.out"
    wrk -t"$threads" -c"$conns" -d"${SECONDS_PER_RUN}s" --latency "$@" >"$out" 2>&1 &
    local wrk_pid=$!
    sleep $(( SECONDS_PER_RUN / 2 ))
    local now; now=$(awk '/VmRSS/ {print $2}' "/proc/$SERVER_PID/status")
    if [[ -z "$PEAK_RSS" || "$now" -gt "$PEAK_RSS" ]]; then PEAK_RSS=$now; fi
    wait "$wrk_pid"
    local rps p50 p99 errors
    rps=$(awk '/Requests\/sec/ {print $2}' "$out")
    p50=$(awk '$1 == "50%" {print $2}' "$out")
    p99=$(awk '$1 == "99%" {print $2}' "$out")
    errors=$(awk '/Non-2xx|Socket errors/ {printf "%s ", $0}' "$out")
    printf "%-34s %4s conns  %10s req/s   p50 %8s   p99 %8s  %s\n" "$label" "$conns" "$rps" "$p50" "$p99" "$errors"
}

echo "== kate bench-net  $(date -u +%FT%TZ)  $(nproc) cores (shared with other work: figures are lower bounds)"
echo "   server: bench-net serve (KateNet HTTPServer, TLS 1.3, ECDSA P-256 self-signed), client: wrk $(wrk -v 2>&1 | head -1 | awk '{print $2}')"
echo "   AdmissionReview body: $REVIEW_BYTES bytes"
for c in 1 16 64; do run_wrk "keep-alive GET /healthz" "$c" "$URL/healthz"; done
for c in 1 16 64; do run_wrk "keep-alive POST /mutate (10 KB)" "$c" -s "$WORK/mutate.lua" "$URL/mutate"; done
# The same at the target load instead of saturated (scripts/wrk/pace.lua): the latency a server
# at 10,000 req/s shows, rather than the queue of 64 connections that never stop sending.
cat "$WORK/mutate.lua" scripts/wrk/pace.lua >"$WORK/mutate-paced.lua"
export KATE_WRK_RATE=10000 KATE_WRK_THREADS=2
run_wrk "GET /healthz at 10,000 req/s" 64 -s scripts/wrk/pace.lua "$URL/healthz"
run_wrk "POST /mutate (10 KB) at 10,000 req/s" 64 -s "$WORK/mutate-paced.lua" "$URL/mutate"
unset KATE_WRK_RATE KATE_WRK_THREADS
run_wrk "new TLS connection per request (wrk)" 16 -H "Connection: close" "$URL/healthz"
"$BIN" handshakes --port "$PORT" --ca "$WORK/ca.pem" --seconds "$SECONDS_PER_RUN" --concurrency 8 | sed 's/^/bench-net client /'
echo "idle RSS (after start, before load): $IDLE_RSS"
echo "loaded RSS (max sampled mid-run):    $(awk -v k="$PEAK_RSS" 'BEGIN {printf "%.1f MiB", k / 1024}')"
echo "== openssl speed -seconds 3 ecdsap256 (hardware limit: one handshake = 1 sign on the server)"
openssl speed -seconds 3 ecdsap256 2>/dev/null | grep -E "^ *256 bits ecdsa|sign/s" | tail -2
echo "targets: >= 10,000 req/s with p99 < 5 ms at 64 conns (keep-alive: the paced rows); >= 1,000 handshakes/s; idle RSS < 30 MiB"
