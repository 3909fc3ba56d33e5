#!/usr/bin/env bash
# check-observability.sh — the chart's Grafana dashboard and PrometheusRule against what kate really exports.
#
#   scripts/check-observability.sh            (KATE_BINARY=path/to/kate to check another build)
#
# 1. The dashboard JSON must be what scripts/observability/make_dashboard.py writes (edit panels there).
#    Renders charts/kate with ci/observability-values.yaml (dashboards.enabled, alerts.enabled) through
#    scripts/chart-check (the real Helm engine, lint --strict, strict schemas) and extracts the dashboard
#    JSON and the PrometheusRule's spec; renders the alert variants (no metrics file: no sweeper group; a
#    */15 schedule: 30m; an unknown schedule: a clear failure).
# 2. promtool check rules and promtool test rules (scripts/observability/alerts-test.yaml) on that spec.
# 3. Runs kate for real on loopback: a stand-in registry with Docker Hub's rate-limit headers
#    (scripts/observability/fake_registry.py), `kate webhook --self-signed`, kate-dev-apiserver with a
#    Deployment whose pods are admitted through the webhook; AdmissionReviews with curl (pinned, failed open
#    on a dead registry until its circuit opens, invalid, /validate denied); the tag moves and the pinned
#    digest is deleted; `kate sweep --metrics-file` restarts the Deployment and lists the dangling digest.
#    Scrapes the webhook's /metrics.
#    Both expositions must pass `promtool check metrics` (Prometheus's parser and naming lint).
# 4. Every metric and label the dashboard's queries and the alerts name must be in those expositions
#    (scripts/observability/check_observability.py); a misspelled metric or label must make that check fail.
# 5. A sweep that stops on an error leaves the metrics file as it was (what KateSweepNotSucceeding relies on).
#
# Needs: python3 with PyYAML, curl, promtool (Debian `prometheus`: installed when missing, as
# scripts/install-deps.sh does). Env: KATE_BINARY (default .build/debug/kate, else .build/release/kate),
# KATE_DEV_APISERVER_BINARY (default: kate-dev-apiserver beside it, else .build/debug/kate-dev-apiserver),
# KATE_OBSERVABILITY_KEEP=1 keeps the work directory. Exit 0 only when every check passed.
set -euo pipefail

absolute() { case "$1" in ""|/*) echo "$1" ;; *) echo "$PWD/$1" ;; esac; }   # before the cd below
kate="$(absolute "${KATE_BINARY:-}")"
apiserver="$(absolute "${KATE_DEV_APISERVER_BINARY:-}")"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
helper="$root/scripts/observability/check_observability.py"
started=$SECONDS

if [ -z "$kate" ]; then
  for candidate in .build/debug/kate .build/release/kate; do [ -x "$candidate" ] && { kate="$root/$candidate"; break; }; done
fi
[ -n "$kate" ] || { echo "check-observability: no kate binary in .build (swift build --product kate, or set KATE_BINARY)" >&2; exit 2; }
[ -x "$kate" ] || { echo "check-observability: KATE_BINARY=$kate is not an executable" >&2; exit 2; }
if [ -z "$apiserver" ]; then
  apiserver="$(dirname "$kate")/kate-dev-apiserver"
  [ -x "$apiserver" ] || apiserver="$root/.build/debug/kate-dev-apiserver"
fi
[ -x "$apiserver" ] || { echo "check-observability: no kate-dev-apiserver (swift build --product kate-dev-apiserver; or set KATE_DEV_APISERVER_BINARY)" >&2; exit 2; }

if ! command -v promtool >/dev/null; then
  echo "check-observability: installing promtool (Debian package prometheus)" >&2
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null
fi
command -v curl >/dev/null || { echo "check-observability: curl is missing (scripts/install-deps.sh)" >&2; exit 2; }
python3 -c 'import yaml' 2>/dev/null || python3 -m pip install -q --disable-pip-version-check PyYAML

work="$(mktemp -d "${TMPDIR:-/tmp}/kate-observability.XXXXXX")"
children=()
stop_children() {
  local pid
  for pid in "${children[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${children[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  children=()
}
finish() {
  stop_children
  if [ "${KATE_OBSERVABILITY_KEEP:-0}" = 1 ]; then echo "check-observability: kept $work" >&2; else rm -rf "$work"; fi
}
trap finish EXIT
trap 'exit 130' INT TERM

passed=0; failed=0
ok() { passed=$((passed + 1)); echo "  PASS  $*"; }
bad() { failed=$((failed + 1)); echo "  FAIL  $*"; }
check() {   # description, command...
  local what="$1"; shift
  if "$@" > "$work/last.log" 2>&1; then ok "$what"; else bad "$what"; sed 's/^/        /' "$work/last.log" | tail -40; fi
}
poll() {   # seconds, command...: until it succeeds
  local deadline=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do [ $SECONDS -lt $deadline ] || return 1; sleep 0.2; done
}
render() {   # output, chart-check arguments...
  local out="$1"; shift
  bash scripts/chart-check/chart-check.sh -q --lint-strict charts/kate -r kate -n kate-system \
    --api-versions monitoring.coreos.com/v1 --ignore-missing-schemas -o "$out" "$@"
}

# ---- 1. render
echo "== check-observability: chart render (dashboards.enabled, alerts.enabled)"
check "chart renders with ci/observability-values.yaml" render "$work/render.yaml" charts/kate/ci/observability-values.yaml
check "dashboard JSON and PrometheusRule spec extracted" python3 "$helper" extract "$work/render.yaml" "$work/out"
[ -f "$work/out/rules.yaml" ] || { echo "check-observability: nothing to check without a render" >&2; exit 1; }
alerts_of() {   # render: the alert names, in order
  python3 -c 'import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d and d["kind"] == "PrometheusRule"]
print(" ".join(r["alert"] for d in docs for g in d["spec"]["groups"] for r in g["rules"]))' "$1"
}
sweep_expr_of() {   # render: the KateSweepNotSucceeding expression
  python3 -c 'import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d and d["kind"] == "PrometheusRule"]
print([r["expr"] for d in docs for g in d["spec"]["groups"] for r in g["rules"] if r["alert"] == "KateSweepNotSucceeding"][0])' "$1"
}
webhook_alerts_only() {
  render "$work/no-file.yaml" --set alerts.enabled=true &&
    [ "$(alerts_of "$work/no-file.yaml")" = "KateWebhookFailingOpen KateRegistryCircuitOpen KateRegistryRateLimitLow" ]
}
schedule_derived() {   # schedule, seconds
  render "$work/schedule.yaml" --set alerts.enabled=true --set sweeper.metricsFile=/m/kate.prom --set "sweeper.schedule=$1" &&
    sweep_expr_of "$work/schedule.yaml" | grep -q "> $2\$"
}
unknown_schedule_fails() {
  local irregular="0 4 * * 1-5"
  if render "$work/unknown.yaml" --set alerts.enabled=true --set sweeper.metricsFile=/m/kate.prom --set "sweeper.schedule=$irregular" > "$work/unknown.log" 2>&1; then
    echo "rendered a sweeper alert for schedule '$irregular' without alerts.sweeper.notSucceededFor"; return 1
  fi
  grep -q "set alerts.sweeper.notSucceededFor" "$work/unknown.log" || { cat "$work/unknown.log"; return 1; }
  render "$work/unknown.yaml" --set alerts.enabled=true --set sweeper.metricsFile=/m/kate.prom --set "sweeper.schedule=$irregular" \
    --set alerts.sweeper.notSucceededFor=4d && sweep_expr_of "$work/unknown.yaml" | grep -q "> 345600\$"
}
nothing_by_default() {
  render "$work/default.yaml" && ! grep -qE "kind: PrometheusRule|grafana_dashboard" "$work/default.yaml"
}
sidecar_label_configurable() {   # the label key/value the sidecar selects by, once, whatever dashboards.labels says
  render "$work/label.yaml" --set dashboards.enabled=true --set dashboards.label=team.example/dashboard \
    --set dashboards.labelValue=kate --set dashboards.labels.team\\.example/dashboard=other --set dashboards.namespace=monitoring &&
  python3 -c 'import sys, yaml
[cm] = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d and d["kind"] == "ConfigMap" and d["metadata"]["name"] == "kate-dashboard"]
assert cm["metadata"]["labels"]["team.example/dashboard"] == "kate", cm["metadata"]
assert cm["metadata"]["namespace"] == "monitoring", cm["metadata"]' "$work/label.yaml"
}
dashboard_is_generated() {
  python3 scripts/observability/make_dashboard.py "$work/generated.json" &&
    diff -u charts/kate/dashboards/kate-overview.json "$work/generated.json" | head -20 &&
    cmp -s charts/kate/dashboards/kate-overview.json "$work/generated.json"
}
check "charts/kate/dashboards/kate-overview.json is what scripts/observability/make_dashboard.py writes" dashboard_is_generated
check "without sweeper.metricsFile only the webhook alerts render" webhook_alerts_only
check "the sidecar's label key, value and namespace are values" sidecar_label_configurable
check "@hourly: the sweeper alert waits two hours (7200 s)" schedule_derived "@hourly" 7200
check "*/15 * * * *: two intervals are 30 minutes (1800 s)" schedule_derived "*/15 * * * *" 1800
check "30 2 * * *: two days (172800 s)" schedule_derived "30 2 * * *" 172800
check "an irregular schedule fails, naming alerts.sweeper.notSucceededFor, and renders with it set" unknown_schedule_fails
check "chart defaults render neither the dashboard nor the rules" nothing_by_default

# ---- 2. promtool
echo "== check-observability: promtool $(promtool --version 2>&1 | head -1 | awk '{print $3}')"
check "promtool check rules" promtool check rules "$work/out/rules.yaml"
dashboard_queries_parse() {
  python3 "$helper" dashboard-as-rules "$work/out/dashboard.json" "$work/out/dashboard-rules.yaml" &&
    promtool check rules "$work/out/dashboard-rules.yaml"
}
check "every dashboard query parses (promtool check rules, as recording rules)" dashboard_queries_parse
cp scripts/observability/alerts-test.yaml "$work/out/alerts-test.yaml"
check "promtool test rules (scripts/observability/alerts-test.yaml)" promtool test rules "$work/out/alerts-test.yaml"

# ---- 3. kate on loopback
echo "== check-observability: kate webhook and kate sweep on loopback ($kate)"
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
python3 scripts/observability/fake_registry.py "$work/registry.port" > "$work/registry.log" 2>&1 &
children+=($!)
poll 10 test -s "$work/registry.port" || { echo "check-observability: the stand-in registry did not start" >&2; exit 1; }
registry="127.0.0.1:$(cat "$work/registry.port")"
# A port nothing listens on: a registry whose lookups fail in transport until its circuit opens.
dead="127.0.0.1:$(free_port)"
printf '{"registries": {"%s": {"plainHTTP": true}, "%s": {"plainHTTP": true}}}\n' "$registry" "$dead" > "$work/registry-config.json"

port="$(free_port)"
"$kate" webhook --self-signed --listen "127.0.0.1:$port" --ca-out "$work/ca.pem" --registry-config "$work/registry-config.json" \
  --cache-ttl 0s --pull-secrets off > "$work/webhook.log" 2>&1 &
children+=($!)
hook="https://localhost:$port"
poll 20 curl -fsS --cacert "$work/ca.pem" "$hook/healthz" ||
  { echo "check-observability: kate webhook did not start:" >&2; tail -5 "$work/webhook.log" >&2; exit 1; }

review() {   # path, image: one AdmissionReview for a one-container Pod, as kube-apiserver sends it; prints the answer
  curl -sS --cacert "$work/ca.pem" -H 'Content-Type: application/json' "$hook$1?timeout=10s" --data-binary @- <<EOF
{"kind": "AdmissionReview", "apiVersion": "admission.k8s.io/v1",
 "request": {"uid": "0b3c5d2e-7a41-4f0e-9c1d-$(printf '%012d' "$RANDOM")", "kind": {"group": "", "version": "v1", "kind": "Pod"},
  "resource": {"group": "", "version": "v1", "resource": "pods"}, "namespace": "shop", "operation": "CREATE",
  "userInfo": {"username": "system:serviceaccount:kube-system:replicaset-controller"},
  "object": {"apiVersion": "v1", "kind": "Pod", "metadata": {"generateName": "web-", "namespace": "shop"},
   "spec": {"containers": [{"name": "web", "image": "$2"}]}}, "dryRun": false}}
EOF
}
answer_has() {   # text, path, image
  local answer; answer="$(review "$2" "$3")"
  [[ "$answer" == *"$1"* ]] || { echo "answer: $answer"; return 1; }
}
check "a review of $registry/demo/web:1.0 is pinned" answer_has '"patchType":"JSONPatch"' /mutate "$registry/demo/web:1.0"
for _ in 1 2 3 4; do review /mutate "$dead/demo/gone:1" > /dev/null; done
check "a review of an image on a dead registry fails open with a warning" answer_has '"allowed":true,"warnings":["' /mutate "$dead/demo/gone:1"
check "/validate denies an unpinned image" answer_has '"allowed":false' /validate "$registry/demo/web:1.0"
check "a body that is not an AdmissionReview is answered 400" \
  test "$(curl -sS -o /dev/null -w '%{http_code}' --cacert "$work/ca.pem" -H 'Content-Type: application/json' --data 'not json' "$hook/mutate")" = 400

cat > "$work/seed.yaml" <<EOF
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop, labels: {app: web}}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: "$registry/demo/web:1.0"}]
EOF
"$apiserver" --kubeconfig "$work/kubeconfig" --seed "$work/seed.yaml" --controllers \
  --admission-webhook "$hook/mutate" --webhook-ca "$work/ca.pem" --ready-file "$work/apiserver.ready" > "$work/apiserver.log" 2>&1 &
children+=($!)
poll 20 test -f "$work/apiserver.ready" ||
  { echo "check-observability: kate-dev-apiserver did not start:" >&2; tail -5 "$work/apiserver.log" >&2; exit 1; }
pinned_pods() { [ "$(python3 "$helper" running-pods "$work/kubeconfig" shop | grep -c "^$registry/demo/web:1.0@sha256:")" = 2 ]; }
check "the Deployment's two pods run pinned (admitted through the webhook)" poll 20 pinned_pods
curl -fsS -X POST "http://$registry/move" >/dev/null   # the tag moves
curl -fsS -X POST "http://$registry/delete-old" >/dev/null   # and a retention job deletes the digest the pods pin
sweep() {   # kubeconfig, metrics file, more flags
  "$kate" sweep --kubeconfig "$1" --registry-config "$work/registry-config.json" --metrics-file "$2" "${@:3}"
}
check "kate sweep --metrics-file restarts the Deployment (exit 0)" sweep "$work/kubeconfig" "$work/sweep.prom"
check "the sweep's metrics file counts the restart" grep -q 'kate_sweep_actions_total{action="restart",outcome="ok"} 1' "$work/sweep.prom"
check "the sweep's metrics file lists the Deployment's dangling digest" grep -q 'kate_dangling_digests{namespace="shop",owner="Deployment/web"} 1' "$work/sweep.prom"
recent_success() {
  python3 - "$work/sweep.prom" <<'EOF'
import re, sys, time
value = float(re.search(r"^kate_sweep_last_success_timestamp_seconds (\S+)$", open(sys.argv[1]).read(), re.M)[1])
sys.exit(0 if time.time() - 120 < value <= time.time() else f"kate_sweep_last_success_timestamp_seconds {value} is not within the last 2 minutes")
EOF
}
check "the metrics file carries a last-success timestamp of now" recent_success
curl -fsS --cacert "$work/ca.pem" "$hook/metrics" > "$work/webhook.prom"
check "the webhook's /metrics shows the dead registry's circuit open" grep -q "kate_registry_circuit_state{registry=\"$dead\"} 2" "$work/webhook.prom"
check "the webhook's /metrics shows the rate-limit gauges" grep -q "kate_registry_ratelimit_limit{registry=\"$registry\"} 100" "$work/webhook.prom"

# Prometheus's own parser and linter on what kate serves and writes; kate emits no # HELP lines (the only finding allowed).
exposition_lints_clean() {   # file
  local findings
  findings="$(promtool check metrics < "$1" 2>&1 | grep -v ' no help text$' || true)"
  [ -z "$findings" ] || { echo "$findings"; return 1; }
  [ -s "$1" ]
}
check "promtool check metrics: the webhook's /metrics parses, names and units lint clean" exposition_lints_clean "$work/webhook.prom"
check "promtool check metrics: the sweep's metrics file parses, names and units lint clean" exposition_lints_clean "$work/sweep.prom"

# ---- 4. names in the dashboard and rules against the expositions
echo "== check-observability: every metric and label the dashboard and the alerts name is exported"
expositions=("$work/webhook.prom" "$work/sweep.prom")
failed_before=$failed
check "the dashboard and the alerts name only exported metrics and labels" \
  python3 "$helper" check "$work/out/dashboard.json" "$work/out/rules.yaml" "${expositions[@]}"
[ "$failed" != "$failed_before" ] || grep "^check-observability:" "$work/last.log" | sed 's/^/        /'
# The check must be able to fail: a misspelled metric, and a label no series has.
sed 's/kate_admission_reviews_total/kate_admission_review_total/g' "$work/out/dashboard.json" > "$work/misspelled.json"
sed 's/by (reason)/by (raeson)/g' "$work/out/dashboard.json" > "$work/mislabelled.json"
check_fails_with() {   # text, dashboard
  local code=0
  python3 "$helper" check "$2" "$work/out/rules.yaml" "${expositions[@]}" > "$work/negative.log" 2>&1 || code=$?
  if [ "$code" != 1 ] || ! grep -q "$1" "$work/negative.log"; then cat "$work/negative.log"; return 1; fi
}
check "a misspelled metric fails the check" check_fails_with "kate_admission_review_total is not a metric kate exports" "$work/misspelled.json"
check "a label no series has fails the check" check_fails_with "has the label 'raeson'" "$work/mislabelled.json"

# ---- 5. a failed sweep leaves the metrics file alone
sed "s#server: https://.*#server: https://$dead#" "$work/kubeconfig" > "$work/dead-kubeconfig"
cp "$work/sweep.prom" "$work/sweep-before.prom"
failed_sweep_keeps_file() {
  local code=0
  sweep "$work/dead-kubeconfig" "$work/sweep.prom" > "$work/failed-sweep.log" 2>&1 || code=$?
  if [ "$code" != 1 ] || ! cmp -s "$work/sweep.prom" "$work/sweep-before.prom"; then
    echo "exit $code"; tail -3 "$work/failed-sweep.log"; return 1
  fi
}
check "a sweep that cannot reach the API exits 1 and leaves the metrics file as it was" failed_sweep_keeps_file
stop_children

echo "== check-observability: done"
echo "$passed passed, $failed failed in $((SECONDS - started))s"
[ "$failed" = 0 ]
