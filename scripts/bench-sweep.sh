#!/usr/bin/env bash
# Release build of bench-sweep and kate, then one run: the shipped kate binary (default flags) against
# the sequential skopeo loop on 70 pods, then 10,000 pods / 500 tags (BENCH_HUGE=1: also 100,000 /
# 5,000). Needs docker-registry and skopeo (scripts/install-deps.sh). Prints the figures quoted in the
# README. KATE_BENCH_SCRATCH picks another build directory (default .build, shared with `swift build`).
set -euo pipefail
cd "$(dirname "$0")/.." || exit 1
scratch="${KATE_BENCH_SCRATCH:-.build}"
swift build -c release --product bench-sweep --scratch-path "$scratch"
swift build -c release --product kate --scratch-path "$scratch"
exec "$scratch/release/bench-sweep"
