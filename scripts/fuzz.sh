#!/usr/bin/env bash
# Builds the libFuzzer targets under Fuzz/ and runs each one for a fixed time, one after another.
#
#   scripts/fuzz.sh                      # every target, 60 s each
#   FUZZ_SECONDS=600 scripts/fuzz.sh     # the closing figures (10 min each)
#   scripts/fuzz.sh fuzz-image-reference fuzz-chunked
#
# How it builds (this is what works with SwiftPM on Linux): the targets exist only when
# KATE_FUZZ=1 (see Package.swift); `-sanitize=fuzzer,address` instruments every Swift module
# and links libFuzzer. SwiftPM renames `main` of debug executables to `<module>_main`; the shared
# C target Fuzz/FuzzSupport defines that symbol for every harness and hands over to
# `LLVMFuzzerRunDriver`, so a harness holds only its `LLVMFuzzerTestOneInput`. The debug configuration
# keeps `@testable import` working for internal parsers (ChunkedDecoder); `-O` on top makes it
# fast (FUZZ_OPTIMIZE=0 for -Onone, e.g. to step through a crash in a debugger).
#
# Each target runs on a scratch copy of its seed corpus (Fuzz/corpus/<target>, never modified);
# a crash, a leak, an invariant failure or a slow input (> FUZZ_INPUT_TIMEOUT s) stops that
# target and leaves the input in Fuzz/crashes/<target>/ (keep it once fixed: every run replays
# those first, as regression tests) — replay one by hand with
#   .build-fuzz/debug/<target> Fuzz/crashes/<target>/<file>
set -uo pipefail

cd "$(dirname "$0")/.." || exit 2
ALL_TARGETS=(fuzz-http-request fuzz-chunked fuzz-admission fuzz-image-reference fuzz-www-authenticate fuzz-docker-config fuzz-image-id)
SECONDS_EACH="${FUZZ_SECONDS:-60}"
INPUT_TIMEOUT="${FUZZ_INPUT_TIMEOUT:-10}"
SCRATCH="${FUZZ_SCRATCH:-.build-fuzz}"
OPT_FLAGS=(-Xswiftc -O)
[ "${FUZZ_OPTIMIZE:-1}" = "0" ] && OPT_FLAGS=()
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=("${ALL_TARGETS[@]}")

only=$(IFS=,; echo "${targets[*]}")
echo "building ${only} (debug config ${OPT_FLAGS[*]}, -sanitize=fuzzer,address) in ${SCRATCH}"
# ld.gold warns "Cannot export local symbol" for every instrumented module: harmless, filtered.
KATE_FUZZ=1 KATE_ONLY="$only" swift build --scratch-path "$SCRATCH" -Xswiftc -sanitize=fuzzer,address "${OPT_FLAGS[@]}" \
    2>&1 | grep -v "Cannot export local symbol" | grep -E "error|Compiling fuzz|Build complete"
[ "${PIPESTATUS[0]}" -eq 0 ] || { echo "error: fuzz build failed" >&2; exit 2; }
bin="$(KATE_FUZZ=1 KATE_ONLY="$only" swift build --scratch-path "$SCRATCH" --show-bin-path)"
for t in "${targets[@]}"; do
    [ -x "$bin/$t" ] || { echo "error: $bin/$t was not built" >&2; exit 2; }
done

# libFuzzer reports crashes itself (with ASan's stack); Swift's own backtracer would attach to the
# dying process and can outlive it, holding the log pipe open.
export SWIFT_BACKTRACE=enable=no

work="$SCRATCH/fuzz-work"
summary=()
failed=0

# Regression first: every input that ever crashed a target (Fuzz/crashes/<target>/, kept once
# fixed) must now run clean. libFuzzer given files runs exactly those and exits non-zero on a crash.
for t in "${targets[@]}"; do
    shopt -s nullglob
    saved=(Fuzz/crashes/"$t"/*)
    shopt -u nullglob
    [ ${#saved[@]} -eq 0 ] && continue
    if "$bin/$t" "${saved[@]}" >"$SCRATCH/$t.replay.log" 2>&1; then
        echo "== $t: ${#saved[@]} saved crash input(s) replayed clean"
    else
        echo "== $t: a saved crash input still crashes; see $SCRATCH/$t.replay.log"
        failed=1
    fi
done

for t in "${targets[@]}"; do
    corpus="$work/corpus/$t"
    crashes="Fuzz/crashes/$t"
    mkdir -p "$corpus" "$crashes"
    cp -n Fuzz/corpus/"$t"/* "$corpus"/ 2>/dev/null || true
    log="$work/$t.log"
    echo "== $t: ${SECONDS_EACH}s"
    # -print_final_stats gives execs and exec/s; the last status line gives coverage (cov = edges).
    "$bin/$t" "$corpus" -max_total_time="$SECONDS_EACH" -timeout="$INPUT_TIMEOUT" -rss_limit_mb=2048 \
        -artifact_prefix="$crashes/" -print_final_stats=1 >"$log" 2>&1
    status=$?
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
    rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
    rss=$(grep -o 'stat::peak_rss_mb: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
    cov=$(grep -o 'cov: [0-9]* ft: [0-9]*' "$log" | tail -1)
    corp=$(grep -o 'corp: [0-9]*/[0-9]*[a-zA-Z]*' "$log" | tail -1)
    artifact=$(grep -o "Test unit written to [^ ]*" "$log" | tail -1 | sed 's/Test unit written to //')
    crash="none"
    if [ "$status" -ne 0 ] || [ -n "$artifact" ]; then
        kind=$(grep -oE 'ERROR: (libFuzzer|AddressSanitizer|LeakSanitizer): [a-zA-Z -]*|Fatal error: .{0,100}' "$log" | head -1)
        crash="1 (${kind:-exit $status}) -> ${artifact:-see $log}"
        failed=1
    fi
    line=$(printf '%-22s %6ss  execs %-10s %7s exec/s  %-20s %-16s rss %sMB  crashes: %s' \
        "$t" "$SECONDS_EACH" "${execs:-?}" "${rate:-?}" "${cov:-cov ?}" "${corp:-corp ?}" "${rss:-?}" "$crash")
    echo "$line"
    summary+=("$line")
done

echo
echo "fuzz summary ($(date -u +%Y-%m-%dT%H:%MZ), ${SECONDS_EACH}s per target, logs in $work/):"
printf '%s\n' "${summary[@]}"
exit $failed
