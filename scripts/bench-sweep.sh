#!/usr/bin/env bash
# Release build of bench-sweep and kate in their own scratch path, then one run. Needs docker-registry
# and skopeo (scripts/install-deps.sh). Prints the figures quoted in the README.
set -euo pipefail
cd "$(dirname "$0")/.."
scratch="${KATE_BENCH_SCRATCH:-.build-bench-sweep}"
export KATE_ONLY=bench-sweep,kate
swift build -c release --product bench-sweep --scratch-path "$scratch"
swift build -c release --product kate --scratch-path "$scratch"
exec "$scratch/release/bench-sweep"
