#!/bin/sh
# Builds and runs the KateKube list/decode benchmark (release, its own scratch path).
set -eu
cd "$(dirname "$0")/.."
KATE_ONLY=bench-kube swift build -c release --product bench-kube --scratch-path .build-release-kube
exec .build-release-kube/release/bench-kube
