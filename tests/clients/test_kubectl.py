"""The real kubectl against kate-dev-apiserver: what a person at a terminal sees."""
from __future__ import annotations

import json
import re


def test_get_prints_the_servers_table(apiserver):
    out = apiserver.kubectl("get", "pods", "-n", "shop").stdout.splitlines()
    assert re.split(r"\s{2,}", out[0].strip()) == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    rows = {line.split()[0]: line.split() for line in out[1:]}
    assert rows["lonely"][1:4] == ["1/1", "Running", "0"]
    assert sum(name.startswith("web-") for name in rows) == 2
    assert next(r for n, r in rows.items() if n.startswith("web-"))[1] == "2/2", "two containers, both ready"


def test_get_wide_and_deployments_columns(apiserver):
    out = apiserver.kubectl("get", "deployments", "-n", "shop", "-o", "wide").stdout.splitlines()
    assert re.split(r"\s{2,}", out[0].strip()) == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE", "CONTAINERS", "IMAGES", "SELECTOR"]
    web = next(line.split() for line in out[1:] if line.startswith("web "))
    assert web[1:4] == ["2/2", "2", "2"]
    assert web[5:] == ["web,proxy", "registry.shop.example/web:1.4,envoyproxy/envoy:v1.31.0", "app=web"]


def test_get_one_object_by_short_name(apiserver):
    out = apiserver.kubectl("get", "deploy", "api", "-n", "shop", "--no-headers").stdout.split()
    assert out[0] == "api" and out[1] == "1/1"
    missing = apiserver.kubectl("get", "po", "nope", "-n", "shop", check=False)
    assert missing.returncode == 1
    assert 'Error from server (NotFound): pods "nope" not found' in missing.stderr


def test_label_selectors(apiserver):
    def names(*selector):
        return sorted(p["metadata"]["name"] for p in apiserver.kubectl_json("get", "pods", "-A", *selector)["items"])
    assert names("-l", "app=batch") == ["batch-0", "batch-1"]
    assert names("-l", "app in (batch,lonely)") == ["batch-0", "batch-1", "lonely"]
    assert names("-l", "app=worker,shard!=0") == [f"worker-{i:02d}" for i in range(12) if i % 3]
    assert names("-l", "!shard,app notin (web,api,guarded)") == ["batch-0", "batch-1", "lonely"]
    assert names("-l", "tier") == sorted(n for n in names("-l", "app in (web,api)"))


def test_field_selectors(apiserver):
    def names(*selector):
        return sorted(p["metadata"]["name"] for p in apiserver.kubectl_json("get", "pods", "-n", "bulk", *selector)["items"])
    assert names("--field-selector", "spec.nodeName=node-b") == ["worker-01", "worker-04", "worker-07", "worker-10"]
    assert names("--field-selector", "status.phase!=Running") == ["worker-03", "worker-07", "worker-11"]
    assert names("--field-selector", "status.phase=Running,spec.nodeName=node-a") == ["worker-00", "worker-06", "worker-09"]
    assert names("--field-selector", "metadata.name=worker-05") == ["worker-05"]
    bad = apiserver.kubectl("get", "pods", "-n", "bulk", "--field-selector", "spec.image=x", check=False)
    assert bad.returncode == 1 and 'field label not supported: spec.image' in bad.stderr


def test_json_output_is_a_list_of_full_objects(apiserver):
    listed = apiserver.kubectl_json("get", "pods", "-n", "shop", "-l", "app=lonely")
    assert listed["kind"] == "List" and listed["apiVersion"] == "v1"
    [pod] = listed["items"]
    assert pod["kind"] == "Pod" and pod["apiVersion"] == "v1"
    assert pod["metadata"]["uid"] and pod["metadata"]["resourceVersion"].isdigit()
    assert pod["status"]["containerStatuses"][0]["imageID"].startswith("docker.io/library/busybox@sha256:")


def test_chunked_listing_pages_through_everything(apiserver):
    run = apiserver.kubectl("get", "pods", "-n", "bulk", "--chunk-size", "5", "-o", "name", "-v=6")
    assert run.stdout.split() == [f"pod/worker-{i:02d}" for i in range(12)]
    gets = [line for line in run.stderr.splitlines() if "GET" in line and "/namespaces/bulk/pods" in line]
    assert len(gets) == 3, gets
    assert "limit=5" in gets[0] and "continue=" not in gets[0]
    assert all("continue=" in g and "limit=5" in g for g in gets[1:])


def test_patch_strategic_merges_containers_by_name(apiserver):
    apiserver.kubectl("patch", "deployment", "api", "-n", "shop", "--type", "strategic",
                      "-p", '{"spec":{"template":{"spec":{"containers":[{"name":"api","env":[{"name":"DEBUG","value":"1"}]}]}}}}')
    [container] = apiserver.kubectl_json("get", "deployment", "api", "-n", "shop")["spec"]["template"]["spec"]["containers"]
    assert container["image"] == "registry.shop.example/api:2.0", "the image survives: lists merge by name"
    assert container["env"] == [{"name": "MODE", "value": "prod"}, {"name": "DEBUG", "value": "1"}]


def test_patch_merge_replaces_lists_and_null_deletes(apiserver):
    apiserver.kubectl("label", "namespace", "shop", "extra=1")
    apiserver.kubectl("patch", "namespace", "shop", "--type", "merge", "-p", '{"metadata":{"labels":{"extra":null,"added":"yes"}}}')
    labels = apiserver.kubectl_json("get", "namespace", "shop")["metadata"]["labels"]
    assert labels.get("added") == "yes" and "extra" not in labels and labels["team"] == "shop"


def test_patch_json_ops_and_a_failing_test_op(apiserver):
    before = apiserver.kubectl_json("get", "pod", "lonely", "-n", "shop")
    apiserver.kubectl("patch", "pod", "lonely", "-n", "shop", "--type", "json", "-p",
                      json.dumps([{"op": "add", "path": "/metadata/labels/owner", "value": "me"},
                                  {"op": "replace", "path": "/spec/containers/0/image", "value": "busybox:1.37"},
                                  {"op": "test", "path": "/metadata/labels/owner", "value": "me"}]))
    after = apiserver.kubectl_json("get", "pod", "lonely", "-n", "shop")
    assert after["metadata"]["labels"] == {"app": "lonely", "owner": "me"}
    assert after["spec"]["containers"][0]["image"] == "busybox:1.37"
    assert int(after["metadata"]["resourceVersion"]) > int(before["metadata"]["resourceVersion"])
    failed = apiserver.kubectl("patch", "pod", "lonely", "-n", "shop", "--type", "json", "-p",
                               '[{"op":"test","path":"/metadata/labels/owner","value":"you"},{"op":"remove","path":"/metadata/labels"}]', check=False)
    # What kube-apiserver answers (422, reason Invalid, generic message), as kubectl prints it.
    assert failed.returncode == 1
    assert failed.stderr.strip() == "The request is invalid: the server rejected our request due to an error in our request"
    assert apiserver.kubectl_json("get", "pod", "lonely", "-n", "shop")["metadata"]["labels"]["owner"] == "me", "all or nothing"


def test_rollout_restart_rolls_a_new_replicaset(apiserver):
    def replicasets():
        return {rs["metadata"]["name"]: rs for rs in apiserver.kubectl_json("get", "rs", "-n", "shop", "-l", "app=web")["items"]}
    before = set(replicasets())
    out = apiserver.kubectl("rollout", "restart", "deployment/web", "-n", "shop").stdout
    assert out.strip() == "deployment.apps/web restarted"
    template = apiserver.kubectl_json("get", "deployment", "web", "-n", "shop")["spec"]["template"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", template["metadata"]["annotations"]["kubectl.kubernetes.io/restartedAt"])
    new = apiserver.wait_until("a new ReplicaSet", lambda: set(replicasets()) - before)
    [name] = new
    assert replicasets()[name]["spec"]["replicas"] == 2
    apiserver.wait_until("the old ReplicaSet at 0", lambda: all(replicasets()[old]["spec"]["replicas"] == 0 for old in before))


def test_eviction_through_create_raw(apiserver, tmp_path):
    body = tmp_path / "eviction.json"
    body.write_text(json.dumps({"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": "batch-0", "namespace": "shop"}}))
    out = apiserver.kubectl("create", "--raw", "/api/v1/namespaces/shop/pods/batch-0/eviction", "-f", str(body)).stdout
    assert json.loads(out)["status"] == "Success"
    assert apiserver.kubectl("get", "pod", "batch-0", "-n", "shop", check=False).returncode == 1
    pdb = apiserver.kubectl_json("get", "pdb", "batch", "-n", "shop")
    assert pdb["status"]["disruptionsAllowed"] == 0 and "batch-0" in pdb["status"]["disruptedPods"]
    body.write_text(json.dumps({"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": "batch-1", "namespace": "shop"}}))
    refused = apiserver.kubectl("create", "--raw", "/api/v1/namespaces/shop/pods/batch-1/eviction", "-f", str(body), check=False)
    assert refused.returncode == 1
    assert "Cannot evict pod as it would violate the pod's disruption budget." in refused.stderr
    assert apiserver.kubectl("get", "pod", "batch-1", "-n", "shop").returncode == 0


def test_describe_shows_the_deployment_and_its_events(apiserver):
    out = apiserver.kubectl("describe", "deployment", "api", "-n", "shop").stdout
    assert re.search(r"^Name:\s+api$", out, re.M) and re.search(r"^Namespace:\s+shop$", out, re.M)
    assert re.search(r"^Replicas:\s+1 desired \| 1 updated \| 1 total \| 1 available \| 0 unavailable$", out, re.M)
    assert re.search(r"^NewReplicaSet:\s+api-\w+ \(1/1 replicas created\)$", out, re.M)
    assert re.search(r"Normal\s+ScalingReplicaSet\s+\S+\s+deployment-controller\s+Scaled up replica set api-\w+ from 0 to 1", out)


def test_describe_pod(apiserver):
    out = apiserver.kubectl("describe", "pod", "guarded-0", "-n", "shop").stdout
    assert re.search(r"^Status:\s+Running$", out, re.M) and re.search(r"^Node:\s+node-a", out, re.M)
    assert re.search(r"Image ID:\s+docker.io/library/busybox@sha256:(ab){32}", out)


def test_get_events_and_namespaces_tables(apiserver):
    out = apiserver.kubectl("get", "events", "-n", "shop").stdout.splitlines()
    assert re.split(r"\s{2,}", out[0].strip()) == ["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
    assert any(re.search(r"Normal\s+ScalingReplicaSet\s+deployment/api\s+Scaled up replica set api-\w+ from 0 to 1", line) for line in out[1:])
    namespaces = apiserver.kubectl("get", "namespaces").stdout.splitlines()
    assert re.split(r"\s{2,}", namespaces[0].strip()) == ["NAME", "STATUS", "AGE"]
    assert any(line.split()[:2] == ["bulk", "Active"] for line in namespaces[1:])
