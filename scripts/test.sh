#!/usr/bin/env bash
# kate's whole test suite, from a fresh clone: installs what the tests need, builds, runs every
# Swift test (real TLS, a real docker-registry, the Kubernetes test API server), then validates the
# Helm chart and kustomize base with the real Helm engine and the Kubernetes schemas.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh

echo "== swift build (debug, with tests)"
swift build --build-tests

echo "== swift test"
swift test --skip-build --disable-xctest

if [ -x scripts/check-install.sh ]; then
    echo "== chart + kustomize checks"
    scripts/check-install.sh
fi
