"""The official Kubernetes Python client against kate-dev-apiserver: typed models, paging, errors."""
from __future__ import annotations

import datetime
import json
import uuid

import pytest
from kubernetes import client, config
from kubernetes.client.rest import ApiException


@pytest.fixture(scope="module")
def api(apiserver):
    return config.new_client_from_config(config_file=str(apiserver.kubeconfig))


def test_list_pages_with_limit_and_continue(api):
    core = client.CoreV1Api(api)
    names, token, pages = [], None, 0
    while True:
        page = core.list_namespaced_pod("bulk", limit=5, _continue=token)
        pages += 1
        assert isinstance(page, client.V1PodList)
        names += [pod.metadata.name for pod in page.items]
        token = page.metadata._continue
        if not token:
            assert page.metadata.remaining_item_count is None
            break
        assert page.metadata.remaining_item_count == 12 - len(names)
    assert pages == 3 and names == [f"worker-{i:02d}" for i in range(12)]


def test_an_expired_continue_token_is_410_and_a_fresh_list_works(api, apiserver):
    core = client.CoreV1Api(api)
    first = core.list_namespaced_pod("bulk", limit=4)
    apiserver.compact()
    with pytest.raises(ApiException) as expired:
        core.list_namespaced_pod("bulk", limit=4, _continue=first.metadata._continue)
    assert expired.value.status == 410
    status = json.loads(expired.value.body)
    assert (status["kind"], status["reason"], status["code"]) == ("Status", "Expired", 410)
    assert "continue parameter is too old" in status["message"]
    again = core.list_namespaced_pod("bulk", limit=4)
    assert [p.metadata.name for p in again.items] == [f"worker-{i:02d}" for i in range(4)]


def test_typed_reads_decode(api):
    apps = client.AppsV1Api(api)
    deployment = apps.read_namespaced_deployment("web", "shop")
    assert deployment.spec.template.spec.containers[0].name == "web"
    assert deployment.status.observed_generation == deployment.metadata.generation
    pods = client.CoreV1Api(api).list_pod_for_all_namespaces(label_selector="app=web", field_selector="status.phase=Running")
    assert len(pods.items) == 2
    assert all(pod.status.container_statuses[0].image_id for pod in pods.items)
    assert all(pod.metadata.owner_references[0].kind == "ReplicaSet" for pod in pods.items)


def test_not_found_is_a_404_status(api):
    with pytest.raises(ApiException) as missing:
        client.CoreV1Api(api).read_namespaced_pod("no-such-pod", "shop")
    assert missing.value.status == 404
    assert '"reason":"NotFound"' in missing.value.body.replace(" ", "")


def test_patch_a_dict_is_a_strategic_merge(api):
    core = client.CoreV1Api(api)
    patched = core.patch_namespaced_pod("guarded-0", "shop", {"metadata": {"labels": {"patched": "python"}},
                                                               "spec": {"containers": [{"name": "main", "image": "busybox:1.37"}]}})
    assert patched.metadata.labels == {"app": "guarded", "patched": "python"}
    assert [c.image for c in patched.spec.containers] == ["busybox:1.37"]
    assert patched.spec.containers[0].image_pull_policy == "IfNotPresent", "merged by name, not replaced"


def test_patch_a_list_is_a_json_patch(api):
    apps = client.AppsV1Api(api)
    before = apps.read_namespaced_deployment("api", "shop")
    patched = apps.patch_namespaced_deployment("api", "shop", [
        {"op": "add", "path": "/metadata/annotations", "value": {"owner": "python"}},
        {"op": "test", "path": "/spec/replicas", "value": before.spec.replicas}])
    assert patched.metadata.annotations["owner"] == "python"
    with pytest.raises(ApiException) as refused:
        apps.patch_namespaced_deployment("api", "shop", [{"op": "test", "path": "/spec/replicas", "value": 99}])
    assert refused.value.status == 422


def test_eviction_honours_the_disruption_budget(api):
    core, policy = client.CoreV1Api(api), client.PolicyV1Api(api)
    assert policy.read_namespaced_pod_disruption_budget("guarded", "shop").status.disruptions_allowed == 0
    # As people write it: no api_version/kind (the client then sends none).
    eviction = client.V1Eviction(metadata=client.V1ObjectMeta(name="guarded-0", namespace="shop"))
    with pytest.raises(ApiException) as refused:
        core.create_namespaced_pod_eviction("guarded-0", "shop", eviction)
    assert refused.value.status == 429
    status = json.loads(refused.value.body)
    assert status["reason"] == "TooManyRequests"
    assert status["details"]["causes"] == [
        {"reason": "DisruptionBudget", "message": "The disruption budget guarded needs 1 healthy pods and has 1 currently"}]
    assert core.read_namespaced_pod("guarded-0", "shop").metadata.name == "guarded-0"
    # The budget allows one more disruption: the eviction goes through and is charged to it.
    policy.patch_namespaced_pod_disruption_budget_status("guarded", "shop", {"status": {"disruptionsAllowed": 1}})
    core.create_namespaced_pod_eviction("guarded-0", "shop", eviction)
    with pytest.raises(ApiException) as gone:
        core.read_namespaced_pod("guarded-0", "shop")
    assert gone.value.status == 404
    budget = policy.read_namespaced_pod_disruption_budget("guarded", "shop")
    assert budget.status.disruptions_allowed == 0 and "guarded-0" in budget.status.disrupted_pods


def test_events_k8s_io_create_is_seen_through_core_v1(api, apiserver):
    apps = client.AppsV1Api(api)
    deployment = apps.read_namespaced_deployment("web", "shop")
    name = f"web.{uuid.uuid4().hex[:16]}"
    created = client.EventsV1Api(api).create_namespaced_event("shop", client.EventsV1Event(
        metadata=client.V1ObjectMeta(name=name, namespace="shop"),
        event_time=datetime.datetime.now(datetime.timezone.utc), reason="PythonWasHere", note="created by the Python client",
        type="Normal", action="Test", reporting_controller="example.com/python", reporting_instance="pytest",
        regarding=client.V1ObjectReference(api_version="apps/v1", kind="Deployment", name="web", namespace="shop",
                                           uid=deployment.metadata.uid)))
    assert created.metadata.name == name and created.event_time is not None
    core_events = client.CoreV1Api(api).list_namespaced_event(
        "shop", field_selector=f"involvedObject.name=web,involvedObject.kind=Deployment,involvedObject.uid={deployment.metadata.uid}")
    [event] = [e for e in core_events.items if e.metadata.name == name]
    assert (event.reason, event.message, event.reporting_component) == ("PythonWasHere", "created by the Python client", "example.com/python")
    assert event.involved_object.name == "web"
    described = apiserver.kubectl("describe", "deployment", "web", "-n", "shop").stdout
    assert "PythonWasHere" in described and "created by the Python client" in described
