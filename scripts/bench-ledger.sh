#!/bin/sh
# Builds and runs the digest-ledger benchmark (release, its own scratch path): record rate at 500 tags
# against the loopback test API server, a plain GET as the baseline, and record → watch propagation.
set -eu
cd "$(dirname "$0")/.."
KATE_ONLY=bench-ledger swift build -c release --product bench-ledger --scratch-path .build-release-ledger
exec .build-release-ledger/release/bench-ledger
