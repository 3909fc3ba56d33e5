#!/usr/bin/env bash
# kate's whole test suite, from a fresh clone: installs what the tests need, builds, runs every
# Swift test (real TLS, a real docker-registry, the Kubernetes test API server), then validates the
# Helm chart and kustomize base with the real Helm engine and the Kubernetes schemas.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh

echo "== swift build (debug, with tests)"
swift build --build-tests

# One process per test target. Many tests assert that an answer comes before a deadline; in one
# process every module's suites share Swift's cooperative pool (two threads on a 2-core machine), and
# a test elsewhere generating an RSA key or waiting for a child process can stall it for seconds,
# which says nothing about the module under test. Per-target processes keep those measurements honest.
TARGETS=(KateNetTests KateRegistryTests KateKubeTests KateAdmissionTests KateSweeperTests KateReliabilityTests)
passed=0
failed_tests=0
failed_targets=()
for target in "${TARGETS[@]}"; do
    echo "== swift test: $target"
    log=$(mktemp)
    if swift test --skip-build --disable-xctest --filter "^$target\." 2>&1 | tee "$log"; then :; else failed_targets+=("$target"); fi
    count=$(sed -n 's/.*Test run with \([0-9]*\) tests\{0,1\} in .* passed.*/\1/p' "$log" | tail -1)
    failed_tests=$((failed_tests + $(grep -c '^✘ Test "' "$log" || true)))
    if [ -z "$count" ]; then
        # No passing summary (a crash, or no tests matched): count it as a failure, never as a pass.
        [[ " ${failed_targets[*]-} " == *" $target "* ]] || failed_targets+=("$target")
    else
        passed=$((passed + count))
    fi
    rm -f "$log"
done

if [ -x scripts/check-install.sh ]; then
    echo "== chart + kustomize checks"
    scripts/check-install.sh || failed_targets+=("check-install")
fi

# The plain closing line CI reads: Swift tests of the targets that passed, failed individual tests.
echo "tests: $passed passed, $failed_tests failed"
if [ ${#failed_targets[@]} -gt 0 ]; then
    echo "failed: ${failed_targets[*]}" >&2
    exit 1
fi
