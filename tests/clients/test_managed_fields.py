"""managedFields as kube-apiserver keeps them, read back through kubectl and the Python client.

The sweeper names whoever reverted its rollout restart from `metadata.managedFields`
(Sources/KateSweeper/Act/RestartVerification.swift); these tests prove the test API server it is
tested against records field managers the way the apiserver does: Update entries from
`?fieldManager=` (or the User-Agent), fields moving between managers, removed fields leaving every
entry, server-side apply with conflicts, the status subresource, and generation on template changes.
"""
from __future__ import annotations

import json
import re

import pytest
from kubernetes import client, config
from kubernetes.client.rest import ApiException

RESTARTED_AT = "f:kubectl.kubernetes.io/restartedAt"
# Its own namespace: the dev apiserver's controller gives these Deployments pods, which other
# modules' exact pod counts must not see.
NS = "fields"


@pytest.fixture(scope="module", autouse=True)
def namespace(apiserver):
    apiserver.kubectl("create", "--validate=false", "-f", "-", stdin=json.dumps({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}}))


def deployment(name: str, image: str = "registry.shop.example/mf:1") -> str:
    return json.dumps({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": NS, "labels": {"app": name}},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}},
                 "template": {"metadata": {"labels": {"app": name}},
                              "spec": {"containers": [{"name": "app", "image": image}]}}},
    })


def entries(apiserver, name: str) -> dict[str, dict]:
    managed = apiserver.kubectl_json("get", "deployment", name, "-n", NS, "--show-managed-fields")["metadata"].get("managedFields", [])
    return {entry["manager"]: entry for entry in managed}


def template_annotations(entry: dict) -> dict:
    return entry["fieldsV1"].get("f:spec", {}).get("f:template", {}).get("f:metadata", {}).get("f:annotations", {})


@pytest.fixture(scope="module")
def api(apiserver):
    return config.new_client_from_config(config_file=str(apiserver.kubeconfig))


def test_create_records_the_creator_with_the_fields_it_set(apiserver):
    apiserver.kubectl("create", "--validate=false", "-f", "-", "--field-manager=gardener", stdin=deployment("mf-create"))
    managed = entries(apiserver, "mf-create")
    assert list(managed) == ["gardener"]
    entry = managed["gardener"]
    assert (entry["operation"], entry["apiVersion"], entry["fieldsType"]) == ("Update", "apps/v1", "FieldsV1")
    fields = entry["fieldsV1"]
    # Identity and status are never tracked; a string map and a keyed list element mark themselves with ".".
    assert "f:name" not in fields["f:metadata"] and "f:status" not in fields
    assert fields["f:metadata"]["f:labels"] == {".": {}, "f:app": {}}
    container = fields["f:spec"]["f:template"]["f:spec"]["f:containers"]['k:{"name":"app"}']
    assert container == {".": {}, "f:image": {}, "f:name": {}}
    assert apiserver.kubectl_json("get", "deployment", "mf-create", "-n", NS)["metadata"]["generation"] == 1


def test_rollout_restart_is_kubectl_rollouts_field_and_a_new_generation(apiserver):
    apiserver.kubectl("create", "--validate=false", "-f", "-", "--field-manager=gardener", stdin=deployment("mf-restart"))
    apiserver.kubectl("rollout", "restart", "deployment/mf-restart", "-n", NS)
    managed = entries(apiserver, "mf-restart")
    assert RESTARTED_AT in template_annotations(managed["kubectl-rollout"])
    assert RESTARTED_AT not in template_annotations(managed["gardener"])
    assert apiserver.kubectl_json("get", "deployment", "mf-restart", "-n", NS)["metadata"]["generation"] == 2
    # A metadata-only change is no new generation.
    apiserver.kubectl("annotate", "deployment/mf-restart", "-n", NS, "note=x")
    assert apiserver.kubectl_json("get", "deployment", "mf-restart", "-n", NS)["metadata"]["generation"] == 2
    assert "f:note" in entries(apiserver, "mf-restart")["kubectl-annotate"]["fieldsV1"]["f:metadata"]["f:annotations"]


def test_a_second_manager_setting_the_field_takes_it_over(apiserver):
    apiserver.kubectl("create", "--validate=false", "-f", "-", stdin=deployment("mf-takeover"))
    apiserver.kubectl("rollout", "restart", "deployment/mf-takeover", "-n", NS)
    apiserver.kubectl("patch", "deployment", "mf-takeover", "-n", NS, "--field-manager=gardener", "--type=merge", "-p",
                      json.dumps({"spec": {"template": {"metadata": {"annotations": {"kubectl.kubernetes.io/restartedAt": "2020-01-01T00:00:00Z"}}}}}))
    managed = entries(apiserver, "mf-takeover")
    assert managed["gardener"]["operation"] == "Update"
    assert template_annotations(managed["gardener"]) == {RESTARTED_AT: {}}
    # kubectl-rollout keeps only the annotations map it created (the map itself, a leaf now); the creator keeps the rest.
    assert managed["kubectl-rollout"]["fieldsV1"]["f:spec"]["f:template"]["f:metadata"] == {"f:annotations": {}}
    assert "f:image" in managed["kubectl-create"]["fieldsV1"]["f:spec"]["f:template"]["f:spec"]["f:containers"]['k:{"name":"app"}']


def test_removing_a_field_takes_it_from_every_manager_and_leaves_no_entry(apiserver):
    apiserver.kubectl("create", "--validate=false", "-f", "-", "--field-manager=gardener", stdin=deployment("mf-remove"))
    apiserver.kubectl("rollout", "restart", "deployment/mf-remove", "-n", NS)
    apiserver.kubectl("patch", "deployment", "mf-remove", "-n", NS, "--field-manager=reverter", "--type=json", "-p",
                      json.dumps([{"op": "remove", "path": "/spec/template/metadata/annotations/kubectl.kubernetes.io~1restartedAt"}]))
    managed = entries(apiserver, "mf-remove")
    # The emptied annotations map is dropped (omitempty), so kubectl-rollout owns nothing and the
    # remover, who set nothing, gets no entry: a pure removal leaves no name behind.
    assert "reverter" not in managed and "kubectl-rollout" not in managed
    assert all(RESTARTED_AT not in template_annotations(entry) for entry in managed.values())
    assert apiserver.kubectl_json("get", "deployment", "mf-remove", "-n", NS)["metadata"]["generation"] == 3


def test_python_client_field_manager_and_user_agent(api, apiserver):
    apps = client.AppsV1Api(api)
    apiserver.kubectl("create", "--validate=false", "-f", "-", stdin=deployment("mf-python"))
    apps.patch_namespaced_deployment("mf-python", NS, {"spec": {"replicas": 3}}, field_manager="gardener-resource-manager")
    apps.patch_namespaced_deployment("mf-python", NS, {"metadata": {"labels": {"by": "python"}}})
    managed = {entry.manager: entry for entry in apps.read_namespaced_deployment("mf-python", NS).metadata.managed_fields}
    assert managed["gardener-resource-manager"].fields_v1 == {"f:spec": {"f:replicas": {}}}
    # No fieldManager: the apiserver takes the User-Agent up to its first "/" ("OpenAPI-Generator/…/python").
    assert managed["OpenAPI-Generator"].fields_v1 == {"f:metadata": {"f:labels": {"f:by": {}}}}
    assert "f:replicas" not in managed["kubectl-create"].fields_v1["f:spec"]


def test_put_needs_the_current_resource_version_and_is_tracked(api, apiserver):
    apps = client.AppsV1Api(api)
    apiserver.kubectl("create", "--validate=false", "-f", "-", stdin=deployment("mf-put"))
    # The dev apiserver's controller writes the Deployment too (its revision annotation): retry on
    # conflict, as client-go's RetryOnConflict does.
    for _ in range(10):
        live = apps.read_namespaced_deployment("mf-put", NS)
        stale_version = live.metadata.resource_version
        live.spec.template.spec.containers[0].image = "registry.shop.example/mf:2"
        try:
            replaced = apps.replace_namespaced_deployment("mf-put", NS, live, field_manager="argocd-controller")
            break
        except ApiException as conflict:
            assert conflict.status == 409
    else:
        raise AssertionError("every replace conflicted")
    assert replaced.metadata.generation == 2
    managed = {entry.manager: entry for entry in replaced.metadata.managed_fields}
    container = managed["argocd-controller"].fields_v1["f:spec"]["f:template"]["f:spec"]["f:containers"]['k:{"name":"app"}']
    assert container == {"f:image": {}}
    live.metadata.resource_version = stale_version
    with pytest.raises(ApiException) as conflict:
        apps.replace_namespaced_deployment("mf-put", NS, live)
    assert conflict.value.status == 409
    assert "the object has been modified" in json.loads(conflict.value.body)["message"]


def test_status_writes_are_a_status_subresource_entry(api, apiserver):
    apps = client.AppsV1Api(api)
    apiserver.kubectl("create", "--validate=false", "-f", "-", stdin=deployment("mf-status"))
    apps.patch_namespaced_deployment_status("mf-status", NS, {"status": {"observedGeneration": 1, "updatedReplicas": 1}},
                                            field_manager="kube-controller-manager")
    managed = apps.read_namespaced_deployment("mf-status", NS).metadata.managed_fields
    [entry] = [entry for entry in managed if entry.manager == "kube-controller-manager"]
    assert entry.subresource == "status"
    assert entry.fields_v1 == {"f:status": {"f:observedGeneration": {}, "f:updatedReplicas": {}}}


def test_server_side_apply_conflicts_unless_forced(apiserver):
    apiserver.kubectl("create", "--validate=false", "-f", "-", "--field-manager=gardener", stdin=deployment("mf-apply"))
    config_v2 = deployment("mf-apply", image="registry.shop.example/mf:2")
    refused = apiserver.kubectl("apply", "--validate=false", "--server-side", "--field-manager=argocd", "-f", "-", stdin=config_v2, check=False)
    assert refused.returncode != 0 and "conflict" in refused.stderr.lower() and "gardener" in refused.stderr
    apiserver.kubectl("apply", "--validate=false", "--server-side", "--force-conflicts", "--field-manager=argocd", "-f", "-", stdin=config_v2)
    managed = entries(apiserver, "mf-apply")
    assert managed["argocd"]["operation"] == "Apply"
    assert "f:image" in managed["argocd"]["fieldsV1"]["f:spec"]["f:template"]["f:spec"]["f:containers"]['k:{"name":"app"}']
    assert "f:image" not in managed["gardener"]["fieldsV1"]["f:spec"]["f:template"]["f:spec"]["f:containers"]['k:{"name":"app"}']
    live = apiserver.kubectl_json("get", "deployment", "mf-apply", "-n", NS)
    assert live["spec"]["template"]["spec"]["containers"][0]["image"] == "registry.shop.example/mf:2"


def test_an_event_series_update_shows_as_a_count_in_describe(api, apiserver):
    """What the sweeper's EventLedger does with a repeat: PATCH series.count on the events.k8s.io Event."""
    import datetime
    events = client.EventsV1Api(api)
    apiserver.kubectl("create", "--validate=false", "-f", "-", stdin=deployment("mf-events"))
    uid = apiserver.kubectl_json("get", "deployment", "mf-events", "-n", NS)["metadata"]["uid"]
    now = datetime.datetime.now(datetime.timezone.utc)
    created = events.create_namespaced_event(NS, client.EventsV1Event(
        metadata=client.V1ObjectMeta(name="mf-events.series"), event_time=now, reason="StaleImageEvicted", note="evicted (1 pod: a)",
        type="Normal", action="Evict", reporting_controller="kate.dev/sweeper", reporting_instance="test",
        regarding=client.V1ObjectReference(api_version="apps/v1", kind="Deployment", namespace=NS, name="mf-events", uid=uid)))
    events.patch_namespaced_event(created.metadata.name, NS, {
        "series": {"count": 2, "lastObservedTime": now.strftime("%Y-%m-%dT%H:%M:%S.%fZ")}, "note": "evicted (2 pods: a, b)"})
    [core] = [e for e in client.CoreV1Api(api).list_namespaced_event(NS).items if e.metadata.name == "mf-events.series"]
    assert core.series.count == 2 and core.message == "evicted (2 pods: a, b)"
    out = apiserver.kubectl("describe", "deployment", "mf-events", "-n", NS).stdout
    assert re.search(r"Normal\s+StaleImageEvicted\s+.*\(x2 over .*\)\s+kate.dev/sweeper\s+evicted \(2 pods: a, b\)", out), out
