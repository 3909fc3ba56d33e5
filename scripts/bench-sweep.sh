#!/usr/bin/env bash
# Release build of bench-sweep in its own scratch path, then one run. Needs docker-registry and skopeo
# (scripts/install-deps.sh). Prints the figures quoted in the README.
set -euo pipefail
cd "$(dirname "$0")/.."
scratch="${KATE_BENCH_SCRATCH:-.build-bench-sweep}"
KATE_ONLY=bench-sweep swift build -c release --product bench-sweep --scratch-path "$scratch"
exec "$scratch/release/bench-sweep"
