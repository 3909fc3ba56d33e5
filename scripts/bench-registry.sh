#!/bin/sh
# Builds and runs the registry resolution benchmark (release, its own scratch path). Needs
# /usr/bin/docker-registry and skopeo (scripts/install-deps.sh installs both).
set -eu
cd "$(dirname "$0")/.."
KATE_ONLY=bench-registry swift build -c release --product bench-registry --scratch-path .build-release-registry
exec .build-release-registry/release/bench-registry
