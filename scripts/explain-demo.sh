#!/usr/bin/env bash
# explain-demo.sh — `kate resolve --explain` on a private image whose pull secret is wrong, against real
# things: Debian's docker-registry with htpasswd Basic auth over TLS (a CA made here with openssl), an
# image pushed with skopeo, and a Kubernetes API (kate-dev-apiserver) holding pod team-a/web whose
# imagePullSecret team-a/regcred has the wrong password. Prints the real transcript, fixes the Secret
# with kubectl and explains again (now resolving), then shows the same with --output json.
#
#   scripts/explain-demo.sh
#
# Env: KATE_BIN (default .build/debug/kate), KATE_DEV_APISERVER_BIN (default .build/debug/kate-dev-apiserver);
# built with `swift build` when missing. KATE_DEMO_KEEP=1 keeps the work directory. Needs docker-registry,
# apache2-utils (htpasswd), skopeo, kubectl, openssl, curl, python3 (scripts/install-deps.sh installs them).
# Exit 0 only when the transcript says what the issue asks (the secret, the key it matched, the 401).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
kate="${KATE_BIN:-$root/.build/debug/kate}"
apiserver="${KATE_DEV_APISERVER_BIN:-$root/.build/debug/kate-dev-apiserver}"

for tool in docker-registry htpasswd skopeo kubectl curl python3 openssl; do
  command -v "$tool" >/dev/null || { echo "explain-demo: $tool is missing (apt-get install -y docker-registry apache2-utils skopeo kubectl, or scripts/install-deps.sh)" >&2; exit 2; }
done
if [ ! -x "$kate" ] && [ -z "${KATE_BIN:-}" ]; then swift build --product kate >&2; fi
if [ ! -x "$apiserver" ] && [ -z "${KATE_DEV_APISERVER_BIN:-}" ]; then swift build --product kate-dev-apiserver >&2; fi
[ -x "$kate" ] || { echo "explain-demo: $kate is not an executable (KATE_BIN)" >&2; exit 2; }
[ -x "$apiserver" ] || { echo "explain-demo: $apiserver is not an executable (KATE_DEV_APISERVER_BIN)" >&2; exit 2; }

work="$(mktemp -d "${TMPDIR:-/tmp}/kate-explain.XXXXXX")"
pids=()
cleanup() {
  local pid deadline=$((SECONDS + 5))
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do
    while kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  if [ "${KATE_DEMO_KEEP:-0}" = 1 ]; then echo "explain-demo: work directory kept: $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
step() { printf '\n== %s\n' "$*"; }
fail() { echo "explain-demo: FAILED: $*" >&2; for f in registry apiserver; do [ -f "$work/$f.log" ] && tail -5 "$work/$f.log" >&2; done; exit 1; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_for() {   # description, seconds, command
  local what="$1" limit="$2"; shift 2
  local deadline=$((SECONDS + limit))
  until "$@" >/dev/null 2>&1; do [ $SECONDS -lt $deadline ] || fail "$what within ${limit}s"; sleep 0.2; done
}
k() { kubectl --kubeconfig "$work/kubeconfig" --cache-dir "$work/kube-cache" "$@"; }

# ---- a TLS registry with htpasswd auth
step "docker-registry with htpasswd Basic auth over TLS"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -subj "/CN=kate explain demo CA" \
  -keyout "$work/ca.key" -out "$work/ca.pem" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=127.0.0.1" \
  -keyout "$work/registry.key" -out "$work/registry.csr" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n' > "$work/san.ext"
openssl x509 -req -in "$work/registry.csr" -CA "$work/ca.pem" -CAkey "$work/ca.key" -CAcreateserial -days 1 \
  -extfile "$work/san.ext" -out "$work/registry.pem" 2>/dev/null
htpasswd -nbB -C 4 robot 'right-pass' > "$work/htpasswd"
registry="127.0.0.1:$(free_port)"
cat > "$work/registry.yml" <<EOF
version: 0.1
log: {level: warn}
storage:
  filesystem: {rootdirectory: $work/registry-data}
http:
  addr: $registry
  secret: kate-explain-demo
  tls: {certificate: $work/registry.pem, key: $work/registry.key}
auth:
  htpasswd: {realm: kate-demo, path: $work/htpasswd}
EOF
docker-registry serve "$work/registry.yml" > "$work/registry.log" 2>&1 &
pids+=($!)
wait_for "docker-registry answering on $registry" 10 curl -sS --cacert "$work/ca.pem" -o /dev/null "https://$registry/v2/"

# A one-layer OCI image, written as an OCI layout and pushed with skopeo (with the right password).
layout="$work/oci"; blobs="$layout/blobs/sha256"
mkdir -p "$layout/rootfs" "$blobs"
echo 'private app' > "$layout/rootfs/README"
tar -C "$layout/rootfs" --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -cf "$layout/layer.tar" .
diff_id="$(sha256sum < "$layout/layer.tar" | cut -d' ' -f1)"
gzip -n -c "$layout/layer.tar" > "$layout/layer.tar.gz"
layer="$(sha256sum < "$layout/layer.tar.gz" | cut -d' ' -f1)"; cp "$layout/layer.tar.gz" "$blobs/$layer"
printf '{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' "$diff_id" > "$layout/config.json"
config="$(sha256sum < "$layout/config.json" | cut -d' ' -f1)"; cp "$layout/config.json" "$blobs/$config"
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%d},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:%s","size":%d}]}' \
  "$config" "$(stat -c %s "$layout/config.json")" "$layer" "$(stat -c %s "$layout/layer.tar.gz")" > "$layout/manifest.json"
manifest="$(sha256sum < "$layout/manifest.json" | cut -d' ' -f1)"; cp "$layout/manifest.json" "$blobs/$manifest"
printf '{"imageLayoutVersion":"1.0.0"}' > "$layout/oci-layout"
printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%d,"annotations":{"org.opencontainers.image.ref.name":"v1"}}]}' \
  "$manifest" "$(stat -c %s "$layout/manifest.json")" > "$layout/index.json"
skopeo copy --quiet --dest-tls-verify=false --dest-creds 'robot:right-pass' "oci:$layout:v1" "docker://$registry/private/app:v1"
image="$registry/private/app:v1"
echo "pushed $image -> sha256:$manifest"

# ---- the cluster: pod team-a/web with a wrong pull secret
step "Pod team-a/web with imagePullSecret team-a/regcred (wrong password)"
dockerconfig() { python3 -c 'import base64,json,sys; r,u,p=sys.argv[1:]; print(base64.b64encode(json.dumps({"auths":{r:{"username":u,"password":p,"auth":base64.b64encode(f"{u}:{p}".encode()).decode()}}}).encode()).decode())' "$@"; }
cat > "$work/seed.yaml" <<EOF
apiVersion: v1
kind: Namespace
metadata: {name: team-a}
---
apiVersion: v1
kind: Secret
metadata: {name: regcred, namespace: team-a}
type: kubernetes.io/dockerconfigjson
data: {.dockerconfigjson: $(dockerconfig "$registry" robot wrong-pass)}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: default, namespace: team-a}
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: team-a}
spec:
  imagePullSecrets: [{name: regcred}]
  containers: [{name: web, image: $image}]
EOF
"$apiserver" --kubeconfig "$work/kubeconfig" --seed "$work/seed.yaml" --ready-file "$work/apiserver.ready" > "$work/apiserver.log" 2>&1 &
pids+=($!)
wait_for "kate-dev-apiserver ready" 15 test -f "$work/apiserver.ready"
k -n team-a get pod web -o jsonpath='{.spec.imagePullSecrets[*].name}{"\n"}'
printf '{"registries": {"%s": {"caFile": "%s"}}}\n' "$registry" "$work/ca.pem" > "$work/registry-config.json"
export HOME="$work"   # no ~/.docker/config.json of the caller's
resolve() { "$kate" resolve --log-level warning --kubeconfig "$work/kubeconfig" --registry-config "$work/registry-config.json" "$@"; }

step "kate resolve --explain --as-pod team-a/web $image"
echo "\$ kate resolve --explain --as-pod team-a/web $image"
set +e; resolve --explain --as-pod team-a/web "$image" > "$work/explain.txt" 2> "$work/explain.err"; status=$?; set -e
cat "$work/explain.txt" "$work/explain.err"
echo "(exit $status)"
[ "$status" = 1 ] || fail "a wrong pull secret must exit 1 (got $status)"
grep -q "imagePullSecret team-a/regcred: keys $registry; MATCHES $registry" "$work/explain.txt" || fail "the transcript names the secret and the key it matched"
grep -q "← 401" "$work/explain.txt" || fail "the transcript shows the 401"
grep -q "FAILED \[auth\]" "$work/explain.txt" || fail "the verdict is class auth"
grep -q "Check imagePullSecret team-a/regcred ($registry)" "$work/explain.txt" || fail "the fix names the Secret"

step "Fix the Secret with kubectl, explain again"
k -n team-a delete secret regcred
k -n team-a create secret docker-registry regcred --docker-server "$registry" --docker-username robot --docker-password right-pass \
  --dry-run=client -o json | k create --validate=false -f -
echo "\$ kate resolve --explain --as-pod team-a/web $image"
resolve --explain --as-pod team-a/web "$image" | tee "$work/fixed.txt"
grep -q "verdict     sha256:$manifest" "$work/fixed.txt" || fail "after the fix the image resolves to sha256:$manifest"

step "The same as JSON (--output json), and crane-style --full-ref"
echo "\$ kate resolve --explain --output json --as-pod team-a/web $image | python3 … (step names)"
resolve --explain --output json --as-pod team-a/web "$image" |
  python3 -c 'import json,sys; r=json.load(sys.stdin)[0]; print(r["digest"], [next(iter(s)) for s in r["steps"]])'
echo "\$ kate resolve --full-ref --as-pod team-a/web $image"
resolve --full-ref --as-pod team-a/web "$image" | tee "$work/full.txt"
grep -qx "$registry/private/app@sha256:$manifest" "$work/full.txt" || fail "--full-ref prints NAME@DIGEST"
echo
echo "explain-demo: OK"
