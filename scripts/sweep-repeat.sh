#!/usr/bin/env bash
# Runs N (default 20) consecutive release `kate sweep --action report` and N `kate sweep --dry-run`
# sweeps of the 70-pod fleet (Deployments, StatefulSets incl. OnDelete, DaemonSets incl. OnDelete, bare
# ReplicaSets, bare pods, Jobs; stale pods; a TLS Basic-auth docker-registry with a pull secret per
# namespace) against the test API server, and fails on any crash, any exit code other than 2 (stale
# pods found) or any pod missing from the JSON report. Issue 12: the release sweeper crashed on
# every such run while the debug build never did.
#
# Needs /usr/bin/docker-registry (scripts/install-deps.sh) and, from a fresh clone, `swift build -c release`
# (products kate and bench-sweep). KATE_BIN (or KATE_BINARY) names the kate binary to sweep with (default
# .build/release/kate, what `swift build -c release` builds); bench-sweep, the harness, is built in release
# here when .build/release/bench-sweep is missing.
set -euo pipefail
cd "$(dirname "$0")/.." || exit 1
count="${1:-20}"
build=".build/release"
kate="${KATE_BIN:-${KATE_BINARY:-$build/kate}}"
if [[ ! -x "$kate" ]]; then
    echo "sweep-repeat: $kate is missing; run: swift build -c release --product kate" >&2
    exit 1
fi
if [[ ! -x "$build/bench-sweep" ]]; then
    echo "== swift build -c release --product bench-sweep (the sweep-repeat harness)"
    swift build -c release --product bench-sweep
fi
KATE_BINARY="$kate" exec "$build/bench-sweep" --repeat "$count"
