#!/usr/bin/env bash
# Overload test for `kate webhook` (release build, loopback only):
#   1. baseline: keep-alive admissions at 64 connections (the benchmark's setting);
#   2. 2,000 concurrent connections against --max-connections 1000: the excess must be shed
#      (503 or refused), never queued into lateness;
#   3. a burst of 10x the baseline concurrency (640 connections), each request on a NEW TLS
#      connection (wrk has no request-rate control; ten times the clients is the burst);
#   4. recovery: /healthz and an admission answer normally, connections drain back.
# The webhook runs with --health-listen (the probe listener the chart points the kubelet at).
# Throughout, every 200 ms, a new connection per probe (what a kubelet does): /healthz on the TLS
# port (the old probe target, kept for comparison) and /healthz + /readyz on the probe listener.
# Admissions carry ?timeout=2s; a completed admission slower than 2.1 s is a failure, and so is any
# probe-listener probe that fails.
#
#   scripts/overload.sh
#   OVERLOAD_SECONDS=10 OVERLOAD_CONNECTIONS=1000 scripts/overload.sh   # modest
set -uo pipefail
# shellcheck source=scripts/soak.sh
source "$(dirname "${BASH_SOURCE[0]}")/soak.sh"
WORK="${OVERLOAD_WORK:-$ROOT/.build-hardening/overload}"

probe_loop() {
    # Args: base URL, then paths. "<unix-ms> <http-code> <seconds>" per probe; 000 = no HTTP answer
    # (refused/reset/timeout). --max-time 2 is shorter than the chart's probe timeoutSeconds (3).
    local base="$1"; shift
    while true; do
        for path in "$@"; do
            local out; out=$(curl -sk -o /dev/null --max-time 2 -w '%{http_code} %{time_total}' "$base$path" 2>/dev/null)
            echo "$(date +%s%3N) ${out:-000 2}"
        done
        sleep 0.2
    done
}

# Args: label, probe file, window start and end (unix ms).
probe_summary() {
    python3 - "$@" <<'PY'
import sys
label, path, lo, hi = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
lines = [l.split() for l in open(path) if l.strip()]
window = [l for l in lines if lo <= int(l[0]) <= hi]
ok = [float(l[2]) for l in window if l[1] == "200"]
failed = len(window) - len(ok)
worst = f"{max(ok)*1000:.0f}ms" if ok else "-"
print(f"{label} probes={len(window)} ok={len(ok)} failed={failed} slowest_ok={worst}")
PY
}

# Both probe summaries for a phase; a failed probe on the probe listener fails the run.
probe_report() {   # window start, end
    echo "  $(probe_summary "TLS-port /healthz" "$WORK/probes.txt" "$1" "$2")"
    local health; health=$(probe_summary "probe-listener /healthz+/readyz" "$WORK/health-probes.txt" "$1" "$2")
    echo "  $health"
    case "$health" in
        *" failed=0 "*) return 0 ;;
        *) echo "  FAIL: probes on the probe listener failed"; return 1 ;;
    esac
}

max_latency_ms() {
    python3 - "$1" <<'PY'
import re, sys
m = re.search(r"Latency\s+\S+\s+\S+\s+([\d.]+)(us|ms|s)", open(sys.argv[1]).read())
if not m: print(-1); sys.exit()
v, unit = float(m.group(1)), m.group(2)
print(int(v / 1000 if unit == "us" else v * 1000 if unit == "s" else v))
PY
}

overload_main() {
    local seconds="${OVERLOAD_SECONDS:-20}" connections="${OVERLOAD_CONNECTIONS:-2000}" limit="${OVERLOAD_MAX_CONNECTIONS:-1000}"
    mkdir -p "$WORK"
    trap cleanup EXIT
    build_kate
    start_registry
    make_review
    local health_port; health_port=$(free_port)
    start_webhook --max-connections "$limit" --health-listen "127.0.0.1:$health_port"
    local health_url="http://127.0.0.1:$health_port"
    check_admission || return 1
    local status=0 url="$KATE_URL/mutate?timeout=2s"
    local base; base=$(snapshot "$KATE_PID")

    probe_loop "$KATE_URL" /healthz >"$WORK/probes.txt" &
    PIDS+=($!)
    probe_loop "$health_url" /healthz /readyz >"$WORK/health-probes.txt" &
    PIDS+=($!)

    echo "baseline: 64 keep-alive connections, 10 s"
    write_lua ""
    local t0; t0=$(date +%s%3N)
    wrk -t2 -c64 -d10s --latency --timeout 5s -s "$WORK/post.lua" "$url" >"$WORK/baseline.txt" 2>&1
    echo "  $(wrk_summary "$WORK/baseline.txt")"
    probe_report "$t0" "$(date +%s%3N)" || status=1

    echo "overload: $connections concurrent keep-alive connections (--max-connections $limit), ${seconds} s"
    t0=$(date +%s%3N)
    wrk -t2 -c"$connections" -d"${seconds}s" --latency --timeout 5s -s "$WORK/post.lua" "$url" >"$WORK/overload.txt" 2>&1
    echo "  $(wrk_summary "$WORK/overload.txt")"
    probe_report "$t0" "$(date +%s%3N)" || status=1
    local worst; worst=$(max_latency_ms "$WORK/overload.txt")
    [ "$worst" -le 2100 ] || { echo "  FAIL: an admission took ${worst} ms against a 2 s timeout"; status=1; }

    echo "burst: 640 connections, a new TLS handshake per admission, ${seconds} s"
    write_lua 'wrk.headers["Connection"] = "close"'
    t0=$(date +%s%3N)
    wrk -t2 -c640 -d"${seconds}s" --latency --timeout 5s -s "$WORK/post.lua" "$url" >"$WORK/burst.txt" 2>&1
    echo "  $(wrk_summary "$WORK/burst.txt")"
    probe_report "$t0" "$(date +%s%3N)" || status=1
    worst=$(max_latency_ms "$WORK/burst.txt")
    [ "$worst" -le 2100 ] || { echo "  FAIL: an admission took ${worst} ms against a 2 s timeout"; status=1; }

    echo "recovery"
    sleep 3
    local code; code=$(curl -sk -o /dev/null --max-time 2 -w '%{http_code}' "$KATE_URL/healthz")
    local ready; ready=$(curl -s -o /dev/null --max-time 2 -w '%{http_code}' "$health_url/readyz")
    local mutate; mutate=$(curl -sk -o /dev/null --max-time 3 -w '%{http_code} %{time_total}s' -H 'Content-Type: application/json' \
        --data-binary @"$WORK/review.json" "$url")
    local end; end=$(snapshot "$KATE_PID")
    read -r b_rss b_fd _ <<<"$base"; read -r e_rss e_fd _ <<<"$end"
    echo "  /healthz $code; probe listener /readyz $ready; /mutate $mutate; RSS ${b_rss} -> ${e_rss} KiB; open fds ${b_fd} -> ${e_fd}"
    [ "$code" = "200" ] || { echo "  FAIL: /healthz did not recover"; status=1; }
    [ "$ready" = "200" ] || { echo "  FAIL: the probe listener's /readyz is $ready"; status=1; }
    [ "${mutate%% *}" = "200" ] || { echo "  FAIL: /mutate did not recover"; status=1; }
    kill -0 "$KATE_PID" 2>/dev/null || { echo "  FAIL: kate exited"; status=1; }
    within_10_percent "$b_fd" "$e_fd" || echo "  note: open fds still above baseline after 3 s ($b_fd -> $e_fd)"
    [ $status -eq 0 ] && echo "PASS: shed under overload, probe listener answered every probe, recovered, no admission past its timeout"
    return $status
}

overload_main "$@"
