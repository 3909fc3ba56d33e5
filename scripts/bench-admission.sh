#!/usr/bin/env bash
# Admission benchmark of what ships: the RELEASE `kate webhook` binary with its default flags and
# with the Helm chart's default values, side by side in one run with a minimal Go net/http TLS
# webhook (Benchmarks/go-baseline-webhook, Debian golang-go, standard library only, built here
# offline). Reviews of 1, 3 and 20 images, anonymous and credentialed (real docker-registry with
# htpasswd Basic auth and with token auth), wrk with 64 keep-alive connections, saturated and
# paced to 10,000/s; outage rows (registry refused / hung: a burst through a Go client, and wrk).
# Everything on 127.0.0.1.
# Env: BENCH_DURATION (per row, default 5s), BENCH_RATE (default 10000), BENCH_OUTAGE_DURATION
# (default 20s), BENCH_ONLY_IMAGES (e.g. 20).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { echo "wrk is not installed (scripts/install-deps.sh installs it)" >&2; exit 1; }
[ -x /usr/bin/docker-registry ] || { echo "docker-registry is not installed (apt-get install -y docker-registry)" >&2; exit 1; }
command -v go >/dev/null || { echo "go is not installed: apt-get install -y golang-go" >&2; exit 1; }

# The shipped binary: `swift build -c release --product kate`, as the Dockerfile builds it.
swift build -c release --product kate
kate_binary="$(swift build -c release --show-bin-path)/kate"

# The benchmark driver (registries, token server, wrk) in its own scratch path.
KATE_ONLY=bench-admission swift build -c release --product bench-admission --scratch-path .build-bench-admission

# The Go baseline webhook and the outage burst's Go client: standard library only, no module
# download (GO111MODULE=off, GOPROXY=off).
for program in go-baseline-webhook go-burst-client; do
    (cd "Benchmarks/$program" && GO111MODULE=off GOFLAGS= GOPROXY=off GOCACHE="$(pwd)/../../.build-bench-admission/gocache" \
        go build -o "../../.build-bench-admission/$program" main.go)
done

KATE_BINARY="$kate_binary" GO_BASELINE_BINARY="$(pwd)/.build-bench-admission/go-baseline-webhook" \
    GO_BURST_CLIENT="$(pwd)/.build-bench-admission/go-burst-client" exec .build-bench-admission/release/bench-admission
