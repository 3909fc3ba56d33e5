#!/usr/bin/env python3
"""e2e-cooldown.py — the cooldown and the digest ledger through the shipped `kate` binary, checked by things kate did not write.

A real registry (Debian's docker-registry on loopback, an image pushed with skopeo), the Kubernetes test API server
(kate-dev-apiserver) holding the ledger's ImageTagHistory objects, kubectl writing and reading them, and
AdmissionReviews POSTed with curl the way kube-apiserver sends them. Checks:
  1. kubectl writes the tag's history (an older digest, first seen 10 days ago); `kate webhook --ledger --cooldown 72h`
     pins a new pod to that older digest, with a warning naming the new digest, which it has just seen for the first
     time; the new digest appears in the ledger (kubectl) with its firstSeen, written by the webhook.
  2. `kate sweep --ledger --cooldown 72h` on a pod running a stale digest: verdict cooling-down, exit 0, the pod is
     still there (kubectl).
  3. The same sweep 73 hours after the webhook first saw the digest (`--now`): tag-moved, the bare pod is evicted
     (kubectl: gone); a history kubectl wrote for a tag no pod uses, last seen 30 days ago, is forgotten (ledger GC),
     while the tag in use is kept.

  scripts/e2e-cooldown.py     (KATE_BIN / KATE_DEV_APISERVER_BIN override .build/debug/…)
Exit 0 when every check passed. Only loopback is used; every process started here is stopped by its pid.
"""
from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from e2e_shared import borrow_guards

ROOT = Path(__file__).resolve().parent.parent
# The registry, API server, image and stale-pod helpers of e2e-guards.py.
guards = borrow_guards("e2e-cooldown")
work = guards.work
KATE, APISERVER = guards.KATE, guards.APISERVER
expect, fail, start, wait_for, free_port = guards.expect, guards.fail, guards.start, guards.wait_for, guards.free_port

NAMESPACE = "kate-system"


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def history(reference: str, records: list[tuple[str, datetime]]) -> dict:
    """An ImageTagHistory as the README documents it: name tag-<first 40 hex of sha256(reference)>."""
    name = "tag-" + hashlib.sha256(reference.encode()).hexdigest()[:40]
    return {"apiVersion": "kate.dev/v1alpha1", "kind": "ImageTagHistory", "metadata": {"name": name, "namespace": NAMESPACE},
            "spec": {"reference": reference, "digests": [
                {"digest": digest, "firstSeen": rfc3339(seen), "lastSeen": rfc3339(seen)} for digest, seen in records]}}


def main() -> None:
    guards.require_tools("e2e-cooldown")
    registry = guards.start_registry()
    guards.push_image(registry, "e2e/app", "1")
    repository, image = f"{registry}/e2e/app", f"{registry}/e2e/app:1"
    current = guards.registry_digest(registry, "e2e/app", "1")
    older = "sha256:" + "7" * 64
    seed = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}},
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}},
        guards.stale_pod("shop", "web-1", image, repository),
    ]
    (work / "seed.json").write_text(json.dumps(seed))
    kubeconfig = work / "kubeconfig"
    start("apiserver", APISERVER, "--kubeconfig", str(kubeconfig), "--seed", str(work / "seed.json"), "--ready-file", str(work / "ready"))
    wait_for("kate-dev-apiserver ready", 15, lambda: (work / "ready").exists())
    (work / "registry-config.json").write_text(json.dumps({"registries": {registry: {"plainHTTP": True}}}))

    def kubectl(*args: str, stdin: str | None = None) -> str:
        run = subprocess.run(["kubectl", "--kubeconfig", str(kubeconfig), "--cache-dir", str(work / "kube-cache"), *args],
                             input=stdin, capture_output=True, text=True)
        if run.returncode != 0:
            fail(f"kubectl {' '.join(args)}: exit {run.returncode}: {run.stderr.strip()[-400:]}")
        return run.stdout

    def ledger() -> dict[str, dict]:
        items = json.loads(kubectl("get", "imagetaghistories", "-n", NAMESPACE, "-o", "json"))["items"]
        return {item["spec"]["reference"]: item["spec"] for item in items}

    # 1. kubectl writes the history; the webhook keeps the mature digest and records the new one.
    now = datetime.now(timezone.utc)
    unused = "docker.io/library/retired:1"
    kubectl("create", "--validate=false", "-f", "-", stdin=json.dumps({"apiVersion": "v1", "kind": "List", "items": [
        history(image, [(older, now - timedelta(days=10))]),
        history(unused, [("sha256:" + "5" * 64, now - timedelta(days=30))]),
    ]}))
    port = free_port()
    ca = work / "kate-ca.pem"
    start("webhook", KATE, "webhook", "--self-signed", "--listen", f"127.0.0.1:{port}", "--health-listen", "", "--ca-out", str(ca),
          "--registry-config", str(work / "registry-config.json"), "--kubeconfig", str(kubeconfig), "--pull-secrets", "on",
          "--ledger", "--own-namespace", NAMESPACE, "--cooldown", "72h", "--log-format", "text", "--log-level", "debug")
    base = f"https://localhost:{port}"
    wait_for("kate webhook /healthz", 20,
             lambda: subprocess.run(["curl", "-fsS", "--cacert", str(ca), f"{base}/healthz"], capture_output=True).returncode == 0)

    def admit() -> dict:
        body = guards.review(ROOT / "examples/admission-review.json", namespace="shop", images=image)
        out = subprocess.run(["curl", "-fsS", "--cacert", str(ca), "-H", "Content-Type: application/json", "--data-binary", "@-",
                              f"{base}/mutate?timeout=10s"], input=body, capture_output=True, check=True).stdout
        return json.loads(out)["response"]

    answer = admit()
    for _ in range(50):  # the first reviews may arrive before the webhook's ledger watch listed
        if not any("still loading" in w for w in answer.get("warnings", [])):
            break
        time.sleep(0.1)
        answer = admit()
    patch = json.loads(base64.b64decode(answer.get("patch", "W10=")))
    images = {op["value"] for op in patch if op["path"].endswith("/image")}
    warnings = answer.get("warnings", [])
    print("    webhook warnings:", warnings)
    expect("webhook: every container pinned to the digest kate has known for 10 days, not the tag's new one",
           images == {f"{image}@{older}"})
    expect("webhook: the warning names both digests and the cooldown",
           any(f"kept {older[:19]}" in w and f"new {current[:19]} first seen now" in w and "(cooldown)" in w for w in warnings))
    wait_for("the webhook's record of the new digest (kubectl)", 10,
             lambda: any(d["digest"] == current for d in ledger().get(image, {}).get("digests", [])))
    record = next(d for d in ledger()[image]["digests"] if d["digest"] == current)
    first_seen = datetime.fromisoformat(record["firstSeen"].replace("Z", "+00:00"))
    expect("the ledger (kubectl): new digest first seen by the webhook just now, newest first, the older one kept",
           abs((first_seen - now).total_seconds()) < 60 and [d["digest"] for d in ledger()[image]["digests"]] == [current, older])

    def sweep(*args: str) -> tuple[int, dict]:
        run = subprocess.run([KATE, "sweep", "--kubeconfig", str(kubeconfig), "--registry-config", str(work / "registry-config.json"),
                              "--exclude-namespace", "kube-system", "--exclude-namespace", NAMESPACE, "--output", "json",
                              "--log-level", "error", "--ledger", "--own-namespace", NAMESPACE, "--cooldown", "72h", *args],
                             capture_output=True, text=True, timeout=60)
        try:
            return run.returncode, json.loads(run.stdout)
        except json.JSONDecodeError:
            fail(f"kate sweep {' '.join(args)}: no JSON report (exit {run.returncode}): {run.stderr.strip()[-400:]}")
            raise

    # 2. A sweep now: cooling-down, nothing written to the pod.
    code, document = sweep()
    row = next(r for r in document["rows"] if r["pod"] == "web-1")
    print(f"    sweep now: {row['verdict']}: {row.get('reason')}")
    expect("sweep now: verdict cooling-down, exit 0, the reason gives the cooldown",
           row["verdict"] == "cooling-down" and code == 0 and "cooldown (72h)" in (row.get("reason") or ""))
    expect("sweep now: the pod is still there (kubectl)", kubectl("get", "pods", "-n", "shop", "-o", "name").split() == ["pod/web-1"])

    # 3. 73 hours after the webhook first saw it: rolled, and the unused tag forgotten.
    later = rfc3339(first_seen + timedelta(hours=73))
    code, document = sweep("--now", later)
    row = next(r for r in document["rows"] if r["pod"] == "web-1")
    print(f"    sweep at {later}: {row['verdict']}: {row['action']}")
    expect("sweep 73h later: tag-moved, the bare pod evicted (kubectl: gone)",
           row["verdict"] == "tag-moved" and row["action"] == "evicted" and kubectl("get", "pods", "-n", "shop", "-o", "name").split() == [])
    left = ledger()
    expect("ledger GC (kubectl): the tag no pod uses, unseen for 30 days, is forgotten; the tag in use is kept",
           unused not in left and image in left)
    print(f"e2e-cooldown: {guards.checks} checks passed")


if __name__ == "__main__":
    try:
        main()
    finally:
        guards.stop_and_clean("e2e-cooldown")
