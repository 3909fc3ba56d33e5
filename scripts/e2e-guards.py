#!/usr/bin/env python3
"""e2e-guards.py — the webhook's pinning guards through the shipped `kate` binary and real tools.

A real registry (Debian's docker-registry on loopback, an image pushed with skopeo), the Kubernetes test API server
(kate-dev-apiserver) that `kate webhook` reads namespace labels from and writes Events to, and AdmissionReviews
POSTed with curl the way kube-apiserver sends them. Events are read back with kubectl. Checks:
  1. a CloudNativePG instance pod (real-shaped review) is admitted unpinned, with no warning;
  2. in a namespace labelled kate.dev/pin-operator-owned=true the same pod is pinned twice, and its 3rd CREATE trips
     the mutation-loop breaker: unpinned, exactly ONE Warning Event (reason MutationLoop) on Cluster pg-main;
  3. a static pod's mirror is not patched;
  4. /metrics counts kate_admission_skipped_total{reason="operator-owned"} 1 and kate_mutation_loop_breaker_total 1.

  scripts/e2e-guards.py            (KATE_BIN / KATE_DEV_APISERVER_BIN override .build/debug/…)
Exit 0 when every check passed. Only loopback is used; every process started here is stopped by its pid.
"""
from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import shutil
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
KATE = os.environ.get("KATE_BIN", str(ROOT / ".build/debug/kate"))
APISERVER = os.environ.get("KATE_DEV_APISERVER_BIN", str(ROOT / ".build/debug/kate-dev-apiserver"))
work = Path(tempfile.mkdtemp(prefix="kate-e2e-guards."))
processes: list[subprocess.Popen] = []
checks = 0
# The name failures are reported under (e2e-windows-notify.py, which imports these helpers, sets its own).
script_name = "e2e-guards"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(name: str, *args: str) -> None:
    log = open(work / f"{name}.log", "w")
    processes.append(subprocess.Popen(list(args), stdout=log, stderr=subprocess.STDOUT))


def wait_for(what: str, seconds: float, probe) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if probe():
                return
        except Exception:
            pass
        time.sleep(0.2)
    fail(f"{what} within {seconds}s")


def fail(what: str) -> None:
    print(f"{script_name}: FAILED: {what}", file=sys.stderr)
    for log in sorted(work.glob("*.log")):
        print(f"--- last lines of {log.name}", file=sys.stderr)
        print("".join(log.read_text().splitlines(True)[-8:]), file=sys.stderr)
    sys.exit(1)


def expect(what: str, ok: bool) -> None:
    global checks
    if not ok:
        fail(what)
    checks += 1
    print(f"ok  {what}")


def push_image(registry: str, repository: str, tag: str) -> None:
    """A one-layer OCI image as an OCI layout, copied with skopeo."""
    layout = work / "oci"
    blobs = layout / "blobs/sha256"
    blobs.mkdir(parents=True)

    def blob(data: bytes) -> str:
        digest = hashlib.sha256(data).hexdigest()
        (blobs / digest).write_bytes(data)
        return digest

    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        info = tarfile.TarInfo("hello.txt")
        body = b"kate e2e guards\n"
        info.size = len(body)
        tar.addfile(info, io.BytesIO(body))
    layer = raw.getvalue()
    config = json.dumps({"architecture": "amd64", "os": "linux", "config": {},
                         "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(layer).hexdigest()]}}).encode()
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": "sha256:" + blob(config), "size": len(config)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": "sha256:" + blob(layer), "size": len(layer)}],
    }).encode()
    digest = blob(manifest)
    (layout / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    (layout / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [{
        "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "sha256:" + digest, "size": len(manifest),
        "annotations": {"org.opencontainers.image.ref.name": tag}}]}))
    subprocess.run(["skopeo", "copy", "--quiet", "--dest-tls-verify=false", f"oci:{layout}:{tag}",
                    f"docker://{registry}/{repository}:{tag}"], check=True)


def registry_digest(registry: str, repository: str, tag: str) -> str:
    """What the registry serves for the tag, from curl's HEAD (skopeo may rewrite the manifest it copies from the layout)."""
    head = subprocess.run(["curl", "-fsSI", "-H", "Accept: application/vnd.oci.image.manifest.v1+json",
                           f"http://{registry}/v2/{repository}/manifests/{tag}"], capture_output=True, text=True, check=True).stdout
    return next(line.split(":", 1)[1].strip() for line in head.splitlines() if line.lower().startswith("docker-content-digest:"))


def stale_pod(namespace: str, name: str, image: str, repository: str) -> dict:
    """A bare pod as `kubectl get -o json` prints it, running a digest of `repository` the registry never had."""
    running = "sha256:" + "0" * 64
    container = {"name": "app", "image": image, "imagePullPolicy": "Always"}
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": namespace, "uid": f"uid-{namespace}-{name}", "creationTimestamp": "2026-11-20T10:00:00Z"},
            "spec": {"containers": [container], "nodeName": "node-1", "restartPolicy": "Always", "serviceAccountName": "default"},
            "status": {"phase": "Running", "startTime": "2026-11-20T10:00:00Z",
                       "conditions": [{"type": "Ready", "status": "True"}],
                       "containerStatuses": [{"name": "app", "image": image, "imageID": f"{repository}@{running}", "ready": True,
                                              "started": True, "restartCount": 0,
                                              "state": {"running": {"startedAt": "2026-11-20T10:00:05Z"}}}]}}


def review(path: Path, namespace: str | None = None, images: str | None = None) -> bytes:
    """A real-shaped review with a fresh uid, optionally moved to `namespace` and with every image replaced."""
    document = json.loads(path.read_text())
    request = document["request"]
    request["uid"] = str(uuid.uuid4())
    if namespace:
        request["namespace"] = namespace
        request["object"]["metadata"]["namespace"] = namespace
    if images:
        for key in ("containers", "initContainers"):
            for container in request["object"]["spec"].get(key, []):
                container["image"] = images
    return json.dumps(document).encode()


def mirror_review() -> bytes:
    """The static etcd pod's mirror, as `kubectl get -o json` prints it, arriving in a CREATE review."""
    pod = json.loads((ROOT / "Sources/KubeTestServer/Fixtures/pod-static-etcd.json").read_text())
    pod.pop("status", None)
    pod["metadata"]["namespace"] = "infra"
    return json.dumps({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {
        "uid": str(uuid.uuid4()), "kind": {"group": "", "version": "v1", "kind": "Pod"},
        "resource": {"group": "", "version": "v1", "resource": "pods"}, "namespace": "infra",
        "name": pod["metadata"]["name"], "operation": "CREATE", "dryRun": False, "object": pod}}).encode()


def require_tools(script: str) -> None:
    """Exit 2 (not a test failure) when a tool or a binary is missing. Shared with e2e-windows-notify.py."""
    for tool in ("docker-registry", "skopeo", "kubectl", "curl"):
        if not shutil.which(tool):
            print(f"{script}: {tool} is missing (scripts/install-deps.sh)", file=sys.stderr)
            sys.exit(2)
    for binary in (KATE, APISERVER):
        if not os.access(binary, os.X_OK):
            print(f"{script}: {binary} is not built (swift build --product kate; --product kate-dev-apiserver)", file=sys.stderr)
            sys.exit(2)


def start_registry() -> str:
    """Debian's docker-registry on a free loopback port; returns host:port."""
    registry = f"127.0.0.1:{free_port()}"
    (work / "registry.yml").write_text(
        f"version: 0.1\nlog: {{level: warn}}\nstorage: {{filesystem: {{rootdirectory: {work}/registry-data}}}}\n"
        f"http: {{addr: {registry}, secret: kate-e2e}}\n")
    start("registry", "docker-registry", "serve", str(work / "registry.yml"))
    wait_for("docker-registry", 10, lambda: subprocess.run(["curl", "-fsS", f"http://{registry}/v2/"], capture_output=True).returncode == 0)
    return registry


def main() -> None:
    require_tools("e2e-guards")
    registry = start_registry()
    image = f"{registry}/e2e/postgresql:16.4"
    push_image(registry, "e2e/postgresql", "16.4")

    (work / "seed.yaml").write_text(
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: db}\n---\n"
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: db-optin, labels: {kate.dev/pin-operator-owned: \"true\"}}\n")
    kubeconfig = work / "kubeconfig"
    start("apiserver", APISERVER, "--kubeconfig", str(kubeconfig), "--seed", str(work / "seed.yaml"), "--ready-file", str(work / "ready"))
    wait_for("kate-dev-apiserver ready", 15, lambda: (work / "ready").exists())

    (work / "registry-config.json").write_text(json.dumps({"registries": {registry: {"plainHTTP": True}}}))
    port = free_port()
    ca = work / "kate-ca.pem"
    start("webhook", KATE, "webhook", "--self-signed", "--listen", f"127.0.0.1:{port}", "--ca-out", str(ca),
          "--registry-config", str(work / "registry-config.json"), "--kubeconfig", str(kubeconfig), "--pull-secrets", "on",
          "--log-format", "text", "--log-level", "debug")
    base = f"https://localhost:{port}"
    wait_for("kate webhook /healthz", 20,
             lambda: subprocess.run(["curl", "-fsS", "--cacert", str(ca), f"{base}/healthz"], capture_output=True).returncode == 0)

    def admit(body: bytes) -> dict:
        out = subprocess.run(["curl", "-fsS", "--cacert", str(ca), "-H", "Content-Type: application/json", "--data-binary", "@-",
                              f"{base}/mutate?timeout=10s"], input=body, capture_output=True, check=True).stdout
        return json.loads(out)["response"]

    def pinned(response: dict) -> bool:
        return any(op.get("value") == f"{image}@{digest}" for op in json.loads(base64.b64decode(response.get("patch", "W10="))))

    digest = registry_digest(registry, "e2e/postgresql", "16.4")

    cnpg = ROOT / "examples/reviews/cnpg-instance-create.json"
    first = admit(review(cnpg, namespace="db", images=image))
    expect("CNPG pod in namespace db: allowed, unpinned, no warning",
           first["allowed"] and not first.get("patch") and not first.get("warnings"))

    answers = [admit(review(cnpg, namespace="db-optin", images=image)) for _ in range(3)]
    expect("CNPG pod in namespace db-optin (kate.dev/pin-operator-owned=true): 1st and 2nd CREATE pinned",
           pinned(answers[0]) and pinned(answers[1]))
    expect("3rd CREATE of pg-main-2 trips the breaker: allowed, unpinned, no warning",
           answers[2]["allowed"] and not answers[2].get("patch") and not answers[2].get("warnings"))
    for _ in range(2):
        admit(review(cnpg, namespace="db-optin", images=image))

    def kubectl(*args: str) -> str:
        return subprocess.run(["kubectl", "--kubeconfig", str(kubeconfig), "--cache-dir", str(work / "kube-cache"), *args],
                              capture_output=True, text=True, check=True).stdout

    events = json.loads(kubectl("get", "events.events.k8s.io", "-n", "db-optin", "-o", "json"))["items"]
    print(kubectl("get", "events.events.k8s.io", "-n", "db-optin").rstrip())
    expect("exactly one Event, after 5 CREATEs", len(events) == 1)
    event = events[0]
    expect("the Event: Warning MutationLoop on Cluster pg-main, related Pod pg-main-2, reported by kate.dev/webhook",
           event["type"] == "Warning" and event["reason"] == "MutationLoop" and event["regarding"]["kind"] == "Cluster"
           and event["regarding"]["name"] == "pg-main" and event["related"]["name"] == "pg-main-2"
           and event["reportingController"] == "kate.dev/webhook")
    expect("its note: \"kate stopped pinning: pod pg-main-2 created 3 times in …\"",
           event["note"].startswith("kate stopped pinning: pod pg-main-2 created 3 times in "))

    mirror = admit(mirror_review())
    expect("static pod mirror (kubernetes.io/config.mirror) in namespace infra: not patched", mirror["allowed"] and not mirror.get("patch"))

    metrics = subprocess.run(["curl", "-fsS", "--cacert", str(ca), f"{base}/metrics"], capture_output=True, text=True, check=True).stdout
    lines = [line for line in metrics.splitlines() if line.startswith(("kate_admission_skipped_total", "kate_mutation_loop_breaker_total"))]
    print("\n".join(lines))
    expect('/metrics: kate_admission_skipped_total{reason="operator-owned"} 1',
           any(l.startswith("kate_admission_skipped_total") and 'reason="operator-owned"' in l and l.endswith(" 1") for l in lines))
    expect("/metrics: kate_admission_skipped_total{reason=\"loop-breaker\"} 3 (the trip and two CREATEs cooling off)",
           any('reason="loop-breaker"' in l and l.endswith(" 3") for l in lines))
    expect("/metrics: kate_mutation_loop_breaker_total 1", any(l.startswith("kate_mutation_loop_breaker_total") and l.endswith(" 1") for l in lines))
    log = (work / "webhook.log").read_text()
    expect("one warning line for the trip", log.count("mutation-loop breaker tripped") == 1)
    print(f"e2e-guards: {checks} checks passed")


def stop_and_clean(script: str) -> None:
    """Stops every process started here by its pid; removes the work directory unless KATE_E2E_KEEP=1."""
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    if os.environ.get("KATE_E2E_KEEP") == "1":
        print(f"{script}: work directory kept: {work}", file=sys.stderr)
    else:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    try:
        main()
    finally:
        stop_and_clean("e2e-guards")
