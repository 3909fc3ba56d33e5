#!/usr/bin/env bash
# Admission benchmark: cached-path throughput/latency at 1/16/64 keep-alive TLS connections
# (wrk), and cold-path latency of a 5-container review behind a 50 ms-per-round-trip registry.
# Release build in its own scratch path so it never disturbs a debug build.
# Env: BENCH_DURATION (wrk run per row, default 8s), BENCH_COLD_ROUNDS (default 40).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { echo "wrk is not installed (scripts/install-deps.sh installs it)" >&2; exit 1; }
command -v docker-registry >/dev/null || [ -x /usr/bin/docker-registry ] || { echo "docker-registry is not installed" >&2; exit 1; }
KATE_ONLY=bench-admission swift build -c release --product bench-admission --scratch-path .build-bench-admission
exec .build-bench-admission/release/bench-admission
