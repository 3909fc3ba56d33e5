#!/usr/bin/env bash
# demo.sh — kate's whole story on this machine, offline, in well under a minute after the build:
#
#   a real registry (Debian's docker-registry) on loopback, an image pushed as demo/web:1.0,
#   `kate webhook --self-signed`, and a Kubernetes API (kate-dev-apiserver: the tests' API server with
#   a minimal deployment controller and kubelet) holding a Deployment with two pods, created through
#   the webhook as kube-apiserver would. Then the tag moves, `kate sweep --action report` sees it,
#   `kate sweep` restarts the rollout (the real kubectl shows the annotation and the Event), the new
#   pods are admitted and pinned to the new digest, and a last report finds nothing stale.
#
#   scripts/demo.sh            (or: make demo)
#
# Env: KATE_BIN (default .build/debug/kate), KATE_DEV_APISERVER_BIN (default
# .build/debug/kate-dev-apiserver); both are built with `swift build` when missing.
# KATE_DEMO_KEEP=1 keeps the work directory. Everything started here is stopped by PID on exit,
# also on Ctrl-C. Exit 0 only when every expectation held; otherwise 1, naming the one that failed.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
kate="${KATE_BIN:-$root/.build/debug/kate}"
apiserver="${KATE_DEV_APISERVER_BIN:-$root/.build/debug/kate-dev-apiserver}"

for tool in docker-registry skopeo kubectl curl python3 openssl; do
  command -v "$tool" >/dev/null || { echo "demo: $tool is missing (scripts/install-deps.sh installs docker-registry and skopeo)" >&2; exit 2; }
done
if [ ! -x "$kate" ] && [ -z "${KATE_BIN:-}" ]; then swift build --product kate >&2; fi
if [ ! -x "$apiserver" ] && [ -z "${KATE_DEV_APISERVER_BIN:-}" ]; then swift build --product kate-dev-apiserver >&2; fi
[ -x "$kate" ] || { echo "demo: $kate is not an executable (KATE_BIN)" >&2; exit 2; }
[ -x "$apiserver" ] || { echo "demo: $apiserver is not an executable (KATE_DEV_APISERVER_BIN)" >&2; exit 2; }

work="$(mktemp -d "${TMPDIR:-/tmp}/kate-demo.XXXXXX")"
pids=()
cleanup() {
  local pid deadline=$((SECONDS + 5))
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do
    while kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null && echo "demo: process $pid ignored SIGTERM; killed" >&2
    wait "$pid" 2>/dev/null || true
  done
  if [ "${KATE_DEMO_KEEP:-0}" = 1 ]; then echo "demo: work directory kept: $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'echo; echo "demo: interrupted" >&2; exit 130' INT TERM

started=$SECONDS
checks=0
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
expect() {   # description, then a command that must succeed
  local what="$1"; shift
  if "$@"; then checks=$((checks + 1)); else echo "demo: FAILED: $what" >&2; logs; exit 1; fi
}
logs() {
  for f in registry webhook apiserver; do
    [ -f "$work/$f.log" ] && { echo "--- last lines of $f.log" >&2; tail -5 "$work/$f.log" >&2; }
  done
}
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }
wait_for() {   # description, seconds, command
  local what="$1" limit="$2"; shift 2
  local deadline=$((SECONDS + limit))
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || { echo "demo: FAILED: $what within ${limit}s" >&2; logs; exit 1; }
    sleep 0.2
  done
}
k() { kubectl --kubeconfig "$work/kubeconfig" --cache-dir "$work/kube-cache" "$@"; }
indent() { sed 's/^/    /'; }

# ---- a registry and an image
step "A real registry on loopback, and demo/web:1.0 pushed to it"
reg_port="$(free_port)"
registry="127.0.0.1:$reg_port"
cat > "$work/registry.yml" <<EOF
version: 0.1
log: {level: warn}
storage:
  filesystem: {rootdirectory: $work/registry-data}
  delete: {enabled: true}
http: {addr: $registry, secret: kate-demo}
EOF
docker-registry serve "$work/registry.yml" > "$work/registry.log" 2>&1 &
pids+=($!)
wait_for "docker-registry answering on $registry" 10 curl -fsS "http://$registry/v2/"

# A one-layer OCI image (a single index.html), written as an OCI layout and copied with skopeo.
push_web() {   # version text
  local layout="$work/oci-$1" blobs="$work/oci-$1/blobs/sha256"
  mkdir -p "$layout/rootfs/usr/share/web" "$blobs"
  printf '<h1>demo web %s</h1>\n' "$1" > "$layout/rootfs/usr/share/web/index.html"
  tar -C "$layout/rootfs" --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -cf "$layout/layer.tar" .
  local diff_id; diff_id="$(sha256sum < "$layout/layer.tar" | cut -d' ' -f1)"
  gzip -n -c "$layout/layer.tar" > "$layout/layer.tar.gz"
  local layer; layer="$(sha256sum < "$layout/layer.tar.gz" | cut -d' ' -f1)"
  cp "$layout/layer.tar.gz" "$blobs/$layer"
  printf '{"architecture":"amd64","os":"linux","config":{"Cmd":["/bin/web"],"Labels":{"demo.version":"%s"}},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' \
    "$1" "$diff_id" > "$layout/config.json"
  local config; config="$(sha256sum < "$layout/config.json" | cut -d' ' -f1)"
  cp "$layout/config.json" "$blobs/$config"
  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%d},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:%s","size":%d}]}' \
    "$config" "$(stat -c %s "$layout/config.json")" "$layer" "$(stat -c %s "$layout/layer.tar.gz")" > "$layout/manifest.json"
  local manifest; manifest="$(sha256sum < "$layout/manifest.json" | cut -d' ' -f1)"
  cp "$layout/manifest.json" "$blobs/$manifest"
  printf '{"imageLayoutVersion":"1.0.0"}' > "$layout/oci-layout"
  printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%d,"annotations":{"org.opencontainers.image.ref.name":"1.0"}}]}' \
    "$manifest" "$(stat -c %s "$layout/manifest.json")" > "$layout/index.json"
  skopeo copy --quiet --dest-tls-verify=false "oci:$layout:1.0" "docker://$registry/demo/web:1.0"
}
# What the registry says the tag means now (the manifest digest it serves).
tag_digest() {
  curl -fsSI -H 'Accept: application/vnd.oci.image.manifest.v1+json' "http://$registry/v2/demo/web/manifests/1.0" |
    tr -d '\r' | sed -n 's/^[Dd]ocker-[Cc]ontent-[Dd]igest: //p'
}
push_web 1.0
digest1="$(tag_digest)"
echo "pushed $registry/demo/web:1.0 -> $digest1"
expect "the registry serves a digest for demo/web:1.0" test -n "$digest1"

# ---- the webhook
step "kate webhook --self-signed"
printf '{"registries": {"%s": {"plainHTTP": true}}}\n' "$registry" > "$work/registry-config.json"
hook_port="$(free_port)"
# --cache-ttl 0s: the demo moves the tag seconds later, and the next rollout must see it at once.
"$kate" webhook --self-signed --listen "127.0.0.1:$hook_port" --ca-out "$work/kate-ca.pem" \
  --registry-config "$work/registry-config.json" --cache-ttl 0s --pull-secrets off > "$work/webhook.log" 2>&1 &
pids+=($!)
wait_for "kate webhook answering /healthz on 127.0.0.1:$hook_port" 15 curl -fsS --cacert "$work/kate-ca.pem" "https://localhost:$hook_port/healthz"
echo "kate webhook on https://localhost:$hook_port (CA $work/kate-ca.pem)"

step "A Pod CREATE as kube-apiserver sends it, and kate's answer"
cat > "$work/review.json" <<EOF
{"kind": "AdmissionReview", "apiVersion": "admission.k8s.io/v1",
 "request": {"uid": "3f0d9a52-7c1e-4b8a-9d63-0e5f2a1b7c44",
  "kind": {"group": "", "version": "v1", "kind": "Pod"}, "resource": {"group": "", "version": "v1", "resource": "pods"},
  "namespace": "shop", "operation": "CREATE",
  "userInfo": {"username": "system:serviceaccount:kube-system:replicaset-controller"},
  "object": {"apiVersion": "v1", "kind": "Pod",
   "metadata": {"generateName": "web-5d7c9b8f4-", "namespace": "shop", "labels": {"app": "web"}},
   "spec": {"containers": [{"name": "web", "image": "$registry/demo/web:1.0"}]}},
  "oldObject": null, "dryRun": false}}
EOF
curl -fsS --cacert "$work/kate-ca.pem" -H 'Content-Type: application/json' --data-binary @"$work/review.json" \
  "https://localhost:$hook_port/mutate?timeout=10s" > "$work/answer.json"
python3 - "$work/answer.json" <<'EOF' | tee "$work/answer.txt"
import base64, json, sys
answer = json.load(open(sys.argv[1]))
response = answer["response"]
print(f"{answer['apiVersion']} {answer['kind']}: uid {response['uid']}, allowed {str(response['allowed']).lower()}, patchType {response.get('patchType')}")
for op in json.loads(base64.b64decode(response.get("patch", "W10="))):
    print(f"  {op['op']:8} {op['path']}  {json.dumps(op.get('value'))}")
for warning in response.get("warnings", []):
    print(f"  warning: {warning}")
EOF
expect "the answer pins the container to $digest1" grep -q "\"$registry/demo/web:1.0@$digest1\"" "$work/answer.txt"
expect "the answer echoes the request uid" grep -q "uid 3f0d9a52-7c1e-4b8a-9d63-0e5f2a1b7c44, allowed true, patchType JSONPatch" "$work/answer.txt"

# ---- the API server with a Deployment
step "A Kubernetes API with Deployment shop/web (2 replicas of demo/web:1.0); its pods go through kate"
cat > "$work/seed.yaml" <<EOF
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
  labels: {app: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - name: web
          image: $registry/demo/web:1.0
EOF
"$apiserver" --kubeconfig "$work/kubeconfig" --seed "$work/seed.yaml" --controllers \
  --admission-webhook "https://localhost:$hook_port/mutate" --webhook-ca "$work/kate-ca.pem" \
  --ready-file "$work/apiserver.ready" > "$work/apiserver.log" 2>&1 &
pids+=($!)
wait_for "kate-dev-apiserver ready" 15 test -f "$work/apiserver.ready"
running_pods() {   # digest the pods must be pinned to
  [ "$(k -n shop get pods -l app=web --field-selector status.phase=Running -o jsonpath='{range .items[*]}{.spec.containers[0].image}{"\n"}{end}' |
      grep -c "@$1\$")" = 2 ] && [ "$(k -n shop get pods -l app=web -o name | wc -l)" = 2 ]
}
wait_for "two running pods of shop/web pinned to $digest1" 15 running_pods "$digest1"
echo "\$ kubectl get pods -n shop -o custom-columns=..."
k -n shop get pods -o custom-columns='POD:.metadata.name,IMAGE:.spec.containers[0].image,ORIGINAL:.metadata.annotations.kate\.dev/original-images' | indent

# ---- the tag moves
step "The tag moves: a new image is pushed as demo/web:1.0"
push_web 1.1
digest2="$(tag_digest)"
echo "pushed $registry/demo/web:1.0 -> $digest2 (was $digest1)"
expect "the tag now means a different digest" test -n "$digest2" -a "$digest2" != "$digest1"

sweep() { "$kate" sweep --kubeconfig "$work/kubeconfig" --registry-config "$work/registry-config.json" "$@"; }

step "kate sweep --action report"
set +e; sweep --action report > "$work/report1.txt" 2> "$work/report1.err"; code=$?; set -e
indent < "$work/report1.txt"
echo "(exit $code)"
expect "report exits 2 (stale pods found)" test "$code" = 2
# The table abbreviates digests to 12 hex digits, as `docker images` does.
short1="sha256:${digest1:7:12}" short2="sha256:${digest2:7:12}"
expect "each pod: pinned $short1, running $short1, registry $short2, tag-moved" \
  test "$(grep -cE "$short1 +$short1 +$short2 +tag-moved" "$work/report1.txt")" = 2

step "kate sweep (rollout restart of the owner)"
set +e; sweep > "$work/sweep.txt" 2> "$work/sweep.err"; code=$?; set -e
indent < "$work/sweep.txt"
echo "(exit $code)"
expect "the sweep succeeded" test "$code" = 0
restarted="$(k -n shop get deployment web -o jsonpath='{.spec.template.metadata.annotations.kubectl\.kubernetes\.io/restartedAt}')"
echo "\$ kubectl get deployment web -o jsonpath='{.spec.template.metadata.annotations}'"
k -n shop get deployment web -o jsonpath='{.spec.template.metadata.annotations}' | indent; echo
expect "the Deployment's template carries kubectl.kubernetes.io/restartedAt" test -n "$restarted"

wait_for "the new pods, pinned to $digest2" 15 running_pods "$digest2"
echo "\$ kubectl describe deployment web   (the end of it)"
k -n shop describe deployment web > "$work/describe.txt"
sed -n '/^OldReplicaSets:/,$p' "$work/describe.txt" | indent
expect "describe shows kate's Event on the Deployment" grep -q "kate.dev/sweeper" "$work/describe.txt"
echo "\$ kubectl get pods -n shop -o custom-columns=..."
k -n shop get pods -o custom-columns='POD:.metadata.name,IMAGE:.spec.containers[0].image,NODE-RUNS:.status.containerStatuses[0].imageID' | indent

step "kate sweep --action report, after the rollout"
set +e; sweep --action report > "$work/report2.txt" 2> "$work/report2.err"; code=$?; set -e
indent < "$work/report2.txt"
echo "(exit $code)"
expect "the last report exits 0 (all current)" test "$code" = 0
expect "nothing is stale" bash -c "! grep -Eq 'tag-moved|node-mismatch|split' '$work/report2.txt'"

printf '\n\033[1mdemo: all %d expectations met in %d s\033[0m\n' "$checks" "$((SECONDS - started))"
