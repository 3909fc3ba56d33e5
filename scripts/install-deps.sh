#!/usr/bin/env bash
# Installs what kate's build, tests and benchmarks need on a Debian 12 machine, only where missing.
# Idempotent and quiet when everything is present; safe to run as root (CI) or with sudo available.
set -euo pipefail

# command -> Debian package that provides it
declare -A NEED=(
    [pkg-config]=pkg-config
    [openssl]=openssl
    [curl]=curl
    [docker-registry]=docker-registry   # real OCI registry (distribution 2.8) the tests run on loopback
    [htpasswd]=apache2-utils            # bcrypt htpasswd files for the Basic-auth test registry
    [skopeo]=skopeo                     # the old tool's resolver, for the before/after benchmarks
    [wrk]=wrk                           # HTTP load generator for the benchmarks
    [testssl]=testssl.sh                # TLS audit (scripts/tls-audit.sh)
    [promtool]=prometheus               # checks and unit-tests the chart's alert rules (scripts/check-observability.sh)
)

missing=()
for cmd in "${!NEED[@]}"; do
    command -v "$cmd" >/dev/null 2>&1 || missing+=("${NEED[$cmd]}")
done
# Headers for the COpenSSL system-library target.
pkg-config --exists openssl 2>/dev/null || missing+=(libssl-dev)

if [ ${#missing[@]} -gt 0 ]; then
    echo "install-deps: installing ${missing[*]}" >&2
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" libssl-dev pkg-config >/dev/null
fi

# The Debian package may start a registry on :5000 through its init script; kate's tests start
# their own instances on ephemeral loopback ports, so a system one is not needed.
if command -v swift >/dev/null 2>&1; then :; else
    echo "install-deps: swift is not on PATH (expected Swift 6.2+ toolchain, e.g. /opt/swift/usr/bin)" >&2
    exit 1
fi
