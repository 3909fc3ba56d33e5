#!/usr/bin/env bash
# kate's whole test suite, from a fresh clone: installs what the tests need, lints, builds, runs every Swift test
# (real TLS, a real docker-registry, the Kubernetes test API server) in debug AND in release (the release binary is
# what ships: an optimizer miscompile once crashed the release sweeper while every debug test passed), repeats the
# release sweep, then validates the Helm chart and kustomize base, and drives the test API server and the webhook with
# clients kate did not write (kubectl, the Python client, a Go client) and runs the offline demo.
#
#   KATE_TEST_SKIP="release chart clients"   leave out steps by name (local iteration only; under CI=true all run)
set -euo pipefail
cd "$(dirname "$0")/.."

skip=" ${KATE_TEST_SKIP:-} "
[ "${CI:-}" = true ] && skip=" "
runs() { [[ "$skip" != *" $1 "* ]]; }

scripts/install-deps.sh

passed=0
failed_tests=0
failed_steps=()

# Runs a step that prints pytest / go test results; adds their passed and failed counts to the totals.
run_step() {   # name, command...
    local name="$1"; shift
    local log
    log=$(mktemp)
    if "$@" 2>&1 | tee "$log"; then :; else failed_steps+=("$name"); fi
    # pytest's summary lines ("12 passed, 1 skipped in 3.4s") and go test -v's "--- PASS" / "--- FAIL" lines.
    local py_passed py_failed go_passed go_failed
    local summaries
    summaries=$(grep -E '^=* ?[0-9]+ (passed|failed|errors?|skipped)(, [0-9]+ [a-z]+)* in [0-9.]+s' "$log" || true)
    py_passed=$({ grep -oE '[0-9]+ passed' <<<"$summaries" || true; } | awk '{s+=$1} END {print s+0}')
    py_failed=$({ grep -oE '[0-9]+ (failed|errors?)' <<<"$summaries" || true; } | awk '{s+=$1} END {print s+0}')
    go_passed=$(grep -cE '^\s*--- PASS' "$log" || true)
    go_failed=$(grep -cE '^\s*--- FAIL' "$log" || true)
    passed=$((passed + ${py_passed:-0} + ${go_passed:-0}))
    failed_tests=$((failed_tests + ${py_failed:-0} + ${go_failed:-0}))
    rm -f "$log"
}

echo "== lint: no await inside a tuple literal (Swift 6.3.1 -O miscompile)"
python3 scripts/lint/async-tuples.py || failed_steps+=("lint-async-tuples")
python3 -c 'import pytest' 2>/dev/null || python3 -m pip install -q --disable-pip-version-check pytest
run_step lint-tests python3 -m pytest -q -p no:cacheprovider tests/lint

# One process per test target. Many tests assert that an answer comes before a deadline; in one process every
# module's suites share Swift's cooperative pool (two threads on a 2-core machine), and a test elsewhere generating an
# RSA key or waiting for a child process can stall it for seconds, which says nothing about the module under test.
# Per-target processes keep those measurements honest.
run_targets() {   # configuration, targets...
    local configuration="$1"; shift
    local target log count
    for target in "$@"; do
        echo "== swift test ($configuration): $target"
        log=$(mktemp)
        # shellcheck disable=SC2086 # SWIFT_TEST_EXTRA is a list of words
        if swift test -c "$configuration" ${SWIFT_TEST_EXTRA:-} --skip-build --disable-xctest --filter "^$target\." 2>&1 | tee "$log"; then :; else
            failed_steps+=("$target($configuration)")
        fi
        count=$(sed -n 's/.*Test run with \([0-9]*\) tests\{0,1\} in .* passed.*/\1/p' "$log" | tail -1)
        failed_tests=$((failed_tests + $(grep -c '^✘ Test "' "$log" || true)))
        if [ -z "$count" ]; then
            # No passing summary (a crash, or no tests matched): a failure, never a pass.
            [[ " ${failed_steps[*]-} " == *" $target($configuration) "* ]] || failed_steps+=("$target($configuration)")
        else
            passed=$((passed + count))
        fi
        rm -f "$log"
    done
}

ALL_TARGETS=(KateNetTests KateRegistryTests KateKubeTests KateAdmissionTests KateSweeperTests KateReliabilityTests
             ToolchainRegressionTests)
# Everything that exercises concurrency, the binary end-to-end tests (in KateNetTests) and the miscompile
# reproduction. KateKubeTests (config parsing, the test server's semantics) is single-threaded logic: debug only.
RELEASE_TARGETS=(KateNetTests KateRegistryTests KateAdmissionTests KateSweeperTests KateReliabilityTests
                 ToolchainRegressionTests)

echo "== swift build (debug, with tests)"
if swift build --build-tests; then
    run_targets debug "${ALL_TARGETS[@]}"
else
    failed_steps+=("build(debug)")
fi

if runs release; then
    # The binary exactly as the Dockerfile builds it; the binary end-to-end tests and the repeated sweeps run it.
    echo "== swift build (release, the shipped kate binary, and the sweep-repeat harness)"
    if swift build -c release --static-swift-stdlib --product kate &&
       swift build -c release --static-swift-stdlib --product bench-sweep; then
        shipped="$(swift build -c release --static-swift-stdlib --show-bin-path)/kate"
        # The test bundle needs -enable-testing (@testable imports), which changes code generation: it gets its
        # own scratch path so the shipped binary above stays byte-for-byte what ships.
        echo "== swift build (release, with tests)"
        if swift build -c release --build-tests --scratch-path .build-release-tests -Xswiftc -enable-testing; then
            # Each target: swift test -c release --scratch-path .build-release-tests --skip-build --filter '^T\.'
            KATE_BINARY="$shipped" SWIFT_TEST_EXTRA="--scratch-path .build-release-tests" run_targets release "${RELEASE_TARGETS[@]}"
        else
            failed_steps+=("build(release tests)")
        fi
        echo "== 20 consecutive release sweeps of the 70-pod fleet (report and dry-run)"
        KATE_BIN="$shipped" scripts/sweep-repeat.sh 20 || failed_steps+=("sweep-repeat")
    else
        failed_steps+=("build(release)")
    fi
fi

if runs chart; then
    echo "== chart + kustomize checks (real Helm v4 engine, Kubernetes 1.29 and 1.32 schemas)"
    run_step check-install scripts/check-install.sh
    # The shipped binary when the release step built it: its metrics are what the dashboard and alerts must name.
    echo "== dashboard and alerts vs what kate exports (promtool, a running webhook and a sweep)"
    run_step check-observability env KATE_BINARY="${shipped:-.build/debug/kate}" scripts/check-observability.sh
fi

if runs clients; then
    # kubectl and the Python client against the test API server, the offline demo, and a Go client applying the
    # webhook's patches with the apiserver's JSON-patch library.
    echo "== clients we did not write (kubectl, Python kubernetes, Go + evanphx/json-patch) and the demo"
    run_step test-clients scripts/test-clients.sh
    # The shipped binary (when built) with real tools: pinning guards (docker-registry, skopeo, kubectl, curl) and
    # `kate resolve --explain` on a private image with a wrong pull secret (docker-registry with htpasswd).
    echo "== pinning guards and resolve --explain through the binary, against docker-registry"
    run_step e2e-guards env KATE_BIN="${shipped:-.build/debug/kate}" scripts/e2e-guards.py
    run_step explain-demo env KATE_BIN="${shipped:-.build/debug/kate}" scripts/explain-demo.sh
    # Maintenance windows against Python's zoneinfo, notifications into a Python receiver (both through the binary).
    run_step e2e-windows-notify env KATE_BIN="${shipped:-.build/debug/kate}" scripts/e2e-windows-notify.py
    # The cooldown and the ledger: kubectl writes and reads the ImageTagHistory objects the webhook and sweep use.
    run_step e2e-cooldown env KATE_BIN="${shipped:-.build/debug/kate}" scripts/e2e-cooldown.py
    # The push receiver with curl and `openssl dgst -hmac` on every stored sample, and docker-registry notifying kate.
    run_step registry-events scripts/registry-events/verify-receiver.sh "${shipped:-.build/debug/kate}"
fi

# The plain closing line CI reads: Swift tests of the targets that passed, failed individual tests.
echo "tests: $passed passed, $failed_tests failed"
if [ ${#failed_steps[@]} -gt 0 ]; then
    echo "failed: ${failed_steps[*]}" >&2
    exit 1
fi
