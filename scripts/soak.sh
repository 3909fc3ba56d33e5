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

# The wrk script that POSTs the review; $1 = an extra Lua line (e.g. a Connection: close header).
write_lua() {
    cat >"$WORK/post.lua" <<LUA
local f = io.open("$WORK/review.json", "rb")
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/json"
$1
LUA
}

# Runs wrk in CHUNK_SECONDS pieces until at least $1 requests completed (wrk has no request
# count, and a Lua thread stop does not end the run). Args: target, connections, output prefix,
# url. Prints one summary line per chunk and a total.
wrk_until() {
    local target="$1" connections="$2" prefix="$3" url="$4" done_total=0 chunk=0 bad_total=0
    while [ "$done_total" -lt "$target" ]; do
        chunk=$((chunk + 1))
        wrk -t"${SOAK_THREADS:-2}" -c"$connections" -d"${CHUNK_SECONDS:-10}s" --latency --timeout 10s -s "$WORK/post.lua" "$url" \
            >"$WORK/$prefix-$chunk.txt" 2>&1
        local n; n=$(grep -oE '^ *[0-9]+ requests in' "$WORK/$prefix-$chunk.txt" | grep -oE '[0-9]+' | head -1)
        [ -n "$n" ] || { echo "  wrk failed:"; cat "$WORK/$prefix-$chunk.txt"; return 1; }
        local bad; bad=$(grep -oE 'Non-2xx or 3xx responses: [0-9]+' "$WORK/$prefix-$chunk.txt" | grep -oE '[0-9]+$' || true)
        done_total=$((done_total + n)); bad_total=$((bad_total + ${bad:-0}))
        # RSS after every chunk: a plateau is allocator warm-up, a steady climb is a leak.
        echo "  chunk $chunk: $(wrk_summary "$WORK/$prefix-$chunk.txt") rss_kib=$(rss_kib "$KATE_PID") fds=$(fd_count "$KATE_PID")"
    done
    echo "  total: $done_total requests, $bad_total non-2xx"
}

# Starts the webhook with extra flags "$@"; sets KATE_PID, KATE_URL. (overload.sh, which sources
# this file, passes flags; the soak itself passes none.)
# shellcheck disable=SC2120
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

# One admission by hand: it must be allowed with a JSON Patch, or the load would measure some other path.
check_admission() {
    curl -sk --max-time 10 -H 'Content-Type: application/json' --data-binary @"$WORK/review.json" \
        "$KATE_URL/mutate?timeout=10s" >"$WORK/sanity.json" || { echo "error: /mutate did not answer" >&2; return 1; }
    python3 - "$WORK/sanity.json" <<'PY'
import base64, json, sys
answer = json.load(open(sys.argv[1]))["response"]
patch = json.loads(base64.b64decode(answer.get("patch", ""))) if answer.get("patch") else []
images = [op["value"] for op in patch if op["path"].endswith("/image")]
if not answer.get("allowed") or not images:
    sys.exit(f"error: the review was not pinned: {answer}")
print(f"sanity: the review is allowed and pins {len(images)} images, e.g. {images[0]}")
PY
}

rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
fd_count() { find "/proc/$1/fd" -mindepth 1 -maxdepth 1 | wc -l; }
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
    local connections="${SOAK_CONNECTIONS:-16}"
    mkdir -p "$WORK"
    trap cleanup EXIT
    build_kate
    start_registry
    make_review
    # shellcheck disable=SC2119
    start_webhook
    check_admission || return 1
    local start; start=$(snapshot "$KATE_PID")

    write_lua ""
    echo "warm-up: 2,000 admissions"
    CHUNK_SECONDS=2 wrk_until 2000 "$connections" warmup "$KATE_URL/mutate?timeout=10s" >/dev/null || return 1
    sleep 1
    local base; base=$(snapshot "$KATE_PID")

    echo "soak: $admissions admissions over $connections keep-alive connections"
    wrk_until "$admissions" "$connections" keepalive "$KATE_URL/mutate?timeout=10s" || return 1

    echo "soak: $handshakes full TLS handshakes (Connection: close, one admission each)"
    write_lua 'wrk.headers["Connection"] = "close"'
    wrk_until "$handshakes" "$connections" handshakes "$KATE_URL/mutate?timeout=10s" || return 1

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
