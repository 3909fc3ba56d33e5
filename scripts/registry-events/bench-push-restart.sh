#!/usr/bin/env bash
# Push → rollout-restart latency of kate's push-triggered sweep, with what ships: the kate binary
# (release by default) with the chart's defaults plus the events flags, the real Debian
# docker-registry whose `notifications` endpoint points at kate, and kate-dev-apiserver (the test
# API server with its deployment controller and kubelet; pods are admitted through kate).
#
# For each of N pushes (default 20) of one tag: push (push-image.py) → docker-registry notifies kate
# → kate re-resolves, records the ledger, and the leader (Lease kate-push-sweeper) sweeps the
# owners of the tag's pods → Deployment bench/web gets kubectl.kubernetes.io/restartedAt. Latency
# is from the end of the push (the manifest PUT answered) to the restart being visible through the
# API (kubectl-style GET polled every 10 ms). Also the ledger write and the time until the new
# pods run the pushed digest. Loopback only; bounded: N pushes, 30 s per push at most.
#
# usage: scripts/registry-events/bench-push-restart.sh [N]
# env: KATE_BIN (default .build/release/kate), KATE_DEV_APISERVER_BIN (default .build/debug/kate-dev-apiserver)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
n="${1:-20}"
kate="${KATE_BIN:-$root/.build/release/kate}"
apiserver="${KATE_DEV_APISERVER_BIN:-$root/.build/debug/kate-dev-apiserver}"
for binary in "$kate" "$apiserver"; do
  [[ -x "$binary" ]] || { echo "missing $binary: swift build -c release --product kate; swift build --product kate-dev-apiserver" >&2; exit 2; }
done
work="$(mktemp -d)"
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; [[ "${KEEP:-0}" = 1 ]] || rm -rf "$work"; }
trap cleanup EXIT
# shellcheck source=lib.sh
. "$root/scripts/registry-events/lib.sh"
wait_for() { local what="$1" seconds="$2"; shift 2
  for _ in $(seq $((seconds * 20))); do "$@" >/dev/null 2>&1 && return 0; sleep 0.05; done
  echo "timed out waiting for $what" >&2; tail -20 "$work"/*.log >&2; exit 1; }

webhook_port="$(free_port)"; events_port="$(free_port)"; registry_port="$(free_port)"; health_port="$(free_port)"
registry="127.0.0.1:$registry_port"
token="bench-$RANDOM$RANDOM"; printf '%s\n' "$token" > "$work/token"

# kate's serving certificate, made with openssl (the API server must trust it before kate starts).
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$work/ca.key" -out "$work/ca.pem" \
  -days 1 -subj /CN=bench-ca 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$work/tls.key" -out "$work/tls.csr" -subj /CN=localhost 2>/dev/null
openssl x509 -req -in "$work/tls.csr" -CA "$work/ca.pem" -CAkey "$work/ca.key" -CAcreateserial -out "$work/tls.crt" -days 1 \
  -extfile <(printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n') 2>/dev/null

# The registry, notifying kate (Go trusts kate's CA through SSL_CERT_FILE).
start_notifying_registry "$work" "$registry_port" "$events_port" "$token" "$work/ca.pem"
push() { python3 "$root/scripts/registry-events/push-image.py" "$registry" bench/web v1; }
first="$(push)"

# The API server (admission through kate at the port kate will bind), then kate.
"$apiserver" --kubeconfig "$work/kubeconfig" --controllers --admission-webhook "https://localhost:$webhook_port/mutate" \
  --webhook-ca "$work/ca.pem" --ready-file "$work/apiserver.ready" --log-level warning > "$work/apiserver.log" 2>&1 &
pids+=($!)
wait_for "kate-dev-apiserver" 15 test -f "$work/apiserver.ready"
# The chart's webhook defaults (values.yaml), the events listener and the ledger as webhook.events.enabled and
# ledger.enabled render them, and --push-sweep.
"$kate" webhook --listen "127.0.0.1:$webhook_port" --health-listen "127.0.0.1:$health_port" \
  --tls-cert "$work/tls.crt" --tls-key "$work/tls.key" --kubeconfig "$work/kubeconfig" --own-namespace kate-system \
  --skip-namespace kube-system --skip-namespace kate-system --pull-secrets auto \
  --events-listen "127.0.0.1:$events_port" --events-token-file "$work/token" --ledger --push-sweep \
  --log-level info > "$work/kate.log" 2>&1 &
kate_pid=$!
pids+=($kate_pid)
wait_for "kate /readyz" 15 curl -fsS "http://127.0.0.1:$health_port/readyz"
wait_for "the push-sweep Lease" 30 grep -q "became leader" "$work/kate.log"

k() { kubectl --kubeconfig "$work/kubeconfig" --cache-dir "$work/kube-cache" "$@"; }
# The Deployment is created once kate answers (its pods are admitted through kate), as JSON with the kubeconfig's token.
python3 - "$work/kubeconfig" "$registry" <<'PY'
import base64, json, ssl, sys, urllib.request, yaml
config = yaml.safe_load(open(sys.argv[1])); cluster = config["clusters"][0]["cluster"]; user = config["users"][0]["user"]
context = ssl.create_default_context(cadata=base64.b64decode(cluster["certificate-authority-data"]).decode())
def post(path, body):
    request = urllib.request.Request(cluster["server"] + path, data=json.dumps(body).encode(), method="POST",
                                     headers={"Authorization": f"Bearer {user['token']}", "Content-Type": "application/json"})
    urllib.request.urlopen(request, context=context, timeout=10).read()
for namespace in ("kate-system", "bench"):
    post("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
post("/apis/apps/v1/namespaces/bench/deployments", {"apiVersion": "apps/v1", "kind": "Deployment",
    "metadata": {"name": "web", "namespace": "bench", "labels": {"app": "web"}},
    "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}}, "template": {"metadata": {"labels": {"app": "web"}},
             "spec": {"containers": [{"name": "web", "image": f"{sys.argv[2]}/bench/web:v1"}]}}}})
PY
running_on() { [ "$(k -n bench get pods -l app=web --field-selector status.phase=Running -o jsonpath='{range .items[*]}{.spec.containers[0].image}{"\n"}{end}' | grep -c "@$1\$")" = 2 ]; }
wait_for "two pods of bench/web on the first digest" 20 running_on "$first"

cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }   # utime + stime, clock ticks
ticks="$(getconf CLK_TCK)"
cpu_before="$(cpu "$kate_pid")"
python3 - "$n" "$work" "$registry" "$root" <<'PY'
import importlib.util, json, ssl, statistics, sys, time, urllib.request, yaml
n, work, registry, root = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
spec = importlib.util.spec_from_file_location("pusher", f"{root}/scripts/registry-events/push-image.py")
pusher = importlib.util.module_from_spec(spec); spec.loader.exec_module(pusher)
config = yaml.safe_load(open(f"{work}/kubeconfig"))
cluster = config["clusters"][0]["cluster"]; user = config["users"][0]["user"]
context = ssl.create_default_context(cadata=__import__("base64").b64decode(cluster["certificate-authority-data"]).decode())
headers = {"Authorization": f"Bearer {user['token']}"}
def get(path):
    request = urllib.request.Request(cluster["server"] + path, headers=headers)
    with urllib.request.urlopen(request, context=context, timeout=5) as response:
        return json.load(response)
def restarted_at():
    return ((get("/apis/apps/v1/namespaces/bench/deployments/web")["spec"]["template"]["metadata"].get("annotations") or {})
            .get("kubectl.kubernetes.io/restartedAt"))
def pods_on(digest):
    pods = get("/api/v1/namespaces/bench/pods?labelSelector=app%3Dweb")["items"]
    running = [p for p in pods if p.get("status", {}).get("phase") == "Running" and p["spec"]["containers"][0]["image"].endswith("@" + digest)]
    return len(running) == 2 and len(pods) == 2
restart, rolled = [], []
before = restarted_at()
for i in range(n):
    time.sleep(1.1)  # restartedAt has one-second resolution: a restart within the same second looks like none
    digest = pusher.push(registry, "bench/web", "v1")  # returns when the manifest PUT is answered
    pushed = time.monotonic()
    deadline = pushed + 30
    while time.monotonic() < deadline:
        now = restarted_at()
        if now != before:
            restart.append(time.monotonic() - pushed); before = now; break
        time.sleep(0.01)
    else:
        sys.exit(f"push {i + 1}: no rollout restart within 30 s")
    while time.monotonic() < deadline and not pods_on(digest):
        time.sleep(0.01)
    if not pods_on(digest):
        sys.exit(f"push {i + 1}: the pods did not move to {digest} within 30 s")
    rolled.append(time.monotonic() - pushed)
def p99(values):
    ordered = sorted(values); return ordered[min(len(ordered) - 1, int(round(0.99 * (len(ordered) - 1))))]
ms = lambda seconds: f"{seconds * 1000:.0f} ms"
print(f"push -> rollout restart (Deployment restartedAt visible), {n} pushes: median {ms(statistics.median(restart))}, p99 {ms(p99(restart))}, max {ms(max(restart))}")
print(f"push -> both pods Running on the pushed digest:               median {ms(statistics.median(rolled))}, p99 {ms(p99(rolled))}, max {ms(max(rolled))}")
PY
cpu_after="$(cpu "$kate_pid")"
python3 -c "import sys; print(f'kate webhook CPU per push (re-resolve, ledger write and watch, lease renewals, targeted sweep, the new pods\' admissions): {(int(sys.argv[2]) - int(sys.argv[1])) / int(sys.argv[3]) / int(sys.argv[4]) * 1000:.1f} ms')" \
  "$cpu_before" "$cpu_after" "$ticks" "$n"
# Baseline, same run: without push events the same restart waits for the CronJob's full pass (hourly by default);
# one `kate sweep` pass with the chart's sweeper defaults over this cluster, after one more push that kate is not told of.
python3 "$root/scripts/registry-events/push-image.py" "$registry" bench/web v2 > /dev/null   # another tag: the push sweeper ignores it
start="$(date +%s%N)"
"$kate" sweep --kubeconfig "$work/kubeconfig" --action report --exclude-namespace kube-system --exclude-namespace kate-system \
  --output json > "$work/sweep.json" 2> "$work/sweep.log" || true
end="$(date +%s%N)"
echo "baseline: one full kate sweep pass (the CronJob, schedule hourly by default) takes $(( (end - start) / 1000000 )) ms here, so push -> restart without events is that plus up to the schedule interval (median 30 min hourly)"
refreshed="$(grep -c 'push of .*bench/web:v1 (distribution): now' "$work/kate.log" || true)"
sweeps="$(grep -c 'push sweep of .*bench/web:v1' "$work/kate.log" || true)"
echo "kate: $refreshed pushes re-resolved, $sweeps targeted sweeps (log $work/kate.log$([[ "${KEEP:-0}" = 1 ]] || echo ', removed'))"
