#!/usr/bin/env bash
# Soak test for `kate webhook` (release build, loopback only): N admissions over keep-alive
# connections, then M full TLS handshakes (one request per connection), and the process's RSS and
# open file descriptors before and after. Leak check: both must end within 10% of the baseline
# taken after a warm-up (first-use caches and pools are not leaks).
#
#   scripts/soak.sh                               # 200,000 admissions + 20,000 handshakes
#   SOAK_ADMISSIONS=20000 SOAK_HANDSHAKES=2000 scripts/soak.sh   # modest sizes on a busy machine
#   KATE_BIN=.build-release/release/kate scripts/soak.sh
#
# The AdmissionReview is examples/admission-review.json with its images moved to a tiny registry
# on 127.0.0.1 (below), so every review runs the real pinning path and answers with a JSON Patch.
# overload.sh sources this file for the helpers.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORK="${SOAK_WORK:-$ROOT/.build-hardening/soak}"
PIDS=()

cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; done
    PIDS=()
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# Builds (or takes $KATE_BIN) the release binary; sets KATE_BIN.
build_kate() {
    if [ -z "${KATE_BIN:-}" ]; then
        echo "building kate (release) in .build-hardening-release (a few minutes the first time)"
        (cd "$ROOT" && KATE_ONLY=kate swift build -c release --product kate --scratch-path .build-hardening-release 2>&1 | grep -E "error|Compiling kate|Build complete")
        KATE_BIN="$(cd "$ROOT" && KATE_ONLY=kate swift build -c release --product kate --scratch-path .build-hardening-release --show-bin-path)/kate"
    fi
    [ -x "$KATE_BIN" ] || { echo "error: no kate binary at $KATE_BIN" >&2; exit 2; }
}

# A registry that answers every manifest HEAD/GET with one small OCI manifest (keep-alive,
# threaded). Sets REGISTRY (host:port).
start_registry() {
    local port; port=$(free_port)
    python3 - "$port" >"$WORK/registry.log" 2>&1 <<'PY' &
import hashlib, sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
MANIFEST = b'{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[]}'
DIGEST = "sha256:" + hashlib.sha256(MANIFEST).hexdigest()
class Registry(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *args): pass
    def answer(self, body):
        self.send_response(200)
        self.send_header("Content-Type", "application/vnd.oci.image.manifest.v1+json")
        self.send_header("Docker-Content-Digest", DIGEST)
        self.send_header("Content-Length", str(len(MANIFEST)))
        self.end_headers()
        if body: self.wfile.write(MANIFEST)
    def do_HEAD(self): self.answer(False)
    def do_GET(self): self.answer(True)
ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Registry).serve_forever()
PY
    PIDS+=($!)
    REGISTRY="127.0.0.1:$port"
    for _ in $(seq 1 50); do curl -s -o /dev/null "http://$REGISTRY/v2/" && return 0; sleep 0.1; done
    echo "error: fake registry did not start" >&2; exit 2
}

# The example review with its unpinned images on $REGISTRY, as $WORK/review.json; and the wrk
# script that posts it (stops each thread after $1 responses when $1 > 0).
make_review() {
    python3 - "$ROOT/examples/admission-review.json" "$REGISTRY" "$WORK/review.json" <<'PY'
import json, sys
review = json.load(open(sys.argv[1]))
spec = review["request"]["object"]["spec"]
for c in spec.get("containers", []) + spec.get("initContainers", []):
    if "@" not in c["image"]:
        first, _, rest = c["image"].partition("/")
        repo = rest if ("." in first or ":" in first) else c["image"]
        c["image"] = sys.argv[2] + "/" + repo
json.dump(review, open(sys.argv[3], "w"))
PY
}

# $1 = requests per thread before stopping (0 = run for the duration), $2 = extra header line or "".
write_lua() {
    local per_thread="$1" extra="$2"
    cat >"$WORK/post.lua" <<LUA
local f = io.open("$WORK/review.json", "rb")
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/json"
$extra
local limit = $per_thread
local done = 0
local bad = 0
function response(status, headers, body)
    done = done + 1
    if status ~= 200 then bad = bad + 1 end
    if limit > 0 and done >= limit then wrk.thread:stop() end
end
LUA
}

# Starts the webhook with extra flags "$@"; sets KATE_PID, KATE_URL.
start_webhook() {
    local port; port=$(free_port)
    printf '{"registries": {"%s": {"plainHTTP": true}}}\n' "$REGISTRY" >"$WORK/registry-config.json"
    "$KATE_BIN" webhook --self-signed --listen "127.0.0.1:$port" --ca-out "$WORK/ca.pem" --pull-secrets off \
        --registry-config "$WORK/registry-config.json" --log-level warning "$@" >"$WORK/webhook.log" 2>&1 &
    KATE_PID=$!
    PIDS+=("$KATE_PID")
    KATE_URL="https://127.0.0.1:$port"
    for _ in $(seq 1 100); do
        curl -sk --max-time 1 -o /dev/null "$KATE_URL/healthz" && return 0
        kill -0 "$KATE_PID" 2>/dev/null || { echo "error: kate webhook exited:" >&2; cat "$WORK/webhook.log" >&2; exit 2; }
        sleep 0.1
    done
    echo "error: kate webhook never answered /healthz" >&2; exit 2
}

rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
fd_count() { ls "/proc/$1/fd" | wc -l; }
threads() { awk '/^Threads:/ {print $2}' "/proc/$1/status"; }
snapshot() { echo "$(rss_kib "$1") $(fd_count "$1") $(threads "$1")"; }

# wrk output → "requests req/s p50 p99 max non2xx socket-errors"
wrk_summary() {
    python3 - "$1" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
def grab(pattern, default="?"):
    m = re.search(pattern, text)
    return m.group(1) if m else default
requests = grab(r"(\d+) requests in")
rate = grab(r"Requests/sec:\s*([\d.]+)")
p50 = grab(r"\s50%\s+([\d.]+\w+)")
p99 = grab(r"\s99%\s+([\d.]+\w+)")
maxlat = grab(r"Latency\s+\S+\s+\S+\s+([\d.]+\w+)")
non2xx = grab(r"Non-2xx or 3xx responses: (\d+)", "0")
errors = grab(r"Socket errors: (.*)", "none")
print(f"requests={requests} rate={rate}/s p50={p50} p99={p99} max={maxlat} non2xx={non2xx} socket_errors={errors}")
PY
}

within_10_percent() { python3 -c "import sys; b,a=float(sys.argv[1]),float(sys.argv[2]); sys.exit(0 if a <= b*1.10 else 1)" "$1" "$2"; }

main() {
    local admissions="${SOAK_ADMISSIONS:-200000}" handshakes="${SOAK_HANDSHAKES:-20000}"
    local connections="${SOAK_CONNECTIONS:-16}" threads="${SOAK_THREADS:-2}"
    mkdir -p "$WORK"
    trap cleanup EXIT
    build_kate
    start_registry
    make_review
    start_webhook
    local start; start=$(snapshot "$KATE_PID")

    echo "warm-up: 2,000 admissions"
    write_lua $((2000 / threads)) ""
    wrk -t"$threads" -c"$connections" -d120s --latency -s "$WORK/post.lua" "$KATE_URL/mutate?timeout=10s" >"$WORK/warmup.txt" 2>&1
    sleep 1
    local base; base=$(snapshot "$KATE_PID")

    echo "soak: $admissions admissions over $connections keep-alive connections"
    write_lua $((admissions / threads)) ""
    wrk -t"$threads" -c"$connections" -d1800s --latency -s "$WORK/post.lua" "$KATE_URL/mutate?timeout=10s" >"$WORK/keepalive.txt" 2>&1
    echo "  $(wrk_summary "$WORK/keepalive.txt")"

    echo "soak: $handshakes full TLS handshakes (Connection: close, one admission each)"
    write_lua $((handshakes / threads)) 'wrk.headers["Connection"] = "close"'
    wrk -t"$threads" -c"$connections" -d1800s --latency -s "$WORK/post.lua" "$KATE_URL/mutate?timeout=10s" >"$WORK/handshakes.txt" 2>&1
    echo "  $(wrk_summary "$WORK/handshakes.txt")"

    # Let closed connections drain out of the reactor before the final reading.
    sleep 2
    local end; end=$(snapshot "$KATE_PID")
    read -r s_rss s_fd s_thr <<<"$start"; read -r b_rss b_fd b_thr <<<"$base"; read -r e_rss e_fd e_thr <<<"$end"
    echo
    echo "kate webhook (pid $KATE_PID)        RSS KiB   open fds   threads"
    printf '  at start                   %9s %10s %9s\n' "$s_rss" "$s_fd" "$s_thr"
    printf '  after warm-up (baseline)   %9s %10s %9s\n' "$b_rss" "$b_fd" "$b_thr"
    printf '  after soak                 %9s %10s %9s\n' "$e_rss" "$e_fd" "$e_thr"
    local status=0
    within_10_percent "$b_rss" "$e_rss" || { echo "FAIL: RSS grew more than 10% ($b_rss -> $e_rss KiB)"; status=1; }
    within_10_percent "$b_fd" "$e_fd" || { echo "FAIL: open fds grew more than 10% ($b_fd -> $e_fd)"; status=1; }
    kill -0 "$KATE_PID" 2>/dev/null || { echo "FAIL: kate exited"; status=1; }
    [ $status -eq 0 ] && echo "PASS: RSS and open fds within 10% of the post-warm-up baseline"
    grep -ciE "error|fatal" "$WORK/webhook.log" | xargs -I{} echo "webhook log: {} error lines ($WORK/webhook.log)"
    return $status
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then main "$@"; fi
