#!/usr/bin/env bash
# Runs every benchmark (release builds) one after another and prints their figures.
# Each benchmark is also runnable on its own: scripts/bench-{net,registry,kube,admission,sweep}.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
for bench in net kube registry admission sweep; do
    echo "===================== bench-$bench ====================="
    "scripts/bench-$bench.sh"
done
